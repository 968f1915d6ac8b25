//! Terminal tables of a report.

use comfy_table::{Cell, CellAlignment, Table, presets};
use snnergy::core::Report;
use snnergy::core::report::{BreakEvenStatus, ResultKey};
use snnergy::report::Render as _;

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_BORDERS_ONLY);
    t.set_header(header.iter().map(Cell::new));
    t
}

fn right(s: String) -> Cell {
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
                right(format!("{:.3} %", 100.0 * c.spike_rate)),
                right(format!("{:.4}", c.snn_pj * 1e-6)),
                Cell::new(&c.baseline),
                right(format!("{:.4}", c.baseline_pj * 1e-6)),
                right(format!("{:.3}", c.ratio)),
                Cell::new(if c.snn_wins { "SNN wins" } else { "SNN loses" }),
            ]);
        }
        if !all && report.settings.timesteps.len() > 1 {
            outln!("Comparisons at T = {headline} (every T is in the report files):");
        }
        outln!("{t}\n");
        print_shares(report, headline);
    }
    if !report.breakeven.is_empty() {
        // One row per workload and T, one column per architecture: the shape people compare.
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
                        match b.status {
                            BreakEvenStatus::Crossing => {
                                format!("{:.3} %", 100.0 * b.spike_rate.unwrap_or(0.0))
                            }
                            BreakEvenStatus::SnnNeverWins => "never wins".into(),
                            BreakEvenStatus::SnnAlwaysWins => "always wins".into(),
                        }
                    }
                }));
            }
            cells.push(Cell::new(baseline));
            cells.extend(values);
            t.add_row(cells);
        }
        outln!(
            "Break-even spike rate (the SNN wins below it; required sparsity = 1 − rate):\n{t}\n"
        );
    }
    for v in report.verdicts() {
        outln!("- {}", v.replace("**", ""));
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
