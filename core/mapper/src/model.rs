//! The counter: from a mapping to structural counts (independent of densities), and from
//! counts and densities to energy, latency and leakage. The semantics are stated in the crate
//! documentation; this file implements them.

use serde::Serialize;

use crate::error::MapperError;
use crate::hardware::{Hardware, SparseFormat, Topology, ZeroHandling};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::price::{AccessOp, ComputeOp, Pricing};
use crate::problem::{DataSpace, Densities, Dim, Kind, NDIMS, NSPACES, Neuron, Problem};

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
    /// The input density (skipped or gated zero operands).
    Input,
    /// The output density (neurons that fire).
    Output,
    /// The valid fraction alone: operand reads of stored inputs, which a tap on padding does
    /// not make (padding is not stored), whatever the units do with zeros.
    Valid,
}

impl Scale {
    /// The density that multiplies a count of this scale, for a problem whose valid
    /// operations are `valid_fraction` ([`Problem::valid_fraction`]) of its loop nest. Counts
    /// scaled by the input are operation-level (an operation, or an access that a zero input
    /// operand skips or gates), and a tap on padding is a zero operand like any other.
    pub fn density(self, dens: &Densities, valid_fraction: f64) -> f64 {
        match self {
            Scale::One => 1.0,
            Scale::Input => dens.input * valid_fraction,
            Scale::Output => dens.output,
            Scale::Valid => valid_fraction,
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
    /// Why.
    pub purpose: Purpose,
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

/// Why a mapping is not legal (cheap to build in the search; turned into a named error for
/// pinned mappings).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Illegal {
    Factors(usize),
    Fit(usize, usize),
    NoKeeper(usize),
    PartialSumsEscape(usize),
    BelowFinal(usize, usize),
    SpatialT(usize),
    Capacity(usize, usize, u128, u128),
    Unbacked(usize, usize),
}

/// Per-level price table for one problem (bits are fixed per problem).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Prices {
    /// pJ and accesses per element, streaming, [level][space][read=0/write=1].
    stream_pj: Vec<[[f64; 2]; NSPACES]>,
    stream_acc: Vec<[[f64; 2]; NSPACES]>,
    scatter_pj: Vec<[[f64; 2]; NSPACES]>,
    scatter_acc: Vec<[[f64; 2]; NSPACES]>,
    /// pJ per bit of a full-word streaming access, [level][space][read/write].
    bit_pj: Vec<[[f64; 2]; NSPACES]>,
    /// pJ per element per hop of each level's network, per data space at its bits (0 for data
    /// spaces the network does not carry).
    hop_pj: Vec<[f64; NSPACES]>,
    /// pJ per hop of one message of 1..=64 bits, [level][bits − 1]: compressed streams move
    /// one message per stored entry, and a network priced per transfer charges per message.
    hop_msg_pj: Vec<Vec<f64>>,
    /// Priced operations.
    ops: Vec<(ComputeOp, f64)>,
}

impl Prices {
    /// pJ of one full-word read (`rw` = 0) or write (1) at level `l` of `word_bits` bits. A
    /// banked level prices each data space at its bank; the exports state one price per
    /// level, so the dearest bank's stands for the level.
    pub(crate) fn word_pj(&self, l: usize, rw: usize, word_bits: u32) -> f64 {
        self.bit_pj[l].iter().map(|s| s[rw]).fold(0.0, f64::max) * word_bits as f64
    }

    pub(crate) fn op(&self, op: ComputeOp) -> f64 {
        self.ops
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, p)| *p)
            .unwrap_or(0.0)
    }
}

/// Everything about (problem, hardware, prices) the counter needs, precomputed once.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub problem: &'a Problem,
    pub hw: &'a Hardware,
    pub nlev: usize,
    pub dims: [u64; NDIMS],
    bits: [f64; NSPACES],
    binary: [bool; NSPACES],
    /// Per level, the pools its capacity is checked against: (data-space mask, bits).
    pools: Vec<Vec<(u8, u128)>>,
    word: Vec<f64>,
    pub prices: Prices,
    unicast: Vec<f64>,
    pub leak_pj_per_cycle: f64,
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
}

fn window(pe: f64, re: f64, stride: f64, dilation: f64) -> f64 {
    ((pe - 1.0) * stride + (re - 1.0) * dilation + 1.0).min(pe * re)
}

impl<'a> Ctx<'a> {
    /// Prices every access, hop and operation this problem can cause on this chip.
    pub fn prices(
        problem: &Problem,
        hw: &Hardware,
        pricing: &dyn Pricing,
    ) -> Result<Prices, MapperError> {
        hw.validate()?;
        hw.check_problem(problem)?;
        let mut prices = Prices::default();
        for lvl in &hw.levels {
            let wb = lvl.word_bits;
            let mut sp = [[0.0; 2]; NSPACES];
            let mut sa = [[0.0; 2]; NSPACES];
            let mut xp = [[0.0; 2]; NSPACES];
            let mut xa = [[0.0; 2]; NSPACES];
            let mut bp = [[0.0; 2]; NSPACES];
            for ds in DataSpace::ALL {
                let b = problem.bits(ds).max(1);
                for (i, op) in [AccessOp::Read, AccessOp::Write].into_iter().enumerate() {
                    if b <= wb {
                        let pack = wb / b;
                        sp[ds.index()][i] = pricing.access_pj(lvl, ds, op, pack * b)? / pack as f64;
                        sa[ds.index()][i] = 1.0 / pack as f64;
                        xp[ds.index()][i] = pricing.access_pj(lvl, ds, op, b)?;
                        xa[ds.index()][i] = 1.0;
                        bp[ds.index()][i] = pricing.access_pj(lvl, ds, op, wb)? / wb as f64;
                    } else {
                        let n = b.div_ceil(wb) as f64;
                        let e = pricing.access_pj(lvl, ds, op, wb)? * n;
                        bp[ds.index()][i] = e / n / wb as f64;
                        sp[ds.index()][i] = e;
                        sa[ds.index()][i] = n;
                        xp[ds.index()][i] = e;
                        xa[ds.index()][i] = n;
                    }
                }
            }
            prices.stream_pj.push(sp);
            prices.stream_acc.push(sa);
            prices.scatter_pj.push(xp);
            prices.scatter_acc.push(xa);
            prices.bit_pj.push(bp);
            let mut hp = [0.0; NSPACES];
            for ds in DataSpace::ALL {
                if lvl.network.carries(ds) {
                    hp[ds.index()] = pricing.hop_pj(lvl, problem.bits(ds).max(1))?;
                }
            }
            prices.hop_pj.push(hp);
            let mut msg = Vec::with_capacity(64);
            for b in 1..=64 {
                msg.push(pricing.hop_pj(lvl, b)?);
            }
            prices.hop_msg_pj.push(msg);
        }
        for op in Self::op_kinds(problem, hw) {
            prices.ops.push((op, pricing.compute_pj(&hw.compute, op)?));
        }
        Ok(prices)
    }

    pub fn new(
        problem: &'a Problem,
        hw: &'a Hardware,
        prices: Prices,
    ) -> Result<Ctx<'a>, MapperError> {
        hw.validate()?;
        hw.check_problem(problem)?;
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
        for ds in DataSpace::ALL {
            bits[ds.index()] = problem.bits(ds) as f64;
            binary[ds.index()] = problem.is_binary(ds);
        }
        let spaces = problem.spaces().fold(0u8, |m, d| m | d.bit());
        let mut pools = Vec::new();
        let mut word = Vec::new();
        let mut may_hold = Vec::new();
        let mut unicast = Vec::new();
        let mut leak_mw = 0.0;
        for (l, lvl) in hw.levels.iter().enumerate() {
            word.push(lvl.word_bits as f64);
            pools.push(
                lvl.pools()
                    .into_iter()
                    .filter_map(|(m, b)| b.map(|b| (m, b)))
                    .collect::<Vec<_>>(),
            );
            let mut mh = 0u8;
            for ds in problem.spaces() {
                if hw.may_hold(lvl, ds) {
                    mh |= ds.bit();
                }
            }
            may_hold.push(mh);
            let fan = hw.fanout(l);
            unicast.push(
                lvl.network
                    .unicast_hops
                    .unwrap_or(match lvl.network.topology {
                        Topology::Mesh => (fan[0] + fan[1]) as f64 / 2.0,
                        Topology::Bus | Topology::Systolic => 1.0,
                    }),
            );
            leak_mw += lvl.leakage_mw * hw.instances(l) as f64;
        }
        leak_mw += hw.compute.leakage_mw * hw.total_units() as f64;
        Ok(Ctx {
            problem,
            hw,
            nlev,
            dims: problem.dims(),
            bits,
            binary,
            pools,
            word,
            prices,
            unicast,
            // mW × µs = nJ; one cycle lasts 1/clock_mhz µs.
            leak_pj_per_cycle: leak_mw * 1000.0 / hw.compute.clock_mhz,
            spaces,
            may_hold,
            zero: hw.compute.zero_handling,
            valid_frac: problem.valid_fraction(),
            nspa: problem.neuron_steps_per_accum as f64,
            free: problem.free_backing.iter().fold(0u8, |m, d| m | d.bit()),
        })
    }

    fn op_kinds(p: &Problem, hw: &Hardware) -> Vec<ComputeOp> {
        let mut v = vec![
            Self::main_op(p),
            ComputeOp::Add { bits: p.accum_bits },
            ComputeOp::Compare { bits: p.accum_bits },
            ComputeOp::Mul {
                a_bits: p.accum_bits,
                b_bits: hw.compute.mac_bits,
            },
        ];
        if p.kind == Kind::Snn {
            v.push(ComputeOp::Add {
                bits: p.membrane_bits,
            });
            v.push(ComputeOp::Compare {
                bits: p.membrane_bits,
            });
        }
        v
    }

    pub(crate) fn main_op(p: &Problem) -> ComputeOp {
        if p.kind == Kind::Snn && p.input_bits == 1 {
            ComputeOp::Add { bits: p.accum_bits }
        } else {
            ComputeOp::Mac {
                weight_bits: p.weight_bits,
                input_bits: p.input_bits,
            }
        }
    }

    fn foot(&self, ds: usize, e: &[f64; NDIMS]) -> f64 {
        match ds {
            W_ => e[G] * e[K] * e[C] * e[R] * e[S],
            I_ => e[N] * e[G] * e[C] * e[T] * self.rows(e, P) * self.rows(e, Q),
            A_ | O_ => e[N] * e[G] * e[K] * e[P] * e[Q] * e[T],
            _ => e[N] * e[G] * e[K] * e[P] * e[Q],
        }
    }

    /// Input rows (d = P) or columns (d = Q) of a tile with extents `e`: the window, at most
    /// the real map (padding is not stored).
    fn rows(&self, e: &[f64; NDIMS], d: usize) -> f64 {
        let pr = self.problem;
        let (k, stride, dil, real) = if d == P {
            (R, pr.stride_h, pr.dilation_h, pr.input_h)
        } else {
            (S, pr.stride_w, pr.dilation_w, pr.input_w)
        };
        let w = window(e[d], e[k], stride as f64, dil as f64);
        real.map_or(w, |h| w.min(h as f64))
    }

    fn relevant(ds: usize, d: usize) -> bool {
        DataSpace::ALL[ds].relevant_mask() & (1 << d) != 0
    }

    /// Element transfers into one instance of a child at level `c` whose tile has extents
    /// `e`, or (with `group` = the parent level) parent reads for one multicast group of
    /// children whose merged tile has extents `e`: the tile times the number of times it
    /// changes, walking the temporal loops above `c` outward and skipping the innermost run of
    /// loops irrelevant to `ds`; with a sliding window, a step along P or Q brings only the new
    /// rows or columns.
    #[allow(clippy::too_many_arguments)]
    fn refills(
        &self,
        m: &Compact,
        ext: &[[f64; NDIMS]],
        ds: usize,
        c: usize,
        e: &[f64; NDIMS],
        sliding: bool,
        group: Option<usize>,
    ) -> f64 {
        let tile = self.foot(ds, e);
        let projected = ds == M_;
        let mut mult = 1.0;
        let mut first: Option<(usize, usize, f64)> = None;
        for j in (0..c).rev() {
            for &d in m.order[j].iter().rev() {
                let d = d as usize;
                let f = m.tf[j][d];
                if f == 1 || (projected && (d == C || d == R || d == S)) {
                    continue;
                }
                if first.is_none() {
                    if !Self::relevant(ds, d) {
                        continue;
                    }
                    first = Some((j, d, f as f64));
                }
                mult *= f as f64;
            }
        }
        let Some((j, d, f)) = first else {
            return tile;
        };
        if sliding && ds == I_ && (d == P || d == Q) {
            let pr = self.problem;
            let (stride, dil, kd) = if d == P {
                (pr.stride_h as f64, pr.dilation_h as f64, R)
            } else {
                (pr.stride_w as f64, pr.dilation_w as f64, S)
            };
            let inner = ext[j + 1][d] * m.sp(j, d) as f64;
            // The tile's lines (at most the real map); the steps count the new lines of the
            // padded window, an upper bound at the border.
            let w = self.rows(e, d);
            // Each child keeps the overlap of its own window; what it lacks after a step is
            // the new rows of its own window, and a multicast read serves the union of those
            // (a child cannot take over rows another child held: nothing forwards them).
            let own = self.rows(&ext[c], d);
            let new_rows = own.min(inner * stride);
            let delta = if new_rows >= own {
                w
            } else {
                match group {
                    Some(p) => self
                        .union_of_new_rows(m, ext, p, c, (d, stride), (kd, dil), new_rows)
                        .min(w),
                    None => new_rows,
                }
            };
            let tile_delta = tile / w * delta;
            return mult / f * (tile + (f - 1.0) * tile_delta);
        }
        tile * mult
    }

    /// Rows covered by the `len` new rows of every child of one multicast group, the children
    /// offset by the spatial loops over the stepping dimension and its kernel dimension on the
    /// multicast networks between `p` and `c`.
    #[allow(clippy::too_many_arguments)]
    fn union_of_new_rows(
        &self,
        m: &Compact,
        ext: &[[f64; NDIMS]],
        p: usize,
        c: usize,
        (d, stride): (usize, f64),
        (kd, dil): (usize, f64),
        len: f64,
    ) -> f64 {
        let mut offsets: Vec<f64> = vec![0.0];
        for j in p..c {
            if !self.hw.levels[j].network.multicast {
                continue;
            }
            for (dim, scale) in [(d, stride), (kd, dil)] {
                let f = m.sp(j, dim);
                if f <= 1 {
                    continue;
                }
                let spacing = scale * ext[j + 1][dim];
                let base = std::mem::take(&mut offsets);
                for i in 0..f {
                    offsets.extend(base.iter().map(|o| o + i as f64 * spacing));
                }
            }
        }
        offsets.sort_by(f64::total_cmp);
        offsets.dedup();
        let gaps: f64 = offsets.windows(2).map(|w| (w[1] - w[0]).min(len)).sum();
        gaps + len
    }

    fn hops(&self, j: usize, m: f64) -> f64 {
        self.unicast[j] + (m - 1.0).max(0.0) * self.hw.levels[j].network.hops_per_extra_destination
    }

    fn elem_bits(&self, ds: usize, fmt: &SparseFormat, d: f64, tile: f64) -> (f64, f64) {
        fmt.bits_per_element(self.bits[ds], self.binary[ds], d, tile)
    }

    /// Counts a mapping. `out` is cleared and refilled (reused by the search).
    pub(crate) fn count(&self, m: &Compact, out: &mut Counts) -> Result<(), Illegal> {
        let l_n = self.nlev;
        let hw = self.hw;
        out.accesses.clear();
        out.transfers.clear();
        out.ops.clear();
        out.instances_used.clear();
        // A mapping rejected before its unrolling is counted uses no units.
        out.units_used = 0.0;
        out.tile_bits.clear();
        // Extents inside each level's boundary.
        let mut ext = [[1.0f64; NDIMS]; MAX_LEVELS + 1];
        for l in (0..l_n).rev() {
            for d in 0..NDIMS {
                ext[l][d] = ext[l + 1][d] * m.tf[l][d] as f64 * m.sp(l, d) as f64;
            }
        }
        for d in 0..NDIMS {
            if ext[0][d] != self.dims[d] as f64 {
                return Err(Illegal::Factors(d));
            }
        }
        let mut inst = [1.0f64; MAX_LEVELS + 1];
        let mut cycles = 1.0;
        for l in 0..l_n {
            let fan = hw.fanout(l);
            let (mut ux, mut uy) = (1u64, 1u64);
            let mut all = 1.0;
            for d in 0..NDIMS {
                ux *= m.sx[l][d] as u64;
                uy *= m.sy[l][d] as u64;
                all *= m.sp(l, d) as f64;
                cycles *= m.tf[l][d] as f64;
            }
            if ux > fan[0] {
                return Err(Illegal::Fit(l, 0));
            }
            if uy > fan[1] {
                return Err(Illegal::Fit(l, 1));
            }
            inst[l + 1] = inst[l] * all;
        }
        let units = inst[l_n];
        let ops: f64 = self.dims.iter().map(|&d| d as f64).product();
        out.cycles = cycles;
        out.units_used = units;
        out.instances_used.extend_from_slice(&inst[..l_n]);
        out.skips = self.zero == ZeroHandling::Skip;
        let op_scale = if self.zero == ZeroHandling::None {
            Scale::One
        } else {
            Scale::Input
        };

        // Who keeps what.
        let keep = |l: usize, ds: usize| m.keep[l] & (1 << ds) & self.spaces != 0;
        let mut chains: [[usize; MAX_LEVELS]; NSPACES] = [[0; MAX_LEVELS]; NSPACES];
        let mut clen = [0usize; NSPACES];
        for ds in 0..NSPACES {
            if self.spaces & (1 << ds) == 0 {
                continue;
            }
            for l in 0..l_n {
                if keep(l, ds) {
                    chains[ds][clen[ds]] = l;
                    clen[ds] += 1;
                }
            }
            if clen[ds] == 0 {
                return Err(Illegal::NoKeeper(ds));
            }
        }
        // A data space whose outermost keeper is not the outermost level must be whole there:
        // a relevant loop above it would need a tile from (or a drain to) a level that does
        // not keep it. Partial sums are produced, not fetched, and escape this rule.
        for ds in [W_, I_, M_, O_] {
            if clen[ds] == 0 {
                continue;
            }
            let top = chains[ds][0];
            for l in 0..top {
                for d in 0..NDIMS {
                    let projected_out = ds == M_ && matches!(d, C | R | S);
                    if m.tf[l][d] > 1 && Self::relevant(ds, d) && !projected_out {
                        return Err(Illegal::Unbacked(ds, l));
                    }
                }
            }
        }
        // The finalizing level: the innermost accum keeper whose sums are complete when they
        // leave it.
        let mut fin = None;
        for &l in &chains[A_][..clen[A_]] {
            if m.sums_finish_at(l) {
                fin = Some(l);
            }
        }
        let Some(fin) = fin else {
            return Err(Illegal::PartialSumsEscape(chains[A_][0]));
        };
        out.finalizing_level = fin;
        // Accum keepers above the finalizing level would hold finished sums nobody reads.
        let a_start = chains[A_][..clen[A_]]
            .iter()
            .position(|&l| l == fin)
            .unwrap_or(0);
        for ds in [M_, O_] {
            for &l in &chains[ds][..clen[ds]] {
                if l > fin {
                    return Err(Illegal::BelowFinal(ds, l));
                }
            }
        }
        if self.problem.kind == Kind::Snn {
            let mi = chains[M_][clen[M_] - 1];
            for l in 0..mi {
                if m.sp(l, T) > 1 {
                    return Err(Illegal::SpatialT(l));
                }
            }
        }

        // Tiles and capacities.
        for l in 0..l_n {
            let mut tb = [0.0; NSPACES];
            for ds in 0..NSPACES {
                let kept = match ds {
                    A_ => keep(l, ds) && l >= fin,
                    _ => keep(l, ds),
                };
                if !kept {
                    continue;
                }
                let mut elems = self.foot(ds, &ext[l]);
                if ds == O_ {
                    elems *= self.nspa;
                }
                let compressed = (ds == I_ || ds == O_) && self.format(m, l, ds).is_compressed();
                let w = self.word[l];
                let bits = if compressed {
                    let (a, b) = self.elem_bits(ds, self.format(m, l, ds), 1.0, elems);
                    (elems * (a + b) / w).ceil() * w
                } else {
                    // Stored as it is accessed: whole elements to a word, or whole words to
                    // an element.
                    let b = self.bits[ds];
                    let words = if b <= w {
                        (elems / (w / b).floor()).ceil()
                    } else {
                        elems * (b / w).ceil()
                    };
                    words * w
                };
                tb[ds] = bits;
            }
            for &(mask, cap) in &self.pools[l] {
                let total: u128 = (0..NSPACES)
                    .filter(|ds| mask & (1 << ds) != 0)
                    .map(|ds| tb[ds] as u128)
                    .sum();
                if total > cap {
                    let worst = (0..NSPACES)
                        .filter(|ds| mask & (1 << ds) != 0)
                        .max_by(|a, b| tb[*a].total_cmp(&tb[*b]))
                        .unwrap_or(0);
                    return Err(Illegal::Capacity(l, worst, total, cap));
                }
            }
            out.tile_bits.push(tb);
        }

        let skip_scatter = |l: usize, ds: usize| {
            self.zero == ZeroHandling::Skip && self.word[l] >= 2.0 * self.bits[ds]
        };

        // Weights and inputs: fills down the chain, operand reads at the innermost keeper.
        for ds in [W_, I_] {
            let ch = &chains[ds][..clen[ds]];
            for w in ch.windows(2) {
                let (p, c) = (w[0], w[1]);
                let sliding = hw.levels[c].sliding_window;
                let fills = self.refills(m, &ext, ds, c, &ext[c], sliding, None) * inst[c];
                let mut mext = ext[c];
                let mut mcount = inst[c];
                for j in p..c {
                    if hw.levels[j].network.multicast {
                        for d in 0..NDIMS {
                            let s = m.sp(j, d) as f64;
                            mext[d] *= s;
                            mcount /= s;
                        }
                    }
                }
                let reads = self.refills(m, &ext, ds, c, &mext, sliding, Some(p)) * mcount;
                // A backing copy that costs nothing is not read; the transfers still happen.
                let free = p == chains[ds][0] && self.free & (1 << ds) != 0;
                self.push_move(out, ds, p, c, reads, fills, Scale::One, free);
            }
            let inner = ch[ch.len() - 1];
            let mut mext = [1.0; NDIMS];
            let mut count = inst[inner];
            for j in inner..l_n {
                let mc = hw.levels[j].network.multicast;
                for d in 0..NDIMS {
                    let s = m.sp(j, d) as f64;
                    if mc {
                        mext[d] *= s;
                    } else {
                        count *= s;
                    }
                }
            }
            let reads = cycles * count * self.foot(ds, &mext);
            let (scale, scatter) = if ds == W_ {
                (op_scale, skip_scatter(inner, ds))
            } else {
                (Scale::Valid, false)
            };
            out.accesses.push(AccessCount {
                level: inner,
                data_space: DataSpace::ALL[ds],
                action: Action::Read,
                elements: reads,
                scale,
                scatter,
                purpose: Purpose::Operand,
            });
            for j in inner..l_n {
                let last = j == l_n - 1;
                let deliveries = if last { ops } else { reads };
                out.transfers.push(TransferCount {
                    network: j,
                    data_space: DataSpace::ALL[ds],
                    sends: reads,
                    deliveries,
                    hops: self.hops(j, if last { deliveries / reads } else { 1.0 }),
                    format_level: (ds == I_).then_some(inner),
                    scale,
                });
            }
        }

        // Partial sums: updated per operation at the innermost keeper, drained up the chain to
        // the finalizing level, each parent adding what arrives (read-modify-write).
        let ach = &chains[A_][a_start..clen[A_]];
        let ia = ach[ach.len() - 1];
        let mut red_below = 1.0;
        for j in ia..l_n {
            if hw.levels[j].network.reduction {
                for d in [C, R, S] {
                    red_below *= m.sp(j, d) as f64;
                }
            }
        }
        let updates = ops / red_below;
        let res_ia = self.refills(m, &ext, A_, ia, &ext[ia], false, None) * inst[ia];
        let scat = skip_scatter(ia, A_);
        self.push_acc(
            out,
            ia,
            A_,
            Action::Update,
            updates,
            op_scale,
            scat,
            Purpose::Accumulate,
        );
        self.push_acc(
            out,
            ia,
            A_,
            Action::Read,
            updates - res_ia,
            op_scale,
            scat,
            Purpose::Accumulate,
        );
        let main = Self::main_op(self.problem);
        out.ops.push(OpCount {
            op: main,
            count: ops,
            scale: op_scale,
            what: "multiply-accumulate or synaptic accumulate",
        });
        let add_acc = ComputeOp::Add {
            bits: self.problem.accum_bits,
        };
        // Spatial reduction below the innermost keeper is done by the units' own adders (a
        // systolic column or forwarding chain adds each product to the passing partial sum),
        // which the operation above already counts.
        for j in ia..l_n {
            out.transfers.push(TransferCount {
                network: j,
                data_space: DataSpace::Accum,
                sends: updates,
                deliveries: updates,
                hops: self.hops(j, 1.0),
                format_level: None,
                scale: op_scale,
            });
        }
        for w in ach.windows(2).rev() {
            let (p, c) = (w[0], w[1]);
            let wc = self.refills(m, &ext, A_, c, &ext[c], false, None) * inst[c];
            let mut red = 1.0;
            for j in p..c {
                if hw.levels[j].network.reduction {
                    for d in [C, R, S] {
                        red *= m.sp(j, d) as f64;
                    }
                }
            }
            let u = wc / red;
            let wp = self.refills(m, &ext, A_, p, &ext[p], false, None) * inst[p];
            self.push_acc(
                out,
                c,
                A_,
                Action::Read,
                wc,
                Scale::One,
                false,
                Purpose::Drain,
            );
            self.push_acc(
                out,
                p,
                A_,
                Action::Update,
                u,
                Scale::One,
                false,
                Purpose::Accumulate,
            );
            self.push_acc(
                out,
                p,
                A_,
                Action::Read,
                u - wp,
                Scale::One,
                false,
                Purpose::Accumulate,
            );
            out.ops.push(OpCount {
                op: add_acc,
                count: (u - wp) + (wc - u),
                scale: Scale::One,
                what: "partial-sum accumulation above the innermost level",
            });
            for j in p..c {
                let last = j == c - 1;
                out.transfers.push(TransferCount {
                    network: j,
                    data_space: DataSpace::Accum,
                    sends: if last { wc } else { u },
                    deliveries: u,
                    hops: self.hops(j, 1.0),
                    format_level: None,
                    scale: Scale::One,
                });
            }
        }
        let e = &ext[0];
        let d_acc = e[N] * e[G] * e[K] * e[P] * e[Q] * e[T];
        let steps = d_acc * self.nspa;
        out.epilogue_steps = steps;
        self.push_acc(
            out,
            fin,
            A_,
            Action::Read,
            steps,
            Scale::One,
            false,
            Purpose::Epilogue,
        );

        // The epilogue.
        let pr = self.problem;
        match pr.kind {
            Kind::Qnn => {
                out.ops.push(OpCount {
                    op: ComputeOp::Compare {
                        bits: pr.accum_bits,
                    },
                    count: d_acc,
                    scale: Scale::One,
                    what: "requantization compare",
                });
                if hw.compute.requantize_mul {
                    out.ops.push(OpCount {
                        op: ComputeOp::Mul {
                            a_bits: pr.accum_bits,
                            b_bits: hw.compute.mac_bits,
                        },
                        count: d_acc,
                        scale: Scale::One,
                        what: "requantization scale",
                    });
                }
            }
            Kind::Snn => {
                let mb = pr.membrane_bits;
                let madd = ComputeOp::Add { bits: mb };
                out.ops.push(OpCount {
                    op: madd,
                    count: steps,
                    scale: Scale::One,
                    what: "input current into the membrane",
                });
                out.ops.push(OpCount {
                    op: ComputeOp::Compare { bits: mb },
                    count: steps,
                    scale: Scale::One,
                    what: "threshold compare",
                });
                out.ops.push(OpCount {
                    op: madd,
                    count: steps,
                    scale: Scale::Output,
                    what: "reset by subtraction",
                });
                if matches!(pr.neuron, Neuron::Lif | Neuron::CubaLif) {
                    out.ops.push(OpCount {
                        op: madd,
                        count: steps,
                        scale: Scale::One,
                        what: "leak (shift and subtract)",
                    });
                }
                // A CubaLIF keeps a synaptic current beside each membrane: a second state read,
                // decayed, fed and written with it every step.
                let states = if pr.neuron == Neuron::CubaLif {
                    for what in [
                        "synaptic current decay",
                        "synaptic current into the membrane",
                    ] {
                        out.ops.push(OpCount {
                            op: madd,
                            count: steps,
                            scale: Scale::One,
                            what,
                        });
                    }
                    2.0
                } else {
                    1.0
                };
                let mch = &chains[M_][..clen[M_]];
                let mi = mch[mch.len() - 1];
                self.push_acc(
                    out,
                    mi,
                    M_,
                    Action::Read,
                    steps * states,
                    Scale::One,
                    false,
                    Purpose::Epilogue,
                );
                self.push_acc(
                    out,
                    mi,
                    M_,
                    Action::Update,
                    steps * states,
                    Scale::One,
                    false,
                    Purpose::Epilogue,
                );
                let dm = e[N] * e[G] * e[K] * e[P] * e[Q];
                for w in mch.windows(2) {
                    let (p, c) = (w[0], w[1]);
                    let moves = (self.refills(m, &ext, M_, c, &ext[c], false, None) * inst[c] - dm)
                        * states;
                    self.push_acc(
                        out,
                        p,
                        M_,
                        Action::Read,
                        moves,
                        Scale::One,
                        false,
                        Purpose::Fill,
                    );
                    self.push_acc(
                        out,
                        c,
                        M_,
                        Action::Fill,
                        moves,
                        Scale::One,
                        false,
                        Purpose::Fill,
                    );
                    self.push_acc(
                        out,
                        c,
                        M_,
                        Action::Read,
                        moves,
                        Scale::One,
                        false,
                        Purpose::Drain,
                    );
                    self.push_acc(
                        out,
                        p,
                        M_,
                        Action::Update,
                        moves,
                        Scale::One,
                        false,
                        Purpose::Drain,
                    );
                    for j in p..c {
                        out.transfers.push(TransferCount {
                            network: j,
                            data_space: DataSpace::Membrane,
                            sends: 2.0 * moves,
                            deliveries: 2.0 * moves,
                            hops: self.hops(j, 1.0),
                            format_level: None,
                            scale: Scale::One,
                        });
                    }
                }
                // The finished current travels to where the membrane lives.
                for j in mi..fin {
                    out.transfers.push(TransferCount {
                        network: j,
                        data_space: DataSpace::Accum,
                        sends: steps,
                        deliveries: steps,
                        hops: self.hops(j, 1.0),
                        format_level: None,
                        scale: Scale::One,
                    });
                }
            }
        }

        // Outputs: written once where the epilogue puts them, then drained to the backing level.
        let och = &chains[O_][..clen[O_]];
        let oi = och[och.len() - 1];
        let d_out = steps;
        self.push_acc(
            out,
            oi,
            O_,
            Action::Update,
            d_out,
            Scale::One,
            false,
            Purpose::Epilogue,
        );
        for j in oi..fin {
            out.transfers.push(TransferCount {
                network: j,
                data_space: DataSpace::Outputs,
                sends: d_out,
                deliveries: d_out,
                hops: self.hops(j, 1.0),
                format_level: Some(oi),
                scale: Scale::One,
            });
        }
        for w in och.windows(2) {
            let (p, c) = (w[0], w[1]);
            self.push_acc(
                out,
                c,
                O_,
                Action::Read,
                d_out,
                Scale::One,
                false,
                Purpose::Drain,
            );
            if !(p == och[0] && self.free & (1 << O_) != 0) {
                self.push_acc(
                    out,
                    p,
                    O_,
                    Action::Update,
                    d_out,
                    Scale::One,
                    false,
                    Purpose::Drain,
                );
            }
            for j in p..c {
                out.transfers.push(TransferCount {
                    network: j,
                    data_space: DataSpace::Outputs,
                    sends: d_out,
                    deliveries: d_out,
                    hops: self.hops(j, 1.0),
                    format_level: Some(c),
                    scale: Scale::One,
                });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push_acc(
        &self,
        out: &mut Counts,
        level: usize,
        ds: usize,
        action: Action,
        elements: f64,
        scale: Scale,
        scatter: bool,
        purpose: Purpose,
    ) {
        if elements > 0.0 {
            out.accesses.push(AccessCount {
                level,
                data_space: DataSpace::ALL[ds],
                action,
                elements,
                scale,
                scatter,
                purpose,
            });
        }
    }

    /// A tile moving from parent `p` to child `c`: reads at the parent, fills at the child,
    /// and the transfers over every network between them (multicast on the last one).
    #[allow(clippy::too_many_arguments)]
    fn push_move(
        &self,
        out: &mut Counts,
        ds: usize,
        p: usize,
        c: usize,
        reads: f64,
        fills: f64,
        scale: Scale,
        parent_free: bool,
    ) {
        if !parent_free {
            self.push_acc(out, p, ds, Action::Read, reads, scale, false, Purpose::Fill);
        }
        self.push_acc(out, c, ds, Action::Fill, fills, scale, false, Purpose::Fill);
        for j in p..c {
            let last = j == c - 1;
            let deliveries = if last { fills } else { reads };
            let mc = if reads > 0.0 { deliveries / reads } else { 1.0 };
            out.transfers.push(TransferCount {
                network: j,
                data_space: DataSpace::ALL[ds],
                sends: reads,
                deliveries,
                hops: self.hops(j, mc),
                format_level: (ds == I_ || ds == O_).then_some(p),
                scale,
            });
        }
    }

    pub(crate) fn format(&self, m: &Compact, l: usize, ds: usize) -> &SparseFormat {
        let lv = &self.hw.levels[l];
        if ds == I_ {
            &lv.formats[m.fin[l] as usize]
        } else {
            &lv.formats[m.fout[l] as usize]
        }
    }

    /// The density that multiplies a count of `scale` (see [`Scale::density`]).
    pub(crate) fn density(&self, scale: Scale, dens: &Densities) -> f64 {
        scale.density(dens, self.valid_frac)
    }

    /// pJ and word accesses of one access count.
    pub(crate) fn price_access(
        &self,
        m: &Compact,
        counts: &Counts,
        a: &AccessCount,
        dens: &Densities,
    ) -> (f64, f64, f64) {
        let ds = a.data_space.index();
        let n = a.elements * self.density(a.scale, dens);
        let rw = if a.action == Action::Read { 0 } else { 1 };
        let l = a.level;
        if ds == I_ || ds == O_ {
            let f = self.format(m, l, ds);
            if f.is_compressed() {
                let d = if ds == I_ { dens.input } else { dens.output };
                let tile = counts.tile_bits[l][ds] / self.bits[ds].max(1.0);
                let (data, meta) = self.elem_bits(ds, f, d, tile);
                let pj = self.prices.bit_pj[l][ds][rw];
                return (
                    n * data * pj,
                    n * meta * pj,
                    n * (data + meta) / self.word[l],
                );
            }
        }
        if a.scatter {
            (
                n * self.prices.scatter_pj[l][ds][rw],
                0.0,
                n * self.prices.scatter_acc[l][ds][rw],
            )
        } else {
            (
                n * self.prices.stream_pj[l][ds][rw],
                0.0,
                n * self.prices.stream_acc[l][ds][rw],
            )
        }
    }

    /// Energy of one transfer count: per element at its bits, or per bit of the format's
    /// average data and metadata when the data is stored compressed at its source.
    fn transfer_pj(
        &self,
        m: &Compact,
        counts: &Counts,
        t: &TransferCount,
        dens: &Densities,
    ) -> f64 {
        let ds = t.data_space.index();
        if self.prices.hop_pj[t.network][ds] == 0.0 {
            return 0.0;
        }
        let n = t.sends * self.density(t.scale, dens) * t.hops;
        match t.format_level {
            Some(l) if (ds == I_ || ds == O_) && self.format(m, l, ds).is_compressed() => {
                let f = self.format(m, l, ds);
                let d = if ds == I_ { dens.input } else { dens.output };
                let tile = counts.tile_bits[l][ds] / self.bits[ds].max(1.0);
                let (entries, bits) =
                    f.messages_per_element(self.bits[ds], self.binary[ds], d, tile);
                n * entries * self.message_pj(t.network, bits)
            }
            _ => n * self.prices.hop_pj[t.network][ds],
        }
    }

    /// pJ per hop of a message of `bits` (possibly fractional) bits: exact for prices linear in
    /// the bits; per whole message (rounded up) for prices per transfer.
    fn message_pj(&self, network: usize, bits: f64) -> f64 {
        let table = &self.prices.hop_msg_pj[network];
        if bits <= 0.0 || table.is_empty() {
            return 0.0;
        }
        let one = table[0];
        let whole = bits.ceil() as usize;
        let at = |b: usize| {
            if b <= table.len() {
                table[b - 1]
            } else {
                table[table.len() - 1] * b as f64 / table.len() as f64
            }
        };
        let p = at(whole);
        if (p - one * whole as f64).abs() <= 1e-9 * p.abs().max(1e-30) {
            one * bits
        } else {
            p
        }
    }

    /// Energy and latency of counted mapping at densities: (dynamic pJ, cycles, leakage pJ).
    pub(crate) fn quick(&self, m: &Compact, counts: &Counts, dens: &Densities) -> (f64, f64, f64) {
        let mut energy = 0.0;
        let mut rd = [0.0f64; MAX_LEVELS];
        let mut wr = [0.0f64; MAX_LEVELS];
        for a in &counts.accesses {
            let (e, meta, acc) = self.price_access(m, counts, a, dens);
            energy += e + meta;
            if a.action == Action::Read {
                rd[a.level] += acc;
            } else {
                wr[a.level] += acc;
            }
        }
        for t in &counts.transfers {
            energy += self.transfer_pj(m, counts, t, dens);
        }
        for o in &counts.ops {
            energy += o.count * self.density(o.scale, dens) * self.prices.op(o.op);
        }
        let (cycles, _) = self.latency(counts, dens, &rd, &wr);
        (energy, cycles, cycles * self.leak_pj_per_cycle)
    }

    fn latency(&self, counts: &Counts, dens: &Densities, rd: &[f64], wr: &[f64]) -> (f64, String) {
        let compute = counts.cycles
            * if counts.skips {
                self.density(Scale::Input, dens)
            } else {
                1.0
            }
            + counts.epilogue_steps / counts.units_used.max(1.0);
        let mut best = compute;
        let mut bound = "compute".to_string();
        for (l, lvl) in self.hw.levels.iter().enumerate() {
            let inst = counts.instances_used[l].max(1.0);
            for (bw, n, dir) in [
                (lvl.read_bandwidth, rd[l], "read"),
                (lvl.write_bandwidth, wr[l], "write"),
            ] {
                if let Some(bw) = bw {
                    let c = n / inst / bw;
                    if c > best {
                        best = c;
                        bound = format!("{} {dir} bandwidth", lvl.name);
                    }
                }
            }
        }
        (best, bound)
    }

    /// The full report of a counted mapping at densities.
    pub(crate) fn evaluate(&self, m: &Compact, counts: &Counts, dens: &Densities) -> Evaluation {
        let l_n = self.nlev;
        let mut levels: Vec<LevelReport> = self
            .hw
            .levels
            .iter()
            .enumerate()
            .map(|(l, lv)| LevelReport {
                level: lv.name.clone(),
                spaces: Vec::new(),
                network_pj: 0.0,
                total_pj: 0.0,
                instances_used: counts.instances_used[l],
            })
            .collect();
        let mut rd = [0.0f64; MAX_LEVELS];
        let mut wr = [0.0f64; MAX_LEVELS];
        for a in &counts.accesses {
            let (e, meta, acc) = self.price_access(m, counts, a, dens);
            if a.action == Action::Read {
                rd[a.level] += acc;
            } else {
                wr[a.level] += acc;
            }
            let rep = &mut levels[a.level];
            let idx = match rep.spaces.iter().position(|s| s.data_space == a.data_space) {
                Some(i) => i,
                None => {
                    rep.spaces.push(SpaceReport {
                        data_space: a.data_space,
                        ..SpaceReport::default()
                    });
                    rep.spaces.len() - 1
                }
            };
            let s = &mut rep.spaces[idx];
            let n = a.elements * self.density(a.scale, dens);
            match a.action {
                Action::Read => {
                    s.reads += n;
                    s.read_accesses += acc;
                }
                Action::Fill => {
                    s.fills += n;
                    s.write_accesses += acc;
                }
                Action::Update => {
                    s.updates += n;
                    s.write_accesses += acc;
                }
            }
            s.energy_pj += e;
            s.metadata_pj += meta;
            rep.total_pj += e + meta;
        }
        for t in &counts.transfers {
            let e = self.transfer_pj(m, counts, t, dens);
            levels[t.network].network_pj += e;
            levels[t.network].total_pj += e;
        }
        for rep in &mut levels {
            rep.spaces.sort_by_key(|s| s.data_space);
        }
        let mut compute = Vec::new();
        let mut compute_pj = 0.0;
        for o in &counts.ops {
            let n = o.count * self.density(o.scale, dens);
            let e = n * self.prices.op(o.op);
            compute_pj += e;
            compute.push(OpReport {
                op: o.op,
                what: o.what.to_string(),
                count: n,
                energy_pj: e,
            });
        }
        let storage: f64 = levels.iter().map(|l| l.total_pj).sum();
        let (cycles, bound) = self.latency(counts, dens, &rd[..l_n], &wr[..l_n]);
        let leakage = cycles * self.leak_pj_per_cycle;
        let dynamic = storage + compute_pj;
        let ops = self.problem.ops() as f64;
        Evaluation {
            problem: self.problem.name.clone(),
            hardware: self.hw.name.clone(),
            densities: *dens,
            energy_pj: dynamic + leakage,
            dynamic_pj: dynamic,
            leakage_pj: leakage,
            compute_pj,
            levels,
            compute,
            cycles,
            latency_us: cycles / self.hw.compute.clock_mhz,
            bound,
            utilization: counts.units_used / self.hw.total_units() as f64,
            edp_pj_cycles: (dynamic + leakage) * cycles,
            loop_ops: ops,
            valid_ops: self.problem.valid_ops,
            pj_per_op: (dynamic + leakage) / ops,
        }
    }

    pub(crate) fn illegal_error(&self, e: Illegal) -> MapperError {
        let problem = self.problem.name.clone();
        let lname = |l: usize| self.hw.levels[l].name.clone();
        match e {
            Illegal::Factors(d) => MapperError::Mapping {
                problem,
                level: "-".into(),
                data_space: None,
                key: format!("factors.{}", Dim::ALL[d]),
                message: format!(
                    "the factors of {} do not multiply to {}",
                    Dim::ALL[d],
                    self.dims[d]
                ),
            },
            Illegal::Fit(l, ax) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: None,
                key: "spatial".into(),
                message: format!("spatial factors exceed the {} children on {}", self.hw.fanout(l)[ax], ["X", "Y"][ax]),
            },
            Illegal::NoKeeper(ds) => MapperError::Mapping {
                problem,
                level: "-".into(),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: "keep".into(),
                message: "no level keeps it".into(),
            },
            Illegal::PartialSumsEscape(l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some("accum".into()),
                key: "keep".into(),
                message: "the partial sums of the outermost level that keeps them are not complete when they leave it: a reduction loop (C, R or S) above it is spatial or lies outside the loops that leave its tile in place".into(),
            },
            Illegal::BelowFinal(ds, l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: "keep".into(),
                message: "kept below the level where partial sums are final; the epilogue cannot reach it".into(),
            },
            Illegal::SpatialT(l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some("membrane".into()),
                key: "spatial".into(),
                message: "T is unrolled across instances above the level that keeps membranes: a neuron's steps are sequential".into(),
            },
            Illegal::Unbacked(ds, l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: "keep".into(),
                message: "a loop over a dimension of this data space lies at this level, above every level that keeps it: its tiles would come from (or go to) nowhere".into(),
            },
            Illegal::Capacity(l, ds, need, have) => MapperError::Capacity {
                problem,
                level: lname(l),
                data_space: DataSpace::ALL[ds].name().into(),
                need_bits: need,
                have_bits: have,
            },
        }
    }
}

/// Accesses and energy of one data space at one level.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SpaceReport {
    /// Data space.
    pub data_space: DataSpace,
    /// Elements read.
    pub reads: f64,
    /// Elements filled from above.
    pub fills: f64,
    /// Elements updated from below or by the compute.
    pub updates: f64,
    /// Word accesses for reads.
    pub read_accesses: f64,
    /// Word accesses for fills and updates.
    pub write_accesses: f64,
    /// Energy of the data, pJ.
    pub energy_pj: f64,
    /// Energy of the format's metadata, pJ.
    pub metadata_pj: f64,
}

/// One level's accesses and energy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LevelReport {
    /// Level name.
    pub level: String,
    /// Per data space.
    pub spaces: Vec<SpaceReport>,
    /// Energy of the network below this level, pJ.
    pub network_pj: f64,
    /// Storage and network energy, pJ.
    pub total_pj: f64,
    /// Instances in use.
    pub instances_used: f64,
}

/// One kind of operation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpReport {
    /// Operation.
    pub op: ComputeOp,
    /// What it is for.
    pub what: String,
    /// Count at the densities.
    pub count: f64,
    /// Energy, pJ.
    pub energy_pj: f64,
}

/// Energy, latency and leakage of a mapped layer at given densities.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Layer name.
    pub problem: String,
    /// Chip name.
    pub hardware: String,
    /// Densities evaluated at.
    pub densities: Densities,
    /// Dynamic plus leakage, pJ.
    pub energy_pj: f64,
    /// Dynamic energy, pJ.
    pub dynamic_pj: f64,
    /// Static power × latency, pJ.
    pub leakage_pj: f64,
    /// Energy of the operations, pJ.
    pub compute_pj: f64,
    /// Per level, outermost first.
    pub levels: Vec<LevelReport>,
    /// Per operation kind.
    pub compute: Vec<OpReport>,
    /// Cycles.
    pub cycles: f64,
    /// Latency, µs.
    pub latency_us: f64,
    /// What bounds the cycles: `compute` or `<level> read/write bandwidth`.
    pub bound: String,
    /// Compute units used ÷ available.
    pub utilization: f64,
    /// Energy × cycles.
    pub edp_pj_cycles: f64,
    /// Operations of the loop nest (padded index space).
    pub loop_ops: f64,
    /// Valid operations as stated by the problem.
    pub valid_ops: Option<f64>,
    /// Total energy per loop-nest operation, pJ.
    pub pj_per_op: f64,
}
