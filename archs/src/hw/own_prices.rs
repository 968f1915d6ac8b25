//! The hardware description's own numbers as an energy model in front of a price table: the
//! per-access energies, per-bit-hop energies, compute energies and static power a
//! description states answer for their places; the rest goes to the table.

use std::sync::Arc;

use snnergy_core::{
    Access, ActionKind, ComputeOp as CoreOp, Derivation, EnergyModel, Place, Price, PriceError,
    PriceSource,
};
use snnergy_mapper::{AccessEnergy, Bank, Capacity, ComputeEnergy, Hardware, HopPrice};

use super::places::COMPUTE;

/// A price table with a hardware description's own numbers in front: the per-access
/// energies, per-bit-hop energies, compute energies and static power the description states
/// answer for their places; everything it leaves to `"table"` goes to the table.
#[derive(Debug)]
pub struct OwnPricesFirst<'a> {
    table: &'a dyn EnergyModel,
    chip: Arc<Hardware>,
    /// Index of the description's sources after the table's.
    offset: usize,
}

impl<'a> OwnPricesFirst<'a> {
    /// `table` with `chip`'s own numbers in front.
    pub fn new(table: &'a dyn EnergyModel, chip: Arc<Hardware>) -> Self {
        let offset = table.sources().len();
        Self {
            table,
            chip,
            offset,
        }
    }

    /// The price the description states for `action` at `place`, if it states one.
    fn own(&self, place: Place, action: &ActionKind) -> Option<Price> {
        let name = place.as_str();
        if name == COMPUTE {
            return self.own_compute(action);
        }
        if let Some(level_name) = name.strip_suffix(" network") {
            return self.own_hop(level_name, action);
        }
        self.own_storage(name, action)
    }

    /// A price of the description's, with the note saying how it follows from it.
    fn stated(&self, pj: f64, note: String) -> Price {
        Price {
            pj,
            source: self.offset,
            derivation: Derivation::Other { note },
        }
    }

    /// The compute units' static power and operation energies.
    fn own_compute(&self, action: &ActionKind) -> Option<Price> {
        let chip = &self.chip;
        match action {
            ActionKind::Leakage => {
                let units = chip.total_units() as f64;
                Some(self.stated(
                    chip.compute.leakage_mw * units,
                    format!(
                        "{} mW per unit × {units} units, stated by `{}`",
                        chip.compute.leakage_mw, chip.name
                    ),
                ))
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
                    Some(self.stated(
                        pj,
                        format!("{how} from the compute energies stated by `{}`", chip.name),
                    ))
                }
            },
            _ => None,
        }
    }

    /// A hop on the network below level `level_name`.
    fn own_hop(&self, level_name: &str, action: &ActionKind) -> Option<Price> {
        let chip = &self.chip;
        let level = &chip.levels[chip.level_index(level_name)?];
        match (action, &level.network.hop_pj_per_bit) {
            (ActionKind::Transfer { bits, .. }, HopPrice::Pj(v)) => Some(self.stated(
                v * *bits as f64,
                format!(
                    "{v} pJ per bit per hop × {bits} bits, stated by `{}`",
                    chip.name
                ),
            )),
            _ => None,
        }
    }

    /// An access to the level (or bank) called `name`, or its static power.
    fn own_storage(&self, name: &str, action: &ActionKind) -> Option<Price> {
        let chip = &self.chip;
        let (l, bank) = resolve(chip, name)?;
        let level = &chip.levels[l];
        match action {
            ActionKind::Leakage => {
                let instances = chip.instances(l) as f64;
                Some(self.stated(
                    level.leakage_mw * instances,
                    format!(
                        "{} mW per instance × {instances} instances, stated by `{}`",
                        level.leakage_mw, chip.name
                    ),
                ))
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
                let (pj, how) = access_energy(energy, level, *access, *bits, *capacity_bytes)?;
                Some(self.stated(pj, format!("{how}, stated by `{}`", chip.name)))
            }
            _ => None,
        }
    }
}

/// pJ of one access of `bits` bits to a level of `capacity_bytes` priced by `energy`, and how
/// it follows from the description (None: the description leaves it to the table).
fn access_energy(
    energy: &AccessEnergy,
    level: &snnergy_mapper::Level,
    access: Access,
    bits: u32,
    capacity_bytes: u64,
) -> Option<(f64, String)> {
    match energy {
        AccessEnergy::Table(_) => None,
        AccessEnergy::PerWord { read_pj, write_pj } => Some((
            match access {
                Access::Read => *read_pj,
                Access::Write => *write_pj,
            },
            "per access".to_string(),
        )),
        AccessEnergy::Cacti {
            fixed_pj,
            per_bit_pj,
            capacity_exponent,
            reference_capacity,
            write_factor,
        } => {
            let cap = capacity_bytes as f64 * 8.0;
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
            Some((
                match access {
                    Access::Read => read,
                    Access::Write => read * write_factor,
                },
                format!(
                    "{fixed_pj} pJ × (capacity / reference)^{capacity_exponent} + {per_bit_pj} pJ per bit"
                ),
            ))
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

impl EnergyModel for OwnPricesFirst<'_> {
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
            node: self.chip.node.clone(),
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
