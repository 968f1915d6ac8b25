//! Where on the chip each layer runs: the whole chip, a region of the PE array sized by the
//! layer's work, or cores placed on a mesh with hops from their placement.

use snnergy_core::{ArchError, Format, LayerKind, Network, Source};
use snnergy_mapper::{DataSpace, Dim, Hardware, LevelConstraint, Problem, SparseFormat};

use super::{Dataflow, MapOptions};

/// A whole-chip hierarchy, a spatial array cut into regions, or a neuromorphic mesh of cores.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Rules {
    /// Every layer on the whole chip, one after the other.
    Chip,
    /// Every layer on its own region of the array of level 1 (units of level-2 PEs), sized in
    /// proportion to its work and at least what its weights and neurons need; values move
    /// between regions over links (level 0).
    Regions(Regions),
    /// Every layer on its own cores (the instances of level 1), placed contiguously along a
    /// serpentine over a 2-D mesh; a packet crosses the mean Manhattan distance between the
    /// producer's and the consumer's cores, plus one hop per further destination core.
    Cores(Cores),
}

/// The spatial rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Regions {
    /// Links a value crosses from the producer's region to the consumer's.
    pub link_hops: f64,
    /// Stated region sizes (units per layer, in network order of weighted layers), if any.
    pub stated: Option<Vec<u64>>,
}

/// The neuromorphic rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cores {
    /// Neurons (compartments) one core's neuron memory holds.
    pub neurons_per_core: u64,
    /// [rows, cols] of the mesh; default the smallest square holding every layer's cores.
    pub mesh: Option<[u64; 2]>,
}

/// What a rule decided for one network in one format.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Per layer: instances of level 1 the layer gets (0: the whole chip's).
    instances: Vec<u64>,
    /// Per layer: hops of one unicast on level 0's network (None: the description's).
    hops: Vec<Option<f64>>,
    label: Vec<String>,
    /// The pinned reuse-free dataflow: no multicast, the values idealization allowed.
    pub reuse_free: bool,
    /// Cores on a mesh: their packets keep their multicast under any pin.
    cores: bool,
}

impl Plan {
    /// The chip as layer `i` sees it.
    pub fn hardware(&self, chip: &Hardware, i: usize) -> Hardware {
        let mut hw = chip.clone();
        if self.instances[i] > 0 && hw.levels.len() > 1 {
            hw.levels[1].mesh = [self.instances[i], 1];
        }
        if let Some(h) = self.hops[i] {
            hw.levels[0].network.unicast_hops = Some(h);
        }
        if !self.label[i].is_empty() {
            hw.name = format!("{} ({})", chip.name, self.label[i]);
        }
        if self.reuse_free && !self.cores {
            // The pinned dataflow delivers each operand to each operation (no multicast) and
            // counts one move per operand: the one from its source, not its way inside.
            for (j, l) in hw.levels.iter_mut().enumerate() {
                l.network.multicast = false;
                if j > 0 {
                    l.network.carries = Some(Vec::new());
                }
                if !l.formats.contains(&SparseFormat::Values) {
                    l.formats.push(SparseFormat::Values);
                }
            }
        }
        hw
    }

    /// The activations of layer `i` that stay on chip between layers: those whose whole
    /// footprint fits the pool that keeps them in the outermost on-chip level.
    pub fn free_backing(
        &self,
        hw: &Hardware,
        _: &Network,
        _: usize,
        p: &Problem,
    ) -> Vec<DataSpace> {
        let Some(buffer) = (1..hw.levels.len()).find(|&l| {
            hw.may_hold(&hw.levels[l], DataSpace::Inputs)
                && hw.may_hold(&hw.levels[l], DataSpace::Outputs)
        }) else {
            return Vec::new();
        };
        let level = &hw.levels[buffer];
        let (h, w) = p.input_hw();
        let inputs = (p.n * p.g * p.c * h * w * p.t) as u128 * p.input_bits as u128;
        let outputs = (p.n * p.g * p.k * p.p * p.q * p.t * p.neuron_steps_per_accum) as u128
            * p.output_bits as u128;
        let mut v = Vec::new();
        for (ds, bits) in [(DataSpace::Inputs, inputs), (DataSpace::Outputs, outputs)] {
            if level.capacity_for(ds).is_some_and(|cap| bits <= cap) {
                v.push(ds);
            }
        }
        v
    }
}

/// The smallest divisor of `x` that is at least `need` (x itself if none is smaller).
/// The fewest cores (at least `need`, dividing the `neurons`) over which a layer of `k`
/// channels at `pq` positions splits by channel alone or by position alone within a core's
/// synapse memory (`syn` bits, `kernel` bits per channel) and neuron count: the splits the
/// mapper's candidates always contain. A count whose only legal splits mix channels and
/// positions can leave the search without a legal mapping; when no count splits cleanly, the
/// smallest divisor is taken and the search decides.
fn cores_for(
    neurons: u64,
    k: u64,
    pq: u64,
    need: u64,
    kernel: u128,
    syn: u128,
    per_core: u64,
) -> u64 {
    let fits = |c: u64| {
        let by_channel = k.is_multiple_of(c)
            && u128::from(k / c) * kernel <= syn
            && (k / c).saturating_mul(pq) <= per_core;
        let by_position = pq.is_multiple_of(c)
            && u128::from(k) * kernel <= syn
            && k.saturating_mul(pq / c) <= per_core;
        by_channel || by_position
    };
    let mut c = divisor_at_least(neurons, need);
    let first = c;
    while c < neurons {
        if fits(c) {
            return c;
        }
        c = divisor_at_least(neurons, c + 1);
    }
    if fits(c) { c } else { first }
}

/// The unit counts, ascending and at most `units`, over which a layer of `dims` (channels,
/// rows, columns of its output) splits along at most two of them so that every unit holds the
/// kernels of its channels (`kernel` bits each, `w_unit` in all) and the state of its neurons
/// (`state` bits each, `m_unit` in all). The mapper's default candidates unroll at most two
/// dimensions over the units and only by divisors, so a region of any other size can leave
/// the layer without a legal mapping (conv1 of ResNet18 on ImageNet needs channels, rows and
/// columns split together below 1792 units; layer4.0.conv2 one channel per unit).
fn clean_splits(
    dims: [u64; 3],
    kernel: u128,
    w_unit: u128,
    state: u128,
    m_unit: u128,
    units: u64,
) -> Vec<u64> {
    let divs: Vec<Vec<u64>> = dims
        .iter()
        .map(|&x| (1..=x).filter(|d| x.is_multiple_of(*d)).collect())
        .collect();
    let mut out = Vec::new();
    for &a in &divs[0] {
        for &b in &divs[1] {
            for &c in &divs[2] {
                if [a, b, c].iter().filter(|&&f| f > 1).count() > 2 {
                    continue;
                }
                let count = a * b * c;
                if count > units {
                    continue;
                }
                let channels = u128::from(dims[0] / a);
                let neurons = channels * u128::from(dims[1] / b) * u128::from(dims[2] / c);
                if channels * kernel <= w_unit && neurons * state <= m_unit {
                    out.push(count);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn divisor_at_least(x: u64, need: u64) -> u64 {
    if need <= 1 {
        return 1;
    }
    let mut best = x;
    let mut d = 1;
    while d * d <= x {
        if x.is_multiple_of(d) {
            for c in [d, x / d] {
                if c >= need && c < best {
                    best = c;
                }
            }
        }
        d += 1;
    }
    best
}

/// Output neurons (K·P·Q, times groups) of a weighted layer or a product: what units or
/// cores split.
fn neurons(net: &Network, i: usize) -> u64 {
    let l = &net.layers[i];
    match l.kind {
        LayerKind::Conv2d { .. } | LayerKind::Linear => l.neurons(),
        LayerKind::Product { .. } => l.output.numel(),
        _ => 0,
    }
}

/// E|X − Y| for X uniform on [a, b] and Y uniform on [c, d] (either may be a point).
pub(crate) fn mean_abs_diff(a: f64, b: f64, c: f64, d: f64) -> f64 {
    // Exact for points; for intervals, a fine midpoint rule (the mesh has at most thousands
    // of cores, and the mean distance only sets a hop count).
    const N: usize = 64;
    let sample = |lo: f64, hi: f64, k: usize| {
        if hi > lo {
            lo + (hi - lo) * (k as f64 + 0.5) / N as f64
        } else {
            lo
        }
    };
    let (nx, ny) = (if b > a { N } else { 1 }, if d > c { N } else { 1 });
    let mut s = 0.0;
    for i in 0..nx {
        let x = sample(a, b, i);
        for j in 0..ny {
            s += (x - sample(c, d, j)).abs();
        }
    }
    s / (nx * ny) as f64
}

impl Rules {
    pub fn name(&self) -> &'static str {
        match self {
            Rules::Chip => "whole chip per layer",
            Rules::Regions(_) => "a region of the PE array per layer",
            Rules::Cores(_) => "cores on a mesh per layer",
        }
    }

    pub fn note(&self) -> String {
        match self {
            Rules::Chip => {
                "every layer runs on the whole chip, one after the other; each is mapped on its own"
                    .into()
            }
            Rules::Regions(r) => format!(
                "every layer has its own units of the array, in proportion to its MACs and at least what its weights and neurons need; weights stay in the PEs; values cross {} link(s) from the producer's region",
                r.link_hops
            ),
            Rules::Cores(c) => format!(
                "every layer has its own cores (at most {} neurons each, and at least what its weights need), placed contiguously along a serpentine over the mesh; a packet crosses the mean Manhattan distance between producer and consumer cores, plus one hop per further destination core; all cores advance one time step together",
                c.neurons_per_core
            ),
        }
    }

    /// Decides each layer's part of the chip for `network` in `format`.
    pub fn plan(
        &self,
        arch: &str,
        chip: &Hardware,
        network: &Network,
        format: &Format,
        reuse_free: bool,
    ) -> Result<Plan, ArchError> {
        let n = network.layers.len();
        let planner = Planner {
            arch,
            chip,
            network,
            wb: format.weight_bits() as u128,
        };
        let mut plan = Plan {
            instances: vec![0; n],
            hops: vec![None; n],
            label: vec![String::new(); n],
            reuse_free: false,
            cores: matches!(self, Rules::Cores(_)),
        };
        self.refuse_products(arch, network)?;
        match self {
            Rules::Chip => {}
            Rules::Regions(r) => planner.regions(r, &mut plan)?,
            Rules::Cores(c) => planner.cores(c, reuse_free, &mut plan)?,
        }
        Ok(plan)
    }

    /// A product of two activations has no place where weights stay put: its second operand
    /// is produced anew every step, while regions of the array hold their weights in the PEs
    /// and cores in their synapse memories, loaded once. Mapping it there would price that
    /// operand as a weight read in place and never moved.
    fn refuse_products(&self, arch: &str, network: &Network) -> Result<(), ArchError> {
        let place = match self {
            Rules::Chip => return Ok(()),
            Rules::Regions(_) => "regions of the PE array keep their weights in the PEs",
            Rules::Cores(_) => "cores keep their weights in their synapse memories",
        };
        match network.layers.iter().find(|l| l.is_product()) {
            Some(l) => Err(ArchError::Layer {
                architecture: arch.to_string(),
                layer: l.name.clone(),
                message: format!(
                    "a product of two activations has no stored weights: its second operand is produced anew every step, and {place}, loaded once (use an architecture whose layers run on the whole chip, such as `classical`)"
                ),
            }),
            None => Ok(()),
        }
    }

    /// What the rule and the options pin about a layer's mapping on `hw`.
    pub fn constrain(
        &self,
        hw: &Hardware,
        format: &Format,
        p: &Problem,
        options: &MapOptions,
        out: &mut Vec<LevelConstraint>,
    ) {
        if let Rules::Cores(_) = self {
            cores_pins(hw, format, p, options, out);
        }
        self.stationary_pins(hw, out);
        if !options.formats.is_empty() {
            allowed_formats(hw, options, out);
        }
        if options.dataflow == Dataflow::ReuseFree {
            self.reuse_free_pins(hw, format, out);
        }
    }

    /// Weights and neurons stay where they live (the PEs, the units, the cores): no loop over
    /// their dimensions may run above them. Saying so up front also gives the search a legal
    /// place to start.
    fn stationary_pins(&self, hw: &Hardware, out: &mut Vec<LevelConstraint>) {
        let name = |l: usize| hw.levels[l].name.clone();
        match self {
            Rules::Chip => {}
            Rules::Regions(_) => {
                // Weights stationary: the PEs of a unit spread over the weights' dimensions
                // only (each holds distinct weights); steps stream through them.
                let weight_dims = vec![Dim::G, Dim::K, Dim::C, Dim::R, Dim::S];
                // Units take different neurons (channels, and positions with their own copy of
                // the kernels they need); a neuron's sums meet in its own unit.
                let unit_dims = vec![Dim::G, Dim::K, Dim::P, Dim::Q];
                let last = hw.levels.len() - 1;
                for l in 0..last {
                    let mut dims = vec![Dim::G, Dim::K, Dim::C, Dim::R, Dim::S];
                    if l == 0 {
                        // Neurons stay in their units too.
                        dims.extend([Dim::P, Dim::Q]);
                    }
                    let (x, y) = if l == 0 {
                        (Some(unit_dims.clone()), Some(Vec::new()))
                    } else if l + 1 == last {
                        (Some(Vec::new()), Some(weight_dims.clone()))
                    } else {
                        (Some(Vec::new()), Some(Vec::new()))
                    };
                    out.push(LevelConstraint {
                        level: name(l),
                        temporal_factors: unit_factors(&dims),
                        spatial_x: x,
                        spatial_y: y,
                        ..LevelConstraint::default()
                    });
                }
            }
            Rules::Cores(_) => out.push(LevelConstraint {
                level: name(0),
                temporal_factors: unit_factors(&[
                    Dim::G,
                    Dim::K,
                    Dim::C,
                    Dim::P,
                    Dim::Q,
                    Dim::R,
                    Dim::S,
                ]),
                ..LevelConstraint::default()
            }),
        }
    }

    /// The first version's fixed dataflow, pinned.
    fn reuse_free_pins(&self, hw: &Hardware, format: &Format, out: &mut Vec<LevelConstraint>) {
        match self {
            Rules::Chip => reuse_free_chip(hw, out),
            Rules::Regions(_) => reuse_free_regions(hw, format, out),
            Rules::Cores(_) => {
                // Event-driven cores already read a weight and update a current per synaptic
                // event; the pin only keeps zero operands out of the spike stream.
            }
        }
    }
}

/// Temporal factors of 1 for `dims` at a level: no loop over them there.
fn unit_factors(dims: &[Dim]) -> std::collections::BTreeMap<Dim, u64> {
    dims.iter().map(|d| (*d, 1u64)).collect()
}

/// Cores on a mesh: spikes travel as address-event packets, the baseline's values as packets
/// with their address (or, unless pinned, dense); all cores advance one step together.
fn cores_pins(
    hw: &Hardware,
    format: &Format,
    p: &Problem,
    options: &MapOptions,
    out: &mut Vec<LevelConstraint>,
) {
    let outer = hw.levels[0].name.clone();
    let packet = |aer: bool| {
        hw.levels[0].formats.iter().find(|f| {
            matches!(
                (aer, f),
                (true, SparseFormat::Aer { .. }) | (false, SparseFormat::Coo { .. })
            )
        })
    };
    // A 1-bit baseline value is an event like a spike: its address says everything.
    let pinned = match format {
        Format::Snn(_) => packet(true),
        Format::Qnn(q) if q.activation_bits == 1 => packet(true),
        Format::Qnn(_) if options.dataflow == Dataflow::ReuseFree => packet(false),
        Format::Qnn(_) => None,
    };
    if let Some(f) = pinned {
        out.push(LevelConstraint {
            level: outer.clone(),
            input_format: Some(f.clone()),
            output_format: Some(f.clone()),
            ..LevelConstraint::default()
        });
    }
    if matches!(format, Format::Snn(_)) && p.t > 1 {
        // Time-step-major by construction.
        out.push(LevelConstraint {
            level: outer,
            temporal_factors: [(Dim::T, p.t)].into_iter().collect(),
            outermost: Some("T".into()),
            ..LevelConstraint::default()
        });
    }
}

/// The spike and value formats a pipeline allows, wherever the chip stores or streams
/// activations off the PEs.
fn allowed_formats(hw: &Hardware, options: &MapOptions, out: &mut Vec<LevelConstraint>) {
    for lv in &hw.levels {
        let allowed: Vec<&SparseFormat> = options
            .formats
            .iter()
            .filter(|f| lv.formats.contains(f))
            .collect();
        if let [only] = allowed.as_slice() {
            out.push(LevelConstraint {
                level: lv.name.clone(),
                input_format: Some((*only).clone()),
                output_format: Some((*only).clone()),
                ..LevelConstraint::default()
            });
        }
    }
}

/// The whole chip, reuse-free: everything in the buffer (level 1), nothing below it, no
/// unrolling: every operation reads its operands there and updates its sum there.
fn reuse_free_chip(hw: &Hardware, out: &mut Vec<LevelConstraint>) {
    for l in 0..hw.levels.len() {
        // Sums are final in the buffer: no reduction loop above it, and the outermost level
        // keeps no partial sums.
        let (keep, temporal) = match l {
            0 => (
                Some(
                    DataSpace::ALL
                        .into_iter()
                        .filter(|d| *d != DataSpace::Accum && hw.may_hold(&hw.levels[0], *d))
                        .collect(),
                ),
                unit_factors(&[Dim::C, Dim::R, Dim::S]),
            ),
            1 => (Some(DataSpace::ALL.to_vec()), Default::default()),
            _ => (Some(Vec::new()), Default::default()),
        };
        let values = (l == 1).then_some(SparseFormat::Values);
        out.push(LevelConstraint {
            level: hw.levels[l].name.clone(),
            temporal_factors: temporal,
            spatial_x: Some(Vec::new()),
            spatial_y: Some(Vec::new()),
            keep,
            input_format: values.clone(),
            output_format: values,
            ..LevelConstraint::default()
        });
    }
}

/// Regions, reuse-free: each operation receives its input over the links (kept nowhere else)
/// as an event or a non-zero value, reads its stationary weight, and adds into the
/// accumulator of its neuron unit.
fn reuse_free_regions(hw: &Hardware, format: &Format, out: &mut Vec<LevelConstraint>) {
    let event = match format {
        Format::Qnn(q) if q.activation_bits > 1 => SparseFormat::Coo {
            header_bits: 0.0,
            address_bits: None,
        },
        _ => SparseFormat::Aer {
            header_bits: 0.0,
            address_bits: None,
        },
    };
    let stream = hw.levels[0]
        .formats
        .iter()
        .find(|f| std::mem::discriminant(*f) == std::mem::discriminant(&event))
        .cloned()
        .unwrap_or(SparseFormat::Values);
    for l in 0..hw.levels.len() {
        let keep: Vec<DataSpace> = DataSpace::ALL
            .into_iter()
            .filter(|ds| hw.may_hold(&hw.levels[l], *ds) && (l == 0 || *ds != DataSpace::Inputs))
            .collect();
        out.push(LevelConstraint {
            level: hw.levels[l].name.clone(),
            keep: Some(keep),
            input_format: (l == 0).then(|| stream.clone()),
            output_format: (l > 0).then_some(SparseFormat::Values),
            ..LevelConstraint::default()
        });
    }
}

/// Places one network's layers on a chip for one weight width.
struct Planner<'a> {
    arch: &'a str,
    chip: &'a Hardware,
    network: &'a Network,
    /// Bits of a weight.
    wb: u128,
}

/// What each weighted layer needs of a region: the fewest units that hold it, the unit
/// counts over which it splits cleanly (ascending), and its work.
struct RegionNeeds {
    min: Vec<u64>,
    clean: Vec<Vec<u64>>,
    work: Vec<f64>,
}

/// A rectangle of the mesh: (first row, last row), (first column, last column).
type Span = ((f64, f64), (f64, f64));

impl Planner<'_> {
    fn err(&self, message: String) -> ArchError {
        ArchError::Config {
            architecture: self.arch.to_string(),
            message,
        }
    }

    fn layer_err(&self, i: usize, message: String) -> ArchError {
        ArchError::Layer {
            architecture: self.arch.to_string(),
            layer: self.network.layers[i].name.clone(),
            message,
        }
    }

    /// Units of the array per layer: the stated sizes, or the fewest that hold each layer
    /// plus a share of the rest in proportion to its work.
    fn regions(&self, r: &Regions, plan: &mut Plan) -> Result<(), ArchError> {
        let n = self.network.layers.len();
        let units = self
            .chip
            .levels
            .get(1)
            .map(|l| l.mesh[0] * l.mesh[1])
            .unwrap_or(1);
        let needs = self.region_needs(r, units)?;
        match &r.stated {
            Some(s) => self.stated_regions(s, &needs, plan)?,
            None => self.shared_regions(units, &needs, plan)?,
        }
        for i in 0..n {
            if plan.instances[i] > 0 {
                plan.label[i] = format!("{} units", plan.instances[i]);
            }
            plan.hops[i] = Some(r.link_hops);
        }
        Ok(())
    }

    /// Per layer, the units that hold its weights and neurons (0 for a weightless layer).
    fn region_needs(&self, r: &Regions, units: u64) -> Result<RegionNeeds, ArchError> {
        let (chip, network, wb) = (self.chip, self.network, self.wb);
        let n = network.layers.len();
        // PEs of one unit: every level below it.
        let pes: u64 = chip
            .levels
            .iter()
            .skip(2)
            .map(|l| l.mesh[0] * l.mesh[1])
            .product();
        let unit = chip.levels.get(1);
        let pe = chip.levels.last();
        let w_cap = pe
            .and_then(|l| l.capacity_for(DataSpace::Weights))
            .unwrap_or(u128::MAX)
            * pes as u128;
        let m_cap = unit
            .and_then(|l| l.capacity_for(DataSpace::Membrane))
            .unwrap_or(u128::MAX);
        // A neuron's state: its membrane and its outputs, 32 bits for either format, so that
        // both formats get the same regions.
        let mb: u128 = 32;
        let mut needs = RegionNeeds {
            min: vec![0; n],
            clean: vec![Vec::new(); n],
            work: vec![0.0; n],
        };
        for i in 0..n {
            let nn = neurons(network, i);
            if nn == 0 {
                continue;
            }
            let l = &network.layers[i];
            // A neuron's partial sums meet in one unit: its fan-in must fit there.
            let per_unit = pe
                .and_then(|l| l.capacity_for(DataSpace::Weights))
                .unwrap_or(u128::MAX)
                .saturating_mul(pes as u128);
            if l.fan_in() as u128 * wb > per_unit {
                return Err(self.layer_err(
                    i,
                    format!(
                        "fits nowhere: one neuron's {} synapses need {:.1} KiB of weights, a unit's PEs hold {:.1} KiB (`pes_per_unit` × `pe_weight_bytes`)",
                        l.fan_in(),
                        (l.fan_in() as u128 * wb) as f64 / 8192.0,
                        per_unit as f64 / 8192.0
                    ),
                ));
            }
            let need_w = (l.weights() as u128 * wb).div_ceil(w_cap.max(1));
            let need_m = (nn as u128 * mb).div_ceil(m_cap.max(1));
            let need = need_w.max(need_m).max(1);
            let dims = [
                u64::from(l.output.c),
                u64::from(l.output.h),
                u64::from(l.output.w),
            ];
            needs.clean[i] =
                clean_splits(dims, l.fan_in() as u128 * wb, per_unit, mb, m_cap, units);
            let held = divisor_at_least(nn, u64::try_from(need).unwrap_or(u64::MAX));
            // A stated region need only hold the layer; a chosen one also splits cleanly.
            needs.min[i] = if r.stated.is_some() {
                held
            } else {
                needs.clean[i].first().copied().unwrap_or(held)
            };
            needs.work[i] = l.synapses() as f64;
        }
        Ok(needs)
    }

    /// The stated sizes, one per weighted layer, each at least what the layer needs.
    fn stated_regions(
        &self,
        stated: &[u64],
        needs: &RegionNeeds,
        plan: &mut Plan,
    ) -> Result<(), ArchError> {
        let min = &needs.min;
        let weighted: Vec<usize> = (0..min.len()).filter(|&i| min[i] > 0).collect();
        if stated.len() != weighted.len() {
            return Err(self.err(format!(
                "`regions` lists {} sizes, network `{}` has {} weighted layers",
                stated.len(),
                self.network.name,
                weighted.len()
            )));
        }
        for (k, &i) in weighted.iter().enumerate() {
            if stated[k] < min[i] {
                return Err(self.layer_err(
                    i,
                    format!(
                        "a region of {} units cannot hold its weights and neurons: it needs {} (`regions`)",
                        stated[k], min[i]
                    ),
                ));
            }
            plan.instances[i] = stated[k];
        }
        Ok(())
    }

    /// Every layer its minimum plus a share of the remaining units in proportion to its
    /// work, rounded down to a clean split.
    fn shared_regions(
        &self,
        units: u64,
        needs: &RegionNeeds,
        plan: &mut Plan,
    ) -> Result<(), ArchError> {
        let (min, work) = (&needs.min, &needs.work);
        let total_min: u64 = min.iter().sum();
        if total_min > units {
            let worst = (0..min.len()).max_by_key(|&i| min[i]).unwrap_or(0);
            return Err(self.err(format!(
                "network `{}` needs at least {total_min} units to keep its weights and neurons in place, the array has {units} (`pe_array`); the largest, `{}`, needs {}",
                self.network.name, self.network.layers[worst].name, min[worst]
            )));
        }
        let extra = (units - total_min) as f64;
        let sum: f64 = work.iter().sum();
        for i in 0..min.len() {
            if min[i] > 0 {
                let share = if sum > 0.0 { work[i] / sum } else { 0.0 };
                let target = min[i] + (extra * share).floor() as u64;
                // The largest clean split within the layer's share keeps the regions inside
                // the array and every layer mappable.
                plan.instances[i] = needs.clean[i]
                    .iter()
                    .rev()
                    .find(|&&c| c <= target)
                    .copied()
                    .unwrap_or(target);
            }
        }
        Ok(())
    }

    /// Cores per layer, placed along a serpentine over the mesh, and the hops between each
    /// layer's cores and its producers'.
    fn cores(&self, c: &Cores, reuse_free: bool, plan: &mut Plan) -> Result<(), ArchError> {
        let (network, wb) = (self.network, self.wb);
        let n = network.layers.len();
        let cores = self.core_counts(c, reuse_free)?;
        let total: u64 = cores.iter().sum::<u64>().max(1);
        let cols = match c.mesh {
            Some([r, k]) => {
                if r.saturating_mul(k) < total {
                    return Err(self.err(format!(
                        "network `{}` needs {total} cores (weight bits {wb}), the {r}×{k} mesh (`mesh`) has {}",
                        network.name,
                        r.saturating_mul(k)
                    )));
                }
                k as f64
            }
            None => (total as f64).sqrt().ceil(),
        };
        let region = serpentine(network, &cores, cols);
        for i in 0..n {
            let me = region[i];
            let l = &network.layers[i];
            let mut dist = 0.0;
            for s in &l.sources {
                let (rows, cols) = match *s {
                    // The input enters through a port at the mesh corner.
                    Source::Input => ((0.0, 0.0), (0.0, 0.0)),
                    Source::Layer(j) => region[j],
                };
                let d = mean_abs_diff(rows.0, rows.1, me.0.0, me.0.1)
                    + mean_abs_diff(cols.0, cols.1, me.1.0, me.1.1);
                dist += d.max(1.0);
            }
            dist /= l.sources.len().max(1) as f64;
            plan.hops[i] = Some(dist);
            if cores[i] > 0 {
                plan.instances[i] = cores[i];
                plan.label[i] = format!("{} cores, {:.2} hops", cores[i], dist);
            }
        }
        Ok(())
    }

    /// Cores per layer: enough for its neurons and weights, split cleanly where possible (0
    /// for a weightless layer, which runs on its producer's cores).
    fn core_counts(&self, c: &Cores, reuse_free: bool) -> Result<Vec<u64>, ArchError> {
        let (network, wb) = (self.network, self.wb);
        let syn = self
            .chip
            .levels
            .get(1)
            .and_then(|l| l.capacity_for(DataSpace::Weights))
            .unwrap_or(u128::MAX);
        let mut cores = vec![0u64; network.layers.len()];
        for (i, l) in network.layers.iter().enumerate() {
            let nn = neurons(network, i);
            if nn == 0 {
                continue;
            }
            let per_core_kernel = (l.fan_in() as u128) * wb;
            if per_core_kernel > syn {
                return Err(self.layer_err(
                    i,
                    format!(
                        "fits nowhere: one neuron's {} synapses need {:.1} KiB of weights, a core's synapse memory holds {:.1} KiB (`synapse_kib`)",
                        l.fan_in(),
                        per_core_kernel as f64 / 8.0 / 1024.0,
                        syn as f64 / 8.0 / 1024.0
                    ),
                ));
            }
            let need_n = nn.div_ceil(c.neurons_per_core.max(1));
            let need_w =
                u64::try_from((l.weights() as u128 * wb).div_ceil(syn.max(1))).unwrap_or(u64::MAX);
            cores[i] = if reuse_free {
                // The first version's placement: every synapse stored, so a core holds as
                // many neurons as its synapse memory has room for their fan-ins.
                let fit = u64::try_from(syn / per_core_kernel.max(1)).unwrap_or(u64::MAX);
                nn.div_ceil(c.neurons_per_core.min(fit).max(1))
            } else {
                cores_for(
                    nn,
                    u64::from(l.output.c),
                    u64::from(l.output.h) * u64::from(l.output.w),
                    need_n.max(need_w).max(1),
                    per_core_kernel,
                    syn,
                    c.neurons_per_core.max(1),
                )
            };
        }
        Ok(cores)
    }
}

/// The rectangle each layer's cores take when layers are placed in order along a serpentine
/// over a mesh of `cols` columns; a weightless layer sits on its producer's cores.
fn serpentine(network: &Network, cores: &[u64], cols: f64) -> Vec<Span> {
    let mut region: Vec<Span> = Vec::with_capacity(cores.len());
    let mut start = 0.0;
    for (i, &k) in cores.iter().enumerate() {
        if k == 0 {
            let from = network.layers[i].sources.iter().find_map(|s| match s {
                Source::Layer(j) => Some(region[*j]),
                Source::Input => None,
            });
            region.push(from.unwrap_or(((0.0, 0.0), (0.0, 0.0))));
            continue;
        }
        let end = start + k as f64 - 1.0;
        let (r0, r1) = ((start / cols).floor(), (end / cols).floor());
        let col_span = if r0 == r1 {
            let (a, b) = (start - r0 * cols, end - r0 * cols);
            if (r0 as u64).is_multiple_of(2) {
                (a, b)
            } else {
                (cols - 1.0 - b, cols - 1.0 - a)
            }
        } else {
            (0.0, cols - 1.0)
        };
        region.push(((r0, r1), col_span));
        start = end + 1.0;
    }
    region
}
