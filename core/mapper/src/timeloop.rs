//! Export to Timeloop v0.4 YAML (architecture, problem, mapping) with our per-level counts
//! under Timeloop's names, so timeloop-model can be run on the same chip, layer and mapping
//! and compared number for number.
//!
//! What does not carry over, and how it is written:
//! * T: Timeloop's CNN-Layer has no time dimension; T is folded into N (it behaves as a batch
//!   that shares weights, which is exactly N's projection). The membrane has no Timeloop data
//!   space and is listed only in our counts.
//! * G: folded into M (K); exact for weights and outputs, not for inputs of grouped layers.
//! * A level with one capacity partition per data space is written as one storage component
//!   per partition (`<level>_<space>`), each keeping only its data space; the level's loops go
//!   on the first of them, listed innermost, the others get factor 1.
//! * `accum` and `outputs` both map to Timeloop's Outputs: partial-sum traffic below the
//!   finalizing level, final values above it.
//! * Timeloop has one word size (`datawidth`) per component, dividing its width: the
//!   narrowest kept element's packing, so that capacity checks pass and accesses pack as ours;
//!   where a component keeps elements of several widths, the wider ones' energies and
//!   bandwidth limits are then off (the counts are not). Bandwidths are converted to its words.
//! * A Timeloop mapping gives a dimension one spatial factor per level: a mapping that spreads
//!   one over both array axes is refused with an error naming the level.
//! * Padding: Timeloop counts the padded index space. A problem that states its valid taps
//!   (`valid_ops`, `input_h`, `input_w`) has our counts without the padded taps and lines, so
//!   it compares with Timeloop only at an operation-level input density of density ×
//!   valid/loop operations; the validation uses problems without them.
//! * Timeloop counts no read for what a level sends up; the counts table lists those reads
//!   apart (`reads_sent_up`), and the ERT gives Timeloop our energies per access.
//!
//! `tools/compare_timeloop.py` translates these documents to the tree format the
//! timeloop-model binary reads and compares; `VALIDATION.md` has the results.

use std::fmt::Write;

use serde::Serialize;

use crate::MappedLayer;
use crate::hardware::{Capacity, LevelClass};
use crate::model::{Action, Purpose};
use crate::pricing::capacity_bits;
use crate::problem::{DataSpace, Dim, NDIMS};

/// The three YAML documents and the counts table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeloopExport {
    /// `architecture:` (v0.4).
    pub architecture: String,
    /// `problem:` (v0.4, CNN-Layer).
    pub problem: String,
    /// `mapping:` (v0.4).
    pub mapping: String,
    /// CSV: level, data space, Timeloop data space, reads, fills, updates, and of the reads
    /// those that send data up (drains, finished sums read by the epilogue), which Timeloop
    /// does not count as reads (elements at the densities the layer was mapped for).
    pub counts_csv: String,
    /// `ERT:` (v0.3 tables): our energy per access of each component (a full-word read,
    /// write or update) and per operation of the compute unit, to be given to Timeloop in
    /// place of its own energy model.
    pub ert: String,
}

fn tl_dim(d: Dim) -> &'static str {
    match d {
        Dim::K | Dim::G => "M",
        Dim::T | Dim::N => "N",
        Dim::C => "C",
        Dim::P => "P",
        Dim::Q => "Q",
        Dim::R => "R",
        Dim::S => "S",
    }
}

fn tl_space(ds: DataSpace) -> &'static str {
    match ds {
        DataSpace::Weights => "Weights",
        DataSpace::Inputs => "Inputs",
        DataSpace::Accum | DataSpace::Outputs => "Outputs",
        DataSpace::Membrane => "Membrane",
    }
}

/// Timeloop v0.4 export of a mapped layer, with our counts at the densities it was mapped for.
pub fn to_timeloop(layer: &MappedLayer) -> Result<TimeloopExport, crate::MapperError> {
    to_timeloop_at(layer, layer.mapped_for)
}

/// Timeloop v0.4 export of a mapped layer, with our counts at `densities` (an operating point
/// the mapping is evaluated at, not the one it was chosen for).
pub fn to_timeloop_at(
    layer: &MappedLayer,
    densities: crate::Densities,
) -> Result<TimeloopExport, crate::MapperError> {
    crate::check_densities(&layer.problem, &densities)?;
    layer.compact().refuse_uneven(&layer.problem, "Timeloop")?;
    layer
        .compact()
        .refuse_raised(&layer.hardware, &layer.problem, "Timeloop")?;
    let comps = components(layer);
    Ok(TimeloopExport {
        architecture: architecture(layer, &comps),
        problem: problem(&layer.problem),
        mapping: mapping(layer, &comps)?,
        counts_csv: counts_csv(layer, densities)?,
        ert: ert(layer, &comps),
    })
}

/// Timeloop storage components of each level: (name, kept data spaces). A partitioned level
/// is one component per partition, keeping only its data space.
type Components = Vec<Vec<(String, Vec<DataSpace>)>>;

fn components(layer: &MappedLayer) -> Components {
    let c = layer.compact();
    let mut comps: Components = Vec::new();
    for (l, lvl) in layer.hardware.levels.iter().enumerate() {
        let kept: Vec<DataSpace> = DataSpace::ALL
            .into_iter()
            .filter(|d| c.keep[l] & d.bit() != 0 && *d != DataSpace::Membrane)
            .collect();
        match &lvl.capacity {
            Some(Capacity::Partitioned(parts)) => comps.push(
                parts
                    .keys()
                    .map(|ds| {
                        (
                            format!("{}_{}", lvl.name, ds.name()),
                            if kept.contains(ds) { vec![*ds] } else { vec![] },
                        )
                    })
                    .collect(),
            ),
            _ => comps.push(vec![(lvl.name.clone(), kept)]),
        }
    }
    comps
}

/// The `architecture:` document: containers for the arrays, a component per storage
/// component, the MAC.
fn architecture(layer: &MappedLayer, comps: &Components) -> String {
    let hw = &layer.hardware;
    let mut arch =
        String::from("architecture:\n  version: 0.4\n  nodes:\n  - !Container\n    name: system\n");
    for (l, lvl) in hw.levels.iter().enumerate() {
        if l > 0 && lvl.mesh != [1, 1] {
            let _ = write!(
                arch,
                "  - !Container\n    name: {}_array\n    spatial: {{meshX: {}, meshY: {}}}\n",
                lvl.name, lvl.mesh[0], lvl.mesh[1]
            );
        }
        // Timeloop lists a container's components outermost first; the partition that carries
        // the level's loops must be the innermost, so that every partition's tile spans them.
        for (name, kept) in comps[l].iter().rev() {
            storage_component(&mut arch, &layer.problem, lvl, name, kept);
        }
    }
    let u = hw.compute.units;
    if u != [1, 1] {
        let _ = write!(
            arch,
            "  - !Container\n    name: units\n    spatial: {{meshX: {}, meshY: {}}}\n",
            u[0], u[1]
        );
    }
    let _ = write!(
        arch,
        "  - !Component\n    name: mac\n    class: intmac\n    attributes:\n      width: {}\n",
        hw.compute.mac_bits
    );
    arch
}

/// One storage component of level `lvl`.
fn storage_component(
    arch: &mut String,
    p: &crate::Problem,
    lvl: &crate::Level,
    name: &str,
    kept: &[DataSpace],
) {
    let class = match lvl.class {
        LevelClass::Dram => "DRAM",
        LevelClass::Sram => "SRAM",
        LevelClass::Register => "regfile",
    };
    let ds = name.rsplit('_').next().unwrap_or("");
    // Timeloop has one word size per component, dividing its width: the narrowest kept
    // element's packing, so that a tile of spikes is not counted as a tile of weights
    // (its capacity check) and a vector access packs as many elements as ours (or the
    // most that divides the width).
    let bits = kept
        .iter()
        .map(|d| p.bits(*d))
        .min()
        .unwrap_or(p.weight_bits.max(p.input_bits))
        .clamp(1, lvl.word_bits);
    let block = (1..=lvl.word_bits / bits)
        .rev()
        .find(|b| lvl.word_bits.is_multiple_of(*b))
        .unwrap_or(1);
    let datawidth = lvl.word_bits / block;
    let cap = match &lvl.capacity {
        Some(Capacity::Partitioned(parts)) => parts
            .iter()
            .find(|(d, _)| d.name() == ds)
            .and_then(|(_, s)| s.bits(lvl.word_bits).ok()),
        _ => capacity_bits(lvl),
    };
    let _ = write!(
        arch,
        "  - !Component\n    name: {name}\n    class: {class}\n    attributes:\n      width: {}\n      datawidth: {}\n",
        lvl.word_bits, datawidth
    );
    if let Some(b) = cap {
        let _ = writeln!(arch, "      depth: {}", b / lvl.word_bits as u128);
    }
    // Timeloop's bandwidths count its words (datawidth), ours full-width words.
    if let Some(bw) = lvl.read_bandwidth {
        let _ = writeln!(arch, "      read_bandwidth: {}", bw * block as f64);
    }
    if let Some(bw) = lvl.write_bandwidth {
        let _ = writeln!(arch, "      write_bandwidth: {}", bw * block as f64);
    }
    let _ = writeln!(arch, "      multiple_buffering: 1");
}

/// The `problem:` document: Timeloop's CNN-Layer with T folded into N and G into M.
fn problem(p: &crate::Problem) -> String {
    let dims = p.dims();
    let size = |name: &str| -> u64 {
        Dim::ALL
            .iter()
            .filter(|d| tl_dim(**d) == name)
            .map(|d| dims[d.index()])
            .product()
    };
    let mut prob = String::from(
        "problem:\n  version: 0.4\n  shape:\n    name: CNN-Layer\n    dimensions: [C, M, R, S, N, P, Q]\n    coefficients:\n",
    );
    // Timeloop pairs (R, P) with Wstride and (S, Q) with Hstride; snnergy pairs (R, P) with
    // the vertical stride, so the values follow the pairs, not the names.
    let _ = write!(
        prob,
        "    - {{name: Wstride, default: {}}}\n    - {{name: Hstride, default: {}}}\n    - {{name: Wdilation, default: {}}}\n    - {{name: Hdilation, default: {}}}\n",
        p.stride_h, p.stride_w, p.dilation_h, p.dilation_w
    );
    prob.push_str(
        "    data_spaces:\n    - name: Weights\n      projection: [[[C]], [[M]], [[R]], [[S]]]\n    - name: Inputs\n      projection: [[[N]], [[C]], [[R, Wdilation], [P, Wstride]], [[S, Hdilation], [Q, Hstride]]]\n    - name: Outputs\n      projection: [[[N]], [[M]], [[P]], [[Q]]]\n      read_write: true\n  instance:\n",
    );
    for name in TL_ORDER {
        let _ = writeln!(prob, "    {name}: {}", size(name));
    }
    let _ = writeln!(
        prob,
        "    # snnergy layer `{}`: T = {} folded into N, G = {} into M",
        p.name, p.t, p.g
    );
    prob
}

/// Timeloop's dimensions in the order its factors are written.
const TL_ORDER: [&str; 7] = ["C", "M", "R", "S", "N", "P", "Q"];

/// The product over our dimensions folded into Timeloop's `tn` of `f(dimension)`.
fn factor_of(f: &dyn Fn(usize) -> u64, tn: &str) -> u64 {
    (0..NDIMS)
        .filter(|&d| tl_dim(Dim::ALL[d]) == tn)
        .map(f)
        .product()
}

/// Timeloop's factors string of `f(dimension)`.
fn factors(f: &dyn Fn(usize) -> u64) -> String {
    TL_ORDER
        .iter()
        .map(|tn| format!("{tn}{}", factor_of(f, tn)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `mapping:` document, innermost level first.
fn mapping(layer: &MappedLayer, comps: &Components) -> Result<String, crate::MapperError> {
    let mut map = String::from("mapping:\n");
    for l in (0..layer.hardware.levels.len()).rev() {
        for (i, (name, kept)) in comps[l].iter().enumerate() {
            component_mapping(&mut map, layer, l, (name, kept), i == 0)?;
        }
    }
    Ok(map)
}

/// The datatype, temporal and (on the `first` component of a level) spatial directives of
/// one component of level `l`.
fn component_mapping(
    map: &mut String,
    layer: &MappedLayer,
    l: usize,
    (name, kept): (&str, &[DataSpace]),
    first: bool,
) -> Result<(), crate::MapperError> {
    let c = layer.compact();
    let tf = factors(&|d| if first { c.tf[l][d] as u64 } else { 1 });
    // Timeloop lists permutations innermost first.
    let mut perm: Vec<&str> = Vec::new();
    for &d in c.order[l].iter().rev() {
        let t = tl_dim(Dim::ALL[d as usize]);
        if !perm.contains(&t) {
            perm.push(t);
        }
    }
    let keep: Vec<&str> = {
        let mut v: Vec<&str> = kept.iter().map(|d| tl_space(*d)).collect();
        v.dedup();
        v
    };
    let bypass: Vec<&str> = ["Weights", "Inputs", "Outputs"]
        .into_iter()
        .filter(|s| !keep.contains(s))
        .collect();
    let _ = write!(
        map,
        "  - target: {name}\n    type: datatype\n    keep: [{}]\n    bypass: [{}]\n",
        keep.join(", "),
        bypass.join(", ")
    );
    let _ = write!(
        map,
        "  - target: {name}\n    type: temporal\n    factors: {tf}\n    permutation: {}\n",
        perm.concat()
    );
    if first && (0..NDIMS).any(|d| c.sp(l, d) > 1) {
        spatial_mapping(map, layer, l, name)?;
    }
    Ok(())
}

/// The spatial directive of level `l`: X dimensions first, then Y; refused when a dimension
/// is spread over both axes.
fn spatial_mapping(
    map: &mut String,
    layer: &MappedLayer,
    l: usize,
    name: &str,
) -> Result<(), crate::MapperError> {
    let c = layer.compact();
    if let Some(tn) = TL_ORDER.iter().find(|tn| {
        factor_of(&|d| c.sx[l][d] as u64, tn) > 1 && factor_of(&|d| c.sy[l][d] as u64, tn) > 1
    }) {
        return Err(crate::MapperError::Mapping {
            problem: layer.problem.name.clone(),
            level: layer.hardware.levels[l].name.clone(),
            data_space: None,
            key: "spatial".into(),
            message: format!(
                "`{tn}` is spread over both axes below this level; a Timeloop mapping gives a dimension one spatial factor per level"
            ),
        });
    }
    // `split` is where Y starts.
    let xs: Vec<&str> = TL_ORDER
        .iter()
        .copied()
        .filter(|tn| factor_of(&|d| c.sx[l][d] as u64, tn) > 1)
        .collect();
    let mut sperm: Vec<&str> = xs.clone();
    sperm.extend(TL_ORDER.iter().copied().filter(|tn| !xs.contains(tn)));
    let sf = factors(&|d| c.sp(l, d));
    let _ = write!(
        map,
        "  - target: {name}\n    type: spatial\n    factors: {sf}\n    permutation: {}\n    split: {}\n",
        sperm.concat(),
        xs.len()
    );
    Ok(())
}

/// The `ERT:` tables: our energy of a full-word access of each component and of a MAC.
fn ert(layer: &MappedLayer, comps: &Components) -> String {
    let mut ert = String::from("ERT:\n  version: 0.3\n  tables:\n");
    for (l, lvl) in layer.hardware.levels.iter().enumerate() {
        let read = layer.prices().word_pj(l, 0, lvl.word_bits);
        let write = layer.prices().word_pj(l, 1, lvl.word_bits);
        for (name, _) in &comps[l] {
            let _ = write!(
                ert,
                "  - name: system.{name}\n    actions:\n    - {{name: read, energy: {read}}}\n    - {{name: write, energy: {write}}}\n    - {{name: update, energy: {write}}}\n    - {{name: idle, energy: 0.0}}\n"
            );
        }
    }
    let mac = layer
        .prices()
        .op(crate::model::Ctx::main_op(&layer.problem));
    let _ = write!(
        ert,
        "  - name: system.mac\n    actions:\n    - {{name: mac_random, energy: {mac}}}\n    - {{name: mac_gated, energy: 0.0}}\n    - {{name: mac_skipped, energy: 0.0}}\n"
    );
    ert
}

/// Our counts per level and data space at `densities`, with the reads that send data up
/// listed apart: Timeloop counts no read at a level for what it sends up (drains, finished
/// sums), so that its reads compare with ours minus them.
fn counts_csv(
    layer: &MappedLayer,
    densities: crate::Densities,
) -> Result<String, crate::MapperError> {
    let ctx = crate::model::Ctx::new(&layer.problem, &layer.hardware, layer.prices().clone())?;
    let ev = ctx.evaluate(layer.compact(), &layer.counts, &densities);
    let d = &densities;
    let mut upward = vec![[0.0f64; crate::problem::NSPACES]; layer.hardware.levels.len()];
    for a in &layer.counts.accesses {
        if a.action == Action::Read && matches!(a.purpose, Purpose::Drain | Purpose::Epilogue) {
            upward[a.level][a.data_space.index()] += a.elements * ctx.density(a.scale, d);
        }
    }
    let mut csv =
        String::from("level,data_space,timeloop_data_space,reads,fills,updates,reads_sent_up\n");
    for (l, rep) in ev.levels.iter().enumerate() {
        for s in &rep.spaces {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{}",
                rep.level,
                s.data_space,
                tl_space(s.data_space),
                s.reads,
                s.fills,
                s.updates,
                upward[l][s.data_space.index()]
            );
        }
    }
    Ok(csv)
}
