//! What the built-in architectures share: parameters every one of them takes, checks of the
//! formats they are given, and a layer's sizes for rules that count weightless layers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{ArchError, ConfigError, Format, Layer, LayerKind};

/// When an SNN layer runs its time steps relative to its other loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TimeOrder {
    /// The mapper places T anywhere in the layer's loop nest (a layer runs all its steps
    /// before the next layer: layer-major).
    #[default]
    LayerMajor,
    /// T is the outermost loop of the layer: every step streams through the whole layer
    /// (what a chip whose layers advance one step at a time does).
    TimestepMajor,
    /// All of T inside the chip: a tile of neurons runs every step before the next tile, so
    /// membranes never leave it (PTB, SpinalFlow, SATA).
    TimeBatched,
}

impl TimeOrder {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeOrder::LayerMajor => "layer-major",
            TimeOrder::TimestepMajor => "timestep-major",
            TimeOrder::TimeBatched => "time-batched",
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
    /// Input elements A (all sources).
    pub a: f64,
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
            a,
        }
    }
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
