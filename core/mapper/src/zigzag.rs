//! Export to ZigZag (zigzag-dse 3.9: accelerator, workload and mapping YAML, plus the temporal
//! mapping per operand and memory level) with our counts restated in ZigZag's terms, so that
//! ZigZag's cost model can evaluate the same chip, layer and mapping and be compared number for
//! number. `tools/compare_zigzag.py` runs it; `VALIDATION.md` states the results and explains
//! every difference.
//!
//! How the chip is written:
//! * Each storage level is one ZigZag memory holding the operands the mapping keeps there
//!   (`I2` weights, `I1` inputs, `O` partial sums and outputs); a level with one capacity
//!   partition per data space is one memory per partition (`<level>_<space>`). A level that
//!   keeps nothing is left out: ZigZag's bypass is the operand list of a memory.
//! * The instance arrays become the operational array: one ZigZag dimension per mesh axis of
//!   more than one instance (and per axis of the compute units), and a memory serves (multicasts
//!   to, reduces from) the dimensions of every array below it. ZigZag always multicasts and
//!   reduces across served dimensions, whatever our networks say.
//! * Ports carry the description's access granularity: one word (`word_bits`) wide at the
//!   minimum, so that ZigZag rounds transfers to words as we do, and the level's bandwidth in
//!   bits at the maximum (65536 words where ours is unbounded). A bandwidth that is not a whole
//!   number of bits per cycle cannot be written and is refused, naming the level and key.
//!   ZigZag counts accesses of the maximum width and truncates each count to an integer, so a
//!   second accelerator (`accelerator_words`) with one-word ports at both ends gives the exact
//!   word counts and energies; the first gives the latency.
//! * Energy per access is the description's price of a full-word access (as written for
//!   per-word prices) times the port width in words; the MAC's is the compute unit's as written
//!   in the description (`mac_pj` for a MAC, `add_pj` for the SNN's accumulate), at the unit's
//!   full width. We scale a narrower operation's price with its operand widths; the export
//!   states our price per operation beside it (`ours.op_pj`, `ours.unit_pj`), so the MAC
//!   energies differ by exactly that ratio. Where the description prices its units by a table,
//!   the unit's price is ours at the unit's full width. ZigZag prices no network, no epilogue
//!   and no partial-sum adds above the PE; those are listed apart.
//!
//! How the layer is written: P, Q, R, S are OY, OX, FY, FX; N and T are both B (T behaves as a
//! batch sharing the weights, so the SNN's accumulation is a convolution with batch N·T); G is
//! G. Partial sums are `O` at the accumulator width, final outputs `O_final`. The membrane has
//! no ZigZag operand and is reported only in our totals. Sparse formats cannot be written
//! (ZigZag 3.9 is dense): a mapping that compresses a data space is refused. Padding is
//! written: a problem with its real input map (`input_h`, `input_w`) gets ZigZag's
//! `padding` on IY and IX (the padded window's lines beyond the map), with which ZigZag, as
//! we do, never takes an input tile larger than the map. ZigZag has no valid taps: it
//! multiplies on padding, where we count a tap on padding as a zero operand (`valid_ops`);
//! the export states the ratio (`ours.valid_taps`) by which our operations, innermost input
//! reads and gated or skipped accesses are the fewer.
//!
//! The mapping: ZigZag's mapping YAML fixes the spatial unrolling and the loop order, but its
//! memory allocator then assigns loops to memories greedily; `temporal_mapping` gives the
//! assignment of our mapping (per operand, per memory from the innermost, loops innermost
//! first: the loops of a level that bypasses the operand go to the next level out that keeps
//! it; a per-operand boundary, `spans_above`, moves the loops it takes in down to its level,
//! ZigZag's uneven temporal mapping), which the comparison hands to ZigZag's cost model
//! directly.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::MappedLayer;
use crate::MapperError;
use crate::hardware::Capacity;
use crate::mapping::Compact;
use crate::model::{Action, Ctx, Purpose};
use crate::pricing::capacity_bits;
use crate::problem::{DataSpace, Dim, NDIMS};

/// The Python program that runs ZigZag's cost model (no search) on the files an export wrote:
/// `python3 -c ZIGZAG_EVALUATOR DIR STEM...` prints one JSON object per stem (ZigZag's element
/// moves, words and energy per memory and operand, its energy and cycles), exit status 3 when
/// ZigZag is not installed. The validation (`tools/compare_zigzag.py`) evaluates with the same
/// code.
pub const ZIGZAG_EVALUATOR: &str = include_str!("../tools/zigzag_eval.py");

/// ZigZag's inputs for one mapped layer and our counts in ZigZag's terms.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZigzagExport {
    /// Layer name.
    pub layer: String,
    /// Chip name.
    pub hardware: String,
    /// Accelerator YAML with the chip's bandwidths (for ZigZag's latency).
    pub accelerator: String,
    /// The same accelerator with one-word ports (for ZigZag's exact access counts and energy).
    pub accelerator_words: String,
    /// Workload YAML (one layer).
    pub workload: String,
    /// Mapping YAML: spatial unrolling, full loop order (innermost first), operand links.
    pub mapping: String,
    /// Per ZigZag layer operand (`W`, `I`, `O`), per memory from the innermost, the temporal
    /// loops as (dimension, factor), innermost first.
    pub temporal_mapping: BTreeMap<String, Vec<Vec<(String, u64)>>>,
    /// Per ZigZag layer operand, the memories that keep it, innermost first.
    pub memories: BTreeMap<String, Vec<String>>,
    /// Our counts, energies and cycles restated per ZigZag memory and operand.
    pub ours: ZigzagCounts,
    /// What the export changed or ZigZag will count otherwise, one sentence each with its size
    /// on this layer, so that a reader of ZigZag's result knows what differs before comparing.
    pub changes: Vec<String>,
}

/// Element moves of one operand at one ZigZag memory, in ZigZag's four directions, with our
/// word accesses and energy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ZigzagRow {
    /// ZigZag memory name.
    pub memory: String,
    /// ZigZag layer operand: `W`, `I` or `O`.
    pub operand: String,
    /// Elements read to the level below (children, compute units; for `O` the partial sums
    /// read to be added to).
    pub rd_out_to_low: f64,
    /// Elements written from the level above (fills).
    pub wr_in_by_high: f64,
    /// Elements written from below (partial-sum updates, arriving outputs).
    pub wr_in_by_low: f64,
    /// Elements read to the level above (drains, finished sums).
    pub rd_out_to_high: f64,
    /// Elements read and written by an epilogue that requantizes in place (the finished sum
    /// read and the output written at the same level): ZigZag has no such access.
    pub epilogue: f64,
    /// Our word reads.
    pub read_words: f64,
    /// Our word writes (fills and updates).
    pub write_words: f64,
    /// Our energy of these accesses, pJ.
    pub energy_pj: f64,
    /// Of which the in-place epilogue's, pJ.
    pub epilogue_pj: f64,
}

/// Our side of the comparison.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ZigzagCounts {
    /// Per ZigZag memory and operand, memories innermost first.
    pub rows: Vec<ZigzagRow>,
    /// Storage energy of the rows, pJ.
    pub storage_pj: f64,
    /// Energy of the main operations (MACs or accumulates), pJ.
    pub mac_pj: f64,
    /// Energy of every other operation (epilogue, partial-sum adds above the PE), pJ.
    pub other_ops_pj: f64,
    /// Network energy, pJ.
    pub network_pj: f64,
    /// Membrane storage energy, pJ (SNN).
    pub membrane_pj: f64,
    /// Our dynamic energy, pJ.
    pub energy_pj: f64,
    /// Our latency in cycles.
    pub cycles: f64,
    /// What bounds it.
    pub bound: String,
    /// Product of all temporal factors (ZigZag's ideal temporal cycles).
    pub temporal_cycles: f64,
    /// Of our cycles, the fill and drain of systolic arrays per fold (ZigZag has none).
    pub fill_drain_cycles: f64,
    /// Our price of one main operation (MAC or accumulate) at the layer's widths, pJ.
    pub op_pj: f64,
    /// The unit's price written to ZigZag (`unit_energy`), pJ: the description's as written.
    pub unit_pj: f64,
    /// Operations of the loop nest (ZigZag's MACs, padding included).
    pub ops: f64,
    /// Valid taps ÷ operations: the fraction of the loop nest's taps that do not fall on
    /// padding (1 for a problem without `valid_ops`).
    pub valid_taps: f64,
}

const UNBOUNDED_WORDS: f64 = 65536.0;

fn zz_dim(d: Dim) -> &'static str {
    match d {
        Dim::N | Dim::T => "B",
        Dim::G => "G",
        Dim::K => "K",
        Dim::C => "C",
        Dim::P => "OY",
        Dim::Q => "OX",
        Dim::R => "FY",
        Dim::S => "FX",
    }
}

/// ZigZag's layer operand and memory operand of a data space.
fn zz_operand(ds: DataSpace) -> Option<(&'static str, &'static str)> {
    match ds {
        DataSpace::Weights => Some(("W", "I2")),
        DataSpace::Inputs => Some(("I", "I1")),
        DataSpace::Accum | DataSpace::Outputs => Some(("O", "O")),
        DataSpace::Membrane => None,
    }
}

const OPERANDS: [&str; 3] = ["W", "I", "O"];

/// One ZigZag memory: a level, or one capacity partition of it.
struct Mem {
    name: String,
    /// ZigZag layer operands it keeps.
    ops: Vec<&'static str>,
    /// Our data spaces it stands for.
    spaces: Vec<DataSpace>,
    /// Capacity per instance, bits (None: unbounded).
    bits: Option<u128>,
}

struct Layout {
    /// Per level (outermost first), its memories.
    memories: Vec<Vec<Mem>>,
    /// Per layer operand: levels that keep it (outermost first).
    keepers: BTreeMap<&'static str, Vec<usize>>,
}

impl Layout {
    fn memory(&self, l: usize, ds: DataSpace) -> Option<&Mem> {
        self.memories[l].iter().find(|m| m.spaces.contains(&ds))
    }

    fn memory_of_operand(&self, l: usize, op: &str) -> Option<&Mem> {
        self.memories[l].iter().find(|m| m.ops.contains(&op))
    }
}

fn unsupported(layer: &MappedLayer, key: &str, message: String) -> MapperError {
    MapperError::Mapping {
        problem: layer.problem.name.clone(),
        level: "-".into(),
        data_space: None,
        key: key.into(),
        message,
    }
}

/// The dimensions whose factors multiply past the layer's size, with their spatial and
/// temporal products.
fn uneven_dims(layer: &MappedLayer) -> Vec<(Dim, u64, u64)> {
    let c = layer.compact();
    let dims = layer.problem.dims();
    (0..NDIMS)
        .filter_map(|d| {
            let n = layer.hardware.levels.len();
            let spatial: u64 = (0..n).map(|l| c.sp(l, d)).product();
            let temporal: u64 = (0..n).map(|l| c.tf[l][d] as u64).product();
            (spatial * temporal != dims[d]).then_some((Dim::ALL[d], spatial, temporal))
        })
        .collect()
}

/// ZigZag expresses an uneven dimension as a spatial unrolling over an integer number of
/// temporal iterations: it turns the unrolling of a dimension of size D spread `s` wide with
/// `t = ceil(D / s)` temporal iterations into the fraction D / t. A dimension unrolled on one
/// array axis whose temporal factors multiply to that ceiling is written as it is; any other
/// uneven dimension is refused by name.
fn check_uneven(layer: &MappedLayer) -> Result<(), MapperError> {
    let c = layer.compact();
    let n = layer.hardware.levels.len();
    for (dim, spatial, temporal) in uneven_dims(layer) {
        let d = dim.index();
        let axes = (0..n)
            .map(|l| (c.sx[l][d] > 1) as u32 + (c.sy[l][d] > 1) as u32)
            .sum::<u32>();
        let size = layer.problem.dims()[d];
        if axes != 1 || temporal != size.div_ceil(spatial) {
            return Err(unsupported(
                layer,
                &format!("factors.{dim}"),
                format!(
                    "the factors of {dim} multiply past the layer's {dim} = {size} ({spatial} spatial × {temporal} temporal); ZigZag expresses only an unrolling on one array axis over ceil({size} / {spatial}) = {} temporal iterations",
                    size.div_ceil(spatial)
                ),
            ));
        }
    }
    Ok(())
}

fn layout(layer: &MappedLayer, c: &Compact) -> Result<Layout, MapperError> {
    let hw = &layer.hardware;
    let fin = layer.counts.finalizing_level;
    let spaces: Vec<DataSpace> = layer.problem.spaces().collect();
    let kept = |l: usize, ds: DataSpace| -> bool {
        spaces.contains(&ds)
            && c.keep[l] & ds.bit() != 0
            && match ds {
                // Partial sums kept above the finalizing level are never counted.
                DataSpace::Accum => l >= fin,
                _ => true,
            }
    };
    let mut memories = Vec::new();
    let mut keepers: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    for (l, lvl) in hw.levels.iter().enumerate() {
        let here: Vec<DataSpace> = DataSpace::ALL
            .into_iter()
            .filter(|ds| *ds != DataSpace::Membrane && kept(l, *ds))
            .collect();
        let mut mems: Vec<Mem> = Vec::new();
        match &lvl.capacity {
            Some(Capacity::Partitioned(parts)) => {
                let part = |ds: DataSpace| {
                    parts
                        .get(&ds)
                        .and_then(|s| s.bits(lvl.word_bits).ok())
                        .unwrap_or(0)
                };
                for ds in [DataSpace::Weights, DataSpace::Inputs] {
                    if here.contains(&ds)
                        && let Some((op, _)) = zz_operand(ds)
                    {
                        mems.push(Mem {
                            name: format!("{}_{}", lvl.name, ds.name()),
                            ops: vec![op],
                            spaces: vec![ds],
                            bits: Some(part(ds)),
                        });
                    }
                }
                // ZigZag has one output memory per level: partial sums and outputs kept in
                // two partitions become one memory of both capacities.
                let outs: Vec<DataSpace> = [DataSpace::Accum, DataSpace::Outputs]
                    .into_iter()
                    .filter(|ds| here.contains(ds))
                    .collect();
                if !outs.is_empty() {
                    let names: Vec<&str> = outs.iter().map(|ds| ds.name()).collect();
                    mems.push(Mem {
                        name: format!("{}_{}", lvl.name, names.join("_")),
                        ops: vec!["O"],
                        bits: Some(outs.iter().map(|ds| part(*ds)).sum()),
                        spaces: outs,
                    });
                }
            }
            _ => {
                let mut ops: Vec<&'static str> = Vec::new();
                for ds in &here {
                    if let Some((op, _)) = zz_operand(*ds)
                        && !ops.contains(&op)
                    {
                        ops.push(op);
                    }
                }
                if !ops.is_empty() {
                    mems.push(Mem {
                        name: lvl.name.clone(),
                        ops,
                        spaces: here.clone(),
                        bits: capacity_bits(lvl),
                    });
                }
            }
        }
        for m in &mems {
            for op in &m.ops {
                keepers.entry(op).or_default().push(l);
            }
        }
        memories.push(mems);
    }
    Ok(Layout { memories, keepers })
}

/// ZigZag export of a mapped layer (chip, layer, mapping and our counts at the densities it
/// was mapped for; compare at density 1, since ZigZag has no sparsity).
pub fn to_zigzag(layer: &MappedLayer) -> Result<ZigzagExport, MapperError> {
    to_zigzag_at(layer, layer.mapped_for)
}

/// ZigZag export of a mapped layer with our counts at `densities` (an operating point the
/// mapping is evaluated at, not the one it was chosen for).
pub fn to_zigzag_at(
    layer: &MappedLayer,
    densities: crate::Densities,
) -> Result<ZigzagExport, MapperError> {
    crate::check_densities(&layer.problem, &densities)?;
    check_dense(layer)?;
    check_uneven(layer)?;
    let lay = layout(layer, layer.compact())?;
    let oa = operational_array(layer)?;
    let served = |l: usize| -> Vec<String> {
        oa.iter()
            .enumerate()
            .filter(|(_, (owner, _, _))| *owner > l)
            .map(|(i, _)| dim_name(i))
            .collect()
    };
    let accelerator = accelerator_yaml(layer, &lay, &oa, &served, false)?;
    let accelerator_words = accelerator_yaml(layer, &lay, &oa, &served, true)?;
    let mapping = mapping_yaml(layer, &oa)?;
    let (temporal_mapping, memories) = temporal_mappings(layer, &lay)?;
    let ours = our_counts(layer, &lay, densities)?;
    let changes = changes(layer, &ours);
    Ok(ZigzagExport {
        layer: layer.problem.name.clone(),
        hardware: layer.hardware.name.clone(),
        accelerator,
        accelerator_words,
        workload: workload_yaml(&layer.problem),
        mapping,
        temporal_mapping,
        memories,
        ours,
        changes,
    })
}

/// The sentences of [`ZigzagExport::changes`]: each semantic difference that applies to this
/// layer, chip and mapping, sized where it can be.
fn changes(layer: &MappedLayer, ours: &ZigzagCounts) -> Vec<String> {
    let (p, hw) = (&layer.problem, &layer.hardware);
    let mut out = Vec::new();
    if p.input_h.is_some() || p.input_w.is_some() {
        out.push(format!(
            "padding written as ZigZag's `padding` on IY and IX; ZigZag multiplies on it ({} MACs) where only {:.4} of the taps are valid for us ({:.0} operations)",
            ours.ops,
            ours.valid_taps,
            ours.ops * ours.valid_taps
        ));
    }
    if (ours.op_pj - ours.unit_pj).abs() > 1e-12 * ours.unit_pj.abs().max(1.0) {
        out.push(format!(
            "MAC price written as the description's {} pJ for the unit at full width; ours for this layer's operand widths is {} pJ (×{:.4})",
            ours.unit_pj,
            ours.op_pj,
            ours.op_pj / ours.unit_pj
        ));
    }
    if p.kind == crate::problem::Kind::Snn {
        out.push(format!(
            "the SNN's {} time steps written as batch (B = N·T): ZigZag counts its accumulates as MACs and has no membrane ({:.4} pJ of ours)",
            p.t, ours.membrane_pj
        ));
    }
    for lvl in &hw.levels {
        if lvl.sliding_window {
            out.push(format!(
                "`{}` keeps the overlap of sliding input windows; ZigZag has no such reuse and fills inputs there anew",
                lvl.name
            ));
        }
        if lvl.network.multicast && !lvl.network.reduction {
            out.push(format!(
                "`{}`'s network multicasts but does not reduce; ZigZag reduces partial sums across every array a memory serves",
                lvl.name
            ));
        }
        for (key, bw) in [
            ("read_bandwidth", lvl.read_bandwidth),
            ("write_bandwidth", lvl.write_bandwidth),
        ] {
            if bw.is_none() {
                out.push(format!(
                    "`{}` has no {key}: written as a port of {UNBOUNDED_WORDS} words",
                    lvl.name
                ));
            }
        }
    }
    let c = layer.compact();
    for ds in &p.free_backing {
        let at = (0..hw.levels.len())
            .find(|&l| c.keep[l] & ds.bit() != 0)
            .map_or("?", |l| hw.levels[l].name.as_str());
        let how = if *ds == DataSpace::Inputs {
            "the previous layer leaves them on chip for this one"
        } else {
            "this layer leaves them on chip for the next"
        };
        out.push(format!(
            "{ds} are free at `{at}` for us ({how}: that copy is neither read nor written); ZigZag reads and writes them there"
        ));
    }
    for (dim, spatial, temporal) in uneven_dims(layer) {
        let size = p.dims()[dim.index()];
        out.push(format!(
            "{dim} = {size} is unrolled {spatial} wide over {temporal} iterations: ZigZag spreads it {:.4} wide on average in every iteration (its fractional unrolling); we count the idle units of the last fold",
            size as f64 / temporal as f64
        ));
    }
    if ours.fill_drain_cycles > 0.0 {
        out.push(format!(
            "our latency counts {} cycles of systolic fill and drain per fold; ZigZag has none",
            ours.fill_drain_cycles
        ));
    }
    let unpriced = ours.network_pj + ours.other_ops_pj;
    if unpriced > 0.0 {
        out.push(format!(
            "ZigZag prices no network ({:.4} pJ of ours) and no epilogue or partial-sum adds above the units ({:.4} pJ)",
            ours.network_pj, ours.other_ops_pj
        ));
    }
    out
}

/// ZigZag has dense data only: a compressed format anywhere is refused, naming it.
fn check_dense(layer: &MappedLayer) -> Result<(), MapperError> {
    let c = layer.compact();
    for (l, lvl) in layer.hardware.levels.iter().enumerate() {
        for (ds, f) in [
            (DataSpace::Inputs, &lvl.formats[c.fin[l] as usize]),
            (DataSpace::Outputs, &lvl.formats[c.fout[l] as usize]),
        ] {
            if f.is_compressed() {
                return Err(MapperError::Mapping {
                    problem: layer.problem.name.clone(),
                    level: lvl.name.clone(),
                    data_space: Some(ds.name().into()),
                    key: "format".into(),
                    message: format!(
                        "{ds} are stored as `{}` at `{}`; ZigZag has dense data only",
                        f.name(),
                        lvl.name
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The name of operational-array dimension `i`.
fn dim_name(i: usize) -> String {
    format!("D{}", i + 1)
}

/// Operational-array dimensions: (owner, axis, size); the owner is the level whose instances
/// the axis counts (the number of levels for the compute units). At most four.
fn operational_array(layer: &MappedLayer) -> Result<Vec<(usize, usize, u64)>, MapperError> {
    let hw = &layer.hardware;
    let mut oa: Vec<(usize, usize, u64)> = Vec::new();
    for (l, lvl) in hw.levels.iter().enumerate().skip(1) {
        for ax in 0..2 {
            if lvl.mesh[ax] > 1 {
                oa.push((l, ax, lvl.mesh[ax]));
            }
        }
    }
    for ax in 0..2 {
        if hw.compute.units[ax] > 1 {
            oa.push((hw.levels.len(), ax, hw.compute.units[ax]));
        }
    }
    if oa.len() > 4 {
        return Err(unsupported(
            layer,
            "mesh",
            format!(
                "{} array axes; ZigZag has at most four operational-array dimensions",
                oa.len()
            ),
        ));
    }
    Ok(oa)
}

/// The workload: a convolution with T and N folded into B, with the padding of a problem that
/// states its real input map. A product of two activations ([`crate::Problem::second_operand`])
/// is written as ZigZag writes one: a layer whose W operand is the output of another layer (a
/// producer of that operand's shape listed first), so that W is not a constant operand; the
/// product is the last layer, the one evaluated.
fn workload_yaml(p: &crate::Problem) -> String {
    let layer = layer_yaml(p);
    if !p.second_operand {
        return layer;
    }
    let grouped = p.g > 1;
    let (eq, dims, sizes) = if grouped {
        (
            "O[g][k][c]+=W[g][k][c]*I[g][k][c]",
            "G, K, C",
            format!("{}, {}, {}", p.g, p.k, p.c),
        )
    } else {
        (
            "O[k][c]+=W[k][c]*I[k][c]",
            "K, C",
            format!("{}, {}", p.k, p.c),
        )
    };
    let producer = format!(
        "# the product's second operand, produced by another layer\n- id: 0\n  name: {}\n  operator_type: Conv\n  equation: {eq}\n  loop_dims: [{dims}]\n  loop_sizes: [{sizes}]\n  operand_precision: {{W: {w}, I: {w}, O: {w}, O_final: {w}}}\n  operand_source: {{W: 0, I: 0}}\n",
        yaml_name(&format!("{}-second-operand", p.name)),
        w = p.weight_bits,
    );
    let layer = layer.replacen("- id: 0\n", "- id: 1\n", 1).replacen(
        "operand_source: {W: 0, I: 0}",
        "operand_source: {W: 0, I: 1}",
        1,
    );
    format!("{producer}{layer}")
}

fn layer_yaml(p: &crate::Problem) -> String {
    let dims = p.dims();
    let grouped = p.g > 1;
    let (eq, loop_dims): (&str, Vec<&str>) = if grouped {
        (
            "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
            vec!["B", "G", "K", "C", "OY", "OX", "FY", "FX"],
        )
    } else {
        (
            "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
            vec!["B", "K", "C", "OY", "OX", "FY", "FX"],
        )
    };
    let size_of = |name: &str| -> u64 {
        Dim::ALL
            .iter()
            .filter(|d| zz_dim(**d) == name)
            .map(|d| dims[d.index()])
            .product()
    };
    let sizes: Vec<String> = loop_dims.iter().map(|d| size_of(d).to_string()).collect();
    format!(
        "# snnergy layer `{}` ({:?}): T = {} and N = {} folded into B\n- id: 0\n  name: {}\n  operator_type: Conv\n  equation: {eq}\n  dimension_relations: [iy={}*oy+{}*fy, ix={}*ox+{}*fx]\n  loop_dims: [{}]\n  loop_sizes: [{}]\n  operand_precision: {{W: {}, I: {}, O: {}, O_final: {}}}\n  operand_source: {{W: 0, I: 0}}\n{}",
        p.name,
        p.kind,
        p.t,
        p.n,
        yaml_name(&p.name),
        p.stride_h,
        p.dilation_h,
        p.stride_w,
        p.dilation_w,
        loop_dims.join(", "),
        sizes.join(", "),
        p.weight_bits,
        p.input_bits,
        p.accum_bits,
        p.output_bits,
        padding_yaml(p),
    )
}

/// The mapping: spatial unrolling per array dimension, the temporal ordering innermost first.
fn mapping_yaml(layer: &MappedLayer, oa: &[(usize, usize, u64)]) -> Result<String, MapperError> {
    let (hw, c) = (&layer.hardware, layer.compact());
    let spatial = spatial_unrolling(layer, oa)?;
    let mut mapping = String::from("- name: default\n  spatial_mapping:\n");
    let mut any = false;
    for (i, loops) in spatial.iter().enumerate() {
        if loops.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(mapping, "    {}:", dim_name(i));
        for (d, f) in loops {
            let _ = writeln!(mapping, "      - {d}, {f}");
        }
    }
    if !any {
        let _ = writeln!(mapping, "    D1:\n      - K, 1");
    }
    mapping.push_str("  temporal_ordering:  # innermost first\n");
    for l in (0..hw.levels.len()).rev() {
        for &d in c.order[l].iter().rev() {
            let f = c.tf[l][d as usize];
            if f > 1 {
                let _ = writeln!(
                    mapping,
                    "    - [{}, {f}]  # {}",
                    zz_dim(Dim::ALL[d as usize]),
                    hw.levels[l].name
                );
            }
        }
    }
    mapping.push_str("  memory_operand_links: {O: O, W: I2, I: I1}\n");
    Ok(mapping)
}

/// Our spatial loops per operational-array dimension: those at level l spread over the
/// instances of level l+1 (or the compute units below the innermost level).
fn spatial_unrolling(
    layer: &MappedLayer,
    oa: &[(usize, usize, u64)],
) -> Result<Vec<Vec<(&'static str, u64)>>, MapperError> {
    let c = layer.compact();
    let mut spatial: Vec<Vec<(&'static str, u64)>> = vec![Vec::new(); oa.len()];
    for l in 0..layer.hardware.levels.len() {
        for (ax, f) in [(0usize, &c.sx[l]), (1, &c.sy[l])] {
            for d in 0..NDIMS {
                if f[d] <= 1 {
                    continue;
                }
                let Some(i) = oa.iter().position(|(o, a, _)| *o == l + 1 && *a == ax) else {
                    return Err(unsupported(
                        layer,
                        "spatial",
                        format!(
                            "a spatial loop below `{}` has no array axis",
                            layer.hardware.levels[l].name
                        ),
                    ));
                };
                let name = zz_dim(Dim::ALL[d]);
                match spatial[i].iter_mut().find(|(x, _)| *x == name) {
                    Some(e) => e.1 *= f[d] as u64,
                    None => spatial[i].push((name, f[d] as u64)),
                }
            }
        }
    }
    Ok(spatial)
}

/// Temporal loops per operand, grouped by the memory that keeps the operand (innermost
/// first), and those memories' names.
type PerOperand = (
    BTreeMap<String, Vec<Vec<(String, u64)>>>,
    BTreeMap<String, Vec<String>>,
);

fn temporal_mappings(layer: &MappedLayer, lay: &Layout) -> Result<PerOperand, MapperError> {
    let (hw, c) = (&layer.hardware, layer.compact());
    // The temporal loops innermost first, each with its level.
    let mut loops: Vec<(usize, u8)> = Vec::new();
    for l in (0..hw.levels.len()).rev() {
        for &d in c.order[l].iter().rev() {
            if c.tf[l][d as usize] > 1 {
                loops.push((l, d));
            }
        }
    }
    let mut temporal_mapping = BTreeMap::new();
    let mut memories = BTreeMap::new();
    for op in OPERANDS {
        let ks = lay.keepers.get(op).cloned().unwrap_or_default();
        let inner_first: Vec<usize> = ks.iter().rev().copied().collect();
        // Loops inside each keeper's tile of the operand: those at its level and below, and
        // the ones its per-operand boundary takes in (ZigZag's uneven temporal mapping).
        let ds = match op {
            "W" => DataSpace::Weights,
            "I" => DataSpace::Inputs,
            _ => DataSpace::Accum,
        };
        let inside: Vec<usize> = inner_first
            .iter()
            .map(|&k| {
                let own = loops.iter().filter(|(l, _)| *l >= k).count();
                own + c.raise[k][ds.index()] as usize
            })
            .collect();
        let mut per: Vec<Vec<(String, u64)>> = vec![Vec::new(); inner_first.len()];
        for (g, &(l, d)) in loops.iter().enumerate() {
            let Some(k) = inside.iter().position(|&n| g < n) else {
                return Err(unsupported(
                    layer,
                    "keep",
                    format!("no level at or above `{}` keeps {op}", hw.levels[l].name),
                ));
            };
            let f = c.tf[l][d as usize];
            per[k].push((zz_dim(Dim::ALL[d as usize]).to_string(), f as u64));
        }
        let names = inner_first
            .iter()
            .map(|&l| {
                lay.memory_of_operand(l, op)
                    .map(|m| m.name.clone())
                    .unwrap_or_default()
            })
            .collect();
        temporal_mapping.insert(op.to_string(), per);
        memories.insert(op.to_string(), names);
    }
    Ok((temporal_mapping, memories))
}

/// The lines of the padded window beyond the real input map along one axis (split as a
/// framework pads: half before, the rest after; ZigZag uses only their sum).
fn padding_lines(out: u64, kernel: u64, stride: u64, dilation: u64, map: Option<u64>) -> [u64; 2] {
    let window = out.saturating_sub(1) * stride + kernel.saturating_sub(1) * dilation + 1;
    let extra = map.map_or(0, |m| window.saturating_sub(m));
    [extra / 2, extra - extra / 2]
}

/// ZigZag's `padding` of IY and IX for a problem that states its real input map (nothing
/// otherwise: the padded space is the map).
fn padding_yaml(p: &crate::Problem) -> String {
    if p.input_h.is_none() && p.input_w.is_none() {
        return String::new();
    }
    let h = padding_lines(p.p, p.r, p.stride_h, p.dilation_h, p.input_h);
    let w = padding_lines(p.q, p.s, p.stride_w, p.dilation_w, p.input_w);
    format!(
        "  pr_loop_dims: [IY, IX]\n  padding: [[{}, {}], [{}, {}]]\n",
        h[0], h[1], w[0], w[1]
    )
}

fn yaml_name(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn accelerator_yaml(
    layer: &MappedLayer,
    lay: &Layout,
    oa: &[(usize, usize, u64)],
    served: &dyn Fn(usize) -> Vec<String>,
    words: bool,
) -> Result<String, MapperError> {
    let hw = &layer.hardware;
    let n = hw.levels.len();
    let mut y = format!(
        "name: {}\nmemories:\n",
        yaml_name(&format!("{}{}", hw.name, if words { "-words" } else { "" }))
    );
    // ZigZag reads memories from the innermost out.
    for l in (0..n).rev() {
        let lvl = &hw.levels[l];
        let wb = lvl.word_bits;
        let read_pj = layer.prices().word_pj(l, 0, wb);
        let write_pj = layer.prices().word_pj(l, 1, wb);
        let (rk, wk) = if words {
            (1.0, 1.0)
        } else {
            (
                port_words(layer, l, "read_bandwidth", lvl.read_bandwidth)?,
                port_words(layer, l, "write_bandwidth", lvl.write_bandwidth)?,
            )
        };
        for mem in &lay.memories[l] {
            let size = mem.bits.unwrap_or(1u128 << 50);
            let name = &mem.name;
            let mem_ops: Vec<&str> = mem
                .ops
                .iter()
                .map(|op| match *op {
                    "W" => "I2",
                    "I" => "I1",
                    _ => "O",
                })
                .collect();
            let mut reads: Vec<String> = Vec::new();
            let mut writes: Vec<String> = Vec::new();
            for m in &mem_ops {
                if *m == "O" {
                    reads.extend(["\"O, tl\"".to_string(), "\"O, th\"".to_string()]);
                    writes.extend(["\"O, fh\"".to_string(), "\"O, fl\"".to_string()]);
                } else {
                    reads.push(format!("\"{m}, tl\""));
                    writes.push(format!("\"{m}, fh\""));
                }
            }
            let _ = write!(
                y,
                "  {name}:\n    size: {size}\n    r_cost: {}\n    w_cost: {}\n    area: 0.0\n    latency: 1\n    operands: [{}]\n    ports:\n      - name: r_port_1\n        type: read\n        bandwidth_min: {wb}\n        bandwidth_max: {}\n        allocation: [{}]\n      - name: w_port_1\n        type: write\n        bandwidth_min: {wb}\n        bandwidth_max: {}\n        allocation: [{}]\n    served_dimensions: [{}]\n",
                read_pj * rk,
                write_pj * wk,
                mem_ops.join(", "),
                (wb as f64 * rk).round() as u64,
                reads.join(", "),
                (wb as f64 * wk).round() as u64,
                writes.join(", "),
                served(l).join(", ")
            );
        }
    }
    let mac = unit_pj(layer);
    let (names, sizes): (Vec<String>, Vec<String>) = if oa.is_empty() {
        (vec!["D1".into()], vec!["1".into()])
    } else {
        oa.iter()
            .enumerate()
            .map(|(i, (_, _, s))| (format!("D{}", i + 1), s.to_string()))
            .unzip()
    };
    let _ = write!(
        y,
        "operational_array:\n  unit_energy: {mac}\n  unit_area: 0.0\n  dimensions: [{}]\n  sizes: [{}]\n",
        names.join(", "),
        sizes.join(", ")
    );
    Ok(y)
}

/// A port's width in words: the level's bandwidth, which must be a whole number of bits per
/// cycle (ZigZag's port widths are integers), or 65536 words where ours is unbounded.
fn port_words(
    layer: &MappedLayer,
    l: usize,
    key: &str,
    bandwidth: Option<f64>,
) -> Result<f64, MapperError> {
    let Some(b) = bandwidth else {
        return Ok(UNBOUNDED_WORDS);
    };
    let lvl = &layer.hardware.levels[l];
    let bits = b * lvl.word_bits as f64;
    if (bits - bits.round()).abs() > 1e-9 || bits < 1.0 {
        return Err(MapperError::Mapping {
            problem: layer.problem.name.clone(),
            level: lvl.name.clone(),
            data_space: None,
            key: key.into(),
            message: format!(
                "{b} words of {} bits a cycle is {bits} bits; ZigZag's ports are a whole number of bits wide",
                lvl.word_bits
            ),
        });
    }
    Ok(bits.round() / lvl.word_bits as f64)
}

/// The compute unit's price of its main operation as the description writes it (`mac_pj`, or
/// `add_pj` for an SNN's accumulate, at the unit's full width); ours where it prices by table.
fn unit_pj(layer: &MappedLayer) -> f64 {
    use crate::hardware::ComputeEnergy;
    use crate::pricing::ComputeOp;
    let main = Ctx::main_op(&layer.problem);
    match (&layer.hardware.compute.energy, main) {
        (ComputeEnergy::Explicit { mac_pj, .. }, ComputeOp::Mac { .. }) => *mac_pj,
        (ComputeEnergy::Explicit { add_pj, .. }, ComputeOp::Add { .. }) => *add_pj,
        _ => layer.prices().op(main),
    }
}

fn our_counts(
    layer: &MappedLayer,
    lay: &Layout,
    dens: crate::Densities,
) -> Result<ZigzagCounts, MapperError> {
    let ctx = Ctx::new(&layer.problem, &layer.hardware, layer.prices().clone())?;
    let ev = ctx.evaluate(layer.compact(), &layer.counts, &dens);
    let mut rows = count_rows(layer, lay, &ctx, &dens);
    for (l, r) in &mut rows {
        for sp in &ev.levels[*l].spaces {
            let same_operand = zz_operand(sp.data_space).is_some_and(|(op, _)| op == r.operand);
            if same_operand && lay.memory(*l, sp.data_space).map(|m| &m.name) == Some(&r.memory) {
                r.read_words += sp.read_accesses;
                r.write_words += sp.write_accesses;
                r.energy_pj += sp.energy_pj + sp.metadata_pj;
            }
        }
    }
    // Innermost memories first, as ZigZag lists them.
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let rows: Vec<ZigzagRow> = rows.into_iter().map(|(_, r)| r).collect();
    let storage_pj = rows.iter().map(|r| r.energy_pj).sum();
    let membrane_pj = ev
        .levels
        .iter()
        .flat_map(|l| &l.spaces)
        .filter(|s| s.data_space == DataSpace::Membrane)
        .map(|s| s.energy_pj + s.metadata_pj)
        .sum();
    let main = Ctx::main_op(&layer.problem);
    let mac_pj = ev
        .compute
        .iter()
        .filter(|o| o.op == main && o.what.starts_with("multiply-accumulate"))
        .map(|o| o.energy_pj)
        .sum();
    Ok(ZigzagCounts {
        rows,
        storage_pj,
        mac_pj,
        other_ops_pj: ev.compute_pj - mac_pj,
        network_pj: ev.levels.iter().map(|l| l.network_pj).sum(),
        membrane_pj,
        energy_pj: ev.dynamic_pj,
        cycles: ev.cycles,
        bound: ev.bound,
        temporal_cycles: layer.counts.cycles,
        fill_drain_cycles: layer.counts.fill_drain_cycles,
        op_pj: layer.prices().op(main),
        unit_pj: unit_pj(layer),
        ops: layer.problem.ops() as f64,
        valid_taps: layer
            .problem
            .valid_ops
            .map_or(1.0, |v| v / layer.problem.ops() as f64),
    })
}

/// Our accesses as ZigZag's rows (memory, operand): reads down to and up from each memory,
/// writes from above and below, and the epilogue where the finished sum and the output share
/// a memory. The level of each row goes with it.
fn count_rows(
    layer: &MappedLayer,
    lay: &Layout,
    ctx: &Ctx,
    dens: &crate::Densities,
) -> Vec<(usize, ZigzagRow)> {
    let hw = &layer.hardware;
    let fin = layer.counts.finalizing_level;
    // The epilogue reads the finished sum and writes the output in one memory when the
    // finalizing level also keeps outputs; ZigZag's output just stays there.
    let in_place = lay
        .memory(fin, DataSpace::Outputs)
        .is_some_and(|m| m.spaces.contains(&DataSpace::Accum));
    let memory_of = |l: usize, op: &str| -> String {
        lay.memory_of_operand(l, op)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| hw.levels[l].name.clone())
    };
    let mut rows: Vec<(usize, ZigzagRow)> = Vec::new();
    for a in &layer.counts.accesses {
        let Some((op, _)) = zz_operand(a.data_space) else {
            continue;
        };
        let e = a.elements * ctx.moved(a, dens);
        let memory = memory_of(a.level, op);
        let i = match rows
            .iter()
            .position(|(_, r)| r.memory == memory && r.operand == op)
        {
            Some(i) => i,
            None => {
                rows.push((
                    a.level,
                    ZigzagRow {
                        memory,
                        operand: op.to_string(),
                        ..ZigzagRow::default()
                    },
                ));
                rows.len() - 1
            }
        };
        let r = &mut rows[i].1;
        use Action::*;
        use DataSpace::*;
        use Purpose as U;
        match (a.data_space, a.action, a.purpose) {
            (Weights | Inputs, Read, _) => r.rd_out_to_low += e,
            (Weights | Inputs, Fill | Update, _) => r.wr_in_by_high += e,
            (Accum, Update, _) => r.wr_in_by_low += e,
            (Accum, Read, U::Accumulate) => r.rd_out_to_low += e,
            (Accum, Read, U::Epilogue) | (Outputs, Update, U::Epilogue) if in_place => {
                r.epilogue += e;
                let (data, meta, _) = ctx.price_access(layer.compact(), &layer.counts, a, dens);
                r.epilogue_pj += data + meta;
            }
            (Accum | Outputs, Read, _) => r.rd_out_to_high += e,
            (Outputs, Update, _) => r.wr_in_by_low += e,
            (Accum | Outputs, Fill, _) => r.wr_in_by_high += e,
            (Membrane, _, _) => {}
        }
    }
    rows
}
