//! Terminal tables of a report.

use comfy_table::{Cell, CellAlignment, Table, presets};
use snnergy::core::Report;
use snnergy::core::report::{
    BreakEven, BreakEvenStatus, LevelEnergy, RateInterval, ResultKey, wins_phrase,
};
use snnergy::report::Render as _;

pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_BORDERS_ONLY);
    t.set_header(header.iter().map(Cell::new));
    t
}

pub(crate) fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// The comparisons at the report's headline T (all T when `all`), and every break-even rate.
pub fn print_report(report: &Report, all: bool) {
    outln!("{}\n", report.title);
    let headline = report.headline_timesteps();
    let rows: Vec<_> = report
        .comparisons
        .iter()
        .filter(|c| all || c.timesteps == headline)
        .collect();
    if !rows.is_empty() {
        let mut t = table(&[
            "architecture",
            "workload",
            "activity",
            "T",
            "spike rate",
            "ρ",
            "SNN µJ",
            "baseline",
            "baseline µJ",
            "SNN/base",
            "verdict",
        ]);
        for c in rows {
            t.add_row(vec![
                Cell::new(&c.architecture),
                Cell::new(&c.workload),
                Cell::new(&c.operating_point),
                right(c.timesteps.to_string()),
                right(snnergy::report::pct(c.spike_rate)),
                right(snnergy::report::sig(c.nonzero)),
                right(format!("{:.4}", c.snn_pj * 1e-6)),
                Cell::new(&c.baseline),
                right(format!("{:.4}", c.baseline_pj * 1e-6)),
                right(format!("{:.3}", c.ratio)),
                Cell::new(c.verdict.phrase()),
            ]);
        }
        if !all && report.settings.timesteps.len() > 1 {
            outln!("Comparisons at T = {headline} (every T is in the report files):");
        }
        outln!("{t}\n");
        print_shares(report, headline);
    }
    if !report.breakeven.is_empty() {
        let t = breakeven_table(report, |b| match b.status {
            BreakEvenStatus::Crossing => {
                format!("{:.3} %", 100.0 * b.spike_rate.unwrap_or(0.0))
                    + if b.twin_clamped { " *" } else { "" }
            }
            BreakEvenStatus::SnnNeverWins => "never wins".into(),
            BreakEvenStatus::SnnAlwaysWins => "always wins".into(),
            BreakEvenStatus::SnnWinsAbove => {
                format!("wins above {:.3} %", 100.0 * b.spike_rate.unwrap_or(0.0))
            }
            BreakEvenStatus::SnnWinsWithin => format!(
                "wins {}",
                wins_phrase(&b.wins, |r| format!("{:.3} %", 100.0 * r))
            ),
        });
        outln!("Break-even spike rate (the SNN wins below it; required sparsity = 1 − rate):\n{t}");
        outln!("{}\n", twin_note(report));
        let t = breakeven_table(report, |b| match (b.level_status, b.level_breakeven) {
            (BreakEvenStatus::Crossing, Some(l)) => format!("{l:.2}"),
            (BreakEvenStatus::SnnAlwaysWins, _) => "> T".into(),
            _ => "< 1: no twin".into(),
        });
        outln!(
            "Break-even mean level L̄* at the activity's spike rate (the SNN wins while its twin's non-zero activations average fewer spikes):\n{t}\n"
        );
        print_edp_breakeven(report);
    }
    print_mappings(report, headline);
    for w in &report.warnings {
        outln!("warning: {w}");
    }
    if !report.warnings.is_empty() {
        outln!();
    }
    for v in report.verdicts() {
        outln!("- {}", v.replace("**", ""));
    }
}

/// The break-even in energy × latency and the dataflows at the crossing, for architectures
/// that model time.
fn print_edp_breakeven(report: &Report) {
    let rows: Vec<_> = report
        .breakeven
        .iter()
        .filter(|b| b.mapped.edp_status.is_some())
        .collect();
    if rows.is_empty() {
        return;
    }
    let mut t = table(&[
        "architecture",
        "workload",
        "T",
        "break-even",
        "EDP break-even",
        "SNN dataflow",
        "baseline dataflow",
        "anchors",
    ]);
    let pct = |r: f64| format!("{:.3} %", 100.0 * r);
    let rate = |status: Option<BreakEvenStatus>, r: Option<f64>, wins: &[RateInterval]| match status
    {
        Some(BreakEvenStatus::Crossing) => format!("{:.3} %", 100.0 * r.unwrap_or(0.0)),
        Some(BreakEvenStatus::SnnNeverWins) => "never wins".into(),
        Some(BreakEvenStatus::SnnAlwaysWins) => "always wins".into(),
        Some(BreakEvenStatus::SnnWinsAbove) => {
            format!("wins above {:.3} %", 100.0 * r.unwrap_or(0.0))
        }
        Some(BreakEvenStatus::SnnWinsWithin) => format!("wins {}", wins_phrase(wins, pct)),
        None => "—".into(),
    };
    for b in rows {
        let m = &b.mapped;
        t.add_row(vec![
            Cell::new(&b.architecture),
            Cell::new(&b.workload),
            right(b.timesteps.to_string()),
            right(rate(Some(b.status), b.spike_rate, &b.wins)),
            right(rate(m.edp_status, m.edp_spike_rate, &m.edp_wins)),
            Cell::new(m.at_crossing.snn_dataflow.as_deref().unwrap_or("—")),
            Cell::new(m.at_crossing.baseline_dataflow.as_deref().unwrap_or("—")),
            right(m.anchors.to_string()),
        ]);
    }
    outln!(
        "Break-even in energy × latency, with each format's dataflow mapped at the crossing:\n{t}\n"
    );
}

/// At the headline T, per architecture that maps: each format's dataflow, latency, and energy
/// by level of the hardware.
fn print_mappings(report: &Report, headline: u32) {
    let rows: Vec<_> = report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline && !c.mapped.snn_by_level.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    let mut t = table(&[
        "architecture",
        "workload",
        "SNN dataflow",
        "baseline dataflow",
        "latency SNN/base",
        "EDP SNN/base",
        "leakage SNN / base µJ",
    ]);
    let num = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    for c in &rows {
        let m = &c.mapped;
        t.add_row(vec![
            Cell::new(&c.architecture),
            Cell::new(&c.workload),
            Cell::new(m.snn_dataflow.as_deref().unwrap_or("—")),
            Cell::new(m.baseline_dataflow.as_deref().unwrap_or("—")),
            right(num(m.latency_ratio)),
            right(num(m.edp_ratio)),
            right(format!(
                "{:.4} / {:.4}",
                m.snn_leakage_pj * 1e-6,
                m.baseline_leakage_pj * 1e-6
            )),
        ]);
    }
    outln!("Each format at its own best mapping, T = {headline}:\n{t}\n");
    let mut t = table(&[
        "architecture",
        "workload",
        "level",
        "SNN µJ",
        "share",
        "baseline µJ",
        "share",
    ]);
    for c in &rows {
        let m = &c.mapped;
        let lead = [c.architecture.as_str(), c.workload.as_str()];
        level_energy_rows(
            &mut t,
            &lead,
            (&m.snn_by_level, c.snn_pj),
            (&m.baseline_by_level, c.baseline_pj),
        );
    }
    outln!("Energy by level, T = {headline}:\n{t}\n");
}

/// One row per level of two energy-by-level breakdowns (SNN, baseline; each with the total
/// its shares are of), in µJ with shares, after the `lead` cells; a level missing from one
/// side costs it nothing.
pub(crate) fn level_energy_rows(
    t: &mut Table,
    lead: &[&str],
    snn: (&[LevelEnergy], f64),
    base: (&[LevelEnergy], f64),
) {
    let mut levels: Vec<&str> = Vec::new();
    for l in snn.0.iter().chain(base.0) {
        if !levels.contains(&l.level.as_str()) {
            levels.push(&l.level);
        }
    }
    for level in levels {
        let find = |by: &[LevelEnergy]| by.iter().find(|l| l.level == level).map_or(0.0, |l| l.pj);
        let (s, b) = (find(snn.0), find(base.0));
        let mut row: Vec<Cell> = lead.iter().map(Cell::new).collect();
        row.extend([
            Cell::new(level),
            right(format!("{:.4}", s * 1e-6)),
            right(format!("{:.1} %", 100.0 * s / snn.1)),
            right(format!("{:.4}", b * 1e-6)),
            right(format!("{:.1} %", 100.0 * b / base.1)),
        ]);
        t.add_row(row);
    }
}

/// One row per workload and T, one column per architecture (the shape people compare), each
/// cell `cell` of that break-even row.
fn breakeven_table(report: &Report, cell: impl Fn(&BreakEven) -> String) -> Table {
    let mut archs: Vec<&str> = Vec::new();
    let mut rows: Vec<(&str, u32)> = Vec::new();
    for b in &report.breakeven {
        if !archs.contains(&b.architecture.as_str()) {
            archs.push(&b.architecture);
        }
        if !rows.contains(&(b.workload.as_str(), b.timesteps)) {
            rows.push((&b.workload, b.timesteps));
        }
    }
    let mut header = vec!["workload", "T", "baseline"];
    header.extend(archs.iter().copied());
    let mut t = table(&header);
    for (w, ts) in rows {
        let mut cells = vec![Cell::new(w), right(ts.to_string())];
        let mut baseline = String::new();
        let mut values = Vec::new();
        for a in &archs {
            let b = report.breakeven_at(ResultKey {
                workload: w,
                architecture: a,
                timesteps: ts,
            });
            values.push(right(match b {
                None => "—".into(),
                Some(b) => {
                    baseline = b.baseline.clone();
                    cell(b)
                }
            }));
        }
        cells.push(Cell::new(baseline));
        cells.extend(values);
        t.add_row(cells);
    }
    t
}

/// How the baseline's ρ moved along the break-even search.
fn twin_note(report: &Report) -> String {
    use snnergy::core::TwinMode;
    let s = &report.settings;
    let clamped = if report.breakeven.iter().any(|b| b.twin_clamped) {
        " (* the twin bound clamps ρ to 1 there)"
    } else {
        ""
    };
    match s.twin {
        TwinMode::Consistent => format!(
            "The baseline's non-zero fraction follows the spike rate: ρ = r·T/L̄, L̄ = {} where not measured{clamped}.",
            s.mean_level.to_text()
        ),
        TwinMode::FixedNonzero => {
            "The baseline's non-zero fraction is held fixed (twin = \"fixed-nonzero\").".to_string()
        }
    }
}

/// Where the energy goes at the headline T: each category's share of the SNN's and of the
/// baseline's energy, per architecture and workload (first operating point).
fn print_shares(report: &Report, headline: u32) {
    use snnergy::core::Category;
    let mut header = vec!["architecture", "workload", "energy"];
    header.extend(Category::ALL.iter().map(|c| c.name()));
    let mut t = table(&header);
    let mut seen = Vec::new();
    for c in report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline)
    {
        if seen.contains(&(&c.architecture, &c.workload)) {
            continue;
        }
        seen.push((&c.architecture, &c.workload));
        for (what, by, total) in [
            (
                format!("SNN (T = {})", c.timesteps),
                &c.snn_breakdown,
                c.snn_pj,
            ),
            (c.baseline.clone(), &c.baseline_breakdown, c.baseline_pj),
        ] {
            let mut row = vec![
                Cell::new(&c.architecture),
                Cell::new(&c.workload),
                Cell::new(what),
            ];
            row.extend(
                Category::ALL
                    .iter()
                    .map(|k| right(format!("{:.1} %", 100.0 * by.get(*k) / total))),
            );
            t.add_row(row);
        }
    }
    if !seen.is_empty() {
        outln!("Share of energy by category at T = {headline}:\n{t}\n");
    }
}
