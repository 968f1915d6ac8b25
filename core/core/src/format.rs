//! Number formats: how an SNN or its quantized baseline represents weights, activations and
//! neuron state. Architectures read bit widths from here to size every access.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The neuron model: what a layer's neurons do every time step, hence what their epilogue
/// costs. The spiking models fire; the integrators are non-spiking readouts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "model")]
pub enum Neuron {
    /// Integrate-and-fire: no leak, so a neuron with no input costs only its threshold check.
    #[default]
    If,
    /// Leaky integrate-and-fire: the membrane decays by `leak` every step, one extra
    /// multiply (or shift) per neuron per step.
    Lif {
        /// Fraction of the membrane kept per step (0 < leak ≤ 1).
        leak: f64,
    },
    /// Current-based LIF (NIR's `CubaLIF`, snnTorch's `Synaptic`): a synaptic current that
    /// decays by `synaptic_leak` and receives the input, and a membrane that decays by `leak`
    /// and receives the current. A second state per neuron, read and written every step, and
    /// two multiplies.
    CubaLif {
        /// Fraction of the membrane kept per step (0 < leak ≤ 1).
        leak: f64,
        /// Fraction of the synaptic current kept per step (0 ≤ synaptic_leak < 1).
        synaptic_leak: f64,
    },
    /// Leaky integrator (NIR's `LI`): a non-spiking readout whose membrane decays by `leak`.
    Li {
        /// Fraction of the membrane kept per step (0 < leak ≤ 1).
        leak: f64,
    },
    /// Integrator (NIR's `I`): a non-spiking readout without leak.
    I,
}

impl Neuron {
    /// Whether the model fires (IF, LIF, CubaLIF) rather than integrating for a readout.
    pub fn spiking(&self) -> bool {
        matches!(
            self,
            Neuron::If | Neuron::Lif { .. } | Neuron::CubaLif { .. }
        )
    }

    /// The membrane fraction kept per step (1 without leak).
    pub fn leak(&self) -> f64 {
        match *self {
            Neuron::Lif { leak } | Neuron::CubaLif { leak, .. } | Neuron::Li { leak } => leak,
            Neuron::If | Neuron::I => 1.0,
        }
    }

    /// The model's name as pipelines spell it (`if`, `lif`, `cuba-lif`, `li`, `i`).
    pub fn name(&self) -> &'static str {
        match self {
            Neuron::If => "if",
            Neuron::Lif { .. } => "lif",
            Neuron::CubaLif { .. } => "cuba-lif",
            Neuron::Li { .. } => "li",
            Neuron::I => "i",
        }
    }

    /// Checks the decay factors; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        let membrane = |leak: f64| {
            if leak > 0.0 && leak <= 1.0 {
                Ok(())
            } else {
                Err(format!("leak = {leak} is outside (0, 1]"))
            }
        };
        match *self {
            Neuron::If | Neuron::I => Ok(()),
            Neuron::Lif { leak } | Neuron::Li { leak } => membrane(leak),
            Neuron::CubaLif {
                leak,
                synaptic_leak,
            } => {
                membrane(leak)?;
                if (0.0..1.0).contains(&synaptic_leak) {
                    Ok(())
                } else {
                    Err(format!(
                        "synaptic_leak = {synaptic_leak} is outside [0, 1): a current that never decays grows without bound"
                    ))
                }
            }
        }
    }
}

impl std::fmt::Display for Neuron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Neuron::If => write!(f, "IF"),
            Neuron::Lif { leak } => write!(f, "LIF, leak {leak}"),
            Neuron::CubaLif {
                leak,
                synaptic_leak,
            } => write!(f, "CubaLIF, leak {leak}, synaptic leak {synaptic_leak}"),
            Neuron::Li { leak } => write!(f, "LI readout, leak {leak}"),
            Neuron::I => write!(f, "I readout"),
        }
    }
}

/// What a spike does to the membrane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Reset {
    /// Subtract the threshold (keeps the surplus; what makes IF match Q_T).
    #[default]
    Subtract,
    /// Set the membrane to zero (NIR's reset to `v_reset` = 0).
    Zero,
}

/// An SNN's format.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnnFormat {
    /// Time steps T per inference.
    pub timesteps: u32,
    /// Weight bit width.
    pub weight_bits: u32,
    /// Membrane-potential bit width.
    pub membrane_bits: u32,
    /// Neuron model.
    pub neuron: Neuron,
}

/// A quantized (or 8-bit "ANN") network's format.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QnnFormat {
    /// Activation bit width.
    pub activation_bits: u32,
    /// Weight bit width.
    pub weight_bits: u32,
    /// Accumulator (partial-sum) bit width.
    pub accumulator_bits: u32,
}

/// Either an SNN or a QNN format; architectures count different actions for each.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Format {
    /// Spiking network.
    Snn(SnnFormat),
    /// Quantized network.
    Qnn(QnnFormat),
}

/// The activation bits of the QNN whose capacity matches an SNN with `timesteps` steps:
/// 0..T spikes are T+1 levels, so ⌈log2(T+1)⌉ bits.
pub fn capacity_matched_bits(timesteps: u32) -> u32 {
    let levels = timesteps as u64 + 1;
    64 - (levels - 1).leading_zeros()
}

impl Format {
    /// Checks bit widths (1..=32) and T ≥ 1; `what` names the format in the error.
    pub fn validate(&self) -> Result<(), String> {
        let bits = |name: &str, b: u32| {
            if (1..=32).contains(&b) {
                Ok(())
            } else {
                Err(format!("{name} = {b} is outside 1..=32"))
            }
        };
        match self {
            Format::Snn(s) => {
                if s.timesteps == 0 {
                    return Err("timesteps = 0: an SNN needs at least one time step".into());
                }
                bits("weight_bits", s.weight_bits)?;
                bits("membrane_bits", s.membrane_bits)?;
                s.neuron
                    .validate()
                    .map_err(|e| format!("{}: {e}", s.neuron.name()))
            }
            Format::Qnn(q) => {
                bits("activation_bits", q.activation_bits)?;
                bits("weight_bits", q.weight_bits)?;
                bits("accumulator_bits", q.accumulator_bits)
            }
        }
    }

    /// Time steps (1 for a QNN).
    pub fn timesteps(&self) -> u32 {
        match self {
            Format::Snn(s) => s.timesteps,
            Format::Qnn(_) => 1,
        }
    }

    /// Weight bit width.
    pub fn weight_bits(&self) -> u32 {
        match self {
            Format::Snn(s) => s.weight_bits,
            Format::Qnn(q) => q.weight_bits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_matched_bits_counts_levels_of_zero_to_t_spikes() {
        let expected = [
            (1, 1),
            (2, 2),
            (3, 2),
            (4, 3),
            (6, 3),
            (7, 3),
            (8, 4),
            (15, 4),
            (16, 5),
        ];
        for (t, b) in expected {
            assert_eq!(capacity_matched_bits(t), b, "T = {t}");
        }
    }
}
