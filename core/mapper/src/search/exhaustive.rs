//! Exhaustive enumeration of small spaces: every factorization of every dimension over the
//! free levels, every distinct loop order, every format; and the size of that space.

use super::orders::divisors;
use super::{Search, Spatial};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::problem::NDIMS;

impl Search<'_, '_> {
    /// Ordered factorizations of `n` into `slots` factors.
    pub(super) fn splits(n: u64, slots: usize) -> Vec<Vec<u64>> {
        if slots == 1 {
            return vec![vec![n]];
        }
        let mut out = Vec::new();
        for f in divisors(n) {
            for mut rest in Self::splits(n / f, slots - 1) {
                rest.insert(0, f);
                out.push(rest);
            }
        }
        out
    }

    /// How many ordered factorizations of `n` into `slots` factors there are (what
    /// `splits(n, slots).len()` enumerates), without enumerating them: each prime power
    /// `p^e` of `n` is spread over the slots in C(e + slots − 1, slots − 1) ways, and the
    /// primes spread independently. Sizing the space is done for every candidate unrolling
    /// of every search, so it must not build the lists it counts.
    pub(super) fn split_count(n: u64, slots: usize) -> u128 {
        if slots <= 1 {
            return slots as u128;
        }
        if n == 0 {
            return 0;
        }
        let ways = |e: u32| -> u128 {
            // C(e + slots − 1, e), exact at every step: the running product of i consecutive
            // integers is divisible by i!.
            let mut c: u128 = 1;
            for i in 1..=e as u128 {
                c = c.saturating_mul(slots as u128 - 1 + i) / i;
            }
            c
        };
        let (mut rest, mut total, mut p) = (n, 1u128, 2u64);
        while p * p <= rest {
            let mut e = 0;
            while rest.is_multiple_of(p) {
                rest /= p;
                e += 1;
            }
            total = total.saturating_mul(ways(e));
            p += 1;
        }
        if rest > 1 {
            total = total.saturating_mul(ways(1));
        }
        total
    }

    /// Size of the exhaustive space (temporal placements × orders ignored: a lower estimate
    /// that already decides whether enumeration is affordable).
    pub(super) fn exhaustive_size(&self, spatial: &[Spatial]) -> u128 {
        let n = self.ctx.nlev;
        let mut total: u128 = 0;
        for s in spatial {
            let mut prod: u128 = 1;
            for d in 0..NDIMS {
                let mut rem = self.ctx.dims[d];
                let mut free = 0;
                for l in 0..n {
                    rem = rem.div_ceil(s[l].0[d] as u64 * s[l].1[d] as u64);
                    match self.res.tf[l][d] {
                        Some(f) => rem /= f as u64,
                        None => free += 1,
                    }
                }
                if free > 0 {
                    prod = prod.saturating_mul(Self::split_count(rem, free));
                }
            }
            total = total.saturating_add(prod);
        }
        total.saturating_mul(self.format_choices())
    }

    /// Every mapping is also tried with every allowed pair of formats at every level.
    fn format_choices(&self) -> u128 {
        let mut formats: u128 = 1;
        for l in 0..self.ctx.nlev {
            let nf = self.ctx.hw.levels[l].formats.len() as u128;
            let fin = if self.res.fin[l].is_some() { 1 } else { nf };
            let fout = if self.res.fout[l].is_some() { 1 } else { nf };
            formats = formats.saturating_mul(fin * fout);
        }
        formats
    }

    /// Every split of each dimension's remaining factor over the levels free to take it, with
    /// `spatial`'s unrolling in place (the temporal placements the enumeration visits).
    fn factorizations(&self, base: &Compact) -> Factorizations {
        let n = self.ctx.nlev;
        let mut per_dim: Vec<Vec<Vec<u64>>> = Vec::with_capacity(NDIMS);
        let mut free_levels: Vec<Vec<usize>> = Vec::with_capacity(NDIMS);
        for d in 0..NDIMS {
            let free: Vec<usize> = (0..n).filter(|&l| self.res.tf[l][d].is_none()).collect();
            let mut rem = self.ctx.dims[d];
            for l in 0..n {
                rem = rem.div_ceil(base.sp(l, d));
                if let Some(f) = self.res.tf[l][d] {
                    rem /= f as u64;
                }
            }
            per_dim.push(if free.is_empty() {
                vec![vec![]]
            } else {
                Self::splits(rem, free.len())
            });
            free_levels.push(free);
        }
        Factorizations {
            per_dim,
            free_levels,
            idx: [0; NDIMS],
            done: false,
        }
    }

    /// How many mappings the enumeration scores for `spatial` under `keeps` bypass choices:
    /// every placement times the distinct loop orders of each level times the formats, counted
    /// without scoring and given up once past `cap`. The size without orders
    /// ([`Self::exhaustive_size`]) can be far below it (a level with six loops has up to 720
    /// orders), and an enumeration that overran its budget would have been wasted.
    pub(super) fn exhaustive_points(
        &mut self,
        keeps: &[[u8; MAX_LEVELS]],
        spatial: &[Spatial],
        cap: u128,
    ) -> u128 {
        let Some(keep) = keeps.first() else {
            return 0;
        };
        let per_placement = self.format_choices();
        let mut total: u128 = 0;
        for sp in spatial {
            let base = self.base(keep, sp, 0);
            let mut places = self.factorizations(&base);
            let mut m = base;
            while places.next_into(&mut m) {
                let mut orders: u128 = per_placement;
                for l in 0..self.ctx.nlev {
                    let mask = Self::mask(&m, l);
                    orders = orders.saturating_mul(self.level_orders(mask, l).len() as u128);
                }
                total = total.saturating_add(orders.saturating_mul(keeps.len() as u128));
                if total > cap {
                    return total;
                }
            }
        }
        total
    }

    pub(super) fn exhaustive(&mut self, keep: &[u8; MAX_LEVELS], spatial: &Spatial) {
        let base = self.base(keep, spatial, 0);
        let mut places = self.factorizations(&base);
        let mut m = base;
        while places.next_into(&mut m) {
            self.exhaustive_orders(m, 0);
            if self.exhausted() {
                return;
            }
        }
    }

    pub(super) fn exhaustive_orders(&mut self, m: Compact, l: usize) {
        if self.exhausted() {
            return;
        }
        if l == self.ctx.nlev {
            self.exhaustive_formats(m, 0);
            return;
        }
        let mask = Self::mask(&m, l);
        for &o in self.level_orders(mask, l).iter() {
            let mut c = m;
            c.order[l] = o;
            self.exhaustive_orders(c, l + 1);
        }
    }

    pub(super) fn exhaustive_formats(&mut self, m: Compact, l: usize) {
        if l == self.ctx.nlev {
            self.score(&m);
            return;
        }
        let nf = self.ctx.hw.levels[l].formats.len() as u8;
        let fins: Vec<u8> = match self.res.fin[l] {
            Some(f) => vec![f],
            None => (0..nf).collect(),
        };
        let fouts: Vec<u8> = match self.res.fout[l] {
            Some(f) => vec![f],
            None => (0..nf).collect(),
        };
        for &a in &fins {
            for &b in &fouts {
                let mut c = m;
                c.fin[l] = a;
                c.fout[l] = b;
                self.exhaustive_formats(c, l + 1);
            }
        }
    }
}

/// The temporal placements of one unrolling, one after another (an odometer over each
/// dimension's ordered factorizations).
struct Factorizations {
    per_dim: Vec<Vec<Vec<u64>>>,
    free_levels: Vec<Vec<usize>>,
    idx: [usize; NDIMS],
    done: bool,
}

impl Factorizations {
    /// Writes the next placement's temporal factors into `m`; false when there is none left.
    fn next_into(&mut self, m: &mut Compact) -> bool {
        if self.done || self.per_dim.iter().any(Vec::is_empty) {
            return false;
        }
        for d in 0..NDIMS {
            for (k, &l) in self.free_levels[d].iter().enumerate() {
                m.tf[l][d] = self.per_dim[d][self.idx[d]][k] as u32;
            }
        }
        let mut d = 0;
        loop {
            if d == NDIMS {
                self.done = true;
                break;
            }
            self.idx[d] += 1;
            if self.idx[d] < self.per_dim[d].len() {
                break;
            }
            self.idx[d] = 0;
            d += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_enumerate_ordered_factorizations() {
        assert_eq!(Search::splits(12, 2).len(), 6);
        assert_eq!(Search::splits(4, 3).len(), 6);
    }

    #[test]
    fn split_count_equals_the_number_of_enumerated_splits() {
        for n in 0..=256u64 {
            for slots in 1..=5 {
                assert_eq!(
                    Search::split_count(n, slots),
                    Search::splits(n, slots).len() as u128,
                    "{n} into {slots}"
                );
            }
        }
        assert_eq!(Search::split_count(1 << 20, 4), 1771);
    }
}
