//! The counter: from a mapping to structural counts (independent of densities), and from
//! counts and densities to energy, latency and leakage. The semantics are stated in the crate
//! documentation; the files here implement them one concern each, in the order a count runs:
//!
//! * [`nest`]: the mapping as a loop nest: extents, instances in use, cycles, the temporal
//!   loops above each level (factors and fan-outs checked), and per data space the extents of
//!   its tile and the loops above it where a per-operand boundary moves them;
//! * [`keepers`]: which levels keep each data space, the finalizing level, and the rules a
//!   keeping choice must satisfy;
//! * [`tiles`]: what a level holds: tile footprints (input windows) and capacity;
//! * [`reuse`]: how many elements a tile brings in over the loops above it (stationarity,
//!   the sliding window, multicast groups);
//! * [`operands`]: weights and inputs: what each level serves its children, and the operands
//!   the units read;
//! * [`network`]: what crosses each network, and at how many hops;
//! * [`partial_sums`]: the partial-sum chain, from the units up to the finalizing level;
//! * [`epilogue`]: the neuron step or requantization after each finished sum;
//! * [`fill_drain`]: the cycles a systolic array loads, skews and drains each fold;
//! * [`membrane`]: the membrane chain of an SNN and the current that travels to it;
//! * [`outputs`]: outputs, written once and drained to where they are backed;
//! * [`uneven`]: remainder tiles of factors that multiply past a dimension;
//! * [`prices`], [`cost`] and [`report`]: pricing counts at densities, quickly for the search
//!   and in full for the report; [`illegal`]: why a mapping is refused, in words.

mod cost;
mod counts;
mod epilogue;
mod fill_drain;
#[cfg(test)]
mod fixtures;
mod illegal;
mod keepers;
mod membrane;
mod nest;
mod network;
mod operands;
mod outputs;
mod partial_sums;
mod prices;
mod report;
mod reuse;
mod tiles;
mod uneven;

pub(crate) use cost::{AnchorSet, LANES};
pub use counts::{AccessCount, Action, Counts, OpCount, Purpose, Scale, TransferCount};
pub(crate) use illegal::Illegal;
pub(crate) use prices::Prices;
pub use report::{Evaluation, LevelReport, OpReport, SpaceReport};

use std::borrow::Cow;

use crate::error::MapperError;
use crate::hardware::{Hardware, SparseFormat, Topology, ZeroHandling};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::pricing::ComputeOp;
use crate::problem::{DataSpace, NDIMS, NSPACES, Problem};
use keepers::Keepers;
use nest::Nest;

// Dimensions and data spaces by index: the counter walks per-dimension and per-space arrays.
const N: usize = 0;
const G: usize = 1;
const K: usize = 2;
const C: usize = 3;
const P: usize = 4;
const Q: usize = 5;
const R: usize = 6;
const S: usize = 7;
const T: usize = 8;

const W_: usize = 0;
const I_: usize = 1;
const A_: usize = 2;
const M_: usize = 3;
const O_: usize = 4;

/// A capacity a level's tiles are checked against: the data spaces it pools and its bits.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pool {
    mask: u8,
    bits: u128,
    /// The same bits as a float, exact below 2^53.
    bits_f64: f64,
}

impl Pool {
    fn of(lvl: &crate::hardware::Level) -> Vec<Pool> {
        lvl.pools()
            .into_iter()
            .filter_map(|(mask, b)| {
                b.map(|bits| Pool {
                    mask,
                    bits,
                    bits_f64: bits as f64,
                })
            })
            .collect()
    }
}

/// How input lines (rows along P, columns along Q) follow from output lines and taps.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    /// The kernel dimension (R or S).
    kernel: usize,
    stride: f64,
    dilation: f64,
    /// Lines of the real map (infinite when the problem does not say).
    real: f64,
}

/// Everything about (problem, hardware, prices) the counter needs: the problem, the chip and
/// the prices borrowed or owned, and what follows from the problem and the chip alone
/// ([`Shape`], reached through `Deref`), precomputed once. A mapped layer keeps its prices
/// and shape, so pricing it again at other densities builds nothing.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub problem: &'a Problem,
    pub hw: &'a Hardware,
    pub prices: Cow<'a, Prices>,
    shape: Cow<'a, Shape>,
}

/// What the counter derives from a (problem, hardware) pair, independent of prices,
/// mappings and densities.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Shape {
    pub nlev: usize,
    pub dims: [u64; NDIMS],
    bits: [f64; NSPACES],
    binary: [bool; NSPACES],
    /// Dimensions each data space depends on, as masks.
    relevant: [u16; NSPACES],
    /// The input window along P and along Q.
    axes: [Axis; 2],
    /// Per level, the pools its capacity is checked against.
    pools: Vec<Vec<Pool>>,
    /// Per level, the formats (by index, below 64) that are compressed, as a mask.
    compressed_formats: [u64; MAX_LEVELS],
    word: Vec<f64>,
    /// Per level and data space, elements in one access block.
    per_block: Vec<[f64; NSPACES]>,
    unicast: Vec<f64>,
    /// Data spaces the problem has, as a mask.
    pub spaces: u8,
    /// Per level: data spaces it may hold (and the problem has).
    pub may_hold: Vec<u8>,
    zero: ZeroHandling,
    /// Valid (non-padding) operations over loop-nest operations: a tap on padding reads a
    /// zero, so the operation-level input density is the input density times this.
    valid_frac: f64,
    nspa: f64,
    /// Data spaces whose backing copy costs nothing (mask).
    free: u8,
    /// Operations of the loop nest.
    ops: f64,
}

impl std::ops::Deref for Ctx<'_> {
    type Target = Shape;

    fn deref(&self) -> &Shape {
        &self.shape
    }
}

impl<'a> Ctx<'a> {
    /// Validates the chip and the problem on it, and derives their [`Shape`].
    pub fn new(
        problem: &'a Problem,
        hw: &'a Hardware,
        prices: Prices,
    ) -> Result<Ctx<'a>, MapperError> {
        hw.validate()?;
        hw.check_problem(problem)?;
        Ok(Ctx {
            problem,
            hw,
            prices: Cow::Owned(prices),
            shape: Cow::Owned(Shape::of(problem, hw)?),
        })
    }

    /// A context over parts made (and checked) before: nothing is validated, derived or
    /// copied, so re-pricing a mapped layer costs only the pricing.
    pub fn borrowed(
        problem: &'a Problem,
        hw: &'a Hardware,
        prices: &'a Prices,
        shape: &'a Shape,
    ) -> Ctx<'a> {
        Ctx {
            problem,
            hw,
            prices: Cow::Borrowed(prices),
            shape: Cow::Borrowed(shape),
        }
    }
}

impl Shape {
    /// What the counter derives from `problem` on `hw` (both validated by the caller).
    pub fn of(problem: &Problem, hw: &Hardware) -> Result<Shape, MapperError> {
        let nlev = hw.levels.len();
        if nlev > MAX_LEVELS {
            return Err(MapperError::Hardware {
                hardware: hw.name.clone(),
                level: "-".into(),
                key: "levels".into(),
                message: format!("at most {MAX_LEVELS} storage levels"),
            });
        }
        let mut bits = [0.0; NSPACES];
        let mut binary = [false; NSPACES];
        let mut relevant = [0u16; NSPACES];
        for ds in DataSpace::ALL {
            bits[ds.index()] = problem.bits(ds) as f64;
            binary[ds.index()] = problem.is_binary(ds);
            relevant[ds.index()] = ds.relevant_mask();
        }
        Ok(Shape {
            nlev,
            dims: problem.dims(),
            bits,
            binary,
            relevant,
            axes: [
                Axis {
                    kernel: R,
                    stride: problem.stride_h as f64,
                    dilation: problem.dilation_h as f64,
                    real: problem.input_h.map_or(f64::INFINITY, |h| h as f64),
                },
                Axis {
                    kernel: S,
                    stride: problem.stride_w as f64,
                    dilation: problem.dilation_w as f64,
                    real: problem.input_w.map_or(f64::INFINITY, |w| w as f64),
                },
            ],
            pools: hw.levels.iter().map(Pool::of).collect(),
            compressed_formats: Ctx::compressed_formats(hw),
            word: hw.levels.iter().map(|l| l.word_bits as f64).collect(),
            per_block: hw
                .levels
                .iter()
                .map(|l| DataSpace::ALL.map(|ds| l.per_block(problem.bits(ds))))
                .collect(),
            unicast: (0..nlev).map(|l| Ctx::unicast_hops(hw, l)).collect(),
            spaces: problem.spaces().fold(0u8, |m, d| m | d.bit()),
            may_hold: hw
                .levels
                .iter()
                .map(|lvl| {
                    problem
                        .spaces()
                        .filter(|ds| hw.may_hold(lvl, *ds))
                        .fold(0u8, |m, d| m | d.bit())
                })
                .collect(),
            zero: hw.compute.zero_handling,
            valid_frac: problem.valid_fraction(),
            nspa: problem.neuron_steps_per_accum as f64,
            free: problem.free_backing.iter().fold(0u8, |m, d| m | d.bit()),
            ops: problem.dims().iter().map(|&d| d as f64).product(),
        })
    }
}

impl<'a> Ctx<'a> {
    fn compressed_formats(hw: &Hardware) -> [u64; MAX_LEVELS] {
        let mut masks = [0u64; MAX_LEVELS];
        for (l, lvl) in hw.levels.iter().enumerate() {
            for (i, f) in lvl.formats.iter().enumerate().take(64) {
                if f.is_compressed() {
                    masks[l] |= 1 << i;
                }
            }
        }
        masks
    }

    /// Hops of one unicast on the network below level `l`.
    fn unicast_hops(hw: &Hardware, l: usize) -> f64 {
        let lvl = &hw.levels[l];
        let fan = hw.fanout(l);
        lvl.network
            .unicast_hops
            .unwrap_or(match lvl.network.topology {
                Topology::Mesh => (fan[0] + fan[1]) as f64 / 2.0,
                Topology::Bus | Topology::Systolic => 1.0,
            })
    }

    /// Counts a mapping. `out` is cleared and refilled (reused by the search).
    pub(crate) fn count(&self, m: &Compact, out: &mut Counts) -> Result<(), Illegal> {
        out.clear();
        let mut nest = Nest::of(m);
        nest.unroll(self)?;
        self.count_nest(&mut nest, out)
    }

    /// Counts the unrolled nest of a mapping into a cleared `out`.
    #[inline(always)]
    fn count_nest(&self, nest: &mut Nest, out: &mut Counts) -> Result<(), Illegal> {
        let m = nest.m;
        out.cycles = nest.cycles;
        out.fill_drain_cycles = self.fill_drain(m);
        // Uneven spatial loops leave units idle in their last fold: the units in use are
        // those the operations keep busy on average.
        out.units_used = if nest.uneven == 0 {
            nest.inst[self.nlev]
        } else {
            self.ops / nest.cycles
        };
        out.instances_used
            .extend_from_slice(&nest.inst[..self.nlev]);
        out.skips = self.zero == ZeroHandling::Skip;
        let mut keepers = Keepers::of(self, m);
        keepers.settle(self, m)?;
        out.finalizing_level = keepers.fin;
        self.tiles(nest, &keepers, out)?;
        self.operands(nest, &keepers, W_, out);
        self.operands(nest, &keepers, I_, out);
        self.partial_sums(nest, &keepers, out);
        self.epilogue(&keepers, out);
        if self.problem.carries() {
            self.membrane(nest, &keepers, out);
        }
        self.outputs(&keepers, out);
        Ok(())
    }

    /// The density under which operation-level counts fall: none when zeros are neither
    /// skipped nor gated.
    fn op_scale(&self) -> Scale {
        if self.zero == ZeroHandling::None {
            Scale::One
        } else {
            Scale::Input
        }
    }

    /// Finished sums of the whole layer: one per output element and accumulated step.
    fn finished_sums(&self) -> f64 {
        let d = &self.dims;
        d[N] as f64 * d[G] as f64 * d[K] as f64 * d[P] as f64 * d[Q] as f64 * d[T] as f64
    }

    /// Neurons (output elements) of the whole layer.
    fn neurons(&self) -> f64 {
        let d = &self.dims;
        d[N] as f64 * d[G] as f64 * d[K] as f64 * d[P] as f64 * d[Q] as f64
    }

    /// Neuron steps that follow another step of the same neuron: where a membrane carries.
    fn carries(&self) -> f64 {
        (self.epilogue_steps() - self.neurons()).max(0.0)
    }

    /// Neuron steps (or requantizations) the epilogue runs: a direct-coded layer's current
    /// serves several steps.
    fn epilogue_steps(&self) -> f64 {
        self.finished_sums() * self.nspa
    }

    /// The input window along `d` (P or Q).
    fn axis(&self, d: usize) -> &Axis {
        &self.axes[(d == Q) as usize]
    }

    fn relevant(&self, ds: usize, d: usize) -> bool {
        self.relevant[ds] & (1 << d) != 0
    }

    /// A 1-bit input (a spike or a 1-bit activation) selects its weight into the sum: an
    /// addition in either format.
    pub(crate) fn main_op(p: &Problem) -> ComputeOp {
        if p.input_bits == 1 {
            ComputeOp::Add { bits: p.accum_bits }
        } else {
            ComputeOp::Mac {
                weight_bits: p.weight_bits,
                input_bits: p.input_bits,
            }
        }
    }

    /// The storage format of inputs (`ds` = inputs) or outputs at level `l`.
    pub(crate) fn format(&self, m: &Compact, l: usize, ds: usize) -> &SparseFormat {
        let lv = &self.hw.levels[l];
        if ds == I_ {
            &lv.formats[m.fin[l] as usize]
        } else {
            &lv.formats[m.fout[l] as usize]
        }
    }

    /// Whether `ds` is stored compressed at level `l` (only inputs and outputs can be).
    pub(crate) fn compressed(&self, m: &Compact, l: usize, ds: usize) -> bool {
        let i = match ds {
            I_ => m.fin[l],
            O_ => m.fout[l],
            _ => return false,
        };
        if i < 64 {
            self.compressed_formats[l] >> i & 1 != 0
        } else {
            self.format(m, l, ds).is_compressed()
        }
    }

    /// Average (data, metadata) bits per element of `ds` stored in `fmt` at density `d` in
    /// tiles of `tile` elements.
    fn elem_bits(&self, ds: usize, fmt: &SparseFormat, d: f64, tile: f64) -> (f64, f64) {
        fmt.bits_per_element(self.bits[ds], self.binary[ds], d, tile)
    }
}
