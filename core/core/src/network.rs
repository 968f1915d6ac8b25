//! Networks as the energy models see them: an ordered list of layers with shapes and the
//! wiring between them, plus the per-layer quantities every model is written in terms of
//! (neurons N, fan-in F, synapses S = valid taps ≤ N·F, weights W, input size A).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::WorkloadError;
use crate::format::{Neuron, Reset};

/// A feature-map shape, channels × height × width. Vectors are `c × 1 × 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    /// Channels (or features of a vector).
    pub c: u32,
    /// Height.
    pub h: u32,
    /// Width.
    pub w: u32,
}

impl Shape {
    /// A `c × h × w` feature map.
    pub const fn new(c: u32, h: u32, w: u32) -> Self {
        Self { c, h, w }
    }

    /// A flat vector of `n` features.
    pub const fn vector(n: u32) -> Self {
        Self { c: n, h: 1, w: 1 }
    }

    /// Number of elements.
    pub fn numel(&self) -> u64 {
        // Saturates rather than wraps: a shape too large to count fails validation instead
        // of passing as a small one.
        (self.c as u64)
            .saturating_mul(self.h as u64)
            .saturating_mul(self.w as u64)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}×{}", self.c, self.h, self.w)
    }
}

/// What a layer computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum LayerKind {
    /// 2-D convolution.
    Conv2d {
        /// Kernel height and width.
        kernel: [u32; 2],
        /// Stride along height and width.
        stride: [u32; 2],
        /// Zero padding along height and width.
        padding: [u32; 2],
        /// Channel groups (1 for an ordinary convolution).
        groups: u32,
    },
    /// Fully connected layer over the flattened input.
    Linear,
    /// Average pooling over square windows.
    AvgPool {
        /// Window side.
        kernel: u32,
        /// Stride.
        stride: u32,
        /// Zero padding.
        padding: u32,
        /// The window is summed rather than averaged (NIR's and Sinabs' `SumPool2d`): the
        /// same events forwarded, each worth k² times more to the next layer.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sum: bool,
    },
    /// Max pooling over square windows.
    MaxPool {
        /// Window side.
        kernel: u32,
        /// Stride.
        stride: u32,
        /// Padding.
        padding: u32,
    },
    /// Element-wise sum of two or more equally shaped inputs (residual connection).
    Add,
}

impl LayerKind {
    /// Short name used in tables.
    pub fn op_name(&self) -> &'static str {
        match self {
            LayerKind::Conv2d { .. } => "conv2d",
            LayerKind::Linear => "linear",
            LayerKind::AvgPool { sum: true, .. } => "sumpool",
            LayerKind::AvgPool { .. } => "avgpool",
            LayerKind::MaxPool { .. } => "maxpool",
            LayerKind::Add => "add",
        }
    }
}

/// Where a layer reads its input from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The network input (image or encoded spikes).
    Input,
    /// The output of an earlier layer, by index.
    Layer(usize),
}

/// One layer of a network with its shapes and wiring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Name, following the PyTorch module path where there is one (`features.0`, `layer1.0.conv1`).
    pub name: String,
    /// What the layer computes.
    pub kind: LayerKind,
    /// Shape of the (first) input.
    pub input: Shape,
    /// Shape of the output.
    pub output: Shape,
    /// Producers of the inputs, in order.
    pub sources: Vec<Source>,
    /// Whether the output passes through a spiking neuron (SNN) or activation quantizer (QNN).
    /// False for pooling layers, for the classifier readout and for convolutions whose result
    /// is summed into a residual before the neuron.
    pub neuron: bool,
    /// Whether the layer has a bias vector.
    pub bias: bool,
    /// Name of the BatchNorm module that follows this layer, if any (folded for inference).
    pub batchnorm: Option<String>,
    /// The layer's own neuron model and parameters, where it has one: a spiking model on a
    /// layer with `neuron`, or a non-spiking integrator (LI, I) on the readout. Layers
    /// without take the analysis's `neuron` and the engine's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neuron_model: Option<LayerNeuron>,
}

/// A layer's own neuron: the model and the parameters the engine runs it with. Architectures
/// price the model ([`Neuron`]); the engine also takes the threshold, reset and input gains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerNeuron {
    /// The model and its decay factors.
    #[serde(flatten)]
    pub model: Neuron,
    /// Firing threshold θ (None: the engine's `threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// What a spike does to the membrane (None: the engine's `reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
    /// Factor on the input current before it enters the membrane (NIR: dt·R/τ; 1: none).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub gain: f64,
    /// CubaLIF: factor on the input before it enters the synaptic current (NIR:
    /// dt·w_in/τ_syn).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub synaptic_gain: f64,
    /// The neuron's own name where its source names it apart from the layer (a NIR node, a
    /// PyTorch module): exports keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn one() -> f64 {
    1.0
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

impl LayerNeuron {
    /// `model` with the engine's threshold and reset and no gains.
    pub fn new(model: Neuron) -> Self {
        Self {
            model,
            threshold: None,
            reset: None,
            gain: 1.0,
            synaptic_gain: 1.0,
            name: None,
        }
    }

    /// Checks every parameter; the message names the key and its value.
    pub fn validate(&self) -> Result<(), String> {
        self.model.validate()?;
        if let Some(t) = self.threshold
            && !(t.is_finite() && t > 0.0)
        {
            return Err(format!(
                "threshold = {t} must be a positive number: a neuron fires when its membrane reaches it"
            ));
        }
        for (key, g) in [("gain", self.gain), ("synaptic_gain", self.synaptic_gain)] {
            if !(g.is_finite() && g > 0.0) {
                return Err(format!("{key} = {g} must be a positive number"));
            }
        }
        if self.synaptic_gain != 1.0 && !matches!(self.model, Neuron::CubaLif { .. }) {
            return Err(format!(
                "synaptic_gain applies to `cuba-lif` neurons, not `{}`",
                self.model.name()
            ));
        }
        if !self.model.spiking() && (self.threshold.is_some() || self.reset.is_some()) {
            return Err(format!(
                "a `{}` readout does not fire: it has no threshold or reset",
                self.model.name()
            ));
        }
        Ok(())
    }
}

impl Layer {
    /// Output neurons N.
    pub fn neurons(&self) -> u64 {
        self.output.numel()
    }

    /// Inputs each output neuron receives (F).
    pub fn fan_in(&self) -> u64 {
        match &self.kind {
            LayerKind::Conv2d { kernel, groups, .. } => {
                (self.input.c / (*groups).max(1)) as u64 * kernel[0] as u64 * kernel[1] as u64
            }
            LayerKind::Linear => self.input.numel(),
            LayerKind::AvgPool { kernel, .. } | LayerKind::MaxPool { kernel, .. } => {
                *kernel as u64 * *kernel as u64
            }
            LayerKind::Add => self.sources.len() as u64,
        }
    }

    /// Synapses S: the connections between an existing input and an output, one inference's
    /// MACs. A convolution or pooling window hanging over the border reaches zero padding,
    /// which is no input: those taps carry no spike and need no MAC, so S counts valid taps
    /// only and is below N·F for padded layers (VGG16 on CIFAR-10: 247 M, not 313 M).
    pub fn synapses(&self) -> u64 {
        match &self.kind {
            LayerKind::Conv2d {
                kernel,
                stride,
                padding,
                groups,
            } => {
                // Saturating: a product beyond u64 fails validation above 2^53 instead of
                // wrapping to a small count.
                let per_channel = valid_taps(
                    self.input.h,
                    self.output.h,
                    kernel[0],
                    stride[0],
                    padding[0],
                )
                .saturating_mul(valid_taps(
                    self.input.w,
                    self.output.w,
                    kernel[1],
                    stride[1],
                    padding[1],
                ));
                (self.output.c as u64)
                    .saturating_mul((self.input.c / (*groups).max(1)) as u64)
                    .saturating_mul(per_channel)
            }
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
            } => (self.output.c as u64)
                .saturating_mul(valid_taps(
                    self.input.h,
                    self.output.h,
                    *kernel,
                    *stride,
                    *padding,
                ))
                .saturating_mul(valid_taps(
                    self.input.w,
                    self.output.w,
                    *kernel,
                    *stride,
                    *padding,
                )),
            LayerKind::Linear | LayerKind::Add => self.dense_synapses(),
        }
    }

    /// N·F: the taps of every output including those on zero padding (what published MAC
    /// counts of padded networks give).
    pub fn dense_synapses(&self) -> u64 {
        self.neurons().saturating_mul(self.fan_in())
    }

    /// Stored weights W (excluding bias and BatchNorm parameters).
    pub fn weights(&self) -> u64 {
        match &self.kind {
            LayerKind::Conv2d { kernel, groups, .. } => (self.output.c as u64)
                .saturating_mul((self.input.c / (*groups).max(1)) as u64)
                .saturating_mul(kernel[0] as u64)
                .saturating_mul(kernel[1] as u64),
            LayerKind::Linear => self.output.numel().saturating_mul(self.input.numel()),
            _ => 0,
        }
    }

    /// Trainable parameters: weights, bias, and the scale and shift of a BatchNorm.
    pub fn parameters(&self) -> u64 {
        let bias = if self.bias { self.output.c as u64 } else { 0 };
        let bn = if self.batchnorm.is_some() {
            2 * self.output.c as u64
        } else {
            0
        };
        self.weights().saturating_add(bias).saturating_add(bn)
    }

    /// Input activations A read by the layer (all inputs for an add).
    pub fn input_size(&self) -> u64 {
        self.input
            .numel()
            .saturating_mul(self.sources.len().max(1) as u64)
    }

    /// Whether the layer multiplies by stored weights (convolution or linear).
    pub fn is_weighted(&self) -> bool {
        matches!(self.kind, LayerKind::Conv2d { .. } | LayerKind::Linear)
    }

    /// How often each stored weight is used per inference (S / W); zero for weightless layers.
    pub fn weight_reuse(&self) -> f64 {
        let w = self.weights();
        if w == 0 {
            0.0
        } else {
            self.synapses() as f64 / w as f64
        }
    }
}

/// Σ over the `output` positions along one axis of the kernel taps that land inside an input
/// of `input` elements (the rest fall on padding).
///
/// In closed form, so that a layer billions of elements wide costs as little as a small one:
/// the taps of output `o` are `min(start + kernel, input) − max(start, 0)` (at least 0) with
/// `start = o·stride − padding`, which is linear in `o` between the positions where `start`
/// crosses 0, `input`, `input − kernel` or `−kernel`; each such run is an arithmetic series.
fn valid_taps(input: u32, output: u32, kernel: u32, stride: u32, padding: u32) -> u64 {
    let (h, o_end, k, s, p) = (
        input as i128,
        output as i128,
        kernel as i128,
        stride as i128,
        padding as i128,
    );
    let taps = |o: i128| {
        let start = o * s - p;
        (start.saturating_add(k).min(h) - start.max(0)).max(0)
    };
    if s == 0 {
        return u64::try_from(taps(0) * o_end).unwrap_or(u64::MAX);
    }
    // The first output whose start reaches `c`: ⌈(c + p) / s⌉.
    let first_reaching = |c: i128| -(-(c + p)).div_euclid(s);
    let mut cuts: Vec<i128> = [0, h, h - k, -k]
        .into_iter()
        .map(|c| first_reaching(c).clamp(0, o_end))
        .chain([0, o_end])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let total: i128 = cuts
        .windows(2)
        .map(|w| (w[1] - w[0]) * (taps(w[0]) + taps(w[1] - 1)) / 2)
        .sum();
    u64::try_from(total).unwrap_or(u64::MAX)
}

/// How the network input reaches the first layer of the SNN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum InputCoding {
    /// The first layer receives the analog image at every time step (direct coding, as in the
    /// reference code): its synaptic work is multiply-accumulate, not spike-driven.
    #[default]
    Direct,
    /// The image is encoded as Bernoulli spike trains; the first layer is spike-driven too.
    Rate,
}

/// A network: named, with its input shape and its layers in execution order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Name, e.g. `vgg16-cifar10`.
    pub name: String,
    /// Input shape.
    pub input: Shape,
    /// Layers in execution order; sources always point backwards.
    pub layers: Vec<Layer>,
}

/// Totals over a network, used by reports and by models that work with averages.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct NetworkTotals {
    /// Σ N over weighted layers.
    pub neurons: u64,
    /// Σ S over weighted layers (valid taps: MACs of one dense inference without padding).
    pub synapses: u64,
    /// Σ W.
    pub weights: u64,
    /// Trainable parameters.
    pub parameters: u64,
}

impl NetworkTotals {
    /// Average fan-in F = S / N over weighted layers.
    pub fn mean_fan_in(&self) -> f64 {
        self.synapses as f64 / self.neurons.max(1) as f64
    }

    /// Average weight reuse R = S / W over weighted layers.
    pub fn mean_reuse(&self) -> f64 {
        self.synapses as f64 / self.weights.max(1) as f64
    }
}

impl Network {
    /// Totals over weighted layers.
    pub fn totals(&self) -> NetworkTotals {
        let mut t = NetworkTotals::default();
        for l in &self.layers {
            t.parameters = t.parameters.saturating_add(l.parameters());
            if l.is_weighted() {
                t.neurons = t.neurons.saturating_add(l.neurons());
                t.synapses = t.synapses.saturating_add(l.synapses());
                t.weights = t.weights.saturating_add(l.weights());
            }
        }
        t
    }

    /// Index of a layer by name.
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// Checks that every layer has non-zero sizes, sources point backwards, names are unique and
    /// shapes agree with the wiring. Architectures and the analysis rely on this having passed.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        let err = |layer: &str, message: String| WorkloadError::Layer {
            network: self.name.clone(),
            layer: layer.to_string(),
            message,
        };
        if self.layers.is_empty() {
            return Err(WorkloadError::Empty {
                network: self.name.clone(),
            });
        }
        if self.layers.len() > MAX_LAYERS {
            return Err(err(
                "<network>",
                format!(
                    "{} layers; at most {MAX_LAYERS} are analysed (the deepest published networks have a few hundred)",
                    self.layers.len()
                ),
            ));
        }
        if self.input.numel() == 0 {
            return Err(err(
                "<input>",
                format!("input shape {} is empty", self.input),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, l) in self.layers.iter().enumerate() {
            if !seen.insert(l.name.as_str()) {
                return Err(err(&l.name, "layer name is used twice".into()));
            }
            self.check_layer(i, l).map_err(|m| err(&l.name, m))?;
        }
        let t = self.totals();
        for (what, n) in [("synapses", t.synapses), ("parameters", t.parameters)] {
            if n > MAX_COUNT {
                return Err(err(
                    "<network>",
                    format!("{what} over all layers exceed 2^53, the largest count kept exactly"),
                ));
            }
        }
        Ok(())
    }

    /// Layer `i` on its own: what is wrong with it, if anything.
    fn check_layer(&self, i: usize, l: &Layer) -> Result<(), String> {
        if l.input.numel() == 0 || l.output.numel() == 0 {
            return Err(format!(
                "zero-sized layer: input {} output {}",
                l.input, l.output
            ));
        }
        self.check_sources(i, l)?;
        match &l.kind {
            LayerKind::Conv2d { groups, .. }
                if *groups == 0
                    || !l.input.c.is_multiple_of(*groups)
                    || !l.output.c.is_multiple_of(*groups) =>
            {
                return Err(format!(
                    "groups = {groups} does not divide channels {} → {}",
                    l.input.c, l.output.c
                ));
            }
            LayerKind::Add if l.sources.len() < 2 => {
                return Err("an add needs at least two inputs".into());
            }
            _ => {}
        }
        if l.fan_in() == 0 {
            return Err("fan-in is zero".into());
        }
        if let Some(n) = &l.neuron_model {
            self.check_neuron_model(i, l, n)?;
        }
        check_counts(l)
    }

    /// Layer `i` reads from layers that run before it, in shapes that match its input.
    fn check_sources(&self, i: usize, l: &Layer) -> Result<(), String> {
        if l.sources.is_empty() {
            return Err("layer has no input".into());
        }
        for s in &l.sources {
            let shape = match *s {
                Source::Input => self.input,
                Source::Layer(j) if j < i => self.layers[j].output,
                Source::Layer(j) => {
                    return Err(format!(
                        "input from layer #{j}, which does not run before it"
                    ));
                }
            };
            let expected_in = match l.kind {
                LayerKind::Linear => shape.numel() == l.input.numel(),
                _ => shape == l.input,
            };
            if !expected_in {
                return Err(format!(
                    "input shape {} does not match its source's {}",
                    l.input, shape
                ));
            }
        }
        Ok(())
    }

    /// Layer `i`'s own neuron `n`: valid, spiking exactly where the layer has neurons, and an
    /// integrator only as the last layer's readout.
    fn check_neuron_model(&self, i: usize, l: &Layer, n: &LayerNeuron) -> Result<(), String> {
        n.validate().map_err(|m| format!("neuron: {m}"))?;
        if n.model.spiking() != l.neuron {
            return Err(if l.neuron {
                format!(
                    "a `{}` integrator does not fire: a layer whose spikes feed on needs `if`, `lif` or `cuba-lif`",
                    n.model.name()
                )
            } else {
                format!(
                    "a spiking `{}` neuron on a layer without neurons",
                    n.model.name()
                )
            });
        }
        if !n.model.spiking() && i + 1 != self.layers.len() {
            return Err(format!(
                "a `{}` integrator is a readout: only the last layer may have one",
                n.model.name()
            ));
        }
        Ok(())
    }
}

/// Every count of layer `l` is kept exactly in an f64 (at most 2^53).
fn check_counts(l: &Layer) -> Result<(), String> {
    for (what, n) in [
        ("inputs", l.input_size()),
        ("neurons", l.neurons()),
        ("fan-in", l.fan_in()),
        ("synapses (neurons × fan-in)", l.synapses()),
        ("parameters", l.parameters()),
    ] {
        if n > MAX_COUNT {
            return Err(format!(
                "{what} = {} exceed 2^53, the largest count kept exactly (input {}, output {})",
                if n == u64::MAX {
                    "more than 2^64".to_string()
                } else {
                    n.to_string()
                },
                l.input,
                l.output
            ));
        }
    }
    Ok(())
}

/// Builds networks layer by layer, computing output shapes the way PyTorch does.
///
/// Each method appends a layer that reads from the most recent one (or from the sources given)
/// and makes it the current layer.
#[derive(Debug)]
pub struct NetworkBuilder {
    net: Network,
    current: Source,
}

/// The most layers a network may have: bounds the work and memory of an analysis whatever
/// the pipeline lists.
pub const MAX_LAYERS: usize = 10_000;

/// The largest count (neurons, synapses, parameters) a network may have: counts become f64
/// actions, exact up to 2^53.
pub const MAX_COUNT: u64 = 1 << 53;

fn conv_out(size: u32, kernel: u32, stride: u32, padding: u32) -> Result<u32, String> {
    // In u64: `size + 2·padding` overflows u32 for paddings above 2^31.
    let padded = size as u64 + 2 * padding as u64;
    if kernel == 0 || stride == 0 {
        return Err(format!(
            "kernel {kernel} and stride {stride} must be positive"
        ));
    }
    if padded < kernel as u64 {
        return Err(format!(
            "kernel {kernel} is larger than the padded input {padded}"
        ));
    }
    let out = (padded - kernel as u64) / stride as u64 + 1;
    u32::try_from(out).map_err(|_| {
        format!("output size {out} (padding {padding}) exceeds the largest size, 2^32 − 1")
    })
}

impl NetworkBuilder {
    /// Starts a network with the given input shape.
    pub fn new(name: impl Into<String>, input: Shape) -> Self {
        Self {
            net: Network {
                name: name.into(),
                input,
                layers: Vec::new(),
            },
            current: Source::Input,
        }
    }

    /// The layer the next one will read from.
    pub fn current(&self) -> Source {
        self.current
    }

    /// Makes `source` the input of the next layer (to start a residual branch).
    pub fn set_current(&mut self, source: Source) -> &mut Self {
        self.current = source;
        self
    }

    /// Output shape of a source.
    pub fn shape_of(&self, source: Source) -> Shape {
        match source {
            Source::Input => self.net.input,
            Source::Layer(i) => self.net.layers[i].output,
        }
    }

    fn push(&mut self, layer: Layer) -> Source {
        self.net.layers.push(layer);
        self.current = Source::Layer(self.net.layers.len() - 1);
        self.current
    }

    fn shape_error(&self, name: &str, message: String) -> WorkloadError {
        WorkloadError::Layer {
            network: self.net.name.clone(),
            layer: name.to_string(),
            message,
        }
    }

    /// Appends a convolution (with a spiking neuron after it unless `neuron` is false).
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: impl Into<String>,
        out_channels: u32,
        kernel: u32,
        stride: u32,
        padding: u32,
        bias: bool,
        batchnorm: Option<String>,
        neuron: bool,
    ) -> Result<Source, WorkloadError> {
        let name = name.into();
        let input = self.shape_of(self.current);
        let h =
            conv_out(input.h, kernel, stride, padding).map_err(|m| self.shape_error(&name, m))?;
        let w =
            conv_out(input.w, kernel, stride, padding).map_err(|m| self.shape_error(&name, m))?;
        Ok(self.push(Layer {
            name,
            kind: LayerKind::Conv2d {
                kernel: [kernel, kernel],
                stride: [stride, stride],
                padding: [padding, padding],
                groups: 1,
            },
            input,
            output: Shape::new(out_channels, h, w),
            sources: vec![self.current],
            neuron,
            bias,
            batchnorm,
            neuron_model: None,
        }))
    }

    /// Splits the last layer, a convolution, into `groups` channel groups (depthwise when
    /// `groups` equals its input channels); [`Network::validate`] checks the division.
    pub fn groups(&mut self, groups: u32) -> Result<&mut Self, WorkloadError> {
        let network = self.net.name.clone();
        match self.net.layers.last_mut() {
            Some(Layer {
                kind: LayerKind::Conv2d { groups: g, .. },
                ..
            }) => {
                *g = groups;
                Ok(self)
            }
            last => Err(WorkloadError::Layer {
                network,
                layer: last.map(|l| l.name.clone()).unwrap_or_default(),
                message: "channel groups apply to convolutions only".into(),
            }),
        }
    }

    /// Sets whether the last layer's output passes through a neuron: a residual add is built
    /// with one, and a sum read as it is by the next layer has none.
    pub fn neuron(&mut self, neuron: bool) -> &mut Self {
        if let Some(l) = self.net.layers.last_mut() {
            l.neuron = neuron;
        }
        self
    }

    /// Appends a fully connected layer over the flattened current output.
    pub fn linear(
        &mut self,
        name: impl Into<String>,
        out_features: u32,
        bias: bool,
        neuron: bool,
    ) -> Source {
        let input = self.shape_of(self.current);
        self.push(Layer {
            name: name.into(),
            kind: LayerKind::Linear,
            input,
            output: Shape::vector(out_features),
            sources: vec![self.current],
            neuron,
            bias,
            batchnorm: None,
            neuron_model: None,
        })
    }

    /// Appends average (`max = false`) or max pooling.
    pub fn pool(
        &mut self,
        name: impl Into<String>,
        max: bool,
        kernel: u32,
        stride: u32,
        padding: u32,
    ) -> Result<Source, WorkloadError> {
        let name = name.into();
        let input = self.shape_of(self.current);
        let h =
            conv_out(input.h, kernel, stride, padding).map_err(|m| self.shape_error(&name, m))?;
        let w =
            conv_out(input.w, kernel, stride, padding).map_err(|m| self.shape_error(&name, m))?;
        let kind = if max {
            LayerKind::MaxPool {
                kernel,
                stride,
                padding,
            }
        } else {
            LayerKind::AvgPool {
                kernel,
                stride,
                padding,
                sum: false,
            }
        };
        Ok(self.push(Layer {
            name,
            kind,
            input,
            output: Shape::new(input.c, h, w),
            sources: vec![self.current],
            neuron: false,
            bias: false,
            batchnorm: None,
            neuron_model: None,
        }))
    }

    /// Appends an element-wise sum of `sources` followed by a spiking neuron.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        sources: &[Source],
    ) -> Result<Source, WorkloadError> {
        let name = name.into();
        let shapes: Vec<Shape> = sources.iter().map(|s| self.shape_of(*s)).collect();
        if shapes.len() < 2 {
            return Err(self.shape_error(&name, "an add needs at least two inputs".into()));
        }
        if let Some(bad) = shapes.iter().find(|s| **s != shapes[0]) {
            return Err(self.shape_error(
                &name,
                format!("cannot add shapes {} and {}", shapes[0], bad),
            ));
        }
        Ok(self.push(Layer {
            name,
            kind: LayerKind::Add,
            input: shapes[0],
            output: shapes[0],
            sources: sources.to_vec(),
            neuron: true,
            bias: false,
            batchnorm: None,
            neuron_model: None,
        }))
    }

    /// Gives the last layer its own neuron; [`Network::validate`] checks it fits the layer.
    pub fn neuron_model(&mut self, neuron: LayerNeuron) -> &mut Self {
        if let Some(l) = self.net.layers.last_mut() {
            l.neuron = neuron.model.spiking();
            l.neuron_model = Some(neuron);
        }
        self
    }

    /// Makes the last layer, an average pool, sum its window instead.
    pub fn sum_pool(&mut self) -> Result<&mut Self, WorkloadError> {
        let network = self.net.name.clone();
        match self.net.layers.last_mut() {
            Some(Layer {
                kind: LayerKind::AvgPool { sum, .. },
                ..
            }) => {
                *sum = true;
                Ok(self)
            }
            last => Err(WorkloadError::Layer {
                network,
                layer: last.map(|l| l.name.clone()).unwrap_or_default(),
                message: "only an average pool can sum its window instead".into(),
            }),
        }
    }

    /// Finishes and validates the network.
    pub fn finish(self) -> Result<Network, WorkloadError> {
        self.net.validate()?;
        Ok(self.net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taps of a layer counted one by one: every output position, every kernel position,
    /// kept when it lands inside the input.
    fn brute_force(input: Shape, out_c: u32, k: u32, stride: u32, pad: u32, per_out_c: u64) -> u64 {
        let oh = (input.h + 2 * pad - k) / stride + 1;
        let ow = (input.w + 2 * pad - k) / stride + 1;
        let mut n = 0u64;
        for p in 0..oh as i64 {
            for q in 0..ow as i64 {
                for r in 0..k as i64 {
                    for s in 0..k as i64 {
                        let (y, x) = (
                            p * stride as i64 - pad as i64 + r,
                            q * stride as i64 - pad as i64 + s,
                        );
                        if (0..input.h as i64).contains(&y) && (0..input.w as i64).contains(&x) {
                            n += 1;
                        }
                    }
                }
            }
        }
        n * out_c as u64 * per_out_c
    }

    #[test]
    fn valid_taps_in_closed_form_equal_the_count_output_by_output() {
        let by_output = |input: u32, output: u32, kernel: u32, stride: u32, padding: u32| {
            (0..output as i64)
                .map(|o| {
                    let start = o * stride as i64 - padding as i64;
                    let hi = (start + kernel as i64).min(input as i64);
                    (hi - start.max(0)).max(0) as u64
                })
                .sum::<u64>()
        };
        for input in 1..12 {
            for kernel in 1..8 {
                for stride in 1..4 {
                    for padding in 0..5 {
                        // Outputs beyond the usual formula too: some start past the input.
                        for output in 0..(input + 2 * padding) / stride + 3 {
                            assert_eq!(
                                valid_taps(input, output, kernel, stride, padding),
                                by_output(input, output, kernel, stride, padding),
                                "input {input} output {output} k{kernel} s{stride} p{padding}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_layer_two_billion_wide_is_counted_at_once() {
        // 2·10⁹ positions with a 3-tap kernel and padding 1: all but the two edge taps.
        assert_eq!(
            valid_taps(2_000_000_000, 2_000_000_000, 3, 1, 1),
            3 * 2_000_000_000 - 2
        );
    }

    #[test]
    fn synapses_of_padded_convolutions_and_pools_are_their_valid_taps() {
        for (h, w) in [(7, 7), (8, 5), (3, 3), (1, 6)] {
            for (k, stride, pad) in [
                (3, 1, 1),
                (3, 2, 1),
                (5, 1, 2),
                (1, 1, 0),
                (3, 1, 0),
                (2, 2, 0),
                (3, 2, 0),
                (7, 2, 3),
            ] {
                let input = Shape::new(3, h, w);
                if h + 2 * pad < k || w + 2 * pad < k {
                    continue;
                }
                let mut b = NetworkBuilder::new("n", input);
                b.conv("c", 4, k, stride, pad, false, None, true).unwrap();
                let conv = b.finish().unwrap().layers.remove(0);
                assert_eq!(
                    conv.synapses(),
                    brute_force(input, 4, k, stride, pad, 3),
                    "conv {h}×{w} k{k} s{stride} p{pad}"
                );
                assert!(conv.synapses() <= conv.dense_synapses());
                if pad == 0 {
                    assert_eq!(conv.synapses(), conv.dense_synapses());
                }
                if 2 * pad <= k {
                    let mut b = NetworkBuilder::new("n", input);
                    b.pool("p", true, k, stride, pad).unwrap();
                    let pool = b.finish().unwrap().layers.remove(0);
                    assert_eq!(
                        pool.synapses(),
                        brute_force(input, 3, k, stride, pad, 1),
                        "pool {h}×{w} k{k} s{stride} p{pad}"
                    );
                }
            }
        }
    }
}
