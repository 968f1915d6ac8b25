//! What a level holds: the footprint of a data space over a tile's extents (inputs through
//! their window, at most the real map), its size in bits as it is laid out, and the check
//! against the level's pools.

use super::keepers::Keepers;
use super::nest::Nest;
use super::{A_, C, Counts, Ctx, G, I_, Illegal, K, N, NSPACES, O_, P, Pool, Q, R, S, T, W_};
use crate::mapping::Compact;
use crate::problem::NDIMS;

/// Rows of an input window: `pe` outputs `stride` apart, each over `re` taps `dilation`
/// apart; overlapping windows are counted once, disjoint ones (a stride beyond the kernel)
/// add up.
pub(super) fn window(pe: f64, re: f64, stride: f64, dilation: f64) -> f64 {
    ((pe - 1.0) * stride + (re - 1.0) * dilation + 1.0).min(pe * re)
}

impl Ctx<'_> {
    /// Elements of `ds` over a tile of extents `e`.
    pub(super) fn foot(&self, ds: usize, e: &[f64; NDIMS]) -> f64 {
        match ds {
            W_ => e[G] * e[K] * e[C] * e[R] * e[S],
            I_ => e[N] * e[G] * e[C] * e[T] * self.rows(e, P) * self.rows(e, Q),
            A_ | O_ => e[N] * e[G] * e[K] * e[P] * e[Q] * e[T],
            _ => e[N] * e[G] * e[K] * e[P] * e[Q],
        }
    }

    /// Input rows (d = P) or columns (d = Q) of a tile with extents `e`: the window, at most
    /// the real map (padding is not stored).
    pub(super) fn rows(&self, e: &[f64; NDIMS], d: usize) -> f64 {
        let a = self.axis(d);
        window(e[d], e[a.kernel], a.stride, a.dilation).min(a.real)
    }

    /// Bits a level's tile of `elems` elements of `ds` takes: whole elements to a word (or
    /// whole words to an element), or a compressed format's average bits at density 1 rounded
    /// up to words, so that capacity does not depend on the densities a mapping is evaluated
    /// at.
    fn tile_bits(&self, m: &Compact, l: usize, ds: usize, elems: f64) -> f64 {
        let mut elems = elems;
        if ds == O_ {
            elems *= self.nspa;
        }
        let w = self.word[l];
        if self.compressed(m, l, ds) {
            let (a, b) = self.elem_bits(ds, self.format(m, l, ds), 1.0, elems);
            return (elems * (a + b) / w).ceil() * w;
        }
        let b = self.bits[ds];
        let words = if b <= w {
            (elems / (w / b).floor()).ceil()
        } else {
            elems * (b / w).ceil()
        };
        words * w
    }

    /// Every level's tiles, checked against its pools; records their elements in
    /// `nest.tile` and their bits in `out.tile_bits`.
    pub(super) fn tiles(
        &self,
        nest: &mut Nest,
        keepers: &Keepers,
        out: &mut Counts,
    ) -> Result<(), Illegal> {
        let m = nest.m;
        // The first count that sees both the nest and the keepers: per-operand boundaries
        // are checked against the chains here.
        nest.check_boundaries(keepers)?;
        for l in 0..self.nlev {
            let mut tb = [0.0; NSPACES];
            for ds in 0..NSPACES {
                let kept = self.spaces & m.keep[l] & (1 << ds) != 0;
                // Partial sums kept above the finalizing level are never there.
                if kept && (ds != A_ || l >= keepers.fin) {
                    let elems = self.foot(ds, nest.ext_of(l, ds));
                    nest.tile[l][ds] = elems;
                    tb[ds] = self.tile_bits(m, l, ds, elems);
                }
            }
            for pool in &self.pools[l] {
                self.check_pool(l, pool, &tb)?;
            }
            out.tile_bits.push(tb);
        }
        Ok(())
    }

    /// The tiles of the data spaces a pool holds against its bits; the error names the
    /// largest.
    fn check_pool(&self, l: usize, pool: &Pool, tb: &[f64; NSPACES]) -> Result<(), Illegal> {
        // Tile bits are whole numbers: their sum is exact in a float below 2^53.
        const EXACT: f64 = (1u64 << 53) as f64;
        let held = |ds: &usize| pool.mask & (1 << ds) != 0;
        let total: f64 = (0..NSPACES).filter(held).map(|ds| tb[ds]).sum();
        if total < EXACT && pool.bits_f64 < EXACT && total <= pool.bits_f64 {
            return Ok(());
        }
        let total: u128 = (0..NSPACES).filter(held).map(|ds| tb[ds] as u128).sum();
        if total <= pool.bits {
            return Ok(());
        }
        let worst = (0..NSPACES)
            .filter(held)
            .max_by(|a, b| tb[*a].total_cmp(&tb[*b]))
            .unwrap_or(0);
        Err(Illegal::Capacity(l, worst, total, pool.bits))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    #[test]
    fn input_windows_overlap_with_a_short_stride_and_stay_disjoint_with_a_long_one() {
        // 4 outputs over 3 taps, stride 1: rows 0..6.
        assert_eq!(window(4.0, 3.0, 1.0, 1.0), 6.0);
        // 2 outputs over 3 taps, stride 2: rows 0..5.
        assert_eq!(window(2.0, 3.0, 2.0, 1.0), 5.0);
        // 2 outputs over 1 tap, stride 3: rows 0 and 3, nothing between them stored.
        assert_eq!(window(2.0, 1.0, 3.0, 1.0), 2.0);
        // Dilation 2: one output's 3 taps touch rows 0, 2 and 4, the rows between not stored.
        assert_eq!(window(1.0, 3.0, 1.0, 2.0), 3.0);
        // Two outputs of dilation-2 taps, stride 1: rows 0..6 (0, 2, 4 and 1, 3, 5).
        assert_eq!(window(2.0, 3.0, 1.0, 2.0), 6.0);
    }

    #[test]
    fn footprints_follow_each_data_space_and_inputs_stop_at_the_real_map() {
        let (mut p, hw) = (qnn(2, 3, 4, 4, 3, 3), chip([1, 1], true, false));
        let mut e = [1.0; NDIMS];
        (e[K], e[C], e[P], e[Q], e[R], e[S]) = (2.0, 3.0, 4.0, 4.0, 3.0, 3.0);
        let ctx = ctx(&p, &hw);
        assert_eq!(ctx.foot(W_, &e), 2.0 * 3.0 * 9.0);
        assert_eq!(ctx.foot(I_, &e), 3.0 * 6.0 * 6.0);
        assert_eq!(ctx.foot(A_, &e), 2.0 * 16.0);
        // With padding 1 the real map is 4 × 4: the 6 × 6 window is cut to it.
        (p.input_h, p.input_w) = (Some(4), Some(4));
        let ctx = super::super::fixtures::ctx(&p, &hw);
        assert_eq!(ctx.foot(I_, &e), 3.0 * 4.0 * 4.0);
    }

    #[test]
    fn tiles_are_held_to_capacity_and_the_largest_is_named() {
        let (p, hw) = (qnn(1, 1, 128, 1, 1, 1), chip([1, 1], true, false));
        let ctx = ctx(&p, &hw);
        let levels = |reg: &[(D, u64)], buffer: &[(D, u64)]| {
            vec![
                level("DRAM", &[], &[], &[Weights, Inputs, Accum, Outputs]),
                level("buffer", buffer, &[], &[Weights, Inputs]),
                level("reg", reg, &[], &[Accum]),
            ]
        };
        // P64 in the register: 64 partial sums of 16 bits fill its 64 words exactly.
        let m = compact(&p, &hw, levels(&[(D::P, 64)], &[(D::P, 2)]));
        let mut nest = Nest::of(&m);
        nest.unroll(&ctx).unwrap();
        let mut keepers = Keepers::of(&ctx, &m);
        keepers.settle(&ctx, &m).unwrap();
        let mut out = Counts::default();
        ctx.tiles(&mut nest, &keepers, &mut out).unwrap();
        assert_eq!(out.tile_bits[2][A_], 64.0 * 16.0);
        // The buffer's tile spans its own P2 and the register's P64: one weight and 128
        // inputs.
        assert_eq!(out.tile_bits[1][W_], 16.0);
        assert_eq!(out.tile_bits[1][I_], 128.0 * 16.0);
        assert_eq!(nest.tile[1][I_], 128.0);
        // P128 in the register: 2048 bits against 1024.
        let m = compact(&p, &hw, levels(&[(D::P, 128)], &[]));
        let mut nest = Nest::of(&m);
        nest.unroll(&ctx).unwrap();
        let mut keepers = Keepers::of(&ctx, &m);
        keepers.settle(&ctx, &m).unwrap();
        assert_eq!(
            ctx.tiles(&mut nest, &keepers, &mut Counts::default()),
            Err(Illegal::Capacity(2, A_, 2048, 1024))
        );
    }
}
