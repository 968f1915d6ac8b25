//! Per-operand boundaries proposed by the search (`SearchOptions::per_operand_boundaries`,
//! off by default): from each anchor's best mapping, a greedy pass that lets the weights,
//! inputs or partial sums kept at a level take in one more of the loops directly above it
//! while the objective improves. After the descents, so that the search without it is
//! unchanged.

use super::Search;
use crate::mapping::Compact;
use crate::problem::DataSpace;

impl Search<'_, '_> {
    /// Raises boundaries one loop at a time from each anchor's best, within `budget` more
    /// evaluations per anchor; pinned boundaries are left as pinned.
    pub(super) fn raise_boundaries(&mut self, budget: u64) {
        const SPACES: [DataSpace; 3] = [DataSpace::Weights, DataSpace::Inputs, DataSpace::Accum];
        for k in 0..self.anchors.len() {
            let Some((cur, start)) = self.best[k] else {
                continue;
            };
            self.focus = k;
            self.budget = self.evaluated.saturating_add(budget.max(1));
            let (mut m, mut cur) = (start, cur);
            loop {
                let mut best: Option<(f64, Compact)> = None;
                for l in 1..self.ctx.nlev {
                    for ds in SPACES.map(DataSpace::index) {
                        if m.keep[l] & (1 << ds) == 0 || self.res.raise[l][ds] != 0 {
                            continue;
                        }
                        let mut c = m;
                        c.raise[l][ds] += 1;
                        let v = self.score(&c);
                        if v < best.as_ref().map_or(cur, |b| b.0) * (1.0 - 1e-12) {
                            best = Some((v, c));
                        }
                    }
                }
                match best {
                    Some((v, c)) if !self.exhausted() => (m, cur) = (c, v),
                    _ => break,
                }
            }
        }
    }
}
