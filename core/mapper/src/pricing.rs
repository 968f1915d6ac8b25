//! Prices: what one access, one operation and one bit-hop cost. The mapper asks a [`Pricing`];
//! [`OwnPrices`] reads the hardware description's own numbers, and snnergy's glue implements
//! the trait over its cited price tables.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::MapperError;
use crate::hardware::{AccessEnergy, Capacity, Compute, ComputeEnergy, Hardware, HopPrice, Level};
use crate::problem::DataSpace;

/// A storage access direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AccessOp {
    /// Read.
    Read,
    /// Write (fills and updates).
    Write,
}

/// An arithmetic operation at given widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum ComputeOp {
    /// Multiply-accumulate of a weight and an input (the accumulate included).
    Mac {
        /// Weight bits.
        weight_bits: u32,
        /// Input bits.
        input_bits: u32,
    },
    /// Addition (SNN accumulation, partial-sum reduction, membrane update).
    Add {
        /// Operand bits.
        bits: u32,
    },
    /// Multiplication (requantization scale, LIF leak).
    Mul {
        /// First operand bits.
        a_bits: u32,
        /// Second operand bits.
        b_bits: u32,
    },
    /// Comparison (threshold, requantization).
    Compare {
        /// Operand bits.
        bits: u32,
    },
}

/// Prices for the mapper. `bits` is what one access or transfer actually moves.
pub trait Pricing {
    /// pJ of one access to `level` moving `bits` bits (at most one word) of data space `ds`
    /// (which says which bank or partition of the level is accessed).
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        op: AccessOp,
        bits: u32,
    ) -> Result<f64, MapperError>;
    /// pJ of one operation on the compute units.
    fn compute_pj(&self, compute: &Compute, op: ComputeOp) -> Result<f64, MapperError>;
    /// pJ of moving `bits` bits one hop on the network below `level`.
    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError>;
    /// Static power (mW) of every instance of level `level` of `hw` together, or of all its
    /// compute units (`None`). By default what the description states; a pricing that scales
    /// the energies it reports scales this too, so that the search minimizes what is
    /// reported.
    fn static_mw(&self, hw: &Hardware, level: Option<usize>) -> Result<f64, MapperError> {
        Ok(match level {
            Some(l) => hw.levels[l].leakage_mw * hw.instances(l) as f64,
            None => hw.compute.leakage_mw * hw.total_units() as f64,
        })
    }
}

/// The energies written in the hardware description itself; `"table"` entries are an error
/// naming the level (give a [`Pricing`] over price tables for those).
#[derive(Clone, Copy, Debug, Default)]
pub struct OwnPrices;

fn table_error(level: &str, what: &str) -> MapperError {
    MapperError::Price {
        level: level.to_string(),
        what: what.to_string(),
        message: "the description says `table`: price it with a pricing over price tables".into(),
    }
}

/// Capacity of a level in bits (the sum of partitions or banks), if bounded.
pub fn capacity_bits(level: &Level) -> Option<u128> {
    match &level.capacity {
        None => None,
        Some(Capacity::Shared(s)) => s.bits(level.word_bits).ok(),
        Some(Capacity::Partitioned(_)) | Some(Capacity::Banks(_)) => {
            Some(level.pools().iter().filter_map(|(_, b)| *b).sum())
        }
    }
}

impl Pricing for OwnPrices {
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        op: AccessOp,
        bits: u32,
    ) -> Result<f64, MapperError> {
        match level.energy_for(ds) {
            AccessEnergy::Table(_) => Err(table_error(&level.name, "energy")),
            AccessEnergy::PerWord { read_pj, write_pj } => Ok(match op {
                AccessOp::Read => *read_pj,
                AccessOp::Write => *write_pj,
            }),
            AccessEnergy::Cacti {
                fixed_pj,
                per_bit_pj,
                capacity_exponent,
                reference_capacity,
                write_factor,
            } => {
                // A bank is its own array: its size sets the fixed part.
                let cap = match &level.capacity {
                    Some(Capacity::Banks(_)) => level.capacity_for(ds),
                    _ => capacity_bits(level),
                }
                .unwrap_or(0) as f64;
                let reference = reference_capacity
                    .as_ref()
                    .and_then(|r| r.bits(level.word_bits).ok())
                    .map(|b| b as f64)
                    .unwrap_or(cap);
                let scale = if cap > 0.0 && reference > 0.0 {
                    (cap / reference).powf(*capacity_exponent)
                } else {
                    1.0
                };
                let read = fixed_pj * scale + per_bit_pj * bits as f64;
                Ok(match op {
                    AccessOp::Read => read,
                    AccessOp::Write => read * write_factor,
                })
            }
        }
    }

    fn compute_pj(&self, compute: &Compute, op: ComputeOp) -> Result<f64, MapperError> {
        match &compute.energy {
            ComputeEnergy::Table(_) => Err(table_error("compute", "energy")),
            ComputeEnergy::Explicit {
                mac_pj,
                add_pj,
                mul_pj,
                compare_pj,
            } => {
                let full = (compute.mac_bits as f64).powi(2);
                let add_bits = compute.add_bits as f64;
                Ok(match op {
                    ComputeOp::Mac {
                        weight_bits,
                        input_bits,
                    } => {
                        // The multiplier scales with the operand product, the accumulate does not.
                        let mul = mul_pj.unwrap_or((mac_pj - add_pj).max(0.0));
                        mul * (weight_bits as f64 * input_bits as f64) / full
                            + (mac_pj - mul).max(0.0)
                    }
                    ComputeOp::Add { bits } => add_pj * bits as f64 / add_bits,
                    ComputeOp::Compare { bits } => {
                        compare_pj.unwrap_or(*add_pj) * bits as f64 / add_bits
                    }
                    ComputeOp::Mul { a_bits, b_bits } => {
                        mul_pj.unwrap_or((mac_pj - add_pj).max(0.0))
                            * (a_bits as f64 * b_bits as f64)
                            / full
                    }
                })
            }
        }
    }

    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError> {
        match level.network.hop_pj_per_bit {
            HopPrice::Pj(v) => Ok(v * bits as f64),
            HopPrice::Table(_) => Err(table_error(&level.name, "network.hop_pj_per_bit")),
        }
    }
}
