//! Number formats: how an SNN or its quantized baseline represents weights, activations and
//! neuron state. Architectures read bit widths from here to size every access.

use serde::{Deserialize, Serialize};

/// The spiking neuron model.
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
                if let Neuron::Lif { leak } = s.neuron
                    && !(leak > 0.0 && leak <= 1.0)
                {
                    return Err(format!("LIF leak = {leak} is outside (0, 1]"));
                }
                Ok(())
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
