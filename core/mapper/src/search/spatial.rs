//! Spatial unrollings: which dimensions each array axis spreads over its children, the
//! candidates the heuristic search fills (one per set of unrolled dimensions, the fullest and
//! the most reusing), and the bypass choices.

use std::collections::BTreeSet;

use super::orders::divisors;
use super::{Search, Spatial};
use crate::hardware::Bypass;
use crate::mapping::{Compact, MAX_LEVELS};
use crate::model::{Counts, Illegal};
use crate::problem::{DataSpace, Kind, NDIMS, NSPACES};

impl Search<'_, '_> {
    /// Spatial choices per level: (x factors, y factors, used instances).
    pub(super) fn spatial_options(
        &self,
        l: usize,
        exhaustive: bool,
    ) -> Vec<([u32; NDIMS], [u32; NDIMS], u64)> {
        let fan = self.ctx.hw.fanout(l);
        let dims = self.ctx.dims;
        let snn = self.ctx.problem.searched_as() == Kind::Snn;
        let res = &self.res;
        let axis = |size: u64, allow: u16, fixed: &[Option<u32>; NDIMS], avail: &[u64; NDIMS]| {
            // Choices of up to two dimensions (more if fixed) whose factors fit `size`.
            let mut base = [1u32; NDIMS];
            let mut used = 1u64;
            for d in 0..NDIMS {
                if let Some(f) = fixed[d] {
                    base[d] = f;
                    used *= f as u64;
                }
            }
            let mut out: Vec<([u32; NDIMS], u64)> = Vec::new();
            if used > size {
                return out;
            }
            out.push((base, used));
            let free: Vec<usize> = (0..NDIMS)
                .filter(|&d| {
                    allow & (1 << d) != 0
                        && fixed[d].is_none()
                        && avail[d] > 1
                        && !(snn && d == 8 && res.tf[l][d].is_none() && allow == (1 << NDIMS) - 1)
                })
                .collect();
            let max_dims = if exhaustive { free.len() } else { 2 };
            #[allow(clippy::too_many_arguments)]
            fn rec(
                free: &[usize],
                start: usize,
                depth: usize,
                cur: [u32; NDIMS],
                used: u64,
                size: u64,
                avail: &[u64; NDIMS],
                out: &mut Vec<([u32; NDIMS], u64)>,
            ) {
                if depth == 0 {
                    return;
                }
                for i in start..free.len() {
                    let d = free[i];
                    for f in divisors(avail[d]) {
                        if f == 1 || used * f > size {
                            continue;
                        }
                        let mut c = cur;
                        c[d] = f as u32;
                        out.push((c, used * f));
                        rec(free, i + 1, depth - 1, c, used * f, size, avail, out);
                    }
                }
            }
            rec(&free, 0, max_dims, base, used, size, avail, &mut out);
            out
        };
        let mut avail = dims;
        for d in 0..NDIMS {
            for f in [res.tf[l][d], res.sx[l][d], res.sy[l][d]]
                .into_iter()
                .flatten()
            {
                avail[d] /= f as u64;
            }
        }
        let xs = axis(fan[0], res.allow_x[l], &res.sx[l], &avail);
        let mut out = Vec::new();
        for (x, ux) in &xs {
            let mut av = avail;
            for d in 0..NDIMS {
                if res.sx[l][d].is_none() {
                    av[d] /= x[d] as u64;
                }
            }
            for (y, uy) in axis(fan[1], res.allow_y[l], &res.sy[l], &av) {
                out.push((*x, y, ux * uy));
            }
        }
        out
    }

    /// Spatial unrollings to try. Outside the exhaustive search one unrolling stands for each
    /// set of unrolled dimensions, unless `every_split` keeps each split of the factors among
    /// them (K4×P32 and K64×P2 differ in what each instance holds).
    pub(super) fn spatial_candidates(
        &mut self,
        exhaustive: bool,
        limit: usize,
        ratio: f64,
        every_split: bool,
    ) -> Vec<Spatial> {
        let mut combos: Vec<(Spatial, u64)> = vec![(Vec::new(), 1)];
        for l in 0..self.ctx.nlev {
            let mut next = self.extend_unrollings(&combos, l, exhaustive);
            if !exhaustive {
                self.representatives(&mut next, ratio, every_split);
                next.truncate(limit.max(1) * 16);
            }
            combos = next;
        }
        if !exhaustive {
            self.drop_overflowing(&mut combos);
            if combos.len() > limit.max(1) {
                self.fullest_and_most_reusing(&mut combos, limit.max(1));
            }
        }
        combos.into_iter().map(|(s, _)| s).collect()
    }

    /// Uneven variants of the unrollings: where a dimension unrolled on one axis alone leaves
    /// the axis partly idle because no divisor of it fits better, its factor stretched to the
    /// balanced ceil split of the axis (C = 64 on 14 PEs: 13 over 5 folds, not 8 over 8), the
    /// last fold partial. At most `limit`, those that fill their array most over the
    /// original first; only those that gain a quarter or more.
    pub(super) fn stretched(&self, combos: &[Spatial], limit: usize) -> Vec<Spatial> {
        let mut out: Vec<(f64, Spatial)> = Vec::new();
        for s in combos {
            let mut best: Option<(f64, Spatial)> = None;
            for (l, (x, y)) in s.iter().enumerate() {
                let fan = self.ctx.hw.fanout(l);
                for (axis, v) in [(0, x), (1, y)] {
                    for d in 0..NDIMS {
                        let Some(f) = self.stretch(s, v, fan[axis], d) else {
                            continue;
                        };
                        let gain = f as f64 / v[d] as f64;
                        if gain >= 1.25 && best.as_ref().is_none_or(|b| gain > b.0) {
                            let mut s2 = s.clone();
                            let factors = if axis == 0 {
                                &mut s2[l].0
                            } else {
                                &mut s2[l].1
                            };
                            factors[d] = f as u32;
                            best = Some((gain, s2));
                        }
                    }
                }
            }
            out.extend(best);
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0));
        out.into_iter().take(limit).map(|(_, c)| c).collect()
    }

    /// The balanced ceil split of dimension `d` over what an axis of `fan` children whose
    /// factors are `v` leaves it, if `d` is unrolled there and nowhere else, free of fixed
    /// factors, and the split does not divide it.
    fn stretch(&self, s: &Spatial, v: &[u32; NDIMS], fan: u64, d: usize) -> Option<u64> {
        let res = &self.res;
        let f = v[d] as u64;
        let elsewhere: u64 = s
            .iter()
            .map(|(a, b)| a[d] as u64 * b[d] as u64)
            .product::<u64>()
            / f;
        let fixed = (0..self.ctx.nlev)
            .any(|j| res.tf[j][d].is_some() || res.sx[j][d].is_some() || res.sy[j][d].is_some());
        // Uneven factors of the input window's dimensions are not counted.
        let window = (4..8).contains(&d);
        if f <= 1 || elsewhere != 1 || fixed || window {
            return None;
        }
        let others: u64 = v.iter().map(|&x| x as u64).product::<u64>() / f;
        let (size, cap) = (self.ctx.dims[d], fan / others);
        if cap <= f || size <= cap {
            return None;
        }
        let balanced = size.div_ceil(size.div_ceil(cap));
        (!size.is_multiple_of(balanced)).then_some(balanced)
    }

    /// Every unrolling of levels `0..l` in `combos` extended by each of level `l`'s options
    /// whose factors, with those above, still divide every dimension.
    fn extend_unrollings(
        &self,
        combos: &[(Spatial, u64)],
        l: usize,
        exhaustive: bool,
    ) -> Vec<(Spatial, u64)> {
        let opts = self.spatial_options(l, exhaustive);
        let mut next = Vec::new();
        for (s, u) in combos {
            // What the levels above already unroll, per dimension: once per unrolling, not
            // once per option.
            let above: [u64; NDIMS] = std::array::from_fn(|d| {
                s.iter()
                    .map(|(a, b)| a[d] as u64 * b[d] as u64)
                    .product::<u64>()
            });
            for (x, y, uu) in &opts {
                // A pinned factor may split a dimension unevenly (the constraints checked
                // that the pinned factors cover it); a searched one divides what is left.
                let pinned = |d: usize| {
                    (x[d] == 1 || self.res.sx[l][d].is_some())
                        && (y[d] == 1 || self.res.sy[l][d].is_some())
                };
                let ok = (0..NDIMS).all(|d| {
                    let here = x[d] as u64 * y[d] as u64;
                    let dim = self.ctx.dims[d];
                    dim.is_multiple_of(above[d] * here)
                        || (pinned(d) && (here > 1 || !dim.is_multiple_of(above[d])))
                });
                if ok {
                    let mut s2 = Vec::with_capacity(s.len() + 1);
                    s2.extend_from_slice(s);
                    s2.push((*x, *y));
                    next.push((s2, u * uu));
                }
            }
        }
        next
    }

    /// Keeps the best unrolling of each set of unrolled dimensions (with `every_split`, of
    /// each split of their factors) using at least `ratio` of the fullest's instances: fuller
    /// arrays first; among equals, fewer unrolled dimensions (simpler networks), then
    /// enumeration order.
    fn representatives(&self, next: &mut Vec<(Spatial, u64)>, ratio: f64, every_split: bool) {
        let ndims = |s: &Spatial| -> u32 {
            s.iter()
                .map(|(a, b)| {
                    (0..NDIMS).filter(|&d| a[d] > 1).count() as u32
                        + (0..NDIMS).filter(|&d| b[d] > 1).count() as u32
                })
                .sum()
        };
        // Keys worked out once per unrolling, not once per comparison (the lists hold
        // thousands); the sort is stable, so equals keep their enumeration order.
        next.sort_by_cached_key(|(s, u)| (std::cmp::Reverse(*u), ndims(s)));
        // On a square fan-out X and Y are interchangeable: one of each mirror pair.
        let level_key = |l: usize, a: &[u32; NDIMS], b: &[u32; NDIMS]| {
            let m = |v: &[u32; NDIMS]| {
                (0..NDIMS)
                    .filter(|&d| v[d] > 1)
                    .fold(0u16, |m, d| m | (1 << d))
            };
            let fan = self.ctx.hw.fanout(l);
            let (x, y, fx, fy) = (m(a), m(b), *a, *b);
            if fan[0] == fan[1] && (x, fx) > (y, fy) {
                (y, x, fy, fx)
            } else {
                (x, y, fx, fy)
            }
        };
        let best = next.first().map(|x| x.1).unwrap_or(1) as f64;
        if every_split {
            type Group = Vec<(u16, u16, [u32; NDIMS], [u32; NDIMS])>;
            let mut groups: BTreeSet<Group> = BTreeSet::new();
            next.retain(|(s, u)| {
                let key: Group = s
                    .iter()
                    .enumerate()
                    .map(|(l, (a, b))| level_key(l, a, b))
                    .collect();
                (*u as f64) >= ratio * best && groups.insert(key)
            });
        } else {
            // Only which dimensions each axis unrolls: two masks of nine bits per level.
            let mut groups: BTreeSet<[u32; MAX_LEVELS]> = BTreeSet::new();
            next.retain(|(s, u)| {
                let mut key = [0u32; MAX_LEVELS];
                for (l, (a, b)) in s.iter().enumerate() {
                    let (x, y, _, _) = level_key(l, a, b);
                    key[l] = (x as u32) << 16 | y as u32;
                }
                (*u as f64) >= ratio * best && groups.insert(key)
            });
        }
    }

    /// Drops the unrollings whose smallest tiles (every free loop outermost) already overflow
    /// a level no other may relieve: data resident below the outermost level (weights
    /// stationary in PEs) must be spread over enough instances. If none is left, the reasons
    /// are kept so that the error names the level and the sizes that ruled them out.
    fn drop_overflowing(&mut self, combos: &mut Vec<(Spatial, u64)>) {
        let n = self.ctx.nlev;
        let keep = self.keep_options()[0];
        let mut counts = Counts::default();
        // Only a data space that one level alone may hold cannot escape an overflow by
        // bypassing it.
        let only_at = |ds: usize| {
            (0..n)
                .filter(|&l| self.ctx.may_hold[l] & (1 << ds) != 0)
                .count()
                == 1
        };
        let mut rejected: Vec<(Illegal, f64)> = Vec::new();
        combos.retain(|(s, _)| {
            let mut m = self.base(&keep, s, 0);
            if !self.sanitize(&mut m) {
                rejected.push((Self::unfinished(&m), 0.0));
                return false;
            }
            match self.ctx.count(&m, &mut counts) {
                Err(e @ Illegal::Capacity(_, ds, _, _)) if only_at(ds) => {
                    rejected.push((e, counts.units_used));
                    false
                }
                _ => true,
            }
        });
        if combos.is_empty() {
            for (e, u) in rejected {
                self.reject(e, u);
            }
        }
    }

    /// Half of the `limit` places go to the fullest arrays, half to the unrollings that reuse
    /// most (multicast of weights and inputs, reduction of partial sums), weighted by how full
    /// they keep the array: an energy optimum often trades a few idle PEs for reuse.
    fn fullest_and_most_reusing(&self, combos: &mut Vec<(Spatial, u64)>, limit: usize) {
        let half = limit.div_ceil(2);
        let mut rest = combos.split_off(half);
        let score = |sp: &Spatial, used: u64| -> f64 {
            let mut reuse = 1.0f64;
            for (l, (x, y)) in sp.iter().enumerate() {
                let net = &self.ctx.hw.levels[l].network;
                for d in 0..NDIMS {
                    let f = x[d] as f64 * y[d] as f64;
                    if f <= 1.0 {
                        continue;
                    }
                    for ds in [DataSpace::Weights, DataSpace::Inputs] {
                        if net.multicast && ds.relevant_mask() & (1 << d) == 0 {
                            reuse *= f;
                        }
                    }
                    if net.reduction && matches!(d, 3 | 6 | 7) {
                        reuse *= f;
                    }
                }
            }
            used as f64 * reuse.cbrt()
        };
        rest.sort_by(|a, b| score(&b.0, b.1).total_cmp(&score(&a.0, a.1)));
        rest.truncate(limit - half);
        combos.extend(rest);
    }

    /// What an unrolling reuses across its instances, per level: three bits (weights
    /// multicast, inputs multicast, partial sums reduced) for each level that unrolls. The
    /// greedy fill ranks some of these dataflows systematically low (a reduction over C
    /// needs partial sums kept above the array, which the bottom-up fill reaches late), so
    /// the refinement takes the best of each before the rest.
    pub(super) fn reuse_class(&self, sp: &Spatial) -> u32 {
        let mut class = 0u32;
        for (l, (x, y)) in sp.iter().enumerate() {
            for d in 0..NDIMS {
                if x[d] as u64 * y[d] as u64 <= 1 {
                    continue;
                }
                let mut bits = 0u32;
                if DataSpace::Weights.relevant_mask() & (1 << d) == 0 {
                    bits |= 1;
                }
                if DataSpace::Inputs.relevant_mask() & (1 << d) == 0 {
                    bits |= 2;
                }
                if DataSpace::Accum.relevant_mask() & (1 << d) == 0 {
                    bits |= 4;
                }
                class |= bits << (3 * l);
            }
        }
        class
    }

    /// The greedy fills to refine: the best `take` in greedy order, then the best of each
    /// reuse class not among them (at most `take / 2` of those), beside them, never in
    /// their place.
    pub(super) fn diversified(
        &self,
        staged: Vec<(f64, usize, usize, Compact)>,
        spatial: &[Spatial],
        take: usize,
    ) -> Vec<(f64, usize, usize, Compact)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut extra = 0;
        for (i, c) in staged.into_iter().enumerate() {
            let class = self.reuse_class(&spatial[c.2]);
            let leads = c.0.is_finite() && seen.insert(class);
            if i < take || (leads && extra < take / 2) {
                extra += usize::from(i >= take);
                out.push(c);
            }
        }
        out
    }

    pub(super) fn keep_options(&self) -> Vec<[u8; MAX_LEVELS]> {
        let n = self.ctx.nlev;
        let mut opts: Vec<[u8; MAX_LEVELS]> = vec![[0; MAX_LEVELS]];
        for l in 0..n {
            let hold = self.ctx.may_hold[l];
            let choices: Vec<u8> = if let Some(k) = self.res.keep[l] {
                vec![k]
            } else if self.ctx.hw.levels[l].bypass == Bypass::Auto {
                let bits: Vec<u8> = (0..NSPACES as u8)
                    .filter(|b| hold & (1 << b) != 0)
                    .collect();
                (0..1u16 << bits.len())
                    .map(|s| {
                        bits.iter()
                            .enumerate()
                            .filter(|(i, _)| s & (1 << i) != 0)
                            .fold(0u8, |m, (_, b)| m | (1 << b))
                    })
                    .rev()
                    .collect()
            } else {
                vec![hold]
            };
            let mut next = Vec::new();
            for o in &opts {
                for c in &choices {
                    let mut o2 = *o;
                    o2[l] = *c;
                    next.push(o2);
                }
            }
            next.truncate(256);
            opts = next;
        }
        opts
    }
}
