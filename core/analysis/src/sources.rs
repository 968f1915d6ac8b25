//! Activity sources: a uniform assumption, or a profile file (exported by snnergy's engine or
//! by a PyTorch script) read from disk.
//!
//! Rates are recorded per layer *output* (what an engine measures: spikes of a layer's neurons
//! divided by neurons × T); see [`snnergy_core::activity`] for how they reach each layer.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use snnergy_core::activity::{LayerRates, MeasuredInput, OperatingPoint};
use snnergy_core::error::{ActivityError, ConfigError};
use snnergy_core::network::{InputCoding, Network, Source};
use snnergy_core::registry::{BuildContext, Component};
use snnergy_core::settings::{AnalysisSettings, TwinMode};
use snnergy_core::traits::{ActivityContext, ActivitySource, Assumption};

/// ρ of the v1 paper's optimized ANN, the value `twin = "fixed-nonzero"` holds by default.
const PAPER_NONZERO: f64 = 0.45;

/// `uniform`: the same spike rate at every layer, for each rate listed. The baseline's
/// non-zero fraction follows from the rate (ρ = r·T/L̄, `[analysis] twin = "consistent"`) or
/// is held at `nonzero` (`twin = "fixed-nonzero"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    /// spike rates to analyse, spikes per neuron per time step, each in [0, 1] (give this or
    /// `sparsity`)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spike_rates: Vec<f64>,
    /// sparsities to analyse, 1 − spike rate, each in [0, 1] (give this or `spike_rates`)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparsity: Vec<f64>,
    /// fraction ρ of the baseline's activations that are non-zero, held fixed: only with
    /// [analysis] twin = "fixed-nonzero" (default there 0.45, the paper's optimized ANN); the
    /// default twin-consistent analysis derives ρ = r·T/L̄ from [analysis] mean_level
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonzero: Option<f64>,
}

impl Default for Uniform {
    fn default() -> Self {
        Self {
            spike_rates: vec![0.05, 0.1],
            sparsity: Vec::new(),
            nonzero: None,
        }
    }
}

impl Uniform {
    /// Validates and returns the spike rates; errors name the offending key.
    pub fn checked_rates(&self) -> Result<Vec<f64>, ConfigError> {
        let (key, given) = match (self.spike_rates.is_empty(), self.sparsity.is_empty()) {
            (false, true) => ("spike_rates", &self.spike_rates),
            (true, false) => ("sparsity", &self.sparsity),
            (true, true) => {
                return Err(ConfigError::new(
                    "uniform activity needs `spike_rates` or `sparsity` (a list of values in [0, 1])",
                ));
            }
            (false, false) => {
                return Err(ConfigError::new(
                    "uniform activity takes `spike_rates` or `sparsity`, not both",
                )
                .at_key("sparsity"));
            }
        };
        if let Some(v) = given.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(ConfigError::new(format!("{v} is outside [0, 1]")).at_key(key));
        }
        if let Some(nz) = self.nonzero
            && !(0.0..=1.0).contains(&nz)
        {
            return Err(ConfigError::new(format!("{nz} is outside [0, 1]")).at_key("nonzero"));
        }
        Ok(if key == "sparsity" {
            // 1 − s in decimal, so a sparsity of 0.95 reads back as a rate of 0.05, not
            // 0.05000000000000004.
            given.iter().map(|s| round_decimal(1.0 - s)).collect()
        } else {
            given.clone()
        })
    }

    /// The operating point at rate `r` for an SNN of `settings`' kind at `timesteps`.
    fn point(
        &self,
        network: &Network,
        r: f64,
        settings: &AnalysisSettings,
        timesteps: u32,
    ) -> Result<OperatingPoint, ActivityError> {
        let nonzero = match (settings.twin, self.nonzero) {
            (TwinMode::FixedNonzero, nz) => nz.unwrap_or(PAPER_NONZERO),
            (TwinMode::Consistent, None) => {
                crate::twin::consistent_nonzero(r, settings.mean_level.at(timesteps), timesteps).0
            }
            (TwinMode::Consistent, Some(nz)) => {
                return Err(ActivityError::Invalid(format!(
                    "`activity.nonzero` = {nz} holds the baseline's non-zero fraction fixed, but the twin-consistent analysis derives it from the spike rate (ρ = r·T/L̄): remove `nonzero` and state L̄ as [analysis] mean_level, or set [analysis] twin = \"fixed-nonzero\""
                )));
            }
        };
        Ok(OperatingPoint::uniform(network, r, nonzero))
    }
}

/// `v` rounded to 12 significant decimals: undoes the binary noise of a subtraction of two
/// decimal inputs.
fn round_decimal(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(11 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

impl Component for Uniform {
    type Interface = dyn ActivitySource;
    type Config = Uniform;
    const NAME: &'static str = "uniform";
    const SUMMARY: &'static str = "the same spike rate at every layer, for each rate listed; the baseline's non-zero fraction follows it (ρ = r·T/L̄) or is held fixed";

    fn build(
        uniform: Uniform,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn ActivitySource>, ConfigError> {
        uniform.checked_rates()?;
        Ok(Box::new(uniform))
    }
}

impl ActivitySource for Uniform {
    fn operating_points(
        &self,
        network: &Network,
        ctx: &ActivityContext<'_>,
    ) -> Result<Vec<OperatingPoint>, ActivityError> {
        self.checked_rates()
            .map_err(|e| ActivityError::Invalid(e.to_string()))?
            .into_iter()
            .map(|r| self.point(network, r, ctx.settings, ctx.timesteps))
            .collect()
    }

    fn depends_on_timesteps(&self) -> bool {
        // ρ = r·T/L̄ moves with T.
        self.nonzero.is_none()
    }

    fn point_count(&self) -> Option<usize> {
        Some(self.spike_rates.len() + self.sparsity.len())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let mut a = match self.nonzero {
            Some(nz) => vec![Assumption::new(
                "baseline non-zero fraction ρ",
                nz,
                "held fixed across spike rates (stated, not measured); a point outside the twin bound r ≤ ρ ≤ min(1, r·T) has no twin and gets no verdict",
            )],
            None => vec![Assumption::new(
                "baseline non-zero fraction ρ",
                "r·T/L̄ (twin-consistent) or 0.45 (fixed-nonzero)",
                "a converted SNN emits r·T spikes per neuron, its twin's non-zero activations have mean level L̄",
            )],
        };
        a.push(estimated_pooling());
        a
    }
}

/// The assumption of activity that gives rates only: what pooling makes of them is estimated.
pub fn estimated_pooling() -> Assumption {
    Assumption::new(
        "densities after pooling",
        "estimated: 1 − (1 − d)^k for k inputs per window; a direct-coded image dense",
        "the inputs of a window taken as independent, an over-estimate for spikes positively correlated in space, as in real feature maps (the twin's non-zero inputs, spikes after max pooling, NeuroBench's effective operations); spikes forwarded through average pooling are exact from the rates; measured activity (the engine, `snnergy.torch.record`) replaces the estimate",
    )
}

/// `profile`: per-layer rates read from a JSON or CSV file.
///
/// JSON: `{"timesteps": 6, "layers": [{"name": "features.0", "spike_rate": 0.12, "nonzero": 0.41}, …]}`.
/// CSV: a header with at least `layer` and `spike_rate` (and optionally `nonzero`); other
/// columns (neurons, spikes, …) are ignored. A row named `input` gives the encoded input's
/// rate under rate coding (required there: without it the first layer's work is unknown), and
/// under direct coding the image's share of non-zero values. The optional columns
/// `input_density`, `input_nonzero`, `synapse_density` and `synapse_nonzero` say what reached
/// a layer with weights, measured after pooling (the readout's row may give only those). `{T}`
/// in the path is replaced by the analysed T, and a profile that says it was measured at
/// another T is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// profile file, relative to the pipeline file; .json {"layers": [{"name", "spike_rate",
    /// "nonzero", "mean_level"}]} or .csv with columns layer,spike_rate[,nonzero,mean_level],
    /// optionally what reached each layer (input_density, input_nonzero, synapse_density,
    /// synapse_nonzero); `{T}` in the path is replaced by the analysed T
    pub path: PathBuf,
    /// non-zero fraction for layers whose entry has none (optional; without it every entry
    /// needs one)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonzero: Option<f64>,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            path: PathBuf::from("profiles/vgg16-cifar10-example.csv"),
            nonzero: None,
        }
    }
}

/// One row of a profile file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
// A misspelt key in a JSON profile is an error, as in a pipeline, not a silent default.
#[serde(deny_unknown_fields)]
pub struct ProfileEntry {
    /// Layer name as in the workload.
    pub name: String,
    /// Spikes per neuron per step (required for a layer with neurons; a row of a layer without
    /// them, such as the readout, may give only what arrives at it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_rate: Option<f64>,
    /// QNN non-zero fraction, if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonzero: Option<f64>,
    /// Mean level of the QNN's non-zero outputs (spikes per non-zero activation), if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_level: Option<f64>,
    /// 1-based line in the file (CSV), for errors.
    #[serde(skip)]
    pub line: Option<usize>,
    /// Neurons of the layer per sample, if measured (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neurons: Option<u64>,
    /// Spikes counted over all samples and steps, if measured (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spikes: Option<u64>,
    /// Spike rate at each time step, if recorded (informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_rates: Vec<f64>,
    /// The QNN's outputs by level 0..=T over all samples, if measured (the mean level is
    /// `mean_level`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<u64>,
    /// SNN: fraction of the layer's input values that are non-zero per step, measured after
    /// pooling and reshaping (spikes: events per input element per step; a direct-coded image:
    /// its non-zero pixels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_density: Option<f64>,
    /// The twin's non-zero input fraction (from an SNN alone: the inputs non-zero in at least
    /// one of the T steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_nonzero: Option<f64>,
    /// SNN: fraction of the layer's synapses whose input is non-zero, per step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse_density: Option<f64>,
    /// The twin's fraction of synapses whose input is non-zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse_nonzero: Option<f64>,
}

impl ProfileEntry {
    /// What the row says arrives at its layer, if it measured that.
    fn measured_input(&self) -> Option<MeasuredInput> {
        self.input_density.map(|density| MeasuredInput {
            density,
            nonzero: self.input_nonzero,
            synapse_density: self.synapse_density,
            synapse_nonzero: self.synapse_nonzero,
            // Filled in by `OperatingPoint::set_measured_inputs`.
            at: LayerRates {
                spike_rate: 1.0,
                nonzero: 1.0,
            },
        })
    }

    /// Whether the row gives input columns without `input_density`, which they qualify.
    fn input_columns_without_density(&self) -> bool {
        self.input_density.is_none()
            && (self.input_nonzero.is_some()
                || self.synapse_density.is_some()
                || self.synapse_nonzero.is_some())
    }
}

/// A CSV row's `timesteps` value `t`, checked against the rows above (`before`).
fn row_timesteps(t: f64, before: Option<u32>) -> Result<u32, String> {
    if !(t >= 1.0 && t.fract() == 0.0 && t <= u32::MAX as f64) {
        return Err(format!("`timesteps` = {t} is not a positive whole number"));
    }
    if before.is_some_and(|p| p != t as u32) {
        return Err(format!(
            "`timesteps` = {t} differs from the rows above: a profile is measured at one T"
        ));
    }
    Ok(t as u32)
}

/// What a profile's rows say, per layer of the network, as they are read.
struct Rows {
    layers: Vec<LayerRates>,
    explicit: Vec<bool>,
    mean_levels: Vec<Option<f64>>,
    inputs: Vec<Option<MeasuredInput>>,
    input: LayerRates,
    input_row: Option<MeasuredInput>,
}

impl Rows {
    fn new(n: usize) -> Self {
        Rows {
            layers: vec![
                LayerRates {
                    spike_rate: 0.0,
                    nonzero: 0.0
                };
                n
            ],
            explicit: vec![false; n],
            mean_levels: vec![None; n],
            inputs: vec![None; n],
            input: LayerRates {
                spike_rate: 1.0,
                nonzero: 1.0,
            },
            input_row: None,
        }
    }

    /// The `input` row: the encoded input's rate, or under direct coding the image's share of
    /// non-zero values; what the first layers receive unless their own rows say.
    fn input(&mut self, e: &ProfileEntry) -> Result<(), String> {
        let rate = e.spike_rate.ok_or(
            "the `input` row has no `spike_rate` (the encoded input's spike rate, or under direct coding the image's non-zero fraction)",
        )?;
        self.input = LayerRates {
            spike_rate: rate,
            nonzero: e.nonzero.unwrap_or(1.0),
        };
        for (what, v) in [("spike_rate", rate), ("nonzero", self.input.nonzero)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("`{what}` of the input is {v}, outside [0, 1]"));
            }
        }
        self.input_row = Some(MeasuredInput {
            density: rate,
            nonzero: e.nonzero,
            synapse_density: None,
            synapse_nonzero: None,
            at: self.input,
        });
        Ok(())
    }

    /// The row of layer `i`: its output rates (required where it has neurons) and what
    /// reached it.
    fn layer(
        &mut self,
        i: usize,
        e: &ProfileEntry,
        neuron: bool,
        default_nonzero: Option<f64>,
    ) -> Result<(), String> {
        self.inputs[i] = e.measured_input();
        let Some(rate) = e.spike_rate else {
            if neuron {
                return Err(format!(
                    "layer `{}` has neurons and no `spike_rate`",
                    e.name
                ));
            }
            if e.nonzero.is_some() || e.mean_level.is_some() {
                return Err(format!(
                    "layer `{}` gives its output's `nonzero` or `mean_level` without its `spike_rate`",
                    e.name
                ));
            }
            return Ok(());
        };
        let nonzero = e.nonzero.or(default_nonzero).ok_or_else(|| {
            format!(
                "layer `{}` has no `nonzero` value and the profile activity sets no default `nonzero`",
                e.name
            )
        })?;
        for (what, v) in [("spike_rate", rate), ("nonzero", nonzero)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "`{what}` of layer `{}` is {v}, outside [0, 1]",
                    e.name
                ));
            }
        }
        if let Some(l) = e.mean_level
            && !(l >= 1.0 && l.is_finite())
        {
            return Err(format!(
                "`mean_level` of layer `{}` is {l}: a non-zero activation is at least one spike",
                e.name
            ));
        }
        self.layers[i] = LayerRates {
            spike_rate: rate,
            nonzero,
        };
        self.explicit[i] = true;
        self.mean_levels[i] = e.mean_level;
        Ok(())
    }

    fn point(mut self, network: &Network, label: String, timesteps: Option<u32>) -> OperatingPoint {
        if let Some(row) = self.input_row {
            for (m, l) in self.inputs.iter_mut().zip(&network.layers) {
                if m.is_none() && l.sources.contains(&Source::Input) {
                    *m = Some(row);
                }
            }
        }
        let mut point = OperatingPoint {
            label,
            layers: self.layers,
            explicit: self.explicit,
            input: self.input,
            measured_timesteps: timesteps,
            mean_levels: self.mean_levels,
            inputs: Vec::new(),
            provenance: None,
        };
        if self.inputs.iter().any(Option::is_some) {
            point.set_measured_inputs(network, self.inputs);
        }
        point
    }
}

/// Checks a row's input columns: each in [0, 1], and none without the density it qualifies.
fn check_input_columns(e: &ProfileEntry) -> Result<(), String> {
    if e.input_columns_without_density() {
        return Err(format!(
            "layer `{}` gives input columns without `input_density`, the per-step density they go with",
            e.name
        ));
    }
    let values = [
        e.input_density,
        e.input_nonzero,
        e.synapse_density,
        e.synapse_nonzero,
    ];
    for (what, v) in INPUT_COLUMNS.iter().zip(values) {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Err(format!(
                "`{what}` of layer `{}` is {v}, outside [0, 1]",
                e.name
            ));
        }
    }
    Ok(())
}

/// The optional per-layer input columns of a profile, in file order.
const INPUT_COLUMNS: [&str; 4] = [
    "input_density",
    "input_nonzero",
    "synapse_density",
    "synapse_nonzero",
];

/// A profile file's content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Time steps the profile was measured at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timesteps: Option<u32>,
    /// Samples (images) the profile was measured on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Per-layer entries.
    pub layers: Vec<ProfileEntry>,
}

impl ProfileFile {
    /// Reads a `.json` or `.csv` profile.
    pub fn read(path: &Path) -> Result<Self, ActivityError> {
        let file_err = |line: Option<usize>, message: String| ActivityError::File {
            file: path.to_path_buf(),
            line,
            message,
        };
        let text = snnergy_files::read_to_string(path)
            .map_err(|e| file_err(None, format!("cannot read activity profile: {}", e.message)))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("json") => serde_json::from_str(&text).map_err(|e| {
                file_err(
                    Some(e.line()),
                    format!(
                        "not a valid profile ({e}); expected {{\"layers\": [{{\"name\", \"spike_rate\", \"nonzero\"}}]}}"
                    ),
                )
            }),
            Some("csv") => Self::parse_csv(&text).map_err(|(line, m)| file_err(line, m)),
            _ => Err(file_err(
                None,
                "unknown profile format: the file name must end in .json or .csv".into(),
            )),
        }
    }

    fn parse_csv(text: &str) -> Result<Self, (Option<usize>, String)> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| (Some(1), format!("cannot read the CSV header: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let layer = col("layer").ok_or((
            Some(1),
            "CSV profile needs a `layer` column (and `spike_rate`, optionally `nonzero`)"
                .to_string(),
        ))?;
        let rate = col("spike_rate").ok_or((
            Some(1),
            "CSV profile needs a `spike_rate` column".to_string(),
        ))?;
        let nonzero = col("nonzero");
        let level_col = col("mean_level");
        let timesteps_col = col("timesteps");
        let neurons_col = col("neurons");
        let spikes_col = col("spikes");
        let input_cols = INPUT_COLUMNS.map(col);
        let mut layers = Vec::new();
        let mut timesteps = None;
        for record in reader.records() {
            let record = record.map_err(|e| {
                (
                    e.position().map(|p| p.line() as usize),
                    format!("malformed CSV row: {e}"),
                )
            })?;
            let line = record.position().map(|p| p.line() as usize);
            let num = |i: usize, what: &str| -> Result<f64, (Option<usize>, String)> {
                let s = record.get(i).unwrap_or("");
                s.parse::<f64>()
                    .map_err(|_| (line, format!("`{what}` = `{s}` is not a number")))
            };
            let name = record.get(layer).unwrap_or("").to_string();
            if name.is_empty() {
                return Err((line, "empty layer name".into()));
            }
            // An empty cell is a value not given.
            let opt = |c: Option<usize>,
                       what: &str|
             -> Result<Option<f64>, (Option<usize>, String)> {
                match c {
                    Some(i) if !record.get(i).unwrap_or("").is_empty() => Ok(Some(num(i, what)?)),
                    _ => Ok(None),
                }
            };
            let nz = opt(nonzero, "nonzero")?;
            let mean_level = opt(level_col, "mean_level")?;
            let [
                input_density,
                input_nonzero,
                synapse_density,
                synapse_nonzero,
            ] = [0, 1, 2, 3].map(|k| opt(input_cols[k], INPUT_COLUMNS[k]));
            if let Some(i) = timesteps_col {
                timesteps =
                    Some(row_timesteps(num(i, "timesteps")?, timesteps).map_err(|m| (line, m))?);
            }
            let count =
                |c: Option<usize>, what: &str| -> Result<Option<u64>, (Option<usize>, String)> {
                    match c.map(|i| record.get(i).unwrap_or("")) {
                        None | Some("") => Ok(None),
                        Some(s) => s
                            .parse::<u64>()
                            .map(Some)
                            .map_err(|_| (line, format!("`{what}` = `{s}` is not a whole number"))),
                    }
                };
            layers.push(ProfileEntry {
                name,
                spike_rate: opt(Some(rate), "spike_rate")?,
                nonzero: nz,
                mean_level,
                line,
                neurons: count(neurons_col, "neurons")?,
                spikes: count(spikes_col, "spikes")?,
                step_rates: Vec::new(),
                levels: Vec::new(),
                input_density: input_density?,
                input_nonzero: input_nonzero?,
                synapse_density: synapse_density?,
                synapse_nonzero: synapse_nonzero?,
            });
        }
        Ok(Self {
            timesteps,
            samples: None,
            layers,
        })
    }

    /// Turns the file into an operating point for `network`, checking that every layer it
    /// names exists, every neuron layer has an entry, and every value lies in [0, 1].
    pub fn to_point(
        &self,
        network: &Network,
        path: &Path,
        default_nonzero: Option<f64>,
    ) -> Result<OperatingPoint, ActivityError> {
        let err = |line: Option<usize>, message: String| ActivityError::File {
            file: path.to_path_buf(),
            line,
            message,
        };
        let mut rows = Rows::new(network.layers.len());
        let mut seen = HashSet::new();
        for e in &self.layers {
            check_input_columns(e).map_err(|m| err(e.line, m))?;
            if e.name == "input" && network.layer_index("input").is_none() {
                rows.input(e).map_err(|m| err(e.line, m))?;
                continue;
            }
            let i = self.layer_of(network, e).map_err(|m| err(e.line, m))?;
            if !seen.insert(i) {
                return Err(err(e.line, format!("layer `{}` appears twice", e.name)));
            }
            rows.layer(i, e, network.layers[i].neuron, default_nonzero)
                .map_err(|m| err(e.line, m))?;
        }
        let missing: Vec<&str> = network
            .layers
            .iter()
            .enumerate()
            .filter(|(i, l)| l.neuron && !rows.explicit[*i])
            .map(|(_, l)| l.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(err(
                None,
                format!(
                    "profile has no entry for neuron layer(s) {} of workload `{}`",
                    missing.join(", "),
                    network.name
                ),
            ));
        }
        let label = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "profile".into());
        Ok(rows.point(network, label, self.timesteps))
    }

    /// Whether any row gives what arrives at its layer.
    pub fn has_measured_inputs(&self) -> bool {
        self.layers.iter().any(|e| e.input_density.is_some())
    }

    /// The index of the layer a row names, or the message naming what is wrong.
    fn layer_of(&self, network: &Network, e: &ProfileEntry) -> Result<usize, String> {
        network.layer_index(&e.name).ok_or_else(|| {
            let mut names: Vec<&str> = network
                .layers
                .iter()
                .filter(|l| l.neuron)
                .map(|l| l.name.as_str())
                .collect();
            names.truncate(8);
            format!(
                "profile names layer `{}`, which workload `{}` does not have (its neuron layers begin {})",
                e.name,
                network.name,
                names.join(", ")
            )
        })
    }

    /// Writes the profile as JSON or CSV according to the extension.
    pub fn write(&self, path: &Path) -> Result<(), ActivityError> {
        let err = |message: String| ActivityError::File {
            file: path.to_path_buf(),
            line: None,
            message,
        };
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => {
                // Measured profiles carry their counts and T as extra columns, which the
                // reader takes (timesteps) or ignores (neurons, spikes).
                let counts = self
                    .layers
                    .iter()
                    .any(|e| e.neurons.is_some() || e.spikes.is_some());
                let levels = self.layers.iter().any(|e| e.mean_level.is_some());
                let input_values = |e: &ProfileEntry| {
                    [
                        e.input_density,
                        e.input_nonzero,
                        e.synapse_density,
                        e.synapse_nonzero,
                    ]
                };
                let inputs: Vec<usize> = (0..INPUT_COLUMNS.len())
                    .filter(|&k| self.layers.iter().any(|e| input_values(e)[k].is_some()))
                    .collect();
                let mut header = vec!["layer", "spike_rate", "nonzero"];
                if levels {
                    header.push("mean_level");
                }
                if counts {
                    header.extend(["neurons", "spikes"]);
                }
                header.extend(inputs.iter().map(|&k| INPUT_COLUMNS[k]));
                if self.timesteps.is_some() {
                    header.push("timesteps");
                }
                let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
                let value = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                let mut w = csv::Writer::from_writer(Vec::new());
                let csv_err = |e: csv::Error| err(format!("cannot write the profile: {e}"));
                w.write_record(&header).map_err(csv_err)?;
                for e in &self.layers {
                    let mut row = vec![e.name.clone(), value(e.spike_rate), value(e.nonzero)];
                    if levels {
                        row.push(value(e.mean_level));
                    }
                    if counts {
                        row.extend([opt(e.neurons), opt(e.spikes)]);
                    }
                    row.extend(inputs.iter().map(|&k| value(input_values(e)[k])));
                    if let Some(t) = self.timesteps {
                        row.push(t.to_string());
                    }
                    w.write_record(&row).map_err(csv_err)?;
                }
                let bytes = w
                    .into_inner()
                    .map_err(|e| err(format!("cannot write the profile: {e}")))?;
                String::from_utf8(bytes).map_err(|e| err(e.to_string()))?
            }
            _ => serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))? + "\n",
        };
        snnergy_files::write(path, text.as_bytes())
            .map_err(|e| err(format!("cannot write the profile: {}", e.message)))
    }
}

impl Component for Profile {
    type Interface = dyn ActivitySource;
    type Config = Profile;
    const NAME: &'static str = "profile";
    const SUMMARY: &'static str = "per-layer spike rates and non-zero fractions from a JSON or CSV file (e.g. exported by the engine)";

    fn build(
        profile: Profile,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn ActivitySource>, ConfigError> {
        Ok(Box::new(profile))
    }
}

/// `path` with `{T}` replaced by `timesteps`, the way profile paths name one file per T.
pub fn expand_timesteps(path: &Path, timesteps: u32) -> PathBuf {
    PathBuf::from(
        path.to_string_lossy()
            .replace("{T}", &timesteps.to_string()),
    )
}

impl ActivitySource for Profile {
    fn operating_points(
        &self,
        network: &Network,
        ctx: &ActivityContext<'_>,
    ) -> Result<Vec<OperatingPoint>, ActivityError> {
        if let Some(nz) = self.nonzero
            && !(0.0..=1.0).contains(&nz)
        {
            return Err(ActivityError::Invalid(format!(
                "profile `nonzero` = {nz} is outside [0, 1]"
            )));
        }
        let path = resolve(ctx.base_dir, &expand_timesteps(&self.path, ctx.timesteps));
        let file = ProfileFile::read(&path)?;
        if let Some(t) = file.timesteps
            && t != ctx.timesteps
        {
            return Err(ActivityError::File {
                file: path,
                line: None,
                message: format!(
                    "the profile was measured at T = {t}, the analysis is at T = {}: rates measured at one T do not hold at another; measure at each T and name the file with `{{T}}` (e.g. `profile-T{{T}}.csv`)",
                    ctx.timesteps
                ),
            });
        }
        let point = file.to_point(network, &path, self.nonzero)?;
        if ctx.input_coding == InputCoding::Rate
            && !file.layers.iter().any(|e| e.name == "input")
            && network.layer_index("input").is_none()
        {
            return Err(ActivityError::File {
                file: path,
                line: None,
                message: "under rate coding the first layer is driven by the encoded input's spikes, and the profile has no `input` row giving their rate: add one (`input,<spike rate>,<non-zero fraction>`), or analyse with input_coding = \"direct\"".into(),
            });
        }
        Ok(vec![point])
    }

    fn depends_on_timesteps(&self) -> bool {
        self.path.to_string_lossy().contains("{T}")
    }

    fn assumptions(&self) -> Vec<Assumption> {
        vec![
            Assumption::new(
                "activity profile",
                self.path.display(),
                "per-layer spike rates and QNN non-zero fractions as measured",
            ),
            Assumption::new(
                "densities after pooling",
                "measured where the profile gives `input_density`, estimated elsewhere",
                "an estimate takes the inputs of a pooling window as independent, 1 − (1 − d)^k for k inputs, which over-estimates the density of spikes positively correlated in space, as in real feature maps; without a measurement a direct-coded image is taken as dense",
            ),
        ]
    }
}

/// Resolves `path` against `base` unless it is absolute, folding `dir/..` away as Cargo does
/// for manifest paths, so messages say `snnergy-out/x`, not `pipelines/../snnergy-out/x`.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    use std::path::Component;
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            // `/..` is `/`.
            Component::ParentDir if out.has_root() && out.parent().is_none() => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_base_without_detours() {
        let r = |b: &str, p: &str| resolve(Path::new(b), Path::new(p));
        assert_eq!(
            r("pipelines", "../snnergy-out/x"),
            Path::new("snnergy-out/x")
        );
        assert_eq!(
            r("pipelines", "./weights/w.st"),
            Path::new("pipelines/weights/w.st")
        );
        assert_eq!(r("pipelines", ".."), Path::new("."));
        assert_eq!(r("", "../x"), Path::new("../x"));
        assert_eq!(r("/a/b", "../../../x"), Path::new("/x"));
        assert_eq!(r("pipelines", "/abs/p"), Path::new("/abs/p"));
    }
}
