//! Prices for the mapper from snnergy's energy models, and the hardware description's own
//! numbers as an energy model in front of a price table.
//!
//! Every access, hop and operation the mapper asks about becomes the snnergy action it will be
//! reported as, at the place it happens (a level's name, `<level> network`, `compute`), and is
//! priced by the same energy model that prices the report: the search minimizes exactly what
//! the report shows.

use std::sync::Arc;

use snnergy_core::{
    Access, ActionKind, ComputeOp as CoreOp, Derivation, EnergyModel, Interconnect, Memory, Place,
    Price, PriceError, PriceSource,
};
use snnergy_mapper::{
    AccessEnergy, AccessOp, Bank, Capacity, Compute, ComputeEnergy, ComputeOp, DataSpace, Hardware,
    HopPrice, Level, LevelClass, MapperError, NetworkClass, Pricing,
};

use crate::common::mul_bits;

/// The place of accesses to `ds` at a storage level: its bank's name if it has one, else the
/// level's.
pub(crate) fn level_place(level: &Level, ds: DataSpace) -> Place {
    match level.bank_for(ds).and_then(|b| b.name.as_deref()) {
        Some(name) => Place::new(name),
        None => Place::new(&level.name),
    }
}

/// The place of the network below a level.
pub(crate) fn network_place(level: &Level) -> Place {
    Place::new(&format!("{} network", level.name))
}

/// The place of the compute units.
pub(crate) const COMPUTE: &str = "compute";

/// The snnergy action of one access to `ds` at `level` moving `bits` bits. DRAM moves whole
/// words (bursts): a narrower access costs a word.
pub(crate) fn access_kind(level: &Level, ds: DataSpace, op: AccessOp, bits: u32) -> ActionKind {
    let memory = match level.class_for(ds) {
        LevelClass::Dram => Memory::Dram,
        LevelClass::Sram => Memory::Sram,
        LevelClass::Register => Memory::Register,
    };
    let capacity_bytes = match memory {
        Memory::Dram => 0,
        _ => level
            .capacity_for(ds)
            .map(|b| u64::try_from(b.div_ceil(8)).unwrap_or(u64::MAX))
            .unwrap_or(0),
    };
    ActionKind::Memory {
        level: memory,
        access: match op {
            AccessOp::Read => Access::Read,
            AccessOp::Write => Access::Write,
        },
        bits: if memory == Memory::Dram {
            bits.max(level.word_bits)
        } else {
            bits
        },
        capacity_bytes,
    }
}

/// The snnergy action of one hop of a `bits`-bit message on the network below `level`.
pub(crate) fn hop_kind(level: &Level, bits: u32) -> ActionKind {
    ActionKind::Transfer {
        net: match level.network.class {
            NetworkClass::NocDense => Interconnect::NocDense,
            NetworkClass::NocEvent => Interconnect::NocEvent,
            NetworkClass::Link => Interconnect::Link,
        },
        bits,
    }
}

/// The snnergy actions of one mapper operation: a MAC is a multiply and an add of the
/// accumulator's width (as every snnergy table prices it).
pub(crate) fn op_kinds(op: ComputeOp, accum_bits: u32) -> [Option<ActionKind>; 2] {
    match op {
        ComputeOp::Mac {
            weight_bits,
            input_bits,
        } => [
            Some(ActionKind::compute(
                CoreOp::Mul,
                mul_bits(weight_bits, input_bits),
            )),
            Some(ActionKind::compute(CoreOp::Add, accum_bits)),
        ],
        ComputeOp::Add { bits } => [Some(ActionKind::compute(CoreOp::Add, bits)), None],
        ComputeOp::Compare { bits } => [Some(ActionKind::compute(CoreOp::Compare, bits)), None],
        ComputeOp::Mul { a_bits, b_bits } => [
            Some(ActionKind::compute(CoreOp::Mul, mul_bits(a_bits, b_bits))),
            None,
        ],
    }
}

fn price_error(place: &str, e: PriceError) -> MapperError {
    MapperError::Price {
        level: place.to_string(),
        what: e.action.clone(),
        message: e.to_string(),
    }
}

/// The mapper's prices from an energy model, place by place.
pub(crate) struct TablePricing<'a> {
    pub energy: &'a dyn EnergyModel,
    /// Width of the accumulate inside a MAC.
    pub accum_bits: u32,
}

impl Pricing for TablePricing<'_> {
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        op: AccessOp,
        bits: u32,
    ) -> Result<f64, MapperError> {
        let held = level.holds.contains(&ds)
            && match &level.capacity {
                Some(Capacity::Banks(_)) => level.bank_for(ds).is_some(),
                Some(Capacity::Partitioned(p)) => p.contains_key(&ds),
                _ => true,
            };
        if !held {
            // Never accessed here: no price needed.
            return Ok(0.0);
        }
        let place = level_place(level, ds);
        self.energy
            .price_at(place, &access_kind(level, ds, op, bits))
            .map(|p| p.pj)
            .map_err(|e| price_error(place.as_str(), e))
    }

    fn compute_pj(&self, _: &Compute, op: ComputeOp) -> Result<f64, MapperError> {
        let place = Place::new(COMPUTE);
        let mut pj = 0.0;
        for kind in op_kinds(op, self.accum_bits).into_iter().flatten() {
            pj += self
                .energy
                .price_at(place, &kind)
                .map_err(|e| price_error(COMPUTE, e))?
                .pj;
        }
        Ok(pj)
    }

    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError> {
        if let HopPrice::Pj(v) = level.network.hop_pj_per_bit
            && v == 0.0
        {
            // A free network needs no price from anyone.
            return Ok(0.0);
        }
        let place = network_place(level);
        self.energy
            .price_at(place, &hop_kind(level, bits))
            .map(|p| p.pj)
            .map_err(|e| price_error(place.as_str(), e))
    }
}

/// A price table with a hardware description's own numbers in front: the per-access
/// energies, per-bit-hop energies, compute energies and static power the description states
/// answer for their places; everything it leaves to `"table"` goes to the table.
#[derive(Debug)]
pub struct HardwarePrices<'a> {
    table: &'a dyn EnergyModel,
    chip: Arc<Hardware>,
    /// Index of the description's sources after the table's.
    offset: usize,
}

impl<'a> HardwarePrices<'a> {
    /// `table` with `chip`'s own numbers in front.
    pub fn new(table: &'a dyn EnergyModel, chip: Arc<Hardware>) -> Self {
        let offset = table.sources().len();
        Self {
            table,
            chip,
            offset,
        }
    }

    fn own(&self, place: Place, action: &ActionKind) -> Option<Price> {
        let name = place.as_str();
        let chip = &self.chip;
        let derived = |note: String| Price {
            pj: 0.0,
            source: self.offset,
            derivation: Derivation::Other { note },
        };
        if name == COMPUTE {
            return match action {
                ActionKind::Leakage => {
                    let units = chip.total_units() as f64;
                    let mut p = derived(format!(
                        "{} mW per unit × {units} units, stated by `{}`",
                        chip.compute.leakage_mw, chip.name
                    ));
                    p.pj = chip.compute.leakage_mw * units;
                    Some(p)
                }
                ActionKind::Compute { op, bits } => match &chip.compute.energy {
                    ComputeEnergy::Table(_) => None,
                    ComputeEnergy::Explicit {
                        mac_pj,
                        add_pj,
                        mul_pj,
                        compare_pj,
                    } => {
                        let full = (chip.compute.mac_bits as f64).powi(2);
                        let add_bits = chip.compute.add_bits as f64;
                        let mul = mul_pj.unwrap_or((mac_pj - add_pj).max(0.0));
                        let b = *bits as f64;
                        let (pj, how) = match op {
                            CoreOp::Mul => (mul * b * b / full, "multiply scaled with width²"),
                            CoreOp::Add => (add_pj * b / add_bits, "add scaled with width"),
                            CoreOp::Compare => (
                                compare_pj.unwrap_or(*add_pj) * b / add_bits,
                                "compare scaled with width",
                            ),
                        };
                        let mut p = derived(format!(
                            "{how} from the compute energies stated by `{}`",
                            chip.name
                        ));
                        p.pj = pj;
                        Some(p)
                    }
                },
                _ => None,
            };
        }
        if let Some(level_name) = name.strip_suffix(" network") {
            let l = chip.level_index(level_name)?;
            let level = &chip.levels[l];
            return match (action, &level.network.hop_pj_per_bit) {
                (ActionKind::Transfer { bits, .. }, HopPrice::Pj(v)) => {
                    let mut p = derived(format!(
                        "{v} pJ per bit per hop × {bits} bits, stated by `{}`",
                        chip.name
                    ));
                    p.pj = v * *bits as f64;
                    Some(p)
                }
                _ => None,
            };
        }
        let (l, bank) = resolve(chip, name)?;
        let level = &chip.levels[l];
        match action {
            ActionKind::Leakage => {
                let instances = chip.instances(l) as f64;
                let mut p = derived(format!(
                    "{} mW per instance × {instances} instances, stated by `{}`",
                    level.leakage_mw, chip.name
                ));
                p.pj = level.leakage_mw * instances;
                Some(p)
            }
            ActionKind::Memory {
                access,
                bits,
                capacity_bytes,
                ..
            } => {
                let energy = bank
                    .and_then(|b| b.energy.as_ref())
                    .unwrap_or(&level.energy);
                let (pj, how) = match energy {
                    AccessEnergy::Table(_) => return None,
                    AccessEnergy::PerWord { read_pj, write_pj } => (
                        match access {
                            Access::Read => *read_pj,
                            Access::Write => *write_pj,
                        },
                        "per access".to_string(),
                    ),
                    AccessEnergy::Cacti {
                        fixed_pj,
                        per_bit_pj,
                        capacity_exponent,
                        reference_capacity,
                        write_factor,
                    } => {
                        let cap = *capacity_bytes as f64 * 8.0;
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
                        let read = fixed_pj * scale + per_bit_pj * *bits as f64;
                        (
                            match access {
                                Access::Read => read,
                                Access::Write => read * write_factor,
                            },
                            format!(
                                "{fixed_pj} pJ × (capacity / reference)^{capacity_exponent} + {per_bit_pj} pJ per bit"
                            ),
                        )
                    }
                };
                let mut p = derived(format!("{how}, stated by `{}`", chip.name));
                p.pj = pj;
                Some(p)
            }
            _ => None,
        }
    }
}

/// The level (and bank) a place names.
fn resolve<'h>(chip: &'h Hardware, name: &str) -> Option<(usize, Option<&'h Bank>)> {
    if let Some(l) = chip.level_index(name) {
        return Some((l, None));
    }
    chip.levels
        .iter()
        .enumerate()
        .find_map(|(l, level)| match &level.capacity {
            Some(Capacity::Banks(banks)) => banks
                .iter()
                .find(|b| b.name.as_deref() == Some(name))
                .map(|b| (l, Some(b))),
            _ => None,
        })
}

impl EnergyModel for HardwarePrices<'_> {
    fn name(&self) -> &str {
        self.table.name()
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        self.table.price(action)
    }

    fn sources(&self) -> Vec<PriceSource> {
        let mut v = self.table.sources();
        v.push(PriceSource {
            key: self.chip.name.clone(),
            citation: if self.chip.sources.is_empty() {
                self.chip.description.clone()
            } else {
                self.chip
                    .sources
                    .iter()
                    .map(|s| format!("{} ({})", s.citation, s.used_for))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            node: String::new(),
            third_party: false,
        });
        v
    }

    fn price_at(&self, place: Place, action: &ActionKind) -> Result<Price, PriceError> {
        match self.own(place, action) {
            Some(p) => Ok(p),
            None if matches!(action, ActionKind::Leakage) => Err(PriceError {
                model: self.table.name().to_string(),
                action: format!("{action} at `{place}`"),
                reason: format!(
                    "static power is stated by a hardware description, and `{}` states none for this place",
                    self.chip.name
                ),
            }),
            None => self.table.price_at(place, action).map_err(|mut e| {
                e.reason = format!(
                    "{} (needed at `{place}` of `{}`, whose description leaves it to the table)",
                    e.reason, self.chip.name
                );
                e
            }),
        }
    }
}
