//! Running a compiled network over a data set: batches, rayon over chunks of each batch,
//! progress, and the measurement that becomes an activity profile.
//!
//! Progress is a `tracing` event per batch under the target [`PROGRESS_TARGET`] (fields
//! `done` and `total`, images), so a program shows it as it likes and a library draws nothing.

use std::time::Instant;

use rayon::prelude::*;
use snnergy_analysis::{ProfileEntry, ProfileFile};

use crate::data::Dataset;
use crate::error::{EngineError, Result};
use crate::model::Compiled;
use crate::sim::{ChunkCounts, Coding, SnnConfig, simulate};

/// Per-layer result of a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerMeasurement {
    /// Layer name.
    pub name: String,
    /// Neurons per image.
    pub neurons: u64,
    /// SNN spikes over all images and steps.
    pub spikes: u64,
    /// Spikes / (neurons × images × T).
    pub spike_rate: f64,
    /// Fraction of the QNN twin's outputs that are zero.
    pub twin_zero_fraction: f64,
    /// Spikes an exact conversion would emit (Σ T × twin output).
    pub twin_spikes: u64,
    /// The twin's outputs per image by level 0..=T, over all images.
    #[serde(default)]
    pub twin_levels: Vec<u64>,
    /// Mean level of the twin's non-zero outputs (twin spikes per non-zero output), if any
    /// is non-zero.
    #[serde(default)]
    pub twin_mean_level: Option<f64>,
    /// Mean |SNN spikes − T × twin output| per neuron.
    pub mean_abs_deviation: f64,
    /// Fraction of neurons whose count differs from T × twin output.
    pub fraction_differing: f64,
    /// Spike rate per time step (when recorded).
    pub step_rates: Vec<f64>,
    /// Share of this layer's evaluations that took the event-driven path (none for layers
    /// without synaptic weights, e.g. a residual add).
    pub sparse_share: Option<f64>,
}

/// What reached one layer with weights, after pooling, residual adds and reshaping.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputMeasurement {
    /// Layer name.
    pub name: String,
    /// Whether the layer has neurons (the readout has none).
    pub neuron: bool,
    /// Input values per image.
    pub elements: u64,
    /// SNN: fraction of the input values non-zero, per step (events per input element per
    /// step where they are spikes; the image's non-zero pixels under direct coding).
    pub density: f64,
    /// SNN: fraction of the input values non-zero in at least one of the T steps (1 − the
    /// fraction silent in all T steps).
    pub active: f64,
    /// SNN: fraction of the layer's synapses fed a non-zero value, per step.
    pub synapse_density: f64,
    /// The QNN twin: fraction of its input values that are non-zero.
    pub twin_nonzero: f64,
    /// The twin: fraction of the layer's synapses fed a non-zero value.
    pub twin_synapse_nonzero: f64,
}

/// What a run measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measurement {
    /// Network name.
    pub network: String,
    /// Images simulated.
    pub images: u64,
    /// Time steps.
    pub timesteps: u32,
    /// Layers with neurons, in network order.
    pub layers: Vec<LayerMeasurement>,
    /// Layers with weights, in network order: what reached them.
    #[serde(default)]
    pub inputs: Vec<InputMeasurement>,
    /// Input spike rate under rate coding.
    pub input_rate: Option<f64>,
    /// Fraction of images the SNN and its twin classify alike.
    pub top1_agreement: f64,
    /// SNN accuracy (if labels were given).
    pub snn_accuracy: f64,
    /// Twin accuracy.
    pub twin_accuracy: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Measurement {
    /// Builds the measurement from summed counts.
    pub fn from_counts(net: &Compiled, counts: &ChunkCounts, cfg: &SnnConfig) -> Self {
        let images = counts.images.max(1) as f64;
        let t = cfg.timesteps as f64;
        let layers = net
            .network
            .layers
            .iter()
            .zip(&counts.layers)
            .filter(|(l, _)| l.neuron)
            .map(|(l, c)| {
                let neurons = l.neurons();
                let total = neurons as f64 * images;
                LayerMeasurement {
                    name: l.name.clone(),
                    neurons,
                    spikes: c.spikes,
                    spike_rate: c.spikes as f64 / (total * t),
                    twin_zero_fraction: 1.0 - c.twin_nonzero as f64 / total,
                    twin_spikes: c.twin_spikes,
                    twin_levels: c.twin_levels.clone(),
                    twin_mean_level: (c.twin_nonzero > 0)
                        .then(|| c.twin_spikes as f64 / c.twin_nonzero as f64),
                    mean_abs_deviation: c.abs_deviation as f64 / total,
                    fraction_differing: c.neurons_differing as f64 / total,
                    step_rates: c.step_spikes.iter().map(|s| *s as f64 / total).collect(),
                    sparse_share: (c.sparse_calls + c.dense_calls > 0)
                        .then(|| c.sparse_calls as f64 / (c.sparse_calls + c.dense_calls) as f64),
                }
            })
            .collect();
        let input_rate = (cfg.coding == Coding::Rate)
            .then(|| counts.input_spikes as f64 / (net.network.input.numel() as f64 * images * t));
        let inputs = net
            .network
            .layers
            .iter()
            .zip(&counts.layers)
            .filter(|(l, _)| l.is_weighted())
            .map(|(l, c)| {
                let c = &c.inputs;
                let values = c.elements.max(1) as f64 * images;
                let synapses = c.synapses.max(1) as f64 * images;
                InputMeasurement {
                    name: l.name.clone(),
                    neuron: l.neuron,
                    elements: c.elements,
                    density: c.nonzero as f64 / (values * t),
                    active: c.active as f64 / values,
                    synapse_density: c.taps as f64 / (synapses * t),
                    twin_nonzero: c.twin_nonzero as f64 / values,
                    twin_synapse_nonzero: c.twin_taps as f64 / synapses,
                }
            })
            .collect();
        Self {
            network: net.network.name.clone(),
            images: counts.images,
            timesteps: cfg.timesteps,
            layers,
            inputs,
            input_rate,
            top1_agreement: counts.agree as f64 / images,
            snn_accuracy: counts.snn_correct as f64 / images,
            twin_accuracy: counts.twin_correct as f64 / images,
            seconds: 0.0,
        }
    }

    /// The activity profile: per layer with neurons its spike rate and the twin's non-zero
    /// fraction, per layer with weights what reached it (the readout's in a row of its own),
    /// and, under rate coding, an `input` row.
    pub fn to_profile(&self) -> ProfileFile {
        let mut layers = Vec::new();
        if let Some(r) = self.input_rate {
            layers.push(ProfileEntry {
                name: "input".into(),
                spike_rate: Some(r),
                ..ProfileEntry::default()
            });
        }
        let input_of = |e: &mut ProfileEntry, m: &InputMeasurement| {
            e.input_density = Some(m.density);
            e.input_nonzero = Some(m.twin_nonzero);
            e.synapse_density = Some(m.synapse_density);
            e.synapse_nonzero = Some(m.twin_synapse_nonzero);
        };
        for l in &self.layers {
            let mut e = ProfileEntry {
                name: l.name.clone(),
                spike_rate: Some(l.spike_rate),
                nonzero: Some(1.0 - l.twin_zero_fraction),
                mean_level: l.twin_mean_level,
                neurons: Some(l.neurons),
                spikes: Some(l.spikes),
                step_rates: l.step_rates.clone(),
                levels: l.twin_levels.clone(),
                ..ProfileEntry::default()
            };
            if let Some(m) = self.inputs.iter().find(|m| m.name == l.name) {
                input_of(&mut e, m);
            }
            layers.push(e);
        }
        for m in self.inputs.iter().filter(|m| !m.neuron) {
            let mut e = ProfileEntry {
                name: m.name.clone(),
                ..ProfileEntry::default()
            };
            input_of(&mut e, m);
            layers.push(e);
        }
        ProfileFile {
            timesteps: Some(self.timesteps),
            samples: Some(self.images),
            layers,
        }
    }

    /// Mean spike rate over layers with neurons, weighted by neurons.
    pub fn mean_spike_rate(&self) -> f64 {
        let n: f64 = self.layers.iter().map(|l| l.neurons as f64).sum();
        let s: f64 = self
            .layers
            .iter()
            .map(|l| l.spike_rate * l.neurons as f64)
            .sum();
        if n > 0.0 { s / n } else { 0.0 }
    }

    /// Fraction of the twin's activations that are non-zero, over all neurons: what a
    /// zero-skipping QNN pays for, as the spike rate is what the SNN pays for.
    pub fn mean_twin_nonzero(&self) -> f64 {
        let n: f64 = self.layers.iter().map(|l| l.neurons as f64).sum();
        let s: f64 = self
            .layers
            .iter()
            .map(|l| (1.0 - l.twin_zero_fraction) * l.neurons as f64)
            .sum();
        if n > 0.0 { s / n } else { 0.0 }
    }
}

/// The `tracing` target of progress events.
pub const PROGRESS_TARGET: &str = "snnergy::progress";

/// How a data set is run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunOptions {
    /// Images to simulate (the first ones of the data set); 0 = all.
    pub samples: usize,
    /// Images per batch.
    pub batch: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            samples: 0,
            batch: 64,
        }
    }
}

/// The most time steps the engine simulates: every step of every image costs a pass over the
/// network, and per-step records grow with T.
pub const MAX_TIMESTEPS: u32 = 10_000;

/// The largest batch: a batch's activations are held at once for every layer.
pub const MAX_BATCH: usize = 65_536;

/// Checks settings shared by every run.
pub fn validate(cfg: &SnnConfig) -> Result<()> {
    if cfg.timesteps == 0 {
        return Err(EngineError::Invalid(
            "T = 0: an SNN needs at least one time step".into(),
        ));
    }
    if cfg.timesteps > MAX_TIMESTEPS {
        return Err(EngineError::Invalid(format!(
            "T = {}: the engine simulates at most {MAX_TIMESTEPS} time steps",
            cfg.timesteps
        )));
    }
    if !(cfg.threshold.is_finite() && cfg.threshold > 0.0) {
        return Err(EngineError::Invalid(format!(
            "threshold θ = {} must be a positive number",
            cfg.threshold
        )));
    }
    if !(cfg.leak > 0.0 && cfg.leak <= 1.0) {
        return Err(EngineError::Invalid(format!(
            "leak = {} is outside (0, 1]",
            cfg.leak
        )));
    }
    if !(0.0..1.0).contains(&cfg.shift) {
        return Err(EngineError::Invalid(format!(
            "shift = {} is outside [0, 1) (0: the paper's Q_T, 0.5: QCFS)",
            cfg.shift
        )));
    }
    if !(0.0..=1.0).contains(&cfg.sparse_below) {
        return Err(EngineError::Invalid(format!(
            "sparse_below = {} is outside [0, 1]",
            cfg.sparse_below
        )));
    }
    Ok(())
}

/// Simulates images given as f32 NCHW (`x.len()` = images × input size), checking values:
/// NaN or infinity is refused; rate coding needs values in [0, 1]. Runs chunks of the batch
/// in parallel.
pub fn run_images(
    net: &Compiled,
    x: &[f32],
    labels: &[u8],
    first_index: u64,
    cfg: &SnnConfig,
) -> Result<ChunkCounts> {
    validate(cfg)?;
    let len = net.network.input.numel() as usize;
    if x.is_empty() {
        return Err(EngineError::Invalid("no images to simulate".into()));
    }
    if !x.len().is_multiple_of(len) {
        return Err(EngineError::Invalid(format!(
            "{} input values are not a whole number of {} images",
            x.len(),
            net.network.input
        )));
    }
    let n = x.len() / len;
    if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EngineError::Invalid(format!(
            "input image {} holds a non-finite value ({v}) at position {}",
            first_index + (i / len) as u64,
            i % len
        )));
    }
    if cfg.coding == Coding::Rate
        && let Some((i, v)) = x
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(EngineError::Invalid(format!(
            "rate coding needs inputs in [0, 1] (firing probabilities), image {} has {v}: turn normalization off",
            first_index + (i / len) as u64
        )));
    }
    let threads = rayon::current_num_threads().max(1);
    let chunk = n.div_ceil(threads);
    let parts: Vec<ChunkCounts> = x
        .par_chunks(chunk * len)
        .enumerate()
        .map(|(k, xs)| {
            let m = xs.len() / len;
            let lo = (k * chunk).min(labels.len());
            let hi = (k * chunk + m).min(labels.len());
            let sim = simulate(
                net,
                xs,
                m,
                &labels[lo..hi],
                first_index + (k * chunk) as u64,
                cfg,
            );
            let counts = sim.counts.clone();
            sim.recycle();
            counts
        })
        .collect();
    let mut total = ChunkCounts::default();
    for p in &parts {
        total.merge(p);
    }
    Ok(total)
}

/// Runs the SNN and its twin over (the first `samples` images of) a data set.
pub fn run_dataset(
    net: &Compiled,
    data: &Dataset,
    cfg: &SnnConfig,
    opts: &RunOptions,
) -> Result<Measurement> {
    validate(cfg)?;
    if !cfg.twin {
        return Err(EngineError::Invalid(
            "a measurement needs the QNN twin (its zero fractions and the agreement)".into(),
        ));
    }
    let [c, h, w] = data.shape;
    let input = net.network.input;
    if [input.c as usize, input.h as usize, input.w as usize] != data.shape {
        return Err(EngineError::Invalid(format!(
            "network `{}` takes {input} inputs, the data set {} holds {c}×{h}×{w} images",
            net.network.name,
            data.source.display()
        )));
    }
    if data.is_empty() {
        return Err(EngineError::DataFile {
            file: data.source.clone(),
            message: "the data set holds no images".into(),
        });
    }
    if opts.batch == 0 {
        return Err(EngineError::Invalid("batch size 0".into()));
    }
    let n = if opts.samples == 0 {
        data.len()
    } else {
        opts.samples.min(data.len())
    };
    if opts.samples > data.len() {
        tracing::warn!(
            "{} samples requested, the data set {} holds {}",
            opts.samples,
            data.source.display(),
            data.len()
        );
    }
    let what = format!("{} T={}", net.network.name, cfg.timesteps);
    tracing::trace!(target: PROGRESS_TARGET, done = 0u64, total = n as u64, "{what}");
    let start = Instant::now();
    let mut total = ChunkCounts::default();
    let mut b0 = 0;
    while b0 < n {
        let b1 = (b0 + opts.batch).min(n);
        let x = data.batch(b0..b1);
        let counts = run_images(net, &x, &data.labels[b0..b1], b0 as u64, cfg)?;
        total.merge(&counts);
        tracing::trace!(target: PROGRESS_TARGET, done = b1 as u64, total = n as u64, "{what}");
        b0 = b1;
    }
    let mut m = Measurement::from_counts(net, &total, cfg);
    m.seconds = start.elapsed().as_secs_f64();
    Ok(m)
}
