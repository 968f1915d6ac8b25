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

/// The widths an a-bit by b-bit multiplication is priced at, each with its share of the
/// operation. An array multiplier's energy grows with its a·b partial products, and tables
/// price a square multiplier of width w (w² partial products); when a·b is not a square,
/// the price is interpolated in partial products between the two widths whose squares
/// enclose it, which is exact for tables scaling with the square of the width (rounding
/// √(a·b) up overpriced an 8 × 5-bit multiply by 49/40).
pub(crate) fn mul_widths(a: u32, b: u32) -> [(u32, f64); 2] {
    let products = (a as u64 * b as u64).max(1);
    let lo = products.isqrt();
    if lo * lo == products {
        return [(lo as u32, 1.0), (lo as u32 + 1, 0.0)];
    }
    let hi = lo + 1;
    let upper = (products - lo * lo) as f64 / (hi * hi - lo * lo) as f64;
    [(lo as u32, 1.0 - upper), (hi as u32, upper)]
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
    /// Product of two activations: mapped like a weighted layer, both operands streamed.
    Product,
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
            LayerKind::Product { .. } => Op::Product,
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
    fn a_multiply_is_priced_at_its_partial_product_count() {
        assert_eq!(mul_widths(8, 8), [(8, 1.0), (9, 0.0)]);
        assert_eq!(mul_widths(8, 2), [(4, 1.0), (5, 0.0)]);
        assert_eq!(mul_widths(1, 1), [(1, 1.0), (2, 0.0)]);
        // On a table whose price grows with the square of the width, the mix prices exactly
        // a·b partial products.
        for (a, b) in [(8, 3), (8, 4), (8, 5), (8, 6), (16, 5), (3, 1)] {
            let priced: f64 = mul_widths(a, b)
                .iter()
                .map(|&(w, share)| share * (w * w) as f64)
                .sum();
            assert!(
                (priced - (a * b) as f64).abs() < 1e-12,
                "{a} x {b}: {priced}"
            );
            let [(lo, s_lo), (hi, s_hi)] = mul_widths(a, b);
            assert_eq!(hi, lo + 1);
            assert!((s_lo + s_hi - 1.0).abs() < 1e-15 && s_lo > 0.0 && s_hi > 0.0);
        }
    }
}
