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
        // Every mapping is also tried with every allowed pair of formats at every level.
        let mut formats: u128 = 1;
        for l in 0..n {
            let nf = self.ctx.hw.levels[l].formats.len() as u128;
            let fin = if self.res.fin[l].is_some() { 1 } else { nf };
            let fout = if self.res.fout[l].is_some() { 1 } else { nf };
            formats = formats.saturating_mul(fin * fout);
        }
        total.saturating_mul(formats)
    }

    pub(super) fn exhaustive(&mut self, keep: &[u8; MAX_LEVELS], spatial: &Spatial) {
        let n = self.ctx.nlev;
        let base = self.base(keep, spatial, 0);
        let mut per_dim: Vec<Vec<Vec<u64>>> = Vec::new();
        let mut free_levels: Vec<Vec<usize>> = Vec::new();
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
        let mut idx = [0usize; NDIMS];
        loop {
            let mut m = base;
            for d in 0..NDIMS {
                for (k, &l) in free_levels[d].iter().enumerate() {
                    m.tf[l][d] = per_dim[d][idx[d]][k] as u32;
                }
            }
            self.exhaustive_orders(m, 0);
            if self.exhausted() {
                return;
            }
            // Next factorization.
            let mut d = 0;
            loop {
                if d == NDIMS {
                    return;
                }
                idx[d] += 1;
                if idx[d] < per_dim[d].len() {
                    break;
                }
                idx[d] = 0;
                d += 1;
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
