//! What a run will cost, estimated from the pipeline before any work starts and held against
//! `[analysis.budget]`: a pipeline asking for 10^7 spike rates, 10^5 time steps or a chip
//! whose mapper search would not fit in memory is refused in milliseconds with the estimate,
//! instead of running for hours or being killed for its memory.
//!
//! The estimates are upper bounds, each counted the way the analysis does its work:
//! - **work**, in layer evaluations (one architecture counting one layer for one format and
//!   operating point): the operating points, the break-even search with its rounds of mapping
//!   again at the crossing, the energy × delay crossing, the mean-level search, the sweep and
//!   the sensitivity study's rebuilt architectures, and the writing of the report. Mapping
//!   costs more than counting: a layer mapped again counts as some tens of evaluations, a
//!   search of the mapper (a layer at new densities or a new T) as ten thousand. One
//!   evaluation is about a microsecond of one core.
//! - **output**: the report files per comparison and layer (per layer more for architectures
//!   that map, which report each layer's loop nest), per operating point, per break-even row
//!   and sweep point, and the figures; measured on reports of every shipped architecture and
//!   chip, with margin.
//! - **memory**: the process, the report as data (a multiple of its output), one rendering
//!   at a time (the JSON is streamed to its file), the mapper's search state, which the
//!   architecture estimates from its chip (large arrays multiply it), and the evaluations
//!   each (T, architecture) remembers while it runs (sweep points times layers).
//!
//! `tests/budget.rs` runs a spread of pipelines and checks that each estimate is above what
//! was measured.

use snnergy_core::settings::Budget;
use snnergy_core::{ActivitySource, AnalysisSettings, ConfigError, MappingCost, PriceClass};

use crate::breakeven::SCAN_EVALUATIONS;
use crate::slots::{ArchSlot, WorkloadSlot};

/// Network evaluations of one break-even search (`breakeven::find_wins`: the scan with the
/// family's anchors, a bisection per sign change, of which there are rarely more than two,
/// each evaluating both formats).
const CROSSING: f64 =
    2.0 * (SCAN_EVALUATIONS + ANCHORS + 2.0 * crate::breakeven::BISECTION_EVALUATIONS);
/// Anchors a family adds to the scan, at most.
const ANCHORS: f64 = 8.0;
/// Break-even searches per crossing at most: found, then mapped again there until it settles
/// (`mapped::MAX_ROUNDS`); architectures that do not map need one.
const ROUNDS: f64 = 4.0;
/// Network evaluations of the mean-level search (`level_breakeven`).
const LEVEL: f64 = 1.0 + 2.0 + 64.0;
/// Sides of a sensitivity study per architecture, at most: the nominal one, the twin's two,
/// two per price class and per numeric parameter (the built-ins have at most 16), and one
/// per other value of a structural choice (at most 24).
const SENSITIVITY_SIDES: f64 = 1.0 + 2.0 + 2.0 * (PriceClass::ALL.len() as f64 + 16.0) + 24.0;
/// A layer evaluation of an architecture that maps (its mapping's counts rescaled to the
/// activity and priced), in evaluations of one that does not: measured 2.4 against 0.86 µs
/// on VGG16.
const MAPPED_EVALUATION: f64 = 3.0;
/// A layer mapped again, in layer evaluations: the mapper's cache is asked for it (its key
/// is the layer, the chip and the densities, formatted and hashed) and the mapping copied
/// out; measured about 60 µs.
const REMAP_COST: f64 = 60.0;
/// One search of the mapper (a layer at densities or a T it was not mapped at), in layer
/// evaluations: measured 2–25 ms on VGG16's layers, less on small ones.
const SEARCH_COST: f64 = 10_000.0;
/// Distinct densities a layer is searched at per format and T at most: the mapper's cache
/// quantizes densities to 20 steps per decade.
const DENSITY_STATES: f64 = 64.0;
/// Rendering and writing one byte of the report, in layer evaluations (measured 27 ns).
const OUTPUT_COST: f64 = 0.03;

/// Bytes of the report files per layer of a comparison of an architecture without loop
/// nests (JSON with its breakdowns, the layers.csv row, the Markdown), measured 2.6 kB.
const BYTES_PER_LAYER: f64 = 3_500.0;
/// The same for an architecture that maps, before its loop nests: measured 4.9 kB on
/// three-level chips, of which about 600 bytes per level.
const BYTES_PER_MAPPED_LAYER: f64 = 4_500.0;
/// Bytes per storage level of each layer's two mappings (a loop nest's lines, the energy by
/// level).
const BYTES_PER_LEVEL: f64 = 700.0;
/// Bytes per comparison beyond its layers (totals, breakdowns, the CSV row, the Markdown).
const BYTES_PER_COMPARISON: f64 = 4_000.0;
/// Bytes per operating point and workload (its metrics), and per layer and architecture.
const BYTES_PER_POINT: f64 = 1_000.0;
const BYTES_PER_POINT_LAYER: f64 = 800.0;
const BYTES_PER_POINT_ARCH: f64 = 800.0;
/// Bytes per break-even row (JSON, CSV, Markdown); an architecture that maps adds its
/// layers' mappings at the crossing.
const BYTES_PER_BREAKEVEN: f64 = 6_000.0;
/// Bytes per sweep point: four numbers in the JSON and a point in a figure.
const BYTES_PER_SWEEP_POINT: f64 = 200.0;
/// A figure without its sweep points.
const BYTES_PER_FIGURE: f64 = 80_000.0;
/// Bytes per row of a sensitivity study (JSON, Markdown, tornado figure).
const BYTES_PER_SENSITIVITY_ROW: f64 = 1_500.0;
/// Memory the report holds per byte of its output while it is written: the report as data
/// (numbers as f64 and strings before they are printed and indented) and the largest
/// rendering held at once (Markdown and CSV are built as strings, the JSON is streamed);
/// measured 1.4–2.1 on the spread of the budget tests.
const MEMORY_PER_OUTPUT_BYTE: f64 = 2.5;
/// Memory of the process before the report: code, networks, price tables, thread stacks.
const BASE_MEMORY: f64 = 96.0 * MIB;
/// Memory per network evaluation an evaluator remembers (its total, keyed by the layers'
/// activities: seven words per layer), beyond the layers: the key's header and allocation,
/// the value and the hash table's room at its lowest load; measured 1.1 kB per evaluation
/// on VGG16's 22 layers, 0.57 kB on 100 linear layers.
const MEMO_BYTES_PER_EVALUATION: f64 = 160.0;
const MEMO_BYTES_PER_LAYER: f64 = 7.0 * 8.0;

const MIB: f64 = 1024.0 * 1024.0;

/// What a run is expected to cost, at most.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Work, in layer evaluations.
    pub evaluations: f64,
    /// Bytes of the report folder.
    pub output_bytes: f64,
    /// Peak memory, bytes.
    pub memory_bytes: f64,
    /// The mapper's part of the memory, bytes, and what holds it.
    pub mapping: Option<(f64, String)>,
}

/// What mapping `w` on `a` costs: the larger of the two formats, at the smallest T (the
/// fewest temporal placements, where the search is likeliest to list every spatial
/// unrolling); `None` for an architecture that does not map.
fn mapping(settings: &AnalysisSettings, w: &WorkloadSlot, a: &ArchSlot) -> Option<MappingCost> {
    let t = settings.timesteps.iter().copied().min().unwrap_or(1);
    [settings.snn_format(t), settings.baseline_format(t)]
        .iter()
        .filter_map(|f| a.arch.mapping_cost(&w.network, f))
        .max_by(|x, y| x.memory_bytes.total_cmp(&y.memory_bytes))
}

/// Points of a sweep: the whole range and again the low rates (see `analysis::sweep`).
fn sweep_points(settings: &AnalysisSettings) -> f64 {
    if settings.sweep_points >= 2 {
        2.0 * settings.sweep_points as f64 + 1.0
    } else {
        0.0
    }
}

/// What one workload on one architecture costs over all T.
struct Cost {
    evaluations: f64,
    output_bytes: f64,
    /// What one T's evaluator remembers, bytes: held until that (T, architecture) is done.
    memo_bytes: f64,
}

fn cost(
    settings: &AnalysisSettings,
    w: &WorkloadSlot,
    mapped: Option<&MappingCost>,
    points: f64,
) -> Cost {
    let layers = w.network.layers.len() as f64;
    let weighted = w.network.layers.iter().filter(|l| l.is_weighted()).count() as f64;
    let ts = settings.timesteps.len() as f64;
    let sweep = sweep_points(settings);
    let rounds = if mapped.is_some() { ROUNDS } else { 1.0 };
    let mut per_t = 2.0 * points + 2.0 * sweep;
    let mut remaps = 2.0 * points;
    if settings.breakeven {
        // Each round's search, the crossing's figures, its energy × delay crossing (for
        // architectures that model time) and the mean-level search.
        per_t += rounds * CROSSING + 2.0 + if mapped.is_some() { CROSSING } else { 0.0 } + LEVEL;
        remaps += 2.0 + 2.0 * (rounds - 1.0);
    }
    let memo_bytes = per_t * (MEMO_BYTES_PER_EVALUATION + MEMO_BYTES_PER_LAYER * layers);
    let mut networks = ts * per_t;
    let mut layer_remaps = ts * remaps * weighted;
    // The SNN is a new problem at every T; the baseline only where its bits change.
    let mut formats: Vec<snnergy_core::Format> = Vec::new();
    for t in &settings.timesteps {
        let f = settings.baseline_format(*t);
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    let baselines = formats.len() as f64;
    let states = (points + rounds - 1.0).min(DENSITY_STATES);
    let mut searches = (ts + baselines) * states * weighted;
    let mut output_bytes = 0.0;
    if settings.sensitivity.is_some() {
        networks += SENSITIVITY_SIDES * (2.0 + ROUNDS * CROSSING);
        layer_remaps += SENSITIVITY_SIDES * 2.0 * ROUNDS * weighted;
        // Every side rebuilds the architecture: its layers are searched afresh.
        searches += SENSITIVITY_SIDES * 2.0 * weighted;
        output_bytes += SENSITIVITY_SIDES * BYTES_PER_SENSITIVITY_ROW + BYTES_PER_FIGURE;
    }
    let mut evaluations = networks * layers;
    let per_layer = match mapped {
        Some(m) => {
            evaluations = evaluations * MAPPED_EVALUATION
                + layer_remaps * REMAP_COST
                + searches * SEARCH_COST;
            BYTES_PER_MAPPED_LAYER + BYTES_PER_LEVEL * m.levels as f64
        }
        None => BYTES_PER_LAYER,
    };
    output_bytes += ts * points * (BYTES_PER_COMPARISON + layers * per_layer);
    output_bytes += ts * BYTES_PER_BREAKEVEN;
    if mapped.is_some() {
        output_bytes += ts * layers * per_layer;
    }
    output_bytes += ts * sweep * BYTES_PER_SWEEP_POINT;
    Cost {
        evaluations,
        output_bytes,
        memo_bytes,
    }
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
    let p = points.max(1) as f64;
    let sweep = sweep_points(settings);
    let mut e = Estimate::default();
    // The (T, architecture) pairs run in parallel, each with its evaluator: at most one per
    // thread at once, and never more than all of them.
    let (mut memo_all, mut memo_largest) = (0.0f64, 0.0f64);
    for w in workloads {
        let layers = w.network.layers.len() as f64;
        for a in architectures {
            let m = mapping(settings, w, a);
            let c = cost(settings, w, m.as_ref(), p);
            e.evaluations += c.evaluations;
            e.output_bytes += c.output_bytes;
            memo_all += ts * c.memo_bytes;
            memo_largest = memo_largest.max(c.memo_bytes);
            if let Some(m) = m
                && e.mapping.as_ref().is_none_or(|b| m.memory_bytes > b.0)
            {
                e.mapping = Some((m.memory_bytes, m.what));
            }
        }
        e.output_bytes += ts
            * p
            * (BYTES_PER_POINT + layers * BYTES_PER_POINT_LAYER + archs * BYTES_PER_POINT_ARCH);
        // Figures at the headline T: energy against spike rate holds every sweep point
        // again, break-even against T one point per T.
        e.output_bytes +=
            (3.0 + 2.0 * archs) * BYTES_PER_FIGURE + archs * (sweep + ts) * BYTES_PER_SWEEP_POINT;
    }
    e.evaluations += OUTPUT_COST * e.output_bytes;
    let mapper = e.mapping.as_ref().map_or(0.0, |m| m.0);
    let memo = memo_all.min(rayon::current_num_threads() as f64 * memo_largest);
    e.memory_bytes = BASE_MEMORY + MEMORY_PER_OUTPUT_BYTE * e.output_bytes + mapper + memo;
    e
}

/// Refuses a run whose estimate exceeds `budget`, with the estimate, what raises it most and
/// the key that raises the limit.
pub fn check(estimate: &Estimate, budget: &Budget) -> Result<(), ConfigError> {
    let over = |what: &str, key: &str, need: String, have: String, why: String| {
        ConfigError::new(format!(
            "this run would need about {need} {what}, over its budget of {have}{why}; ask for fewer time steps, spike rates, sweep points, architectures or workloads, or raise `{key}` in [analysis.budget] (or `--budget {key}=…`)"
        ))
        .at_key(format!("analysis.budget.{key}"))
    };
    if estimate.evaluations > budget.evaluations {
        return Err(over(
            "layer evaluations",
            "evaluations",
            format!("{:.3e}", estimate.evaluations),
            format!("{:.3e}", budget.evaluations),
            String::new(),
        ));
    }
    if estimate.output_bytes > budget.output_mib * MIB {
        return Err(over(
            "of report files",
            "output_mib",
            format!("{:.0} MiB", estimate.output_bytes / MIB),
            format!("{} MiB", budget.output_mib),
            String::new(),
        ));
    }
    if estimate.memory_bytes > budget.memory_mib * MIB {
        let why = match &estimate.mapping {
            Some((bytes, what)) if *bytes > 0.5 * estimate.memory_bytes => {
                format!(" ({:.0} MiB of it for {what})", bytes / MIB)
            }
            _ => String::new(),
        };
        return Err(over(
            "of memory",
            "memory_mib",
            format!("{:.0} MiB", estimate.memory_bytes / MIB),
            format!("{} MiB", budget.memory_mib),
            why,
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
        "estimated cost: {:.3e} layer evaluations, {:.0} bytes of output, {:.0} bytes of memory (budget {:.3e}, {} MiB, {} MiB)",
        e.evaluations,
        e.output_bytes,
        e.memory_bytes,
        settings.budget.evaluations,
        settings.budget.output_mib,
        settings.budget.memory_mib
    );
    check(&e, &settings.budget)?;
    Ok(e)
}
