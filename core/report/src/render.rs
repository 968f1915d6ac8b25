//! Text renderings of a [`Report`]: JSON (the schema scripts rely on), CSV tables, and the
//! Markdown report for people, with the one-line verdicts both it and the terminal show.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use snnergy_core::report::{BreakEvenStatus, Keyed, Report, Side};
use snnergy_core::settings::Baseline;
use snnergy_core::{AccessKey, Category};

use crate::ReportError;

/// The renderings of a report.
pub trait Render {
    /// Pretty JSON.
    fn to_json(&self) -> String;
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
    /// `report.md` into `dir`, returning the paths written.
    fn write_to(
        &self,
        dir: &Path,
        figures: &[(String, String)],
    ) -> Result<Vec<PathBuf>, ReportError>;
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
                "baseline",
                "snn_pj",
                "baseline_pj",
                "ratio",
                "snn_wins",
                "snn_pj_per_synapse",
                "baseline_pj_per_synapse",
                "twin_consistent",
            ],
            self.comparisons.iter().map(|c| {
                vec![
                    c.architecture.clone(),
                    c.workload.clone(),
                    c.operating_point.clone(),
                    c.timesteps.to_string(),
                    c.spike_rate.to_string(),
                    c.sparsity.to_string(),
                    c.nonzero.to_string(),
                    c.baseline.clone(),
                    c.snn_pj.to_string(),
                    c.baseline_pj.to_string(),
                    c.ratio.to_string(),
                    c.snn_wins.to_string(),
                    c.snn_pj_per_synapse.to_string(),
                    c.baseline_pj_per_synapse.to_string(),
                    opt(c.twin_consistent),
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
                "status",
            ],
            self.breakeven.iter().map(|b| {
                vec![
                    b.architecture.clone(),
                    b.workload.clone(),
                    b.timesteps.to_string(),
                    b.baseline.clone(),
                    opt(b.spike_rate),
                    opt(b.sparsity),
                    status_name(b.status).to_string(),
                ]
            }),
        )
    }

    /// A Markdown report for people: verdicts first, then the numbers, then every assumption
    /// and price with its source. `figures` are image paths (relative to the report) to embed.
    fn to_markdown(&self, figures: &[(String, String)]) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# {}\n", self.title);
        let _ = writeln!(
            md,
            "Energy of one inference of the SNN against its baseline ({}), counted per layer from \
             the actions each architecture performs and priced by the stated energy models.\n",
            match self.settings.baseline {
                Baseline::CapacityMatched =>
                    "a QNN with ⌈log2(T+1)⌉-bit activations, capacity-matched to T time steps",
                Baseline::Ann8 => "an 8-bit ANN",
            }
        );
        md.push_str("## Verdicts\n\n");
        for line in self.verdicts() {
            let _ = writeln!(md, "- {line}");
        }
        md.push('\n');

        if !self.breakeven.is_empty() {
            md.push_str("## Break-even spike rate\n\nBelow the break-even spike rate the SNN uses less energy than its baseline; the sparsity it must exceed is 1 − rate.\n\n");
            md.push_str("| architecture | workload | T | baseline | break-even spike rate | required sparsity |\n|---|---|---:|---|---:|---:|\n");
            for b in &self.breakeven {
                let (r, s) = match (b.status, b.spike_rate) {
                    (BreakEvenStatus::Crossing, Some(r)) => (
                        format!("{:.4} %", 100.0 * r),
                        format!("{:.4} %", 100.0 * (1.0 - r)),
                    ),
                    (BreakEvenStatus::SnnNeverWins, _) => {
                        ("none: SNN loses at any rate".into(), "—".into())
                    }
                    (_, r) => (
                        format!("SNN wins up to {:.2} %", 100.0 * r.unwrap_or(1.0)),
                        "—".into(),
                    ),
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {r} | {s} |",
                    b.architecture, b.workload, b.timesteps, b.baseline
                );
            }
            md.push('\n');
        }

        if !self.sensitivity.is_empty() {
            md.push_str(&sensitivity_markdown(self));
        }

        if !self.metrics.is_empty() {
            md.push_str(&metrics_markdown(self));
        }

        if !self.comparisons.is_empty() {
            md.push_str("## Comparisons\n\n| architecture | workload | activity | T | spike rate | ρ | SNN (µJ) | baseline (µJ) | SNN / baseline | SNN pJ/synapse | baseline pJ/synapse | twin bound |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
            for c in &self.comparisons {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {:.4} % | {:.3} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} |",
                    c.architecture,
                    c.workload,
                    c.operating_point,
                    c.timesteps,
                    100.0 * c.spike_rate,
                    c.nonzero,
                    c.snn_pj * 1e-6,
                    c.baseline_pj * 1e-6,
                    c.ratio,
                    c.snn_pj_per_synapse,
                    c.baseline_pj_per_synapse,
                    match c.twin_consistent {
                        Some(true) => "holds",
                        Some(false) => "violated",
                        None => "n/a",
                    }
                );
            }
            md.push('\n');
            md.push_str("### Where the energy goes\n\nShare of each category at each comparison (SNN / baseline).\n\n");
            let cats: Vec<&str> = Category::ALL.iter().map(Category::name).collect();
            let _ = writeln!(
                md,
                "| architecture | workload | T | spike rate | {} |",
                cats.join(" | ")
            );
            let _ = writeln!(md, "|---|---|---:|---:|{}", "---:|".repeat(cats.len()));
            for c in &self.comparisons {
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
                    "| {} | {} | {} | {:.4} % | {} |",
                    c.architecture,
                    c.workload,
                    c.timesteps,
                    100.0 * c.spike_rate,
                    cells.join(" | ")
                );
            }
            md.push('\n');
        }

        if !figures.is_empty() {
            md.push_str("## Figures\n\n");
            for (caption, path) in figures {
                let _ = writeln!(md, "![{caption}]({path})\n");
            }
        }

        md.push_str("## Workloads\n\n| workload | network | layers | synapses (MACs) | weights | parameters | mean fan-in | mean weight reuse |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        for w in &self.workloads {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
                w.name,
                w.network,
                w.layers,
                w.synapses,
                w.weights,
                w.parameters,
                w.mean_fan_in,
                w.mean_reuse
            );
        }
        md.push('\n');

        md.push_str("## Assumptions\n\n| assumption | value | why |\n|---|---|---|\n");
        for a in &self.assumptions {
            let _ = writeln!(md, "| {} | {} | {} |", a.key, a.value, a.note);
        }
        md.push('\n');
        for a in &self.architectures {
            let _ = writeln!(
                md,
                "### Architecture `{}` (type `{}`, priced by `{}`)\n",
                a.name, a.type_name, a.energy_model
            );
            if a.assumptions.is_empty() {
                md.push_str("No parameters.\n\n");
                continue;
            }
            md.push_str("| parameter | value | why |\n|---|---|---|\n");
            for p in &a.assumptions {
                let _ = writeln!(md, "| {} | {} | {} |", p.key, p.value, p.note);
            }
            md.push('\n');
        }

        md.push_str("## Prices used\n\n| energy model | action | price | unit | source | derivation |\n|---|---|---:|---|---|---|\n");
        for p in &self.prices {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                p.energy_model, p.action, p.pj, p.unit, p.source, p.derivation
            );
        }
        md.push_str("\n## Sources\n\n| energy model | key | node | citation | status |\n|---|---|---|---|---|\n");
        for s in &self.sources {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                s.energy_model,
                s.source.key,
                s.source.node,
                s.source.citation,
                if s.source.third_party {
                    "reported by third parties, unverified"
                } else {
                    "from the publication"
                }
            );
        }
        md
    }

    /// One sentence per architecture, workload and operating point at the headline T: does the
    /// SNN win, by how much, and where its break-even lies.
    fn verdicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        let headline = self.headline_timesteps();
        for c in self.comparisons.iter().filter(|c| c.timesteps == headline) {
            let be_text = match self.breakeven_at(c.key()) {
                Some(b) if b.status == BreakEvenStatus::Crossing => format!(
                    "; it breaks even at a spike rate of {:.2} % (sparsity {:.2} %)",
                    100.0 * b.spike_rate.unwrap_or(0.0),
                    100.0 * b.sparsity.unwrap_or(0.0)
                ),
                Some(b) if b.status == BreakEvenStatus::SnnNeverWins => {
                    "; no spike rate makes it win".to_string()
                }
                Some(_) => "; it wins at every spike rate".to_string(),
                None => String::new(),
            };
            let flips = self
                .tornadoes_at(c.key())
                .flat_map(|t| {
                    t.rows
                        .iter()
                        .filter(|r| r.flips)
                        .map(move |r| format!("{} (±{:.0} %)", r.name, 100.0 * t.range))
                })
                .collect::<Vec<_>>();
            let flip_text = if flips.is_empty() {
                String::new()
            } else {
                format!(
                    " The verdict is fragile: it flips when one of these changes within its range: {}.",
                    flips.join(", ")
                )
            };
            out.push(format!(
                "**{}**, {} at T = {}, spike rate {:.2} %: the SNN {} ({:.3}× the energy of the {}){be_text}.{flip_text}",
                c.architecture,
                c.workload,
                c.timesteps,
                100.0 * c.spike_rate,
                if c.snn_wins { "wins" } else { "loses" },
                c.ratio,
                c.baseline
            ));
        }
        out
    }

    /// Writes `report.json`, `comparisons.csv`, `layers.csv`, `breakeven.csv` and `report.md`
    /// into `dir`, returning the paths written.
    fn write_to(
        &self,
        dir: &Path,
        figures: &[(String, String)],
    ) -> Result<Vec<PathBuf>, ReportError> {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let files = [
            ("report.json", self.to_json()),
            ("comparisons.csv", self.comparisons_csv()),
            ("layers.csv", self.layers_csv()),
            ("breakeven.csv", self.breakeven_csv()),
            ("report.md", self.to_markdown(figures)),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| ReportError::Io {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

fn status_name(s: BreakEvenStatus) -> &'static str {
    match s {
        BreakEvenStatus::Crossing => "crossing",
        BreakEvenStatus::SnnNeverWins => "snn-never-wins",
        BreakEvenStatus::SnnAlwaysWins => "snn-always-wins",
    }
}

fn sensitivity_markdown(report: &Report) -> String {
    let mut md = String::from("## Sensitivity\n\n");
    let pct = |s: &Option<Side>| match s {
        None => "rejected".to_string(),
        Some(s) => match (s.status, s.breakeven) {
            (BreakEvenStatus::SnnNeverWins, _) => "never wins".into(),
            (BreakEvenStatus::SnnAlwaysWins, _) => "always wins".into(),
            (_, r) => format!("{:.3} %", 100.0 * r.unwrap_or(0.0)),
        },
    };
    for t in &report.sensitivity {
        let _ = writeln!(
            md,
            "### {} on {}, T = {} (±{:.0} %)\n\nBreak-even spike rate when one input at a time is scaled by ×{} and ×{}; nominal {} (against the {}). The verdict at the `{}` activity (spike rate {:.2} %: SNN {}) {}.\n",
            t.architecture,
            t.workload,
            t.timesteps,
            100.0 * t.range,
            1.0 - t.range,
            1.0 + t.range,
            pct(&Some(t.nominal.clone())),
            t.baseline,
            t.operating_point,
            100.0 * t.spike_rate,
            if t.nominal.snn_wins { "wins" } else { "loses" },
            if t.flips() {
                "**flips** within the range (rows marked below)"
            } else {
                "holds across the whole range"
            }
        );
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
                pct(&r.high),
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
        "## Operations and sparsity (NeuroBench definitions)\n\nPer inference; the SNN's counts are summed over its T steps. Effective operations skip zero activations: ACs where the activation is a spike, MACs otherwise. Every weight is taken as non-zero; after pooling, values are taken as independent.\n\n",
    );
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
