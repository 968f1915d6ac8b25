//! Training QNNs for conversion, the paper's route: every neuron layer quantized with Q_T and a
//! straight-through gradient, BatchNorm with batch statistics (folded when the network is
//! compiled for the SNN), cross-entropy, SGD with momentum or Adam, learning-rate schedules,
//! weight decay, seeded initialization, shuffling and augmentation, and the penalties of
//! [`Regularizer`]s on the quantized activations and on the weights.
//!
//! - [`kernels`]: forward and hand-written backward passes of every layer (checked against
//!   finite differences in its tests).
//! - [`config`]: the `[train]` table.
//! - [`optim`]: optimizers and schedules.
//! - [`checkpoint`]: weights under PyTorch's names plus `optimizer.*` state, for resuming.
//!
//! # The loss
//!
//! loss = mean cross-entropy over the batch + Σ over regularizers of their penalties, where an
//! activation penalty sees a neuron layer's quantized outputs of the whole batch (so λ of
//! `activation-l1` multiplies the batch's Σ Q_T(a), as in the reference code) and a weight
//! penalty sees a layer's weights in PyTorch's layout. Activations handed to regularizers are
//! channel-major (CNHW, see [`kernels`]): a penalty must not depend on the order of the values.
//!
//! # Reproducibility
//!
//! Initialization, shuffling and augmentation draw from SplitMix64 streams keyed by seed,
//! epoch and image index, and every parallel reduction runs in a fixed order (see
//! [`kernels`]): a run gives the same weights bit for bit whatever the thread count, and a run
//! resumed from a checkpoint continues exactly as the uninterrupted run would have.

pub mod checkpoint;
pub mod config;
pub mod kernels;
pub mod optim;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use snnergy_core::{Layer, LayerKind, Network, RegularizedLayer, Regularizer, Source};

pub use config::{OptimizerKind, ScheduleKind, TrainConfig};
use kernels::{BnChannel, ConvGeom, PoolGeom, Quantizer};
pub use optim::{Optimizer, Schedule};

use crate::data::Dataset;
use crate::error::{EngineError, Result};
use crate::model::{BN_EPS, Model, Role, Tensor, tensor_specs};
use crate::rng::SplitMix64;
use crate::sim::{SnnConfig, twin_forward};

/// What a layer computes.
#[derive(Clone, Debug)]
enum Plan {
    Conv(ConvGeom),
    Linear {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
        /// Channels and positions of the source (flattened per image).
        src_c: usize,
        src_hw: usize,
    },
    Pool {
        geom: PoolGeom,
        max: bool,
    },
    Add,
}

/// Indices of a BatchNorm's tensors among the trainer's slots.
#[derive(Clone, Copy, Debug)]
struct BnSlots {
    gamma: usize,
    beta: usize,
    mean: usize,
    var: usize,
}

#[derive(Clone, Debug)]
struct LayerPlan {
    plan: Plan,
    weight: Option<usize>,
    bias: Option<usize>,
    bn: Option<BnSlots>,
    neuron: bool,
    /// Output channels (features of a vector layer).
    channels: usize,
    /// Output positions per image (1 for a vector layer).
    hw: usize,
    sources: Vec<Source>,
}

impl LayerPlan {
    /// Whether the synaptic output is kept apart from the layer output (for BatchNorm and the
    /// quantizer's backward pass).
    fn keeps_z(&self) -> bool {
        self.bn.is_some() || self.neuron
    }
}

/// A tensor of the network: parameters (trained) and BatchNorm running statistics.
#[derive(Clone, Debug)]
pub struct Slot {
    /// Name (PyTorch's).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// What it is.
    pub role: Role,
    /// Index of the layer it belongs to.
    pub layer: usize,
    /// Values.
    pub value: Vec<f32>,
    /// Gradient of the loss (empty for running statistics).
    pub grad: Vec<f32>,
}

impl Slot {
    /// Whether the optimizer updates it (running statistics are not).
    pub fn trained(&self) -> bool {
        !matches!(self.role, Role::BnMean | Role::BnVar)
    }
}

/// What one training step measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    /// Images.
    pub images: usize,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Σ of the regularizers' penalties.
    pub penalty: f64,
    /// Images whose largest logit is their label.
    pub correct: usize,
    /// Σ of the quantized activations of every neuron layer (Σ spikes / T of the SNN).
    pub activation_sum: f64,
    /// Neurons per image over all neuron layers.
    pub neurons: u64,
}

impl StepStats {
    /// Expected SNN spike rate: mean quantized activation over neurons and images.
    pub fn spike_rate(&self) -> f64 {
        self.activation_sum / (self.neurons as f64 * self.images.max(1) as f64).max(1.0)
    }

    fn add(&mut self, o: &StepStats) {
        let w = |a: f64, na: usize, b: f64, nb: usize| {
            (a * na as f64 + b * nb as f64) / (na + nb).max(1) as f64
        };
        self.loss = w(self.loss, self.images, o.loss, o.images);
        self.penalty = w(self.penalty, self.images, o.penalty, o.images);
        self.images += o.images;
        self.correct += o.correct;
        self.activation_sum += o.activation_sum;
        self.neurons = o.neurons;
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: u32,
    /// Mean cross-entropy over the epoch's batches.
    pub loss: f64,
    /// Mean regularizer penalty.
    pub penalty: f64,
    /// Training accuracy (augmented images, batch statistics).
    pub train_accuracy: f64,
    /// Expected SNN spike rate over the training batches.
    pub spike_rate: f64,
    /// QNN accuracy on the test images (BatchNorm folded, as converted).
    pub test_accuracy: f64,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Wall-clock seconds of the training steps (without the test).
    pub seconds: f64,
    /// Training images per second.
    pub samples_per_s: f64,
}

/// A network being trained: its tensors, optimizer state and the buffers of one batch.
#[derive(Debug)]
pub struct Trainer {
    network: Network,
    plans: Vec<LayerPlan>,
    slots: Vec<Slot>,
    quant: Quantizer,
    timesteps: u32,
    bn_momentum: f32,
    regularizers: Vec<Box<dyn Regularizer>>,
    /// Optimizer and its state.
    pub optimizer: Optimizer,
    /// Epochs completed.
    pub epoch: u32,
    input: Vec<f32>,
    z: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    xt: Vec<Vec<f32>>,
    grad: Vec<Vec<f32>>,
    stats: Vec<Vec<BnChannel>>,
    dxt: Vec<f32>,
}

fn resize(v: &mut Vec<f32>, len: usize) {
    v.resize(len, 0.0);
}

/// Seeded initialization as PyTorch's defaults for Conv2d and Linear (weights and biases
/// uniform in ±1/√fan-in), identity BatchNorm.
pub fn init_model(network: Network, seed: u64) -> Result<Model> {
    let specs = tensor_specs(&network)?;
    let mut tensors = BTreeMap::new();
    let fan_in: BTreeMap<String, usize> = specs
        .iter()
        .filter(|s| s.role == Role::Weight)
        .map(|s| (s.layer.clone(), s.shape[1..].iter().product()))
        .collect();
    for (i, s) in specs.iter().enumerate() {
        let n: usize = s.shape.iter().product();
        let data = match s.role {
            Role::Weight | Role::Bias => {
                let bound = 1.0 / (fan_in[&s.layer] as f32).sqrt();
                let mut g = SplitMix64::stream(seed, i as u64);
                (0..n).map(|_| g.uniform(-bound, bound)).collect()
            }
            Role::BnWeight | Role::BnVar => vec![1.0; n],
            Role::BnBias | Role::BnMean => vec![0.0; n],
        };
        tensors.insert(
            s.name.clone(),
            Tensor {
                shape: s.shape.clone(),
                data,
            },
        );
    }
    Model::from_tensors(network, tensors, Path::new("<initialization>"))
}

fn unsupported(net: &Network, layer: &str, message: impl Into<String>) -> EngineError {
    EngineError::Unsupported {
        network: net.name.clone(),
        layer: layer.to_string(),
        message: message.into(),
    }
}

/// The model's tensors as the trainer holds them, in [`tensor_specs`] order, with each
/// tensor's slot by name. Running statistics get no gradient.
fn slots_of(model: &Model, network: &Network) -> Result<(Vec<Slot>, BTreeMap<String, usize>)> {
    let specs = tensor_specs(network)?;
    let mut slots = Vec::with_capacity(specs.len());
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for s in &specs {
        let layer = network
            .layer_index(&s.layer)
            .ok_or_else(|| EngineError::Invalid(format!("no layer `{}`", s.layer)))?;
        let value = model
            .param(&s.name)
            .ok_or_else(|| EngineError::Invalid(format!("no tensor `{}`", s.name)))?
            .data
            .clone();
        let grad = if matches!(s.role, Role::BnMean | Role::BnVar) {
            Vec::new()
        } else {
            vec![0.0; value.len()]
        };
        index.insert(s.name.clone(), slots.len());
        slots.push(Slot {
            name: s.name.clone(),
            shape: s.shape.clone(),
            role: s.role,
            layer,
            value,
            grad,
        });
    }
    Ok((slots, index))
}

/// How the trainer runs layer `l`: its op's geometry, its tensors' slots (from `index`) and
/// the shape its neurons or batch norm work on.
fn layer_plan(network: &Network, l: &Layer, index: &BTreeMap<String, usize>) -> Result<LayerPlan> {
    // Training converts a QNN into an IF network: layers with neurons of their own
    // (from a NIR graph) or sum pools are run, not trained, here.
    if l.neuron_model.is_some() || matches!(l.kind, LayerKind::AvgPool { sum: true, .. }) {
        return Err(EngineError::Invalid(format!(
            "layer `{}`: training supports IF neurons of the network's model and average pooling; this layer has {}",
            l.name,
            if l.neuron_model.is_some() {
                "a neuron of its own"
            } else {
                "a sum pool"
            }
        )));
    }
    let plan = op_plan(network, l)?;
    let out = l.output;
    let (channels, hw) = match l.kind {
        LayerKind::Linear => (out.numel() as usize, 1),
        _ => (out.c as usize, (out.h * out.w) as usize),
    };
    let slot = |suffix: &str| index.get(&format!("{}.{suffix}", l.name)).copied();
    let bn = l.batchnorm.as_ref().map(|b| {
        let s = |suffix: &str| index[&format!("{b}.{suffix}")];
        BnSlots {
            gamma: s("weight"),
            beta: s("bias"),
            mean: s("running_mean"),
            var: s("running_var"),
        }
    });
    Ok(LayerPlan {
        plan,
        weight: slot("weight"),
        bias: if l.bias { slot("bias") } else { None },
        bn,
        neuron: l.neuron,
        channels,
        hw,
        sources: l.sources.clone(),
    })
}

/// The geometry of layer `l`'s op, from its first source's shape and its own.
fn op_plan(network: &Network, l: &Layer) -> Result<Plan> {
    let shape_of = |s: &Source| match s {
        Source::Input => network.input,
        Source::Layer(j) => network.layers[*j].output,
    };
    let out = l.output;
    let src = shape_of(&l.sources[0]);
    Ok(match &l.kind {
        LayerKind::Conv2d {
            kernel,
            stride,
            padding,
            ..
        } => Plan::Conv(ConvGeom {
            ci: src.c as usize,
            h: src.h as usize,
            w: src.w as usize,
            co: out.c as usize,
            ho: out.h as usize,
            wo: out.w as usize,
            kh: kernel[0] as usize,
            kw: kernel[1] as usize,
            sh: stride[0] as usize,
            sw: stride[1] as usize,
            ph: padding[0] as usize,
            pw: padding[1] as usize,
        }),
        LayerKind::Linear => Plan::Linear {
            inputs: src.numel() as usize,
            outputs: out.numel() as usize,
            src_c: src.c as usize,
            src_hw: (src.h * src.w) as usize,
        },
        LayerKind::AvgPool {
            kernel,
            stride,
            padding,
            ..
        }
        | LayerKind::MaxPool {
            kernel,
            stride,
            padding,
        } => Plan::Pool {
            geom: PoolGeom {
                h: src.h as usize,
                w: src.w as usize,
                ho: out.h as usize,
                wo: out.w as usize,
                k: *kernel as usize,
                s: *stride as usize,
                p: *padding as usize,
            },
            max: matches!(l.kind, LayerKind::MaxPool { .. }),
        },
        LayerKind::Add => {
            if l.sources.iter().any(|s| shape_of(s) != out) {
                return Err(unsupported(
                    network,
                    &l.name,
                    "a residual add needs sources of its own shape",
                ));
            }
            Plan::Add
        }
    })
}

/// Moves the batch-norm running statistics of `bs` towards the batch's `moments` (mean and
/// biased variance per channel over `m` values), with the variance unbiased as PyTorch does.
fn update_running_stats(
    slots: &mut [Slot],
    bs: BnSlots,
    moments: &[(f64, f64)],
    m: usize,
    mom: f32,
) {
    let unbias = if m > 1 {
        m as f64 / (m - 1) as f64
    } else {
        1.0
    };
    for (c, (mean, var)) in moments.iter().enumerate() {
        let rm = &mut slots[bs.mean].value[c];
        *rm = (1.0 - mom) * *rm + mom * *mean as f32;
        let rv = &mut slots[bs.var].value[c];
        *rv = (1.0 - mom) * *rv + mom * (*var * unbias) as f32;
    }
}

/// Turns the output gradient `d` of layer `p` into the gradient of its synaptic output `z`,
/// through its quantizer and its batch norm (whose scale and shift gradients go to `slots`).
fn neurons_backward(
    p: &LayerPlan,
    d: &mut [f32],
    z: &[f32],
    stats: &[BnChannel],
    slots: &mut [Slot],
    quant: &Quantizer,
    n: usize,
) {
    let m = n * p.hw;
    let q = p.neuron.then_some(quant);
    match p.bn {
        None => d
            .par_chunks_mut(m)
            .zip(z.par_chunks(m))
            .for_each(|(dr, zr)| {
                kernels::channel_backward(zr, dr, None, q);
            }),
        Some(bs) => {
            let mut sums = vec![(0.0f64, 0.0f64); p.channels];
            d.par_chunks_mut(m)
                .zip(z.par_chunks(m))
                .zip(stats.par_iter())
                .zip(sums.par_iter_mut())
                .for_each(|(((dr, zr), s), out)| {
                    *out = kernels::channel_backward(zr, dr, Some(*s), q);
                });
            for (c, (dg, db)) in sums.iter().enumerate() {
                slots[bs.gamma].grad[c] += *dg as f32;
                slots[bs.beta].grad[c] += *db as f32;
            }
        }
    }
}

/// Runs `f` on layer `p`'s weights with their gradient and its bias's taken out of `slots`
/// for the call, so the kernel can write them while it reads the weights.
fn with_weight_grads(
    slots: &mut [Slot],
    p: &LayerPlan,
    has_weights: &str,
    f: impl FnOnce(&[f32], &mut [f32], Option<&mut [f32]>),
) {
    let wi = p.weight.expect(has_weights);
    let mut gw = std::mem::take(&mut slots[wi].grad);
    let mut gb = p.bias.map(|b| std::mem::take(&mut slots[b].grad));
    f(&slots[wi].value, &mut gw, gb.as_deref_mut());
    slots[wi].grad = gw;
    if let (Some(b), Some(v)) = (p.bias, gb) {
        slots[b].grad = v;
    }
}

impl Trainer {
    /// A trainer for `model` (its network and current tensors) with Q_T at `timesteps` and
    /// prepared `regularizers`.
    pub fn new(
        model: &Model,
        cfg: &TrainConfig,
        timesteps: u32,
        regularizers: Vec<Box<dyn Regularizer>>,
    ) -> Result<Self> {
        cfg.validate()
            .map_err(|e| EngineError::Invalid(format!("[train] {e}")))?;
        let network = model.network().clone();
        let (slots, index) = slots_of(model, &network)?;
        let plans = network
            .layers
            .iter()
            .map(|l| layer_plan(&network, l, &index))
            .collect::<Result<Vec<_>>>()?;
        let sizes: Vec<usize> = slots
            .iter()
            .filter(|s| s.trained())
            .map(|s| s.value.len())
            .collect();
        let nl = plans.len();
        Ok(Self {
            optimizer: Optimizer::new(cfg, &sizes),
            quant: Quantizer {
                levels: timesteps as f32,
                threshold: cfg.threshold as f32,
                shift: cfg.shift as f32,
                clip: cfg.ste_clip as f32,
                identity: false,
            },
            timesteps,
            bn_momentum: cfg.bn_momentum as f32,
            regularizers,
            network,
            plans,
            slots,
            epoch: 0,
            input: Vec::new(),
            z: vec![Vec::new(); nl],
            out: vec![Vec::new(); nl],
            xt: vec![Vec::new(); nl],
            grad: vec![Vec::new(); nl],
            stats: vec![Vec::new(); nl],
            dxt: Vec::new(),
        })
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Every tensor with its gradient of the last step.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// T of the quantizer.
    pub fn timesteps(&self) -> u32 {
        self.timesteps
    }

    /// The quantizer.
    pub fn quantizer(&self) -> Quantizer {
        self.quant
    }

    /// Replaces the quantizer by the identity (gradient checks of everything else).
    #[doc(hidden)]
    pub fn set_identity_quantizer(&mut self, identity: bool) {
        self.quant.identity = identity;
    }

    /// Mutable values of a tensor (tests perturb them for finite differences).
    #[doc(hidden)]
    pub fn value_mut(&mut self, slot: usize) -> &mut [f32] {
        &mut self.slots[slot].value
    }

    /// The current tensors as a model (BatchNorm unfolded, as saved).
    pub fn model(&self) -> Result<Model> {
        let tensors = self
            .slots
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    Tensor {
                        shape: s.shape.clone(),
                        data: s.value.clone(),
                    },
                )
            })
            .collect();
        Model::from_tensors(self.network.clone(), tensors, Path::new("<training>"))
    }

    /// Forward pass in training mode (batch statistics) of `n` images `x` (NCHW, as
    /// [`Dataset::batch`] gives them); updates BatchNorm's running statistics if asked.
    fn forward(&mut self, x: &[f32], n: usize, update_running: bool) {
        self.load_input(x, n);
        for i in 0..self.plans.len() {
            self.op_forward(i, n);
            if self.plans[i].keeps_z() {
                self.neurons_forward(i, n, update_running);
            }
        }
    }

    /// The batch `x` laid out channel-major (CNHW), as the kernels read it.
    fn load_input(&mut self, x: &[f32], n: usize) {
        let inp = self.network.input;
        let (c0, hw0) = (inp.c as usize, (inp.h * inp.w) as usize);
        let input = &mut self.input;
        resize(input, c0 * n * hw0);
        for b in 0..n {
            for c in 0..c0 {
                input[(c * n + b) * hw0..][..hw0].copy_from_slice(&x[(b * c0 + c) * hw0..][..hw0]);
            }
        }
    }

    /// Layer `i`'s op on its sources' outputs: into its synaptic output `z` where the layer
    /// keeps one apart, else straight into its output.
    fn op_forward(&mut self, i: usize, n: usize) {
        let Self {
            plans,
            slots,
            input,
            z,
            out,
            xt,
            ..
        } = self;
        let p = &plans[i];
        let len = p.channels * n * p.hw;
        let (done, rest) = out.split_at_mut(i);
        let o = &mut rest[0];
        resize(o, len);
        let src = |s: &Source| -> &[f32] {
            match s {
                Source::Input => input,
                Source::Layer(j) => &done[*j],
            }
        };
        let target: &mut Vec<f32> = if p.keeps_z() { &mut z[i] } else { &mut *o };
        resize(target, len);
        let value = |k: Option<usize>| k.map(|k| slots[k].value.as_slice());
        match &p.plan {
            Plan::Conv(g) => kernels::conv_forward(
                g,
                &slots[p.weight.expect("conv has weights")].value,
                value(p.bias),
                src(&p.sources[0]),
                n,
                target,
            ),
            Plan::Linear {
                inputs,
                outputs,
                src_c,
                src_hw,
            } => {
                resize(&mut xt[i], inputs * n);
                kernels::flatten(src(&p.sources[0]), *src_c, *src_hw, n, &mut xt[i]);
                kernels::linear_forward(
                    &slots[p.weight.expect("linear has weights")].value,
                    value(p.bias),
                    &xt[i],
                    *outputs,
                    *inputs,
                    n,
                    target,
                );
            }
            Plan::Pool { geom, max } => {
                kernels::pool_forward(geom, *max, src(&p.sources[0]), target)
            }
            Plan::Add => {
                target.copy_from_slice(src(&p.sources[0]));
                for s in &p.sources[1..] {
                    for (t, v) in target.iter_mut().zip(src(s)) {
                        *t += v;
                    }
                }
            }
        }
    }

    /// Layer `i`'s output from its synaptic output: batch norm on the batch's statistics
    /// (kept for the backward pass), then the quantizer where the layer has neurons.
    fn neurons_forward(&mut self, i: usize, n: usize, update_running: bool) {
        let Self {
            plans,
            slots,
            quant,
            bn_momentum,
            z,
            out,
            stats,
            ..
        } = self;
        let p = &plans[i];
        let o = &mut out[i];
        let m = n * p.hw;
        let q = p.neuron.then_some(&*quant);
        let Some(bs) = p.bn else {
            o.par_chunks_mut(m)
                .zip(z[i].par_chunks(m))
                .for_each(|(or, zr)| kernels::channel_forward(zr, or, None, q));
            return;
        };
        let (gamma, beta) = (&slots[bs.gamma].value, &slots[bs.beta].value);
        let mut moments = vec![(0.0f64, 0.0f64); p.channels];
        let st = &mut stats[i];
        st.resize(
            p.channels,
            BnChannel {
                gamma: 1.0,
                beta: 0.0,
                mean: 0.0,
                inv_std: 1.0,
            },
        );
        o.par_chunks_mut(m)
            .zip(z[i].par_chunks(m))
            .zip(st.par_iter_mut())
            .zip(moments.par_iter_mut())
            .enumerate()
            .for_each(|(c, (((or, zr), s), mo))| {
                let (mean, var) = kernels::moments(zr);
                *s = BnChannel {
                    gamma: gamma[c],
                    beta: beta[c],
                    mean: mean as f32,
                    inv_std: 1.0 / (var as f32 + BN_EPS).sqrt(),
                };
                *mo = (mean, var);
                kernels::channel_forward(zr, or, Some(*s), q);
            });
        if update_running {
            update_running_stats(slots, bs, &moments, m, *bn_momentum);
        }
    }

    /// Loss, penalties and gradients of every trained tensor for the batch of the last
    /// forward pass.
    fn backward(&mut self, labels: &[u8], n: usize) -> Result<StepStats> {
        self.clear_gradients();
        let (loss, correct) = self.loss_gradient(labels, n)?;
        let (penalty, activation_sum, neurons) = self.activation_penalties();
        for i in (0..self.plans.len()).rev() {
            self.layer_backward(i, n);
        }
        let penalty = self.add_weight_penalties(penalty);
        Ok(StepStats {
            images: n,
            loss,
            penalty,
            correct,
            activation_sum,
            neurons,
        })
    }

    /// Zeroes the gradients of every layer output and every trained tensor.
    fn clear_gradients(&mut self) {
        for (g, o) in self.grad.iter_mut().zip(self.out.iter()) {
            g.clear();
            g.resize(o.len(), 0.0);
        }
        for s in self.slots.iter_mut() {
            s.grad.fill(0.0);
        }
    }

    /// The batch's mean cross-entropy against `labels` and the images classified correctly;
    /// its gradient goes into the last layer's output gradient.
    fn loss_gradient(&mut self, labels: &[u8], n: usize) -> Result<(f64, usize)> {
        let nl = self.plans.len();
        let last = &self.plans[nl - 1];
        let classes = last.channels * last.hw;
        if let Some(&bad) = labels.iter().find(|l| **l as usize >= classes) {
            return Err(EngineError::Invalid(format!(
                "label {bad} is outside the {classes} outputs of network `{}`",
                self.network.name
            )));
        }
        Ok(kernels::cross_entropy(
            &self.out[nl - 1],
            classes,
            n,
            labels,
            &mut self.grad[nl - 1],
        ))
    }

    /// The regularizers' penalties on the neuron layers' activations, with their gradients
    /// added to the layers' output gradients; also Σ activations and the neurons per image.
    fn activation_penalties(&mut self) -> (f64, f64, u64) {
        let mut penalty = 0.0;
        let mut activation_sum = 0.0;
        let mut neurons = 0u64;
        for (i, p) in self.plans.iter().enumerate() {
            if !p.neuron {
                continue;
            }
            activation_sum += kernels::sum(&self.out[i]);
            neurons += (p.channels * p.hw) as u64;
            let layer = RegularizedLayer {
                network: &self.network,
                index: i,
                timesteps: self.timesteps,
            };
            for r in self.regularizers.iter() {
                penalty += r.activation_penalty(&layer, &self.out[i], &mut self.grad[i]);
            }
        }
        (penalty, activation_sum, neurons)
    }

    /// Propagates layer `i`'s output gradient through its quantizer and batch norm, then
    /// through its op into its tensors' gradients and its sources' output gradients.
    fn layer_backward(&mut self, i: usize, n: usize) {
        let Self {
            plans,
            slots,
            quant,
            input,
            z,
            out,
            xt,
            grad,
            stats,
            dxt,
            ..
        } = self;
        let p = &plans[i];
        let (before, rest) = grad.split_at_mut(i);
        let d = &mut rest[0];
        if p.keeps_z() {
            neurons_backward(p, d, &z[i], &stats[i], slots, quant, n);
        }
        let src_value = |s: &Source| -> &[f32] {
            match s {
                Source::Input => input,
                Source::Layer(j) => &out[*j],
            }
        };
        match &p.plan {
            Plan::Conv(g) => with_weight_grads(slots, p, "conv has weights", |w, gw, gb| {
                let dx = match p.sources[0] {
                    Source::Input => None,
                    Source::Layer(j) => Some(before[j].as_mut_slice()),
                };
                kernels::conv_backward(g, w, src_value(&p.sources[0]), d, n, gw, gb, dx);
            }),
            Plan::Linear {
                inputs,
                outputs,
                src_c,
                src_hw,
            } => with_weight_grads(slots, p, "linear has weights", |w, gw, gb| {
                let wants_dx = matches!(p.sources[0], Source::Layer(_));
                if wants_dx {
                    resize(dxt, inputs * n);
                }
                kernels::linear_backward(
                    w,
                    &xt[i],
                    d,
                    *outputs,
                    *inputs,
                    n,
                    gw,
                    gb,
                    wants_dx.then_some(dxt.as_mut_slice()),
                );
                if let Source::Layer(j) = p.sources[0] {
                    kernels::unflatten_add(dxt, *src_c, *src_hw, n, &mut before[j]);
                }
            }),
            Plan::Pool { geom, max } => {
                if let Source::Layer(j) = p.sources[0] {
                    kernels::pool_backward(geom, *max, &out[j], d, &mut before[j]);
                }
            }
            Plan::Add => {
                for s in &p.sources {
                    if let Source::Layer(j) = s {
                        for (a, v) in before[*j].iter_mut().zip(d.iter()) {
                            *a += v;
                        }
                    }
                }
            }
        }
    }

    /// Adds the regularizers' penalties on the weights to `penalty`, and their gradients to
    /// the weights' gradients.
    fn add_weight_penalties(&mut self, mut penalty: f64) -> f64 {
        for (i, p) in self.plans.iter().enumerate() {
            let Some(wi) = p.weight else { continue };
            let layer = RegularizedLayer {
                network: &self.network,
                index: i,
                timesteps: self.timesteps,
            };
            let slot = &mut self.slots[wi];
            for r in self.regularizers.iter() {
                penalty += r.weight_penalty(&layer, &slot.value, &slot.shape, &mut slot.grad);
            }
        }
        penalty
    }

    fn check_batch(&self, x: &[f32], labels: &[u8]) -> Result<usize> {
        let len = self.network.input.numel() as usize;
        let n = labels.len();
        if n < 2 || x.len() != n * len {
            return Err(EngineError::Invalid(format!(
                "a training batch needs at least 2 images of {} values with a label each; got {} values and {n} labels",
                len,
                x.len()
            )));
        }
        Ok(n)
    }

    /// Loss, penalties and gradients for a batch without changing any tensor (BatchNorm
    /// running statistics included). For gradient checks and measurements.
    pub fn gradients(&mut self, x: &[f32], labels: &[u8]) -> Result<StepStats> {
        let n = self.check_batch(x, labels)?;
        self.forward(x, n, false);
        self.backward(labels, n)
    }

    /// The quantized outputs of every layer for a batch in training mode (batch statistics),
    /// channel-major; for measurements in tests.
    pub fn activations(&mut self, x: &[f32], labels: &[u8]) -> Result<Vec<Vec<f32>>> {
        let n = self.check_batch(x, labels)?;
        self.forward(x, n, false);
        Ok(self.out.clone())
    }

    /// One training step at learning rate `lr`: forward, backward, update.
    pub fn step(&mut self, x: &[f32], labels: &[u8], lr: f64) -> Result<StepStats> {
        let n = self.check_batch(x, labels)?;
        self.forward(x, n, true);
        let stats = self.backward(labels, n)?;
        if !stats.loss.is_finite() {
            return Err(EngineError::Invalid(format!(
                "the loss became {} at epoch {}: lower the learning rate",
                stats.loss,
                self.epoch + 1
            )));
        }
        let params = self
            .slots
            .iter_mut()
            .filter(|s| s.trained())
            .map(|s| optim::ParamMut {
                decay: s.role == Role::Weight,
                value: &mut s.value,
                grad: &s.grad,
            })
            .collect();
        self.optimizer.step(params, lr as f32);
        Ok(stats)
    }

    /// One epoch over `data` (shuffled and augmented as `cfg` says), updating at the rates of
    /// `schedule`; `progress` is called after every step with the epoch's running statistics.
    pub fn train_epoch(
        &mut self,
        data: &Dataset,
        cfg: &TrainConfig,
        schedule: &Schedule,
        mut progress: impl FnMut(usize, usize, &StepStats),
    ) -> Result<(StepStats, f64, f64)> {
        let steps = data.len() / cfg.batch;
        if steps == 0 {
            return Err(no_full_batch(cfg.batch, data.len()));
        }
        let order = shuffle(data.len(), cfg.seed, self.epoch);
        let aug = Augment::new(cfg, data);
        let start = Instant::now();
        let mut total = StepStats::default();
        let mut lr = 0.0;
        for s in 0..steps {
            let idx = &order[s * cfg.batch..(s + 1) * cfg.batch];
            let mut x = data.gather(idx);
            aug.apply(&mut x, idx, self.epoch);
            let labels: Vec<u8> = idx.iter().map(|i| data.labels[*i]).collect();
            lr = schedule.lr(self.optimizer.steps);
            let st = self.step(&x, &labels, lr)?;
            total.add(&st);
            progress(s + 1, steps, &total);
        }
        self.epoch += 1;
        Ok((total, lr, start.elapsed().as_secs_f64()))
    }

    /// QNN accuracy on (the first `samples` of, 0: all) `data`: the network compiled with
    /// BatchNorm folded, as it is converted, quantized with the training quantizer.
    pub fn test_accuracy(&self, data: &Dataset, samples: usize) -> Result<f64> {
        qnn_accuracy(
            &self.model()?,
            data,
            samples,
            &SnnConfig {
                timesteps: self.timesteps,
                threshold: self.quant.threshold,
                shift: self.quant.shift,
                ..SnnConfig::default()
            },
        )
    }
}

/// Accuracy of a model's QNN twin (BatchNorm folded) on (the first `samples` of) `data`.
pub fn qnn_accuracy(model: &Model, data: &Dataset, samples: usize, cfg: &SnnConfig) -> Result<f64> {
    let compiled = model.compile()?;
    let n = if samples == 0 {
        data.len()
    } else {
        samples.min(data.len())
    };
    let classes = compiled
        .network
        .layers
        .last()
        .map(|l| l.output.numel() as usize)
        .unwrap_or(0);
    let chunk = 32;
    let correct: usize = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|k| {
            let (a, b) = (k * chunk, ((k + 1) * chunk).min(n));
            let x = data.batch(a..b);
            let outs = twin_forward(&compiled, &x, b - a, cfg);
            let logits = outs.last().map(Vec::as_slice).unwrap_or(&[]);
            (0..b - a)
                .filter(|j| {
                    let row = &logits[j * classes..][..classes];
                    let mut best = 0;
                    for (c, v) in row.iter().enumerate() {
                        if *v > row[best] {
                            best = c;
                        }
                    }
                    best == data.labels[a + j] as usize
                })
                .count()
        })
        .sum();
    Ok(correct as f64 / n.max(1) as f64)
}

/// The order images are visited in during `epoch`: a seeded Fisher–Yates shuffle.
pub fn shuffle(n: usize, seed: u64, epoch: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut g = SplitMix64::stream(seed ^ 0x5348_5546_464c_4521, epoch as u64);
    for i in (1..n).rev() {
        let j = (g.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Random crops (after zero padding) and horizontal flips, seeded per image and epoch.
#[derive(Clone, Debug)]
struct Augment {
    pad: usize,
    flip: bool,
    seed: u64,
    shape: [usize; 3],
    /// Per channel, the value a black (zero) pixel has after normalization.
    fill: Vec<f32>,
}

impl Augment {
    fn new(cfg: &TrainConfig, data: &Dataset) -> Self {
        let fill = match &data.normalize {
            Some((mean, std)) => mean.iter().zip(std).map(|(m, s)| -m / s).collect(),
            None => vec![0.0; data.shape[0]],
        };
        Self {
            pad: cfg.crop_padding,
            flip: cfg.flip,
            seed: cfg.seed,
            shape: data.shape,
            fill,
        }
    }

    fn apply(&self, x: &mut [f32], indices: &[usize], epoch: u32) {
        if self.pad == 0 && !self.flip {
            return;
        }
        let [c, h, w] = self.shape;
        let len = c * h * w;
        let p = self.pad as isize;
        let mut img = vec![0.0f32; len];
        for (b, &idx) in indices.iter().enumerate() {
            let mut g = SplitMix64::stream(
                self.seed ^ 0x4155_474d_454e_5421,
                ((epoch as u64) << 32) | idx as u64,
            );
            let span = 2 * self.pad as u64 + 1;
            let dy = (g.next_u64() % span) as isize - p;
            let dx = (g.next_u64() % span) as isize - p;
            let flip = self.flip && g.next_u64() & 1 == 1;
            let src = &mut x[b * len..][..len];
            img.copy_from_slice(src);
            for ch in 0..c {
                for y in 0..h {
                    for xo in 0..w {
                        // Output pixel (y, xo) of the crop, read from the padded image at
                        // (y + dy, x + dx), where x is xo mirrored when flipping.
                        let xs = if flip { w - 1 - xo } else { xo };
                        let (iy, ix) = (y as isize + dy, xs as isize + dx);
                        src[(ch * h + y) * w + xo] =
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                self.fill[ch]
                            } else {
                                img[(ch * h + iy as usize) * w + ix as usize]
                            };
                    }
                }
            }
        }
    }
}

/// What [`run`] produced.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TrainOutcome {
    /// Epochs run in this call (after any resumed ones).
    pub history: Vec<EpochStats>,
    /// Epochs completed in total.
    pub epochs: u32,
    /// QNN accuracy on the test images at the end.
    pub test_accuracy: f64,
}

fn no_full_batch(batch: usize, images: usize) -> EngineError {
    EngineError::Invalid(format!(
        "[train] batch = {batch}: the {images} training images make no full batch (a last partial batch is dropped)"
    ))
}

/// Trains as `cfg` says (paths already resolved): initializes (seeded, from `init`, or from
/// `checkpoint` when resuming), runs the remaining epochs, measures the QNN on the test
/// images and saves the checkpoint after each. `on_epoch` sees every epoch's statistics;
/// `progress` every step (step, steps, running statistics).
pub fn run(
    cfg: &TrainConfig,
    network: Network,
    timesteps: u32,
    regularizers: Vec<Box<dyn Regularizer>>,
    base_dir: &Path,
    mut progress: impl FnMut(u32, usize, usize, &StepStats),
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<TrainOutcome> {
    let train = cfg.train_data(base_dir, &network)?;
    let test = cfg.test_data(base_dir, &network)?;
    let input = network.input;
    if [input.c as usize, input.h as usize, input.w as usize] != train.shape {
        return Err(EngineError::Invalid(format!(
            "network `{}` takes {input} inputs, the data set {} holds {}×{}×{} images",
            network.name,
            train.source.display(),
            train.shape[0],
            train.shape[1],
            train.shape[2]
        )));
    }
    if train.len() < cfg.batch {
        return Err(no_full_batch(cfg.batch, train.len()));
    }
    let mut trainer = if cfg.resume {
        checkpoint::resume(&cfg.checkpoint, network, cfg, timesteps, regularizers)?
    } else {
        let model = match &cfg.init {
            Some(p) => Model::load(network, p)?,
            None => init_model(network, cfg.seed)?,
        };
        Trainer::new(&model, cfg, timesteps, regularizers)?
    };
    let schedule = Schedule::new(cfg, train.len() / cfg.batch);
    if trainer.epoch < cfg.epochs {
        // A checkpoint that cannot be written should fail now, not after an epoch of work;
        // the starting state is a valid checkpoint to resume from.
        checkpoint::save(&cfg.checkpoint, &trainer, cfg.resume)?;
    }
    let mut history = Vec::new();
    while trainer.epoch < cfg.epochs {
        let epoch = trainer.epoch + 1;
        let (st, lr, secs) =
            trainer.train_epoch(&train, cfg, &schedule, |s, n, t| progress(epoch, s, n, t))?;
        let test_accuracy = trainer.test_accuracy(&test, 0)?;
        checkpoint::save(&cfg.checkpoint, &trainer, cfg.resume)?;
        let e = EpochStats {
            epoch,
            loss: st.loss,
            penalty: st.penalty,
            train_accuracy: st.correct as f64 / st.images.max(1) as f64,
            spike_rate: st.spike_rate(),
            test_accuracy,
            lr,
            seconds: secs,
            samples_per_s: st.images as f64 / secs.max(1e-9),
        };
        on_epoch(&e);
        history.push(e);
    }
    let test_accuracy = match history.last() {
        Some(e) => e.test_accuracy,
        None => trainer.test_accuracy(&test, 0)?,
    };
    Ok(TrainOutcome {
        history,
        epochs: trainer.epoch,
        test_accuracy,
    })
}
