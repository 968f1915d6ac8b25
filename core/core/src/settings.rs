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
    /// Solve for the break-even spike rate per T.
    pub breakeven: bool,
    /// Points of the energy-vs-spike-rate curve per architecture, workload and T (0: none).
    pub sweep_points: u32,
    /// Output folder, relative to the pipeline file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<std::path::PathBuf>,
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
            breakeven: true,
            sweep_points: 101,
            output: None,
            sensitivity: None,
        }
    }
}

/// Parses `timesteps` given as `6`, `[2, 4, 6]` or `"1..16"`.
pub fn parse_timesteps(value: &toml::Value) -> Result<Vec<u32>, String> {
    let one = |v: i64| -> Result<u32, String> {
        if v <= 0 {
            Err(format!(
                "timesteps = {v}: an SNN needs at least one time step"
            ))
        } else if v > 100_000 {
            Err(format!(
                "timesteps = {v} is implausibly large (at most 100000)"
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
    /// if it is analysed, else 6 (the paper's setting) if analysed, else the middle of the
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
    /// Vary each numeric architecture parameter.
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
