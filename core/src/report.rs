//! The report: every number with its unit, every assumption and price with its source, in a
//! JSON schema scripts can rely on, plus CSV and Markdown renderings.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::AnalysisSettings;
use crate::energy::PriceSource;
use crate::error::Error;
use crate::network::Network;
use crate::traits::Assumption;

/// Version of the JSON schema; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// A workload as the report describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Label.
    pub name: String,
    /// Network name.
    pub network: String,
    /// Layers.
    pub layers: usize,
    /// Σ N over weighted layers.
    pub neurons: u64,
    /// Σ S (MACs of one dense inference).
    pub synapses: u64,
    /// Σ W.
    pub weights: u64,
    /// Trainable parameters.
    pub parameters: u64,
    /// S / N.
    pub mean_fan_in: f64,
    /// S / W.
    pub mean_reuse: f64,
}

impl WorkloadSummary {
    /// Summarizes `network` under `label`.
    pub fn of(label: &str, network: &Network) -> Self {
        let t = network.totals();
        Self {
            name: label.to_string(),
            network: network.name.clone(),
            layers: network.layers.len(),
            neurons: t.neurons,
            synapses: t.synapses,
            weights: t.weights,
            parameters: t.parameters,
            mean_fan_in: t.mean_fan_in(),
            mean_reuse: t.mean_reuse(),
        }
    }
}

/// An architecture as the report describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureSummary {
    /// Label.
    pub name: String,
    /// Registered type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Energy model pricing it.
    pub energy_model: String,
    /// Parameters used, with reasons.
    pub assumptions: Vec<Assumption>,
}

/// A price source used by some energy model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    /// The model.
    pub energy_model: String,
    /// The source.
    #[serde(flatten)]
    pub source: PriceSource,
}

/// A price that was used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    /// The model.
    pub energy_model: String,
    /// The action.
    pub action: String,
    /// Its price class.
    pub class: String,
    /// Price.
    pub pj: f64,
    /// Unit of `pj`.
    pub unit: String,
    /// Source key.
    pub source: String,
    /// How it follows from the source.
    pub derivation: String,
}

/// One layer of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerComparison {
    /// Layer name.
    pub layer: String,
    /// Operation.
    pub op: String,
    /// SNN input spike rate.
    pub input_spike_rate: f64,
    /// Baseline input non-zero fraction.
    pub input_nonzero: f64,
    /// SNN energy, pJ.
    pub snn_pj: f64,
    /// Baseline energy, pJ.
    pub baseline_pj: f64,
    /// SNN energy by category, pJ.
    pub snn_breakdown: BTreeMap<String, f64>,
    /// Baseline energy by category, pJ.
    pub baseline_breakdown: BTreeMap<String, f64>,
}

/// SNN against baseline at one operating point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// Operating-point label.
    pub operating_point: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Mean SNN spike rate (spikes per neuron per step, neuron-weighted).
    pub spike_rate: f64,
    /// 1 − spike_rate.
    pub sparsity: f64,
    /// Mean baseline non-zero fraction ρ.
    pub nonzero: f64,
    /// Baseline name (`qnn-3bit`, `ann-8bit`).
    pub baseline: String,
    /// SNN energy per inference, pJ.
    pub snn_pj: f64,
    /// Baseline energy per inference, pJ.
    pub baseline_pj: f64,
    /// snn_pj / baseline_pj.
    pub ratio: f64,
    /// Whether the SNN uses less energy.
    pub snn_wins: bool,
    /// SNN energy per synapse (Σ S over weighted layers), pJ.
    pub snn_pj_per_synapse: f64,
    /// Baseline energy per synapse, pJ.
    pub baseline_pj_per_synapse: f64,
    /// For a capacity-matched twin: whether ρ lies within the twin bound r ≤ ρ ≤ min(1, r·T).
    pub twin_consistent: Option<bool>,
    /// SNN energy by category, pJ.
    pub snn_breakdown: BTreeMap<String, f64>,
    /// Baseline energy by category, pJ.
    pub baseline_breakdown: BTreeMap<String, f64>,
    /// SNN energy by price class (memory level, operation, interconnect), pJ.
    pub snn_by_class: BTreeMap<String, f64>,
    /// Baseline energy by price class, pJ.
    pub baseline_by_class: BTreeMap<String, f64>,
    /// Per layer.
    pub layers: Vec<LayerComparison>,
}

/// How the break-even search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakEvenStatus {
    /// Energies cross at `spike_rate`.
    Crossing,
    /// The SNN costs more even with no spikes: no spike rate makes it win.
    SnnNeverWins,
    /// The SNN costs less even at the highest rate searched (`spike_rate` holds that rate).
    SnnAlwaysWins,
}

/// The break-even spike rate for one architecture, workload and T.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Baseline name.
    pub baseline: String,
    /// Mean spike rate at which SNN and baseline energies are equal (below it the SNN wins).
    pub spike_rate: Option<f64>,
    /// 1 − spike_rate: the sparsity the SNN must exceed.
    pub sparsity: Option<f64>,
    /// How the search ended.
    pub status: BreakEvenStatus,
}

/// Energy against spike rate for one architecture, workload and T.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Baseline name.
    pub baseline: String,
    /// Baseline energy (independent of the SNN's spike rate), pJ.
    pub baseline_pj: f64,
    /// Mean spike rates.
    pub spike_rates: Vec<f64>,
    /// SNN energy at each rate, pJ.
    pub snn_pj: Vec<f64>,
}

/// Everything an analysis produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// JSON schema version.
    pub schema: u32,
    /// Title.
    pub title: String,
    /// Units of the numeric fields.
    pub units: BTreeMap<String, String>,
    /// Analysis settings.
    pub settings: AnalysisSettings,
    /// Workloads.
    pub workloads: Vec<WorkloadSummary>,
    /// Architectures.
    pub architectures: Vec<ArchitectureSummary>,
    /// Assumptions of the analysis and of the activity source.
    pub assumptions: Vec<Assumption>,
    /// Price sources used.
    pub sources: Vec<SourceRow>,
    /// Prices used.
    pub prices: Vec<PriceRow>,
    /// SNN against baseline at each operating point.
    pub comparisons: Vec<Comparison>,
    /// Break-even spike rates.
    pub breakeven: Vec<BreakEven>,
    /// Energy against spike rate.
    pub sweeps: Vec<Sweep>,
    /// One-at-a-time sensitivity of the break-even spike rate (tornado), if configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitivity: Vec<crate::sensitivity::Tornado>,
    /// Operation counts, activation sparsity and per-level accesses, per workload, T and
    /// operating point.
    #[serde(default)]
    pub metrics: Vec<crate::metrics::Metrics>,
}

impl Report {
    /// An empty report for `settings`.
    pub fn new(settings: &AnalysisSettings) -> Self {
        let units = [
            ("snn_pj", "pJ per inference"),
            ("baseline_pj", "pJ per inference"),
            ("snn_pj_per_synapse", "pJ per synapse per inference"),
            ("baseline_pj_per_synapse", "pJ per synapse per inference"),
            ("spike_rate", "spikes per neuron per time step"),
            (
                "nonzero",
                "fraction of baseline activations that are non-zero",
            ),
            ("ratio", "snn_pj / baseline_pj"),
            ("pj", "see each price's unit"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            schema: SCHEMA_VERSION,
            title: settings
                .title
                .clone()
                .unwrap_or_else(|| "snnergy analysis".into()),
            units,
            settings: settings.clone(),
            workloads: Vec::new(),
            architectures: Vec::new(),
            assumptions: Vec::new(),
            sources: Vec::new(),
            prices: Vec::new(),
            comparisons: Vec::new(),
            breakeven: Vec::new(),
            sweeps: Vec::new(),
            sensitivity: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Sorts the order-free lists so output is byte-for-byte reproducible.
    pub fn finish(&mut self) {
        self.prices.sort_by(|a, b| {
            (&a.energy_model, &a.class, &a.action).cmp(&(&b.energy_model, &b.class, &b.action))
        });
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports contain only serializable data") + "\n"
    }

    /// `comparisons.csv`: one row per comparison.
    pub fn comparisons_csv(&self) -> String {
        let mut s = String::from(
            "architecture,workload,operating_point,timesteps,spike_rate,sparsity,nonzero,baseline,snn_pj,baseline_pj,ratio,snn_wins,snn_pj_per_synapse,baseline_pj_per_synapse,twin_consistent\n",
        );
        for c in &self.comparisons {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&c.architecture),
                csv_field(&c.workload),
                csv_field(&c.operating_point),
                c.timesteps,
                c.spike_rate,
                c.sparsity,
                c.nonzero,
                c.baseline,
                c.snn_pj,
                c.baseline_pj,
                c.ratio,
                c.snn_wins,
                c.snn_pj_per_synapse,
                c.baseline_pj_per_synapse,
                c.twin_consistent.map(|b| b.to_string()).unwrap_or_default()
            );
        }
        s
    }

    /// `layers.csv`: one row per layer per comparison.
    pub fn layers_csv(&self) -> String {
        let mut s = String::from(
            "architecture,workload,operating_point,timesteps,spike_rate,layer,op,input_spike_rate,input_nonzero,snn_pj,baseline_pj\n",
        );
        for c in &self.comparisons {
            for l in &c.layers {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{},{},{},{},{}",
                    csv_field(&c.architecture),
                    csv_field(&c.workload),
                    csv_field(&c.operating_point),
                    c.timesteps,
                    c.spike_rate,
                    csv_field(&l.layer),
                    l.op,
                    l.input_spike_rate,
                    l.input_nonzero,
                    l.snn_pj,
                    l.baseline_pj
                );
            }
        }
        s
    }

    /// `breakeven.csv`.
    pub fn breakeven_csv(&self) -> String {
        let mut s =
            String::from("architecture,workload,timesteps,baseline,spike_rate,sparsity,status\n");
        for b in &self.breakeven {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                csv_field(&b.architecture),
                csv_field(&b.workload),
                b.timesteps,
                b.baseline,
                b.spike_rate.map(|v| v.to_string()).unwrap_or_default(),
                b.sparsity.map(|v| v.to_string()).unwrap_or_default(),
                status_name(b.status)
            );
        }
        s
    }

    /// A Markdown report for people: verdicts first, then the numbers, then every assumption
    /// and price with its source. `figures` are image paths (relative to the report) to embed.
    pub fn to_markdown(&self, figures: &[(String, String)]) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# {}\n", self.title);
        let _ = writeln!(
            md,
            "Energy of one inference of the SNN against its baseline ({}), counted per layer from \
             the actions each architecture performs and priced by the stated energy models.\n",
            match self.settings.baseline {
                crate::analysis::Baseline::CapacityMatched =>
                    "a QNN with ⌈log2(T+1)⌉-bit activations, capacity-matched to T time steps",
                crate::analysis::Baseline::Ann8 => "an 8-bit ANN",
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
            md.push_str(&self.sensitivity_markdown());
        }

        md.push_str(&crate::metrics::markdown(&self.metrics));

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
            let cats: Vec<&str> = crate::action::Category::ALL
                .iter()
                .map(|c| c.name())
                .collect();
            let _ = writeln!(
                md,
                "| architecture | workload | T | spike rate | {} |",
                cats.join(" | ")
            );
            let _ = writeln!(md, "|---|---|---:|---:|{}", "---:|".repeat(cats.len()));
            for c in &self.comparisons {
                let cells: Vec<String> = cats
                    .iter()
                    .map(|k| {
                        let s = c.snn_breakdown.get(*k).copied().unwrap_or(0.0) / c.snn_pj;
                        let b =
                            c.baseline_breakdown.get(*k).copied().unwrap_or(0.0) / c.baseline_pj;
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

    fn sensitivity_markdown(&self) -> String {
        let mut md = String::from("## Sensitivity\n\n");
        let pct = |s: &Option<crate::sensitivity::Side>| match s {
            None => "rejected".to_string(),
            Some(s) => match (s.status, s.breakeven) {
                (BreakEvenStatus::SnnNeverWins, _) => "never wins".into(),
                (BreakEvenStatus::SnnAlwaysWins, _) => "always wins".into(),
                (_, r) => format!("{:.3} %", 100.0 * r.unwrap_or(0.0)),
            },
        };
        for t in &self.sensitivity {
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
                let v = |s: &Option<crate::sensitivity::Side>| {
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

    /// The T verdicts are stated at: `headline_timesteps` if set, else 6 (the paper's setting)
    /// if analysed, else the middle of the analysed list.
    pub fn headline_timesteps(&self) -> u32 {
        let ts = &self.settings.timesteps;
        self.settings
            .headline_timesteps
            .filter(|t| ts.contains(t))
            .or_else(|| ts.contains(&6).then_some(6))
            .unwrap_or_else(|| ts.get(ts.len() / 2).copied().unwrap_or(1))
    }

    /// One sentence per architecture, workload and operating point at the headline T: does the
    /// SNN win, by how much, and where its break-even lies.
    pub fn verdicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        let headline = self.headline_timesteps();
        for c in self.comparisons.iter().filter(|c| c.timesteps == headline) {
            let be = self.breakeven.iter().find(|b| {
                b.architecture == c.architecture
                    && b.workload == c.workload
                    && b.timesteps == c.timesteps
            });
            let be_text = match be {
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
                .sensitivity
                .iter()
                .filter(|t| {
                    t.architecture == c.architecture
                        && t.workload == c.workload
                        && t.timesteps == c.timesteps
                })
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
    pub fn write_to(
        &self,
        dir: &Path,
        figures: &[(String, String)],
    ) -> Result<Vec<PathBuf>, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
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
            std::fs::write(&path, text).map_err(|source| Error::Io {
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

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
