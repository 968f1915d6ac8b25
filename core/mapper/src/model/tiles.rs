//! What a level holds: the footprint of a data space over a tile's extents (inputs through
//! their window, at most the real map), its size in bits as it is laid out, and the check
//! against the level's pools.

use super::keepers::Keepers;
use super::nest::Nest;
use super::{A_, C, Counts, Ctx, G, I_, Illegal, K, N, NSPACES, O_, P, Q, R, S, T, W_};
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
        let pr = self.problem;
        let (k, stride, dil, real) = if d == P {
            (R, pr.stride_h, pr.dilation_h, pr.input_h)
        } else {
            (S, pr.stride_w, pr.dilation_w, pr.input_w)
        };
        let w = window(e[d], e[k], stride as f64, dil as f64);
        real.map_or(w, |h| w.min(h as f64))
    }

    /// Bits of `ds` a level's tile of extents `e` takes: whole elements to a word (or whole
    /// words to an element), or a compressed format's average bits at density 1 rounded up to
    /// words, so that capacity does not depend on the densities a mapping is evaluated at.
    fn tile_bits(&self, m: &Compact, l: usize, ds: usize, e: &[f64; NDIMS]) -> f64 {
        let mut elems = self.foot(ds, e);
        if ds == O_ {
            elems *= self.nspa;
        }
        let w = self.word[l];
        if (ds == I_ || ds == O_) && self.format(m, l, ds).is_compressed() {
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

    /// Every level's tiles, checked against its pools; records them in `out.tile_bits`.
    pub(super) fn tiles(
        &self,
        nest: &Nest,
        keepers: &Keepers,
        out: &mut Counts,
    ) -> Result<(), Illegal> {
        let m = nest.m;
        for l in 0..self.nlev {
            let mut tb = [0.0; NSPACES];
            for ds in 0..NSPACES {
                let kept = self.spaces & m.keep[l] & (1 << ds) != 0;
                // Partial sums kept above the finalizing level are never there.
                if kept && (ds != A_ || l >= keepers.fin) {
                    tb[ds] = self.tile_bits(m, l, ds, &nest.ext[l]);
                }
            }
            for &(mask, cap) in &self.pools[l] {
                let total: u128 = (0..NSPACES)
                    .filter(|ds| mask & (1 << ds) != 0)
                    .map(|ds| tb[ds] as u128)
                    .sum();
                if total > cap {
                    let worst = (0..NSPACES)
                        .filter(|ds| mask & (1 << ds) != 0)
                        .max_by(|a, b| tb[*a].total_cmp(&tb[*b]))
                        .unwrap_or(0);
                    return Err(Illegal::Capacity(l, worst, total, cap));
                }
            }
            out.tile_bits.push(tb);
        }
        Ok(())
    }
}
