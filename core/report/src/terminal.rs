//! What a command prints of a report: the answer first (one verdict per architecture at the
//! headline T: who wins, by how much, where it breaks even, what decides it), then the tables
//! that matter at that T and the break-even at every T, each fitted to the screen. With
//! [`View::wide`], every table a terminal can show: the comparisons at every T, the break-even
//! as a mean level and in energy × latency with each format's dataflow, the mappings and the
//! energy by level. What the text leaves out is in report.md, and the text says so.

use std::path::Path;

use snnergy_core::Category;
use snnergy_core::report::{BreakEven, Comparison, Report, ResultKey, Verdict};
use snnergy_core::settings::TwinMode;

use crate::text::{Col, Screen, TextTable, Tone, ratio, share, uj};
use crate::text::{pct, sig};
use crate::words::{BreakEvenWords, breakeven_words, verdict_words};

/// What to print besides the answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct View<'a> {
    /// Every table, not only those of the headline T.
    pub wide: bool,
    /// The folder the report's files went to, named where the text leaves something out
    /// (`None`: no files were written, so everything is printed).
    pub report_dir: Option<&'a Path>,
}

/// The report as text for `screen`: every line at most `screen.width` columns wide.
pub fn render(report: &Report, screen: &Screen, view: &View<'_>) -> String {
    let wide = view.wide || view.report_dir.is_none();
    let mut out = screen.paragraph(&screen.bold(&report.title));
    out.push('\n');
    out.push_str(&answer(report, screen));
    for w in &report.warnings {
        out.push_str(&screen.hanging(w, &screen.tone("warning: ", Tone::Caution), "  "));
    }
    if !report.warnings.is_empty() {
        out.push('\n');
    }
    let mut tables = vec![energy_table(report), shares_table(report)];
    if wide {
        tables.push(ratio_table(report));
    }
    tables.push(by_t_table(
        report,
        "Break-even spike rate: the SNN wins below it (required sparsity = 1 − rate)",
        |b, w| format!("{}{}", w.rate, if b.twin_clamped { " *" } else { "" }),
        Some(twin_note(report)),
    ));
    if wide {
        tables.push(by_t_table(
            report,
            "Break-even mean level L̄* at the activity's spike rate: the SNN wins while its twin's non-zero activations average fewer spikes",
            |_, w| w.level.clone(),
            None,
        ));
        tables.extend([
            edp_table(report),
            mapping_table(report),
            level_table(report),
        ]);
    }
    for t in tables.iter().filter(|t| !t.is_empty()) {
        out.push_str(&t.render(screen));
    }
    out.push_str(&footer(report, screen, view));
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One sentence per architecture at the headline T, under a line per workload and operating
/// point saying where they hold.
fn answer(report: &Report, screen: &Screen) -> String {
    let headline = report.headline_timesteps();
    let mut groups: Vec<(&str, &str, Vec<&Comparison>)> = Vec::new();
    for c in report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline)
    {
        match groups
            .iter_mut()
            .find(|g| g.0 == c.workload && g.1 == c.operating_point)
        {
            Some(g) => g.2.push(c),
            None => groups.push((&c.workload, &c.operating_point, vec![c])),
        }
    }
    let mut out = String::new();
    for (workload, point, cs) in groups {
        let c = cs[0];
        out.push_str(&screen.paragraph(&format!(
            "{workload} at T = {headline}, activity {point}: spike rate {}, the {}'s non-zero fraction ρ = {}.",
            pct(c.spike_rate),
            c.baseline,
            sig(c.nonzero)
        )));
        for c in cs {
            let w = verdict_words(report, c);
            let tone = match w.verdict {
                Verdict::SnnWins => Tone::Good,
                Verdict::SnnLoses => Tone::Bad,
                Verdict::NoTwin => Tone::Caution,
            };
            out.push_str(&screen.bullet(&format!(
                "{}: {}{}",
                screen.bold(&w.architecture),
                screen.tone(&w.outcome, tone),
                w.detail
            )));
        }
        out.push('\n');
    }
    out
}

/// The comparisons at the headline T: energies, their ratio, latency and energy × latency
/// where modelled, and the verdict.
fn energy_table(report: &Report) -> TextTable {
    let headline = report.headline_timesteps();
    let rows: Vec<&Comparison> = report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline)
        .collect();
    let timed = rows.iter().any(|c| c.mapped.latency_ratio.is_some());
    let mut cols = vec![
        Col::text("workload").fold("").runs(),
        Col::text("activity").fold("activity ").long().runs(),
        Col::num("spike rate").fold("spike rate ").runs(),
        Col::num("ρ").fold("ρ = ").runs(),
        Col::text("baseline").fold("baseline ").runs(),
        Col::text("architecture"),
        Col::num("SNN µJ"),
        Col::num("baseline µJ"),
        Col::num("SNN/base"),
    ];
    if timed {
        cols.extend([Col::num("latency SNN/base"), Col::num("EDP SNN/base")]);
    }
    cols.push(Col::text("verdict"));
    let mut t = TextTable::new(format!("Energy per inference at T = {headline}"), cols);
    let opt = |v: Option<f64>| v.map_or("—".into(), ratio);
    for c in rows {
        let mut cells = vec![
            c.workload.clone(),
            c.operating_point.clone(),
            pct(c.spike_rate),
            sig(c.nonzero),
            c.baseline.clone(),
            c.architecture.clone(),
            uj(c.snn_pj),
            uj(c.baseline_pj),
            ratio(c.ratio),
        ];
        if timed {
            cells.extend([opt(c.mapped.latency_ratio), opt(c.mapped.edp_ratio)]);
        }
        cells.push(
            match c.verdict {
                Verdict::NoTwin => "no twin",
                v => v.phrase(),
            }
            .into(),
        );
        t.row(cells);
    }
    t
}

/// The SNN's energy over its baseline's at every T, one column per architecture (below 1 the
/// SNN wins); empty with a single T.
fn ratio_table(report: &Report) -> TextTable {
    let mut archs: Vec<&str> = Vec::new();
    let mut keys: Vec<(&str, &str, u32)> = Vec::new();
    for c in &report.comparisons {
        if !archs.contains(&c.architecture.as_str()) {
            archs.push(&c.architecture);
        }
        let key = (c.workload.as_str(), c.operating_point.as_str(), c.timesteps);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut cols = vec![
        Col::text("workload").fold("").runs(),
        Col::text("activity").fold("activity ").long().runs(),
        Col::num("T"),
        Col::num("spike rate").fold("spike rate "),
        Col::num("ρ").fold("ρ = "),
        Col::text("baseline").fold("baseline "),
    ];
    cols.extend(archs.iter().map(|a| Col::num(*a)));
    let mut t = TextTable::new(
        "SNN energy over its baseline's at every T (below 1 the SNN wins)",
        cols,
    );
    if report.settings.timesteps.len() < 2 {
        return t;
    }
    for (w, op, ts) in keys {
        let at: Vec<&Comparison> = report
            .comparisons
            .iter()
            .filter(|c| c.workload == w && c.operating_point == op && c.timesteps == ts)
            .collect();
        let first = at[0];
        let mut cells = vec![
            w.to_string(),
            op.to_string(),
            ts.to_string(),
            pct(first.spike_rate),
            sig(first.nonzero),
            first.baseline.clone(),
        ];
        cells.extend(archs.iter().map(|a| {
            at.iter()
                .find(|c| c.architecture == *a)
                .map_or("—".into(), |c| match c.verdict {
                    Verdict::NoTwin => format!("{} (no twin)", ratio(c.ratio)),
                    _ => ratio(c.ratio),
                })
        }));
        t.row(cells);
    }
    t
}

/// Where the energy goes at the headline T: per workload, one row per category and one column
/// per architecture, each cell the category's share of the SNN's and of the baseline's energy
/// (first operating point); categories with no energy anywhere are named under the table
/// instead of filling a row of zeros.
fn shares_table(report: &Report) -> TextTable {
    let headline = report.headline_timesteps();
    let mut firsts: Vec<&Comparison> = Vec::new();
    for c in report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline)
    {
        if !firsts
            .iter()
            .any(|f| f.architecture == c.architecture && f.workload == c.workload)
        {
            firsts.push(c);
        }
    }
    let mut archs: Vec<&str> = Vec::new();
    let mut workloads: Vec<&str> = Vec::new();
    for c in &firsts {
        if !archs.contains(&c.architecture.as_str()) {
            archs.push(&c.architecture);
        }
        if !workloads.contains(&c.workload.as_str()) {
            workloads.push(&c.workload);
        }
    }
    let (used, unused): (Vec<Category>, Vec<Category>) = Category::ALL.iter().partition(|k| {
        firsts
            .iter()
            .any(|c| c.snn_breakdown.get(**k) > 0.0 || c.baseline_breakdown.get(**k) > 0.0)
    });
    let mut cols = vec![Col::text("workload").fold("").runs(), Col::text("category")];
    cols.extend(archs.iter().map(|a| Col::num(*a)));
    let baselines: Vec<&str> = firsts.iter().map(|c| c.baseline.as_str()).collect();
    let baseline = match baselines.as_slice() {
        [b, rest @ ..] if rest.iter().all(|r| r == b) => format!("the {b}'s"),
        _ => "its baseline's".into(),
    };
    let mut t = TextTable::new(
        format!("Where the energy goes at T = {headline}: share of the SNN's / {baseline} energy"),
        cols,
    );
    for w in workloads {
        for k in &used {
            let mut cells = vec![w.to_string(), k.name().replace('-', " ")];
            cells.extend(archs.iter().map(|a| {
                firsts
                    .iter()
                    .find(|c| c.workload == w && c.architecture == *a)
                    .map_or("—".into(), |c| {
                        format!(
                            "{} / {}",
                            share(c.snn_breakdown.get(*k), c.snn_pj),
                            share(c.baseline_breakdown.get(*k), c.baseline_pj)
                        )
                    })
            }));
            t.row(cells);
        }
    }
    if !firsts.is_empty() && !unused.is_empty() {
        let names: Vec<String> = unused.iter().map(|k| k.name().replace('-', " ")).collect();
        t.note(format!("No energy anywhere in: {}.", names.join(", ")));
    }
    t
}

/// Consecutive T of one workload whose break-even cells are all equal: one row.
struct Span<'a> {
    workload: &'a str,
    timesteps: Vec<u32>,
    baselines: Vec<String>,
    cells: Vec<String>,
}

/// One row per workload and T, one column per architecture, each cell `cell` of that
/// break-even row; consecutive T whose cells are all equal share one row (`T = 3…16`).
fn by_t_table(
    report: &Report,
    caption: &str,
    cell: impl Fn(&BreakEven, &BreakEvenWords) -> String,
    note: Option<String>,
) -> TextTable {
    let mut archs: Vec<&str> = Vec::new();
    let mut keys: Vec<(&str, u32)> = Vec::new();
    for b in &report.breakeven {
        if !archs.contains(&b.architecture.as_str()) {
            archs.push(&b.architecture);
        }
        if !keys.contains(&(b.workload.as_str(), b.timesteps)) {
            keys.push((&b.workload, b.timesteps));
        }
    }
    let mut merged: Vec<Span<'_>> = Vec::new();
    for (w, ts) in keys {
        let mut baseline = String::new();
        let cells: Vec<String> = archs
            .iter()
            .map(|a| {
                let key = ResultKey {
                    workload: w,
                    architecture: a,
                    timesteps: ts,
                };
                match report.breakeven_at(key) {
                    None => "—".into(),
                    Some(b) => {
                        baseline = b.baseline.clone();
                        cell(b, &breakeven_words(b))
                    }
                }
            })
            .collect();
        match merged.last_mut() {
            Some(last) if last.workload == w && last.cells == cells => {
                last.timesteps.push(ts);
                if !last.baselines.contains(&baseline) {
                    last.baselines.push(baseline);
                }
            }
            _ => merged.push(Span {
                workload: w,
                timesteps: vec![ts],
                baselines: vec![baseline],
                cells,
            }),
        }
    }
    let mut cols = vec![
        Col::text("workload").fold("").runs(),
        Col::num("T"),
        Col::text("baseline").fold("baseline "),
    ];
    cols.extend(archs.iter().map(|a| Col::num(*a).breaking()));
    let mut t = TextTable::new(caption, cols);
    for Span {
        workload: w,
        timesteps: ts,
        baselines,
        cells,
    } in merged
    {
        let baseline = match baselines.as_slice() {
            [first, .., last] => format!("{first}…{last}"),
            _ => baselines.concat(),
        };
        let mut row = vec![w.to_string(), t_span(&ts), baseline];
        row.extend(cells);
        t.row(row);
    }
    if let Some(n) = note {
        t.note(n);
    }
    t
}

/// Time steps as people read a run of them: `6`, `3…16` (every T between analysed), `4, 6, 8`.
fn t_span(ts: &[u32]) -> String {
    match ts {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if ts.windows(2).all(|w| w[1] == w[0] + 1) => format!("{first}…{last}"),
        _ => ts.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
    }
}

/// How the baseline's ρ moved along the break-even search.
fn twin_note(report: &Report) -> String {
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

/// The break-even in energy × latency and each format's dataflow at the crossing, for
/// architectures that model time; the dataflows as numbered notes.
fn edp_table(report: &Report) -> TextTable {
    let mut t = TextTable::new(
        "Break-even in energy × latency, with each format's dataflow mapped at the crossing",
        vec![
            Col::text("workload").fold("").runs(),
            Col::num("T").runs(),
            Col::text("architecture"),
            Col::num("break-even"),
            Col::num("EDP break-even"),
            Col::text("SNN dataflow").long(),
            Col::text("baseline dataflow").long(),
            Col::num("anchors"),
        ],
    );
    for b in report
        .breakeven
        .iter()
        .filter(|b| b.mapped.edp_status.is_some())
    {
        let w = breakeven_words(b);
        let m = &b.mapped;
        t.row(vec![
            b.workload.clone(),
            b.timesteps.to_string(),
            b.architecture.clone(),
            w.rate,
            w.edp,
            m.at_crossing.snn_dataflow.clone().unwrap_or("—".into()),
            m.at_crossing
                .baseline_dataflow
                .clone()
                .unwrap_or("—".into()),
            m.anchors.to_string(),
        ]);
    }
    t
}

/// The comparisons at the headline T whose architecture maps (energy by level known).
fn mapped_at_headline(report: &Report) -> Vec<&Comparison> {
    let headline = report.headline_timesteps();
    report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline && !c.mapped.snn_by_level.is_empty())
        .collect()
}

/// Each format at its own best mapping at the headline T: dataflows (as notes) and static
/// energy (latency and energy × latency are in the energy table).
fn mapping_table(report: &Report) -> TextTable {
    let rows = mapped_at_headline(report);
    let leaky = rows
        .iter()
        .any(|c| c.mapped.snn_leakage_pj > 0.0 || c.mapped.baseline_leakage_pj > 0.0);
    let mut cols = vec![
        Col::text("workload").fold("").runs(),
        Col::text("activity").fold("activity ").long().runs(),
        Col::text("architecture"),
        Col::text("SNN dataflow").long(),
        Col::text("baseline dataflow").long(),
    ];
    if leaky {
        cols.push(Col::num("leakage SNN / base µJ"));
    }
    let mut t = TextTable::new(
        format!(
            "Each format at its own best mapping, T = {}",
            report.headline_timesteps()
        ),
        cols,
    );
    for c in rows {
        let m = &c.mapped;
        let mut cells = vec![
            c.workload.clone(),
            c.operating_point.clone(),
            c.architecture.clone(),
            m.snn_dataflow.clone().unwrap_or("—".into()),
            m.baseline_dataflow.clone().unwrap_or("—".into()),
        ];
        if leaky {
            cells.push(format!(
                "{} / {}",
                uj(m.snn_leakage_pj),
                uj(m.baseline_leakage_pj)
            ));
        }
        t.row(cells);
    }
    if !leaky && !t.is_empty() {
        t.note("No static energy (leakage) on any of them.");
    }
    t
}

/// Energy by level of the hardware at the headline T (first operating point per architecture
/// and workload); levels without energy in either format are named under the table.
fn level_table(report: &Report) -> TextTable {
    let mut t = TextTable::new(
        format!(
            "Energy by level of the hardware, T = {}",
            report.headline_timesteps()
        ),
        vec![
            Col::text("architecture").runs(),
            Col::text("workload").fold("").runs(),
            Col::text("level"),
            Col::num("SNN µJ"),
            Col::num("share"),
            Col::num("baseline µJ"),
            Col::num("share"),
        ],
    );
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut idle: Vec<String> = Vec::new();
    for c in mapped_at_headline(report) {
        if seen.contains(&(&c.architecture, &c.workload)) {
            continue;
        }
        seen.push((&c.architecture, &c.workload));
        let m = &c.mapped;
        let mut none: Vec<String> = Vec::new();
        for level in crate::render::level_names(&m.snn_by_level, &m.baseline_by_level) {
            let find = |by: &[snnergy_core::report::LevelEnergy]| {
                by.iter().find(|l| l.level == level).map_or(0.0, |l| l.pj)
            };
            let (s, b) = (find(&m.snn_by_level), find(&m.baseline_by_level));
            if s == 0.0 && b == 0.0 {
                none.push(level);
                continue;
            }
            t.row(vec![
                c.architecture.clone(),
                c.workload.clone(),
                level,
                uj(s),
                share(s, c.snn_pj),
                uj(b),
                share(b, c.baseline_pj),
            ]);
        }
        if !none.is_empty() {
            idle.push(format!("{} ({})", none.join(", "), c.architecture));
        }
    }
    if !idle.is_empty() {
        t.note(format!("No energy at: {}.", idle.join("; ")));
    }
    t
}

/// Where what the text leaves out is: report.md, and the flag that prints it.
fn footer(report: &Report, screen: &Screen, view: &View<'_>) -> String {
    let Some(dir) = view.report_dir else {
        return String::new();
    };
    let md = dir.join("report.md");
    let md = md.display();
    if view.wide {
        return screen.paragraph(&format!(
            "{md} holds all of this and every assumption, price and source, the sensitivity study, the operation counts and the figures."
        ));
    }
    let mut left: Vec<&str> = Vec::new();
    if report.settings.timesteps.len() > 1 && !report.comparisons.is_empty() {
        left.push("the SNN/baseline energy ratio at every T");
    }
    if !report.breakeven.is_empty() {
        left.push("the break-even as a mean level L̄*");
    }
    if report
        .breakeven
        .iter()
        .any(|b| b.mapped.edp_status.is_some())
    {
        left.push("the break-even in energy × latency with each format's dataflow");
    }
    if !mapped_at_headline(report).is_empty() {
        left.push("the mappings and the energy by level of the hardware");
    }
    let text = match left.as_slice() {
        [] => format!(
            "{md} holds every assumption, price and source, the sensitivity study, the operation counts and the figures."
        ),
        [one] => format!(
            "Not shown here: {one} (--wide prints it). It is in {md}, with every assumption, price and source, the sensitivity study, the operation counts and the figures."
        ),
        [init @ .., last] => format!(
            "Not shown here: {}; and {last} (--wide prints them). They are in {md}, with every assumption, price and source, the sensitivity study, the operation counts and the figures.",
            init.join("; ")
        ),
    };
    screen.paragraph(&text)
}
