//! Uneven (remainder) tiling. The factors of a dimension of size D may multiply to D' > D:
//! every loop runs its full trip count (the cycles are those of the padded nest: an idle unit
//! still takes its cycle), the nest covers ceil-divided tiles, and an element whose index is D
//! or more does not exist: it is neither stored, moved nor computed. A tile at offset o of
//! extent e holds clamp(D − o, 0, e) elements of the dimension; capacity is checked on the
//! full tile.
//!
//! Every count of the even nest is a product over dimensions. In the uneven nest each uneven
//! dimension's term changes: a dimension the data space depends on contributes its D real
//! elements instead of D' (such a count walks every loop over the dimension, whose tiles
//! partition it), any other dimension the positions of the loops the count walks whose tile
//! holds a real element instead of all of them (a position wholly in the padding moves
//! nothing). Positions are counted in O(loops) per dimension.
//!
//! A factor is refused when it is wasteful beyond need: a loop whose last iteration starts
//! past the dimension (at the first position of the loops above it), or whose removal would
//! still cover the dimension. Uneven factors of P, Q, R and S are refused: the lines of an
//! input window over a partial tile (sliding, multicast unions) are not counted yet.

use super::nest::Nest;
use super::{A_, C, Ctx, Illegal, M_, P, Q, R, S};
use crate::mapping::MAX_LEVELS;
use crate::problem::NDIMS;

/// The real and padded values of the uneven dimensions' terms of one count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Share {
    real: f64,
    padded: f64,
}

impl Share {
    /// The count `padded_count` of the padded nest with the real terms in place of the padded.
    #[inline]
    pub fn of(self, padded_count: f64) -> f64 {
        if self.real == self.padded {
            padded_count
        } else {
            padded_count / self.padded * self.real
        }
    }
}

/// The share of an even count: itself.
const EVEN: Share = Share {
    real: 1.0,
    padded: 1.0,
};

/// One loop over a dimension: its factor and the extent of one iteration (its stride).
#[derive(Clone, Copy, Debug, Default)]
struct DimLoop {
    factor: u64,
    stride: u64,
    level: usize,
    spatial: bool,
}

impl Nest<'_> {
    /// The loops over `d`, outermost first: at each level its temporal loop, then its spatial
    /// loops (both axes as one: X outside Y).
    fn loops_over(&self, nlev: usize, d: usize) -> ([DimLoop; 2 * MAX_LEVELS], usize) {
        let mut loops = [DimLoop::default(); 2 * MAX_LEVELS];
        let mut n = 0;
        for level in 0..nlev {
            let inner = self.ext[level + 1][d] as u64;
            let s = self.m.sp(level, d);
            for (factor, stride, spatial) in [
                (self.m.tf[level][d] as u64, s * inner, false),
                (s, inner, true),
            ] {
                if factor > 1 {
                    loops[n] = DimLoop {
                        factor,
                        stride,
                        level,
                        spatial,
                    };
                    n += 1;
                }
            }
        }
        (loops, n)
    }

    /// Refuses uneven factors that are wasteful beyond need, and uneven window dimensions.
    pub(super) fn check_uneven(&self, ctx: &Ctx) -> Result<(), Illegal> {
        for d in 0..NDIMS {
            if self.uneven & (1 << d) == 0 {
                continue;
            }
            let (loops, n) = self.loops_over(ctx.nlev, d);
            let (dim, covered) = (ctx.dims[d], self.ext[0][d] as u64);
            if [P, Q, R, S].contains(&d) {
                return Err(Illegal::UnevenWindow(loops[0].level, d));
            }
            for lp in &loops[..n] {
                if (lp.factor - 1).saturating_mul(lp.stride) >= dim || covered / lp.factor >= dim {
                    return Err(Illegal::Wasteful(lp.level, d));
                }
            }
        }
        Ok(())
    }
}

impl Ctx<'_> {
    /// Positions of the loops over `d` selected by `sel(level, spatial)` whose tile (all the
    /// loops inside, selected or not) starts inside the dimension.
    fn live_positions(&self, nest: &Nest, d: usize, sel: impl Fn(usize, bool) -> bool) -> f64 {
        let (all, n) = nest.loops_over(self.nlev, d);
        let mut loops = [DimLoop::default(); 2 * MAX_LEVELS];
        let mut k = 0;
        for lp in all[..n].iter().filter(|lp| sel(lp.level, lp.spatial)) {
            loops[k] = *lp;
            k += 1;
        }
        // Positions of the selected loops inside the current one, all of them.
        let mut inside: f64 = loops[..k].iter().map(|lp| lp.factor as f64).product();
        let mut rem = self.dims[d];
        let mut live = 0.0;
        // Iterations wholly inside `rem` take every inner position (the inner loops span less
        // than one stride); the next one, if any, starts inside and the walk goes on in it.
        for lp in &loops[..k] {
            inside /= lp.factor as f64;
            let whole = (rem / lp.stride).min(lp.factor);
            live += whole as f64 * inside;
            rem -= whole * lp.stride;
            if whole == lp.factor || rem == 0 {
                return live;
            }
        }
        live + 1.0
    }

    /// The uneven terms of a count of data space `ds` that walks the loops selected by
    /// `sel(level, dim, spatial)`.
    pub(super) fn share(
        &self,
        nest: &Nest,
        ds: usize,
        sel: impl Fn(usize, usize, bool) -> bool,
    ) -> Share {
        let mut share = EVEN;
        for d in 0..NDIMS {
            if nest.uneven & (1 << d) == 0 {
                continue;
            }
            if self.relevant(ds, d) {
                share.real *= self.dims[d] as f64;
                share.padded *= nest.ext[0][d];
            } else {
                share.real *= self.live_positions(nest, d, |l, s| sel(l, d, s));
                let (loops, n) = nest.loops_over(self.nlev, d);
                for lp in loops[..n].iter().filter(|lp| sel(lp.level, d, lp.spatial)) {
                    share.padded *= lp.factor as f64;
                }
            }
        }
        share
    }

    /// Per level, the dimensions (as a mask) of the temporal loops from the first one
    /// relevant to `ds` above level `c` outward: those that change its tile there.
    pub(super) fn walked(&self, nest: &Nest, ds: usize, c: usize) -> [u16; MAX_LEVELS] {
        let loops = nest.loops_above_of(c, ds);
        let mut mask = [0u16; MAX_LEVELS];
        if let Some(first) = loops
            .iter()
            .rposition(|lp| self.relevant(ds, lp.dim as usize))
        {
            // The membrane's tile is counted on the nest projected onto the non-reduction
            // dimensions.
            let projected = ds == M_;
            for lp in &loops[..=first] {
                if !(projected && matches!(lp.dim as usize, C | R | S)) {
                    mask[lp.level as usize] |= 1 << lp.dim;
                }
            }
        }
        mask
    }

    /// The uneven terms of the refills of `ds` into every instance of level `c`: the
    /// temporal loops that change its tile and every spatial loop above it.
    #[inline]
    pub(super) fn refill_share(&self, nest: &Nest, ds: usize, c: usize) -> Share {
        if nest.uneven == 0 {
            return EVEN;
        }
        self.refill_share_uneven(nest, ds, c)
    }

    fn refill_share_uneven(&self, nest: &Nest, ds: usize, c: usize) -> Share {
        let walked = self.walked(nest, ds, c);
        self.share(nest, ds, |l, d, spatial| {
            l < c && (spatial || walked[l] & (1 << d) != 0)
        })
    }

    /// The uneven terms of parent `p`'s reads of `ds` for level `c`, one per multicast group
    /// of children: the multicast spatial loops between them merge the group's tiles.
    #[inline]
    pub(super) fn group_share(&self, nest: &Nest, ds: usize, p: usize, c: usize) -> Share {
        if nest.uneven == 0 {
            return EVEN;
        }
        self.group_share_uneven(nest, ds, p, c)
    }

    fn group_share_uneven(&self, nest: &Nest, ds: usize, p: usize, c: usize) -> Share {
        let walked = self.walked(nest, ds, c);
        self.share(nest, ds, |l, d, spatial| {
            if spatial {
                l < p || (l < c && !self.hw.levels[l].network.multicast)
            } else {
                l < c && walked[l] & (1 << d) != 0
            }
        })
    }

    /// The uneven terms of the operand reads of `ds` at its innermost keeper `inner`: every
    /// temporal loop, every spatial loop but the multicast ones below `inner`.
    #[inline]
    pub(super) fn operand_share(&self, nest: &Nest, ds: usize, inner: usize) -> Share {
        if nest.uneven == 0 {
            return EVEN;
        }
        self.operand_share_uneven(nest, ds, inner)
    }

    fn operand_share_uneven(&self, nest: &Nest, ds: usize, inner: usize) -> Share {
        self.share(nest, ds, |l, _, spatial| {
            !spatial || l < inner || !self.hw.levels[l].network.multicast
        })
    }

    /// Whether level `l`'s spatial loop over `d` merges partial sums for a keeper at or
    /// above `from`: a reducing network's loop over C, R or S.
    fn reduces(&self, from: usize, l: usize, d: usize) -> bool {
        l >= from && self.hw.levels[l].network.reduction && [C, R, S].contains(&d)
    }

    /// The uneven terms of the partial-sum updates at the innermost keeper `ia`: one per
    /// operation but for the reducing spatial loops below it, whose products meet first.
    #[inline]
    pub(super) fn update_share(&self, nest: &Nest, ia: usize) -> Share {
        if nest.uneven == 0 {
            return EVEN;
        }
        self.update_share_uneven(nest, ia)
    }

    fn update_share_uneven(&self, nest: &Nest, ia: usize) -> Share {
        self.share(nest, A_, |l, d, spatial| {
            !spatial || !self.reduces(ia, l, d)
        })
    }

    /// The uneven terms of the partial sums of all instances of level `c` arriving at parent
    /// `p`: the residencies of `c`, those of children a reducing network joins counted once.
    #[inline]
    pub(super) fn arrival_share(&self, nest: &Nest, p: usize, c: usize) -> Share {
        if nest.uneven == 0 {
            return EVEN;
        }
        self.arrival_share_uneven(nest, p, c)
    }

    fn arrival_share_uneven(&self, nest: &Nest, p: usize, c: usize) -> Share {
        let walked = self.walked(nest, A_, c);
        self.share(nest, A_, |l, d, spatial| {
            l < c
                && if spatial {
                    !self.reduces(p, l, d)
                } else {
                    walked[l] & (1 << d) != 0
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;

    fn counted(p: &Problem, hw: &Hardware, levels: Vec<crate::mapping::LevelMapping>) -> Counts {
        let ctx = ctx(p, hw);
        let m = compact(p, hw, levels);
        let mut out = Counts::default();
        ctx.count(&m, &mut out).expect("a legal mapping");
        out
    }

    /// K = 10 split 4 × 3: K4 at DRAM, K3 at the buffer (keeping weights and inputs), the
    /// partial sums in the register.
    #[test]
    fn a_dimension_of_ten_split_four_by_three_moves_its_ten_elements_in_tiles_of_3_3_3_1() {
        let (p, hw) = (qnn(10, 1, 1, 1, 1, 1), chip([1, 1], true, false));
        let all = [Weights, Inputs, Accum, Outputs];
        let c = counted(
            &p,
            &hw,
            vec![
                level("DRAM", &[(D::K, 4)], &[], &all),
                level("buffer", &[(D::K, 3)], &[], &[Weights, Inputs]),
                level("reg", &[], &[], &[Accum]),
            ],
        );
        // The buffer's weight tile of 3 is refilled per k-tile: 3 + 3 + 3 + 1, not 12.
        assert_eq!(accesses(&c, 1, Weights, Action::Fill, Purpose::Fill), 10.0);
        assert_eq!(accesses(&c, 0, Weights, Action::Read, Purpose::Fill), 10.0);
        // The one input stays (K is irrelevant to it): filled once.
        assert_eq!(accesses(&c, 1, Inputs, Action::Fill, Purpose::Fill), 1.0);
        // Every real operation reads its weight and its input once: 10 of each, in 12 cycles.
        let operands = |ds| accesses(&c, 1, ds, Action::Read, Purpose::Operand);
        assert_eq!((operands(Weights), operands(Inputs)), (10.0, 10.0));
        assert_eq!(c.ops[0].count, 10.0);
        assert_eq!(c.cycles, 12.0);
        // One partial sum per k, each a residency of its own: written once, never read.
        assert_eq!(
            accesses(&c, 2, Accum, Action::Update, Purpose::Accumulate),
            10.0
        );
        assert_eq!(
            accesses(&c, 2, Accum, Action::Read, Purpose::Accumulate),
            0.0
        );
        assert_eq!(
            accesses(&c, 0, Outputs, Action::Update, Purpose::Epilogue),
            10.0
        );
        // The one unit idles through the last two cycles.
        assert_eq!(c.units_used, 10.0 / 12.0);
    }

    /// K = 10 over 3 steps at DRAM inside C2 and 4 PEs (the last step's PEs 2 and 3 idle);
    /// each PE runs P4 × R3 at stride 2 on its register, which keeps weights, inputs and sums.
    #[test]
    fn uneven_spatial_loops_leave_the_last_folds_pes_idle_and_strided_windows_stay_whole() {
        let mut p = qnn(10, 2, 4, 1, 3, 1);
        p.stride_h = 2;
        let hw = chip([4, 1], true, false);
        let c = counted(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::C, 2), (D::K, 3)],
                    &[],
                    &[Weights, Inputs, Accum, Outputs],
                ),
                level("buffer", &[], &[(D::K, 4)], &[]),
                level(
                    "reg",
                    &[(D::P, 4), (D::R, 3)],
                    &[],
                    &[Weights, Inputs, Accum],
                ),
            ],
        );
        // Weights: 3 taps per (k, c); the 12 PE-steps hold 10 real k: 2·30 fills, read once.
        assert_eq!(accesses(&c, 2, Weights, Action::Fill, Purpose::Fill), 60.0);
        assert_eq!(accesses(&c, 0, Weights, Action::Read, Purpose::Fill), 60.0);
        // Inputs: a window of (4 − 1)·2 + 3 = 9 rows stays in each PE over K3 (K is
        // irrelevant to it) and every PE works in the first step: per c, 4 × 9 fills and one
        // multicast read of 9.
        assert_eq!(accesses(&c, 2, Inputs, Action::Fill, Purpose::Fill), 72.0);
        assert_eq!(accesses(&c, 0, Inputs, Action::Read, Purpose::Fill), 18.0);
        // 10·2·4·3 = 240 operations, each reading its weight and input in its register.
        assert_eq!(c.ops[0].count, 240.0);
        let operands = |ds| accesses(&c, 2, ds, Action::Read, Purpose::Operand);
        assert_eq!((operands(Weights), operands(Inputs)), (240.0, 240.0));
        // Sums: a tile of 4 per PE-step and c, 10 real k: 80 residencies, 240 updates, 80
        // drains to DRAM, where the second c's 40 arrivals are read and added.
        assert_eq!(
            accesses(&c, 2, Accum, Action::Update, Purpose::Accumulate),
            240.0
        );
        assert_eq!(
            accesses(&c, 2, Accum, Action::Read, Purpose::Accumulate),
            160.0
        );
        assert_eq!(accesses(&c, 2, Accum, Action::Read, Purpose::Drain), 80.0);
        assert_eq!(
            accesses(&c, 0, Accum, Action::Update, Purpose::Accumulate),
            80.0
        );
        assert_eq!(
            accesses(&c, 0, Accum, Action::Read, Purpose::Accumulate),
            40.0
        );
        // 72 cycles of 4 PEs, 240 operations: 10/3 PEs busy on average.
        assert_eq!(c.cycles, 72.0);
        assert_eq!(c.units_used, 240.0 / 72.0);
        // Capacity holds the full tile: the register's sums are 4 × 16 bits.
        assert_eq!(c.tile_bits[2][A_], 64.0);
    }

    #[test]
    fn positions_wholly_in_the_padding_move_nothing() {
        // K = 13 as 2 × 3 × 3 (tiles of 9, 3 and 1): the register's k-tiles start at 0, 3, …,
        // 15; the one at 15 is wholly padding.
        let (p, hw) = (qnn(13, 1, 1, 1, 1, 1), chip([1, 1], true, false));
        let ctx = ctx(&p, &hw);
        let m = compact(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::K, 2)],
                    &[],
                    &[Weights, Inputs, Accum, Outputs],
                ),
                level("buffer", &[(D::K, 3)], &[], &[Weights, Inputs]),
                level("reg", &[(D::K, 3)], &[], &[Accum]),
            ],
        );
        let (nest, _) = setup(&ctx, &m);
        // The outer two loops' positions: 0, 3, 6, 9, 12 live, 15 not.
        assert_eq!(ctx.live_positions(&nest, K, |l, _| l < 2), 5.0);
        // All three: the 13 real elements.
        assert_eq!(ctx.live_positions(&nest, K, |_, _| true), 13.0);
        // The middle loop alone, at the outer loop's first position: 0, 3, 6.
        assert_eq!(ctx.live_positions(&nest, K, |l, _| l == 1), 3.0);
        let mut out = Counts::default();
        ctx.count(&m, &mut out).unwrap();
        assert_eq!(
            accesses(&out, 1, Inputs, Action::Read, Purpose::Operand),
            13.0
        );
        assert_eq!(
            accesses(&out, 1, Weights, Action::Fill, Purpose::Fill),
            13.0
        );
        assert_eq!(out.cycles, 18.0);
    }

    #[test]
    fn wasteful_and_window_factors_are_refused_naming_the_level_and_dimension() {
        let (p, hw) = (qnn(10, 1, 6, 1, 1, 1), chip([1, 1], true, false));
        let ctx = ctx(&p, &hw);
        let all = [Weights, Inputs, Accum, Outputs];
        let refused = |dram: &[(D, u64)], buffer: &[(D, u64)]| {
            let m = compact(
                &p,
                &hw,
                vec![
                    level("DRAM", dram, &[], &all),
                    level("buffer", buffer, &[], &[Weights, Inputs]),
                    level("reg", &[], &[], &[Accum]),
                ],
            );
            ctx.count(&m, &mut Counts::default()).unwrap_err()
        };
        // K4 over tiles of 4: the last starts at 12, past K = 10.
        assert_eq!(
            refused(&[(D::K, 4), (D::P, 6)], &[(D::K, 4)]),
            Illegal::Wasteful(0, K)
        );
        // K3 over tiles of 4 (4, 4, 2) is needed: accepted.
        let m = compact(
            &p,
            &hw,
            vec![
                level("DRAM", &[(D::K, 3), (D::P, 6)], &[], &all),
                level("buffer", &[(D::K, 4)], &[], &[Weights, Inputs]),
                level("reg", &[], &[], &[Accum]),
            ],
        );
        assert!(ctx.count(&m, &mut Counts::default()).is_ok());
        // P = 6 as 4 × 2: uneven, but P is an input window dimension.
        assert_eq!(
            refused(&[(D::K, 10), (D::P, 4)], &[(D::P, 2)]),
            Illegal::UnevenWindow(0, P)
        );
        let e = ctx.illegal_error(Illegal::Wasteful(1, K)).to_string();
        assert!(e.contains("buffer") && e.contains("factors.K"), "{e}");
    }

    /// The uneven path on an even nest (every dimension marked uneven, D' = D) gives the even
    /// counts bit for bit.
    #[test]
    fn the_uneven_counts_of_an_even_mapping_are_the_even_counts() {
        let (mut p, hw) = (qnn(4, 2, 3, 3, 3, 3), chip([2, 1], true, true));
        p = p.into_snn(2, 16);
        let all = [Weights, Inputs, Accum, Membrane, Outputs];
        let mappings = [
            vec![
                level("DRAM", &[(D::C, 2), (D::T, 2)], &[], &all),
                level("buffer", &[(D::K, 2)], &[(D::K, 2)], &[Weights, Inputs]),
                level(
                    "reg",
                    &[(D::P, 3), (D::Q, 3), (D::R, 3), (D::S, 3)],
                    &[],
                    &[Weights, Accum],
                ),
            ],
            vec![
                level("DRAM", &[(D::T, 2), (D::K, 4), (D::Q, 3)], &[], &all),
                level("buffer", &[(D::P, 3)], &[(D::C, 2)], &[Inputs, Accum]),
                level("reg", &[(D::S, 3), (D::R, 3)], &[], &[Weights, Accum]),
            ],
        ];
        let ctx = ctx(&p, &hw);
        for levels in mappings {
            let m = compact(&p, &hw, levels);
            let mut even = Counts::default();
            ctx.count(&m, &mut even).unwrap();
            let mut nest = Nest::of(&m);
            nest.unroll(&ctx).unwrap();
            nest.uneven = (1 << NDIMS) - 1;
            let mut forced = Counts::default();
            ctx.count_nest(&mut nest, &mut forced).unwrap();
            assert_eq!(even, forced);
        }
    }
}
