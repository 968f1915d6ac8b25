//! The analysis: SNN against its baseline on each architecture, per layer and in total; the
//! break-even spike rate per T by root finding; sweeps over spike rate.
//!
//! Everything here is deterministic: same inputs, same bytes out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use snnergy_core::action::{ActionKind, Category, NCATEGORIES, Place, PriceClass};
use snnergy_core::activity::OperatingPoint;
use snnergy_core::energy::{EnergyModel, Price};
use snnergy_core::error::{ConfigError, Error};
use snnergy_core::format::Format;
use snnergy_core::mapping::LayerMapping;
use snnergy_core::network::{InputCoding, Network};
use snnergy_core::report::{
    AccessCounts, ArchitectureSummary, BreakEven, ByCategory, ByClass, Comparison, LayerComparison,
    Measured, Metrics, PriceRow, Report, SourceRow, Sweep, Verdict, WorkloadSummary,
};
use snnergy_core::settings::{AnalysisSettings, Baseline, NeuronModel, TwinMode};
use snnergy_core::traits::{ActivityContext, ActivitySource, Assumption};

use crate::breakeven::{Win, rate_intervals, status_of};
use crate::evaluator::{Evaluator, NetworkEnergy};
use crate::slots::{ArchSlot, WorkloadSlot};
use crate::twin::{
    Family, LevelBreakEven, level_breakeven, mean_level as twin_mean_level, twin_exists,
};

pub use crate::twin::activity_shape;

/// Runs the whole analysis.
pub fn analyze(
    settings: &AnalysisSettings,
    workloads: &[WorkloadSlot],
    architectures: &[ArchSlot],
    activity: &dyn ActivitySource,
    base_dir: &Path,
) -> Result<Report, Error> {
    check_inputs(settings, workloads, architectures)?;
    crate::budget::check_run(settings, workloads, architectures, activity)?;
    let mut report = Report::new(settings);
    for w in workloads {
        report
            .workloads
            .push(WorkloadSummary::of(&w.label, &w.network));
    }
    report.assumptions.extend(analysis_assumptions(settings));
    report
        .assumptions
        .extend(workloads.iter().filter_map(layer_neurons));
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
        let mut points_cache: Option<Vec<OperatingPoint>> = None;
        let mut per_t = Vec::with_capacity(settings.timesteps.len());
        for &t in &settings.timesteps {
            let points = match &points_cache {
                Some(p) if !activity.depends_on_timesteps() => p.clone(),
                _ => {
                    let p = operating_points(settings, activity, w, t, base_dir)?;
                    points_cache = Some(p.clone());
                    p
                }
            };
            for f in [&settings.snn_format(t), &settings.baseline_format(t)] {
                f.validate()
                    .map_err(|m| ConfigError::new(m).at_key("analysis"))?;
            }
            let groups = families(settings, &w.network, &points, t);
            per_t.push((t, points, groups));
        }
        // Every (T, architecture) is independent: computed in parallel, then added to the
        // report in the order the pipeline lists them, so the bytes out do not depend on
        // which finished first.
        let jobs: Vec<(usize, &ArchSlot)> = (0..per_t.len())
            .flat_map(|i| architectures.iter().map(move |a| (i, a)))
            .collect();
        let results: Vec<Result<ArchResult, Error>> = jobs
            .par_iter()
            .map(|(i, slot)| {
                let (t, points, groups) = &per_t[*i];
                analyze_architecture(settings, w, *t, points, groups, slot)
            })
            .collect();
        let mut results = results.into_iter();
        for (t, points, _) in &per_t {
            add_timesteps(&mut report, settings, w, *t, points, &mut results)?;
        }
    }
    report.finish();
    Ok(report)
}

fn check_inputs(
    settings: &AnalysisSettings,
    workloads: &[WorkloadSlot],
    architectures: &[ArchSlot],
) -> Result<(), Error> {
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
    Ok(())
}

/// The operating points of one workload at one T, grouped by the family of activity each
/// lies on: points on one family share its anchors, hence its mappings. The first group is
/// the first point's, which break-even searches and sweeps walk.
fn families(
    settings: &AnalysisSettings,
    net: &Network,
    points: &[OperatingPoint],
    t: u32,
) -> Vec<(Family, Vec<usize>)> {
    let mut groups: Vec<(Family, Vec<usize>)> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let f = Family::new(settings, net, p, t, 1.0);
        match groups.iter_mut().find(|(g, _)| g.same_points(&f)) {
            Some((_, members)) => members.push(i),
            None => groups.push((f, vec![i])),
        }
    }
    groups
}

/// What one architecture gives at one T, before it joins the report.
struct ArchResult {
    /// Point comparisons with the index of their point.
    comparisons: Vec<(usize, Comparison)>,
    /// The accesses counted at each point, with its index.
    accesses: Vec<(usize, AccessCounts)>,
    breakeven: Option<BreakEven>,
    sweep: Option<Sweep>,
    warnings: Vec<String>,
    sources: Vec<SourceRow>,
    prices: Vec<PriceRow>,
}

/// Adds one T's results (one per architecture, taken from `results` in the pipeline's order)
/// to the report.
fn add_timesteps(
    report: &mut Report,
    settings: &AnalysisSettings,
    w: &WorkloadSlot,
    t: u32,
    points: &[OperatingPoint],
    results: &mut impl Iterator<Item = Result<ArchResult, Error>>,
) -> Result<(), Error> {
    let net = &w.network;
    for point in points {
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
    for _ in 0..report.architectures.len() {
        let r = results.next().expect("one result per architecture and T")?;
        for (i, a) in r.accesses {
            metrics[i].accesses.push(a);
        }
        for warning in r.warnings {
            report.warn(warning);
        }
        report
            .comparisons
            .extend(r.comparisons.into_iter().map(|(_, c)| c));
        report.breakeven.extend(r.breakeven);
        report.sweeps.extend(r.sweep);
        for s in r.sources {
            if !report.sources.contains(&s) {
                report.sources.push(s);
            }
        }
        for p in r.prices {
            if !report
                .prices
                .iter()
                .any(|q| q.energy_model == p.energy_model && q.action == p.action)
            {
                report.prices.push(p);
            }
        }
    }
    report.metrics.extend(metrics);
    Ok(())
}

/// One architecture at one T: every operating point compared, the break-even, the mean-level
/// break-even and the sweep, all priced by one evaluator per family of points.
fn analyze_architecture(
    settings: &AnalysisSettings,
    w: &WorkloadSlot,
    t: u32,
    points: &[OperatingPoint],
    groups: &[(Family, Vec<usize>)],
    slot: &ArchSlot,
) -> Result<ArchResult, Error> {
    let net = &w.network;
    let (snn, base) = (settings.snn_format(t), settings.baseline_format(t));
    slot.arch.check(net, &snn)?;
    slot.arch.check(net, &base)?;
    let energy = slot.arch.priced_by(slot.energy.as_ref());
    let mut out = ArchResult {
        comparisons: Vec::new(),
        accesses: Vec::new(),
        breakeven: None,
        sweep: None,
        warnings: Vec::new(),
        sources: Vec::new(),
        prices: Vec::new(),
    };
    for (gi, (family, members)) in groups.iter().enumerate() {
        let mut ev = Evaluator::new(
            &slot.label,
            slot.arch.as_ref(),
            energy.as_ref(),
            net,
            settings.input_coding,
        )
        .with_anchors(&family.anchors());
        for &i in members {
            let point = &points[i];
            let s = ev.detailed(&snn, point)?;
            let b = ev.detailed(&base, point)?;
            out.accesses.push((
                i,
                AccessCounts {
                    architecture: slot.label.clone(),
                    snn: s.accesses.clone(),
                    baseline: b.accesses.clone(),
                },
            ));
            let maps = (
                ev.layer_mappings(&snn, point),
                ev.layer_mappings(&base, point),
            );
            let c = comparison(settings, &slot.label, w, t, point, &s, &b, &maps.0, &maps.1);
            if c.verdict == Verdict::NoTwin {
                out.warnings.push(format!(
                    "`{}` at T = {t} (spike rate {}, ρ = {}) lies outside the twin bound r ≤ ρ ≤ min(1, r·T): no twin exists there, so it gets no verdict",
                    point.label,
                    percent(c.spike_rate),
                    round_sig(c.nonzero)
                ));
            }
            out.comparisons.push((i, c));
        }
        if gi == 0 {
            if settings.breakeven {
                let row = breakeven(&mut ev, settings, w, t, family, &points[0], &slot.label)?;
                out.warnings
                    .extend(breakeven_warnings(settings, &row, &w.label));
                out.breakeven = Some(row);
            }
            if settings.sweep_points >= 2 {
                let sweep = sweep(&mut ev, family, &snn, &base, settings.sweep_points)?;
                out.sweep = Some(Sweep {
                    architecture: slot.label.clone(),
                    workload: w.label.clone(),
                    timesteps: t,
                    baseline: settings.baseline_name(t),
                    ..sweep
                });
            }
        }
        let (sources, prices) = price_rows(energy.as_ref(), ev.prices());
        out.sources.extend(sources);
        out.prices.extend(prices);
    }
    // In the order the activity listed the points, whichever family each lies on.
    out.comparisons.sort_by_key(|(i, _)| *i);
    Ok(out)
}

/// The break-even row of one architecture at one T along `family`, with the mean-level
/// break-even at `point`.
fn breakeven(
    ev: &mut Evaluator<'_>,
    settings: &AnalysisSettings,
    w: &WorkloadSlot,
    t: u32,
    family: &Family,
    point: &OperatingPoint,
    label: &str,
) -> Result<BreakEven, Error> {
    let (snn, base) = (settings.snn_format(t), settings.baseline_format(t));
    let found = crate::breakeven::breakeven(ev, &w.network, &snn, &base, family)?;
    let level = level_breakeven(ev, point, t, &snn, &base)?;
    let mut row = breakeven_row(label, w, t, settings, family, &found.wins, level);
    row.mapped = found.mapped;
    Ok(row)
}

fn breakeven_warnings(settings: &AnalysisSettings, row: &BreakEven, workload: &str) -> Vec<String> {
    let t = row.timesteps;
    let mut out = Vec::new();
    if row.twin_clamped {
        out.push(format!(
            "{} on `{workload}` at T = {t}: at the break-even the stated L̄ would need ρ > 1, so ρ is clamped to 1 and the twin's mean level there is {}",
            row.architecture,
            row.mean_level.map(round_sig).unwrap_or_default()
        ));
    }
    if settings.baseline == Baseline::CapacityMatched
        && row.mean_level.is_some_and(|l| l < 1.0 - 1e-9)
    {
        out.push(format!(
            "{} on `{workload}` at T = {t}: the break-even ({}, ρ = {}) lies outside the twin bound (L̄ = {} < 1): no twin exists at that crossing",
            row.architecture,
            percent(row.spike_rate.unwrap_or(0.0)),
            round_sig(row.nonzero.unwrap_or(0.0)),
            row.mean_level.map(round_sig).unwrap_or_default()
        ));
    }
    out
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

/// Mean spike rates up to which a sweep is sampled densely: where verdicts live.
pub const SWEEP_DENSE_RATE: f64 = 0.2;

/// Energy of both formats along `family` (labels left empty): `points` evenly spaced points
/// over the whole family and as many again over mean spike rates up to
/// [`SWEEP_DENSE_RATE`], in increasing order, each priced exactly as a point comparison is.
pub fn sweep(
    ev: &mut Evaluator<'_>,
    family: &Family,
    snn: &Format,
    base: &Format,
    points: u32,
) -> Result<Sweep, Error> {
    let n = points as usize;
    let net = ev.network();
    let top = family.alpha_max();
    let unit = family.at(1.0).mean_spike_rate(net);
    let dense = if unit > 0.0 {
        (SWEEP_DENSE_RATE / unit).min(top)
    } else {
        top
    };
    let mut alphas: Vec<f64> = (0..n)
        .flat_map(|i| {
            let f = i as f64 / (n - 1) as f64;
            [top * f, dense * f]
        })
        .collect();
    alphas.sort_by(f64::total_cmp);
    alphas.dedup();
    let mut out = Sweep {
        architecture: String::new(),
        workload: String::new(),
        timesteps: 0,
        baseline: String::new(),
        baseline_pj: Vec::with_capacity(alphas.len()),
        spike_rates: Vec::with_capacity(alphas.len()),
        nonzero: Vec::with_capacity(alphas.len()),
        snn_pj: Vec::with_capacity(alphas.len()),
    };
    for a in alphas {
        let p = family.at(a);
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

/// The neurons of a workload whose layers have their own (a NIR graph's, a custom list's),
/// layer by layer: what each layer's epilogue is priced as.
fn layer_neurons(w: &WorkloadSlot) -> Option<Assumption> {
    let own: Vec<String> = w
        .network
        .layers
        .iter()
        .filter_map(|l| {
            let n = l.neuron_model.as_ref()?;
            let mut s = format!("{}: {}", l.name, n.model);
            if let Some(t) = n.threshold {
                s.push_str(&format!(", θ {t}"));
            }
            if let Some(r) = n.reset {
                s.push_str(match r {
                    snnergy_core::Reset::Subtract => ", reset by subtraction",
                    snnergy_core::Reset::Zero => ", reset to zero",
                });
            }
            Some(s)
        })
        .collect();
    if own.is_empty() {
        return None;
    }
    let rest = w
        .network
        .layers
        .iter()
        .any(|l| l.neuron && l.neuron_model.is_none());
    Some(Assumption::new(
        format!("neurons of {}", w.label),
        format!(
            "{}{}",
            own.join("; "),
            if rest {
                "; other layers: the analysis's neuron"
            } else {
                ""
            }
        ),
        "each layer's epilogue priced for its own neuron: a leak is one shift-and-subtract per neuron per step, a CubaLIF's synaptic current a second state read and written with two more operations, either reset one operation per spike",
    ))
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
        mapped: crate::breakeven::network_mapped(net, s, b, snn_maps, base_maps),
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
                mapped: crate::breakeven::layer_mapped(i, &l.name, s, b, snn_maps, base_maps),
            })
            .collect(),
    }
}

/// The break-even row: the winning intervals as mean spike rates, the single crossing that
/// describes them when one does, and the ρ and L̄ the family has there.
pub fn breakeven_row(
    arch: &str,
    w: &WorkloadSlot,
    t: u32,
    settings: &AnalysisSettings,
    family: &Family,
    wins: &[Win],
    level: LevelBreakEven,
) -> BreakEven {
    let net = &w.network;
    let (status, alpha) = status_of(wins, family.alpha_max());
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
        wins: rate_intervals(wins, family, net),
        level_rate: level.rate,
        level_status: level.status,
        level_breakeven: level.mean_level,
        level_nonzero: level.nonzero,
        mapped: Default::default(),
    }
}

/// The sources of `model` and a row per price it gave (`prices`, as an evaluator cached them).
fn price_rows(
    model: &dyn EnergyModel,
    prices: &HashMap<(Place, ActionKind), Price>,
) -> (Vec<SourceRow>, Vec<PriceRow>) {
    let sources = model.sources();
    let source_rows = sources
        .iter()
        .map(|s| SourceRow {
            energy_model: model.name().to_string(),
            source: s.clone(),
        })
        .collect();
    let rows = prices
        .iter()
        .map(|((place, kind), price)| PriceRow {
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
        })
        .collect();
    (source_rows, rows)
}
