//! What the counter produces: density-independent counts of accesses, transfers and
//! operations, each with the density that scales it.

use serde::Serialize;

use crate::pricing::ComputeOp;
use crate::problem::{DataSpace, Densities, NSPACES};

/// What an access does (Timeloop's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read out of the level (to a child, to compute, up to a parent, or by the epilogue).
    Read,
    /// Written from the level above (a tile arriving).
    Fill,
    /// Written from below (partial sums, membranes, outputs) or by the compute.
    Update,
}

/// Which density multiplies a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// Not at all.
    One,
    /// The input density (skipped or gated zero operands), times the weights' density (1
    /// for stored weights; a product of two activations has a zero term where either operand
    /// is zero).
    Input,
    /// The output density (neurons that fire).
    Output,
    /// The valid fraction alone: operand reads of stored inputs, which a tap on padding does
    /// not make (padding is not stored), whatever the units do with zeros.
    Valid,
    /// The inputs non-zero in some step (see [`Densities::ever`]): a weight fetched once for
    /// one input position and every step, skipped only if that input never fires.
    EverInput,
}

impl Scale {
    /// The density that multiplies a count of this scale, for a problem whose valid
    /// operations are `valid_fraction` ([`Problem::valid_fraction`](crate::Problem)) of its
    /// loop nest. Counts scaled by the input are operation-level (an operation, or an access
    /// that a zero input operand skips or gates), and a tap on padding is a zero operand like
    /// any other.
    pub fn density(self, dens: &Densities, valid_fraction: f64) -> f64 {
        match self {
            Scale::One => 1.0,
            Scale::Input => dens.input * dens.weights * valid_fraction,
            Scale::Output => dens.output,
            Scale::Valid => valid_fraction,
            Scale::EverInput => dens.ever_input() * valid_fraction,
        }
    }
}

/// Why an access happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// A tile moving from a parent to a child.
    Fill,
    /// A tile moving back up (partial sums, membranes, outputs).
    Drain,
    /// An operand read by the compute units.
    Operand,
    /// A partial-sum update (read-modify-write).
    Accumulate,
    /// The epilogue: reading the finished sum, updating the membrane, writing the output.
    Epilogue,
}

/// Element accesses at one level for one data space.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AccessCount {
    /// Level index (0 = outermost).
    pub level: usize,
    /// Data space.
    pub data_space: DataSpace,
    /// Read, fill or update.
    pub action: Action,
    /// Elements at density 1.
    pub elements: f64,
    /// Density that multiplies `elements`.
    pub scale: Scale,
    /// One access per element at a data-dependent address (event-driven), rather than
    /// words packed with consecutive elements.
    pub scatter: bool,
    /// Input elements whose zeros together make one element's access unneeded (a weight
    /// fetched for several output positions or steps is needed if any of them fires).
    #[serde(skip_serializing_if = "is_one")]
    pub meets: f64,
    /// Why.
    pub purpose: Purpose,
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// The fraction of elements needed when each is needed unless all `meets` independent input
/// elements of density `d` are zero.
pub fn needed(d: f64, meets: f64) -> f64 {
    if meets <= 1.0 {
        d
    } else {
        1.0 - (1.0 - d).clamp(0.0, 1.0).powf(meets)
    }
}

impl AccessCount {
    /// The fraction of `elements` this access really moves at the densities, for a problem
    /// whose valid operations are `valid_fraction` of its loop nest, at a level whose block
    /// holds `per_block` elements: skipped or gated zeros save a streaming access only when
    /// every element of its block is unneeded (1 − (1 − d)^per_block), a scatter one
    /// element at a time; an element is unneeded when every input it meets is zero.
    pub fn moved(&self, dens: &Densities, valid_fraction: f64, per_block: f64) -> f64 {
        let d = self.scale.density(dens, valid_fraction);
        if !matches!(self.scale, Scale::Input | Scale::EverInput) {
            return d;
        }
        let per_block = if self.scatter {
            1.0
        } else {
            per_block.max(1.0)
        };
        needed(d, self.meets * per_block)
    }
}

/// Elements sent over the network below a level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TransferCount {
    /// The level whose network carries it.
    pub network: usize,
    /// Data space.
    pub data_space: DataSpace,
    /// Sends (one per element read at the source, after multicast merging or reduction).
    pub sends: f64,
    /// Deliveries at the destinations (sends × multicast factor, or before reduction).
    pub deliveries: f64,
    /// Hops per send.
    pub hops: f64,
    /// The level whose storage format sets the bits moved (None: the value bits).
    pub format_level: Option<usize>,
    /// Density that multiplies the count.
    pub scale: Scale,
    /// Input elements whose zeros together make one send unneeded (see [`AccessCount`]).
    #[serde(skip_serializing_if = "is_one")]
    pub meets: f64,
}

impl TransferCount {
    /// The fraction of the sends that really happen at the densities.
    pub fn moved(&self, dens: &Densities, valid_fraction: f64) -> f64 {
        needed(self.scale.density(dens, valid_fraction), self.meets)
    }
}

/// Arithmetic operations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OpCount {
    /// Operation and widths.
    pub op: ComputeOp,
    /// Count at density 1.
    pub count: f64,
    /// Density that multiplies it.
    pub scale: Scale,
    /// What it is for.
    pub what: &'static str,
}

/// Density-independent counts of one mapped layer.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Storage accesses.
    pub accesses: Vec<AccessCount>,
    /// Network transfers.
    pub transfers: Vec<TransferCount>,
    /// Operations.
    pub ops: Vec<OpCount>,
    /// Iterations of all temporal loops (compute cycles when nothing is skipped).
    pub cycles: f64,
    /// Cycles systolic arrays spend loading, skewing and draining each fold (beside `cycles`,
    /// never overlapped with it).
    pub fill_drain_cycles: f64,
    /// Neuron steps (SNN) or requantizations (QNN) the epilogue runs.
    pub epilogue_steps: f64,
    /// Compute units in use.
    pub units_used: f64,
    /// Instances of each level in use.
    pub instances_used: Vec<f64>,
    /// The level where each partial sum is final (the epilogue reads it there).
    pub finalizing_level: usize,
    /// Tile size in bits per level and data space (0 where not kept).
    pub tile_bits: Vec<[f64; NSPACES]>,
    /// Zero input operands are skipped (cycles scale with the input density).
    pub skips: bool,
}

/// How an access is counted: why it happens, the density that scales it, and whether it is a
/// scatter (one access per element at a data-dependent address).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Why {
    pub purpose: Purpose,
    pub scale: Scale,
    pub scatter: bool,
    /// Input elements whose zeros together make one element's access unneeded.
    pub meets: f64,
}

impl Why {
    /// Not scaled by any density, packed in words.
    pub const fn plain(purpose: Purpose) -> Why {
        Why {
            purpose,
            scale: Scale::One,
            scatter: false,
            meets: 1.0,
        }
    }

    /// Scaled by `scale`, a scatter or not.
    pub const fn scaled(purpose: Purpose, scale: Scale, scatter: bool) -> Why {
        Why {
            purpose,
            scale,
            scatter,
            meets: 1.0,
        }
    }

    /// An access needed unless all of `inputs` input elements are zero.
    pub const fn meeting(self, inputs: f64) -> Why {
        Why {
            meets: inputs,
            ..self
        }
    }
}

impl Counts {
    /// Empties the lists (keeping their room: the search refills one `Counts` per mapping).
    pub(crate) fn clear(&mut self) {
        self.accesses.clear();
        self.transfers.clear();
        self.ops.clear();
        self.instances_used.clear();
        self.tile_bits.clear();
        // A mapping rejected before its unrolling is counted uses no units.
        self.units_used = 0.0;
    }

    /// Records `elements` accesses of data space `ds` at `level` (nothing if there are none).
    #[inline]
    pub(crate) fn access(
        &mut self,
        level: usize,
        ds: usize,
        action: Action,
        elements: f64,
        why: Why,
    ) {
        if elements > 0.0 {
            self.accesses.push(AccessCount {
                level,
                data_space: DataSpace::ALL[ds],
                action,
                elements,
                scale: why.scale,
                scatter: why.scatter,
                meets: why.meets,
                purpose: why.purpose,
            });
        }
    }

    /// Records `count` operations.
    pub(crate) fn op(&mut self, op: ComputeOp, count: f64, scale: Scale, what: &'static str) {
        // An operation that never happens (a reset with no next step) is not listed.
        if count == 0.0 {
            return;
        }
        self.ops.push(OpCount {
            op,
            count,
            scale,
            what,
        });
    }
}
