//! What a run will cost, estimated from the pipeline before any work starts and held against
//! `[analysis.budget]`: a pipeline asking for 10^7 spike rates or 10^5 time steps is refused
//! in milliseconds with the estimate, instead of running for hours or being killed for its
//! memory.
//!
//! The estimate counts layer evaluations (one architecture counting one layer for one format
//! and operating point) the way the analysis makes them; output bytes and memory from the
//! sizes measured on the shipped reports (per comparison and layer, per sweep point), with
//! margin. It is an estimate, not a bound: it is meant to be within a factor of two.

use snnergy_core::settings::Budget;
use snnergy_core::{ActivitySource, AnalysisSettings, ConfigError, PriceClass};

use crate::slots::{ArchSlot, WorkloadSlot};

/// Evaluations of a whole network the break-even search makes: the bracketing scan, the
/// bisection and the baseline (see `find_crossing`).
const CROSSING_EVALUATIONS: f64 = 32.0 + 64.0 + 1.0;
/// Bytes of the report files per layer of a comparison (JSON with its breakdowns, the
/// layers.csv row), measured on the shipped reports (about 1 kB) with margin.
const BYTES_PER_COMPARISON_LAYER: f64 = 1_400.0;
/// Bytes per comparison beyond its layers (totals, breakdowns, the CSV row, the Markdown).
const BYTES_PER_COMPARISON: f64 = 3_000.0;
/// Bytes per sweep point: two numbers in the JSON and a point in the figure.
const BYTES_PER_SWEEP_POINT: f64 = 80.0;
/// A figure without its sweep points.
const BYTES_PER_FIGURE: f64 = 60_000.0;
/// Parameters a sensitivity study varies per architecture, at most (the built-ins have ten).
const SENSITIVITY_PARAMETERS: f64 = 16.0;
/// Memory the report and its renderings need per (estimated) output byte: the report as
/// data, then all its renderings held at once before they are written. Measured on the main
/// VGG16 pipeline with 755 and 1189 spike rates (1.0 and 1.6 GiB of estimated output): peak
/// resident memory was 64 MiB + 0.9 bytes per estimated output byte; 1.25 keeps a margin.
const MEMORY_PER_OUTPUT_BYTE: f64 = 1.25;
/// Memory of the process before the report: code, networks, price tables.
const BASE_MEMORY: f64 = 64.0 * 1024.0 * 1024.0;

const MIB: f64 = 1024.0 * 1024.0;

/// What a run is expected to cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Layer evaluations.
    pub evaluations: f64,
    /// Bytes of the report folder.
    pub output_bytes: f64,
    /// Peak memory, bytes.
    pub memory_bytes: f64,
}

/// The cost of analysing `workloads` on `architectures` as `settings` say, with `points`
/// operating points per workload and T.
pub fn estimate(
    settings: &AnalysisSettings,
    workloads: &[WorkloadSlot],
    architectures: &[ArchSlot],
    points: usize,
) -> Estimate {
    let archs = architectures.len() as f64;
    let ts = settings.timesteps.len() as f64;
    let points = points.max(1) as f64;
    // A sweep samples the whole range and again the low rates (see `analysis::sweep`).
    let sweep = if settings.sweep_points >= 2 {
        2.0 * settings.sweep_points as f64 + 1.0
    } else {
        0.0
    };
    let crossing = if settings.breakeven {
        CROSSING_EVALUATIONS
    } else {
        0.0
    };
    let sensitivity = if settings.sensitivity.is_some() {
        2.0 * (PriceClass::ALL.len() as f64 + SENSITIVITY_PARAMETERS) * CROSSING_EVALUATIONS
    } else {
        0.0
    };
    let mut e = Estimate::default();
    for w in workloads {
        let layers = w.network.layers.len() as f64;
        e.evaluations += archs * layers * (ts * (2.0 * points + crossing + sweep) + sensitivity);
        e.output_bytes +=
            archs * ts * points * (BYTES_PER_COMPARISON + layers * BYTES_PER_COMPARISON_LAYER);
        e.output_bytes += archs * ts * sweep * BYTES_PER_SWEEP_POINT;
        // Figures at the headline T: energy against spike rate holds every sweep point again.
        e.output_bytes += (2.0 + archs) * BYTES_PER_FIGURE + archs * sweep * BYTES_PER_SWEEP_POINT;
    }
    e.memory_bytes = BASE_MEMORY + MEMORY_PER_OUTPUT_BYTE * e.output_bytes;
    e
}

/// Refuses a run whose estimate exceeds `budget`, with the estimate and the key that raises
/// the limit.
pub fn check(estimate: &Estimate, budget: &Budget) -> Result<(), ConfigError> {
    let over = |what: &str, key: &str, need: String, have: String| {
        ConfigError::new(format!(
            "this run would need about {need} {what}, over its budget of {have}; ask for fewer time steps, spike rates, sweep points, architectures or workloads, or raise `{key}` in [analysis.budget] (or `--budget {key}=…`)"
        ))
        .at_key(format!("analysis.budget.{key}"))
    };
    if estimate.evaluations > budget.evaluations {
        return Err(over(
            "layer evaluations",
            "evaluations",
            format!("{:.3e}", estimate.evaluations),
            format!("{:.3e}", budget.evaluations),
        ));
    }
    if estimate.output_bytes > budget.output_mib * MIB {
        return Err(over(
            "of report files",
            "output_mib",
            format!("{:.0} MiB", estimate.output_bytes / MIB),
            format!("{} MiB", budget.output_mib),
        ));
    }
    if estimate.memory_bytes > budget.memory_mib * MIB {
        return Err(over(
            "of memory",
            "memory_mib",
            format!("{:.0} MiB", estimate.memory_bytes / MIB),
            format!("{} MiB", budget.memory_mib),
        ));
    }
    Ok(())
}

/// [`estimate`] then [`check`] against `settings.budget`, with the activity's point count.
pub fn check_run(
    settings: &AnalysisSettings,
    workloads: &[WorkloadSlot],
    architectures: &[ArchSlot],
    activity: &dyn ActivitySource,
) -> Result<Estimate, ConfigError> {
    let e = estimate(
        settings,
        workloads,
        architectures,
        activity.point_count().unwrap_or(1),
    );
    tracing::debug!(
        "estimated cost: {:.3e} layer evaluations, {:.1} MiB of output, {:.1} MiB of memory (budget {:.3e}, {} MiB, {} MiB)",
        e.evaluations,
        e.output_bytes / MIB,
        e.memory_bytes / MIB,
        settings.budget.evaluations,
        settings.budget.output_mib,
        settings.budget.memory_mib
    );
    check(&e, &settings.budget)?;
    Ok(e)
}
