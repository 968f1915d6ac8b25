//! How the mapper's events are named in snnergy: the place each happens at (a level or its
//! bank, `<level> network`, `compute`) and the action it is reported and priced as.

use snnergy_core::{Access, ActionKind, ComputeOp as CoreOp, Interconnect, Memory, Place};
use snnergy_mapper::{AccessOp, ComputeOp, DataSpace, Level, LevelClass, NetworkClass};

use crate::common::mul_widths;

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
/// blocks (bursts): a narrower access costs a block.
pub(crate) fn access_kind(level: &Level, ds: DataSpace, op: AccessOp, bits: u32) -> ActionKind {
    access_kind_at(level, ds, op, bits, level.capacity_for(ds))
}

/// [`access_kind`] with the capacity that keeps `ds` at `level` known (parsing it from the
/// chip's text is dearer than the rest of an evaluation).
pub(crate) fn access_kind_at(
    level: &Level,
    ds: DataSpace,
    op: AccessOp,
    bits: u32,
    capacity_bits: Option<u128>,
) -> ActionKind {
    let memory = match level.class_for(ds) {
        LevelClass::Dram => Memory::Dram,
        LevelClass::Sram => Memory::Sram,
        LevelClass::Register => Memory::Register,
    };
    let capacity_bytes = match memory {
        Memory::Dram => 0,
        _ => capacity_bits
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
            bits.max(level.access_bits())
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

/// The snnergy actions of one mapper operation, each with its count per operation: a MAC
/// is a multiply and an add of the accumulator's width (as every snnergy table prices it),
/// and a multiply of unequal widths is a mix of the two square widths around its partial
/// products ([`mul_widths`]).
pub(crate) fn op_kinds(op: ComputeOp, accum_bits: u32) -> [Option<(ActionKind, f64)>; 3] {
    let mul = |a: u32, b: u32| {
        mul_widths(a, b)
            .map(|(w, share)| (share > 0.0).then(|| (ActionKind::compute(CoreOp::Mul, w), share)))
    };
    match op {
        ComputeOp::Mac {
            weight_bits,
            input_bits,
        } => {
            let [lo, hi] = mul(weight_bits, input_bits);
            [
                lo,
                hi,
                Some((ActionKind::compute(CoreOp::Add, accum_bits), 1.0)),
            ]
        }
        ComputeOp::Add { bits } => [
            Some((ActionKind::compute(CoreOp::Add, bits), 1.0)),
            None,
            None,
        ],
        ComputeOp::Compare { bits } => [
            Some((ActionKind::compute(CoreOp::Compare, bits), 1.0)),
            None,
            None,
        ],
        ComputeOp::Mul { a_bits, b_bits } => {
            let [lo, hi] = mul(a_bits, b_bits);
            [lo, hi, None]
        }
    }
}
