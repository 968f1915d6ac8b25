//! Where the SNN wins: every interval of spike rate along a family of operating points in
//! which the SNN costs less than its baseline, in energy and in energy × latency, with both
//! formats priced at their best at every probe.
//!
//! The search prices through the same [`Evaluator`] as the point comparisons, and the
//! evaluator's mappings are chosen at anchors fixed by the family alone (never by the rates a
//! pipeline lists), so a point comparison and the break-even can never disagree: both read
//! one function of the spike rate. That function need not be monotone (a format's best
//! mapping changes with density, a twin's cost can grow faster than the SNN's), so the search
//! scans the whole range and refines every sign change, reporting each interval.

use snnergy_core::error::Error;
use snnergy_core::format::Format;
use snnergy_core::mapping::LayerMapping;
use snnergy_core::network::Network;
use snnergy_core::report::{
    BreakEvenMapped, BreakEvenStatus, ByLevel, LayerMapped, LevelEnergy, NetworkMapped,
    RateInterval,
};

use crate::evaluator::{Evaluator, NetworkEnergy};
use crate::twin::Family;

/// Points of the scan along a family, besides 0 and the top: geometric from
/// [`SCAN_FLOOR`] of the top up (where answers live, low rates, get most of them), plus an
/// even grid.
const SCAN_GEOMETRIC: usize = 96;
const SCAN_LINEAR: usize = 16;
/// The lowest scanned point, as a fraction of the family's top: a crossing below it is
/// reported at its resolution.
const SCAN_FLOOR: f64 = 1e-5;
/// Bisection steps per sign change: the bracket shrinks to 2⁻⁴⁸ of the scan's spacing.
const BISECTION: usize = 48;
/// Whole-network evaluations of both formats one search makes, at most per sign change
/// beyond the scan: what budgets estimate.
pub const SCAN_EVALUATIONS: f64 = (SCAN_GEOMETRIC + SCAN_LINEAR + 2) as f64;
/// Bisection evaluations per crossing.
pub const BISECTION_EVALUATIONS: f64 = BISECTION as f64;

/// An interval of the family's parameter α in which the SNN wins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Win {
    /// Where it starts: 0, or a crossing.
    pub from: f64,
    /// Where it ends: the top of the family, or a crossing.
    pub to: f64,
}

/// Every interval of α in `[0, alpha_max]` where `g(α) = E_snn − E_baseline < 0` (the SNN
/// wins, as a point comparison says it), each end refined by bisection. `extra` points (the
/// evaluator's anchors) join the scan.
pub fn find_wins(
    alpha_max: f64,
    extra: &[f64],
    mut g: impl FnMut(f64) -> Result<f64, Error>,
) -> Result<Vec<Win>, Error> {
    let mut grid: Vec<f64> = vec![0.0, alpha_max];
    for i in 0..SCAN_GEOMETRIC {
        let f = SCAN_FLOOR.powf(1.0 - i as f64 / (SCAN_GEOMETRIC - 1) as f64);
        grid.push(alpha_max * f);
    }
    for i in 1..SCAN_LINEAR {
        grid.push(alpha_max * i as f64 / SCAN_LINEAR as f64);
    }
    grid.extend(extra.iter().copied().filter(|a| *a > 0.0 && *a < alpha_max));
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let mut wins = Vec::new();
    let mut open: Option<f64> = None;
    let mut prev: Option<(f64, bool)> = None;
    for &a in &grid {
        let here = g(a)? < 0.0;
        match prev {
            None if here => open = Some(a),
            Some((pa, pw)) if pw != here => {
                let edge = bisect(pa, a, pw, &mut g)?;
                if here {
                    open = Some(edge);
                } else if let Some(from) = open.take() {
                    wins.push(Win { from, to: edge });
                }
            }
            _ => {}
        }
        prev = Some((a, here));
    }
    if let Some(from) = open {
        wins.push(Win {
            from,
            to: alpha_max,
        });
    }
    Ok(wins)
}

/// The point between `lo` (where the SNN's winning is `wins_lo`) and `hi` where it changes.
fn bisect(
    mut lo: f64,
    mut hi: f64,
    wins_lo: bool,
    g: &mut impl FnMut(f64) -> Result<f64, Error>,
) -> Result<f64, Error> {
    for _ in 0..BISECTION {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if (g(mid)? < 0.0) == wins_lo {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// The classic reading of a set of winning intervals over `[0, alpha_max]`: one crossing
/// below which the SNN wins, above which it wins, never, always, or several intervals; with
/// the α the single figure stands at.
pub fn status_of(wins: &[Win], alpha_max: f64) -> (BreakEvenStatus, Option<f64>) {
    match wins {
        [] => (BreakEvenStatus::SnnNeverWins, None),
        [w] if w.from == 0.0 && w.to >= alpha_max => {
            (BreakEvenStatus::SnnAlwaysWins, Some(alpha_max))
        }
        [w] if w.from == 0.0 => (BreakEvenStatus::Crossing, Some(w.to)),
        [w] if w.to >= alpha_max => (BreakEvenStatus::SnnWinsAbove, Some(w.from)),
        _ => (BreakEvenStatus::SnnWinsWithin, None),
    }
}

/// The intervals as mean spike rates of the family's points.
pub fn rate_intervals(wins: &[Win], family: &Family, net: &Network) -> Vec<RateInterval> {
    wins.iter()
        .map(|w| RateInterval {
            from: if w.from == 0.0 {
                0.0
            } else {
                family.at(w.from).mean_spike_rate(net)
            },
            to: family.at(w.to).mean_spike_rate(net),
            reaches_top: w.to >= family.alpha_max(),
        })
        .collect()
}

/// Every interval along `family` where the SNN costs less energy than its baseline. Both
/// energies are evaluated at each point: under twin consistency the baseline's ρ moves with
/// r.
pub fn energy_wins(
    ev: &mut Evaluator<'_>,
    family: &Family,
    snn: &Format,
    base: &Format,
) -> Result<Vec<Win>, Error> {
    let fixed_base = if family.is_consistent() {
        None
    } else {
        Some(ev.total(base, &family.at(0.0))?)
    };
    find_wins(family.alpha_max(), &family.anchor_alphas(), |a| {
        let p = family.at(a);
        let e_base = match fixed_base {
            Some(e) => e,
            None => ev.total(base, &p)?,
        };
        Ok(ev.total(snn, &p)? - e_base)
    })
}

/// Every interval along `family` where the SNN's energy × latency is below its baseline's.
pub fn edp_wins(
    ev: &mut Evaluator<'_>,
    family: &Family,
    snn: &Format,
    base: &Format,
) -> Result<Vec<Win>, Error> {
    let fixed = if family.is_consistent() {
        None
    } else {
        let (eb, lb) = ev.total_and_latency(base, &family.at(0.0))?;
        Some(eb * lb)
    };
    find_wins(family.alpha_max(), &family.anchor_alphas(), |a| {
        let p = family.at(a);
        let target = match fixed {
            Some(t) => t,
            None => {
                let (eb, lb) = ev.total_and_latency(base, &p)?;
                eb * lb
            }
        };
        let (e, l) = ev.total_and_latency(snn, &p)?;
        Ok(e * l - target)
    })
}

fn by_level(v: &[(String, f64)]) -> ByLevel {
    v.iter()
        .map(|(level, pj)| LevelEnergy {
            level: level.clone(),
            pj: *pj,
        })
        .collect()
}

fn us(ns: f64) -> Option<f64> {
    (ns > 0.0).then_some(ns / 1000.0)
}

/// The dataflow carrying the most energy, with its share: "event-driven scatter, … (82 % of
/// the energy, 11 of 16 layers)".
pub fn dataflow_summary(
    maps: &[LayerMapping],
    energy: &NetworkEnergy,
    net: &Network,
) -> Option<String> {
    if maps.is_empty() {
        return None;
    }
    let mut families: Vec<(String, f64, usize)> = Vec::new();
    let mut total = 0.0;
    for m in maps {
        let e = net
            .layer_index(&m.layer)
            .and_then(|i| energy.per_layer.get(i).copied())
            .unwrap_or(0.0);
        total += e;
        match families.iter_mut().find(|(f, _, _)| *f == m.dataflow) {
            Some(f) => {
                f.1 += e;
                f.2 += 1;
            }
            None => families.push((m.dataflow.clone(), e, 1)),
        }
    }
    let (f, e, n) = families
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
    Some(format!(
        "{f} ({:.0} % of the mapped layers' energy, {n} of {} layers)",
        if total > 0.0 { 100.0 * e / total } else { 0.0 },
        maps.len()
    ))
}

/// The network-level figures of time and place for a comparison.
pub fn network_mapped(
    net: &Network,
    s: &NetworkEnergy,
    b: &NetworkEnergy,
    snn_maps: &[LayerMapping],
    base_maps: &[LayerMapping],
) -> NetworkMapped {
    let (ls, lb) = (us(s.latency_ns), us(b.latency_ns));
    let ratio = match (ls, lb) {
        (Some(x), Some(y)) => Some(x / y),
        _ => None,
    };
    NetworkMapped {
        snn_latency_us: ls,
        baseline_latency_us: lb,
        latency_ratio: ratio,
        edp_ratio: ratio.map(|r| r * s.total_pj / b.total_pj),
        snn_leakage_pj: s.leakage_pj(),
        baseline_leakage_pj: b.leakage_pj(),
        snn_by_level: by_level(&s.by_level),
        baseline_by_level: by_level(&b.by_level),
        snn_dataflow: dataflow_summary(snn_maps, s, net),
        baseline_dataflow: dataflow_summary(base_maps, b, net),
    }
}

/// Layer `i`'s figures of time and place.
pub fn layer_mapped(
    i: usize,
    layer: &str,
    s: &NetworkEnergy,
    b: &NetworkEnergy,
    snn_maps: &[LayerMapping],
    base_maps: &[LayerMapping],
) -> LayerMapped {
    let find = |maps: &[LayerMapping]| maps.iter().find(|m| m.layer == layer).cloned();
    LayerMapped {
        snn_latency_us: s.per_layer_latency_ns.get(i).copied().and_then(us),
        baseline_latency_us: b.per_layer_latency_ns.get(i).copied().and_then(us),
        snn_leakage_pj: s.layer_leakage_pj(i),
        baseline_leakage_pj: b.layer_leakage_pj(i),
        snn_by_level: s
            .per_layer_level
            .get(i)
            .map(|v| by_level(v))
            .unwrap_or_default(),
        baseline_by_level: b
            .per_layer_level
            .get(i)
            .map(|v| by_level(v))
            .unwrap_or_default(),
        snn_mapping: find(snn_maps),
        baseline_mapping: find(base_maps),
    }
}

/// The break-even along a family: every winning interval in energy and in energy × latency,
/// and the figures at the first crossing.
#[derive(Clone, Debug)]
pub struct BreakEvenFound {
    /// Where the SNN wins in energy.
    pub wins: Vec<Win>,
    /// Where it wins in energy × latency (`None` when the architecture models no time).
    pub edp_wins: Option<Vec<Win>>,
    /// What the crossing rests on.
    pub mapped: BreakEvenMapped,
}

/// The break-even along `family` (α in [0, its α max]; under twin consistency the baseline's
/// ρ moves with r, so both formats are evaluated at every point), each point priced with
/// each format's best mapping there.
pub fn breakeven(
    ev: &mut Evaluator<'_>,
    net: &Network,
    snn: &Format,
    base: &Format,
    family: &Family,
) -> Result<BreakEvenFound, Error> {
    let alpha_max = family.alpha_max();
    let wins = energy_wins(ev, family, snn, base)?;
    // The figures at the first crossing (or where the search ended).
    let at = match wins.first() {
        Some(w) if w.from > 0.0 => family.at(w.from),
        Some(w) if w.to < alpha_max => family.at(w.to),
        Some(_) => family.at(alpha_max),
        None => family.at(0.0),
    };
    let s = ev.detailed(snn, &at)?;
    let b = ev.detailed(base, &at)?;
    let at_crossing = network_mapped(
        net,
        &s,
        &b,
        &ev.layer_mappings(snn, &at),
        &ev.layer_mappings(base, &at),
    );
    let edp = if s.latency_ns > 0.0 && b.latency_ns > 0.0 {
        Some(edp_wins(ev, family, snn, base)?)
    } else {
        None
    };
    let (edp_spike_rate, edp_status, edp_intervals) = match &edp {
        None => (None, None, Vec::new()),
        Some(w) => {
            let (status, a) = status_of(w, alpha_max);
            (
                a.map(|a| family.at(a).mean_spike_rate(net)),
                Some(status),
                rate_intervals(w, family, net),
            )
        }
    };
    Ok(BreakEvenFound {
        wins,
        edp_wins: edp,
        mapped: BreakEvenMapped {
            edp_spike_rate,
            edp_status,
            edp_wins: edp_intervals,
            anchors: ev.anchor_count() as u32,
            at_crossing,
        },
    })
}
