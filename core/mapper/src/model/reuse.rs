//! How many elements a tile brings in over the loops above its level: the tile times the
//! number of times it changes. Walking the temporal loops above the level from the innermost
//! outward, the first run of loops irrelevant to the data space leaves the tile in place
//! (stationarity); from the first relevant loop on, every loop multiplies. With a sliding
//! window, a step of that first loop along P or Q brings only the rows or columns a child
//! lacks.

use super::nest::Nest;
use super::{C, Ctx, I_, M_, P, Q, R, S};
use crate::problem::NDIMS;

/// Whose elements are counted.
#[derive(Clone, Copy, Debug)]
pub(super) enum Receiver {
    /// One instance of the child level.
    Child,
    /// One multicast group of children, served by reads of parent level `p`.
    Group(usize),
}

impl Ctx<'_> {
    /// Element transfers into one instance of the child level `c` whose tile has extents `e`,
    /// or (for `Receiver::Group`) parent reads for one multicast group of children whose merged
    /// tile has extents `e`. The membrane is counted on the nest projected onto the
    /// non-reduction dimensions (C, R, S dropped).
    pub(super) fn refills(
        &self,
        nest: &Nest,
        ds: usize,
        c: usize,
        e: &[f64; NDIMS],
        sliding: bool,
        to: Receiver,
    ) -> f64 {
        let tile = self.foot(ds, e);
        let projected = ds == M_;
        let loops = nest.loops_above(c);
        let Some(first) = loops.iter().rposition(|lp| self.relevant(ds, lp.dim)) else {
            return tile;
        };
        let mut mult = 1.0;
        for lp in loops[..=first].iter().rev() {
            if !(projected && matches!(lp.dim, C | R | S)) {
                mult *= lp.factor;
            }
        }
        let lp = loops[first];
        if sliding && ds == I_ && (lp.dim == P || lp.dim == Q) {
            let delta = self.new_lines(nest, c, e, lp.level, lp.dim, to);
            let tile_delta = tile / self.rows(e, lp.dim) * delta;
            return mult / lp.factor * (tile + (lp.factor - 1.0) * tile_delta);
        }
        tile * mult
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
        let pr = self.problem;
        let (stride, dil, kd) = if d == P {
            (pr.stride_h as f64, pr.dilation_h as f64, R)
        } else {
            (pr.stride_w as f64, pr.dilation_w as f64, S)
        };
        let m = nest.m;
        let inner = nest.ext[j + 1][d] * m.sp(j, d) as f64;
        // The tile's lines (at most the real map); the steps count the new lines of the
        // padded window, an upper bound at the border.
        let w = self.rows(e, d);
        // Each child keeps the overlap of its own window; what it lacks after a step is
        // the new rows of its own window, and a multicast read serves the union of those
        // (a child cannot take over rows another child held: nothing forwards them).
        let own = self.rows(&nest.ext[c], d);
        let new_rows = own.min(inner * stride);
        if new_rows >= own {
            return w;
        }
        match to {
            Receiver::Group(p) => self
                .union_of_new_rows(nest, p, c, (d, stride), (kd, dil), new_rows)
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
        let mut offsets: Vec<f64> = vec![0.0];
        for j in p..c {
            if !self.hw.levels[j].network.multicast {
                continue;
            }
            for (dim, scale) in [(d, stride), (kd, dil)] {
                let f = nest.m.sp(j, dim);
                if f <= 1 {
                    continue;
                }
                let spacing = scale * nest.ext[j + 1][dim];
                let base = std::mem::take(&mut offsets);
                for i in 0..f {
                    offsets.extend(base.iter().map(|o| o + i as f64 * spacing));
                }
            }
        }
        offsets.sort_by(f64::total_cmp);
        offsets.dedup();
        let gaps: f64 = offsets.windows(2).map(|w| (w[1] - w[0]).min(len)).sum();
        gaps + len
    }
}
