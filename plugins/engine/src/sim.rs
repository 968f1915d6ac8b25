//! The QNN twin and the time-stepped SNN over one chunk of images.
//!
//! The twin applies Q(z) = ⌊clamp(T·z/θ + φ, 0, T)⌋ / T after every layer with a neuron: with
//! θ = 1 and φ = 0 this is Q_T of Yan et al. (Eq. 2); with the SNN's θ it is exactly what an IF
//! neuron with that threshold, reset by subtraction and membrane starting at φ·θ computes from
//! a constant input z in T steps (⌊T·z/θ + φ⌋ spikes, each worth 1). φ = 1/2 is the
//! quantization-clip-floor-shift (QCFS) quantizer of Bu et al. (ICLR 2022): its half step
//! centres each neuron's spikes in the time window, so deeper layers, whose inputs arrive as
//! spike trains rather than as a constant current, match the twin in expectation. The SNN runs step by step: at step t every layer, in
//! order, takes the spikes its sources emitted at step t, so a spike crosses the whole
//! network within the step it was emitted in, as on neuromorphic hardware.

use serde::{Deserialize, Serialize};
use snnergy_core::{Layer, LayerKind, Neuron, Source};

use crate::inputs::{FanOut, InputCounts, count_snn, count_spike_counts, count_twin};
use crate::model::{Compiled, Op};
use std::cell::RefCell;

use crate::ops::{self, Scratch};
use crate::rng::SplitMix64;

/// The neuron model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NeuronKind {
    /// Integrate-and-fire: no leak.
    #[default]
    If,
    /// Leaky integrate-and-fire: the membrane keeps a fraction `leak` of its value per step.
    Lif,
}

/// What a spike does to the membrane (snnergy-core's, so a network's layers can name it).
pub use snnergy_core::Reset;

/// How the image enters the SNN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Coding {
    /// The analog image drives the first layer at every step (the paper's code).
    #[default]
    Direct,
    /// Each pixel p ∈ [0, 1] fires with probability p at every step (seeded Bernoulli).
    Rate,
}

/// How the class is read from the output layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// The output layer integrates without firing; the class with the largest membrane wins.
    #[default]
    Membrane,
    /// The output layer fires (IF with the same threshold); most spikes wins, ties broken by
    /// the integrated input.
    SpikeCount,
}

/// Which synaptic kernel a layer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PathChoice {
    /// Event-driven when the layer's input density is at most `sparse_below`, dense otherwise.
    #[default]
    Auto,
    /// Always im2col + GEMM.
    Dense,
    /// Always event-driven.
    Sparse,
}

/// Settings of an SNN run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnnConfig {
    /// Time steps T.
    pub timesteps: u32,
    /// Firing threshold θ.
    pub threshold: f32,
    /// Neuron model.
    pub neuron: NeuronKind,
    /// Membrane fraction kept per step (LIF only).
    pub leak: f32,
    /// Reset.
    pub reset: Reset,
    /// Input coding.
    pub coding: Coding,
    /// Readout.
    pub readout: Readout,
    /// Kernel choice.
    pub path: PathChoice,
    /// Input density at or below which `auto` takes the event-driven path.
    pub sparse_below: f32,
    /// Seed of the rate coder.
    pub seed: u64,
    /// Record spikes per time step.
    pub step_rates: bool,
    /// Run the QNN twin alongside (its zero fractions, the deviation and the agreement). Off
    /// only for speed measurements of the SNN alone: the twin statistics are then zero.
    pub twin: bool,
    /// Quantizer shift φ ∈ [0, 1): membranes start at φ·θ and the twin quantizes
    /// ⌊T·z/θ + φ⌋. 0 is the paper's Q_T; 0.5 the QCFS quantizer (the network must have been
    /// trained with the same φ).
    pub shift: f32,
}

/// The paper's threshold: just below 1, so T·x/θ lands on ⌊T·x⌋ even when repeated f32
/// addition leaves a membrane a hair below an integer level.
pub const DEFAULT_THRESHOLD: f64 = 0.9999;

/// Input density at or below which `auto` takes the event-driven path. Measured with
/// `cargo run --release -p snnergy-engine --example crossover` (one thread, the bench
/// network's convolutions, binary and pooled inputs): the event-driven kernel is the faster
/// one up to 0.30 on the 32→32-channel 28×28 layer and up to 0.45–0.5 on the 64- and
/// 128-channel ones. At 0.35 the narrow layer runs event-driven at most 8 % slower than
/// dense, and the wider ones run dense between 0.35 and 0.5 at up to a third more than
/// event-driven would; on the whole bench network 0.35 ran fastest of 0.25–0.55.
pub const DEFAULT_SPARSE_BELOW: f64 = 0.35;

impl Default for SnnConfig {
    fn default() -> Self {
        Self {
            timesteps: 6,
            threshold: DEFAULT_THRESHOLD as f32,
            neuron: NeuronKind::If,
            leak: 1.0,
            reset: Reset::Subtract,
            coding: Coding::Direct,
            readout: Readout::Membrane,
            path: PathChoice::Auto,
            sparse_below: DEFAULT_SPARSE_BELOW as f32,
            seed: 0,
            step_rates: false,
            twin: true,
            shift: 0.0,
        }
    }
}

/// Spike statistics of one layer, summed over images.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerCounts {
    /// SNN spikes.
    pub spikes: u64,
    /// SNN spikes per time step (when recorded).
    pub step_spikes: Vec<u64>,
    /// Non-zero outputs of the QNN twin.
    pub twin_nonzero: u64,
    /// Σ over neurons of T × the twin's output: the spikes an exact conversion would emit.
    pub twin_spikes: u64,
    /// The twin's outputs by level 0..=T (its level histogram): the mean level of the
    /// non-zero ones is what ties the twin's non-zero fraction to the SNN's spike rate.
    pub twin_levels: Vec<u64>,
    /// Σ over neurons of |SNN spikes − T × twin output|.
    pub abs_deviation: u64,
    /// Neurons whose spike count differs from T × twin output.
    pub neurons_differing: u64,
    /// Layer evaluations on the event-driven path.
    pub sparse_calls: u64,
    /// Layer evaluations on the dense path.
    pub dense_calls: u64,
    /// What reached the layer, for a layer with weights (after pooling, adds, reshaping).
    pub inputs: InputCounts,
}

/// What one chunk of images produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChunkCounts {
    /// Images.
    pub images: u64,
    /// Per layer, in network order (all zero for layers without neurons).
    pub layers: Vec<LayerCounts>,
    /// Input spikes under rate coding.
    pub input_spikes: u64,
    /// Images whose SNN class equals the twin's.
    pub agree: u64,
    /// Images the SNN classifies correctly.
    pub snn_correct: u64,
    /// Images the twin classifies correctly.
    pub twin_correct: u64,
}

impl ChunkCounts {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &ChunkCounts) {
        self.images += other.images;
        self.input_spikes += other.input_spikes;
        self.agree += other.agree;
        self.snn_correct += other.snn_correct;
        self.twin_correct += other.twin_correct;
        if self.layers.is_empty() {
            self.layers = vec![LayerCounts::default(); other.layers.len()];
        }
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            a.spikes += b.spikes;
            if a.step_spikes.len() < b.step_spikes.len() {
                a.step_spikes.resize(b.step_spikes.len(), 0);
            }
            for (x, y) in a.step_spikes.iter_mut().zip(&b.step_spikes) {
                *x += y;
            }
            a.twin_nonzero += b.twin_nonzero;
            a.twin_spikes += b.twin_spikes;
            if a.twin_levels.len() < b.twin_levels.len() {
                a.twin_levels.resize(b.twin_levels.len(), 0);
            }
            for (x, y) in a.twin_levels.iter_mut().zip(&b.twin_levels) {
                *x += y;
            }
            a.abs_deviation += b.abs_deviation;
            a.neurons_differing += b.neurons_differing;
            a.sparse_calls += b.sparse_calls;
            a.dense_calls += b.dense_calls;
            a.inputs.merge(&b.inputs);
        }
    }
}

/// Per-image length of a layer's output.
fn out_len(net: &Compiled, i: usize) -> usize {
    net.network.layers[i].output.numel() as usize
}

/// Runs layer `i`'s synaptic op on `src` (its first source) or sums sources for an add.
/// Returns whether the event-driven path was taken.
#[allow(clippy::too_many_arguments)]
fn apply(
    net: &Compiled,
    i: usize,
    input: &[f32],
    prev: &[Vec<f32>],
    n: usize,
    out: &mut [f32],
    path: PathChoice,
    sparse_below: f32,
    scratch: &mut Scratch,
) -> Option<bool> {
    let layer = &net.network.layers[i];
    let src = |s: &Source| -> &[f32] {
        match s {
            Source::Input => input,
            Source::Layer(j) => &prev[*j],
        }
    };
    let x = src(&layer.sources[0]);
    let sparse = |x: &[f32]| match path {
        PathChoice::Dense => false,
        PathChoice::Sparse => true,
        PathChoice::Auto => {
            let len = layer.input.numel() as usize * n;
            (ops::count_nonzero(&x[..len]) as f32) <= sparse_below * len as f32
        }
    };
    match &net.ops[i] {
        Op::Conv(op) => {
            let s = sparse(x);
            if s {
                ops::conv_sparse(op, x, n, out, scratch);
            } else {
                ops::conv_dense(op, x, n, out, scratch);
            }
            Some(s)
        }
        Op::Linear(op) => {
            let s = sparse(x);
            if s {
                ops::linear_sparse(op, x, n, out);
            } else {
                ops::linear_dense(op, x, n, out);
            }
            Some(s)
        }
        Op::AvgPool(op) => {
            ops::pool(op, false, x, n, out);
            None
        }
        Op::MaxPool(op) => {
            ops::pool(op, true, x, n, out);
            None
        }
        Op::Add => {
            let len = out_len(net, i) * n;
            out[..len].copy_from_slice(&x[..len]);
            for s in &layer.sources[1..] {
                for (o, v) in out[..len].iter_mut().zip(src(s)) {
                    *o += v;
                }
            }
            None
        }
    }
}

/// Layer `i`'s synaptic op over the time steps of `m` images: `out` receives `out_steps`
/// slices (1 if the inputs are the same at every step). Conv and linear layers choose their
/// kernel per step (by the density of that step's input under `auto`); consecutive steps with
/// the same choice run as one call. Returns the steps run event-driven and dense.
#[allow(clippy::too_many_arguments)]
fn apply_steps<'a>(
    net: &Compiled,
    i: usize,
    src: &dyn Fn(&Source) -> &'a Steps,
    m: usize,
    out_steps: usize,
    out: &mut [f32],
    path: PathChoice,
    sparse_below: f32,
    scratch: &mut Scratch,
) -> (u64, u64) {
    let layer = &net.network.layers[i];
    let x = src(&layer.sources[0]);
    let len = out_len(net, i) * m;
    let in_len = layer.input.numel() as usize * m;
    match &net.ops[i] {
        Op::Conv(_) | Op::Linear(_) => {
            let choice: Vec<bool> = (0..x.steps)
                .map(|t| match path {
                    PathChoice::Dense => false,
                    PathChoice::Sparse => true,
                    PathChoice::Auto => {
                        (ops::count_nonzero(x.at(t)) as f32) <= sparse_below * in_len as f32
                    }
                })
                .collect();
            let mut t0 = 0;
            while t0 < x.steps {
                let sparse = choice[t0];
                let t1 = (t0..x.steps)
                    .find(|&t| choice[t] != sparse)
                    .unwrap_or(x.steps);
                let images = (t1 - t0) * m;
                let xs = &x.data[t0 * in_len..t1 * in_len];
                let os = &mut out[t0 * len..t1 * len];
                match (&net.ops[i], sparse) {
                    (Op::Conv(op), true) => ops::conv_sparse(op, xs, images, os, scratch),
                    (Op::Conv(op), false) => ops::conv_dense(op, xs, images, os, scratch),
                    (Op::Linear(op), true) => ops::linear_sparse(op, xs, images, os),
                    (Op::Linear(op), false) => ops::linear_dense(op, xs, images, os),
                    _ => unreachable!("conv or linear"),
                }
                t0 = t1;
            }
            let sparse = choice.iter().filter(|s| **s).count() as u64;
            (sparse, choice.len() as u64 - sparse)
        }
        Op::AvgPool(op) | Op::MaxPool(op) => {
            let max = matches!(net.ops[i], Op::MaxPool(_));
            ops::pool(op, max, &x.data, x.steps * m, out);
            (0, 0)
        }
        Op::Add => {
            for t in 0..out_steps {
                let o = &mut out[t * len..][..len];
                o.copy_from_slice(x.at(t));
                for s in &layer.sources[1..] {
                    for (o, v) in o.iter_mut().zip(src(s).at(t)) {
                        *o += v;
                    }
                }
            }
            (0, 0)
        }
    }
}

/// Buffers of finished simulations, kept per thread for the next chunk. Batches of large
/// images would otherwise map, fault in and unmap tens of MiB per batch.
#[derive(Debug, Default)]
struct Pool {
    f32s: Vec<Vec<f32>>,
    u32s: Vec<Vec<u32>>,
    scratch: Option<Scratch>,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// How many buffers of each type a thread keeps.
const POOL_SIZE: usize = 96;

/// The pooled buffer that fits `len` most tightly: taking any large-enough one would hand a
/// wide layer's buffer to a narrow one and leave the next wide layer to allocate (and fault
/// in) a fresh one.
fn best_fit<T>(pool: &[Vec<T>], len: usize) -> Option<usize> {
    pool.iter()
        .enumerate()
        .filter(|(_, v)| v.capacity() >= len)
        .min_by_key(|(_, v)| v.capacity())
        .map(|(i, _)| i)
}

fn take<T: Clone + Default>(pool: &mut Vec<Vec<T>>, len: usize) -> Vec<T> {
    match best_fit(pool, len) {
        Some(i) => {
            let mut v = pool.swap_remove(i);
            v.clear();
            v.resize(len, T::default());
            v
        }
        None => vec![T::default(); len],
    }
}

fn zeros(len: usize) -> Vec<f32> {
    POOL.with_borrow_mut(|p| take(&mut p.f32s, len))
}

/// A buffer of `len` values for a kernel that writes every one of them: a pooled buffer keeps
/// whatever it held, which saves clearing megabytes per layer.
fn overwritten(len: usize) -> Vec<f32> {
    POOL.with_borrow_mut(|p| match best_fit(&p.f32s, len) {
        Some(i) => {
            let mut v = p.f32s.swap_remove(i);
            v.truncate(len);
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    })
}

fn zeros_u32(len: usize) -> Vec<u32> {
    POOL.with_borrow_mut(|p| take(&mut p.u32s, len))
}

fn recycle(f: impl IntoIterator<Item = Vec<f32>>, u: impl IntoIterator<Item = Vec<u32>>) {
    POOL.with_borrow_mut(|p| {
        for v in f {
            if v.capacity() > 0 && p.f32s.len() < POOL_SIZE {
                p.f32s.push(v);
            }
        }
        for v in u {
            if v.capacity() > 0 && p.u32s.len() < POOL_SIZE {
                p.u32s.push(v);
            }
        }
    });
}

fn take_scratch() -> Scratch {
    POOL.with_borrow_mut(|p| p.scratch.take())
        .unwrap_or_default()
}

fn return_scratch(s: Scratch) {
    POOL.with_borrow_mut(|p| p.scratch = Some(s));
}

impl Simulation {
    /// Hands the buffers back to this thread's pool for the next chunk.
    pub fn recycle(self) {
        recycle([self.output_membrane], self.neuron_spikes);
    }
}

/// A firing layer's neuron as the engine steps it: the layer's own (`neuron_model`, from a
/// NIR graph or a custom workload) or the run's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dynamics {
    /// Membrane fraction kept per step.
    pub leak: f32,
    /// Threshold θ.
    pub theta: f32,
    /// Reset by subtraction (else to zero).
    pub subtract: bool,
    /// Factor on the current entering the membrane.
    pub gain: f32,
    /// CubaLIF: the fraction of the synaptic current kept per step and the factor on the input
    /// entering it.
    pub synaptic: Option<(f32, f32)>,
}

impl Dynamics {
    /// The neuron of `layer` under `cfg`.
    pub fn of(layer: &Layer, cfg: &SnnConfig) -> Self {
        let default_leak = if cfg.neuron == NeuronKind::Lif {
            cfg.leak
        } else {
            1.0
        };
        match &layer.neuron_model {
            None => Self {
                leak: default_leak,
                theta: cfg.threshold,
                subtract: cfg.reset == Reset::Subtract,
                gain: 1.0,
                synaptic: None,
            },
            Some(n) => Self {
                leak: n.model.leak() as f32,
                theta: n.threshold.map_or(cfg.threshold, |t| t as f32),
                subtract: n.reset.unwrap_or(cfg.reset) == Reset::Subtract,
                gain: n.gain as f32,
                synaptic: match n.model {
                    Neuron::CubaLif { synaptic_leak, .. } => {
                        Some((synaptic_leak as f32, n.synaptic_gain as f32))
                    }
                    _ => None,
                },
            },
        }
    }

    /// The factor between a constant input and the current the membrane receives in steady
    /// state (a CubaLIF's synaptic current settles at g_s·z / (1 − α)): the twin quantizes
    /// this current.
    pub fn steady_gain(&self) -> f32 {
        match self.synaptic {
            Some((alpha, g)) => self.gain * g / (1.0 - alpha),
            None => self.gain,
        }
    }

    /// The current entering the membrane over `steps` steps from the layer's synaptic
    /// current `cur` (`cur_steps` = 1 when it is the same every step): through the synaptic
    /// state, updated before the membrane reads it (snnTorch's `Synaptic` order), then scaled.
    fn drive(
        &self,
        cur: Vec<f32>,
        cur_steps: usize,
        steps: usize,
        len: usize,
    ) -> (Vec<f32>, usize) {
        let (mut cur, cur_steps) = match self.synaptic {
            None => (cur, cur_steps),
            Some((alpha, g)) => {
                let mut out = overwritten(steps * len);
                let mut state = zeros(len);
                for t in 0..steps {
                    let z = &cur[if cur_steps == 1 { 0 } else { t * len }..][..len];
                    for ((o, st), z) in out[t * len..][..len].iter_mut().zip(&mut state).zip(z) {
                        *st = alpha * *st + g * z;
                        *o = *st;
                    }
                }
                recycle([cur, state], []);
                (out, steps)
            }
        };
        if self.gain != 1.0 {
            for v in &mut cur {
                *v *= self.gain;
            }
        }
        (cur, cur_steps)
    }
}

/// The readout's membrane per step: (fraction kept, factor on its input); (1, 1) sums the
/// inputs over the steps.
fn readout_dynamics(layer: &Layer) -> (f32, f32) {
    match &layer.neuron_model {
        Some(n) if !n.model.spiking() => (n.model.leak() as f32, n.gain as f32),
        _ => (1.0, 1.0),
    }
}

/// Q(z) = ⌊clamp(T·z/θ, 0, T)⌋: the twin's spike count for pre-activation z.
#[inline]
pub fn twin_count(z: f32, timesteps: u32, threshold: f32) -> u32 {
    quantize_count(z, timesteps, threshold, 0.0)
}

/// Q(z) = ⌊clamp(T·z/θ + φ, 0, T)⌋: the spike count of an IF neuron whose membrane starts at
/// φ·θ, driven by a constant z for T steps.
#[inline]
pub fn quantize_count(z: f32, timesteps: u32, threshold: f32, shift: f32) -> u32 {
    let t = timesteps as f32;
    // Truncation is the floor here: the value is clamped to [0, T] first.
    (t * z / threshold + shift).clamp(0.0, t) as u32
}

/// The QNN twin on `n` images: every layer's output (quantized after neurons).
pub fn twin_forward(net: &Compiled, x: &[f32], n: usize, cfg: &SnnConfig) -> Vec<Vec<f32>> {
    let t = cfg.timesteps as f32;
    let mut scratch = take_scratch();
    let mut outs: Vec<Vec<f32>> = Vec::with_capacity(net.ops.len());
    for i in 0..net.ops.len() {
        let mut out = zeros(out_len(net, i) * n);
        // The twin's inputs after the first layer are quantized (k/T) and often zero, but
        // denser than spikes: it picks its kernels by density unless everything is to run
        // dense. The analog image always goes dense.
        let analog = net.network.layers[i].sources.contains(&Source::Input);
        let path = match cfg.path {
            _ if analog => PathChoice::Dense,
            PathChoice::Dense => PathChoice::Dense,
            PathChoice::Sparse | PathChoice::Auto => PathChoice::Auto,
        };
        apply(
            net,
            i,
            x,
            &outs,
            n,
            &mut out,
            path,
            cfg.sparse_below,
            &mut scratch,
        );
        if net.network.layers[i].neuron {
            let d = Dynamics::of(&net.network.layers[i], cfg);
            let g = d.steady_gain();
            for v in &mut out {
                *v = quantize_count(*v * g, cfg.timesteps, d.theta, cfg.shift) as f32 / t;
            }
        }
        outs.push(out);
    }
    return_scratch(scratch);
    outs
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Counts what the twin's layers with weights read: the image, or their sources' outputs.
fn count_twin_inputs(
    net: &Compiled,
    fans: &[Option<FanOut>],
    x: &[f32],
    twin: &[Vec<f32>],
    counts: &mut ChunkCounts,
) {
    for (i, fan) in fans.iter().enumerate() {
        if let Some(fan) = fan {
            let xs: &[f32] = match net.network.layers[i].sources[0] {
                Source::Input => x,
                Source::Layer(j) => &twin[j],
            };
            count_twin(fan, xs, &mut counts.layers[i].inputs);
        }
    }
}

/// Spike counts per neuron of one layer (for tests and the reference comparison).
pub type Counts = Vec<u32>;

/// Result of [`simulate`]: the counts and, per layer with neurons, each neuron's spikes.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// Statistics.
    pub counts: ChunkCounts,
    /// Spike counts per neuron for every layer with a neuron (empty for others), images
    /// concatenated.
    pub neuron_spikes: Vec<Counts>,
    /// Class chosen by the SNN per image.
    pub snn_class: Vec<usize>,
    /// Class chosen by the twin per image.
    pub twin_class: Vec<usize>,
    /// The output layer's membrane after the last step (Σ over steps of its input, or its
    /// leaky integrator's membrane), images concatenated.
    pub output_membrane: Vec<f32>,
}

/// Floats one layer's values over all time steps of a sub-chunk may take (1 MiB): the
/// simulation runs a few images at a time so that a layer's T steps stay in L2 while the
/// neurons and the next layer read them. On the bench network (T = 6, 10 % spikes, one
/// thread) 1 MiB ran the event-driven path 10–15 % faster than 4 MiB.
const STEPS_BUDGET: usize = 1 << 18;

/// A layer's values over the time steps of a sub-chunk: `steps` slices of `len` values, one
/// slice when they are the same at every step.
#[derive(Debug, Default)]
struct Steps {
    data: Vec<f32>,
    steps: usize,
    len: usize,
}

impl Steps {
    fn at(&self, t: usize) -> &[f32] {
        let t = if self.steps == 1 { 0 } else { t };
        &self.data[t * self.len..][..self.len]
    }
}

/// Runs the twin and the SNN on `n` images `x` (NCHW, values as given to the first layer)
/// with labels `labels` (may be empty). `first_index` is the global index of the first image,
/// which seeds its rate coder so results do not depend on how the batch was chunked.
///
/// The SNN is computed layer by layer, each layer over all T steps at once: layer l's spikes
/// at step t depend only on layer l−1's spikes at steps up to t, so the order of the
/// arithmetic of every neuron, and with it every spike, is the one of a step-by-step run. The
/// layer's synaptic current then comes from one kernel call over T steps' inputs (a larger
/// GEMM, the weights read once), and each membrane stays in a register through its T steps.
pub fn simulate(
    net: &Compiled,
    x: &[f32],
    n: usize,
    labels: &[u8],
    first_index: u64,
    cfg: &SnnConfig,
) -> Simulation {
    let twin = if cfg.twin {
        twin_forward(net, x, n, cfg)
    } else {
        Vec::new()
    };
    let mut run = Run::new(net, n, cfg);
    if cfg.twin {
        count_twin_inputs(net, &run.plan.fans, x, &twin, &mut run.counts);
    }
    let mut scratch = take_scratch();
    let in_len = run.plan.in_len;
    let mut b0 = 0;
    while b0 < n {
        let m = run.plan.per_sub.min(n - b0);
        let images = &x[b0 * in_len..][..m * in_len];
        let input = code_input(images, m, first_index + b0 as u64, cfg, &mut run.counts);
        run.sub_chunk(input, b0, m, &mut scratch);
        b0 += m;
    }
    run.count_inputs_from_neurons();
    run.count_spikes(&twin);
    let (snn_class, twin_class) = run.classify(n, labels, &twin);
    run.recycle_non_neuron_spikes();
    return_scratch(scratch);
    recycle(twin, []);
    Simulation {
        counts: run.counts,
        neuron_spikes: run.spikes,
        snn_class,
        twin_class,
        output_membrane: run.integrated,
    }
}

/// What [`simulate`] works out about the network before the first image.
struct Plan {
    /// Layers that emit spikes: those with neurons and, under a spike-count readout, an output
    /// layer without an integrator of its own (LI, I integrate whatever `readout` says).
    fires: Vec<bool>,
    /// How each weighted layer's input spreads over its synapses.
    fans: Vec<Option<FanOut>>,
    /// Weighted layers reading one neuron layer's spikes: what they read is counted from the
    /// neurons' spike counts (one pass instead of T) rather than as they read it.
    from_neurons: Vec<bool>,
    /// Layers whose inputs are the same at every step (a direct-coded image, or layers without
    /// neurons fed only by such): their synaptic current is computed once and reused.
    constant: Vec<bool>,
    /// The last layer reading each layer's output, so a layer's steps are freed once read.
    last_use: Vec<usize>,
    /// Values of one input image.
    in_len: usize,
    /// Images per sub-chunk, so that a layer's T steps fit [`STEPS_BUDGET`].
    per_sub: usize,
}

impl Plan {
    fn new(net: &Compiled, n: usize, cfg: &SnnConfig) -> Self {
        let layers = &net.network.layers;
        let nl = layers.len();
        let last = nl - 1;
        let fires: Vec<bool> = (0..nl)
            .map(|i| {
                layers[i].neuron
                    || (i == last
                        && cfg.readout == Readout::SpikeCount
                        && layers[i].neuron_model.is_none())
            })
            .collect();
        let from_neurons = layers
            .iter()
            .map(|l| matches!(l.sources[..], [Source::Layer(j)] if layers[j].neuron))
            .collect();
        let mut constant = vec![false; nl];
        for i in 0..nl {
            constant[i] = cfg.coding == Coding::Direct
                && layers[i].sources.iter().all(|s| match s {
                    Source::Input => true,
                    Source::Layer(j) => constant[*j] && !fires[*j],
                });
        }
        let mut last_use = vec![0usize; nl];
        for (i, l) in layers.iter().enumerate() {
            for s in &l.sources {
                if let Source::Layer(j) = s {
                    last_use[*j] = last_use[*j].max(i);
                }
            }
        }
        let in_len = net.network.input.numel() as usize;
        let widest = (0..nl)
            .map(|i| out_len(net, i))
            .max()
            .unwrap_or(1)
            .max(in_len);
        let steps = cfg.timesteps as usize;
        Plan {
            fires,
            fans: layers.iter().map(FanOut::of).collect(),
            from_neurons,
            constant,
            last_use,
            in_len,
            per_sub: (STEPS_BUDGET / (steps * widest).max(1)).clamp(1, n.max(1)),
        }
    }
}

/// The sub-chunk's `m` images as the first layer sees them: the analog image once under
/// direct coding, seeded Bernoulli spikes at every step under rate coding. `first_image` is
/// the global index of the first of them.
fn code_input(
    images: &[f32],
    m: usize,
    first_image: u64,
    cfg: &SnnConfig,
    counts: &mut ChunkCounts,
) -> Steps {
    let in_len = images.len() / m;
    match cfg.coding {
        Coding::Direct => {
            let mut data = overwritten(m * in_len);
            data.copy_from_slice(images);
            Steps {
                data,
                steps: 1,
                len: m * in_len,
            }
        }
        Coding::Rate => {
            let steps = cfg.timesteps as usize;
            // Each image draws from its own stream, step after step, pixel after pixel,
            // so the spikes do not depend on how images are grouped.
            let mut coded = overwritten(steps * m * in_len);
            for b in 0..m {
                let mut g = SplitMix64::stream(cfg.seed, first_image + b as u64);
                let px = &images[b * in_len..][..in_len];
                for t in 0..steps {
                    let o = &mut coded[(t * m + b) * in_len..][..in_len];
                    for (o, p) in o.iter_mut().zip(px) {
                        *o = if g.next_f32() < *p { 1.0 } else { 0.0 };
                    }
                }
            }
            counts.input_spikes += ops::count_nonzero(&coded) as u64;
            Steps {
                data: coded,
                steps,
                len: m * in_len,
            }
        }
    }
}

/// One [`simulate`] call: the network, its plan and what the sub-chunks add up.
struct Run<'a> {
    net: &'a Compiled,
    cfg: &'a SnnConfig,
    plan: Plan,
    /// Time steps T.
    steps: usize,
    /// Spikes per neuron of every firing layer (empty for others), images concatenated.
    spikes: Vec<Counts>,
    /// The output layer's membrane, images concatenated.
    integrated: Vec<f32>,
    counts: ChunkCounts,
    /// Spikes per layer and time step, kept by the neurons as they fire.
    step_totals: Vec<Vec<u64>>,
    /// Reused by the input counting.
    seen: Vec<bool>,
}

impl<'a> Run<'a> {
    fn new(net: &'a Compiled, n: usize, cfg: &'a SnnConfig) -> Self {
        let plan = Plan::new(net, n, cfg);
        let nl = net.network.layers.len();
        let steps = cfg.timesteps as usize;
        let spikes = (0..nl)
            .map(|i| {
                if plan.fires[i] {
                    zeros_u32(out_len(net, i) * n)
                } else {
                    Vec::new()
                }
            })
            .collect();
        let integrated = zeros(out_len(net, nl - 1) * n);
        Run {
            net,
            cfg,
            plan,
            steps,
            spikes,
            integrated,
            counts: ChunkCounts {
                images: n as u64,
                layers: vec![LayerCounts::default(); nl],
                ..Default::default()
            },
            step_totals: vec![vec![0u64; steps]; nl],
            seen: Vec::new(),
        }
    }

    /// Runs every layer over all steps of the `m` images from `b0` on, freeing each layer's
    /// steps once the last layer reading them has run.
    fn sub_chunk(&mut self, input: Steps, b0: usize, m: usize, scratch: &mut Scratch) {
        let nl = self.net.network.layers.len();
        let mut outs: Vec<Steps> = (0..nl).map(|_| Steps::default()).collect();
        for i in 0..nl {
            outs[i] = self.layer(i, &input, &outs, b0, m, scratch);
            for (j, out) in outs[..i].iter_mut().enumerate() {
                if self.plan.last_use[j] == i {
                    recycle([std::mem::take(&mut out.data)], []);
                }
            }
        }
        recycle(outs.into_iter().map(|s| s.data).chain([input.data]), []);
    }

    /// Layer `i`'s output over the steps: its synaptic current, fired through its neurons
    /// where it fires; the output layer's current is also integrated into its membrane.
    fn layer(
        &mut self,
        i: usize,
        input: &Steps,
        outs: &[Steps],
        b0: usize,
        m: usize,
        scratch: &mut Scratch,
    ) -> Steps {
        let len = out_len(self.net, i) * m;
        let cur_steps = if self.plan.constant[i] { 1 } else { self.steps };
        let cur = self.synaptic_current(i, input, outs, m, cur_steps, scratch);
        if i == self.net.network.layers.len() - 1 {
            self.integrate_readout(i, &cur, cur_steps, b0, len);
        }
        if self.plan.fires[i] {
            self.fire(i, cur, cur_steps, b0, len)
        } else {
            Steps {
                data: cur,
                steps: cur_steps,
                len,
            }
        }
    }

    /// Layer `i`'s synaptic current over `cur_steps` steps, counting what it reads on the way.
    fn synaptic_current(
        &mut self,
        i: usize,
        input: &Steps,
        outs: &[Steps],
        m: usize,
        cur_steps: usize,
        scratch: &mut Scratch,
    ) -> Vec<f32> {
        let layers = &self.net.network.layers;
        let mut cur = overwritten(cur_steps * out_len(self.net, i) * m);
        let src = |s: &Source| -> &Steps {
            match s {
                Source::Input => input,
                Source::Layer(j) => &outs[*j],
            }
        };
        // A direct-coded image is analog and dense: it always takes the GEMM path.
        let analog_input = self.cfg.coding == Coding::Direct
            && layers[i].sources.contains(&Source::Input)
            && matches!(layers[i].kind, LayerKind::Conv2d { .. } | LayerKind::Linear);
        let path = if analog_input {
            PathChoice::Dense
        } else {
            self.cfg.path
        };
        // Spikes straight from neurons are counted once from the neurons' counts at the end;
        // what pooling or an add made of them, step by step here.
        if let Some(fan) = self.plan.fans[i]
            .as_ref()
            .filter(|_| !self.plan.from_neurons[i])
        {
            let xs = src(&layers[i].sources[0]);
            count_snn(
                fan,
                xs.steps,
                self.steps,
                |t| xs.at(t),
                &mut self.seen,
                &mut self.counts.layers[i].inputs,
            );
        }
        let (sparse, dense) = apply_steps(
            self.net,
            i,
            &src,
            m,
            cur_steps,
            &mut cur,
            path,
            self.cfg.sparse_below,
            scratch,
        );
        self.counts.layers[i].sparse_calls += sparse;
        self.counts.layers[i].dense_calls += dense;
        cur
    }

    /// Adds the output layer's current at every step into its membrane, through the layer's
    /// own integrator where it has one.
    fn integrate_readout(
        &mut self,
        i: usize,
        cur: &[f32],
        cur_steps: usize,
        b0: usize,
        len: usize,
    ) {
        let acc = &mut self.integrated[b0 * out_len(self.net, i)..][..len];
        let (keep, gain) = readout_dynamics(&self.net.network.layers[i]);
        for t in 0..self.steps {
            let z = &cur[if cur_steps == 1 { 0 } else { t * len }..][..len];
            if keep == 1.0 && gain == 1.0 {
                for (a, z) in acc.iter_mut().zip(z) {
                    *a += z;
                }
            } else {
                for (a, z) in acc.iter_mut().zip(z) {
                    *a = keep * *a + gain * z;
                }
            }
        }
    }

    /// Layer `i`'s neurons driven by `cur` through all steps: their spikes per step, counted
    /// per neuron and per step as they fire.
    fn fire(&mut self, i: usize, cur: Vec<f32>, cur_steps: usize, b0: usize, len: usize) -> Steps {
        let d = Dynamics::of(&self.net.network.layers[i], self.cfg);
        let (cur, cur_steps) = d.drive(cur, cur_steps, self.steps, len);
        let mut fired = overwritten(self.steps * len);
        ops::fire_steps(
            &cur,
            cur_steps,
            &mut fired,
            &mut self.spikes[i][b0 * out_len(self.net, i)..][..len],
            &mut self.step_totals[i],
            self.cfg.shift * d.theta,
            d.leak,
            d.theta,
            d.subtract,
        );
        recycle([cur], []);
        Steps {
            data: fired,
            steps: self.steps,
            len,
        }
    }

    /// What the layers reading one neuron layer's spikes read, from the spike counts.
    fn count_inputs_from_neurons(&mut self) {
        let layers = &self.net.network.layers;
        for (i, fan) in self.plan.fans.iter().enumerate() {
            if let (Some(fan), Source::Layer(j)) = (fan, layers[i].sources[0])
                && self.plan.from_neurons[i]
            {
                count_spike_counts(fan, &self.spikes[j], &mut self.counts.layers[i].inputs);
            }
        }
    }

    /// Each neuron layer's spikes (per step when asked for) and, with the twin, how far its
    /// neurons stand from the twin's.
    fn count_spikes(&mut self, twin: &[Vec<f32>]) {
        let layers = &self.net.network.layers;
        // Each layer's spikes, from the per-step totals the neurons kept: summing the
        // per-neuron counts again took 6 % of an event-driven run.
        let layer_spikes: Vec<u64> = self.step_totals.iter().map(|t| t.iter().sum()).collect();
        if self.cfg.step_rates {
            for (i, c) in self.counts.layers.iter_mut().enumerate() {
                if layers[i].neuron {
                    c.step_spikes = std::mem::take(&mut self.step_totals[i]);
                }
            }
        }
        for (i, c) in self.counts.layers.iter_mut().enumerate() {
            if !layers[i].neuron {
                continue;
            }
            if self.cfg.twin {
                compare_with_twin(c, &self.spikes[i], &twin[i], self.cfg.timesteps);
            } else {
                c.spikes = layer_spikes[i];
            }
        }
    }

    /// The class the SNN and the twin choose for each image, scored against `labels`.
    fn classify(&mut self, n: usize, labels: &[u8], twin: &[Vec<f32>]) -> (Vec<usize>, Vec<usize>) {
        let last = self.net.network.layers.len() - 1;
        let classes = out_len(self.net, last);
        let mut snn_class = Vec::with_capacity(n);
        let mut twin_class = Vec::with_capacity(n);
        for b in 0..n {
            let m = &self.integrated[b * classes..][..classes];
            let s = if self.plan.fires[last] {
                most_spikes(&self.spikes[last][b * classes..][..classes], m)
            } else {
                argmax(m)
            };
            let counts = &mut self.counts;
            if let Some(&label) = labels.get(b) {
                counts.snn_correct += (s == label as usize) as u64;
            }
            snn_class.push(s);
            if self.cfg.twin {
                let tw = argmax(&twin[last][b * classes..][..classes]);
                counts.agree += (s == tw) as u64;
                if let Some(&label) = labels.get(b) {
                    counts.twin_correct += (tw == label as usize) as u64;
                }
                twin_class.push(tw);
            }
        }
        (snn_class, twin_class)
    }

    /// Hands back the spike buffers of firing layers without neurons (a spiking readout):
    /// only neuron layers' spikes are reported.
    fn recycle_non_neuron_spikes(&mut self) {
        for (i, sp) in self.spikes.iter_mut().enumerate() {
            if !self.net.network.layers[i].neuron {
                recycle([], [std::mem::take(sp)]);
            }
        }
    }
}

/// Adds one neuron layer's spikes `spikes` and its twin's outputs `twin` (levels k / T) into
/// `c`: the twin's spikes and level histogram, and how far each neuron stands from it.
fn compare_with_twin(c: &mut LayerCounts, spikes: &[u32], twin: &[f32], timesteps: u32) {
    let tf = timesteps as f32;
    c.twin_levels.resize(timesteps as usize + 1, 0);
    for (s, q) in spikes.iter().zip(twin) {
        // q = k / T exactly up to rounding; k ≤ T is small, so + 0.5 and truncation round it.
        let tw = (q * tf + 0.5) as u32;
        c.spikes += *s as u64;
        c.twin_spikes += tw as u64;
        c.twin_levels[(tw as usize).min(timesteps as usize)] += 1;
        c.twin_nonzero += (tw > 0) as u64;
        let d = s.abs_diff(tw) as u64;
        c.abs_deviation += d;
        c.neurons_differing += (d > 0) as u64;
    }
}

/// The class with most spikes `sp`; among those, the one with the largest integrated input
/// `m`.
fn most_spikes(sp: &[u32], m: &[f32]) -> usize {
    let top = *sp.iter().max().unwrap_or(&0);
    let mut best = None;
    for k in 0..sp.len() {
        if sp[k] == top && best.is_none_or(|j: usize| m[k] > m[j]) {
            best = Some(k);
        }
    }
    best.unwrap_or(0)
}
