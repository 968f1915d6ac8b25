//! Architectures described as hardware data plus rules, mapped layer by layer.
//!
//! A [`HardwareArchitecture`] is a chip (a `snnergy-mapper` [`Hardware`] description) and a
//! rule saying which part of it each layer runs on: the whole chip (`classical` and the
//! shipped accelerators), a region of its PE array sized by the layer's work (`spatial`), or
//! cores placed on a mesh (`neuromorphic`). Mapping a network searches, per weighted layer and
//! format, the loop nest that minimizes the request's objective under the request's prices;
//! evaluating the mapped network at a spike rate only rescales the counts. Pooling and
//! residual additions, which have no loop nest worth searching, are counted by a fixed rule at
//! the level that keeps activations.

pub(crate) mod actions;
pub(crate) mod family;
mod footprint;
pub(crate) mod own_prices;
pub(crate) mod places;
pub(crate) mod problem;
pub(crate) mod rules;
pub(crate) mod table_pricing;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use snnergy_core::{
    Actions, ArchError, Architecture, Assumption, Category, ComputeOp as CoreOp, EnergyModel,
    Format, LayerActivity, LayerMapping, MapRequest, Mapped, MappingCost, Network, Objective,
};
use snnergy_mapper::{
    AccessOp, Anchored, Constraints, DataSpace, Densities, Hardware, LevelConstraint, MappedLayer,
    SearchOptions, SparseFormat, ZeroHandling,
};

pub use own_prices::OwnPricesFirst;
pub(crate) use problem::LayerRules;
pub(crate) use rules::Rules;

pub use crate::common::TimeOrder;
use crate::common::{Dims, Op, check_format};

/// The dataflow a layer is mapped with.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Dataflow {
    /// The mapper's best for each format.
    #[default]
    Auto,
    /// The first version's fixed dataflow: every MAC or synaptic event reads its operands
    /// from the buffer and read-modify-writes its partial sum or current there; no register
    /// reuse, no multicast, zero operands skipped and never stored.
    ReuseFree,
}

impl Dataflow {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dataflow::Auto => "auto",
            Dataflow::ReuseFree => "reuse-free",
        }
    }
}

/// How hard the mapper searches each layer.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Effort {
    /// Fewer candidate unrollings and refinements: for sweeps of many architectures.
    Quick,
    /// The mapper's defaults.
    #[default]
    Default,
    /// More candidates and refinements, slower.
    Thorough,
}

impl Effort {
    pub(crate) fn options(self, objective: Objective) -> SearchOptions {
        let mut o = SearchOptions {
            objective: match objective {
                Objective::Energy => snnergy_mapper::Objective::Energy,
                Objective::Latency => snnergy_mapper::Objective::Latency,
                Objective::Edp => snnergy_mapper::Objective::Edp,
            },
            ..SearchOptions::default()
        };
        match self {
            Effort::Quick => {
                o.exhaustive_limit = 2_000;
                o.spatial_candidates = 48;
                o.refined_candidates = 4;
                o.refined_twice = 1;
                o.max_evaluations = 40_000;
            }
            Effort::Default => {}
            Effort::Thorough => {
                o.exhaustive_limit = 100_000;
                o.spatial_candidates = 512;
                o.refined_candidates = 48;
                o.refined_twice = 12;
                o.max_evaluations = 1_000_000;
            }
        }
        o
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Effort::Quick => "quick",
            Effort::Default => "default",
            Effort::Thorough => "thorough",
        }
    }
}

/// What every hardware-described architecture lets a pipeline choose about its mappings.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MapOptions {
    pub time_order: TimeOrder,
    pub dataflow: Dataflow,
    pub effort: Effort,
    /// The search also tries uneven spatial unrollings.
    pub uneven: bool,
    /// Activations stay in the on-chip buffer between layers when they fit it.
    pub activations_on_chip: bool,
    /// Formats the mapper may store inputs and outputs in off the PEs (empty: the
    /// description's).
    pub formats: Vec<SparseFormat>,
    /// A user's pins (Timeloop-like constraints), applied to every weighted layer.
    pub pins: Option<Constraints>,
}

/// A chip described as data, a rule placing each layer on it, and the choices its mappings
/// are made under.
#[derive(Clone, Debug)]
pub struct HardwareArchitecture {
    name: String,
    chip: Arc<Hardware>,
    rules: Rules,
    layer_rules: LayerRules,
    options: MapOptions,
    assumptions: Vec<Assumption>,
}

impl HardwareArchitecture {
    pub(crate) fn new(
        name: &str,
        chip: Hardware,
        rules: Rules,
        layer_rules: LayerRules,
        options: MapOptions,
        assumptions: Vec<Assumption>,
    ) -> Result<Self, snnergy_core::ConfigError> {
        chip.validate()
            .map_err(|e| snnergy_core::ConfigError::new(e.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            chip: Arc::new(chip),
            rules,
            layer_rules,
            options,
            assumptions,
        })
    }

    /// The chip as described (before any layer's region is cut from it).
    pub fn chip(&self) -> &Hardware {
        &self.chip
    }

    fn plan(&self, network: &Network, format: &Format) -> Result<rules::Plan, ArchError> {
        let reuse_free = self.options.dataflow == Dataflow::ReuseFree;
        let mut plan = self
            .rules
            .plan(&self.name, &self.chip, network, format, reuse_free)?;
        plan.reuse_free = reuse_free;
        Ok(plan)
    }

    fn layer_error(&self, network: &Network, i: usize, message: String) -> ArchError {
        ArchError::Layer {
            architecture: self.name.clone(),
            layer: network.layers[i].name.clone(),
            message,
        }
    }

    /// Constraints of the options on layer problem `p` on `hw` (the derived chip of one
    /// layer).
    fn constraints(
        &self,
        hw: &Hardware,
        format: &Format,
        p: &snnergy_mapper::Problem,
    ) -> Constraints {
        let mut levels: Vec<LevelConstraint> = Vec::new();
        let top = hw.levels[0].name.clone();
        if matches!(format, Format::Snn(_)) && p.t > 1 {
            let t = p.t;
            match self.options.time_order {
                TimeOrder::LayerMajor => {}
                TimeOrder::TimestepMajor => levels.push(LevelConstraint {
                    level: top.clone(),
                    temporal_factors: [(snnergy_mapper::Dim::T, t)].into_iter().collect(),
                    outermost: Some("T".into()),
                    ..LevelConstraint::default()
                }),
                TimeOrder::TimeBatched => levels.push(LevelConstraint {
                    level: top.clone(),
                    temporal_factors: [(snnergy_mapper::Dim::T, 1)].into_iter().collect(),
                    ..LevelConstraint::default()
                }),
            }
        }
        self.rules
            .constrain(hw, format, p, &self.options, &mut levels);
        if let Some(pins) = &self.options.pins {
            levels.extend(pins.levels.iter().cloned());
        }
        // One constraint per level: merge what several rules said about the same level.
        let mut merged: Vec<LevelConstraint> = Vec::new();
        for c in levels {
            match merged.iter_mut().find(|m| m.level == c.level) {
                Some(m) => {
                    m.temporal_factors.extend(c.temporal_factors);
                    if c.permutation.is_some() {
                        m.permutation = c.permutation;
                    }
                    m.spatial_x_factors.extend(c.spatial_x_factors);
                    m.spatial_y_factors.extend(c.spatial_y_factors);
                    if c.outermost.is_some() {
                        m.outermost = c.outermost;
                    }
                    if c.spatial_x.is_some() {
                        m.spatial_x = c.spatial_x;
                    }
                    if c.spatial_y.is_some() {
                        m.spatial_y = c.spatial_y;
                    }
                    if c.keep.is_some() {
                        m.keep = c.keep;
                    }
                    if c.input_format.is_some() {
                        m.input_format = c.input_format;
                    }
                    if c.output_format.is_some() {
                        m.output_format = c.output_format;
                    }
                }
                None => merged.push(c),
            }
        }
        Constraints { levels: merged }
    }

    fn map_layer(
        &self,
        request: &MapRequest<'_>,
        plan: &rules::Plan,
        i: usize,
    ) -> Result<LayerMap, ArchError> {
        let net = request.network;
        let layer = &net.layers[i];
        let act = request.activity.get(i).copied().unwrap_or_default();
        let hw = plan.hardware(&self.chip, i);
        if !problem::is_mapped(layer) {
            return Ok(LayerMap::Rule(Box::new(Weightless::new(&hw, net, i))));
        }
        let mut pr = problem::problem(
            &self.name,
            net,
            i,
            request.format,
            act.analog_input,
            &self.layer_rules,
        )?;
        if self.options.activations_on_chip {
            pr.free_backing = plan.free_backing(&hw, net, i, &pr);
        }
        let mut anchors = vec![quantized(problem::densities(
            request.format,
            layer.is_product(),
            &act,
        ))];
        for a in request.anchors {
            let d = quantized(problem::densities(
                request.format,
                layer.is_product(),
                &a.get(i).copied().unwrap_or_default(),
            ));
            if !anchors.contains(&d) {
                anchors.push(d);
            }
        }
        let warm = warm_starts(request.warm, i);
        let mut options = self.options.effort.options(request.objective);
        options.uneven_spatial = self.options.uneven;
        options.constraints = self.constraints(&hw, request.format, &pr);
        let pricing = table_pricing::TablePricing {
            energy: request.energy,
            accum_bits: pr.accum_bits,
        };
        let key = MapKey {
            anchors: &anchors,
            warm: &warm,
        };
        let found = match cached_map(&pr, &hw, &key, &pricing, &options) {
            Ok(found) => found,
            // A tightly constrained layer (a core count whose only legal splits mix channels
            // and positions) can have legal mappings the default candidate lists miss: search
            // again with the thorough lists before calling the layer unmappable.
            Err(snnergy_mapper::MapperError::NoMapping { .. })
                if self.options.effort != Effort::Thorough =>
            {
                let mut wide = Effort::Thorough.options(request.objective);
                wide.constraints = options.constraints.clone();
                wide.uneven_spatial = options.uneven_spatial;
                cached_map(&pr, &hw, &key, &pricing, &wide)
                    .map_err(|e| self.layer_error(net, i, e.to_string()))?
            }
            Err(e) => return Err(self.layer_error(net, i, e.to_string())),
        };
        let linear = hw
            .levels
            .iter()
            .map(|l| {
                use snnergy_mapper::Pricing;
                match (pricing.hop_pj(l, 1), pricing.hop_pj(l, 8)) {
                    (Ok(a), Ok(b)) => (b - 8.0 * a).abs() <= 1e-9 * b.abs().max(1e-30),
                    _ => true,
                }
            })
            .collect();
        let dataflows = found.candidates.iter().map(family::family).collect();
        Ok(LayerMap::Mapped(Box::new(MappedLayerOf {
            candidates: found.candidates,
            primary: found.best_at[0],
            linear,
            capacity: actions::capacities(&hw),
            places: actions::Places::of(&hw),
            dataflows,
            objective: mapper_objective(request.objective),
        })))
    }
}

fn mapper_objective(o: Objective) -> snnergy_mapper::Objective {
    match o {
        Objective::Energy => snnergy_mapper::Objective::Energy,
        Objective::Latency => snnergy_mapper::Objective::Latency,
        Objective::Edp => snnergy_mapper::Objective::Edp,
    }
}

/// The mappings layer `i` of a network mapped before keeps: the starting points of a
/// related search.
fn warm_starts(warm: Option<&dyn Mapped>, i: usize) -> Vec<snnergy_mapper::Mapping> {
    let Some(net) = warm
        .and_then(|w| w.as_any())
        .and_then(|a| a.downcast_ref::<MappedNetwork>())
    else {
        return Vec::new();
    };
    match net.layers.get(i) {
        Some(LayerMap::Mapped(m)) => m.candidates.iter().map(|c| c.mapping.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Densities a layer is mapped for, rounded to 20 steps per decade: a mapping chosen for
/// 5.0 % spikes is the mapping for 5.1 %, and nearby operating points (a break-even found
/// again after re-mapping) then share one search.
fn quantized(d: Densities) -> Densities {
    let q = |x: f64| {
        if x <= 0.0 {
            0.0
        } else {
            (10f64.powf((20.0 * x.log10()).round() / 20.0)).min(1.0)
        }
    };
    Densities {
        input: q(d.input),
        output: q(d.output),
        weights: q(d.weights),
        ever: d.ever.map(q),
    }
}

/// What a layer's search depends on beyond the problem, the chip, the options and the prices.
struct MapKey<'k> {
    anchors: &'k [Densities],
    warm: &'k [snnergy_mapper::Mapping],
}

/// Mapped layers are remembered across maps: a pipeline asks for the same layer shape, chip,
/// anchors and prices many times (repeated shapes in VGG, the same QNN at several T, the
/// sensitivity study's unchanged layers). The result is a function of the key alone, so which
/// thread stores it first does not matter.
#[expect(
    clippy::result_large_err,
    reason = "the mapper's own error type, passed on unchanged to the caller that locates it"
)]
fn cached_map(
    problem: &snnergy_mapper::Problem,
    hw: &Hardware,
    key: &MapKey<'_>,
    pricing: &table_pricing::TablePricing<'_>,
    options: &SearchOptions,
) -> Result<Anchored, snnergy_mapper::MapperError> {
    // One slot per key, locked while its search runs: a second request for the same key
    // (the same QNN at two T analysed in parallel) waits for the first instead of repeating
    // its search. A failed search leaves the slot empty.
    type Slot = Arc<Mutex<Option<Anchored>>>;
    static CACHE: OnceLock<Mutex<HashMap<u64, Slot>>> = OnceLock::new();
    const MAX_ENTRIES: usize = 8192;
    let mut anon = problem.clone();
    anon.name.clear();
    let mut h = DefaultHasher::new();
    // The prices themselves, not the table's name: a sensitivity study's scaled tables keep
    // their base table's name, and each must be searched at its own prices.
    let prices = snnergy_mapper::price_fingerprint(problem, hw, pricing)?;
    format!("{anon:?}|{hw:?}|{options:?}").hash(&mut h);
    prices.hash(&mut h);
    for d in key.anchors {
        (
            d.input.to_bits(),
            d.output.to_bits(),
            d.weights.to_bits(),
            d.ever.map(f64::to_bits),
        )
            .hash(&mut h);
    }
    format!("{:?}", key.warm).hash(&mut h);
    let hash = h.finish();
    let slot: Slot = {
        let mut c = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.entry(hash).or_default().clone()
    };
    let mut filled = slot.lock().unwrap_or_else(|p| p.into_inner());
    let found = match &*filled {
        Some(hit) => hit.clone(),
        None => {
            let m =
                snnergy_mapper::map_anchored(problem, hw, key.anchors, pricing, options, key.warm)?;
            *filled = Some(m.clone());
            m
        }
    };
    let mut m = found;
    for c in &mut m.candidates {
        c.problem.name = problem.name.clone();
    }
    Ok(m)
}

/// A weighted layer's mappings, one per anchor it was mapped for, and what choosing among
/// them needs.
#[derive(Clone, Debug)]
struct MappedLayerOf {
    candidates: Vec<MappedLayer>,
    /// The candidate best at the request's own activity.
    primary: usize,
    linear: Vec<bool>,
    capacity: Vec<[Option<u128>; snnergy_mapper::NSPACES]>,
    places: actions::Places,
    dataflows: Vec<String>,
    objective: snnergy_mapper::Objective,
}

impl MappedLayerOf {
    /// Whether the layer is a product of two activations (its weights data space streams the
    /// second operand, with that operand's density).
    fn second_operand(&self) -> bool {
        self.candidates
            .first()
            .is_some_and(|c| c.problem.second_operand)
    }

    /// The candidate the objective prefers at `dens` (see [`snnergy_mapper::preferred`]: for
    /// energy, the fastest of those tied with the least), the primary when none prices.
    fn best_at(&self, dens: Densities) -> usize {
        if self.candidates.len() == 1 {
            return 0;
        }
        let scored: Vec<(f64, f64)> = self
            .candidates
            .iter()
            .map(|c| {
                c.scored_at(dens, self.objective)
                    .unwrap_or((f64::INFINITY, f64::INFINITY))
            })
            .collect();
        snnergy_mapper::preferred(self.objective, &scored).unwrap_or(self.primary)
    }

    fn record(&self, i: usize) -> LayerMapping {
        let ml = &self.candidates[i];
        LayerMapping {
            layer: ml.problem.name.clone(),
            dataflow: self.dataflows[i].clone(),
            summary: ml.describe(),
            loop_nest: ml.loop_nest(),
            hardware: ml.hardware.name.clone(),
            mapped_for: [ml.mapped_for.input, ml.mapped_for.output],
            evaluated: ml.evaluated,
        }
    }
}

#[derive(Clone, Debug)]
enum LayerMap {
    Mapped(Box<MappedLayerOf>),
    Rule(Box<Weightless>),
}

/// A weightless layer (pooling, residual addition) counted in the memory of the innermost
/// level that keeps outputs: every input read once, one operation per input that is not
/// skipped, every output written once.
#[derive(Clone, Debug)]
struct Weightless {
    hw: Hardware,
    level: usize,
    dims: Dims,
}

impl Weightless {
    fn new(hw: &Hardware, net: &Network, i: usize) -> Self {
        let level = (0..hw.levels.len())
            .rev()
            .find(|&l| hw.may_hold(&hw.levels[l], DataSpace::Outputs))
            .unwrap_or(0);
        Weightless {
            hw: hw.clone(),
            level,
            dims: Dims::of(&net.layers[i]),
        }
    }

    fn push(
        &self,
        format: &Format,
        act: &LayerActivity,
        per_step_bits: (u32, u32),
        out: &mut Actions,
    ) -> f64 {
        let level = &self.hw.levels[self.level];
        let d = &self.dims;
        let (t, in_bits, out_bits, density, op_bits) = match format {
            Format::Snn(s) => (
                s.timesteps as f64,
                per_step_bits.0,
                per_step_bits.1,
                act.input_rate,
                s.membrane_bits,
            ),
            Format::Qnn(q) => (
                1.0,
                per_step_bits.0,
                per_step_bits.1,
                act.input_nonzero,
                q.accumulator_bits,
            ),
        };
        let skipped = match self.hw.compute.zero_handling {
            ZeroHandling::None => 1.0,
            _ => density,
        };
        let wb = level.word_bits;
        let stream = |bits: u32, n: f64| -> (u32, f64) {
            let b = bits.max(1);
            if b > wb {
                (wb, n * b.div_ceil(wb) as f64)
            } else {
                let pack = wb / b;
                (pack * b, n / pack as f64)
            }
        };
        let (rb, reads) = stream(in_bits, d.a * t);
        let (wbits, writes) = stream(out_bits, d.n * t);
        // Inputs are read from the memory that keeps activations, where the outputs go.
        out.push_at(
            places::level_place(level, DataSpace::Outputs),
            places::access_kind(level, DataSpace::Outputs, AccessOp::Read, rb),
            Category::Activations,
            reads,
        );
        out.push_at(
            places::level_place(level, DataSpace::Outputs),
            places::access_kind(level, DataSpace::Outputs, AccessOp::Write, wbits),
            Category::Outputs,
            writes,
        );
        let ops = d.s * t * skipped;
        let op = if d.op == Op::MaxPool {
            CoreOp::Compare
        } else {
            CoreOp::Add
        };
        out.push_at(
            snnergy_core::Place::new(places::COMPUTE),
            snnergy_core::ActionKind::compute(op, op_bits),
            Category::Compute,
            ops,
        );
        let cycles = d.s
            * t
            * if self.hw.compute.zero_handling == ZeroHandling::Skip {
                density
            } else {
                1.0
            }
            / self.hw.total_units().max(1) as f64;
        cycles * 1000.0 / self.hw.compute.clock_mhz
    }
}

/// A network mapped on a hardware-described architecture.
#[derive(Debug)]
struct MappedNetwork {
    format: Format,
    layers: Vec<LayerMap>,
    /// Inferences sharing each weight fetch (the batch): counts are reported per inference.
    per: f64,
    /// Input and output bits of each weightless layer's QNN values.
    value_bits: Vec<(u32, u32)>,
    /// The chip's places, for its static energy.
    leaking: actions::Places,
}

impl Mapped for MappedNetwork {
    fn evaluate(&self, activity: &[LayerActivity], out: &mut [Actions]) -> Result<(), ArchError> {
        for (i, (l, o)) in self.layers.iter().zip(out.iter_mut()).enumerate() {
            let act = activity.get(i).copied().unwrap_or_default();
            let ns = match l {
                LayerMap::Mapped(m) => {
                    let dens = problem::densities(&self.format, m.second_operand(), &act);
                    let c = &m.candidates[m.best_at(dens)];
                    actions::push_layer(c, &dens, &m.linear, &m.capacity, &m.places, self.per, o)
                }
                LayerMap::Rule(w) => w.push(&self.format, &act, self.value_bits[i], o),
            };
            actions::push_leakage(&self.leaking, ns, o);
            o.set_latency_ns(ns);
        }
        Ok(())
    }

    fn layers(&self) -> Vec<LayerMapping> {
        self.layers
            .iter()
            .filter_map(|l| match l {
                LayerMap::Mapped(m) => Some(m.record(m.primary)),
                LayerMap::Rule(_) => None,
            })
            .collect()
    }

    fn layers_at(&self, activity: &[LayerActivity]) -> Vec<LayerMapping> {
        self.layers
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match l {
                LayerMap::Mapped(m) => {
                    let act = activity.get(i).copied().unwrap_or_default();
                    Some(m.record(m.best_at(problem::densities(
                        &self.format,
                        m.second_operand(),
                        &act,
                    ))))
                }
                LayerMap::Rule(_) => None,
            })
            .collect()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A weighted layer of a network mapped on a hardware-described architecture, with what the
/// analysis evaluates it at.
#[derive(Clone, Debug)]
pub struct LayerOnChip<'m> {
    /// The mapper's record: the mapping, its counts and prices.
    pub layer: &'m MappedLayer,
    /// The densities the layer's activity gives it (what the report's energies are at).
    pub densities: Densities,
    /// Inferences sharing each weight fetch: the mapper's counts are per batch, the report's
    /// energies per inference.
    pub batch: f64,
}

/// The mapper's records of the layers of `mapped`, one per layer of the network (`None` for
/// weightless layers), at the densities of `activity` (one entry per layer); `None` when
/// `mapped` was not made by a hardware-described architecture.
pub fn layers_on_chip<'m>(
    mapped: &'m dyn Mapped,
    activity: &[LayerActivity],
) -> Option<Vec<Option<LayerOnChip<'m>>>> {
    let net = mapped.as_any()?.downcast_ref::<MappedNetwork>()?;
    Some(
        net.layers
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                LayerMap::Mapped(m) => {
                    let densities = problem::densities(
                        &net.format,
                        m.second_operand(),
                        &activity.get(i).copied().unwrap_or_default(),
                    );
                    Some(LayerOnChip {
                        layer: &m.candidates[m.best_at(densities)],
                        densities,
                        batch: net.per,
                    })
                }
                LayerMap::Rule(_) => None,
            })
            .collect(),
    )
}

impl HardwareArchitecture {
    /// The mapped layers of `network` (for `snnergy map` and tests): the mapper's own record
    /// of each weighted layer, `None` for weightless ones.
    pub fn map_layers(
        &self,
        request: &MapRequest<'_>,
    ) -> Result<Vec<Option<MappedLayer>>, ArchError> {
        let plan = self.plan(request.network, request.format)?;
        (0..request.network.layers.len())
            .into_par_iter()
            .map(|i| {
                Ok(match self.map_layer(request, &plan, i)? {
                    LayerMap::Mapped(mut m) => Some(m.candidates.swap_remove(m.primary)),
                    LayerMap::Rule(_) => None,
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    }
}

impl Architecture for HardwareArchitecture {
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        check_format(&self.name, format)?;
        let plan = self.plan(network, format)?;
        // Operand widths against the units, before any work: the twin's bits grow with T,
        // and a layer that does not fit would otherwise stop the run at its first mapping.
        for (i, layer) in network.layers.iter().enumerate() {
            if !problem::is_mapped(layer) {
                continue;
            }
            let hw = plan.hardware(&self.chip, i);
            let fits = |analog| -> Result<(), ArchError> {
                let pr =
                    problem::problem(&self.name, network, i, format, analog, &self.layer_rules)?;
                hw.check_problem(&pr)
                    .map_err(|e| self.layer_error(network, i, e.to_string()))
            };
            // A layer reading the input gets the image (its own width) or spikes, as the
            // activity's coding says, which is not known here: either may do.
            let reads_input = layer.sources.contains(&snnergy_core::Source::Input);
            fits(false).or_else(|e| if reads_input { fits(true) } else { Err(e) })?;
        }
        Ok(())
    }

    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        _: &Format,
        _: &LayerActivity,
        _: &mut Actions,
    ) -> Result<(), ArchError> {
        Err(self.layer_error(
            network,
            layer,
            "this architecture maps whole networks: evaluate it through `Architecture::map` (snnergy_core::map_network), which the analysis does".into(),
        ))
    }

    fn evaluate_network(
        &self,
        network: &Network,
        _: &Format,
        _: &[LayerActivity],
        _: &mut [Actions],
    ) -> Result<(), ArchError> {
        Err(ArchError::Config {
            architecture: self.name.clone(),
            message: format!(
                "network `{}`: this architecture maps whole networks: evaluate it through `Architecture::map` (snnergy_core::map_network)",
                network.name
            ),
        })
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let mut v = self.assumptions.clone();
        v.push(Assumption::new(
            "hardware",
            &self.chip.name,
            self.chip.description.replace('\n', " "),
        ));
        v.push(Assumption::new(
            "layers on the chip",
            self.rules.name(),
            self.rules.note(),
        ));
        let o = &self.options;
        v.push(Assumption::new(
            "dataflow",
            o.dataflow.name(),
            match o.dataflow {
                Dataflow::Auto => "each format mapped at its own best (the mapper's search, per layer)",
                Dataflow::ReuseFree => "pinned: every MAC or synaptic event reads its operands from the buffer and read-modify-writes its partial sum there; zero operands are neither stored nor read (the first version's accounting)",
            },
        ));
        v.push(Assumption::new(
            "time order",
            o.time_order.name(),
            match o.time_order {
                TimeOrder::LayerMajor => "the mapper places T in each layer's loop nest",
                TimeOrder::TimestepMajor => "T is the outermost loop of every layer",
                TimeOrder::TimeBatched => "all of T runs inside the chip for each tile of neurons",
            },
        ));
        v.push(Assumption::new(
            "mapper effort",
            o.effort.name(),
            "how many candidate mappings the search refines per layer",
        ));
        v.push(Assumption::new(
            "multiply of unequal widths",
            "a·b partial products",
            "an a-bit × b-bit multiply (the twin's weight by its activation) is priced between the square multipliers of ⌊√(a·b)⌋ and ⌈√(a·b)⌉ bits, weighted to its a·b partial products: exact where the table scales with the square of the width",
        ));
        if o.uneven {
            v.push(Assumption::new(
                "uneven unrollings",
                "searched",
                "a dimension may be unrolled over more of an array axis than its divisors fill, the last fold partial (as ZigZag unrolls)",
            ));
        }
        v.push(Assumption::new(
            "activations between layers",
            if o.activations_on_chip {
                "on chip when they fit"
            } else {
                "through the outermost level"
            },
            "a layer's inputs and outputs that fit the on-chip buffer are not read from or written to the outermost level",
        ));
        v.push(Assumption::new(
            "batch",
            self.layer_rules.batch,
            "inferences sharing each weight fetch; energy and latency are per inference",
        ));
        v
    }

    fn map(&self, request: &MapRequest<'_>) -> Result<Option<Box<dyn Mapped>>, ArchError> {
        check_format(&self.name, request.format)?;
        let net = request.network;
        let plan = self.plan(net, request.format)?;
        // Every layer is mapped, then the first error in network order is reported, so the
        // message does not depend on which thread finished first.
        let layers = (0..net.layers.len())
            .into_par_iter()
            .map(|i| self.map_layer(request, &plan, i))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let value_bits = net
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| weightless_bits(net, i, l, request.format))
            .collect();
        Ok(Some(Box::new(MappedNetwork {
            format: *request.format,
            layers,
            per: self.layer_rules.batch as f64,
            value_bits,
            leaking: actions::Places::of(&self.chip),
        })))
    }

    fn priced_by<'a>(&'a self, table: &'a dyn EnergyModel) -> Box<dyn EnergyModel + 'a> {
        Box::new(OwnPricesFirst::new(table, self.chip.clone()))
    }

    fn mapping_cost(&self, network: &Network, format: &Format) -> Option<MappingCost> {
        self.search_memory(network, format)
    }
}

impl HardwareArchitecture {
    /// What the mapper's searches of `network` hold at their peak: layers are mapped in
    /// parallel, so the largest searches at once; a layer without a legal mapping is searched
    /// again with the thorough lists, so each layer counts at the larger of the two.
    fn search_memory(&self, network: &Network, format: &Format) -> Option<MappingCost> {
        let plan = self.plan(network, format).ok()?;
        let efforts = [
            self.options.effort.options(Objective::Energy),
            Effort::Thorough.options(Objective::Energy),
        ];
        let mut layers: Vec<(f64, f64, usize)> = Vec::new();
        for (i, l) in network.layers.iter().enumerate() {
            if !problem::is_mapped(l) {
                continue;
            }
            let pr =
                problem::problem(&self.name, network, i, format, false, &self.layer_rules).ok()?;
            let hw = plan.hardware(&self.chip, i);
            let (bytes, count) = efforts
                .iter()
                .map(|o| footprint::search_bytes(&pr, &hw, o))
                .fold((0.0, 0.0), |a: (f64, f64), b| (a.0.max(b.0), a.1.max(b.1)));
            layers.push((bytes, count, i));
        }
        layers.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (_, count, worst) = *layers.first()?;
        let at_once = rayon::current_num_threads().max(1);
        let bytes: f64 = layers.iter().take(at_once).map(|l| l.0).sum();
        let fan: Vec<String> = (0..self.chip.levels.len())
            .map(|l| {
                let [x, y] = plan.hardware(&self.chip, worst).fanout(l);
                format!("{x} × {y}")
            })
            .collect();
        Some(MappingCost {
            memory_bytes: bytes,
            what: format!(
                "the mapper's search of layer `{}` on `{}`, which lists up to {count:.3e} spatial unrollings of its arrays ({}: the levels' `mesh` and `[compute] units`)",
                network.layers[worst].name,
                self.chip.name,
                fan.join(", ")
            ),
            levels: self.chip.levels.len(),
        })
    }
}

/// The bits of a weightless layer's input and output values per step: activation bits (1 for
/// spikes), or the sums' bits (accumulator, membrane) after a layer that hands on its sums (a
/// residual sum of convolutions), the same rule for both formats.
fn weightless_bits(net: &Network, _: usize, l: &snnergy_core::Layer, f: &Format) -> (u32, u32) {
    let (value, sums) = match f {
        Format::Qnn(q) => (q.activation_bits, q.accumulator_bits),
        Format::Snn(s) => (1, s.membrane_bits),
    };
    let from_unquantized = l.sources.iter().any(|s| match s {
        snnergy_core::Source::Layer(j) => !net.layers[*j].neuron,
        snnergy_core::Source::Input => false,
    });
    let in_bits = if from_unquantized { sums } else { value };
    let out_bits = if l.neuron { value } else { in_bits };
    (in_bits, out_bits)
}

/// Implements [`Architecture`] for a configuration wrapper by delegating to its
/// `inner: HardwareArchitecture`.
macro_rules! delegate {
    // With the configuration type: also the accessors every architecture over a
    // `HardwareArchitecture` has.
    ($t:ty, $config:ty) => {
        impl $t {
            /// The configuration.
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// The hardware-described architecture it builds.
            pub fn hardware(&self) -> &crate::hw::HardwareArchitecture {
                &self.inner
            }
        }

        crate::hw::delegate!($t);
    };
    ($t:ty) => {
        impl snnergy_core::Architecture for $t {
            fn check(
                &self,
                network: &snnergy_core::Network,
                format: &snnergy_core::Format,
            ) -> Result<(), snnergy_core::ArchError> {
                self.inner.check(network, format)
            }

            fn evaluate(
                &self,
                network: &snnergy_core::Network,
                layer: usize,
                format: &snnergy_core::Format,
                activity: &snnergy_core::LayerActivity,
                out: &mut snnergy_core::Actions,
            ) -> Result<(), snnergy_core::ArchError> {
                self.inner.evaluate(network, layer, format, activity, out)
            }

            fn evaluate_network(
                &self,
                network: &snnergy_core::Network,
                format: &snnergy_core::Format,
                activity: &[snnergy_core::LayerActivity],
                out: &mut [snnergy_core::Actions],
            ) -> Result<(), snnergy_core::ArchError> {
                self.inner.evaluate_network(network, format, activity, out)
            }

            fn assumptions(&self) -> Vec<snnergy_core::Assumption> {
                self.inner.assumptions()
            }

            fn map(
                &self,
                request: &snnergy_core::MapRequest<'_>,
            ) -> Result<Option<Box<dyn snnergy_core::Mapped>>, snnergy_core::ArchError> {
                self.inner.map(request)
            }

            fn mapping_cost(
                &self,
                network: &snnergy_core::Network,
                format: &snnergy_core::Format,
            ) -> Option<snnergy_core::MappingCost> {
                self.inner.mapping_cost(network, format)
            }

            fn priced_by<'a>(
                &'a self,
                table: &'a dyn snnergy_core::EnergyModel,
            ) -> Box<dyn snnergy_core::EnergyModel + 'a> {
                self.inner.priced_by(table)
            }
        }
    };
}
pub(crate) use delegate;

/// Registers an architecture whose configuration alone builds it (`$t::new(config)`), under
/// `$name`, with the pipeline table its example is priced with (and any other keys).
macro_rules! component {
    ($t:ty, $config:ty, $name:literal, $summary:literal, $example:expr) => {
        impl snnergy_core::Component for $t {
            type Interface = dyn snnergy_core::Architecture;
            type Config = $config;
            const NAME: &'static str = $name;
            const SUMMARY: &'static str = $summary;

            fn build(
                config: $config,
                _: &snnergy_core::BuildContext<'_>,
            ) -> Result<Box<dyn snnergy_core::Architecture>, snnergy_core::ConfigError> {
                Ok(Box::new(<$t>::new(config)?))
            }

            fn example() -> toml::Table {
                crate::example($example)
            }
        }
    };
}
pub(crate) use component;
