//! Text renderings of a [`Report`]: JSON (the schema scripts rely on), CSV tables, and the
//! Markdown report for people, with the one-line verdicts both it and the terminal show.

use crate::text::{pct, sig};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use snnergy_core::PriceClass;
use snnergy_core::report::{BreakEvenStatus, Report, Side, Verdict, wins_phrase};
use snnergy_core::settings::{Baseline, TwinMode};

use crate::words::breakeven_words;
use snnergy_core::{AccessKey, Category};

use crate::ReportError;

/// The renderings of a report.
pub trait Render {
    /// Pretty JSON.
    fn to_json(&self) -> String;
    /// The same JSON, written to `w` as it is made (a large report is never held twice).
    fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    /// `comparisons.csv`: one row per comparison.
    fn comparisons_csv(&self) -> String;
    /// `layers.csv`: one row per layer per comparison.
    fn layers_csv(&self) -> String;
    /// `breakeven.csv`.
    fn breakeven_csv(&self) -> String;
    /// A Markdown report for people: verdicts first, then the numbers, then every assumption
    /// and price with its source. `figures` are (caption, path relative to the report).
    fn to_markdown(&self, figures: &[(String, String)]) -> String;
    /// One sentence per architecture, workload and operating point at the headline T: does
    /// the SNN win, by how much, and where its break-even lies.
    fn verdicts(&self) -> Vec<String>;
    /// Writes `report.json`, `comparisons.csv`, `layers.csv`, `breakeven.csv` and
    /// `report.md` into `dir` as one set (see [`snnergy_files`]), returning the paths written.
    fn write_to(
        &self,
        dir: &Path,
        figures: &[(String, String)],
    ) -> Result<Vec<PathBuf>, ReportError>;
}

/// Text from a pipeline or a plugin (a title, a name, a note) made safe for a Markdown table
/// cell: `|` would end the cell and a line break the row, and HTML tags would be rendered
/// (a `<script>` in a title runs in a browser's preview).
fn cell(text: &dyn std::fmt::Display) -> String {
    let text = text.to_string();
    if !text.contains(['|', '\n', '\r', '<', '>']) {
        return text;
    }
    text.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Rows of strings as CSV.
fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Render for Report {
    fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports contain only serializable data") + "\n"
    }

    fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    }

    fn comparisons_csv(&self) -> String {
        csv(
            &[
                "architecture",
                "workload",
                "operating_point",
                "timesteps",
                "spike_rate",
                "sparsity",
                "nonzero",
                "mean_level",
                "baseline",
                "snn_pj",
                "baseline_pj",
                "ratio",
                "verdict",
                "snn_pj_per_synapse",
                "baseline_pj_per_synapse",
                "twin_consistent",
                "snn_latency_us",
                "baseline_latency_us",
                "latency_ratio",
                "edp_ratio",
                "snn_leakage_pj",
                "baseline_leakage_pj",
                "snn_dataflow",
                "baseline_dataflow",
            ],
            self.comparisons.iter().map(|c| {
                let m = &c.mapped;
                vec![
                    c.architecture.clone(),
                    c.workload.clone(),
                    c.operating_point.clone(),
                    c.timesteps.to_string(),
                    c.spike_rate.to_string(),
                    c.sparsity.to_string(),
                    c.nonzero.to_string(),
                    opt(c.mean_level),
                    c.baseline.clone(),
                    c.snn_pj.to_string(),
                    c.baseline_pj.to_string(),
                    c.ratio.to_string(),
                    c.verdict.name().to_string(),
                    c.snn_pj_per_synapse.to_string(),
                    c.baseline_pj_per_synapse.to_string(),
                    opt(c.twin_consistent),
                    opt(m.snn_latency_us),
                    opt(m.baseline_latency_us),
                    opt(m.latency_ratio),
                    opt(m.edp_ratio),
                    m.snn_leakage_pj.to_string(),
                    m.baseline_leakage_pj.to_string(),
                    m.snn_dataflow.clone().unwrap_or_default(),
                    m.baseline_dataflow.clone().unwrap_or_default(),
                ]
            }),
        )
    }

    fn layers_csv(&self) -> String {
        csv(
            &[
                "architecture",
                "workload",
                "operating_point",
                "timesteps",
                "spike_rate",
                "layer",
                "op",
                "input_spike_rate",
                "input_nonzero",
                "snn_pj",
                "baseline_pj",
            ],
            self.comparisons.iter().flat_map(|c| {
                c.layers.iter().map(move |l| {
                    vec![
                        c.architecture.clone(),
                        c.workload.clone(),
                        c.operating_point.clone(),
                        c.timesteps.to_string(),
                        c.spike_rate.to_string(),
                        l.layer.clone(),
                        l.op.clone(),
                        l.input_spike_rate.to_string(),
                        l.input_nonzero.to_string(),
                        l.snn_pj.to_string(),
                        l.baseline_pj.to_string(),
                    ]
                })
            }),
        )
    }

    fn breakeven_csv(&self) -> String {
        csv(
            &[
                "architecture",
                "workload",
                "timesteps",
                "baseline",
                "spike_rate",
                "sparsity",
                "nonzero",
                "mean_level",
                "twin",
                "twin_clamped",
                "status",
                "edp_spike_rate",
                "edp_status",
                "wins",
                "edp_wins",
                "snn_dataflow",
                "baseline_dataflow",
                "anchors",
            ],
            self.breakeven.iter().map(|b| {
                let m = &b.mapped;
                vec![
                    b.architecture.clone(),
                    b.workload.clone(),
                    b.timesteps.to_string(),
                    b.baseline.clone(),
                    opt(b.spike_rate),
                    opt(b.sparsity),
                    opt(b.nonzero),
                    opt(b.mean_level),
                    b.twin.clone(),
                    b.twin_clamped.to_string(),
                    status_name(b.status).to_string(),
                    opt(m.edp_spike_rate),
                    m.edp_status.map(status_name).unwrap_or("").to_string(),
                    intervals_csv(&b.wins),
                    intervals_csv(&m.edp_wins),
                    m.at_crossing.snn_dataflow.clone().unwrap_or_default(),
                    m.at_crossing.baseline_dataflow.clone().unwrap_or_default(),
                    m.anchors.to_string(),
                ]
            }),
        )
    }

    /// A Markdown report for people: verdicts first, then the numbers, then every assumption
    /// and price with its source. `figures` are image paths (relative to the report) to embed.
    fn to_markdown(&self, figures: &[(String, String)]) -> String {
        let mut md = intro_markdown(self);
        md.push_str(&measured_markdown(self));
        md.push_str(&breakeven_markdown(self));
        if !self.sensitivity.is_empty() {
            md.push_str(&sensitivity_markdown(self));
        }
        if !self.metrics.is_empty() {
            md.push_str(&metrics_markdown(self));
        }
        if !self.comparisons.is_empty() {
            md.push_str(&comparisons_markdown(self));
            md.push_str(&categories_markdown(self));
            md.push_str(&levels_markdown(self));
        }
        if self
            .comparisons
            .iter()
            .any(|c| !c.mapped.snn_by_level.is_empty())
        {
            md.push_str(&mapping_markdown(self));
        }
        md.push_str(&figures_markdown(figures));
        md.push_str(&workloads_markdown(self));
        md.push_str(&assumptions_markdown(self));
        md.push_str(&prices_markdown(self));
        md.push_str(&sources_markdown(self));
        md
    }

    /// One sentence per architecture, workload and operating point at the headline T: does the
    /// SNN win, by how much, where its break-even lies and what decides it (see
    /// [`verdict_words`](crate::words::verdict_words)).
    fn verdicts(&self) -> Vec<String> {
        let headline = self.headline_timesteps();
        self.comparisons
            .iter()
            .filter(|c| c.timesteps == headline)
            .map(|c| {
                let w = crate::words::verdict_words(self, c);
                format!("**{}**, {}: {}", w.architecture, w.point, w.sentence())
            })
            .collect()
    }

    fn write_to(
        &self,
        dir: &Path,
        figures: &[(String, String)],
    ) -> Result<Vec<PathBuf>, ReportError> {
        let mut out = snnergy_files::OutputDir::create(dir)?;
        stage_report_files(self, figures, &mut out)?;
        Ok(out.commit()?)
    }
}

/// Stages the report's text files in `out` one at a time, so that no more than one of them
/// is in memory at once (and the JSON, the largest, not at all), and holds them to the run's
/// budget of output (`output_mib`): its estimate bounds what is written, and this is where a
/// wrong estimate would be caught, before anything is put in place.
pub fn stage_report_files(
    report: &Report,
    figures: &[(String, String)],
    out: &mut snnergy_files::OutputDir,
) -> Result<(), ReportError> {
    out.write_from("report.json", |w| report.write_json(w))?;
    let texts: [(&str, &dyn Fn() -> String); 4] = [
        ("comparisons.csv", &|| report.comparisons_csv()),
        ("layers.csv", &|| report.layers_csv()),
        ("breakeven.csv", &|| report.breakeven_csv()),
        ("report.md", &|| report.to_markdown(figures)),
    ];
    for (name, text) in texts {
        let text = text();
        out.write(name, text.as_bytes())?;
    }
    check_output(report, out)
}

/// Refuses a report folder larger than the run's `output_mib`.
pub fn check_output(report: &Report, out: &snnergy_files::OutputDir) -> Result<(), ReportError> {
    let limit = report.settings.budget.output_mib * 1024.0 * 1024.0;
    let bytes = out.staged_bytes() as f64;
    if bytes > limit {
        return Err(ReportError::File(snnergy_files::FileError {
            path: out.dest().to_path_buf(),
            message: format!(
                "the report came to {:.0} MiB, over its budget of {} MiB (`output_mib` in [analysis.budget]); nothing was written",
                bytes / (1024.0 * 1024.0),
                report.settings.budget.output_mib
            ),
        }));
    }
    Ok(())
}

/// The report's text files by name: `report.json`, `comparisons.csv`, `layers.csv`,
/// `breakeven.csv` and `report.md`.
pub fn report_files(report: &Report, figures: &[(String, String)]) -> [(&'static str, String); 5] {
    [
        ("report.json", report.to_json()),
        ("comparisons.csv", report.comparisons_csv()),
        ("layers.csv", report.layers_csv()),
        ("breakeven.csv", report.breakeven_csv()),
        ("report.md", report.to_markdown(figures)),
    ]
}

/// The report's title, what it compares, its verdicts and its warnings.
fn intro_markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", cell(&report.title));
    let _ = writeln!(
        md,
        "Energy of one inference of the SNN against its baseline ({}), counted per layer from \
         the actions each architecture performs and priced by the stated energy models.\n",
        match report.settings.baseline {
            Baseline::CapacityMatched =>
                "a QNN with ⌈log2(T+1)⌉-bit activations, capacity-matched to T time steps",
            Baseline::Ann8 => "an 8-bit ANN",
        }
    );
    md.push_str("## Verdicts\n\n");
    for line in report.verdicts() {
        let _ = writeln!(md, "- {}", cell(&line));
    }
    md.push('\n');
    if !report.warnings.is_empty() {
        md.push_str("## Warnings\n\n");
        for w in &report.warnings {
            let _ = writeln!(md, "- {}", cell(w));
        }
        md.push('\n');
    }
    md
}

/// The break-even table with how to read it under the run's twin mode (nothing without
/// break-even searches).
fn breakeven_markdown(report: &Report) -> String {
    if report.breakeven.is_empty() {
        return String::new();
    }
    let mut md = String::new();
    md.push_str("## Break-even spike rate\n\nBelow the break-even spike rate the SNN uses less energy than its baseline; the sparsity it must exceed is 1 − rate. ");
    md.push_str(match report.settings.twin {
        TwinMode::Consistent => "Along the search the baseline's non-zero fraction follows the spike rate (ρ = r·T/L̄): the columns ρ and L̄ give the twin at the crossing, whose non-zero activations average L̄ spikes.\n\n",
        TwinMode::FixedNonzero => "Along the search the baseline's non-zero fraction ρ is held fixed (`twin = \"fixed-nonzero\"`, the v1 paper's setting); L̄ = r·T/ρ is the mean level a twin would need at the crossing, and below 1 no twin exists there.\n\n",
    });
    md.push_str("The last column reads the break-even as a mean level instead: at the activity's own spike rate, the SNN wins while its twin's non-zero activations average fewer than L̄* spikes (below 1: no twin at that rate lets it win).\n\n");
    md.push_str("| architecture | workload | T | baseline | break-even spike rate | required sparsity | ρ | L̄ | break-even L̄* at the activity's rate | EDP break-even | SNN dataflow at the crossing | baseline dataflow at the crossing | mappings |\n|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|\n");
    for b in &report.breakeven {
        let words = breakeven_words(b);
        let m = &b.mapped;
        let level = match b.mean_level {
            Some(l) if b.twin_clamped => format!("{} (clamped)", sig(l)),
            Some(l) => sig(l),
            None => "—".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {level} | {} at {} | {} | {} | {} | {} |",
            cell(&b.architecture),
            cell(&b.workload),
            b.timesteps,
            cell(&b.baseline),
            words.rate,
            words.sparsity,
            b.nonzero.map(sig).unwrap_or_else(|| "—".into()),
            words.level,
            pct(b.level_rate),
            words.edp,
            cell(&m.at_crossing.snn_dataflow.as_deref().unwrap_or("—")),
            cell(&m.at_crossing.baseline_dataflow.as_deref().unwrap_or("—")),
            if m.anchors == 0 {
                "—".to_string()
            } else {
                format!("best of {} anchors", m.anchors)
            }
        );
    }
    md.push('\n');
    md
}

/// One row per comparison: the energies, their ratio, the twin bound and the verdict.
fn comparisons_markdown(report: &Report) -> String {
    let mut md = String::new();
    md.push_str("## Comparisons\n\n| architecture | workload | activity | T | spike rate | ρ | L̄ | SNN (µJ) | baseline (µJ) | SNN / baseline | SNN pJ/synapse | baseline pJ/synapse | twin bound | verdict |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for c in &report.comparisons {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.4} | {} | {} | {} | {} |",
            cell(&c.architecture),
            cell(&c.workload),
            cell(&c.operating_point),
            c.timesteps,
            pct(c.spike_rate),
            sig(c.nonzero),
            c.mean_level.map(sig).unwrap_or_else(|| "—".into()),
            sig(c.snn_pj * 1e-6),
            sig(c.baseline_pj * 1e-6),
            c.ratio,
            sig(c.snn_pj_per_synapse),
            sig(c.baseline_pj_per_synapse),
            match c.twin_consistent {
                Some(true) => "holds",
                Some(false) => "violated",
                None => "n/a",
            },
            c.verdict.phrase()
        );
    }
    md.push('\n');
    md
}

/// Each energy category's share of the SNN's and the baseline's energy per comparison.
fn categories_markdown(report: &Report) -> String {
    let mut md = String::new();
    md.push_str("### Where the energy goes\n\nShare of each category at each comparison (SNN / baseline).\n\n");
    let cats: Vec<&str> = Category::ALL.iter().map(Category::name).collect();
    let _ = writeln!(
        md,
        "| architecture | workload | T | spike rate | {} |",
        cats.join(" | ")
    );
    let _ = writeln!(md, "|---|---|---:|---:|{}", "---:|".repeat(cats.len()));
    for c in &report.comparisons {
        let cells: Vec<String> = Category::ALL
            .iter()
            .map(|k| {
                let s = c.snn_breakdown.get(*k) / c.snn_pj;
                let b = c.baseline_breakdown.get(*k) / c.baseline_pj;
                format!("{:.1} % / {:.1} %", 100.0 * s, 100.0 * b)
            })
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&c.architecture),
            cell(&c.workload),
            c.timesteps,
            pct(c.spike_rate),
            cells.join(" | ")
        );
    }
    md.push('\n');
    md
}

/// The figures, each under its caption (nothing without figures).
fn figures_markdown(figures: &[(String, String)]) -> String {
    if figures.is_empty() {
        return String::new();
    }
    let mut md = String::from("## Figures\n\n");
    for (caption, path) in figures {
        let _ = writeln!(md, "![{}]({path})\n", cell(caption));
    }
    md
}

/// One row per workload: its size in layers, synapses, weights and reuse.
fn workloads_markdown(report: &Report) -> String {
    let mut md = String::new();
    md.push_str("## Workloads\n\n| workload | network | layers | synapses (valid taps) | weights | parameters | mean fan-in | mean weight reuse |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    for w in &report.workloads {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            cell(&w.name),
            cell(&w.network),
            w.layers,
            w.synapses,
            w.weights,
            w.parameters,
            w.mean_fan_in,
            w.mean_reuse
        );
    }
    md.push('\n');
    md
}

/// The run's assumptions, then each architecture's parameters with why they hold.
fn assumptions_markdown(report: &Report) -> String {
    let mut md = String::new();
    md.push_str("## Assumptions\n\n| assumption | value | why |\n|---|---|---|\n");
    for a in &report.assumptions {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            cell(&a.key),
            cell(&a.value),
            cell(&a.note)
        );
    }
    md.push('\n');
    for a in &report.architectures {
        let _ = writeln!(
            md,
            "### Architecture `{}` (type `{}`, priced by `{}`)\n",
            cell(&a.name),
            cell(&a.type_name),
            cell(&a.energy_model)
        );
        if a.assumptions.is_empty() {
            md.push_str("No parameters.\n\n");
            continue;
        }
        md.push_str("| parameter | value | why |\n|---|---|---|\n");
        for p in &a.assumptions {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                cell(&p.key),
                cell(&p.value),
                cell(&p.note)
            );
        }
        md.push('\n');
    }
    md
}

/// Every price an energy model charged, with its source and derivation.
fn prices_markdown(report: &Report) -> String {
    let mut md = String::new();
    md.push_str("## Prices used\n\n| energy model | action | price | unit | source | derivation |\n|---|---|---:|---|---|---|\n");
    for p in &report.prices {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&p.energy_model),
            cell(&p.action),
            sig(p.pj),
            cell(&p.unit),
            cell(&p.source),
            cell(&p.derivation)
        );
    }
    md.push('\n');
    md
}

/// The publications behind the prices, and whether a third party reported them.
fn sources_markdown(report: &Report) -> String {
    let mut md = String::new();
    md.push_str(
        "## Sources\n\n| energy model | key | node | citation | status |\n|---|---|---|---|---|\n",
    );
    for s in &report.sources {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&s.energy_model),
            cell(&s.source.key),
            cell(&s.source.node),
            cell(&s.source.citation),
            if s.source.third_party {
                "reported by third parties, unverified"
            } else {
                "from the publication"
            }
        );
    }
    md
}

/// Where the energy goes by memory level and operation (price class) at each comparison.
fn levels_markdown(report: &Report) -> String {
    let classes: Vec<PriceClass> = PriceClass::ALL
        .iter()
        .copied()
        .filter(|k| {
            report
                .comparisons
                .iter()
                .any(|c| c.snn_by_class.get(*k) > 0.0 || c.baseline_by_class.get(*k) > 0.0)
        })
        .collect();
    if classes.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "### Where the energy goes, by memory level and operation\n\nµJ per inference of each price class at each comparison (SNN / baseline).\n\n",
    );
    let names: Vec<&str> = classes.iter().map(|k| k.name()).collect();
    let _ = writeln!(
        md,
        "| architecture | workload | T | spike rate | {} |",
        names.join(" | ")
    );
    let _ = writeln!(md, "|---|---|---:|---:|{}", "---:|".repeat(names.len()));
    for c in &report.comparisons {
        let cells: Vec<String> = classes
            .iter()
            .map(|k| {
                format!(
                    "{} / {}",
                    sig(c.snn_by_class.get(*k) * 1e-6),
                    sig(c.baseline_by_class.get(*k) * 1e-6)
                )
            })
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            c.architecture,
            c.workload,
            c.timesteps,
            pct(c.spike_rate),
            cells.join(" | ")
        );
    }
    md.push('\n');
    md
}

/// What measured activity sources recorded: accuracy of the SNN and its twin next to the
/// rates they were measured at (the fields a source's record has; others are skipped).
fn measured_markdown(report: &Report) -> String {
    if report.measured.is_empty() {
        return String::new();
    }
    let mut md = String::from("## Measured activity\n\n");
    for m in &report.measured {
        let r = &m.provenance.record;
        let num = |k: &str| r.get(k).and_then(|v| v.as_f64());
        let _ = writeln!(
            md,
            "`{}` on {} at T = {} (measured by `{}`{}):\n",
            m.operating_point,
            m.workload,
            m.timesteps,
            m.provenance.source,
            num("images")
                .map(|n| format!(", {n} images"))
                .unwrap_or_default()
        );
        let mut facts = Vec::new();
        for (key, what) in [
            ("snn_accuracy", "SNN accuracy"),
            ("twin_accuracy", "QNN twin accuracy"),
            ("top1_agreement", "top-1 agreement of SNN and twin"),
        ] {
            if let Some(v) = num(key) {
                facts.push(format!("{what} {}", pct(v)));
            }
        }
        if !facts.is_empty() {
            let _ = writeln!(md, "{}.\n", facts.join(", "));
        }
        if let Some(layers) = r.get("layers").and_then(|v| v.as_array()) {
            md.push_str(
                "| layer | spike rate | twin non-zero | twin mean level |\n|---|---:|---:|---:|\n",
            );
            for l in layers {
                let f = |k: &str| l.get(k).and_then(|v| v.as_f64());
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    l.get("name").and_then(|v| v.as_str()).unwrap_or("?"),
                    f("spike_rate").map(pct).unwrap_or_else(|| "—".into()),
                    f("twin_zero_fraction")
                        .map(|z| pct(1.0 - z))
                        .unwrap_or_else(|| "—".into()),
                    f("twin_mean_level").map(sig).unwrap_or_else(|| "—".into()),
                );
            }
            md.push('\n');
        }
        md.push_str(&inputs_markdown(r));
    }
    md
}

/// Winning intervals in a CSV cell: `from:to` pairs (spike rates) joined by `;`, the last `to`
/// followed by `+` when it reaches the highest rate searched.
fn intervals_csv(wins: &[snnergy_core::report::RateInterval]) -> String {
    wins.iter()
        .map(|w| {
            format!(
                "{}:{}{}",
                w.from,
                w.to,
                if w.reaches_top { "+" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// What a measurement recorded arriving at each layer with weights, if it did.
fn inputs_markdown(record: &serde_json::Value) -> String {
    let Some(inputs) = record.get("inputs").and_then(|v| v.as_array()) else {
        return String::new();
    };
    if inputs.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "What reached each layer with weights, after pooling and reshaping:\n\n| layer | SNN non-zero per step | SNN non-zero in some step | SNN synapses fed per step | twin non-zero | twin synapses fed |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for l in inputs {
        let f = |k: &str| {
            l.get(k)
                .and_then(|v| v.as_f64())
                .map(pct)
                .unwrap_or_else(|| "—".into())
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            l.get("name").and_then(|v| v.as_str()).unwrap_or("?"),
            f("density"),
            f("active"),
            f("synapse_density"),
            f("twin_nonzero"),
            f("twin_synapse_nonzero"),
        );
    }
    md.push('\n');
    md
}

fn status_name(s: BreakEvenStatus) -> &'static str {
    match s {
        BreakEvenStatus::Crossing => "crossing",
        BreakEvenStatus::SnnNeverWins => "snn-never-wins",
        BreakEvenStatus::SnnAlwaysWins => "snn-always-wins",
        BreakEvenStatus::SnnWinsAbove => "snn-wins-above",
        BreakEvenStatus::SnnWinsWithin => "snn-wins-within",
    }
}

/// Per comparison whose architecture maps: both formats' dataflows, latency, leakage and
/// energy by level.
fn mapping_markdown(report: &Report) -> String {
    let mut md = String::from(
        "## Mappings, time and places\n\nEach format mapped at its own best on the same chip: the dataflow carrying most of its energy, latency per inference (the layers' cycles over the clock), static energy (part of the totals the verdicts use) and the energy-delay product ratio.\n\n",
    );
    md.push_str("| architecture | workload | T | spike rate | SNN dataflow | baseline dataflow | SNN latency (µs) | baseline latency (µs) | latency SNN / baseline | EDP SNN / baseline | SNN leakage (µJ) | baseline leakage (µJ) |\n|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
    let num = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |v| format!("{v:.d$}"));
    for c in &report.comparisons {
        let m = &c.mapped;
        if m.snn_by_level.is_empty() {
            continue;
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4} % | {} | {} | {} | {} | {} | {} | {:.4} | {:.4} |",
            cell(&c.architecture),
            cell(&c.workload),
            c.timesteps,
            100.0 * c.spike_rate,
            cell(&m.snn_dataflow.as_deref().unwrap_or("—")),
            cell(&m.baseline_dataflow.as_deref().unwrap_or("—")),
            num(m.snn_latency_us, 2),
            num(m.baseline_latency_us, 2),
            num(m.latency_ratio, 3),
            num(m.edp_ratio, 3),
            m.snn_leakage_pj * 1e-6,
            m.baseline_leakage_pj * 1e-6,
        );
    }
    md.push_str("\n### Energy by level\n\nAt the headline T, per place of the hardware (µJ, and its share of the format's total).\n\n| architecture | workload | level | SNN (µJ) | SNN share | baseline (µJ) | baseline share |\n|---|---|---|---:|---:|---:|---:|\n");
    let headline = report.headline_timesteps();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for c in report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == headline)
    {
        let m = &c.mapped;
        if m.snn_by_level.is_empty() || seen.contains(&(&c.architecture, &c.workload)) {
            continue;
        }
        seen.push((&c.architecture, &c.workload));
        for level in level_names(&m.snn_by_level, &m.baseline_by_level) {
            let find = |by: &[snnergy_core::report::LevelEnergy]| {
                by.iter().find(|l| l.level == level).map_or(0.0, |l| l.pj)
            };
            let (s, b) = (find(&m.snn_by_level), find(&m.baseline_by_level));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.4} | {:.1} % | {:.4} | {:.1} % |",
                cell(&c.architecture),
                cell(&c.workload),
                cell(&level),
                s * 1e-6,
                100.0 * s / c.snn_pj,
                b * 1e-6,
                100.0 * b / c.baseline_pj,
            );
        }
    }
    md.push('\n');
    md
}

/// The levels of two breakdowns, in the first's order, then the second's new ones.
pub fn level_names(
    a: &[snnergy_core::report::LevelEnergy],
    b: &[snnergy_core::report::LevelEnergy],
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for l in a.iter().chain(b) {
        if !names.contains(&l.level) {
            names.push(l.level.clone());
        }
    }
    names
}

fn sensitivity_markdown(report: &Report) -> String {
    let mut md = String::from("## Sensitivity\n\n");
    let pct = |s: &Option<Side>| match s {
        None => "rejected".to_string(),
        Some(s) => match (s.status, s.breakeven) {
            (BreakEvenStatus::SnnNeverWins, _) => "never wins".into(),
            (BreakEvenStatus::SnnAlwaysWins, _) => "always wins".into(),
            (BreakEvenStatus::SnnWinsAbove, r) => format!("wins above {}", pct(r.unwrap_or(0.0))),
            (BreakEvenStatus::SnnWinsWithin, _) => format!("wins {}", wins_phrase(&s.wins, pct)),
            (_, r) => pct(r.unwrap_or(0.0)),
        },
    };
    for t in &report.sensitivity {
        let _ = writeln!(
            md,
            "### {} on {}, T = {} (±{:.0} %)\n\nBreak-even spike rate when one input at a time is scaled by ×{} and ×{} (a structural choice: set to another value); nominal {} (against the {}). The verdict at the `{}` activity (spike rate {}: SNN {}) {}.\n",
            t.architecture,
            t.workload,
            t.timesteps,
            100.0 * t.range,
            1.0 - t.range,
            1.0 + t.range,
            pct(&Some(t.nominal.clone())),
            t.baseline,
            t.operating_point,
            crate::text::pct(t.spike_rate),
            match t.nominal.verdict {
                Verdict::SnnWins => "wins",
                Verdict::SnnLoses => "loses",
                Verdict::NoTwin => "has no twin",
            },
            if t.flips() {
                "**flips** within the range (rows marked below)"
            } else {
                "holds across the whole range"
            }
        );
        let _ = writeln!(md, "{}\n", crate::words::structural_band(t));
        md.push_str("| input | kind | low value | break-even | high value | break-even | swing | verdict |\n|---|---|---:|---:|---:|---:|---:|---|\n");
        for r in &t.rows {
            let v = |s: &Option<Side>| {
                s.as_ref()
                    .map(|s| s.value.clone())
                    .unwrap_or_else(|| "—".into())
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {:.3} pp | {} |",
                r.name,
                r.kind,
                v(&r.low),
                pct(&r.low),
                v(&r.high),
                if r.kind == "choice" {
                    "—".into()
                } else {
                    pct(&r.high)
                },
                100.0 * r.swing,
                if r.flips { "**flips**" } else { "holds" }
            );
        }
        for n in &t.notes {
            let _ = writeln!(md, "\nNote: {n}");
        }
        md.push('\n');
    }
    md
}

/// Operation counts and sparsity per workload, T and operating point; accesses per level at
/// the headline T (every T is in the JSON).
fn metrics_markdown(report: &Report) -> String {
    let mut md = String::from(
        "## Operations and sparsity (NeuroBench definitions)\n\nPer inference; the SNN's counts are summed over its T steps. Effective operations skip zero activations: ACs where the activation is a spike, MACs otherwise. Every weight is taken as non-zero. ",
    );
    let layers = || report.metrics.iter().flat_map(|m| &m.layers);
    md.push_str(if layers().all(|l| l.measured_input) {
        "Input densities after pooling are measured (the synapses whose input is non-zero, per step).\n\n"
    } else if layers().any(|l| l.measured_input) {
        "Input densities after pooling are measured where the activity measured them; elsewhere they are estimated with the values of a window taken as independent, which over-estimates them for spikes correlated in space, as in real feature maps.\n\n"
    } else {
        "Input densities after pooling are estimated with the values of a window taken as independent, which over-estimates them for spikes correlated in space, as in real feature maps, and the direct-coded image is taken as dense.\n\n"
    });
    md.push_str("| workload | activity | T | SNN dense SynOps | SNN effective ACs | SNN effective MACs | SNN activation sparsity | baseline dense SynOps | baseline effective MACs | baseline effective ACs | baseline activation sparsity |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for m in &report.metrics {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4e} | {:.4e} | {:.4e} | {:.2} % | {:.4e} | {:.4e} | {:.4e} | {:.2} % |",
            m.workload,
            m.operating_point,
            m.timesteps,
            m.snn.dense_synops,
            m.snn.effective_acs,
            m.snn.effective_macs,
            100.0 * m.snn.activation_sparsity,
            m.baseline.dense_synops,
            m.baseline.effective_macs,
            m.baseline.effective_acs,
            100.0 * m.baseline.activation_sparsity,
        );
    }
    md.push('\n');

    let headline = report.headline_timesteps();
    let rows: Vec<_> = report
        .metrics
        .iter()
        .filter(|m| m.timesteps == headline)
        .flat_map(|m| m.accesses.iter().map(move |a| (m, a)))
        .collect();
    // Only the levels some architecture has, so a chip without DRAM or a NoC adds no column.
    let keys: Vec<AccessKey> = AccessKey::ALL
        .into_iter()
        .filter(|k| {
            rows.iter()
                .any(|(_, a)| a.snn.get(*k) > 0.0 || a.baseline.get(*k) > 0.0)
        })
        .collect();
    if rows.is_empty() || keys.is_empty() {
        return md;
    }
    let _ = writeln!(
        md,
        "### Accesses per level at T = {headline}\n\nMemory accesses and transfers per inference, SNN / baseline.\n"
    );
    let names: Vec<&str> = keys.iter().map(AccessKey::name).collect();
    let _ = writeln!(
        md,
        "| architecture | workload | activity | {} |",
        names.join(" | ")
    );
    let _ = writeln!(md, "|---|---|---|{}", "---:|".repeat(keys.len()));
    for (m, a) in rows {
        let cells: Vec<String> = keys
            .iter()
            .map(|k| format!("{:.3e} / {:.3e}", a.snn.get(*k), a.baseline.get(*k)))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            a.architecture,
            m.workload,
            m.operating_point,
            cells.join(" | ")
        );
    }
    md.push('\n');
    md
}
