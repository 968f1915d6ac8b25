//! The moves of the local search: one prime factor between two levels or between a spatial
//! and a temporal loop, another loop order,
//! another storage format, another bypass choice; descents that repeat them while one helps,
//! and the greedy bottom-up fill that starts them.

use std::rc::Rc;

use super::Search;
use super::orders::{divisors, orders, primes};
use crate::hardware::Bypass;
use crate::mapping::Compact;
use crate::problem::{NDIMS, NSPACES};

impl Search<'_, '_> {
    /// The distinct orders of level `l`'s loops in `mask`, shared rather than copied: a
    /// level's list may hold thousands and is walked once per descent pass.
    pub(super) fn level_orders(&mut self, mask: u16, l: usize) -> Rc<[[u8; NDIMS]]> {
        let kind = self.ctx.problem.searched_as();
        let (prefix, outer) = (&self.res.prefix[l], &self.res.outer[l]);
        self.order_cache
            .entry((mask, l))
            .or_insert_with(|| orders(mask, prefix, outer, kind).into())
            .clone()
    }

    pub(super) fn mask(m: &Compact, l: usize) -> u16 {
        (0..NDIMS)
            .filter(|&d| m.tf[l][d] > 1)
            .fold(0u16, |a, d| a | (1 << d))
    }

    /// Best order at every level (coordinate descent, one pass).
    pub(super) fn improve_orders(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let mut improved = false;
        for l in 0..self.ctx.nlev {
            let mask = Self::mask(m, l);
            if mask.count_ones() < 2
                && self.res.prefix[l].is_empty()
                && self.res.outer[l].is_empty()
            {
                continue;
            }
            for &o in self.level_orders(mask, l).iter() {
                if self.exhausted() {
                    return improved;
                }
                if o == m.order[l] {
                    continue;
                }
                let mut c = *m;
                c.order[l] = o;
                let v = self.score(&c);
                if v < *cur * (1.0 - 1e-12) {
                    *m = c;
                    *cur = v;
                    improved = true;
                }
            }
        }
        improved
    }

    /// Moves of one prime factor of one dimension between two levels; first improvement.
    pub(super) fn improve_factors(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let n = self.ctx.nlev;
        let mut improved = false;
        for d in 0..NDIMS {
            for a in 0..n {
                if self.res.tf[a][d].is_some() || m.tf[a][d] == 1 {
                    continue;
                }
                let ps = primes(m.tf[a][d] as u64);
                let mut uniq = ps.clone();
                uniq.dedup();
                for b in 0..n {
                    if b == a || self.res.tf[b][d].is_some() {
                        continue;
                    }
                    for &p in &uniq {
                        if self.exhausted() || !(m.tf[a][d] as u64).is_multiple_of(p) {
                            return improved;
                        }
                        let mut c = *m;
                        c.tf[a][d] /= p as u32;
                        c.tf[b][d] *= p as u32;
                        let v = self.score(&c);
                        if v < *cur * (1.0 - 1e-12) {
                            *m = c;
                            *cur = v;
                            improved = true;
                            break;
                        }
                    }
                    if m.tf[a][d] == 1 {
                        break;
                    }
                }
            }
        }
        improved
    }

    /// Moves of one prime factor of one dimension between a spatial loop and a temporal
    /// one, either way; first improvement. The candidate unrollings hold one split of the
    /// factors per set of unrolled dimensions (the fullest): these moves reach the others
    /// (K10×C4 where the list had K2×C32), and trade idle units for reuse.
    pub(super) fn improve_spatial(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let n = self.ctx.nlev;
        let mut improved = false;
        for l in 0..n {
            for axis in 0..2 {
                let (allow, fixed) = if axis == 0 {
                    (self.res.allow_x[l], &self.res.sx[l])
                } else {
                    (self.res.allow_y[l], &self.res.sy[l])
                };
                let fixed = *fixed;
                for d in 0..NDIMS {
                    if allow & (1 << d) == 0 || fixed[d].is_some() {
                        continue;
                    }
                    for b in 0..n {
                        if self.res.tf[b][d].is_some() {
                            continue;
                        }
                        for inward in [false, true] {
                            if self.exhausted() {
                                return improved;
                            }
                            if self.spatial_move(m, cur, (l, axis, d), b, inward) {
                                improved = true;
                            }
                        }
                    }
                }
            }
        }
        improved
    }

    /// One prime of `d` from the temporal loop at level `b` into the spatial loop of level
    /// `l` on `axis` (`inward`), or back; the first prime that lowers the objective is kept.
    fn spatial_move(
        &mut self,
        m: &mut Compact,
        cur: &mut f64,
        (l, axis, d): (usize, usize, usize),
        b: usize,
        inward: bool,
    ) -> bool {
        let s = |c: &Compact| if axis == 0 { c.sx[l][d] } else { c.sy[l][d] };
        let from = if inward { m.tf[b][d] } else { s(m) };
        let mut ps = primes(from as u64);
        ps.dedup();
        for p in ps {
            let p = p as u32;
            let mut c = *m;
            let sp = if axis == 0 {
                &mut c.sx[l][d]
            } else {
                &mut c.sy[l][d]
            };
            if inward {
                *sp *= p;
                c.tf[b][d] /= p;
            } else {
                *sp /= p;
                c.tf[b][d] *= p;
            }
            let v = self.score(&c);
            if v < *cur * (1.0 - 1e-12) {
                *m = c;
                *cur = v;
                return true;
            }
        }
        false
    }

    /// Moves of a dimension's whole temporal factor between two levels, where it is a product
    /// of primes: a time loop of 6 moved innermost keeps the membrane in the PEs, while
    /// either of its primes alone still streams it. First improvement.
    pub(super) fn move_whole(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let n = self.ctx.nlev;
        for d in 0..NDIMS {
            for a in 0..n {
                if self.res.tf[a][d].is_some() || primes(m.tf[a][d] as u64).len() < 2 {
                    continue;
                }
                for b in 0..n {
                    if b == a || self.res.tf[b][d].is_some() {
                        continue;
                    }
                    if self.exhausted() {
                        return false;
                    }
                    let mut c = *m;
                    c.tf[b][d] *= c.tf[a][d];
                    c.tf[a][d] = 1;
                    let v = self.score(&c);
                    if v < *cur * (1.0 - 1e-12) {
                        *m = c;
                        *cur = v;
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Another split of one array axis between two dimensions: part of `d1`'s spatial factor
    /// back to a temporal loop and as much of `d2`'s temporal factor at the same level as the
    /// freed instances take (K2×C32 to K10×C4 on 64 PEs). Moves of one prime cannot get
    /// there: each step alone idles units or overflows the axis. First improvement.
    pub(super) fn rebalance(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let n = self.ctx.nlev;
        for l in 0..n {
            for axis in 0..2 {
                let (allow, fixed) = if axis == 0 {
                    (self.res.allow_x[l], self.res.sx[l])
                } else {
                    (self.res.allow_y[l], self.res.sy[l])
                };
                let free = |d: usize| allow & (1 << d) != 0 && fixed[d].is_none();
                let fan = self.ctx.hw.fanout(l)[axis];
                let v = if axis == 0 { m.sx[l] } else { m.sy[l] };
                let used: u64 = v.iter().map(|&f| f as u64).product();
                for d1 in (0..NDIMS).filter(|&d| v[d] > 1 && free(d)) {
                    for d2 in (0..NDIMS).filter(|&d| d != d1 && free(d)) {
                        for b in 0..n {
                            if self.res.tf[b][d1].is_some()
                                || self.res.tf[b][d2].is_some()
                                || m.tf[b][d2] == 1
                            {
                                continue;
                            }
                            for f1 in divisors(v[d1] as u64).into_iter().skip(1) {
                                let room = fan / (used / f1);
                                let Some(f2) = divisors(m.tf[b][d2] as u64)
                                    .into_iter()
                                    .rfind(|&f| f <= room)
                                    .filter(|&f| f > 1)
                                else {
                                    continue;
                                };
                                if self.exhausted() {
                                    return false;
                                }
                                let mut c = *m;
                                let sp = if axis == 0 {
                                    &mut c.sx[l]
                                } else {
                                    &mut c.sy[l]
                                };
                                sp[d1] /= f1 as u32;
                                sp[d2] *= f2 as u32;
                                c.tf[b][d1] *= f1 as u32;
                                c.tf[b][d2] /= f2 as u32;
                                let val = self.score(&c);
                                if val < *cur * (1.0 - 1e-12) {
                                    *m = c;
                                    *cur = val;
                                    return true;
                                }
                            }
                        }
                    }
                }
            }
        }
        false
    }

    pub(super) fn improve_formats(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let mut improved = false;
        for l in 0..self.ctx.nlev {
            let nf = self.ctx.hw.levels[l].formats.len() as u8;
            for which in 0..2 {
                let fixed = if which == 0 {
                    self.res.fin[l]
                } else {
                    self.res.fout[l]
                };
                if fixed.is_some() || nf < 2 {
                    continue;
                }
                for f in 0..nf {
                    let mut c = *m;
                    if which == 0 {
                        c.fin[l] = f;
                    } else {
                        c.fout[l] = f;
                    }
                    if c == *m {
                        continue;
                    }
                    let v = self.score(&c);
                    if v < *cur * (1.0 - 1e-12) {
                        *m = c;
                        *cur = v;
                        improved = true;
                    }
                }
            }
        }
        improved
    }

    /// Bypass choices of levels whose bypass is automatic: toggle one data space at a time.
    pub(super) fn improve_keeps(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let mut improved = false;
        for l in 0..self.ctx.nlev {
            if self.res.keep[l].is_some() || self.ctx.hw.levels[l].bypass != Bypass::Auto {
                continue;
            }
            for b in 0..NSPACES as u8 {
                if self.ctx.may_hold[l] & (1 << b) == 0 || self.exhausted() {
                    continue;
                }
                let mut c = *m;
                c.keep[l] ^= 1 << b;
                let v = self.score(&c);
                if v < *cur * (1.0 - 1e-12) {
                    *m = c;
                    *cur = v;
                    improved = true;
                }
            }
        }
        improved
    }

    /// One pass each of factor moves, orders, formats, bypass and unrollings, while any of
    /// them helps. A pass that found nothing is not run again until another pass has moved
    /// the mapping: it would score the same neighbours to the same figures (which change no
    /// anchor's best either), so the descent ends where it would have, having counted less.
    pub(super) fn descend(&mut self, m: Compact) {
        self.descend_skipping(m, true);
    }

    /// [`Search::descend`], with passes that found nothing skipped until the mapping moves
    /// (`skip_idle`) or run again every round.
    fn descend_skipping(&mut self, mut m: Compact, skip_idle: bool) {
        const PASSES: usize = 5;
        let mut cur = self.score(&m);
        // How many moves the mapping has taken, and at which of those each pass last found
        // nothing.
        let mut moved = 0u32;
        let mut idle_since = [None; PASSES];
        for _ in 0..200 {
            if self.exhausted() {
                break;
            }
            let mut any = false;
            for (pass, idle) in idle_since.iter_mut().enumerate() {
                if skip_idle && *idle == Some(moved) {
                    continue;
                }
                let improved = match pass {
                    0 => self.improve_factors(&mut m, &mut cur),
                    1 => self.improve_orders(&mut m, &mut cur),
                    2 => self.improve_formats(&mut m, &mut cur),
                    3 => self.improve_keeps(&mut m, &mut cur),
                    _ => self.improve_spatial(&mut m, &mut cur),
                };
                if improved {
                    moved += 1;
                    any = true;
                } else {
                    *idle = Some(moved);
                }
            }
            if !any {
                break;
            }
        }
    }

    /// Bottom-up greedy: from the innermost level out, pull prime factors from the
    /// outermost level while the objective improves.
    pub(super) fn greedy(&mut self, mut m: Compact) -> Compact {
        let n = self.ctx.nlev;
        let mut cur = self.score(&m);
        for l in (1..n).rev() {
            loop {
                let mut best: Option<(f64, Compact)> = None;
                for d in 0..NDIMS {
                    if self.res.tf[l][d].is_some() || self.res.tf[0][d].is_some() || m.tf[0][d] == 1
                    {
                        continue;
                    }
                    // One prime at a time, or the whole remaining factor at once (single
                    // primes of a dimension rarely pay off alone).
                    let mut ps = primes(m.tf[0][d] as u64);
                    ps.dedup();
                    if ps.len() > 1 || primes(m.tf[0][d] as u64).len() > 1 {
                        ps.push(m.tf[0][d] as u64);
                    }
                    for p in ps {
                        let mut c = m;
                        c.tf[0][d] /= p as u32;
                        c.tf[l][d] *= p as u32;
                        let v = self.score(&c);
                        if v < best.as_ref().map(|b| b.0).unwrap_or(cur) * (1.0 - 1e-12) {
                            best = Some((v, c));
                        }
                    }
                }
                match best {
                    Some((v, c)) if !self.exhausted() => {
                        m = c;
                        cur = v;
                    }
                    _ => break,
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Search, SearchOptions};
    use crate::hardware::{Hardware, SHIPPED};
    use crate::model::Ctx;
    use crate::pricing::OwnPrices;
    use crate::problem::{Densities, Problem};

    /// From the greedy fill of each spatial candidate, a descent that skips its idle passes
    /// takes the same moves as one that runs every pass every round: it ends at the same
    /// mapping, every anchor keeps the same best, and it counts fewer mappings.
    #[test]
    fn a_descent_skipping_idle_passes_ends_where_running_them_all_would() {
        let anchors = [0.02, 0.1, 0.5].map(Densities::uniform);
        let layers = [
            Problem::conv("conv", 64, 32, 16, 16, 3, 3, 1),
            Problem::conv("snn", 32, 16, 8, 8, 3, 3, 1).into_snn(4, 16),
            Problem::linear("fc", 100, 256),
        ];
        let mut skipped_total = 0;
        for (_, text) in SHIPPED {
            let hw = Hardware::from_toml(text).unwrap();
            for p in &layers {
                let prices = Ctx::prices(p, &hw, &OwnPrices).unwrap();
                let ctx = Ctx::new(p, &hw, prices).unwrap();
                let options = SearchOptions::default();
                let mut every = Search::new(&ctx, &anchors, &options).unwrap();
                let mut skip = Search::new(&ctx, &anchors, &options).unwrap();
                let keeps = every.keep_options();
                let spatial = every.spatial_candidates(false, 12, 0.02, false);
                assert!(!spatial.is_empty(), "{} on {}", p.name, hw.name);
                for sp in &spatial {
                    for (k, s) in [&mut every, &mut skip].into_iter().enumerate() {
                        let start = s.base(&keeps[0], sp, 0);
                        let g = s.greedy(start);
                        s.descend_skipping(g, k == 1);
                    }
                    let bests =
                        |s: &Search| s.best.iter().map(|b| b.map(|(_, m)| m)).collect::<Vec<_>>();
                    assert_eq!(bests(&every), bests(&skip), "{} on {}", p.name, hw.name);
                }
                assert!(skip.evaluated <= every.evaluated);
                skipped_total += every.evaluated - skip.evaluated;
            }
        }
        assert!(skipped_total > 0, "no descent had an idle pass to skip");
    }
}
