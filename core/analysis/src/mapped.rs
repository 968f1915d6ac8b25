//! What mapping adds to an analysis: latency, leakage, energy by level and the dataflows in
//! the report; the break-even found again with both formats mapped at the crossing; the
//! break-even in energy × latency.
//!
//! Kept apart from the comparison itself so that how activity is swept (`analysis`) and how
//! mappings are followed (here) change independently.

use snnergy_core::error::Error;
use snnergy_core::format::Format;
use snnergy_core::mapping::LayerMapping;
use snnergy_core::network::Network;
use snnergy_core::report::{
    BreakEvenMapped, BreakEvenStatus, ByLevel, LayerMapped, LevelEnergy, NetworkMapped,
};

use crate::analysis::{Crossing, Evaluator, NetworkEnergy, find_crossing, search_breakeven};
use crate::twin::Family;

/// Re-mapping at the crossing stops when it moves less than this (spike rate, absolute).
pub const CROSSING_TOLERANCE: f64 = 1e-4;
/// At most this many mappings per format to find one crossing.
pub const MAX_ROUNDS: u32 = 4;

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

/// A break-even found with both formats mapped where it lies.
#[derive(Clone, Debug)]
pub struct MappedCrossing {
    /// The crossing in energy.
    pub crossing: Crossing,
    /// The crossing in energy × latency (`None` when the architecture models no time).
    pub edp: Option<Crossing>,
    /// What the crossing rests on.
    pub mapped: BreakEvenMapped,
}

/// The energy crossing along `family` with both formats mapped at the operating point first,
/// then again at each crossing found until it stops moving (see [`breakeven`]); with the number
/// of rounds and whether the architecture maps anything at all.
pub fn settled_crossing(
    ev: &mut Evaluator<'_>,
    net: &Network,
    snn: &Format,
    base: &Format,
    family: &Family,
) -> Result<(Crossing, u32, bool), Error> {
    let rate = |c: &Crossing| match c {
        Crossing::At(a) | Crossing::WinsAbove(a) => Some(family.at(*a).mean_spike_rate(net)),
        _ => None,
    };
    let mut crossing = search_breakeven(ev, family, snn, base)?;
    let mut rounds = 1;
    let maps_anything = !ev.layer_mappings(snn).is_empty() || !ev.layer_mappings(base).is_empty();
    while maps_anything && rounds < MAX_ROUNDS {
        let (Crossing::At(a) | Crossing::WinsAbove(a)) = crossing else {
            break;
        };
        let at = family.at(a);
        ev.remap(snn, &at)?;
        ev.remap(base, &at)?;
        rounds += 1;
        let next = search_breakeven(ev, family, snn, base)?;
        let moved = match (rate(&crossing), rate(&next)) {
            (Some(x), Some(y)) => (x - y).abs(),
            _ => f64::INFINITY,
        };
        crossing = next;
        if moved < CROSSING_TOLERANCE {
            break;
        }
    }
    Ok((crossing, rounds, maps_anything))
}

/// The break-even along `family` (α in [0, its α max]; under twin consistency the baseline's
/// ρ moves with r, so both formats are evaluated at every point), with the formats mapped at
/// the operating point first, then again at each crossing found (fixed-point iteration, at
/// most [`MAX_ROUNDS`] mappings per format, stopping when the crossing's mean spike rate moves
/// less than [`CROSSING_TOLERANCE`]). Architectures whose rules are their mapping need one
/// round.
pub fn breakeven(
    ev: &mut Evaluator<'_>,
    net: &Network,
    snn: &Format,
    base: &Format,
    family: &Family,
) -> Result<MappedCrossing, Error> {
    let alpha_max = family.alpha_max();
    let (crossing, rounds, maps_anything) = settled_crossing(ev, net, snn, base, family)?;
    // The crossing's own figures, with the mappings it was found with.
    let at = match crossing {
        Crossing::At(a) | Crossing::WinsAbove(a) => family.at(a),
        Crossing::AlwaysWins => family.at(alpha_max),
        Crossing::NeverWins => family.at(0.0),
    };
    let s = ev.detailed(snn, &at)?;
    let b = ev.detailed(base, &at)?;
    let at_crossing = network_mapped(
        net,
        &s,
        &b,
        &ev.layer_mappings(snn),
        &ev.layer_mappings(base),
    );
    let edp = if s.latency_ns > 0.0 && b.latency_ns > 0.0 {
        let fixed = if family.is_consistent() {
            None
        } else {
            let (eb, lb) = ev.total_and_latency(base, &family.at(0.0))?;
            Some(eb * lb)
        };
        Some(find_crossing(alpha_max, |a| {
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
        })?)
    } else {
        None
    };
    let (edp_spike_rate, edp_status) = match &edp {
        None => (None, None),
        Some(Crossing::NeverWins) => (None, Some(BreakEvenStatus::SnnNeverWins)),
        Some(Crossing::AlwaysWins) => (
            Some(family.at(alpha_max).mean_spike_rate(net)),
            Some(BreakEvenStatus::SnnAlwaysWins),
        ),
        Some(Crossing::At(a)) => (
            Some(family.at(*a).mean_spike_rate(net)),
            Some(BreakEvenStatus::Crossing),
        ),
        Some(Crossing::WinsAbove(a)) => (
            Some(family.at(*a).mean_spike_rate(net)),
            Some(BreakEvenStatus::SnnWinsAbove),
        ),
    };
    Ok(MappedCrossing {
        crossing,
        edp,
        mapped: BreakEvenMapped {
            edp_spike_rate,
            edp_status,
            rounds: if maps_anything { rounds } else { 0 },
            at_crossing,
        },
    })
}
