//! # snnergy-mapper
//!
//! The mapping engine of snnergy: it says what one layer costs on one chip when the layer is
//! scheduled as well as the chip allows, for a quantized network (QNN) and for a spiking
//! network (SNN) alike, so that the two are each judged at their own best mapping.
//!
//! It holds a hardware description as data ([`Hardware`], TOML), a layer as a loop-nest
//! problem ([`Problem`]), a loop-nest [`Mapping`] (tiling per storage level, loop order,
//! spatial unrolling, bypass, sparse formats), an exact access counter, latency and leakage,
//! a mapper that searches mappings ([`map`], [`Mapper`]), a [`Scorer`] that counts and prices
//! candidate mappings one after another as the search does, and exports to Timeloop
//! ([`to_timeloop`]) and ZigZag ([`to_zigzag`]), against whose cost model `VALIDATION.md`
//! compares the counts number for number and explains every difference. It depends on nothing else in snnergy: glue converts snnergy's layers
//! into [`Problem`]s, implements [`Pricing`] over snnergy's price tables, and turns the
//! counts of a [`MappedLayer`] into snnergy actions.
//!
//! ## The SNN as a loop nest
//!
//! An SNN layer's accumulation is a convolution in which the time step T behaves like a batch
//! dimension sharing the weights: `accum[n,g,k,p,q,t] = Σ_{c,r,s} W[g,k,c,r,s]·I[n,g,c,h,w,t]`.
//! Because `accum` carries T, time-step-major, layer-major and time-batched schedules are all
//! just loop orders and tilings of T. After the reduction of an `accum` element completes,
//! an **epilogue** runs once per element (per neuron step): the QNN requantizes (a compare,
//! plus a multiply if the chip scales) and writes the output; the SNN adds the current to the
//! membrane, compares, subtracts on a spike (output density), leaks (LIF), writes the spike.
//! The membrane is a data space of its own (N, G, K, P, Q: T is irrelevant to it); its traffic
//! above the level where it is updated is counted by the same machinery on the mapping
//! projected onto the non-reduction dimensions (C, R, S dropped). So T inside a K/P/Q tile at
//! a level that keeps membranes leaves them there across steps (time-batched), and T outermost
//! with membranes that do not fit on chip sends them to DRAM and back every step — no special
//! cases. Where the membrane and the finished `accum` sit in the same register
//! (output-stationary, SpinalFlow-style), accumulating into a separate current costs exactly
//! one register read and one add per neuron step more than accumulating into the membrane;
//! the counts show that read rather than hiding it. A direct-coded first layer is a problem
//! with t = 1 and `neuron_steps_per_accum` = T: its current is accumulated once and re-read
//! by each of the T neuron steps.
//!
//! ## Counting semantics
//!
//! Levels are numbered from the outermost (0, DRAM) inward; the loop nest is, from the
//! outside in, each level's temporal loops (outer first) followed by its spatial loops, which
//! distribute its tile over its children (the next level's instances or the compute units).
//!
//! * **Tile** of a data space at level ℓ: its footprint over every loop at levels ≥ ℓ
//!   (temporal and spatial, ℓ's own included). Inputs use the window: rows =
//!   min((P'−1)·stride + (R'−1)·dilation + 1, P'·R') for P', R' the tile's extents (exact when
//!   stride or dilation is 1). Capacity is checked per instance in words, laid out as they are
//!   accessed (⌊word / bits⌋ whole elements to a word), against the level's pool or the data
//!   space's partition; compressed formats, in their average bits rounded up to words, are
//!   checked at density 1 (capacity does not depend on the densities a mapping is evaluated
//!   at).
//! * **Fills** of ℓ from its parent (the next level outward that keeps the data space) per
//!   instance: the tile × the number of times it changes. Walking the temporal loops above ℓ
//!   from the innermost outward, the first run of loops irrelevant to the data space does not
//!   change the tile (stationarity); from the first relevant loop on, every loop multiplies.
//!   Loops of factor 1 are absent. A tile is identified by the indices of those relevant
//!   loops: it is refetched whenever one changes, even if a window coincidence makes the new
//!   set of elements equal the old one (as every analytic mapping model does). Sliding window (a level flag): if that first relevant loop
//!   is over P (Q) for inputs, each of its steps after the first brings only
//!   min(rows, step·stride) new rows (columns), where the step is the P extent inside the loop.
//!   Totals multiply by the instances in use (the product of the spatial factors above ℓ).
//! * **Parent reads** for those fills: the same formula for one virtual child whose tile is
//!   the union of the tiles of all children served by one multicast (the spatial loops between
//!   the two levels on multicast networks, merged into the tile), times the number of such
//!   groups. Identical data (spatial loops irrelevant to the data space) is read once; disjoint
//!   data (relevant loops) is read once per child; overlapping input windows (spatial P and R)
//!   are read once per union. With a sliding window, a step sends the union of the rows each
//!   child lacks, not the new rows of the union: a child keeps only its own window, and
//!   nothing forwards a row one child held to another. The multicast factor is child fills ÷
//!   parent reads, so parent reads × multicast = child fills × child instances always holds.
//! * **Operands**: the innermost level keeping weights (inputs) is read once per operation,
//!   divided by the multicast to the compute units (the same union rule).
//! * **Partial sums** (`accum`): the innermost keeper is updated once per operation divided by
//!   the spatial reduction below it (reducing networks over C, R, S; each reduction of m values
//!   costs m − 1 ADDs). Every update is a read-modify-write except the first of each residency
//!   (residencies = tile × changes × instances, with the stationarity rule), which only writes.
//!   A residency ends with a drain: the child reads the element and sends it up; the parent
//!   adds it to its copy (read-modify-write, the first arrival of each of its own residencies
//!   only writes, and costs an ADD per read). Spatial reduction between the two levels divides
//!   the parent's updates (child drains × instances ÷ reduction = parent updates). The chain
//!   ends at the **finalizing level**: the innermost level keeping `accum` whose sums are
//!   complete when they leave it, i.e. no reduction loop (C, R, S) above it is spatial and
//!   every temporal one lies in the run of irrelevant loops directly above it (those leave the
//!   tile in place, so the sum finishes there); the epilogue reads each finished element there
//!   once per neuron step. Partial sums never go above it.
//! * **Membranes** (SNN): read and written once per neuron step at the innermost level that
//!   keeps them (which must be the finalizing level or above it; a finished current travels up
//!   the networks to it). Above that, per parent/child pair, residencies counted on the
//!   projected nest; each residency but the first is filled from the parent and each but the
//!   last is drained back (the initial potential is set, the final one is dead).
//! * **Outputs**: written once per element (per neuron step) at the innermost keeper at or
//!   above the finalizing level, then read and written once per element at each level up to
//!   the backing level.
//! * **Zeros**: with `skip`, the compute, the innermost weight read and the innermost `accum`
//!   update (and its read) scale with the input density, and so do the cycles; `gate` saves the
//!   same energy but not the cycles; `none` saves nothing. Fills at outer levels are not
//!   skipped unless the data space is stored compressed there, in which case its accesses
//!   carry the format's data and metadata bits at that density.
//! * **Accesses** from element counts: streaming accesses pack ⌊word / bits⌋ elements (or
//!   take ⌈bits / word⌉ accesses for wide elements), compressed ones move the format's average
//!   bits; priced per access at the bits it moves. An event-driven **scatter** access (the
//!   per-operation weight read and `accum` update when zeros are skipped and a word holds
//!   several elements: the address depends on which inputs are non-zero) is one access per
//!   element priced at the element's bits.
//! * **Networks**: a transfer crosses the network of every level from its source down to its
//!   destination; it costs bits × hops × pJ per bit-hop, with unicast hops of (X+Y)/2 for a mesh
//!   fed from an edge and 1 for a bus or a systolic link, and a multicast to m destinations
//!   `unicast + (m − 1)·hops_per_extra_destination` on the last network.
//! * **Latency**: max(compute cycles, every level's words moved per instance ÷ its bandwidth);
//!   compute cycles = the product of all temporal factors (× input density under `skip`)
//!   plus the epilogue's steps spread over the units in use, plus, under a systolic network,
//!   each fold's fill and drain (a fold: an iteration of the loops at and above the network
//!   down to the innermost one indexing what the PEs keep; the PEs' still tile loaded one row
//!   a cycle when they keep weights or inputs, then rows + columns − 2 cycles of skew and
//!   drain), as SCALE-Sim times a fold. **Leakage** = static power of
//!   every instance × latency. **EDP** = energy × cycles. The binding bound is reported.
//! * **Uneven tiling**: the factors of a dimension of size D may multiply to D' > D, each
//!   loop's factor being its trip count over ceil-divided tiles (the last one partial, as
//!   ZigZag unrolls a dimension that does not divide its array). An index ≥ D is neither
//!   stored, moved nor computed: every count walks the clamped tiles, clamp(D − o, 0, e)
//!   elements at offset o, so operations are the real ones, a data space's counts over a
//!   dimension it depends on cover its D elements, and a loop over one it does not depend on
//!   counts only the positions that hold real data. Cycles are the padded trip counts (an
//!   idle unit still takes its cycle; the units in use are the operations over the cycles);
//!   capacity is checked on the full tile. A loop is refused (named by level and dimension)
//!   when it is not needed to cover D: its last iteration starts past D, or the others cover
//!   D without it. Uneven factors of P, Q, R and S (the input window) are refused.
//! * **Per-operand boundaries** (`spans_above`, as ZigZag's per-operand temporal mapping
//!   expresses them): weights, inputs or partial sums kept at
//!   ℓ may take in the innermost b temporal loops above ℓ, so that at ℓ one operand's tile
//!   sits above loops another's sits below. Every count above reads that data space's tile and
//!   loops from its own boundary: the tile spans the taken loops too (capacity), and only the
//!   loops above it change it (fills, parent reads, the skipped fetches, residencies); for
//!   partial sums the taken loops lie inside the tile, so a boundary above a reduction loop
//!   can make ℓ the finalizing level. Refused by name: a boundary above the next keeper's
//!   outward, on membranes or outputs, at the PEs of a systolic array
//!   (its fill and drain are timed on their own tiles), or an input tile that would take
//!   in a loop over P, Q, R or S outside a spatial loop over the same dimension (a strided
//!   window).
//! * **Padding**: the loop nest runs over the full (padded) index space, as every mapping
//!   tool's does, and a tap on padding reads a zero (for an SNN, an input that never spikes).
//!   A problem that states its valid taps ([`Problem::valid_ops`]) has them treated as zero
//!   operands, as a sparse-tensor model treats any zero: every count the input density
//!   scales (operations, the innermost weight reads and `accum` updates, the cycles under
//!   `skip`, the events of a scatter) is scaled by `density × valid_ops / ops`, so `skip` and
//!   `gate` save the padded taps and `none` pays them as the hardware does. Padding is not
//!   stored: input operand reads scale by `valid_ops / ops` under every zero handling, and
//!   with the real map's lines (`input_h`, `input_w`) no input tile is larger than the map
//!   (the whole layer's tile is the map, not the padded window; a tile of part of the map
//!   keeps its halo on padding, and a sliding step counts the padded window's new lines: an
//!   upper bound at the border, where an exact count would depend on the tile's position). A
//!   problem without them is counted over the padded space exactly as Timeloop and ZigZag
//!   count it, which is what the validation against them uses.
//!
//! ## A worked example
//!
//! K = 2 output channels, P = 4 output columns, R = 3 taps (stride 1, so 6 inputs), on
//! DRAM → buffer (keeps weights and inputs) → one PE register (keeps `accum`). Mapping:
//! DRAM `K2`, buffer `P4`, register `R3`:
//!
//! ```text
//! for k in 0..2            // DRAM
//!   for p in 0..4          // buffer
//!     for r in 0..3        // register
//!       accum[k][p] += W[k][r] * I[p + r]
//! ```
//!
//! * Weights: the buffer's tile is `W[k][0..3]` (3); above it only K2, relevant: fills = 3 × 2 =
//!   6, DRAM reads 6. Operand reads at the buffer = 24 (one per MAC).
//! * Inputs: the buffer's tile is `I[0..6]` (window of P4, R3); above it only K2, irrelevant:
//!   fills = 6, DRAM reads 6 (every input once). Operand reads 24.
//! * Accum: the register's tile is one element; above it P4 (relevant), then K2: residencies =
//!   1 × 4 × 2 = 8. Updates = 24, read-modify-write reads = 24 − 8 = 16. No C, R, S loop lies
//!   above the register, so it is the finalizing level: the epilogue reads 8 there, and the 8
//!   outputs are written to DRAM.
//! * Swapping the buffer's loop for `K2` and DRAM's for `P4` makes the buffer's weight tile
//!   `W[0..2][0..3]` stationary (fills 6 still), and the inputs change with every P step: a
//!   window of 3 refetched 4 times = 12, or 3 + 3 × 1 = 6 with the sliding window.
//!
//! `tests/hand_counts.rs` checks these numbers, and a brute-force simulator of the loop nest
//! checks the counter on random mappings.
//!
//! ## Choices beyond the design brief
//!
//! * Partial sums are added where they arrive (the parent reads its copy, adds, writes) and a
//!   child starts each residency from zero, instead of reading the partial sum back down into
//!   the child (as ZigZag does between every pair of levels and Timeloop from the outermost):
//!   the same parent reads and writes, never more transfers, and counts that stay local to
//!   each parent/child pair. Unlike Timeloop, a level that sends data up reads it (a drain).
//! * Spatial reduction below the innermost level keeping partial sums costs no ADD beyond the
//!   operation's own accumulate (a systolic column adds each product to the passing sum);
//!   reduction between storage levels costs m − 1 ADDs per reduced element.
//! * The membrane's first residency is not filled (the initial potential is set) and its last
//!   is not written back (the state is dead after the last step).
//! * A tile is identified by the indices of its relevant loops, not by the set of elements it
//!   holds; the sliding window applies to steps of the first relevant loop when it is P or Q.
//! * Multicast of overlapping input windows (Eyeriss' diagonal multicast) counts the union of
//!   the children's windows, so multicast factors may be fractional.
//! * Capacity of compressed tiles is checked at density 1, so that a mapping stays legal at
//!   every density it is evaluated at.
//! * The epilogue's neuron steps (or requantizations) add to the compute cycles, spread over
//!   the units in use; a LIF leak is a shift and a subtract, priced as one ADD.
//! * A transfer across several networks (through levels that bypass the data) counts its
//!   multicast on the last network only.
//! * The search drops partial sums kept above the finalizing level and membranes or outputs
//!   kept below it; a pinned mapping that keeps membranes or outputs below it is an error.
//! * Bypass choices of `bypass = "auto"` levels are moves of the heuristic search, not an
//!   outer enumeration (the exhaustive search enumerates them).

// The counter walks parallel per-dimension and per-level arrays by index; iterator chains over
// several of them at once read worse than the index loops.
#![allow(clippy::needless_range_loop)]

mod describe;
mod error;
mod hardware;
mod mapping;
mod model;
mod pricing;
mod problem;
mod scorer;
mod search;
mod timeloop;
mod zigzag;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use error::MapperError;
pub use hardware::{
    AccessEnergy, Bank, Bypass, Capacity, Compute, ComputeEnergy, Hardware, HopPrice, Level,
    LevelClass, Network, NetworkClass, SHIPPED, Size, Source, SparseFormat, TableKeyword, Topology,
    ZeroHandling,
};
pub use mapping::{
    Axis, Constraints, LevelConstraint, LevelMapping, Loop, MAX_LEVELS, Mapping, SpatialLoop,
};
pub use model::{
    AccessCount, Action, Counts, Evaluation, LevelReport, OpCount, OpReport, Purpose, Scale,
    SpaceReport, TransferCount,
};
pub use pricing::{AccessOp, ComputeOp, OwnPrices, Pricing, capacity_bits};
pub use problem::{DataSpace, Densities, Dim, Handoff, Kind, NDIMS, NSPACES, Neuron, Problem};
pub use scorer::{Candidate, Score, Scorer};
pub use search::{ENERGY_TIE, Objective, SearchOptions, preferred};
pub use timeloop::{TimeloopExport, to_timeloop, to_timeloop_at};
pub use zigzag::{
    ZIGZAG_EVALUATOR, ZigzagCounts, ZigzagExport, ZigzagRow, to_zigzag, to_zigzag_at,
};

use mapping::Compact;
use model::{Ctx, Prices, Shape};

/// A layer mapped onto a chip: the mapping, its density-independent counts, and what it
/// needs to be evaluated again at other densities without searching.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedLayer {
    /// The layer.
    pub problem: Problem,
    /// The chip.
    pub hardware: Hardware,
    /// The chosen (or pinned) mapping.
    pub mapping: Mapping,
    /// Counts at density 1 with the density each scales with.
    pub counts: Counts,
    /// Densities the mapping was chosen for.
    pub mapped_for: Densities,
    /// Mappings evaluated to find it (1 for a pinned mapping).
    pub evaluated: u64,
    /// True if the search enumerated the whole space.
    pub exhaustive: bool,
    compact: Compact,
    /// Shared by the candidates of one search: re-pricing builds and copies nothing.
    prices: Arc<Prices>,
    shape: Arc<Shape>,
}

impl MappedLayer {
    /// Energy, latency and leakage at other densities (cheap: no search, no pricing). Fails
    /// only on densities outside 0..=1 or if the public fields were edited into nonsense.
    pub fn evaluate(&self, densities: Densities) -> Result<Evaluation, MapperError> {
        check_densities(&self.problem, &densities)?;
        let ctx = self.ctx()?;
        Ok(ctx.evaluate(&self.compact, &self.counts, &densities))
    }

    /// The objective a search minimizes, at other densities: dynamic plus leakage energy
    /// (pJ), cycles, or their product. Cheap enough to choose among a layer's anchored
    /// candidates at every point an analysis prices.
    pub fn objective_at(
        &self,
        densities: Densities,
        objective: Objective,
    ) -> Result<f64, MapperError> {
        Ok(self.scored_at(densities, objective)?.0)
    }

    /// [`MappedLayer::objective_at`] and the cycles at the densities: what [`preferred`]
    /// chooses among a layer's candidates by.
    pub fn scored_at(
        &self,
        densities: Densities,
        objective: Objective,
    ) -> Result<(f64, f64), MapperError> {
        check_densities(&self.problem, &densities)?;
        let ctx = self.ctx()?;
        let (e, cycles, leak) = ctx.quick(&self.compact, &self.counts, &densities);
        let v = match objective {
            Objective::Energy => e + leak,
            Objective::Latency => cycles,
            Objective::Edp => (e + leak) * cycles,
        };
        Ok((v, cycles))
    }

    /// The same mapping priced by another pricing (e.g. a sensitivity study).
    pub fn repriced(&self, pricing: &dyn Pricing) -> Result<MappedLayer, MapperError> {
        let mut m = self.clone();
        m.prices = Arc::new(Ctx::prices(&self.problem, &self.hardware, pricing)?);
        Ok(m)
    }

    /// The counter's context over the kept prices and shape. The problem and the chip were
    /// validated when the layer was mapped; what pricing indexes by level is checked again,
    /// in case the public fields were edited since.
    fn ctx(&self) -> Result<Ctx<'_>, MapperError> {
        let nlev = self.shape.nlev;
        let levels_agree = self.hardware.levels.len() == nlev
            && self.prices.levels() == nlev
            && self.compact.nlev == nlev
            && self.counts.instances_used.len() == nlev
            && self.counts.tile_bits.len() == nlev
            && self.counts.accesses.iter().all(|a| a.level < nlev)
            && self
                .counts
                .transfers
                .iter()
                .all(|t| t.network < nlev && t.format_level.is_none_or(|l| l < nlev));
        if !levels_agree {
            return Err(MapperError::Hardware {
                hardware: self.hardware.name.clone(),
                level: "-".into(),
                key: "levels".into(),
                message: format!(
                    "the mapped layer `{}` was mapped on {nlev} levels; its hardware, mapping or counts were edited since",
                    self.problem.name
                ),
            });
        }
        Ok(Ctx::borrowed(
            &self.problem,
            &self.hardware,
            &self.prices,
            &self.shape,
        ))
    }

    /// The mapping in words a person can read.
    pub fn describe(&self) -> String {
        describe::describe(self)
    }

    /// A Timeloop-style loop-nest listing.
    pub fn loop_nest(&self) -> String {
        describe::loop_nest(&self.problem, &self.hardware, &self.mapping)
    }

    pub(crate) fn compact(&self) -> &Compact {
        &self.compact
    }

    pub(crate) fn prices(&self) -> &Prices {
        &self.prices
    }
}

/// Counts and evaluates a given (pinned) mapping; errors name the level, data space, layer
/// and key of what makes it illegal.
pub fn evaluate(
    problem: &Problem,
    hardware: &Hardware,
    mapping: &Mapping,
    densities: Densities,
    pricing: &dyn Pricing,
) -> Result<MappedLayer, MapperError> {
    // Pricing validates the chip and the problem on it.
    let prices = Arc::new(Ctx::prices(problem, hardware, pricing)?);
    let shape = Arc::new(Shape::of(problem, hardware)?);
    let ctx = Ctx::borrowed(problem, hardware, &prices, &shape);
    let compact = Compact::from_mapping(mapping, problem, hardware)?;
    let mut counts = Counts::default();
    ctx.count(&compact, &mut counts)
        .map_err(|e| ctx.illegal_error(e))?;
    Ok(MappedLayer {
        problem: problem.clone(),
        hardware: hardware.clone(),
        mapping: mapping.clone(),
        counts,
        mapped_for: densities,
        evaluated: 1,
        exhaustive: false,
        compact,
        prices: prices.clone(),
        shape: shape.clone(),
    })
}

/// Searches the best mapping of `problem` on `hardware` for `densities`.
pub fn map(
    problem: &Problem,
    hardware: &Hardware,
    densities: Densities,
    pricing: &dyn Pricing,
    options: &SearchOptions,
) -> Result<MappedLayer, MapperError> {
    let mut found = map_anchored(problem, hardware, &[densities], pricing, options, &[])?;
    Ok(found.candidates.swap_remove(0))
}

/// The mappings of one layer that are best at a set of densities (anchors): what a layer
/// needs to be priced at its best anywhere in the range of activity an analysis walks.
#[derive(Clone, Debug, PartialEq)]
pub struct Anchored {
    /// The distinct mappings, in the order of the first anchor each is best at; each one's
    /// `mapped_for` is that anchor.
    pub candidates: Vec<MappedLayer>,
    /// Per anchor, the index in `candidates` of its best mapping.
    pub best_at: Vec<usize>,
}

/// A fingerprint of every price `pricing` gives `problem` on `hardware` (accesses, hops and
/// operations, bit for bit): two pricings with equal fingerprints lead any search to the same
/// mappings, whatever their names (a table scaled for a sensitivity study keeps its name).
pub fn price_fingerprint(
    problem: &Problem,
    hardware: &Hardware,
    pricing: &dyn Pricing,
) -> Result<u64, MapperError> {
    use std::hash::{Hash, Hasher};
    let prices = Ctx::prices(problem, hardware, pricing)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // Debug prints every f64 exactly (shortest round-trip form).
    format!("{prices:?}").hash(&mut h);
    Ok(h.finish())
}

/// Searches the best mapping of `problem` on `hardware` at each of `anchors` in one search
/// (each mapping counted once, priced at every anchor, then each anchor's best descended with
/// its own objective). `warm` mappings (of a related search: other prices, other anchors)
/// replace the heuristic's starting candidates when any of them is legal and keeps this
/// search's pins; the descents then prove them locally optimal or improve them.
pub fn map_anchored(
    problem: &Problem,
    hardware: &Hardware,
    anchors: &[Densities],
    pricing: &dyn Pricing,
    options: &SearchOptions,
    warm: &[Mapping],
) -> Result<Anchored, MapperError> {
    // Pricing validates the chip and the problem on it.
    let prices = Arc::new(Ctx::prices(problem, hardware, pricing)?);
    let shape = Arc::new(Shape::of(problem, hardware)?);
    let ctx = Ctx::borrowed(problem, hardware, &prices, &shape);
    for d in anchors {
        check_densities(problem, d)?;
    }
    let starts: Vec<Compact> = warm
        .iter()
        .filter_map(|m| Compact::from_mapping(m, problem, hardware).ok())
        .collect();
    let found = search::search(&ctx, anchors, options, &starts)?;
    let mut candidates: Vec<MappedLayer> = Vec::new();
    let mut seen: Vec<Compact> = Vec::new();
    let mut best_at = Vec::with_capacity(found.best.len());
    for (k, compact) in found.best.iter().enumerate() {
        if let Some(i) = seen.iter().position(|c| c == compact) {
            best_at.push(i);
            continue;
        }
        let mut counts = Counts::default();
        ctx.count(compact, &mut counts)
            .map_err(|e| ctx.illegal_error(e))?;
        seen.push(*compact);
        best_at.push(candidates.len());
        candidates.push(MappedLayer {
            problem: problem.clone(),
            hardware: hardware.clone(),
            mapping: compact.to_mapping(hardware),
            counts,
            mapped_for: anchors.get(k).copied().unwrap_or_default(),
            evaluated: found.evaluated,
            exhaustive: found.exhaustive,
            compact: *compact,
            prices: prices.clone(),
            shape: shape.clone(),
        });
    }
    Ok(Anchored {
        candidates,
        best_at,
    })
}

/// A mapper that remembers what it mapped: identical (problem shape, chip, densities,
/// options) are searched once (VGG16 repeats layer shapes). The layer name is not part of the
/// key; a cached result is returned under the asking layer's name.
#[derive(Debug, Default)]
pub struct Mapper {
    cache: Mutex<HashMap<String, MappedLayer>>,
}

impl Mapper {
    /// An empty cache.
    pub fn new() -> Self {
        Mapper::default()
    }

    /// [`map`], through the cache. The pricing must be the same for one `Mapper` (its
    /// prices are not part of the key).
    pub fn map(
        &self,
        problem: &Problem,
        hardware: &Hardware,
        densities: Densities,
        pricing: &dyn Pricing,
        options: &SearchOptions,
    ) -> Result<MappedLayer, MapperError> {
        let mut anon = problem.clone();
        anon.name = String::new();
        let key = format!(
            "{:?}|{}|{:?}|{:?}",
            anon,
            hardware.name,
            (
                densities.input.to_bits(),
                densities.output.to_bits(),
                densities.weights.to_bits(),
                densities.ever.map(f64::to_bits)
            ),
            options
        );
        if let Some(hit) = self.cache.lock().map_err(|_| poisoned())?.get(&key) {
            let mut m = hit.clone();
            m.problem.name = problem.name.clone();
            return Ok(m);
        }
        let m = map(problem, hardware, densities, pricing, options)?;
        self.cache
            .lock()
            .map_err(|_| poisoned())?
            .insert(key, m.clone());
        Ok(m)
    }

    /// Number of distinct searches done.
    pub fn searches(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }
}

fn check_densities(problem: &Problem, d: &Densities) -> Result<(), MapperError> {
    for (key, v) in [
        ("densities.input", d.input),
        ("densities.output", d.output),
        ("densities.weights", d.weights),
        ("densities.ever", d.ever.unwrap_or(d.input)),
    ] {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            return Err(MapperError::Problem {
                problem: problem.name.clone(),
                key: key.into(),
                message: format!("{v}: a density is in 0..=1"),
            });
        }
    }
    Ok(())
}

fn poisoned() -> MapperError {
    MapperError::Parse("the mapper cache was poisoned by a panic in another thread".into())
}
