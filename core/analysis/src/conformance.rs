//! The conformance suite every architecture runs, built-in or plugin (burn's idea of one test
//! suite for every backend). Each check is a property any honest hardware model has:
//!
//! 1. with no spikes at all, the SNN sends no spike packets and performs no synaptic
//!    accumulation: only time-driven terms (membrane updates, thresholds, weight loads, spike
//!    maps read and written every step whatever they hold) and static power remain;
//! 2. SNN energy never falls when the spike rate or the number of time steps grows;
//! 3. doubling every price doubles every energy;
//! 4. at spike rate 1 the SNN performs at least as many accumulations per time step as the
//!    dense baseline performs multiplications (a published aggregate counts as one);
//! 5. categories add up to the total, per layer and per network.
//!
//! The suite returns its findings instead of panicking so `snnergy plugin check` can print
//! them; tests call [`ConformanceReport::assert_passed`].

use snnergy_core::action::{ActionKind, Actions, Category, ComputeOp, Interconnect};
use snnergy_core::activity::{LayerActivity, OperatingPoint, layer_activities};
use snnergy_core::format::Format;
use snnergy_core::mapping::MapRequest;
use snnergy_core::settings::AnalysisSettings;

use crate::evaluator::Evaluator;
use snnergy_core::energy::{EnergyModel, ScaledModel};
use snnergy_core::error::Error;
use snnergy_core::network::{InputCoding, Network};
use snnergy_core::traits::{Architecture, map_network};

/// One check's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// Why not, or what was measured.
    pub detail: String,
}

/// The outcome of the suite on one architecture and network.
#[derive(Clone, Debug, PartialEq)]
pub struct ConformanceReport {
    /// Architecture label.
    pub architecture: String,
    /// Network name.
    pub network: String,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl ConformanceReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Panics with every failed check (for tests).
    pub fn assert_passed(&self) {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("  {}: {}", c.name, c.detail))
            .collect();
        assert!(
            failed.is_empty(),
            "architecture `{}` on `{}` fails conformance:\n{}",
            self.architecture,
            self.network,
            failed.join("\n")
        );
    }
}

const RATES: [f64; 6] = [0.0, 0.01, 0.05, 0.2, 0.5, 1.0];

/// The actions of every layer of `network` in `format` at `activity`, mapped for that
/// activity (as the analysis maps a format at its operating point).
fn layer_actions(
    arch: &dyn Architecture,
    energy: &dyn EnergyModel,
    network: &Network,
    format: &Format,
    activity: &[LayerActivity],
) -> Result<Vec<Actions>, String> {
    let request = MapRequest {
        network,
        format,
        activity,
        anchors: &[],
        warm: None,
        energy,
        objective: Default::default(),
    };
    let mapped = map_network(arch, &request).map_err(|e| e.to_string())?;
    let mut out = vec![Actions::new(); network.layers.len()];
    mapped
        .evaluate(activity, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Rate coding, so that "no spikes" silences the input too.
const CODING: InputCoding = InputCoding::Rate;

fn err(e: Error) -> String {
    e.to_string()
}

/// What every check of the suite runs on.
struct Suite<'a> {
    label: &'a str,
    arch: &'a dyn Architecture,
    energy: &'a dyn EnergyModel,
    network: &'a Network,
    settings: &'a AnalysisSettings,
    /// The settings' time steps, sorted, each once.
    ts: Vec<u32>,
}

impl Suite<'_> {
    fn monotone(&self) -> Result<String, String> {
        // Each format at its best at every rate, with the anchors the analysis maps at (a
        // mapping chosen at rate 0 alone sees none of the work that spikes cause, and would
        // price every other rate with an arbitrary dataflow).
        let anchors: Vec<OperatingPoint> = crate::twin::ANCHOR_RATES
            .iter()
            .map(|r| OperatingPoint::uniform(self.network, *r, 0.45))
            .collect();
        let mut ev = Evaluator::new(self.label, self.arch, self.energy, self.network, CODING)
            .with_anchors(&anchors);
        let mut worst = String::new();
        let mut prev_t: Option<Vec<f64>> = None;
        for &t in &self.ts {
            let f = self.settings.snn_format(t);
            let mut row = Vec::new();
            for r in RATES {
                row.push(
                    ev.total(&f, &OperatingPoint::uniform(self.network, r, 0.45))
                        .map_err(err)?,
                );
            }
            for (i, w) in row.windows(2).enumerate() {
                if w[1] < w[0] * (1.0 - 1e-12) {
                    worst = format!(
                        "T = {t}: {} pJ at rate {} > {} pJ at rate {}",
                        w[0],
                        RATES[i],
                        w[1],
                        RATES[i + 1]
                    );
                }
            }
            if let Some(p) = &prev_t {
                for (i, (a, b)) in p.iter().zip(&row).enumerate() {
                    if *b < *a * (1.0 - 1e-12) {
                        worst = format!(
                            "rate {}: T = {t} costs {b} pJ, less than the previous T's {a} pJ",
                            RATES[i]
                        );
                    }
                }
            }
            prev_t = Some(row);
        }
        if worst.is_empty() {
            Ok(format!("{} T × {} rates", self.ts.len(), RATES.len()))
        } else {
            Err(worst)
        }
    }

    fn doubling(&self) -> Result<String, String> {
        let doubled = ScaledModel::uniform(self.energy, 2.0);
        let mut a = Evaluator::new(self.label, self.arch, self.energy, self.network, CODING);
        let mut b = Evaluator::new(self.label, self.arch, &doubled, self.network, CODING);
        for &t in &self.ts {
            for f in [
                self.settings.snn_format(t),
                self.settings.baseline_format(t),
            ] {
                for r in [0.0, 0.1, 1.0] {
                    let p = OperatingPoint::uniform(self.network, r, 0.45);
                    let (x, y) = (a.total(&f, &p).map_err(err)?, b.total(&f, &p).map_err(err)?);
                    if (y - 2.0 * x).abs() > 1e-9 * y.abs() {
                        return Err(format!("T = {t}, rate {r}: {x} pJ became {y} pJ"));
                    }
                }
            }
        }
        Ok("SNN and baseline, every T".into())
    }

    fn rate_one_accumulates(&self) -> Result<String, String> {
        let mut worst = String::new();
        for &t in &self.ts {
            let p = OperatingPoint::uniform(self.network, 1.0, 1.0);
            let acts = layer_activities(self.network, &p, CODING);
            let snn = self.settings.snn_format(t);
            // ρ = 1 above: the baseline runs dense.
            let dense = self.settings.baseline_format(t);
            let (mut acc, mut macs) = (0.0, 0.0);
            let s = layer_actions(self.arch, self.energy, self.network, &snn, &acts)?;
            let q = layer_actions(self.arch, self.energy, self.network, &dense, &acts)?;
            for (s, q) in s.iter().zip(&q) {
                acc += s
                    .as_slice()
                    .iter()
                    .filter(|x| {
                        matches!(
                            x.kind,
                            ActionKind::Compute {
                                op: ComputeOp::Add,
                                ..
                            } | ActionKind::Composite { .. }
                        )
                    })
                    .map(|x| x.count)
                    .sum::<f64>();
                macs += q
                    .as_slice()
                    .iter()
                    .filter(|x| {
                        matches!(
                            x.kind,
                            ActionKind::Compute {
                                op: ComputeOp::Mul,
                                ..
                            }
                        )
                    })
                    .map(|x| x.count)
                    .sum::<f64>();
            }
            if acc / t as f64 + 1e-9 < macs {
                worst = format!(
                    "T = {t}: {:.4e} accumulations per step < {:.4e} baseline MACs",
                    acc / t as f64,
                    macs
                );
            }
        }
        if worst.is_empty() {
            Ok("every T".into())
        } else {
            Err(worst)
        }
    }

    fn categories_add_up(&self) -> Result<String, String> {
        let mut ev = Evaluator::new(self.label, self.arch, self.energy, self.network, CODING);
        for &t in &self.ts {
            for f in [
                self.settings.snn_format(t),
                self.settings.baseline_format(t),
            ] {
                let d = ev
                    .detailed(&f, &OperatingPoint::uniform(self.network, 0.1, 0.45))
                    .map_err(err)?;
                let by_cat: f64 = d.by_category.iter().sum();
                let by_layer: f64 = d.per_layer.iter().sum();
                let by_class: f64 = d.by_class.values().sum();
                for (what, v) in [
                    ("categories", by_cat),
                    ("layers", by_layer),
                    ("price classes", by_class),
                ] {
                    if (v - d.total_pj).abs() > 1e-9 * d.total_pj {
                        return Err(format!(
                            "T = {t}: {what} sum to {v} pJ, total is {} pJ",
                            d.total_pj
                        ));
                    }
                }
                for (i, (l, c)) in d.per_layer.iter().zip(&d.per_layer_category).enumerate() {
                    let s: f64 = c.iter().sum();
                    if (s - l).abs() > 1e-9 * l.abs().max(1.0) {
                        return Err(format!(
                            "layer `{}`: categories sum to {s} pJ, layer total {l} pJ",
                            self.network.layers[i].name
                        ));
                    }
                }
            }
        }
        Ok("per layer and per network".into())
    }
}

/// Runs the suite on `arch` priced by `table` (with the architecture's own stated prices in
/// front, as the analysis prices it) over `network`, with the formats of `settings` at each of
/// its time steps. Evaluation errors are reported as failed checks.
pub fn check_architecture(
    label: &str,
    arch: &dyn Architecture,
    table: &dyn EnergyModel,
    network: &Network,
    settings: &AnalysisSettings,
) -> ConformanceReport {
    let priced = arch.priced_by(table);
    let mut ts = settings.timesteps.clone();
    ts.sort_unstable();
    ts.dedup();
    let suite = Suite {
        label,
        arch,
        energy: priced.as_ref(),
        network,
        settings,
        ts,
    };
    let results: [(&'static str, Result<String, String>); 5] = [
        (
            "silent SNN does no spike-driven work",
            silent(arch, suite.energy, network, settings, &suite.ts),
        ),
        (
            "energy non-decreasing in spike rate and T",
            suite.monotone(),
        ),
        ("doubling every price doubles the energy", suite.doubling()),
        (
            "SNN at rate 1 accumulates at least the baseline's MACs per step",
            suite.rate_one_accumulates(),
        ),
        ("categories add up to the total", suite.categories_add_up()),
    ];
    let checks = results
        .into_iter()
        .map(|(name, r)| match r {
            Ok(detail) => Check {
                name,
                passed: true,
                detail,
            },
            Err(detail) => Check {
                name,
                passed: false,
                detail,
            },
        })
        .collect();
    ConformanceReport {
        architecture: label.to_string(),
        network: network.name.clone(),
        checks,
    }
}

fn silent(
    arch: &dyn Architecture,
    energy: &dyn EnergyModel,
    network: &Network,
    settings: &AnalysisSettings,
    ts: &[u32],
) -> Result<String, String> {
    let p = OperatingPoint::uniform(network, 0.0, 0.45);
    let acts = layer_activities(network, &p, InputCoding::Rate);
    for &t in ts {
        let f = settings.snn_format(t);
        let out = layer_actions(arch, energy, network, &f, &acts)?;
        // Neuron steps bound the additions that need no spike: the current into the
        // membrane, a leak, a reset.
        let steps: f64 = network
            .layers
            .iter()
            .map(|l| l.neurons() as f64 * t as f64)
            .sum();
        let mut adds = 0.0;
        for (i, layer) in out.iter().enumerate() {
            let placed = layer.as_slice().iter().any(|x| !x.place.is_none());
            for x in layer.as_slice() {
                let event = matches!(
                    x.kind,
                    ActionKind::Transfer {
                        net: Interconnect::NocEvent,
                        ..
                    }
                );
                // An architecture that names no places counts spikes as activations and
                // outputs; one that describes hardware may read and write dense spike maps
                // every step, which is time-driven.
                let spike_driven = event
                    || (!placed && matches!(x.category, Category::Activations | Category::Outputs));
                if spike_driven && x.count > 0.0 {
                    return Err(format!(
                        "T = {t}, layer `{}`: {} × `{}` ({}) with no spikes",
                        network.layers[i].name,
                        x.count,
                        x.kind,
                        x.category.name()
                    ));
                }
                if matches!(
                    x.kind,
                    ActionKind::Compute {
                        op: ComputeOp::Add,
                        ..
                    }
                ) {
                    adds += x.count;
                }
            }
        }
        // A neuron step needs a few additions (current, leak, reset) plus the reduction of
        // partial sums spread over PEs; more than that scales with fan-in. A dense array
        // that adds zeros as it adds spikes does so whatever the spikes, which is
        // time-driven too: its additions barely grow with the spike rate.
        if adds > 16.0 * steps {
            let busy = OperatingPoint::uniform(network, 1.0, 0.45);
            let busy = layer_activities(network, &busy, InputCoding::Rate);
            let adds_busy: f64 = layer_actions(arch, energy, network, &f, &busy)?
                .iter()
                .flat_map(|l| l.as_slice())
                .filter(|x| {
                    matches!(
                        x.kind,
                        ActionKind::Compute {
                            op: ComputeOp::Add,
                            ..
                        }
                    )
                })
                .map(|x| x.count)
                .sum();
            // The neuron updates that follow a spike (resets) may add a little at rate 1.
            if adds < 0.9 * adds_busy {
                return Err(format!(
                    "T = {t}: {adds} additions with no spikes (more than 16 per neuron step over {steps} steps, and under 90 % of the {adds_busy} at spike rate 1): synaptic work that depends on spikes happens without them"
                ));
            }
        }
    }
    Ok("no spike packets, no synaptic accumulation at rate 0".into())
}
