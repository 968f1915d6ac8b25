//! Twin consistency: which baseline non-zero fraction ρ belongs to an SNN spike rate r.
//!
//! A rate-coded SNN converted from a QNN emits, per neuron, as many spikes over T steps as its
//! twin's activation level (0..T), so r·T = ρ·L̄, where L̄ ≥ 1 is the mean level of the twin's
//! non-zero activations. Any real twin therefore lies within r ≤ ρ ≤ min(1, r·T). A sweep or a
//! break-even search that moves r while holding ρ fixed compares the SNN with a twin that cannot
//! exist; by default ([`TwinMode::Consistent`]) the [`Family`] here moves ρ = r·T/L̄ with r, per
//! layer, with L̄ measured (an engine run or a profile's `mean_level`) or stated
//! (`[analysis] mean_level`). The fixed-ρ mode stays available by name for reproducing the
//! v1 paper, whose closed forms hold ρ at 0.45.

use snnergy_core::activity::OperatingPoint;
use snnergy_core::error::Error;
use snnergy_core::format::Format;
use snnergy_core::network::Network;
use snnergy_core::report::BreakEvenStatus;
use snnergy_core::settings::{AnalysisSettings, TwinMode};

use crate::evaluator::Evaluator;

/// Relative slack of the twin bound check, so a point on the bound (ρ = r·T computed in
/// floating point) is not declared impossible.
const BOUND_SLACK: f64 = 1e-9;

/// Whether a twin can exist at mean spike rate `rate` and mean non-zero fraction `nonzero`
/// with `timesteps` steps: r ≤ ρ ≤ min(1, r·T).
pub fn twin_exists(rate: f64, nonzero: f64, timesteps: u32) -> bool {
    let upper = (rate * timesteps as f64).min(1.0);
    nonzero >= rate * (1.0 - BOUND_SLACK) && nonzero <= upper * (1.0 + BOUND_SLACK) + 1e-15
}

/// The twin's non-zero fraction at spike rate `rate` and mean level `level` with `timesteps`
/// steps, clamped to the twin bound; the flag says whether the clamp bound (then the level
/// the twin really has is r·T/ρ, not `level`).
pub fn consistent_nonzero(rate: f64, level: f64, timesteps: u32) -> (f64, bool) {
    let t = timesteps as f64;
    let raw = rate * t / level;
    let hi = (rate * t).min(1.0);
    if raw > hi {
        (hi, true)
    } else if raw < rate {
        (rate, true)
    } else {
        (raw, false)
    }
}

/// The one-parameter family of operating points a sweep or a break-even search walks along:
/// every spike rate of a point scaled by `alpha` (its per-layer shape kept), and the
/// baseline's non-zero fractions either following (consistent) or held (fixed).
#[derive(Clone, Debug)]
pub struct Family {
    shape: OperatingPoint,
    alpha_max: f64,
    timesteps: u32,
    /// Per layer: the mean level L̄ the twin's non-zero activations keep along the family
    /// (`None`: ρ is held fixed).
    levels: Option<Vec<f64>>,
    /// L̄ of the rate-coded input.
    input_level: f64,
    /// The α of the anchors every format is mapped at (see [`Family::anchors`]).
    anchor_alphas: Vec<f64>,
}

/// Mean spike rates of the anchors a family's formats are mapped at: every half decade from
/// 0.1 % up. Mapped at each and priced with the best of them, a format is within a fraction
/// of a percent of a search at any rate between (measured on the shipped pipelines), and the
/// set depends on nothing a pipeline lists.
pub(crate) const ANCHOR_RATES: [f64; 7] = [
    1e-3,
    3.162_277_7e-3,
    1e-2,
    3.162_277_7e-2,
    0.1,
    0.316_227_77,
    1.0,
];

impl Family {
    /// The family through `point` at `timesteps`, as `settings` asks. `level_scale` multiplies
    /// the measured L̄s (the sensitivity study's knob, which scales the stated one in
    /// `settings`; 1 otherwise).
    pub fn new(
        settings: &AnalysisSettings,
        network: &Network,
        point: &OperatingPoint,
        timesteps: u32,
        level_scale: f64,
    ) -> Self {
        let (shape, alpha_max) = activity_shape(network, point);
        let t = timesteps as f64;
        let stated = settings.mean_level.at(timesteps);
        let levels = match settings.twin {
            TwinMode::FixedNonzero => None,
            TwinMode::Consistent => Some(
                (0..network.layers.len())
                    .map(|i| match point.mean_levels.get(i).copied().flatten() {
                        Some(measured) => (measured * level_scale).clamp(1.0, t),
                        None => stated,
                    })
                    .collect(),
            ),
        };
        let unit = shape.mean_spike_rate(network);
        let mut anchor_alphas: Vec<f64> = ANCHOR_RATES
            .iter()
            .map(|r| if unit > 0.0 { r / unit } else { *r })
            .filter(|a| *a < alpha_max)
            .collect();
        anchor_alphas.push(alpha_max);
        Self {
            shape,
            alpha_max,
            timesteps,
            levels,
            input_level: stated,
            anchor_alphas,
        }
    }

    /// The α of the anchors: fixed mean spike rates up to the family's top, and the top.
    pub fn anchor_alphas(&self) -> Vec<f64> {
        self.anchor_alphas.clone()
    }

    /// The operating points every format is mapped at its best for before anything along
    /// this family is priced: fixed mean spike rates every half decade from 0.1 % (and the
    /// family's top), so that what a pipeline lists never changes a mapping.
    pub fn anchors(&self) -> Vec<OperatingPoint> {
        self.anchor_alphas.iter().map(|a| self.at(*a)).collect()
    }

    /// Whether `other` walks the same points (its operating points can share this family's
    /// mappings).
    pub fn same_points(&self, other: &Family) -> bool {
        let rates = |f: &Family| {
            f.shape
                .layers
                .iter()
                .map(|r| r.spike_rate)
                .chain([f.shape.input.spike_rate])
                .collect::<Vec<_>>()
        };
        // Under twin consistency ρ follows from the rates and levels; held, it is part of
        // the family.
        let held = |f: &Family| match f.levels {
            Some(_) => Vec::new(),
            None => f
                .shape
                .layers
                .iter()
                .map(|r| r.nonzero)
                .chain([f.shape.input.nonzero])
                .collect(),
        };
        rates(self) == rates(other)
            && held(self) == held(other)
            && self.shape.explicit == other.shape.explicit
            && self.alpha_max == other.alpha_max
            && self.timesteps == other.timesteps
            && self.levels == other.levels
            && self.input_level == other.input_level
    }

    /// The largest `alpha`: the most active layer fires every step.
    pub fn alpha_max(&self) -> f64 {
        self.alpha_max
    }

    /// Whether ρ follows r along this family.
    pub fn is_consistent(&self) -> bool {
        self.levels.is_some()
    }

    /// The operating point at `alpha`.
    pub fn at(&self, alpha: f64) -> OperatingPoint {
        self.point_and_clamp(alpha).0
    }

    /// Whether the twin bound clamps some layer's ρ at `alpha` (its stated or measured L̄
    /// cannot hold there).
    pub fn clamped_at(&self, alpha: f64) -> bool {
        self.point_and_clamp(alpha).1
    }

    fn point_and_clamp(&self, alpha: f64) -> (OperatingPoint, bool) {
        let mut p = self.shape.scaled(alpha);
        let Some(levels) = &self.levels else {
            return (p, false);
        };
        let mut clamped = false;
        for (r, level) in p.layers.iter_mut().zip(levels) {
            let (nz, c) = consistent_nonzero(r.spike_rate, *level, self.timesteps);
            r.nonzero = nz;
            clamped |= c && r.spike_rate > 0.0;
        }
        let (nz, _) = consistent_nonzero(p.input.spike_rate, self.input_level, self.timesteps);
        p.input.nonzero = nz;
        (p, clamped)
    }
}

/// The break-even read as a mean level: at a point's spike rates, the L̄ (the same at every
/// layer) at which the SNN's and its twin's energies are equal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelBreakEven {
    /// The point's mean spike rate.
    pub rate: f64,
    /// Crossing, or never/always wins over L̄ ∈ [1, T].
    pub status: BreakEvenStatus,
    /// L̄* at the crossing.
    pub mean_level: Option<f64>,
    /// The twin's mean ρ at L̄*.
    pub nonzero: Option<f64>,
}

/// The point's rates with every layer's twin at mean level `level`.
/// `point`'s spike rates with every twin layer at mean level `level` (ρ = r·T/L̄, bounded).
pub fn at_level(point: &OperatingPoint, level: f64, timesteps: u32) -> OperatingPoint {
    let mut p = point.clone();
    for r in &mut p.layers {
        r.nonzero = consistent_nonzero(r.spike_rate, level, timesteps).0;
    }
    p.input.nonzero = consistent_nonzero(p.input.spike_rate, level, timesteps).0;
    p
}

/// Solves for the mean level L̄* ∈ [1, T] at which the SNN at `point`'s spike rates and its
/// twin spend the same energy. The twin gets cheaper as L̄ grows (fewer non-zero activations
/// carry the same spikes), so the SNN wins below L̄*.
pub fn level_breakeven(
    ev: &mut Evaluator<'_>,
    point: &OperatingPoint,
    timesteps: u32,
    snn: &Format,
    base: &Format,
) -> Result<LevelBreakEven, Error> {
    let net = ev.network();
    let rate = point.mean_spike_rate(net);
    let e_snn = ev.total(snn, point)?;
    let t = timesteps as f64;
    let mut g = |level: f64| -> Result<f64, Error> {
        Ok(e_snn - ev.total(base, &at_level(point, level, timesteps))?)
    };
    let done = |status, level: Option<f64>| LevelBreakEven {
        rate,
        status,
        mean_level: level,
        nonzero: level.map(|l| at_level(point, l, timesteps).mean_nonzero(net)),
    };
    // L̄ = 1 is the densest twin; if the SNN loses even to it, no twin lets it win.
    if g(1.0)? >= 0.0 {
        return Ok(done(BreakEvenStatus::SnnNeverWins, None));
    }
    if g(t)? < 0.0 {
        return Ok(done(BreakEvenStatus::SnnAlwaysWins, None));
    }
    let (mut lo, mut hi) = (1.0, t);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if g(mid)? < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let level = 0.5 * (lo + hi);
    Ok(done(BreakEvenStatus::Crossing, Some(level)))
}

/// The effective mean level of a point: all spikes over all non-zero twin activations,
/// r̄·T/ρ̄ over neuron layers (`None` when the twin is silent).
pub fn mean_level(network: &Network, point: &OperatingPoint, timesteps: u32) -> Option<f64> {
    let nz = point.mean_nonzero(network);
    (nz > 0.0).then(|| point.mean_spike_rate(network) * timesteps as f64 / nz)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_bound_admits_its_edges_and_rejects_the_paper_headline() {
        assert!(twin_exists(0.05, 0.05, 6));
        assert!(twin_exists(0.05, 0.3, 6));
        assert!(twin_exists(0.05, 0.05 * 6.0 / 3.0, 6));
        // The v1 setting: T = 6, r = 5 %, ρ = 0.45 > r·T = 0.30.
        assert!(!twin_exists(0.05, 0.45, 6));
        assert!(!twin_exists(0.05, 0.04, 6));
        assert!(twin_exists(0.5, 1.0, 6));
    }

    #[test]
    fn a_consistent_nonzero_fraction_is_r_t_over_the_level_until_the_bound_clamps_it() {
        assert_eq!(consistent_nonzero(0.05, 3.0, 6), (0.05 * 6.0 / 3.0, false));
        // r·T/L̄ above 1: every activation is non-zero and the level is r·T.
        assert_eq!(consistent_nonzero(0.8, 3.0, 6), (1.0, true));
        assert_eq!(consistent_nonzero(0.0, 3.0, 6), (0.0, false));
    }
}
