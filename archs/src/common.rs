//! What the three first-principles architectures share: the dataflow-independent work of a
//! layer (synaptic events, MACs, neuron updates, spikes) and the parameters every one of them
//! takes. Each architecture then decides where every operand lives and what moving it costs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    ActionKind, Actions, ArchError, Category, ComputeOp, ConfigError, Format, Layer, LayerActivity,
    LayerKind, Network, Neuron, QnnFormat,
};

/// The order in which an SNN's layers and time steps are executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LoopOrder {
    /// A layer runs all T steps before the next layer starts: a weight fetched once serves
    /// every step (the inputs of all steps are kept for it).
    #[default]
    LayerMajor,
    /// Every layer runs step t before any layer runs step t+1 (streaming, lowest latency):
    /// weights that do not all stay on chip are fetched again every step.
    TimestepMajor,
}

impl LoopOrder {
    pub(crate) fn name(self) -> &'static str {
        match self {
            LoopOrder::LayerMajor => "layer-major",
            LoopOrder::TimestepMajor => "timestep-major",
        }
    }
}

/// How a direct-coded first layer (analog image at every step) is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DirectInput {
    /// The image is the same at every step, so its S MACs are done once and the resulting
    /// input current is stored and added to the membrane at every step.
    #[default]
    Once,
    /// The S MACs are repeated at every step (what a naive time-step loop does).
    EveryStep,
}

impl DirectInput {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DirectInput::Once => "once",
            DirectInput::EveryStep => "every-step",
        }
    }
}

/// Checks the bit widths of a format (1..=32) and T ≥ 1, naming the architecture.
pub(crate) fn check_format(arch: &str, format: &Format) -> Result<(), ArchError> {
    format.validate().map_err(|message| ArchError::Config {
        architecture: arch.to_string(),
        message: format!("format: {message}"),
    })
}

/// Error for a layer.
pub(crate) fn layer_error(arch: &str, layer: &Layer, message: String) -> ArchError {
    ArchError::Layer {
        architecture: arch.to_string(),
        layer: layer.name.clone(),
        message,
    }
}

/// A positive, finite number of KiB/MiB/… from the configuration, or a message naming `key`.
pub(crate) fn positive(key: &str, v: f64, what: &str) -> Result<f64, ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(ConfigError::new(format!("{v}: {what} must be a positive number")).at_key(key))
    }
}

/// A bit width from the configuration in 1..=64.
pub(crate) fn bits_param(key: &str, v: u32) -> Result<u32, ConfigError> {
    if (1..=64).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::new(format!("{v} bits is outside 1..=64")).at_key(key))
    }
}

/// The width at which an a-bit by b-bit multiplication is priced: an array multiplier's
/// energy grows with the number of partial products a·b, and tables scale a multiplier's
/// price with the square of its width, so √(a·b) (rounded up) keeps the product right.
pub(crate) fn mul_bits(a: u32, b: u32) -> u32 {
    ((a as f64 * b as f64).sqrt().ceil() as u32).max(1)
}

/// What a layer does, independent of the hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Convolution or linear layer: synapses carry stored weights.
    Weighted,
    /// Average pooling: fixed weights, an addition per input.
    AvgPool,
    /// Max pooling: a comparison per input.
    MaxPool,
    /// Residual sum: one addition per input element.
    Add,
}

/// Sizes of a layer as f64, the quantities every count is written in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub op: Op,
    /// Output neurons N.
    pub n: f64,
    /// Synapses S: valid taps, padding excluded (for an add: its input elements).
    pub s: f64,
    /// Stored weights W.
    pub w: f64,
    /// Input elements A (all sources).
    pub a: f64,
    /// Fan-in F.
    pub f: f64,
    /// Whether the outputs pass through a spiking neuron / activation quantizer.
    pub neuron: bool,
}

impl Dims {
    pub(crate) fn of(layer: &Layer) -> Self {
        let op = match layer.kind {
            LayerKind::Conv2d { .. } | LayerKind::Linear => Op::Weighted,
            LayerKind::AvgPool { .. } => Op::AvgPool,
            LayerKind::MaxPool { .. } => Op::MaxPool,
            LayerKind::Add => Op::Add,
        };
        let a = layer.input_size() as f64;
        Self {
            op,
            n: layer.neurons() as f64,
            s: if op == Op::Add {
                a
            } else {
                layer.synapses() as f64
            },
            w: layer.weights() as f64,
            a,
            f: layer.fan_in() as f64,
            neuron: layer.neuron,
        }
    }

    /// Whether the layer keeps state across time steps: weighted layers and adds accumulate
    /// into a membrane (or, without a neuron, into an accumulator read out later); pooling
    /// combines the spikes of one step only.
    pub(crate) fn stateful(&self) -> bool {
        matches!(self.op, Op::Weighted | Op::Add)
    }

    /// Synaptic operations that read a stored weight.
    pub(crate) fn weighted(&self) -> bool {
        self.op == Op::Weighted
    }
}

/// An SNN layer's work per inference.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SnnWork {
    /// Spike-driven synaptic operations: r_in·T·S (an add: r_in·T·A).
    pub events: f64,
    /// Spikes arriving at the layer: r_in·T·A.
    pub input_spikes: f64,
    /// Multiply-accumulates on an analog (direct-coded) input: S once, or S·T.
    pub analog_macs: f64,
    /// Analog input values read for those MACs (A once, or A·T).
    pub analog_inputs: f64,
    /// Additions of a stored input current, one per neuron per step (direct input, once).
    pub current_adds: f64,
    /// Neuron (or accumulator) updates: N·T for stateful layers.
    pub neuron_steps: f64,
    /// Threshold checks: N·T for layers with a neuron.
    pub thresholds: f64,
    /// Output spikes: r_out·T·N (a layer without a neuron forwards at its input's rate).
    pub out_spikes: f64,
    /// Resets after a spike (reset by subtraction): r_out·T·N for layers with a neuron.
    pub resets: f64,
}

impl SnnWork {
    pub(crate) fn of(d: &Dims, t: f64, act: &LayerActivity, direct: DirectInput) -> Self {
        let mut w = SnnWork::default();
        if act.analog_input {
            // Direct coding: the image is dense and the same at every step.
            let reps = match direct {
                DirectInput::Once => 1.0,
                DirectInput::EveryStep => t,
            };
            w.analog_macs = d.s * reps;
            w.analog_inputs = d.a * reps;
            if direct == DirectInput::Once && d.stateful() {
                w.current_adds = d.n * t;
            }
        } else {
            w.events = act.input_rate * t * d.s;
            w.input_spikes = act.input_rate * t * d.a;
        }
        if d.stateful() {
            w.neuron_steps = d.n * t;
        }
        if d.neuron {
            w.thresholds = d.n * t;
            w.resets = act.output_rate * t * d.n;
        }
        w.out_spikes = act.output_rate * t * d.n;
        w
    }
}

/// A QNN layer's work per inference.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QnnWork {
    /// Synaptic operations (MACs of a weighted layer, additions or comparisons otherwise):
    /// ρ_in·S with zero-skipping, S without.
    pub ops: f64,
    /// Input values read: ρ_in·A with zero-skipping, A without.
    pub inputs: f64,
    /// Activations quantized (one comparison/clamp each): N for layers with a neuron.
    pub quantize: f64,
    /// Output values written: ρ_out·N with zero-skipping (compressed), N without.
    pub outputs: f64,
    /// Bits of one input value: the image's for an analog first layer, else the activation's.
    pub input_bits: u32,
}

impl QnnWork {
    pub(crate) fn of(
        d: &Dims,
        q: &QnnFormat,
        act: &LayerActivity,
        zero_skipping: bool,
        image_bits: u32,
    ) -> Self {
        let rho_in = if zero_skipping {
            act.input_nonzero
        } else {
            1.0
        };
        let rho_out = if zero_skipping {
            act.output_nonzero
        } else {
            1.0
        };
        QnnWork {
            ops: rho_in * d.s,
            inputs: rho_in * d.a,
            quantize: if d.neuron { d.n } else { 0.0 },
            outputs: rho_out * d.n,
            input_bits: if act.analog_input {
                image_bits
            } else {
                q.activation_bits
            },
        }
    }
}

/// Records `count` actions unless there are none: a zero count costs nothing, and skipping it
/// keeps the price lookups of sweeps and root finding to the actions that matter.
#[inline]
pub(crate) fn put(out: &mut Actions, kind: ActionKind, category: Category, count: f64) {
    if count != 0.0 {
        out.push(kind, category, count);
    }
}

/// The arithmetic of a spiking layer's neurons, the same on every architecture (their
/// membrane accesses are not): the leak multiply of an LIF neuron every step, the threshold
/// comparison and the subtraction after each spike.
pub(crate) fn neuron_arithmetic(
    out: &mut Actions,
    neuron: Neuron,
    membrane_bits: u32,
    w: &SnnWork,
) {
    if let Neuron::Lif { .. } = neuron {
        put(
            out,
            ActionKind::compute(ComputeOp::Mul, membrane_bits),
            Category::Compute,
            w.neuron_steps,
        );
    }
    put(
        out,
        ActionKind::compute(ComputeOp::Compare, membrane_bits),
        Category::Compute,
        w.thresholds,
    );
    put(
        out,
        ActionKind::compute(ComputeOp::Add, membrane_bits),
        Category::Compute,
        w.resets,
    );
}

/// The arithmetic of a QNN layer's operations, the same on every architecture (their memory
/// accesses are not): a multiply and an add per MAC of a weighted layer, a comparison per
/// input of a max pool, an add per input of an average pool or residual sum.
pub(crate) fn qnn_arithmetic(out: &mut Actions, op: Op, q: &QnnFormat, w: &QnnWork) {
    let accb = q.accumulator_bits;
    if op == Op::Weighted {
        put(
            out,
            ActionKind::compute(ComputeOp::Mul, mul_bits(q.weight_bits, w.input_bits)),
            Category::Compute,
            w.ops,
        );
    }
    let kind = if op == Op::MaxPool {
        ComputeOp::Compare
    } else {
        ComputeOp::Add
    };
    put(
        out,
        ActionKind::compute(kind, accb),
        Category::Compute,
        w.ops,
    );
}

/// Σ over the network of a per-layer quantity.
pub(crate) fn network_sum(network: &Network, f: impl Fn(&Layer) -> f64) -> f64 {
    network.layers.iter().map(f).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_width_keeps_the_partial_product_count() {
        assert_eq!(mul_bits(8, 8), 8);
        assert_eq!(mul_bits(8, 2), 4);
        assert_eq!(mul_bits(8, 3), 5);
        assert_eq!(mul_bits(1, 1), 1);
    }
}
