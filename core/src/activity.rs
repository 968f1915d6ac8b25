//! Spike activity: per-layer spike rates of the SNN and non-zero fractions of its quantized
//! baseline, from a uniform assumption or from a profile file (exported by snnergy's engine or
//! by a PyTorch script).
//!
//! Rates are recorded per layer *output* (what an engine measures: spikes of a layer's neurons
//! divided by neurons × T). A layer's *input* rate is its producers' output rate; layers
//! without neurons (pooling, the readout) pass their input rate through.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ActivityError;
use crate::network::{InputCoding, Network, Source};
use crate::traits::{ActivityContext, ActivitySource, Assumption};

/// Activity of one layer's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRates {
    /// SNN spikes per neuron per time step, in [0, 1].
    pub spike_rate: f64,
    /// Fraction of the QNN baseline's outputs that are non-zero, in [0, 1].
    pub nonzero: f64,
}

/// One activity setting to analyse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// Label shown in reports (`uniform`, the profile's file name, …).
    pub label: String,
    /// Rates per layer, in network order. Entries of layers without neurons are ignored
    /// unless `explicit` marks them as measured.
    pub layers: Vec<LayerRates>,
    /// Which entries were given (the rest pass their input's rate through).
    pub explicit: Vec<bool>,
    /// The encoded input under rate coding: its spike rate, and the non-zero fraction of the
    /// baseline's quantized input. Ignored under direct coding (the image is dense).
    pub input: LayerRates,
    /// Time steps the rates were measured at, if they were measured.
    pub measured_timesteps: Option<u32>,
}

impl OperatingPoint {
    /// The same rate `r` and non-zero fraction `nonzero` at every layer and at the input.
    pub fn uniform(network: &Network, r: f64, nonzero: f64) -> Self {
        let rates = LayerRates {
            spike_rate: r,
            nonzero,
        };
        Self {
            label: "uniform".into(),
            layers: vec![rates; network.layers.len()],
            explicit: network.layers.iter().map(|l| l.neuron).collect(),
            // Under rate coding the encoded input fires at the same rate as every layer.
            input: rates,
            measured_timesteps: None,
        }
    }

    /// Checks every rate lies in [0, 1] and the point matches the network.
    pub fn validate(&self, network: &Network) -> Result<(), ActivityError> {
        if self.layers.len() != network.layers.len() || self.explicit.len() != self.layers.len() {
            return Err(ActivityError::Invalid(format!(
                "operating point `{}` has {} layer entries, network `{}` has {} layers",
                self.label,
                self.layers.len(),
                network.name,
                network.layers.len()
            )));
        }
        let check = |what: &str, name: &str, v: f64| {
            if !(0.0..=1.0).contains(&v) {
                Err(ActivityError::Invalid(format!(
                    "{what} of `{name}` in `{}` is {v}, outside [0, 1]",
                    self.label
                )))
            } else {
                Ok(())
            }
        };
        check("input spike rate", "<input>", self.input.spike_rate)?;
        check("input non-zero fraction", "<input>", self.input.nonzero)?;
        for ((l, r), e) in network.layers.iter().zip(&self.layers).zip(&self.explicit) {
            if *e {
                check("spike_rate", &l.name, r.spike_rate)?;
                check("nonzero", &l.name, r.nonzero)?;
            }
        }
        Ok(())
    }

    /// Mean spike rate over neuron layers, weighted by neurons: the number reports call "the"
    /// spike rate of the network.
    pub fn mean_spike_rate(&self, network: &Network) -> f64 {
        weighted_mean(network, &self.layers, |r| r.spike_rate)
    }

    /// Mean non-zero fraction over neuron layers, weighted by neurons.
    pub fn mean_nonzero(&self, network: &Network) -> f64 {
        weighted_mean(network, &self.layers, |r| r.nonzero)
    }

    /// This point with every spike rate multiplied by `alpha` and clamped to 1 (non-zero
    /// fractions unchanged): the one-parameter family break-even search walks along. The
    /// encoded input's rate scales with the layers', so under rate coding the first layer's
    /// work follows the family too.
    pub fn scaled(&self, alpha: f64) -> OperatingPoint {
        let mut p = self.clone();
        for r in &mut p.layers {
            r.spike_rate = (r.spike_rate * alpha).min(1.0);
        }
        p.input.spike_rate = (p.input.spike_rate * alpha).min(1.0);
        p
    }
}

fn weighted_mean(network: &Network, rates: &[LayerRates], f: impl Fn(&LayerRates) -> f64) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for (l, r) in network.layers.iter().zip(rates) {
        if l.neuron {
            let w = l.neurons() as f64;
            sum += w * f(r);
            n += w;
        }
    }
    if n > 0.0 { sum / n } else { 0.0 }
}

/// What an architecture needs to know about activity at one layer.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct LayerActivity {
    /// SNN spikes per input element per time step arriving at the layer.
    pub input_rate: f64,
    /// Fraction of the QNN's input values that are non-zero.
    pub input_nonzero: f64,
    /// SNN spikes per output neuron per time step.
    pub output_rate: f64,
    /// Fraction of the QNN's outputs that are non-zero.
    pub output_nonzero: f64,
    /// The SNN layer receives analog values rather than spikes (direct input coding at the
    /// first layer): its synaptic work is multiply-accumulate every time step.
    pub analog_input: bool,
}

/// Resolves an operating point into per-layer input and output activity along the network's
/// wiring.
pub fn layer_activities(
    network: &Network,
    point: &OperatingPoint,
    coding: InputCoding,
) -> Vec<LayerActivity> {
    let mut out: Vec<LayerActivity> = Vec::with_capacity(network.layers.len());
    layer_activities_into(network, point, coding, &mut out);
    out
}

/// Like [`layer_activities`], reusing `out`'s allocation (hot path of sweeps).
pub fn layer_activities_into(
    network: &Network,
    point: &OperatingPoint,
    coding: InputCoding,
    out: &mut Vec<LayerActivity>,
) {
    out.clear();
    let input = point.input;
    for (i, layer) in network.layers.iter().enumerate() {
        let (mut rate, mut nonzero, mut analog) = (0.0, 0.0, false);
        for s in &layer.sources {
            match *s {
                // A direct-coded input is the analog image itself: dense, every step.
                Source::Input if coding == InputCoding::Direct => {
                    rate += 1.0;
                    nonzero += 1.0;
                    analog = true;
                }
                Source::Input => {
                    rate += input.spike_rate;
                    nonzero += input.nonzero;
                }
                Source::Layer(j) => {
                    let a: &LayerActivity = &out[j];
                    rate += a.output_rate;
                    nonzero += a.output_nonzero;
                }
            }
        }
        let k = layer.sources.len().max(1) as f64;
        let (input_rate, input_nonzero) = (rate / k, nonzero / k);
        let (output_rate, output_nonzero) = if layer.neuron || point.explicit[i] {
            (point.layers[i].spike_rate, point.layers[i].nonzero)
        } else {
            (input_rate, input_nonzero)
        };
        out.push(LayerActivity {
            input_rate,
            input_nonzero,
            output_rate,
            output_nonzero,
            analog_input: analog,
        });
    }
}

fn default_nonzero() -> f64 {
    0.45
}

/// `uniform`: the same spike rate at every layer, for each rate listed, with the baseline's
/// non-zero fraction held fixed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uniform {
    /// Spike rates to analyse (spikes per neuron per step). Give this or `sparsity`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spike_rates: Vec<f64>,
    /// Sparsities to analyse (1 − spike rate). Give this or `spike_rates`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparsity: Vec<f64>,
    /// Non-zero fraction of the baseline's activations, held fixed across spike rates.
    #[serde(default = "default_nonzero")]
    pub nonzero: f64,
}

impl Default for Uniform {
    fn default() -> Self {
        Self {
            spike_rates: vec![0.05, 0.1],
            sparsity: Vec::new(),
            nonzero: default_nonzero(),
        }
    }
}

impl Uniform {
    /// Validates and returns the spike rates; errors name the offending key.
    pub fn checked_rates(&self) -> Result<Vec<f64>, crate::error::ConfigError> {
        use crate::error::ConfigError;
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
        if !(0.0..=1.0).contains(&self.nonzero) {
            return Err(
                ConfigError::new(format!("{} is outside [0, 1]", self.nonzero)).at_key("nonzero"),
            );
        }
        Ok(if key == "sparsity" {
            given.iter().map(|s| 1.0 - s).collect()
        } else {
            given.clone()
        })
    }
}

impl ActivitySource for Uniform {
    fn operating_points(
        &self,
        network: &Network,
        _ctx: &ActivityContext<'_>,
    ) -> Result<Vec<OperatingPoint>, ActivityError> {
        Ok(self
            .checked_rates()
            .map_err(|e| ActivityError::Invalid(e.to_string()))?
            .into_iter()
            .map(|r| OperatingPoint::uniform(network, r, self.nonzero))
            .collect())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        vec![Assumption::new(
            "baseline non-zero fraction ρ",
            self.nonzero,
            "held fixed across spike rates (stated, not measured); the twin bound r ≤ ρ ≤ min(1, r·T) is checked and reported, not imposed",
        )]
    }
}

/// `profile`: per-layer rates read from a JSON or CSV file.
///
/// JSON: `{"timesteps": 6, "layers": [{"name": "features.0", "spike_rate": 0.12, "nonzero": 0.41}, …]}`.
/// CSV: a header with at least `layer` and `spike_rate` (and optionally `nonzero`); other
/// columns (neurons, spikes, …) are ignored. A row named `input` gives the encoded input's
/// rate under rate coding (default: dense).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile file, relative to the pipeline file.
    pub path: PathBuf,
    /// Non-zero fraction for layers whose entry has none.
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
pub struct ProfileEntry {
    /// Layer name as in the workload.
    pub name: String,
    /// Spikes per neuron per step.
    pub spike_rate: f64,
    /// QNN non-zero fraction, if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonzero: Option<f64>,
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
}

/// A profile file's content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| file_err(None, format!("cannot read activity profile: {e}")))?;
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
        let timesteps_col = col("timesteps");
        let neurons_col = col("neurons");
        let spikes_col = col("spikes");
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
            let nz = match nonzero {
                Some(i) if !record.get(i).unwrap_or("").is_empty() => Some(num(i, "nonzero")?),
                _ => None,
            };
            if let Some(i) = timesteps_col {
                let t = num(i, "timesteps")?;
                timesteps = Some(t as u32);
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
                spike_rate: num(rate, "spike_rate")?,
                nonzero: nz,
                line,
                neurons: count(neurons_col, "neurons")?,
                spikes: count(spikes_col, "spikes")?,
                step_rates: Vec::new(),
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
        let mut layers = vec![
            LayerRates {
                spike_rate: 0.0,
                nonzero: 0.0
            };
            network.layers.len()
        ];
        let mut explicit = vec![false; network.layers.len()];
        let mut seen = HashSet::new();
        let mut input = LayerRates {
            spike_rate: 1.0,
            nonzero: 1.0,
        };
        for e in &self.layers {
            if e.name == "input" && network.layer_index("input").is_none() {
                input = LayerRates {
                    spike_rate: e.spike_rate,
                    nonzero: e.nonzero.unwrap_or(1.0),
                };
                for (what, v) in [("spike_rate", input.spike_rate), ("nonzero", input.nonzero)] {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(err(
                            e.line,
                            format!("`{what}` of the input is {v}, outside [0, 1]"),
                        ));
                    }
                }
                continue;
            }
            let Some(i) = network.layer_index(&e.name) else {
                let mut names: Vec<&str> = network
                    .layers
                    .iter()
                    .filter(|l| l.neuron)
                    .map(|l| l.name.as_str())
                    .collect();
                names.truncate(8);
                return Err(err(
                    e.line,
                    format!(
                        "profile names layer `{}`, which workload `{}` does not have (its neuron layers begin {})",
                        e.name,
                        network.name,
                        names.join(", ")
                    ),
                ));
            };
            if !seen.insert(i) {
                return Err(err(e.line, format!("layer `{}` appears twice", e.name)));
            }
            let nonzero = e.nonzero.or(default_nonzero).ok_or_else(|| {
                err(
                    e.line,
                    format!(
                        "layer `{}` has no `nonzero` value and the profile activity sets no default `nonzero`",
                        e.name
                    ),
                )
            })?;
            for (what, v) in [("spike_rate", e.spike_rate), ("nonzero", nonzero)] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(err(
                        e.line,
                        format!("`{what}` of layer `{}` is {v}, outside [0, 1]", e.name),
                    ));
                }
            }
            layers[i] = LayerRates {
                spike_rate: e.spike_rate,
                nonzero,
            };
            explicit[i] = true;
        }
        let missing: Vec<&str> = network
            .layers
            .iter()
            .enumerate()
            .filter(|(i, l)| l.neuron && !explicit[*i])
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
        Ok(OperatingPoint {
            label: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "profile".into()),
            layers,
            explicit,
            input,
            measured_timesteps: self.timesteps,
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
                let mut s = String::from("layer,spike_rate,nonzero");
                if counts {
                    s.push_str(",neurons,spikes");
                }
                if self.timesteps.is_some() {
                    s.push_str(",timesteps");
                }
                s.push('\n');
                let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
                for e in &self.layers {
                    let nz = e.nonzero.map(|v| v.to_string()).unwrap_or_default();
                    s.push_str(&format!("{},{},{}", e.name, e.spike_rate, nz));
                    if counts {
                        s.push_str(&format!(",{},{}", opt(e.neurons), opt(e.spikes)));
                    }
                    if let Some(t) = self.timesteps {
                        s.push_str(&format!(",{t}"));
                    }
                    s.push('\n');
                }
                s
            }
            _ => serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))? + "\n",
        };
        std::fs::write(path, text).map_err(|e| err(format!("cannot write profile: {e}")))
    }
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
        let path = resolve(ctx.base_dir, &self.path);
        let file = ProfileFile::read(&path)?;
        if let Some(t) = file.timesteps
            && t != ctx.timesteps
        {
            tracing::warn!(
                profile = %path.display(),
                measured = t,
                analysed = ctx.timesteps,
                "profile was measured at a different number of time steps"
            );
        }
        Ok(vec![file.to_point(network, &path, self.nonzero)?])
    }

    fn assumptions(&self) -> Vec<Assumption> {
        vec![Assumption::new(
            "activity profile",
            self.path.display(),
            "per-layer spike rates and QNN non-zero fractions as measured",
        )]
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
    use crate::network::{NetworkBuilder, Shape};

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

    #[test]
    fn scaling_a_point_scales_the_rate_coded_input_with_the_layers() {
        let mut b = NetworkBuilder::new("n", Shape::new(3, 8, 8));
        b.conv("c", 4, 3, 1, 1, false, None, true).unwrap();
        let net = b.finish().unwrap();
        let p = OperatingPoint::uniform(&net, 0.2, 0.45).scaled(2.0);
        assert_eq!(p.layers[0].spike_rate, 0.4);
        assert_eq!(p.input.spike_rate, 0.4);
        assert_eq!(p.input.nonzero, 0.45);
        assert_eq!(
            OperatingPoint::uniform(&net, 0.8, 0.45)
                .scaled(2.0)
                .input
                .spike_rate,
            1.0
        );
    }
}
