//! The analysis: SNN against its baseline on each architecture, per layer and in total; the
//! break-even spike rate per T by root finding; sweeps over spike rate.
//!
//! Everything here is deterministic: same inputs, same bytes out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use snnergy_core::action::{AccessKey, ActionKind, Actions, Category, PriceClass};
use snnergy_core::activity::{LayerActivity, OperatingPoint, layer_activities_into};
use snnergy_core::energy::{EnergyModel, Price};
use snnergy_core::error::{ArchError, ConfigError, Error};
use snnergy_core::format::Format;
use snnergy_core::network::{InputCoding, Network};
use snnergy_core::report::{
    AccessCounts, ArchitectureSummary, BreakEven, BreakEvenStatus, ByAccess, ByCategory, ByClass,
    Comparison, LayerComparison, Measured, Metrics, PriceRow, Report, SourceRow, Sweep,
    WorkloadSummary,
};
use snnergy_core::settings::{AnalysisSettings, Baseline, NeuronModel};
use snnergy_core::traits::{ActivityContext, ActivitySource, Architecture, Assumption};

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
    pub by_category: [f64; 6],
    /// By price class (memory level, operation), pJ.
    pub by_class: BTreeMap<PriceClass, f64>,
    /// Per layer and category, pJ.
    pub per_layer_category: Vec<[f64; 6]>,
    /// Memory accesses and transfers by level, counts.
    pub accesses: ByAccess,
}

/// Evaluates one architecture on one network, caching prices. Not thread-safe; make one per
/// thread.
#[derive(Debug)]
pub struct Evaluator<'a> {
    label: &'a str,
    arch: &'a dyn Architecture,
    energy: &'a dyn EnergyModel,
    network: &'a Network,
    coding: InputCoding,
    actions: Vec<Actions>,
    activity: Vec<LayerActivity>,
    prices: HashMap<ActionKind, Price>,
    evaluations: u64,
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
            actions: vec![Actions::new(); network.layers.len()],
            activity: Vec::with_capacity(network.layers.len()),
            prices: HashMap::new(),
            evaluations: 0,
        }
    }

    /// Layer evaluations performed so far (one layer × format × architecture each).
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Every price looked up so far.
    pub fn prices(&self) -> &HashMap<ActionKind, Price> {
        &self.prices
    }

    /// Total energy in pJ of one inference in `format` at `point`.
    pub fn total(&mut self, format: &Format, point: &OperatingPoint) -> Result<f64, Error> {
        self.run(format, point, None)
    }

    /// Energy with per-layer, per-category and per-class detail.
    pub fn detailed(
        &mut self,
        format: &Format,
        point: &OperatingPoint,
    ) -> Result<NetworkEnergy, Error> {
        let mut detail = NetworkEnergy {
            per_layer: vec![0.0; self.network.layers.len()],
            per_layer_category: vec![[0.0; 6]; self.network.layers.len()],
            ..Default::default()
        };
        detail.total_pj = self.run(format, point, Some(&mut detail))?;
        Ok(detail)
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
        self.arch
            .evaluate_network(self.network, format, &self.activity, &mut self.actions)?;
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
                let pj = match self.prices.get(&action.kind) {
                    Some(p) => p.pj,
                    None => {
                        let p = self.energy.price(&action.kind).map_err(|mut e| {
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
                        self.prices.insert(action.kind, p);
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
                }
            }
            if let Some(d) = detail.as_deref_mut() {
                d.per_layer[i] = layer_total;
            }
            total += layer_total;
        }
        if !(total.is_finite() && total > 0.0) {
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
    /// The SNN costs more even with no spikes at all.
    NeverWins,
    /// The SNN costs less even at the highest activity of the family.
    AlwaysWins,
    /// The SNN stops winning at `alpha`.
    At(f64),
}

/// Finds the smallest `alpha` in `[0, alpha_max]` where `g(alpha) = E_snn − E_baseline` turns
/// positive. Works for any architecture: a coarse scan brackets the first sign change (so a
/// non-monotone curve still yields its first crossing) and bisection refines it.
pub fn find_crossing(
    alpha_max: f64,
    mut g: impl FnMut(f64) -> Result<f64, Error>,
) -> Result<Crossing, Error> {
    const SCAN: usize = 32;
    let g0 = g(0.0)?;
    if g0 > 0.0 {
        return Ok(Crossing::NeverWins);
    }
    let mut lo = 0.0;
    let mut hi = None;
    for i in 1..=SCAN {
        let a = alpha_max * i as f64 / SCAN as f64;
        if g(a)? > 0.0 {
            hi = Some(a);
            break;
        }
        lo = a;
    }
    let Some(mut hi) = hi else {
        return Ok(Crossing::AlwaysWins);
    };
    // Bisection to the resolution of f64: 64 halvings of a bracket of at most alpha_max.
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if g(mid)? > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Crossing::At(0.5 * (lo + hi)))
}

/// The normalized shape of a point for break-even search: rates divided by the largest, so
/// `alpha` walks from silence to the highest layer firing every step. A point with no spikes
/// at all uses a uniform shape.
pub fn activity_shape(network: &Network, point: &OperatingPoint) -> (OperatingPoint, f64) {
    let explicit_rates = || {
        point
            .layers
            .iter()
            .zip(&point.explicit)
            .zip(&network.layers)
            .filter(|((_, e), l)| **e && l.neuron)
            .map(|((r, _), _)| r.spike_rate)
    };
    let max = explicit_rates().fold(0.0_f64, f64::max);
    if max <= 0.0 {
        let mut shape = point.clone();
        for (r, l) in shape.layers.iter_mut().zip(&network.layers) {
            if l.neuron {
                r.spike_rate = 1.0;
            }
        }
        shape.input.spike_rate = 1.0;
        return (shape, 1.0);
    }
    let min_positive = explicit_rates()
        .filter(|r| *r > 0.0)
        .fold(f64::INFINITY, f64::min);
    let mut shape = point.clone();
    for r in &mut shape.layers {
        r.spike_rate /= max;
    }
    shape.input.spike_rate /= max;
    (shape, max / min_positive)
}

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
                    let ctx = ActivityContext {
                        base_dir,
                        timesteps: t,
                        input_coding: settings.input_coding,
                    };
                    let p = activity.operating_points(net, &ctx)?;
                    for point in &p {
                        point.validate(net)?;
                    }
                    if p.is_empty() {
                        return Err(Error::InvalidResult(format!(
                            "the activity source produced no operating point for `{}`",
                            w.label
                        )));
                    }
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
            for slot in architectures {
                slot.arch.check(net, &snn)?;
                slot.arch.check(net, &base)?;
                let mut ev = Evaluator::new(
                    &slot.label,
                    slot.arch.as_ref(),
                    slot.energy.as_ref(),
                    net,
                    settings.input_coding,
                );
                for (point, m) in points.iter().zip(&mut metrics) {
                    let s = ev.detailed(&snn, point)?;
                    let b = ev.detailed(&base, point)?;
                    m.accesses.push(AccessCounts {
                        architecture: slot.label.clone(),
                        snn: s.accesses.clone(),
                        baseline: b.accesses.clone(),
                    });
                    report
                        .comparisons
                        .push(comparison(settings, &slot.label, w, t, point, &s, &b));
                }
                let (shape, alpha_max) = activity_shape(net, &points[0]);
                if settings.breakeven {
                    let e_base = ev.total(&base, &shape)?;
                    let crossing = find_crossing(alpha_max, |a| {
                        Ok(ev.total(&snn, &shape.scaled(a))? - e_base)
                    })?;
                    report.breakeven.push(breakeven_row(
                        &slot.label,
                        &w.label,
                        t,
                        &settings.baseline_name(t),
                        net,
                        &shape,
                        alpha_max,
                        crossing,
                    ));
                }
                if settings.sweep_points >= 2 {
                    let e_base = ev.total(&base, &shape)?;
                    let n = settings.sweep_points as usize;
                    let mut rates = Vec::with_capacity(n);
                    let mut snn_pj = Vec::with_capacity(n);
                    for i in 0..n {
                        let a = alpha_max * i as f64 / (n - 1) as f64;
                        let p = shape.scaled(a);
                        rates.push(p.mean_spike_rate(net));
                        snn_pj.push(ev.total(&snn, &p)?);
                    }
                    report.sweeps.push(Sweep {
                        architecture: slot.label.clone(),
                        workload: w.label.clone(),
                        timesteps: t,
                        baseline: settings.baseline_name(t),
                        baseline_pj: e_base,
                        spike_rates: rates,
                        snn_pj,
                    });
                }
                record_prices(&mut report, slot.energy.as_ref(), ev.prices());
            }
            report.metrics.extend(metrics);
        }
    }
    report.finish();
    Ok(report)
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
) -> Comparison {
    let net = &w.network;
    let rate = point.mean_spike_rate(net);
    let nonzero = point.mean_nonzero(net);
    let synapses = net.totals().synapses as f64;
    let acts = snnergy_core::activity::layer_activities(net, point, settings.input_coding);
    let twin = match settings.baseline {
        Baseline::CapacityMatched => {
            Some(nonzero + 1e-12 >= rate && nonzero <= (rate * t as f64).min(1.0) + 1e-12)
        }
        Baseline::Ann8 => None,
    };
    let breakdown = |by: &[f64; 6]| -> ByCategory {
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
        baseline: settings.baseline_name(t),
        snn_pj: s.total_pj,
        baseline_pj: b.total_pj,
        ratio: s.total_pj / b.total_pj,
        snn_wins: s.total_pj < b.total_pj,
        snn_pj_per_synapse: s.total_pj / synapses,
        baseline_pj_per_synapse: b.total_pj / synapses,
        twin_consistent: twin,
        snn_breakdown: breakdown(&s.by_category),
        baseline_breakdown: breakdown(&b.by_category),
        snn_by_class: by_class(&s.by_class),
        baseline_by_class: by_class(&b.by_class),
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
            })
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn breakeven_row(
    arch: &str,
    workload: &str,
    t: u32,
    baseline: &str,
    net: &Network,
    shape: &OperatingPoint,
    alpha_max: f64,
    crossing: Crossing,
) -> BreakEven {
    let (status, rate) = match crossing {
        Crossing::NeverWins => (BreakEvenStatus::SnnNeverWins, None),
        Crossing::AlwaysWins => (
            BreakEvenStatus::SnnAlwaysWins,
            Some(shape.scaled(alpha_max).mean_spike_rate(net)),
        ),
        Crossing::At(a) => (
            BreakEvenStatus::Crossing,
            Some(shape.scaled(a).mean_spike_rate(net)),
        ),
    };
    BreakEven {
        architecture: arch.to_string(),
        workload: workload.to_string(),
        timesteps: t,
        baseline: baseline.to_string(),
        spike_rate: rate,
        sparsity: rate.map(|r| 1.0 - r),
        status,
    }
}

fn record_prices(
    report: &mut Report,
    model: &dyn EnergyModel,
    prices: &HashMap<ActionKind, Price>,
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
    for (kind, price) in prices {
        let row = PriceRow {
            energy_model: model.name().to_string(),
            action: kind.to_string(),
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
