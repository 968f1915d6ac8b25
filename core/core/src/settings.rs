//! The `[analysis]` section: what is compared, at which time steps, with which widths, and
//! the optional sensitivity study. Reports carry it, so it lives with the data, not with the
//! analysis that reads it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ConfigError;
use crate::format::{Format, Neuron, QnnFormat, SnnFormat, capacity_matched_bits};
use crate::network::InputCoding;

/// What the SNN is compared against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// A QNN with ⌈log2(T+1)⌉-bit activations: the same number of levels as 0..T spikes
    /// (the paper's v2+ fair twin).
    #[default]
    CapacityMatched,
    /// An 8-bit ANN (the paper's v1 baseline).
    Ann8,
}

/// Neuron model named in `[analysis]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NeuronModel {
    /// Integrate-and-fire.
    #[default]
    If,
    /// Leaky integrate-and-fire (set `leak`).
    Lif,
}

/// How sweeps and break-even searches move the baseline's non-zero fraction ρ with the
/// SNN's spike rate r.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TwinMode {
    /// ρ = r·T/L̄ per layer: a converted SNN emits r·T spikes per neuron, its twin's
    /// non-zero activations have mean level L̄, so only this ρ belongs to a real twin.
    #[default]
    Consistent,
    /// ρ held at the activity's value whatever r is (the v1 paper's setting); points outside
    /// the twin bound r ≤ ρ ≤ min(1, r·T) have no twin and get no verdict.
    FixedNonzero,
}

impl TwinMode {
    /// Name as written in `[analysis] twin`.
    pub fn name(self) -> &'static str {
        match self {
            TwinMode::Consistent => "consistent",
            TwinMode::FixedNonzero => "fixed-nonzero",
        }
    }
}

/// The mean level L̄ of the twin's non-zero activations (in spikes, 1..=T) where no
/// measurement gives it: a number (the same L̄ at every T) or a fraction of T written `"0.5T"`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MeanLevel {
    /// L̄ itself, at every T.
    Fixed(f64),
    /// L̄ = f·T.
    PerStep(f64),
}

impl Default for MeanLevel {
    /// `0.5T`: activations spread evenly over the levels 1..T have mean level (T+1)/2, a
    /// trained network's skew towards low levels pulls it down and rounding up half a step
    /// (φ = 0.5) pushes it up; the shipped Fashion-MNIST network measures 3.1–4.1 per layer
    /// at T = 6, 0.58T overall.
    fn default() -> Self {
        MeanLevel::PerStep(0.5)
    }
}

impl MeanLevel {
    /// L̄ at `timesteps`, clamped to [1, T] (a level is a spike count of one neuron).
    pub fn at(self, timesteps: u32) -> f64 {
        let t = timesteps as f64;
        let l = match self {
            MeanLevel::Fixed(l) => l,
            MeanLevel::PerStep(f) => f * t,
        };
        l.clamp(1.0, t)
    }

    /// As written in TOML.
    pub fn to_text(self) -> String {
        match self {
            MeanLevel::Fixed(l) => format!("{l}"),
            MeanLevel::PerStep(f) => format!("{f}T"),
        }
    }

    fn parse(value: &toml::Value) -> Result<Self, String> {
        let level = match value {
            toml::Value::Integer(i) => MeanLevel::Fixed(*i as f64),
            toml::Value::Float(f) => MeanLevel::Fixed(*f),
            toml::Value::String(s) => {
                let f = s
                    .trim()
                    .strip_suffix('T')
                    .and_then(|f| f.trim().trim_end_matches(['*', '·']).trim().parse::<f64>().ok())
                    .ok_or_else(|| {
                        format!("mean_level = \"{s}\": write a number (L̄ at every T) or a fraction of T like \"0.5T\"")
                    })?;
                MeanLevel::PerStep(f)
            }
            other => {
                return Err(format!(
                    "mean_level must be a number or a fraction of T like \"0.5T\", not {other}"
                ));
            }
        };
        match level {
            MeanLevel::Fixed(l) if !(l.is_finite() && l >= 1.0) => Err(format!(
                "mean_level = {l}: the mean level of non-zero activations is at least 1 spike"
            )),
            MeanLevel::PerStep(f) if !(f.is_finite() && f > 0.0 && f <= 1.0) => Err(format!(
                "mean_level = \"{f}T\": the fraction of T must lie in (0, 1]"
            )),
            l => Ok(l),
        }
    }
}

impl Serialize for MeanLevel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MeanLevel::Fixed(l) => s.serialize_f64(*l),
            MeanLevel::PerStep(_) => s.serialize_str(&self.to_text()),
        }
    }
}

impl<'de> Deserialize<'de> for MeanLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = toml::Value::deserialize(d)?;
        MeanLevel::parse(&v).map_err(serde::de::Error::custom)
    }
}

/// The `[analysis]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisSettings {
    /// Report title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Time steps to analyse: a list, a single number, or a range string `"1..16"` (inclusive).
    #[serde(deserialize_with = "timesteps")]
    pub timesteps: Vec<u32>,
    /// The T that the report's verdicts speak of (default: 6 if analysed, else the middle T).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headline_timesteps: Option<u32>,
    /// The baseline the SNN is compared with.
    #[serde(deserialize_with = "one_baseline")]
    pub baseline: Baseline,
    /// SNN and baseline weight bits.
    pub weight_bits: u32,
    /// SNN membrane bits.
    pub membrane_bits: u32,
    /// Baseline accumulator (partial-sum) bits.
    pub accumulator_bits: u32,
    /// Neuron model.
    pub neuron: NeuronModel,
    /// Membrane fraction kept per step for `neuron = "lif"`.
    pub leak: f64,
    /// How the input reaches the first layer.
    pub input_coding: InputCoding,
    /// How the baseline's non-zero fraction follows the spike rate in sweeps and break-even
    /// searches.
    pub twin: TwinMode,
    /// L̄ where the activity does not measure it (see [`MeanLevel`]).
    pub mean_level: MeanLevel,
    /// Solve for the break-even spike rate per T.
    pub breakeven: bool,
    /// Points of the energy-vs-spike-rate curve per architecture, workload and T (0: none).
    pub sweep_points: u32,
    /// Output folder, relative to the pipeline file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<std::path::PathBuf>,
    /// Let outputs replace existing files that snnergy did not write (`--force`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overwrite: bool,
    /// `[analysis.budget]`: what a run may cost, checked before it starts.
    #[serde(skip_serializing_if = "Budget::is_default")]
    pub budget: Budget,
    /// `[analysis.sensitivity]`: the one-at-a-time ±range study of the break-even spike rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<SensitivitySettings>,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            title: None,
            timesteps: vec![6],
            headline_timesteps: None,
            baseline: Baseline::default(),
            weight_bits: 8,
            membrane_bits: 16,
            accumulator_bits: 16,
            neuron: NeuronModel::default(),
            leak: 0.9,
            input_coding: InputCoding::default(),
            twin: TwinMode::default(),
            mean_level: MeanLevel::default(),
            breakeven: true,
            sweep_points: 101,
            output: None,
            overwrite: false,
            budget: Budget::default(),
            sensitivity: None,
        }
    }
}

/// The largest T an analysis takes.
pub const MAX_TIMESTEPS: u32 = 100_000;

/// Parses `timesteps` given as `6`, `[2, 4, 6]` or `"1..16"`.
pub fn parse_timesteps(value: &toml::Value) -> Result<Vec<u32>, String> {
    let one = |v: i64| -> Result<u32, String> {
        if v <= 0 {
            Err(format!(
                "timesteps = {v}: an SNN needs at least one time step"
            ))
        } else if v > MAX_TIMESTEPS as i64 {
            Err(format!(
                "timesteps = {v} is implausibly large (at most {MAX_TIMESTEPS})"
            ))
        } else {
            Ok(v as u32)
        }
    };
    match value {
        toml::Value::Integer(v) => Ok(vec![one(*v)?]),
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    toml::Value::Integer(v) => out.push(one(*v)?),
                    other => return Err(format!("timesteps entry {other} is not an integer")),
                }
            }
            if out.is_empty() {
                return Err("timesteps is empty".into());
            }
            Ok(out)
        }
        toml::Value::String(s) => {
            let (a, b) = s
                .split_once("..")
                .ok_or_else(|| format!("timesteps range `{s}` must look like \"1..16\""))?;
            let b = b.trim_start_matches('=');
            let parse = |x: &str| {
                x.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("timesteps range `{s}`: `{x}` is not an integer"))
            };
            let (a, b) = (one(parse(a)?)?, one(parse(b)?)?);
            if a > b {
                return Err(format!("timesteps range `{s}` is empty"));
            }
            Ok((a..=b).collect())
        }
        other => Err(format!(
            "timesteps must be a number, a list or a range string like \"1..16\", not {other}"
        )),
    }
}

/// A list of baselines is refused with what to do: each baseline has its own break-even
/// table, figures and verdicts, so it is one pipeline each.
fn one_baseline<'de, D: Deserializer<'de>>(d: D) -> Result<Baseline, D::Error> {
    let v = toml::Value::deserialize(d)?;
    if let toml::Value::Array(items) = &v {
        return Err(serde::de::Error::custom(format!(
            "one baseline per pipeline, {} given: each has its own break-even table and verdicts, so copy the pipeline and set `baseline = \"ann8\"` in the copy (and its own `output`)",
            items.len()
        )));
    }
    Baseline::deserialize(v).map_err(serde::de::Error::custom)
}

fn timesteps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    let v = toml::Value::deserialize(d)?;
    parse_timesteps(&v).map_err(serde::de::Error::custom)
}

impl AnalysisSettings {
    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.timesteps.is_empty() {
            return Err(ConfigError::new("no time steps to analyse").at_key("analysis.timesteps"));
        }
        if let Some(t) = self.timesteps.iter().find(|t| **t == 0) {
            return Err(ConfigError::new(format!(
                "timesteps = {t}: an SNN needs at least one time step"
            ))
            .at_key("analysis.timesteps"));
        }
        // A repeated T would analyse and report the same rows again. Checked in one pass: a
        // range of 10^5 steps compared pairwise took minutes before any estimate.
        let mut seen = std::collections::HashSet::with_capacity(self.timesteps.len());
        for t in &self.timesteps {
            if !seen.insert(*t) {
                return Err(ConfigError::new(format!(
                    "T = {t} is listed more than once: each T is analysed once"
                ))
                .at_key("analysis.timesteps"));
            }
        }
        if let Some(h) = self.headline_timesteps
            && !self.timesteps.contains(&h)
        {
            return Err(ConfigError::new(format!(
                "headline_timesteps = {h} is not among the analysed timesteps {:?}: add it there or pick one of them",
                self.timesteps
            ))
            .at_key("analysis.headline_timesteps"));
        }
        for (key, bits) in [
            ("weight_bits", self.weight_bits),
            ("membrane_bits", self.membrane_bits),
            ("accumulator_bits", self.accumulator_bits),
        ] {
            if !(1..=32).contains(&bits) {
                return Err(ConfigError::new(format!("{bits} bits is outside 1..=32"))
                    .at_key(format!("analysis.{key}")));
            }
        }
        if self.neuron == NeuronModel::Lif && !(self.leak > 0.0 && self.leak <= 1.0) {
            return Err(
                ConfigError::new(format!("leak = {} is outside (0, 1]", self.leak))
                    .at_key("analysis.leak"),
            );
        }
        if self.sweep_points == 1 || self.sweep_points > 100_001 {
            return Err(ConfigError::new(format!(
                "sweep_points = {} must be 0 (no sweep) or 2..=100001",
                self.sweep_points
            ))
            .at_key("analysis.sweep_points"));
        }
        if let Some(s) = &self.sensitivity {
            s.validate()?;
        }
        self.budget.validate()?;
        Ok(())
    }

    /// The SNN format at `timesteps`.
    pub fn snn_format(&self, timesteps: u32) -> Format {
        Format::Snn(SnnFormat {
            timesteps,
            weight_bits: self.weight_bits,
            membrane_bits: self.membrane_bits,
            neuron: match self.neuron {
                NeuronModel::If => Neuron::If,
                NeuronModel::Lif => Neuron::Lif { leak: self.leak },
            },
        })
    }

    /// The baseline format for an SNN with `timesteps` steps.
    pub fn baseline_format(&self, timesteps: u32) -> Format {
        Format::Qnn(QnnFormat {
            activation_bits: match self.baseline {
                Baseline::CapacityMatched => capacity_matched_bits(timesteps),
                Baseline::Ann8 => 8,
            },
            weight_bits: self.weight_bits,
            accumulator_bits: self.accumulator_bits,
        })
    }

    /// The T that verdicts, figures and the sensitivity study speak of: `headline_timesteps`
    /// (which [`validate`](Self::validate) requires to be analysed), else 6 (the paper's setting) if analysed, else the middle of the
    /// analysed list.
    pub fn headline_timesteps(&self) -> u32 {
        let ts = &self.timesteps;
        self.headline_timesteps
            .filter(|t| ts.contains(t))
            .or_else(|| ts.contains(&6).then_some(6))
            .unwrap_or_else(|| ts.get(ts.len() / 2).copied().unwrap_or(1))
    }

    /// Name of the baseline at `timesteps`, e.g. `qnn-3bit` or `ann-8bit`.
    pub fn baseline_name(&self, timesteps: u32) -> String {
        match self.baseline {
            Baseline::CapacityMatched => format!("qnn-{}bit", capacity_matched_bits(timesteps)),
            Baseline::Ann8 => "ann-8bit".into(),
        }
    }
}

/// `[analysis.budget]`: the most a run may cost. The defaults are what a laptop survives; the
/// analysis estimates the cost before it starts and refuses a run over any of them, with the
/// estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budget {
    /// Work, in layer evaluations (an architecture counting one layer for one format and
    /// operating point, about a microsecond; mapping a layer counts as many); default 10^9,
    /// about a quarter of an hour on one core at most.
    pub evaluations: f64,
    /// Size of the report folder, MiB; default 1024.
    pub output_mib: f64,
    /// Peak memory, MiB; default 4096.
    pub memory_mib: f64,
    /// Synaptic operations the engine may simulate (images × (T + 1) × N·F over the weighted
    /// layers: the SNN's steps and the twin); default 2·10^13, about an hour on two cores.
    pub synaptic_ops: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            evaluations: 1e9,
            output_mib: 1024.0,
            memory_mib: 4096.0,
            synaptic_ops: 2e13,
        }
    }
}

impl Budget {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Sets one limit from `key=value` (the `--budget` flag).
    pub fn set(&mut self, spec: &str) -> Result<(), ConfigError> {
        let (key, value) = spec.split_once('=').ok_or_else(|| {
            ConfigError::new(format!(
                "budget `{spec}` must look like key=value (evaluations, output_mib, memory_mib, synaptic_ops)"
            ))
        })?;
        let v: f64 = value.trim().parse().map_err(|_| {
            ConfigError::new(format!("budget `{spec}`: `{value}` is not a number"))
                .at_key(format!("analysis.budget.{}", key.trim()))
        })?;
        match key.trim() {
            "evaluations" => self.evaluations = v,
            "output_mib" => self.output_mib = v,
            "memory_mib" => self.memory_mib = v,
            "synaptic_ops" => self.synaptic_ops = v,
            other => {
                return Err(ConfigError::new(format!(
                    "unknown budget `{other}` (valid: evaluations, output_mib, memory_mib, synaptic_ops)"
                )));
            }
        }
        self.validate()
    }

    /// Checks that every limit is a positive number.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("evaluations", self.evaluations),
            ("output_mib", self.output_mib),
            ("memory_mib", self.memory_mib),
            ("synaptic_ops", self.synaptic_ops),
        ] {
            if v.is_nan() || v <= 0.0 {
                return Err(
                    ConfigError::new(format!("{key} = {v} must be a positive number"))
                        .at_key(format!("analysis.budget.{key}")),
                );
            }
        }
        Ok(())
    }
}

/// `[analysis.sensitivity]`: the one-at-a-time study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensitivitySettings {
    /// T of the operating point; default: the report's headline T.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timesteps: Option<u32>,
    /// Relative change each way: 0.5 varies every input between ×0.5 and ×1.5.
    pub range: f64,
    /// Vary each price class.
    pub prices: bool,
    /// Vary each numeric architecture parameter by ±`range`, and each structural choice (an
    /// enumerated or boolean parameter) over its other values.
    pub parameters: bool,
}

impl Default for SensitivitySettings {
    fn default() -> Self {
        Self {
            timesteps: None,
            range: 0.5,
            prices: true,
            parameters: true,
        }
    }
}

impl SensitivitySettings {
    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.range > 0.0 && self.range < 1.0) {
            return Err(ConfigError::new(format!(
                "range = {}: must lie in (0, 1) (0.5 varies every input by ±50 %)",
                self.range
            ))
            .at_key("analysis.sensitivity.range"));
        }
        if self.timesteps == Some(0) {
            return Err(
                ConfigError::new("timesteps = 0: an SNN needs at least one time step")
                    .at_key("analysis.sensitivity.timesteps"),
            );
        }
        Ok(())
    }
}
