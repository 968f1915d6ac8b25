//! The mapper: searches the legal mappings of one problem on one chip.
//!
//! Small spaces (when the temporal placements alone number at most `exhaustive_limit`, and so
//! does the whole space with spatial unrollings and bypass choices) are enumerated
//! exhaustively, loop orders included (one order per distinct stationarity signature, which
//! gives identical counts). Larger ones, heuristically:
//! 1. spatial unrollings of up to two dimensions per array axis, one per set of unrolled
//!    dimensions (mirror images on square arrays counted once), at least
//!    `min_utilization_ratio` of the fullest; half of `spatial_candidates` go to the fullest,
//!    half to those with the most multicast and reduction weighted by fullness;
//! 2. for each, a greedy bottom-up fill: from the innermost level out, move the prime factor
//!    (or a dimension's whole remaining factor) from the outermost level that lowers the
//!    objective most, while one does;
//! 3. the `refined_candidates` best fills are descended: passes of moving one prime factor
//!    between any two levels (first improvement), trying every distinct loop order per level,
//!    every allowed format, and toggling bypass where it is automatic, until no pass helps;
//!    the `refined_twice` best are descended again from every factor in the outermost level.
//!    Beside them, the best fill of each reuse class (what the unrolling multicasts or
//!    reduces) not among them, up to half as many: the greedy fill ranks some dataflows
//!    systematically low;
//! 4. the best found is split otherwise along each array axis (part of one dimension's
//!    spatial factor traded for another's temporal one) and descended again, while that helps.
//!
//! Bounds: `max_evaluations` per search (default 200 000), at most 3 024 generated orders per
//! level and dimension set, 256 bypass combinations, 200 descent rounds.
//! Deterministic: moves are tried in a fixed order and taken only if they lower the objective
//! by more than a relative 1e-12, so ties keep the earlier mapping.

mod boundaries;
mod constraints;
mod exhaustive;
mod moves;
mod orders;
mod spatial;

use std::collections::HashMap;
use std::rc::Rc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::MapperError;
use crate::mapping::{Compact, Constraints, MAX_LEVELS};
use crate::model::{AnchorSet, Counts, Ctx, Illegal, LANES};
use crate::problem::{DataSpace, Densities, NDIMS};

use constraints::{Resolved, resolve};
use orders::orders;

/// What the mapper minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Dynamic plus leakage energy; among mappings within [`ENERGY_TIE`] of the lowest, the
    /// fastest.
    #[default]
    Energy,
    /// Cycles.
    Latency,
    /// Energy × cycles.
    Edp,
}

/// Energies this close (relative) count as a tie that latency breaks: without it, a chip
/// that prices no leakage lets an energy search trade 8× the cycles for 0.03 % of the energy,
/// and a report's latency would follow which of two equal mappings was met first.
pub const ENERGY_TIE: f64 = 1e-3;

/// Of mappings scored (objective, cycles), the one `objective` prefers: the least objective,
/// or for [`Objective::Energy`] the fewest cycles among those within [`ENERGY_TIE`] of the
/// least energy (then the least energy); the first among equals. `None` when empty or none
/// is finite.
pub fn preferred(objective: Objective, scored: &[(f64, f64)]) -> Option<usize> {
    let least = scored
        .iter()
        .map(|s| s.0)
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !least.is_finite() {
        return None;
    }
    let tie = if objective == Objective::Energy {
        least * (1.0 + ENERGY_TIE)
    } else {
        least
    };
    let mut pick: Option<usize> = None;
    for (i, &(v, cycles)) in scored.iter().enumerate() {
        if v.is_nan() || v > tie {
            continue;
        }
        let better = match pick {
            None => true,
            Some(j) => {
                let (bv, bc) = scored[j];
                cycles < bc || (cycles == bc && v < bv)
            }
        };
        if better {
            pick = Some(i);
        }
    }
    pick
}

/// How the mapper searches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SearchOptions {
    /// What to minimize.
    pub objective: Objective,
    /// Constraints on the mapping (Timeloop-like); a fully pinned mapping leaves one point.
    pub constraints: Constraints,
    /// Enumerate every mapping when the space has at most this many points.
    pub exhaustive_limit: u64,
    /// Spatial unrollings (per bypass choice) given a greedy fill in the heuristic search.
    pub spatial_candidates: usize,
    /// Of those, how many (the best after the greedy fill) are refined by a full descent.
    pub refined_candidates: usize,
    /// Of the refined ones, how many are also descended from a second start (every free
    /// factor in the outermost level).
    pub refined_twice: usize,
    /// Spatial unrollings using less than this fraction of the best unrolling's instances are
    /// not explored.
    pub min_utilization_ratio: f64,
    /// Hard bound on the mappings one search evaluates.
    pub max_evaluations: u64,
    /// Also propose uneven spatial unrollings: a dimension stretched over more of an array
    /// axis than any of its divisors fills, the last fold partial, refined beside the even
    /// unrollings in the heuristic search and enumerated beside them in a small space (never
    /// in their place). Off by default: the
    /// Timeloop export writes factors that divide the layer only, and the search takes
    /// about a tenth longer.
    pub uneven_spatial: bool,
    /// Also let the weights, inputs or partial sums kept at a level take in loops directly
    /// above it (per-operand boundaries, `spans_above`), greedily from the best mapping found,
    /// while the objective improves. Off by default: the Timeloop export writes one boundary
    /// per level.
    pub per_operand_boundaries: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            objective: Objective::Energy,
            constraints: Constraints::default(),
            exhaustive_limit: 20_000,
            spatial_candidates: 192,
            refined_candidates: 16,
            refined_twice: 4,
            min_utilization_ratio: 0.02,
            max_evaluations: 200_000,
            uneven_spatial: false,
            per_operand_boundaries: false,
        }
    }
}

/// Per-level spatial choice: factors on X and Y.
type Spatial = Vec<([u32; NDIMS], [u32; NDIMS])>;

struct Search<'c, 'a> {
    ctx: &'c Ctx<'a>,
    res: Resolved,
    /// The densities the search must serve: every mapping scored is priced at each, and the
    /// best at each is kept.
    anchors: Vec<Densities>,
    /// The anchors, [`LANES`] to a set, as pricing reuses them from one candidate to the next.
    priced: Vec<AnchorSet>,
    /// Per anchor, the last candidate's (dynamic pJ, cycles, leakage pJ).
    quotes: Vec<(f64, f64, f64)>,
    /// The anchor whose objective steers the moves being made.
    focus: usize,
    objective: Objective,
    counts: Counts,
    evaluated: u64,
    budget: u64,
    order_cache: HashMap<(u16, usize), Rc<[[u8; NDIMS]]>>,
    /// Per anchor, the best mapping scored so far and its objective there.
    best: Vec<Option<(f64, Compact)>>,
    /// Per anchor (energy searches only), the mappings within [`ENERGY_TIE`] of its best
    /// that no other is both cheaper and faster than: where a tie is broken by latency.
    ties: Vec<Ties>,
    last_error: Option<(Illegal, f64)>,
    /// Per level, an order honouring its constraint's prefix and outermost loops (computed
    /// once: generating orders is the search's most expensive step).
    start_order: Vec<Option<[u8; NDIMS]>>,
}

const INF: f64 = f64::INFINITY;

impl<'c, 'a> Search<'c, 'a> {
    /// Keeps the reason of the rejected candidate that used the most compute units (the
    /// latest among equals): if nothing is legal, the error names what stopped the fullest
    /// arrays, the candidates a person would expect to work.
    fn reject(&mut self, e: Illegal, units: f64) {
        if self.last_error.is_none_or(|(_, u)| units >= u) {
            self.last_error = Some((e, units));
        }
    }

    fn score(&mut self, m: &Compact) -> f64 {
        self.evaluated += 1;
        let mut m2 = *m;
        if !self.sanitize(&mut m2) {
            self.reject(Self::unfinished(&m2), 0.0);
            return INF;
        }
        match self.ctx.count(&m2, &mut self.counts) {
            Err(e) => {
                self.reject(e, self.counts.units_used);
                INF
            }
            Ok(()) => {
                // The counts do not depend on densities: one count prices the mapping at
                // every anchor, and each anchor keeps its own best.
                let mut at_focus = INF;
                for (set, quotes) in self.priced.iter_mut().zip(self.quotes.chunks_mut(LANES)) {
                    self.ctx.quick_all(&m2, &self.counts, set, quotes);
                }
                for k in 0..self.anchors.len() {
                    let (e, cycles, leak) = self.quotes[k];
                    let v = match self.objective {
                        Objective::Energy => e + leak,
                        Objective::Latency => cycles,
                        Objective::Edp => (e + leak) * cycles,
                    };
                    let better = match &self.best[k] {
                        None => true,
                        Some((b, _)) => v < *b * (1.0 - 1e-12),
                    };
                    if better && v.is_finite() {
                        self.best[k] = Some((v, m2));
                        self.ties[k].prune(v);
                    }
                    if self.objective == Objective::Energy
                        && let Some((b, _)) = self.best[k]
                    {
                        self.ties[k].offer(v, cycles, &m2, b);
                    }
                    if k == self.focus {
                        at_focus = v;
                    }
                }
                at_focus
            }
        }
    }

    fn exhausted(&self) -> bool {
        self.evaluated >= self.budget
    }

    /// Drops membrane and output keepers below the finalizing level when the constraints
    /// leave the choice free (they could not be reached by the epilogue).
    /// Why `sanitize` refused a mapping: no level keeps partial sums, or the outermost one
    /// that does gets them unfinished.
    fn unfinished(m: &Compact) -> Illegal {
        match (0..MAX_LEVELS).find(|&l| m.keep[l] & DataSpace::Accum.bit() != 0) {
            Some(l) => Illegal::PartialSumsEscape(l),
            None => Illegal::NoKeeper(DataSpace::Accum.index()),
        }
    }

    fn sanitize(&self, m: &mut Compact) -> bool {
        let n = self.ctx.nlev;
        // The innermost such level: found from the inside out, the first that qualifies.
        let Some(fin) = (0..n)
            .rev()
            .find(|&l| m.keep[l] & DataSpace::Accum.bit() != 0 && m.sums_finish_at(l))
        else {
            return false;
        };
        for l in 0..n {
            if l < fin {
                m.keep[l] &= !DataSpace::Accum.bit();
            }
            if l > fin && self.res.keep[l].is_none() {
                m.keep[l] &= !(DataSpace::Membrane.bit() | DataSpace::Outputs.bit());
            }
        }
        true
    }

    /// A mapping with the given spatial choice and every free temporal factor at `home`.
    fn base(&self, keep: &[u8; MAX_LEVELS], spatial: &Spatial, home: usize) -> Compact {
        let n = self.ctx.nlev;
        let mut m = Compact::new(n);
        m.keep = *keep;
        m.raise = self.res.raise;
        for l in 0..n {
            m.sx[l] = spatial[l].0;
            m.sy[l] = spatial[l].1;
            m.fin[l] = self.res.fin[l].unwrap_or(0);
            m.fout[l] = self.res.fout[l].unwrap_or(0);
            // Start from an order that honours the constraint's prefix and outermost loops.
            if let Some(o) = self.start_order[l] {
                m.order[l] = o;
            }
        }
        for d in 0..NDIMS {
            let mut rem = self.ctx.dims[d];
            for l in 0..n {
                // An uneven spatial split leaves the ceil-divided rest to the temporal loops.
                rem = rem.div_ceil(m.sp(l, d));
                if let Some(f) = self.res.tf[l][d] {
                    m.tf[l][d] = f;
                    rem /= f as u64;
                }
            }
            let free: Vec<usize> = (0..n).filter(|&l| self.res.tf[l][d].is_none()).collect();
            let target = if free.contains(&home) {
                Some(home)
            } else {
                free.first().copied()
            };
            if let Some(t) = target {
                m.tf[t][d] = rem as u32;
            }
        }
        m
    }
}

impl<'c, 'a> Search<'c, 'a> {
    /// A search of `ctx`'s problem at `anchors` (the default densities when none), its
    /// constraints resolved; nothing scored yet.
    fn new(
        ctx: &'c Ctx<'a>,
        anchors: &[Densities],
        options: &SearchOptions,
    ) -> Result<Search<'c, 'a>, MapperError> {
        let res = resolve(ctx, &options.constraints)?;
        let start_order = (0..ctx.nlev)
            .map(|l| {
                if res.prefix[l].is_empty() && res.outer[l].is_empty() {
                    None
                } else {
                    orders(
                        (1u16 << NDIMS) - 1,
                        &res.prefix[l],
                        &res.outer[l],
                        ctx.problem.searched_as(),
                    )
                    .first()
                    .copied()
                }
            })
            .collect();
        let anchors: Vec<Densities> = if anchors.is_empty() {
            vec![Densities::default()]
        } else {
            anchors.to_vec()
        };
        Ok(Search {
            ctx,
            res,
            best: vec![None; anchors.len()],
            ties: vec![Ties::default(); anchors.len()],
            priced: anchors
                .chunks(LANES)
                .map(|c| AnchorSet::new(ctx, c))
                .collect(),
            quotes: vec![(0.0, 0.0, 0.0); anchors.len()],
            anchors,
            focus: 0,
            objective: options.objective,
            counts: Counts::default(),
            evaluated: 0,
            budget: options.max_evaluations.max(1),
            order_cache: HashMap::new(),
            last_error: None,
            start_order,
        })
    }
}

/// Result of a search: the best mapping at each anchor and how many mappings were evaluated.
pub(crate) struct Found {
    /// Per anchor, the mapping the objective prefers there (see [`preferred`]).
    pub best: Vec<Compact>,
    pub evaluated: u64,
    pub exhaustive: bool,
}

/// Searches the best mapping for each of `anchors` (densities), in one search: every mapping
/// counted is priced at every anchor (the counts do not depend on densities), so one search
/// serves the whole range of activity a layer will be evaluated at.
///
/// Without `warm` starts, the space is enumerated when small, else searched heuristically
/// with the first anchor's objective steering; with them (the best mappings of a related
/// search: another price table, another anchor set), those that keep this search's pins are
/// the starting points instead of the heuristic's candidates. Either way each anchor's best
/// is then descended with that anchor's own objective until no move helps, so every anchor's
/// mapping is a local optimum for its own densities.
pub(crate) fn search(
    ctx: &Ctx,
    anchors: &[Densities],
    options: &SearchOptions,
    warm: &[Compact],
) -> Result<Found, MapperError> {
    let mut s = Search::new(ctx, anchors, options)?;
    let mut exhaustive = false;
    if !warm.is_empty() {
        for m in warm {
            if m.nlev == ctx.nlev && s.res.admits(ctx, m, options.per_operand_boundaries) {
                s.score(m);
            }
        }
    }
    if s.best.iter().all(Option::is_none) {
        exhaustive = cold_start(&mut s, options);
    }
    if !exhaustive {
        // Each anchor's best descended with its own objective (starting from the best so far
        // there, which a neighbouring anchor's descent may have improved).
        for k in 0..s.anchors.len() {
            let Some((_, start)) = s.best[k] else {
                continue;
            };
            s.focus = k;
            s.budget = s.evaluated.saturating_add(options.max_evaluations.max(1));
            s.descend(start);
        }
    }
    if options.per_operand_boundaries {
        s.raise_boundaries(options.max_evaluations);
    }
    tracing::debug!(
        problem = %ctx.problem.name,
        hardware = %ctx.hw.name,
        evaluated = s.evaluated,
        anchors = s.anchors.len(),
        warm = warm.len(),
        exhaustive,
        "mapped"
    );
    finish(ctx, s, exhaustive)
}

/// The search without starting points: exhaustive when the space is small (then exact at
/// every anchor, and the result says so), heuristic otherwise.
fn cold_start(s: &mut Search, options: &SearchOptions) -> bool {
    let keeps = s.keep_options();
    // Temporal placements alone (no spatial unrolling) bound the space from below; only when
    // they are few is enumerating the spatial unrollings worth it.
    let none: Spatial = vec![([1; NDIMS], [1; NDIMS]); s.ctx.nlev];
    let lower = s.exhaustive_size(std::slice::from_ref(&none));
    let mut exhaustive = false;
    if lower.saturating_mul(keeps.len() as u128) <= options.exhaustive_limit as u128 {
        let mut all_spatial = s.spatial_candidates(true, usize::MAX, 0.0, false);
        if options.uneven_spatial {
            // The stretched unrollings the heuristic would propose, enumerated beside the
            // even ones: a small layer gets them too.
            let stretched = s.stretched(&all_spatial, usize::MAX);
            all_spatial.extend(stretched);
        }
        let space = s
            .exhaustive_size(&all_spatial)
            .saturating_mul(keeps.len() as u128);
        // Loop orders multiply the space; an enumeration that would overrun the budget is not
        // started (it would end as a partial list, and the heuristic search after it).
        if space <= options.exhaustive_limit as u128
            && s.exhaustive_points(&keeps, &all_spatial, options.max_evaluations as u128)
                < options.max_evaluations as u128
        {
            exhaustive = true;
            for k in &keeps {
                for sp in &all_spatial {
                    s.exhaustive(k, sp);
                }
            }
            if s.exhausted() {
                // Loop orders made the space larger than counted: what was enumerated is
                // kept as a candidate, and the heuristic search gets its own budget.
                exhaustive = false;
                s.budget = s.evaluated.saturating_add(options.max_evaluations.max(1));
            }
        }
    }
    if !exhaustive {
        heuristic(s, options, &keeps, false);
        if s.best.iter().all(Option::is_none) {
            // Every representative unrolling broke a constraint (typically a capacity that
            // one split of the factors meets and another does not): try every split, with a
            // budget of its own.
            s.budget = s.evaluated.saturating_add(options.max_evaluations.max(1));
            heuristic(s, options, &keeps, true);
        }
    }
    exhaustive
}

/// The heuristic search: a greedy fill of every candidate unrolling, then descents from the
/// best of them.
fn heuristic(
    s: &mut Search,
    options: &SearchOptions,
    keeps: &[[u8; MAX_LEVELS]],
    every_split: bool,
) {
    {
        let even = s.spatial_candidates(
            false,
            options.spatial_candidates,
            options.min_utilization_ratio,
            every_split,
        );
        let mut spatial = even.clone();
        if options.uneven_spatial {
            spatial.extend(s.stretched(&even, options.spatial_candidates.max(8) / 8));
        }
        // Every unrolling gets a greedy bottom-up fill; the best `refined_candidates` of them
        // are then descended from it, and the best `refined_twice` also from every free factor
        // in the outermost level.
        // Bypass choices are moves of the descent here, not an outer loop: start from keeping
        // everything each level may hold.
        let keeps = &keeps[..1];
        let mut staged: Vec<(f64, usize, usize, Compact)> = Vec::new();
        for (ki, k) in keeps.iter().enumerate() {
            for (si, sp) in spatial.iter().enumerate() {
                if s.exhausted() {
                    break;
                }
                let start = s.base(k, sp, 0);
                let g = s.greedy(start);
                let v = s.score(&g);
                staged.push((v, ki, si, g));
            }
        }
        staged.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        // The uneven unrollings are refined beside the even ones, never in their place: the
        // even search is the same with them or without.
        let n_even = even.len();
        let (evens, unevens): (Vec<_>, Vec<_>) =
            staged.into_iter().partition(|(_, _, si, _)| *si < n_even);
        let refined = s
            .diversified(evens, &spatial, options.refined_candidates.max(1))
            .into_iter()
            .chain(
                unevens
                    .into_iter()
                    .take(options.refined_candidates.div_ceil(8)),
            );
        for (rank, (_, ki, si, g)) in refined.enumerate() {
            if s.exhausted() {
                break;
            }
            s.descend(g);
            if rank < options.refined_twice {
                let start = s.base(&keeps[ki], &spatial[si], 0);
                s.descend(start);
            }
        }
    }
    // The best found, its axes split otherwise between their dimensions or a whole temporal
    // factor moved, while that helps: moves the descent's one-prime steps cannot chain.
    while let Some((_, mut m)) = s.best[s.focus] {
        let mut cur = s.score(&m);
        if s.exhausted() || !(s.rebalance(&mut m, &mut cur) || s.move_whole(&mut m, &mut cur)) {
            break;
        }
        s.descend(m);
    }
}

fn finish(ctx: &Ctx, s: Search, exhaustive: bool) -> Result<Found, MapperError> {
    if s.best.iter().all(Option::is_some) {
        return Ok(Found {
            best: s
                .best
                .into_iter()
                .zip(&s.ties)
                .flat_map(|(b, ties)| ties.fastest().or(b.map(|(_, m)| m)))
                .collect(),
            evaluated: s.evaluated,
            exhaustive,
        });
    }
    let message = match s.last_error {
        Some((e, units)) => format!(
            "every candidate broke a constraint; the fullest ({units} of {} compute units) broke: {}",
            ctx.hw.total_units(),
            ctx.illegal_error(e)
        ),
        None => "no candidate to try: no spatial unrolling fits the fan-outs".into(),
    };
    Err(MapperError::NoMapping {
        problem: ctx.problem.name.clone(),
        hardware: ctx.hw.name.clone(),
        message,
    })
}

/// The mappings of one anchor within [`ENERGY_TIE`] of the least energy found so far, each
/// cheaper or faster than every other (a front of a few), so that the fastest of the final
/// tie is known whichever order the search met them in.
#[derive(Clone, Debug, Default)]
struct Ties {
    /// (energy, cycles, mapping).
    front: Vec<(f64, f64, Compact)>,
}

impl Ties {
    /// Drops what a new least energy `least` leaves out of the tie (done only when the least
    /// falls, not for every mapping scored).
    fn prune(&mut self, least: f64) {
        let tie = least * (1.0 + ENERGY_TIE);
        self.front.retain(|f| f.0 <= tie);
    }

    /// `m` scored `energy` and `cycles`; `least` is the least energy found, `m`'s included,
    /// and the front was pruned to it.
    fn offer(&mut self, energy: f64, cycles: f64, m: &Compact, least: f64) {
        let tie = least * (1.0 + ENERGY_TIE);
        if !(energy.is_finite() && cycles.is_finite())
            || energy > tie
            || self.front.iter().any(|f| f.0 <= energy && f.1 <= cycles)
        {
            return;
        }
        self.front.retain(|f| !(energy <= f.0 && cycles <= f.1));
        self.front.push((energy, cycles, *m));
    }

    /// The fastest of the tie (the cheaper of equally fast ones), as [`preferred`] picks.
    fn fastest(&self) -> Option<Compact> {
        let scored: Vec<(f64, f64)> = self.front.iter().map(|f| (f.0, f.1)).collect();
        preferred(Objective::Energy, &scored).map(|i| self.front[i].2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_energy_tie_goes_to_the_fastest_and_other_objectives_take_the_least() {
        // 0.03 % more energy for an eighth of the cycles: a tie, broken by latency.
        let scored = [
            (1000.0, 800.0),
            (1000.3, 100.0),
            (1002.0, 10.0),
            (f64::NAN, 1.0),
        ];
        assert_eq!(preferred(Objective::Energy, &scored), Some(1));
        assert_eq!(preferred(Objective::Latency, &scored), Some(0));
        assert_eq!(preferred(Objective::Edp, &scored[..3]), Some(0));
        // Equally fast: the cheaper; equal in both: the first.
        assert_eq!(
            preferred(Objective::Energy, &[(1000.5, 5.0), (1000.0, 5.0)]),
            Some(1)
        );
        assert_eq!(
            preferred(Objective::Energy, &[(7.0, 5.0), (7.0, 5.0)]),
            Some(0)
        );
        assert_eq!(preferred(Objective::Energy, &[]), None);
        assert_eq!(preferred(Objective::Energy, &[(f64::INFINITY, 1.0)]), None);
    }

    #[test]
    fn the_tie_kept_while_searching_picks_what_the_final_least_energy_allows() {
        let m = |k: u32| {
            let mut c = Compact::new(1);
            c.tf[0][0] = k;
            c
        };
        let mut ties = Ties::default();
        let mut least = f64::INFINITY;
        // Met in this order: a fast one near the first least, slower and cheaper ones, a
        // dominated one, and a new least that leaves the first fast one out of the tie.
        for (k, energy, cycles) in [
            (1, 1000.0, 50.0),
            (2, 1000.5, 10.0),
            (3, 999.0, 40.0),
            (4, 999.9, 45.0),
            (5, 998.9, 60.0),
        ] {
            if energy < least {
                least = energy;
                ties.prune(least);
            }
            ties.offer(energy, cycles, &m(k), least);
        }
        // Within 0.1 % of 998.9: 999.0 (40 cycles), 999.9 (45, dominated), 998.9 (60).
        assert_eq!(ties.fastest(), Some(m(3)));
        let kept: Vec<u32> = ties.front.iter().map(|f| f.2.tf[0][0]).collect();
        assert_eq!(kept, vec![3, 5]);
    }
}
