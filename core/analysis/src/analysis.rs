//! The analysis: SNN against its baseline on each architecture, per layer and in total; the
//! break-even spike rate per T by root finding; sweeps over spike rate.
//!
//! Everything here is deterministic: same inputs, same bytes out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use snnergy_core::action::{
    AccessKey, ActionKind, Actions, Category, NCATEGORIES, Place, PriceClass,
};
use snnergy_core::activity::{LayerActivity, OperatingPoint, layer_activities_into};
use snnergy_core::energy::{EnergyModel, Price};
use snnergy_core::error::{ArchError, ConfigError, Error};
use snnergy_core::format::Format;
use snnergy_core::mapping::{LayerMapping, MapRequest, Mapped, Objective};
use snnergy_core::network::{InputCoding, Network};
use snnergy_core::report::{
    AccessCounts, ArchitectureSummary, BreakEven, BreakEvenStatus, ByAccess, ByCategory, ByClass,
    Comparison, LayerComparison, Measured, Metrics, PriceRow, Report, SourceRow, Sweep, Verdict,
    WorkloadSummary,
};
use snnergy_core::settings::{AnalysisSettings, Baseline, NeuronModel, TwinMode};

use crate::twin::{
    Family, LevelBreakEven, level_breakeven, mean_level as twin_mean_level, twin_exists,
};
use snnergy_core::traits::{
    ActivityContext, ActivitySource, Architecture, Assumption, map_network,
};

/// An architecture with the energy model that prices it.
#[derive(Debug, Clone)]
pub struct ArchSlot {
    /// Label in reports (the `name` key, or the type name).
    pub label: String,
    /// Registered type name.
    pub type_name: String,
    /// The architecture.
    pub arch: Arc<dyn Architecture>,
    /// Its energy model.
    pub energy: Arc<dyn EnergyModel>,
    /// The parameter table it was built from (without `type`, `name`, `energy`), so studies
    /// can rebuild it with one parameter changed; `None` when it was built in code.
    pub params: Option<toml::Table>,
}

/// A workload's network with its label.
#[derive(Debug, Clone)]
pub struct WorkloadSlot {
    /// Label in reports.
    pub label: String,
    /// The network.
    pub network: Network,
}

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

/// Evaluates one architecture on one network: maps the network once per format (at the first
/// activity it is asked about, or where [`Evaluator::remap`] says), then evaluates the mapping
/// at every activity and prices the actions, caching prices. Not thread-safe; make one per
/// thread.
pub struct Evaluator<'a> {
    label: &'a str,
    arch: &'a dyn Architecture,
    energy: &'a dyn EnergyModel,
    network: &'a Network,
    coding: InputCoding,
    objective: Objective,
    actions: Vec<Actions>,
    activity: Vec<LayerActivity>,
    mapped: Vec<(Format, Box<dyn Mapped + 'a>)>,
    prices: HashMap<(Place, ActionKind), Price>,
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
            mapped: Vec::new(),
            prices: HashMap::new(),
            evaluations: 0,
            mappings: 0,
        }
    }

    /// What mappings minimize (energy by default).
    pub fn with_objective(mut self, objective: Objective) -> Self {
        self.objective = objective;
        self
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

    /// Maps the network in `format` again, for the activity of `point` (a break-even
    /// crossing): later evaluations in `format` use the new mapping.
    pub fn remap(&mut self, format: &Format, point: &OperatingPoint) -> Result<(), Error> {
        self.mapped.retain(|(f, _)| f != format);
        layer_activities_into(self.network, point, self.coding, &mut self.activity);
        self.map_at(format)?;
        Ok(())
    }

    /// The mapping of each layer in `format` (empty before the format was evaluated, and for
    /// architectures whose rules are their mapping).
    pub fn layer_mappings(&self, format: &Format) -> Vec<LayerMapping> {
        self.mapped
            .iter()
            .find(|(f, _)| f == format)
            .map(|(_, m)| m.layers())
            .unwrap_or_default()
    }

    /// The network as mapped in `format` (`None` before the format was evaluated).
    pub fn mapped(&self, format: &Format) -> Option<&(dyn Mapped + 'a)> {
        self.mapped
            .iter()
            .find(|(f, _)| f == format)
            .map(|(_, m)| m.as_ref())
    }

    fn map_at(&mut self, format: &Format) -> Result<usize, Error> {
        let request = MapRequest {
            network: self.network,
            format,
            activity: &self.activity,
            energy: self.energy,
            objective: self.objective,
        };
        let m = map_network(self.arch, &request)?;
        self.mappings += 1;
        self.mapped.push((*format, m));
        Ok(self.mapped.len() - 1)
    }

    /// Total energy in pJ of one inference in `format` at `point`.
    pub fn total(&mut self, format: &Format, point: &OperatingPoint) -> Result<f64, Error> {
        self.run(format, point, None)
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
        let e = self.run(format, point, None)?;
        let ns: f64 = self.actions.iter().map(|a| a.latency_ns()).sum();
        Ok((e, ns))
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
        let at = match self.mapped.iter().position(|(f, _)| f == format) {
            Some(i) => i,
            None => self.map_at(format)?,
        };
        self.mapped[at]
            .1
            .evaluate(&self.activity, &mut self.actions)?;
        self.evaluations += self.network.layers.len() as u64;
        let mut total = 0.0;
        for (i, actions) in self.actions.iter().enumerate() {
            let mut layer_total = 0.0;
            for action in actions.as_slice() {
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
                let pj = match self.prices.get(&(action.place, action.kind)) {
                    Some(p) => p.pj,
                    None => {
                        let p =
                            self.energy
                                .price_at(action.place, &action.kind)
                                .map_err(|mut e| {
                                    e.reason = format!(
                                        "{} (needed by architecture `{}` on layer `{}`)",
                                        e.reason, self.label, self.network.layers[i].name
                                    );
                                    e
                                })?;
                        if !(p.pj.is_finite() && p.pj >= 0.0) {
                            return Err(Error::InvalidResult(format!(
                                "energy model `{}` priced `{}` at {} pJ: prices must be finite and non-negative",
                                self.energy.name(),
                                action.kind,
                                p.pj
                            )));
                        }
                        let pj = p.pj;
                        self.prices.insert((action.place, action.kind), p);
                        pj
                    }
                };
                let e = pj * action.count;
                layer_total += e;
                if let Some(d) = detail.as_deref_mut() {
                    if let Some(k) = AccessKey::of(&action.kind) {
                        d.accesses.add(k, action.count);
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
            if let Some(d) = detail.as_deref_mut() {
                d.per_layer[i] = layer_total;
                d.per_layer_latency_ns[i] = actions.latency_ns();
                d.latency_ns += actions.latency_ns();
            }
            total += layer_total;
        }
        // A silent network (no spikes, or no non-zero activation, as break-even searches
        // under twin consistency start from) may cost nothing on a model that charges only
        // per event; anything else that costs nothing is a broken model.
        let silent = match format {
            Format::Snn(_) => point.mean_spike_rate(self.network) == 0.0,
            Format::Qnn(_) => point.mean_nonzero(self.network) == 0.0,
        };
        if !(total.is_finite() && (total > 0.0 || (silent && total == 0.0))) {
            return Err(Error::InvalidResult(format!(
                "architecture `{}` gives {total} pJ for network `{}` ({}): an inference cannot cost nothing; check the architecture's actions and the prices",
                self.label,
                self.network.name,
                match format {
                    Format::Snn(s) => format!("SNN, T = {}", s.timesteps),
                    Format::Qnn(q) => format!("QNN, {}-bit activations", q.activation_bits),
                }
            )));
        }
        Ok(total)
    }
}

/// Where the SNN's energy crosses the baseline's along a one-parameter family of activity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Crossing {
    /// The SNN costs more all along the family.
    NeverWins,
    /// The SNN costs less all along the family.
    AlwaysWins,
    /// The SNN wins up to `alpha` and stops winning there.
    At(f64),
    /// The SNN loses up to `alpha` and wins beyond it: a baseline whose cost grows faster
    /// with activity than the SNN's (twin consistency can do that) is overtaken.
    WinsAbove(f64),
}

/// Finds the first `alpha` in `[0, alpha_max]` where the sign of `g(alpha) = E_snn −
/// E_baseline` changes. Works for any architecture: a coarse scan brackets the first sign
/// change (so a non-monotone curve still yields its first crossing) and bisection refines it.
pub fn find_crossing(
    alpha_max: f64,
    mut g: impl FnMut(f64) -> Result<f64, Error>,
) -> Result<Crossing, Error> {
    const SCAN: usize = 32;
    let wins_at_zero = g(0.0)? <= 0.0;
    let mut lo = 0.0;
    let mut hi = None;
    for i in 1..=SCAN {
        let a = alpha_max * i as f64 / SCAN as f64;
        if (g(a)? <= 0.0) != wins_at_zero {
            hi = Some(a);
            break;
        }
        lo = a;
    }
    let Some(mut hi) = hi else {
        return Ok(if wins_at_zero {
            Crossing::AlwaysWins
        } else {
            Crossing::NeverWins
        });
    };
    // Bisection to the resolution of f64: 64 halvings of a bracket of at most alpha_max.
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if (g(mid)? <= 0.0) == wins_at_zero {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let a = 0.5 * (lo + hi);
    Ok(if wins_at_zero {
        Crossing::At(a)
    } else {
        Crossing::WinsAbove(a)
    })
}

pub use crate::twin::activity_shape;

/// Runs the whole analysis.
pub fn analyze(
    settings: &AnalysisSettings,
    workloads: &[WorkloadSlot],
    architectures: &[ArchSlot],
    activity: &dyn ActivitySource,
    base_dir: &Path,
) -> Result<Report, Error> {
    settings.validate()?;
    if workloads.is_empty() {
        return Err(ConfigError::new("the pipeline has no workload")
            .at_key("workload")
            .into());
    }
    if architectures.is_empty() {
        return Err(ConfigError::new("the pipeline has no architecture")
            .at_key("architecture")
            .into());
    }
    let mut report = Report::new(settings);
    for w in workloads {
        w.network.validate()?;
        if w.network.totals().synapses == 0 {
            return Err(ConfigError::new(format!(
                "workload `{}` has no convolution or linear layer: it has no synapses whose energy could be compared",
                w.label
            ))
            .at_key("workload")
            .into());
        }
    }
    crate::budget::check_run(settings, workloads, architectures, activity)?;
    for w in workloads {
        report
            .workloads
            .push(WorkloadSummary::of(&w.label, &w.network));
    }
    report.assumptions.extend(analysis_assumptions(settings));
    report.assumptions.extend(activity.assumptions());
    for slot in architectures {
        report.architectures.push(ArchitectureSummary {
            name: slot.label.clone(),
            type_name: slot.type_name.clone(),
            energy_model: slot.energy.name().to_string(),
            assumptions: slot.arch.assumptions(),
        });
    }

    for w in workloads {
        let net = &w.network;
        let mut points_cache: Option<Vec<OperatingPoint>> = None;
        for &t in &settings.timesteps {
            let snn = settings.snn_format(t);
            let base = settings.baseline_format(t);
            for f in [&snn, &base] {
                f.validate()
                    .map_err(|m| ConfigError::new(m).at_key("analysis"))?;
            }
            let points = match &points_cache {
                Some(p) if !activity.depends_on_timesteps() => p.clone(),
                _ => {
                    let p = operating_points(settings, activity, w, t, base_dir)?;
                    points_cache = Some(p.clone());
                    p
                }
            };
            for point in &points {
                if let Some(provenance) = &point.provenance {
                    report.measured.push(Measured {
                        workload: w.label.clone(),
                        timesteps: t,
                        operating_point: point.label.clone(),
                        provenance: provenance.clone(),
                    });
                }
            }
            let mut metrics: Vec<Metrics> = points
                .iter()
                .map(|p| crate::metrics::operations(settings, &w.label, net, t, p))
                .collect();
            let family = Family::new(settings, net, &points[0], t, 1.0);
            for slot in architectures {
                slot.arch.check(net, &snn)?;
                slot.arch.check(net, &base)?;
                let energy = slot.arch.priced_by(slot.energy.as_ref());
                let mut ev = Evaluator::new(
                    &slot.label,
                    slot.arch.as_ref(),
                    energy.as_ref(),
                    net,
                    settings.input_coding,
                );
                for (point, m) in points.iter().zip(&mut metrics) {
                    // Each operating point is judged on mappings chosen for it.
                    ev.remap(&snn, point)?;
                    ev.remap(&base, point)?;
                    let s = ev.detailed(&snn, point)?;
                    let b = ev.detailed(&base, point)?;
                    m.accesses.push(AccessCounts {
                        architecture: slot.label.clone(),
                        snn: s.accesses.clone(),
                        baseline: b.accesses.clone(),
                    });
                    let maps = (ev.layer_mappings(&snn), ev.layer_mappings(&base));
                    let c =
                        comparison(settings, &slot.label, w, t, point, &s, &b, &maps.0, &maps.1);
                    if c.verdict == Verdict::NoTwin {
                        report.warn(format!(
                            "`{}` at T = {t} (spike rate {}, ρ = {}) lies outside the twin bound r ≤ ρ ≤ min(1, r·T): no twin exists there, so it gets no verdict",
                            point.label,
                            percent(c.spike_rate),
                            round_sig(c.nonzero)
                        ));
                    }
                    report.comparisons.push(c);
                }
                if settings.breakeven {
                    // The break-even is found from the first operating point's mappings,
                    // then with both formats mapped again at each crossing.
                    ev.remap(&snn, &points[0])?;
                    ev.remap(&base, &points[0])?;
                    let found = crate::mapped::breakeven(&mut ev, net, &snn, &base, &family)?;
                    let level = level_breakeven(&mut ev, &points[0], t, &snn, &base)?;
                    let mut row =
                        breakeven_row(&slot.label, w, t, settings, &family, found.crossing, level);
                    row.mapped = found.mapped;
                    if row.twin_clamped {
                        report.warn(format!(
                            "{} on `{}` at T = {t}: at the break-even the stated L̄ would need ρ > 1, so ρ is clamped to 1 and the twin's mean level there is {}",
                            slot.label,
                            w.label,
                            row.mean_level.map(round_sig).unwrap_or_default()
                        ));
                    }
                    if settings.baseline == Baseline::CapacityMatched
                        && row.mean_level.is_some_and(|l| l < 1.0 - 1e-9)
                    {
                        report.warn(format!(
                            "{} on `{}` at T = {t}: the break-even ({}, ρ = {}) lies outside the twin bound (L̄ = {} < 1): no twin exists at that crossing",
                            slot.label,
                            w.label,
                            percent(row.spike_rate.unwrap_or(0.0)),
                            round_sig(row.nonzero.unwrap_or(0.0)),
                            row.mean_level.map(round_sig).unwrap_or_default()
                        ));
                    }
                    report.breakeven.push(row);
                }
                if settings.sweep_points >= 2 {
                    let sweep = sweep(&mut ev, &family, &snn, &base, settings.sweep_points)?;
                    report.sweeps.push(Sweep {
                        architecture: slot.label.clone(),
                        workload: w.label.clone(),
                        timesteps: t,
                        baseline: settings.baseline_name(t),
                        ..sweep
                    });
                }
                record_prices(&mut report, energy.as_ref(), ev.prices());
            }
            report.metrics.extend(metrics);
        }
    }
    report.finish();
    Ok(report)
}

/// The activity source's operating points for workload `w` at `t`, checked.
pub fn operating_points(
    settings: &AnalysisSettings,
    activity: &dyn ActivitySource,
    w: &WorkloadSlot,
    t: u32,
    base_dir: &Path,
) -> Result<Vec<OperatingPoint>, Error> {
    let ctx = ActivityContext {
        base_dir,
        timesteps: t,
        input_coding: settings.input_coding,
        settings,
    };
    let points = activity.operating_points(&w.network, &ctx)?;
    for point in &points {
        point.validate(&w.network)?;
    }
    if points.is_empty() {
        return Err(Error::InvalidResult(format!(
            "the activity source produced no operating point for `{}`",
            w.label
        )));
    }
    Ok(points)
}

/// Where the SNN's energy stops being below the baseline's along `family`. Both energies are
/// evaluated at each point: under twin consistency the baseline's ρ moves with r.
pub fn search_breakeven(
    ev: &mut Evaluator<'_>,
    family: &Family,
    snn: &Format,
    base: &Format,
) -> Result<Crossing, Error> {
    let fixed_base = if family.is_consistent() {
        None
    } else {
        Some(ev.total(base, &family.at(0.0))?)
    };
    find_crossing(family.alpha_max(), |a| {
        let p = family.at(a);
        let e_base = match fixed_base {
            Some(e) => e,
            None => ev.total(base, &p)?,
        };
        Ok(ev.total(snn, &p)? - e_base)
    })
}

/// Energy of both formats at `points` evenly spaced points of `family` (labels left empty).
pub fn sweep(
    ev: &mut Evaluator<'_>,
    family: &Family,
    snn: &Format,
    base: &Format,
    points: u32,
) -> Result<Sweep, Error> {
    let n = points as usize;
    let net = ev.network();
    let mut out = Sweep {
        architecture: String::new(),
        workload: String::new(),
        timesteps: 0,
        baseline: String::new(),
        baseline_pj: Vec::with_capacity(n),
        spike_rates: Vec::with_capacity(n),
        nonzero: Vec::with_capacity(n),
        snn_pj: Vec::with_capacity(n),
    };
    for i in 0..n {
        let p = family.at(family.alpha_max() * i as f64 / (n - 1) as f64);
        out.spike_rates.push(p.mean_spike_rate(net));
        out.nonzero.push(p.mean_nonzero(net));
        out.snn_pj.push(ev.total(snn, &p)?);
        out.baseline_pj.push(ev.total(base, &p)?);
    }
    Ok(out)
}

/// `v` as a percentage with the digits a reader needs (`5 %`, `7.331 %`).
pub fn percent(v: f64) -> String {
    format!("{} %", round_sig(100.0 * v))
}

/// `v` with four significant digits and no binary noise (0.05000000000000001 reads 0.05).
pub fn round_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn analysis_assumptions(s: &AnalysisSettings) -> Vec<Assumption> {
    let mut v = vec![
        Assumption::new(
            "baseline",
            match s.baseline {
                Baseline::CapacityMatched => "capacity-matched QNN",
                Baseline::Ann8 => "8-bit ANN",
            },
            match s.baseline {
                Baseline::CapacityMatched => {
                    "⌈log2(T+1)⌉-bit activations: as many levels as 0..T spikes, so both compute the same values"
                }
                Baseline::Ann8 => "the v1 paper's baseline: 8-bit activations whatever T is",
            },
        ),
        Assumption::new("weight bits", s.weight_bits, "SNN and baseline"),
        Assumption::new("membrane bits", s.membrane_bits, "SNN membrane potential"),
        Assumption::new(
            "accumulator bits",
            s.accumulator_bits,
            "baseline partial sums",
        ),
        Assumption::new(
            "neuron",
            match s.neuron {
                NeuronModel::If => "IF".to_string(),
                NeuronModel::Lif => format!("LIF, leak {}", s.leak),
            },
            "reset by subtraction",
        ),
        Assumption::new(
            "input coding",
            match s.input_coding {
                InputCoding::Direct => "direct",
                InputCoding::Rate => "rate",
            },
            match s.input_coding {
                InputCoding::Direct => "the first layer sees the analog image every step",
                InputCoding::Rate => "the image is encoded as spike trains",
            },
        ),
    ];
    v.push(match s.twin {
        TwinMode::Consistent => Assumption::new(
            "twin",
            "consistent",
            "sweeps and break-even searches move the baseline's non-zero fraction with the spike rate, ρ = r·T/L̄ per layer, clamped to the twin bound r ≤ ρ ≤ min(1, r·T)",
        ),
        TwinMode::FixedNonzero => Assumption::new(
            "twin",
            "fixed-nonzero",
            "the baseline's non-zero fraction is held at the activity's ρ whatever the spike rate (the v1 paper's setting); a point outside the twin bound gets no verdict",
        ),
    });
    if s.twin == TwinMode::Consistent {
        v.push(Assumption::new(
            "mean level L̄",
            s.mean_level.to_text(),
            "spikes per non-zero twin activation where the activity does not measure it: activations spread evenly over the levels 1..T average (T+1)/2, and the shipped Fashion-MNIST network measures 3.1–4.1 per layer at T = 6 (0.58T overall)",
        ));
    }
    v.push(Assumption::new(
        "energy unit",
        "pJ per inference (one sample)",
        "per synapse where marked",
    ));
    v
}

#[allow(clippy::too_many_arguments)]
fn comparison(
    settings: &AnalysisSettings,
    arch: &str,
    w: &WorkloadSlot,
    t: u32,
    point: &OperatingPoint,
    s: &NetworkEnergy,
    b: &NetworkEnergy,
    snn_maps: &[LayerMapping],
    base_maps: &[LayerMapping],
) -> Comparison {
    let net = &w.network;
    let rate = point.mean_spike_rate(net);
    let nonzero = point.mean_nonzero(net);
    let synapses = net.totals().synapses as f64;
    let acts = snnergy_core::activity::layer_activities(net, point, settings.input_coding);
    let twin = match settings.baseline {
        Baseline::CapacityMatched => Some(twin_exists(rate, nonzero, t)),
        Baseline::Ann8 => None,
    };
    let breakdown = |by: &[f64; NCATEGORIES]| -> ByCategory {
        Category::ALL.iter().map(|c| (*c, by[c.index()])).collect()
    };
    let by_class =
        |m: &BTreeMap<PriceClass, f64>| -> ByClass { m.iter().map(|(k, v)| (*k, *v)).collect() };
    Comparison {
        architecture: arch.to_string(),
        workload: w.label.clone(),
        operating_point: point.label.clone(),
        timesteps: t,
        spike_rate: rate,
        sparsity: 1.0 - rate,
        nonzero,
        mean_level: twin_mean_level(net, point, t),
        baseline: settings.baseline_name(t),
        snn_pj: s.total_pj,
        baseline_pj: b.total_pj,
        ratio: s.total_pj / b.total_pj,
        verdict: Verdict::of(s.total_pj, b.total_pj, twin != Some(false)),
        snn_pj_per_synapse: s.total_pj / synapses,
        baseline_pj_per_synapse: b.total_pj / synapses,
        twin_consistent: twin,
        snn_breakdown: breakdown(&s.by_category),
        baseline_breakdown: breakdown(&b.by_category),
        snn_by_class: by_class(&s.by_class),
        baseline_by_class: by_class(&b.by_class),
        mapped: crate::mapped::network_mapped(net, s, b, snn_maps, base_maps),
        layers: net
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerComparison {
                layer: l.name.clone(),
                op: l.kind.op_name().to_string(),
                input_spike_rate: acts[i].input_rate,
                input_nonzero: acts[i].input_nonzero,
                snn_pj: s.per_layer[i],
                baseline_pj: b.per_layer[i],
                snn_breakdown: breakdown(&s.per_layer_category[i]),
                baseline_breakdown: breakdown(&b.per_layer_category[i]),
                mapped: crate::mapped::layer_mapped(i, &l.name, s, b, snn_maps, base_maps),
            })
            .collect(),
    }
}

/// The break-even row: the crossing as a mean spike rate, and the ρ and L̄ the family has
/// there.
pub fn breakeven_row(
    arch: &str,
    w: &WorkloadSlot,
    t: u32,
    settings: &AnalysisSettings,
    family: &Family,
    crossing: Crossing,
    level: LevelBreakEven,
) -> BreakEven {
    let net = &w.network;
    let (status, alpha) = match crossing {
        Crossing::NeverWins => (BreakEvenStatus::SnnNeverWins, None),
        Crossing::AlwaysWins => (BreakEvenStatus::SnnAlwaysWins, Some(family.alpha_max())),
        Crossing::At(a) => (BreakEvenStatus::Crossing, Some(a)),
        Crossing::WinsAbove(a) => (BreakEvenStatus::SnnWinsAbove, Some(a)),
    };
    let at = alpha.map(|a| (family.at(a), family.clamped_at(a)));
    let rate = at.as_ref().map(|(p, _)| p.mean_spike_rate(net));
    BreakEven {
        architecture: arch.to_string(),
        workload: w.label.clone(),
        timesteps: t,
        baseline: settings.baseline_name(t),
        spike_rate: rate,
        sparsity: rate.map(|r| 1.0 - r),
        nonzero: at.as_ref().map(|(p, _)| p.mean_nonzero(net)),
        mean_level: at.as_ref().and_then(|(p, _)| twin_mean_level(net, p, t)),
        twin: settings.twin.name().to_string(),
        twin_clamped: at.is_some_and(|(_, c)| c),
        status,
        level_rate: level.rate,
        level_status: level.status,
        level_breakeven: level.mean_level,
        level_nonzero: level.nonzero,
        mapped: Default::default(),
    }
}

fn record_prices(
    report: &mut Report,
    model: &dyn EnergyModel,
    prices: &HashMap<(Place, ActionKind), Price>,
) {
    let sources = model.sources();
    for s in &sources {
        let row = SourceRow {
            energy_model: model.name().to_string(),
            source: s.clone(),
        };
        if !report.sources.contains(&row) {
            report.sources.push(row);
        }
    }
    for ((place, kind), price) in prices {
        let row = PriceRow {
            energy_model: model.name().to_string(),
            action: if place.is_none() {
                kind.to_string()
            } else {
                format!("{kind} at {place}")
            },
            class: kind.class().name().to_string(),
            pj: price.pj,
            unit: kind.unit().to_string(),
            source: sources
                .get(price.source)
                .map(|s| s.key.clone())
                .unwrap_or_else(|| "?".into()),
            derivation: price.derivation.to_string(),
        };
        if !report
            .prices
            .iter()
            .any(|r| r.energy_model == row.energy_model && r.action == row.action)
        {
            report.prices.push(row);
        }
    }
}
