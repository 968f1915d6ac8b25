//! How many elements a tile brings in over the loops above its level: the tile times the
//! number of times it changes. Walking the temporal loops above the level from the innermost
//! outward, the first run of loops irrelevant to the data space leaves the tile in place
//! (stationarity); from the first relevant loop on, every loop multiplies. With a sliding
//! window, a step of that first loop along P or Q brings only the rows or columns a child
//! lacks.

use super::nest::{Nest, TemporalLoop};
use super::{C, Ctx, I_, M_, P, Q, R, S};
use crate::mapping::MAX_LEVELS;
use crate::problem::NDIMS;

/// Whose elements are counted.
#[derive(Clone, Copy, Debug)]
pub(super) enum Receiver<'e> {
    /// One instance of the child level.
    Child,
    /// One multicast group of children, served by reads of level `parent`: their tiles
    /// merged into one of extents `merged`.
    Group {
        parent: usize,
        merged: &'e [f64; NDIMS],
    },
}

/// How often a level's tile of one data space changes over the loops above the level.
#[derive(Clone, Copy, Debug)]
pub(super) struct Changes {
    /// Times the tile is (re)filled: the product of the loops from the first relevant one
    /// outward.
    times: f64,
    /// The first relevant loop, innermost above the level (none: the tile never changes).
    first: Option<TemporalLoop>,
}

impl Ctx<'_> {
    /// How often the tile of `ds` at level `c` changes. The membrane is counted on the nest
    /// projected onto the non-reduction dimensions (C, R, S dropped).
    pub(super) fn changes(&self, nest: &Nest, ds: usize, c: usize) -> Changes {
        let loops = nest.loops_above_of(c, ds);
        let Some(first) = loops
            .iter()
            .rposition(|lp| self.relevant(ds, lp.dim as usize))
        else {
            return Changes {
                times: 1.0,
                first: None,
            };
        };
        let projected = ds == M_;
        let mut times = 1.0;
        for lp in loops[..=first].iter().rev() {
            if !(projected && matches!(lp.dim as usize, C | R | S)) {
                times *= lp.factor();
            }
        }
        Changes {
            times,
            first: Some(loops[first]),
        }
    }

    /// Element transfers into one instance of the child level `c` (its tile times the times
    /// it changes), or (for `Receiver::Group`) parent reads for one multicast group of
    /// children; `changes` are the child's.
    pub(super) fn refills(
        &self,
        nest: &Nest,
        ds: usize,
        c: usize,
        changes: Changes,
        to: Receiver,
    ) -> f64 {
        let (e, tile) = match to {
            Receiver::Child => (nest.ext_of(c, ds), nest.tile[c][ds]),
            Receiver::Group { merged, .. } => (merged, self.foot(ds, merged)),
        };
        let Some(lp) = changes.first else {
            return tile;
        };
        let (j, d, f) = (lp.level as usize, lp.dim as usize, lp.factor());
        if ds == I_ && (d == P || d == Q) && self.hw.levels[c].sliding_window {
            let delta = self.new_lines(nest, c, e, j, d, to);
            let tile_delta = tile / self.rows(e, d) * delta;
            return changes.times / f * (tile + (f - 1.0) * tile_delta);
        }
        tile * changes.times
    }

    /// Elements brought into all instances of level `c`'s tiles of `ds` over the layer.
    pub(super) fn all_refills(&self, nest: &Nest, ds: usize, c: usize) -> f64 {
        self.refill_share(nest, ds, c)
            .of(self.padded_refills(nest, ds, c))
    }

    /// [`Self::all_refills`] of the padded nest: every position of an uneven dimension's loops
    /// counted, as if the layer were as large as its factors.
    pub(super) fn padded_refills(&self, nest: &Nest, ds: usize, c: usize) -> f64 {
        let changes = self.changes(nest, ds, c);
        self.refills(nest, ds, c, changes, Receiver::Child) * nest.inst[c]
    }

    /// Lines (rows for P, columns for Q) one step of the loop over `d` at level `j` brings
    /// into the tile of extents `e` below it.
    fn new_lines(
        &self,
        nest: &Nest,
        c: usize,
        e: &[f64; NDIMS],
        j: usize,
        d: usize,
        to: Receiver,
    ) -> f64 {
        let a = *self.axis(d);
        let (stride, dil, kd) = (a.stride, a.dilation, a.kernel);
        let inner = nest.ext[j + 1][d] * nest.sp[j][d];
        // The tile's lines (at most the real map); the steps count the new lines of the
        // padded window, an upper bound at the border.
        let w = self.rows(e, d);
        // Each child keeps the overlap of its own window; what it lacks after a step is
        // the new rows of its own window, and a multicast read serves the union of those
        // (a child cannot take over rows another child held: nothing forwards them).
        let own = self.rows(nest.ext_of(c, I_), d);
        let new_rows = own.min(inner * stride);
        if new_rows >= own {
            return w;
        }
        match to {
            Receiver::Group { parent, .. } => self
                .union_of_new_rows(nest, parent, c, (d, stride), (kd, dil), new_rows)
                .min(w),
            Receiver::Child => new_rows,
        }
    }

    /// Rows covered by the `len` new rows of every child of one multicast group, the children
    /// offset by the spatial loops over the stepping dimension and its kernel dimension on the
    /// multicast networks between `p` and `c`.
    fn union_of_new_rows(
        &self,
        nest: &Nest,
        p: usize,
        c: usize,
        (d, stride): (usize, f64),
        (kd, dil): (usize, f64),
        len: f64,
    ) -> f64 {
        // The children's offsets are the sums of one step of each spatial loop: (steps,
        // spacing) per loop.
        let mut loops = [(0u64, 0.0f64); 2 * MAX_LEVELS];
        let (mut n, mut children) = (0, 1u64);
        for j in p..c {
            if !self.hw.levels[j].network.multicast {
                continue;
            }
            for (dim, scale) in [(d, stride), (kd, dil)] {
                let f = nest.m.sp(j, dim);
                if f > 1 {
                    loops[n] = (f, scale * nest.ext[j + 1][dim]);
                    n += 1;
                    children = children.saturating_mul(f);
                }
            }
        }
        // Groups of up to 1024 children (a 32 × 32 array) are counted without allocating.
        let (loops, k) = (&loops[..n], children as usize);
        if k <= 16 {
            covered(&mut [0.0; 16][..k], loops, len)
        } else if k <= 1024 {
            covered(&mut [0.0; 1024][..k], loops, len)
        } else {
            covered(&mut vec![0.0; k], loops, len)
        }
    }
}

/// Length covered by the intervals `[o, o + len)` for every offset `o` that is a sum of
/// `i · spacing` over the `(steps, spacing)` loops, `0 ≤ i < steps`; `offsets` has room for
/// all of them.
fn covered(offsets: &mut [f64], loops: &[(u64, f64)], len: f64) -> f64 {
    offsets[0] = 0.0;
    let mut n = 1;
    for &(steps, spacing) in loops {
        for i in 1..steps as usize {
            for k in 0..n {
                offsets[i * n + k] = offsets[k] + i as f64 * spacing;
            }
        }
        n *= steps as usize;
    }
    let offsets = &mut offsets[..n];
    offsets.sort_unstable_by(f64::total_cmp);
    let mut gaps = 0.0;
    for w in offsets.windows(2) {
        // Equal offsets (coinciding children) add nothing.
        if w[1] != w[0] {
            gaps += (w[1] - w[0]).min(len);
        }
    }
    gaps + len
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    /// P4 at DRAM, K2 at the buffer, R3 in the register (K = 2, P = 4, R = 3).
    #[test]
    fn a_tile_changes_only_with_the_loops_relevant_to_it_and_slides_along_p() {
        let (p, mut hw) = (qnn(2, 1, 4, 1, 3, 1), chip([1, 1], true, false));
        let levels = vec![
            level(
                "DRAM",
                &[(D::P, 4)],
                &[],
                &[Weights, Inputs, Accum, Outputs],
            ),
            level("buffer", &[(D::K, 2)], &[], &[Weights, Inputs]),
            level("reg", &[(D::R, 3)], &[], &[Accum]),
        ];
        let m = compact(&p, &hw, levels.clone());
        let ctx = ctx(&p, &hw);
        let (nest, _) = setup(&ctx, &m);
        // Weights: the buffer's tile W[0..2][0..3] = 6; P4 above is irrelevant to it.
        assert_eq!(ctx.all_refills(&nest, W_, 1), 6.0);
        // Inputs: the buffer's window of one output, 3 rows, changes with every p: the first
        // step brings 3 rows, each of the other 3 steps one new row.
        assert_eq!(ctx.all_refills(&nest, I_, 1), 3.0 + 3.0 * 1.0);
        // Partial sums: one register element per (k, p): K2 and P4 relevant, 8 residencies.
        assert_eq!(ctx.all_refills(&nest, A_, 2), 8.0);
        // Without the sliding window, every step brings the whole window: 3 × 4.
        hw.levels[1].sliding_window = false;
        let ctx = super::super::fixtures::ctx(&p, &hw);
        let m = compact(&p, &hw, levels);
        let (nest, _) = setup(&ctx, &m);
        assert_eq!(ctx.all_refills(&nest, I_, 1), 12.0);
    }

    /// P spread over 2 PEs, R3 in each, P2 stepped at DRAM (K = C = 1, P = 4, R = 3).
    #[test]
    fn a_multicast_read_serves_the_rows_each_child_lacks() {
        let (p, hw) = (qnn(1, 1, 4, 1, 3, 1), chip([2, 1], true, false));
        let keep = [Weights, Inputs, Accum];
        let m = compact(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::P, 2)],
                    &[],
                    &[Weights, Inputs, Accum, Outputs],
                ),
                level("buffer", &[], &[(D::P, 2)], &keep),
                level("reg", &[(D::R, 3)], &[], &keep),
            ],
        );
        let ctx = ctx(&p, &hw);
        let (nest, _) = setup(&ctx, &m);
        // Each PE's window is 3 rows; a P step of 2 outputs brings it 2 new rows: 3 + 2.
        let changes = ctx.changes(&nest, I_, 2);
        assert_eq!(ctx.refills(&nest, I_, 2, changes, Receiver::Child), 5.0);
        // The buffer serves both PEs with one read per row: rows 0–3 first; then PE 0 lacks
        // rows 3 and 4 and PE 1 rows 4 and 5: {3, 4, 5}, 3 reads (not the 2 new rows of the
        // union): 4 + 3.
        let mut merged = nest.ext[2];
        merged[P] *= 2.0;
        let group = Receiver::Group {
            parent: 1,
            merged: &merged,
        };
        assert_eq!(ctx.refills(&nest, I_, 2, changes, group), 7.0);
    }

    #[test]
    fn the_rows_a_group_covers_are_the_union_of_its_childrens_intervals() {
        // Two children 2 rows apart needing 3 rows each: rows 0..5.
        assert_eq!(covered(&mut [0.0; 2], &[(2, 2.0)], 3.0), 5.0);
        // Two children with the same window: 3 rows.
        assert_eq!(covered(&mut [0.0; 2], &[(2, 0.0)], 3.0), 3.0);
        // Four children offset by P and R steps that cancel on the diagonal: offsets −1, 0, 0,
        // 1, rows −1..4.
        assert_eq!(covered(&mut [0.0; 4], &[(2, 1.0), (2, -1.0)], 3.0), 5.0);
        // Children 5 rows apart needing 1 row each: 2 rows, the gap not read.
        assert_eq!(covered(&mut [0.0; 2], &[(2, 5.0)], 1.0), 2.0);
    }
}
