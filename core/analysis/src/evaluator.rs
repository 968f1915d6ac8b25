//! Prices a network in one format at an operating point on one architecture: maps it (once
//! per format, at its best over a set of anchor activities), evaluates the mapping's actions at
//! the point and prices them, caching prices.
//!
//! Every figure of an analysis (a point comparison, a sweep point, a break-even probe, a
//! tornado row) goes through one [`Evaluator`], so the same network at the same operating
//! point is one number however it is reached.

use std::collections::{BTreeMap, HashMap};

use snnergy_core::action::{
    AccessKey, ActionKind, Actions, Category, NCATEGORIES, Place, PriceClass,
};
use snnergy_core::activity::{LayerActivity, OperatingPoint, layer_activities_into};
use snnergy_core::energy::{EnergyModel, Price};
use snnergy_core::error::{ArchError, Error};
use snnergy_core::format::Format;
use snnergy_core::mapping::{LayerMapping, MapRequest, Mapped, Objective};
use snnergy_core::network::{InputCoding, Network};
use snnergy_core::report::ByAccess;
use snnergy_core::traits::{Architecture, map_network};

/// Energy of one network evaluation, with the detail reports need.
#[derive(Clone, Debug, Default)]
pub struct NetworkEnergy {
    /// Total, pJ per inference.
    pub total_pj: f64,
    /// Per layer, pJ.
    pub per_layer: Vec<f64>,
    /// By category, pJ (indexed like [`Category::ALL`]).
    pub by_category: [f64; NCATEGORIES],
    /// By price class (memory level, operation), pJ.
    pub by_class: BTreeMap<PriceClass, f64>,
    /// Per layer and category, pJ.
    pub per_layer_category: Vec<[f64; NCATEGORIES]>,
    /// Latency per inference (the layers' latencies summed), ns; 0 when the architecture
    /// does not model time.
    pub latency_ns: f64,
    /// Per layer latency, ns.
    pub per_layer_latency_ns: Vec<f64>,
    /// By place (a level of the hardware, or the price class where none is named), pJ, in
    /// the order places first appear.
    pub by_level: Vec<(String, f64)>,
    /// Per layer, by place, pJ.
    pub per_layer_level: Vec<Vec<(String, f64)>>,
    /// Memory accesses and transfers by level, counts.
    pub accesses: ByAccess,
}

impl NetworkEnergy {
    /// Static energy (static power × latency), pJ.
    pub fn leakage_pj(&self) -> f64 {
        self.by_category[Category::Leakage.index()]
    }

    /// Static energy of layer `i`, pJ.
    pub fn layer_leakage_pj(&self, i: usize) -> f64 {
        self.per_layer_category[i][Category::Leakage.index()]
    }
}

fn add_to(v: &mut Vec<(String, f64)>, key: &str, e: f64) {
    match v.iter_mut().find(|(k, _)| k == key) {
        Some((_, x)) => *x += e,
        None => v.push((key.to_string(), e)),
    }
}

/// Evaluates one architecture on one network: maps the network once per format, at its best
/// over the evaluator's anchor activities (see [`Evaluator::with_anchors`]; without anchors,
/// for the first activity it is asked about), then evaluates the mapping at every activity
/// and prices the actions, caching prices. Not thread-safe; make one per thread.
pub struct Evaluator<'a> {
    label: &'a str,
    arch: &'a dyn Architecture,
    energy: &'a dyn EnergyModel,
    network: &'a Network,
    coding: InputCoding,
    objective: Objective,
    actions: Vec<Actions>,
    activity: Vec<LayerActivity>,
    /// The activities every format is mapped at its best for.
    anchors: Vec<Vec<LayerActivity>>,
    /// Mapped networks of a related evaluation (the nominal of a sensitivity study), per
    /// format: the starting points of this one's searches.
    warm: Vec<(Format, &'a dyn Mapped)>,
    mapped: Vec<(Format, Box<dyn Mapped + 'a>)>,
    prices: HashMap<(Place, ActionKind), Price>,
    /// Per mapped format and layer, the place, kind and price of each action as the last
    /// evaluation listed them: a layer lists the same actions at every operating point (only
    /// the counts move), so a price is looked up by comparing two keys, not by hashing one.
    listed: Vec<Vec<Vec<(Place, ActionKind, f64)>>>,
    /// Total and latency of every evaluation made without detail, by mapped format and
    /// layer activities: a break-even scans one grid for energy and again for energy ×
    /// latency, and a sensitivity row revisits the nominal's points.
    totals: HashMap<Vec<u64>, (f64, f64)>,
    /// The key of the evaluation being looked up (its room reused).
    key: Vec<u64>,
    evaluations: u64,
    mappings: u64,
}

impl std::fmt::Debug for Evaluator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("label", &self.label)
            .field("network", &self.network.name)
            .field("mapped formats", &self.mapped.len())
            .finish()
    }
}

impl<'a> Evaluator<'a> {
    /// An evaluator for `arch` priced by `energy` on `network`.
    pub fn new(
        label: &'a str,
        arch: &'a dyn Architecture,
        energy: &'a dyn EnergyModel,
        network: &'a Network,
        coding: InputCoding,
    ) -> Self {
        Self {
            label,
            arch,
            energy,
            network,
            coding,
            objective: Objective::Energy,
            actions: vec![Actions::new(); network.layers.len()],
            activity: Vec::with_capacity(network.layers.len()),
            anchors: Vec::new(),
            warm: Vec::new(),
            mapped: Vec::new(),
            prices: HashMap::new(),
            listed: Vec::new(),
            totals: HashMap::new(),
            key: Vec::new(),
            evaluations: 0,
            mappings: 0,
        }
    }

    /// What mappings minimize (energy by default).
    pub fn with_objective(mut self, objective: Objective) -> Self {
        self.objective = objective;
        self
    }

    /// Maps every format at its best for each of `points` (anchors): every later
    /// evaluation, wherever it lies, is priced with the best of the mappings found for them.
    /// An analysis passes points spread over the range of activity it walks (see
    /// [`crate::twin::Family::anchors`]), the same whichever rates a pipeline lists.
    pub fn with_anchors(mut self, points: &[OperatingPoint]) -> Self {
        self.anchors = points
            .iter()
            .map(|p| snnergy_core::activity::layer_activities(self.network, p, self.coding))
            .collect();
        self.mapped.clear();
        self.listed.clear();
        self.totals.clear();
        self
    }

    /// Starts each format's searches from the mappings `other` made (a related evaluation:
    /// the same network on the same chip with other prices or parameters), proving them
    /// locally optimal or improving them, instead of searching from scratch.
    pub fn with_warm_starts(mut self, other: &'a Evaluator<'_>) -> Self {
        self.warm = other
            .mapped
            .iter()
            .map(|(f, m)| (*f, m.as_ref() as &'a dyn Mapped))
            .collect();
        self
    }

    /// How many anchor activities each format is mapped at its best for.
    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    /// Layer evaluations performed so far (one layer × format × architecture each).
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Networks mapped so far (one per format, plus every [`Evaluator::remap`]).
    pub fn mappings(&self) -> u64 {
        self.mappings
    }

    /// The network it evaluates.
    pub fn network(&self) -> &'a Network {
        self.network
    }

    /// Every price looked up so far, with the place it was asked for.
    pub fn prices(&self) -> &HashMap<(Place, ActionKind), Price> {
        &self.prices
    }

    /// The mapping of each layer in `format` that prices `point` (empty before the format
    /// was evaluated, and for architectures whose rules are their mapping).
    pub fn layer_mappings(&self, format: &Format, point: &OperatingPoint) -> Vec<LayerMapping> {
        let activity = snnergy_core::activity::layer_activities(self.network, point, self.coding);
        self.mapped
            .iter()
            .find(|(f, _)| f == format)
            .map(|(_, m)| m.layers_at(&activity))
            .unwrap_or_default()
    }

    /// The activity of each layer at `point`, as the evaluator prices it.
    pub fn activities(&self, point: &OperatingPoint) -> Vec<LayerActivity> {
        snnergy_core::activity::layer_activities(self.network, point, self.coding)
    }

    /// The network as mapped in `format` (`None` before the format was evaluated).
    pub fn mapped(&self, format: &Format) -> Option<&(dyn Mapped + 'a)> {
        self.mapped
            .iter()
            .find(|(f, _)| f == format)
            .map(|(_, m)| m.as_ref())
    }

    fn map_at(&mut self, format: &Format) -> Result<usize, Error> {
        let warm = self.warm.iter().find(|(f, _)| f == format).map(|(_, m)| *m);
        let request = MapRequest {
            network: self.network,
            format,
            activity: self.anchors.first().unwrap_or(&self.activity),
            anchors: &self.anchors,
            warm,
            energy: self.energy,
            objective: self.objective,
        };
        let m = map_network(self.arch, &request)?;
        self.mappings += 1;
        self.mapped.push((*format, m));
        self.listed
            .push(vec![Vec::new(); self.network.layers.len()]);
        Ok(self.mapped.len() - 1)
    }

    /// Total energy in pJ of one inference in `format` at `point`.
    pub fn total(&mut self, format: &Format, point: &OperatingPoint) -> Result<f64, Error> {
        Ok(self.remembered(format, point)?.0)
    }

    /// Energy with per-layer, per-category, per-class and per-level detail and latency.
    pub fn detailed(
        &mut self,
        format: &Format,
        point: &OperatingPoint,
    ) -> Result<NetworkEnergy, Error> {
        let n = self.network.layers.len();
        let mut detail = NetworkEnergy {
            per_layer: vec![0.0; n],
            per_layer_category: vec![[0.0; NCATEGORIES]; n],
            per_layer_latency_ns: vec![0.0; n],
            per_layer_level: vec![Vec::new(); n],
            ..Default::default()
        };
        detail.total_pj = self.run(format, point, Some(&mut detail))?;
        Ok(detail)
    }

    /// Energy and latency (ns) of one inference: what energy × delay needs.
    pub fn total_and_latency(
        &mut self,
        format: &Format,
        point: &OperatingPoint,
    ) -> Result<(f64, f64), Error> {
        self.remembered(format, point)
    }

    /// Total and latency of one inference, evaluated once per mapped format and activity.
    fn remembered(&mut self, format: &Format, point: &OperatingPoint) -> Result<(f64, f64), Error> {
        layer_activities_into(self.network, point, self.coding, &mut self.activity);
        let at = self.mapped_index(format)?;
        self.key.clear();
        self.key.push(at as u64);
        for a in &self.activity {
            self.key.extend([
                a.input_rate.to_bits(),
                a.input_nonzero.to_bits(),
                a.output_rate.to_bits(),
                a.output_nonzero.to_bits(),
                a.analog_input as u64,
                a.source_rate.to_bits(),
                a.source_nonzero.to_bits(),
            ]);
        }
        if let Some(&(total, ns)) = self.totals.get(self.key.as_slice()) {
            self.check_total(format, point, total)?;
            return Ok((total, ns));
        }
        let total = self.run(format, point, None)?;
        let ns: f64 = self.actions.iter().map(|a| a.latency_ns()).sum();
        self.totals.insert(self.key.clone(), (total, ns));
        Ok((total, ns))
    }

    /// Where `format`'s mapped network is kept, mapping it first if it is not yet.
    fn mapped_index(&mut self, format: &Format) -> Result<usize, Error> {
        match self.mapped.iter().position(|(f, _)| f == format) {
            Some(i) => Ok(i),
            None => self.map_at(format),
        }
    }

    fn run(
        &mut self,
        format: &Format,
        point: &OperatingPoint,
        mut detail: Option<&mut NetworkEnergy>,
    ) -> Result<f64, Error> {
        layer_activities_into(self.network, point, self.coding, &mut self.activity);
        for a in &mut self.actions {
            a.clear();
        }
        let at = self.mapped_index(format)?;
        self.mapped[at]
            .1
            .evaluate(&self.activity, &mut self.actions)?;
        self.evaluations += self.network.layers.len() as u64;
        let mut total = 0.0;
        for i in 0..self.actions.len() {
            let layer_total = self.price_layer(at, i, detail.as_deref_mut())?;
            if let Some(d) = detail.as_deref_mut() {
                let ns = self.actions[i].latency_ns();
                d.per_layer[i] = layer_total;
                d.per_layer_latency_ns[i] = ns;
                d.latency_ns += ns;
            }
            total += layer_total;
        }
        self.check_total(format, point, total)?;
        Ok(total)
    }

    /// Prices layer `i`'s actions in mapped format `at` (caching each price), adding the
    /// detail where asked.
    fn price_layer(
        &mut self,
        at: usize,
        i: usize,
        mut detail: Option<&mut NetworkEnergy>,
    ) -> Result<f64, Error> {
        let mut layer_total = 0.0;
        for k in 0..self.actions[i].as_slice().len() {
            let action = self.actions[i].as_slice()[k];
            if !(action.count.is_finite() && action.count >= 0.0) {
                return Err(ArchError::Layer {
                    architecture: self.label.to_string(),
                    layer: self.network.layers[i].name.clone(),
                    message: format!(
                        "counted {} × `{}` ({}): counts must be finite and non-negative",
                        action.count,
                        action.kind,
                        action.category.name()
                    ),
                }
                .into());
            }
            let e = self.listed_price(at, i, k, action.place, action.kind)? * action.count;
            layer_total += e;
            if let Some(d) = detail.as_deref_mut() {
                if let Some(key) = AccessKey::of(&action.kind) {
                    d.accesses.add(key, action.count);
                }
                d.by_category[action.category.index()] += e;
                d.per_layer_category[i][action.category.index()] += e;
                *d.by_class.entry(action.kind.class()).or_insert(0.0) += e;
                let place = if action.place.is_none() {
                    action.kind.class().name()
                } else {
                    action.place.as_str()
                };
                add_to(&mut d.by_level, place, e);
                add_to(&mut d.per_layer_level[i], place, e);
            }
        }
        Ok(layer_total)
    }

    /// pJ of action `k` of layer `i` in mapped format `at`: the price listed for it last time
    /// when it is the same action, else looked up (and listed).
    fn listed_price(
        &mut self,
        at: usize,
        i: usize,
        k: usize,
        place: Place,
        kind: ActionKind,
    ) -> Result<f64, Error> {
        if let Some((p, q, pj)) = self.listed[at][i].get(k)
            && *p == place
            && *q == kind
        {
            return Ok(*pj);
        }
        let pj = self.price(i, place, kind)?;
        let list = &mut self.listed[at][i];
        list.truncate(k);
        list.push((place, kind, pj));
        Ok(pj)
    }

    /// pJ of one `kind` at `place`, from the cache or the energy model (which must give a
    /// finite, non-negative price); `i` is the layer asking, for the error.
    fn price(&mut self, i: usize, place: Place, kind: ActionKind) -> Result<f64, Error> {
        if let Some(p) = self.prices.get(&(place, kind)) {
            return Ok(p.pj);
        }
        let p = self.energy.price_at(place, &kind).map_err(|mut e| {
            e.reason = format!(
                "{} (needed by architecture `{}` on layer `{}`)",
                e.reason, self.label, self.network.layers[i].name
            );
            e
        })?;
        if !(p.pj.is_finite() && p.pj >= 0.0) {
            return Err(Error::InvalidResult(format!(
                "energy model `{}` priced `{kind}` at {} pJ: prices must be finite and non-negative",
                self.energy.name(),
                p.pj
            )));
        }
        let pj = p.pj;
        self.prices.insert((place, kind), p);
        Ok(pj)
    }

    /// A silent network (no spikes, or no non-zero activation, as break-even searches under
    /// twin consistency start from) may cost nothing on a model that charges only per event;
    /// anything else that costs nothing is a broken model.
    fn check_total(
        &self,
        format: &Format,
        point: &OperatingPoint,
        total: f64,
    ) -> Result<(), Error> {
        let silent = match format {
            Format::Snn(_) => point.mean_spike_rate(self.network) == 0.0,
            Format::Qnn(_) => point.mean_nonzero(self.network) == 0.0,
        };
        if total.is_finite() && (total > 0.0 || (silent && total == 0.0)) {
            return Ok(());
        }
        Err(Error::InvalidResult(format!(
            "architecture `{}` gives {total} pJ for network `{}` ({}): an inference cannot cost nothing; check the architecture's actions and the prices",
            self.label,
            self.network.name,
            match format {
                Format::Snn(s) => format!("SNN, T = {}", s.timesteps),
                Format::Qnn(q) => format!("QNN, {}-bit activations", q.activation_bits),
            }
        )))
    }
}
