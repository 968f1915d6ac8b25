//! The mapping as a loop nest: each level's extents, the instances in use, the compute
//! cycles, and the temporal loops above each level, innermost last. Factors that do not cover
//! the layer's sizes (or cover them wastefully, see [`super::uneven`]) and spatial loops wider
//! than a fan-out are refused here.

use super::illegal::Boundary;
use super::keepers::Keepers;
use super::{A_, Ctx, I_, Illegal, M_, O_, P, Q, R, S, W_};
use crate::hardware::Topology;
use crate::mapping::{Compact, MAX_LEVELS};
use crate::problem::{NDIMS, NSPACES};

/// A temporal loop of factor > 1.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TemporalLoop {
    pub level: u8,
    pub dim: u8,
    factor: u32,
}

impl TemporalLoop {
    pub fn factor(self) -> f64 {
        self.factor as f64
    }
}

/// What every count of one mapping walks.
#[derive(Debug)]
pub(super) struct Nest<'m> {
    /// The mapping.
    pub m: &'m Compact,
    /// Extents inside each level's boundary: the product of the temporal and spatial factors
    /// at that level and every level inside it.
    pub ext: [[f64; NDIMS]; MAX_LEVELS + 1],
    /// Instances of each level in use; `inst[nlev]` = compute units in use.
    pub inst: [f64; MAX_LEVELS + 1],
    /// Iterations of all temporal loops.
    pub cycles: f64,
    /// Spatial factor of each level and dimension (both axes).
    pub sp: [[f64; NDIMS]; MAX_LEVELS],
    /// Elements of the tile of each data space each level keeps (set when the tiles are
    /// checked against capacities).
    pub tile: [[f64; NSPACES]; MAX_LEVELS],
    /// Dimensions whose factors multiply past the layer's size (uneven tiling), as a mask.
    pub uneven: u16,
    /// Temporal loops of factor > 1, outermost first.
    loops: [TemporalLoop; MAX_LEVELS * NDIMS],
    /// `loops[..above[l]]` are the loops above level `l`.
    above: [usize; MAX_LEVELS + 1],
    /// Per-operand boundaries, when the mapping has any (none: every data space's tile ends
    /// at its level's boundary, and the per-space accessors return the level's).
    raised: Option<Box<Raised>>,
}

/// The tiles whose boundary sits above their level's: per level and data space, where the
/// loops above the tile begin and the tile's extents.
#[derive(Debug)]
struct Raised {
    above: [[usize; NSPACES]; MAX_LEVELS],
    ext: [[[f64; NDIMS]; NSPACES]; MAX_LEVELS],
}

impl<'m> Nest<'m> {
    /// The loop nest of `m`, to be unrolled on a chip.
    #[inline(always)]
    pub fn of(m: &'m Compact) -> Nest<'m> {
        Nest {
            m,
            ext: [[1.0; NDIMS]; MAX_LEVELS + 1],
            inst: [1.0; MAX_LEVELS + 1],
            cycles: 1.0,
            sp: [[1.0; NDIMS]; MAX_LEVELS],
            tile: [[0.0; NSPACES]; MAX_LEVELS],
            uneven: 0,
            loops: [TemporalLoop::default(); MAX_LEVELS * NDIMS],
            above: [0; MAX_LEVELS + 1],
            raised: None,
        }
    }

    /// Works out the nest on the context's chip; refused if its factors do not multiply to
    /// the layer's sizes or its spatial loops exceed a fan-out.
    #[inline]
    pub fn unroll(&mut self, ctx: &Ctx) -> Result<(), Illegal> {
        self.extents(ctx)?;
        self.instances(ctx)?;
        self.temporal_loops(ctx.nlev);
        if m_raises(self.m, ctx.nlev) {
            self.raise(ctx)?;
        }
        Ok(())
    }

    /// Spatial factors and the extents inside each level's boundary.
    #[inline]
    fn extents(&mut self, ctx: &Ctx) -> Result<(), Illegal> {
        let m = self.m;
        // Spatial factors multiply to at most the instances a chip may have (below 2^48):
        // exact as floats.
        for l in 0..ctx.nlev {
            for d in 0..NDIMS {
                self.sp[l][d] = m.sx[l][d] as f64 * m.sy[l][d] as f64;
            }
        }
        for l in (0..ctx.nlev).rev() {
            for d in 0..NDIMS {
                self.ext[l][d] = self.ext[l + 1][d] * m.tf[l][d] as f64 * self.sp[l][d];
            }
        }
        for d in 0..NDIMS {
            let covered = self.ext[0][d];
            if covered < ctx.dims[d] as f64 {
                return Err(Illegal::Factors(d));
            }
            if covered > ctx.dims[d] as f64 {
                self.uneven |= 1 << d;
            }
        }
        if self.uneven != 0 {
            self.check_uneven(ctx)?;
        }
        Ok(())
    }

    /// Instances in use per level (spatial loops checked against the fan-outs) and cycles.
    #[inline]
    fn instances(&mut self, ctx: &Ctx) -> Result<(), Illegal> {
        let m = self.m;
        for l in 0..ctx.nlev {
            let fan = ctx.hw.fanout(l);
            let (mut ux, mut uy) = (1u64, 1u64);
            let mut all = 1.0;
            for d in 0..NDIMS {
                ux *= m.sx[l][d] as u64;
                uy *= m.sy[l][d] as u64;
                all *= self.sp[l][d];
                self.cycles *= m.tf[l][d] as f64;
            }
            if ux > fan[0] {
                return Err(Illegal::Fit(l, 0));
            }
            if uy > fan[1] {
                return Err(Illegal::Fit(l, 1));
            }
            self.inst[l + 1] = self.inst[l] * all;
        }
        Ok(())
    }

    /// The temporal loops of factor > 1, outermost first, and where each level's begin.
    #[inline]
    fn temporal_loops(&mut self, nlev: usize) {
        let m = self.m;
        let mut n = 0;
        for l in 0..nlev {
            self.above[l] = n;
            for &d in &m.order[l] {
                if m.tf[l][d as usize] != 1 {
                    self.loops[n] = TemporalLoop {
                        level: l as u8,
                        dim: d,
                        factor: m.tf[l][d as usize],
                    };
                    n += 1;
                }
            }
        }
        self.above[nlev] = n;
    }

    /// The temporal loops above level `l` (at levels `0..l`), outermost first.
    pub fn loops_above(&self, l: usize) -> &[TemporalLoop] {
        &self.loops[..self.above[l]]
    }

    /// The temporal loops above the boundary of `ds`'s tile at level `l`, outermost first.
    #[inline]
    pub fn loops_above_of(&self, l: usize, ds: usize) -> &[TemporalLoop] {
        match &self.raised {
            None => self.loops_above(l),
            Some(r) => &self.loops[..r.above[l][ds]],
        }
    }

    /// The extents of `ds`'s tile at level `l`.
    #[inline]
    pub fn ext_of(&self, l: usize, ds: usize) -> &[f64; NDIMS] {
        match &self.raised {
            None => &self.ext[l],
            Some(r) => &r.ext[l][ds],
        }
    }

    /// Where the loops above each level's tile of each data space begin: the level's own
    /// boundary moved out past the loops the tile takes in (for kept weights, inputs and
    /// partial sums; the counter does not count raised membranes, outputs or the PEs of a
    /// systolic array, and those are refused).
    fn raise(&mut self, ctx: &Ctx) -> Result<(), Illegal> {
        let m = self.m;
        let mut r = Box::new(Raised {
            above: [[0; NSPACES]; MAX_LEVELS],
            ext: [[[1.0; NDIMS]; NSPACES]; MAX_LEVELS],
        });
        for l in 0..ctx.nlev {
            for ds in 0..NSPACES {
                let b = if m.keep[l] & (1 << ds) != 0 {
                    m.raise[l][ds] as usize
                } else {
                    0
                };
                if b > 0 && (ds == M_ || ds == O_) {
                    return Err(Illegal::Boundary(l, ds, Boundary::Space));
                }
                if b > self.above[l] {
                    return Err(Illegal::Boundary(l, ds, Boundary::TooHigh));
                }
                // A systolic array's folds are timed on the tiles its PEs keep at their level.
                if b > 0 && l > 0 && ctx.hw.levels[l - 1].network.topology == Topology::Systolic {
                    return Err(Illegal::Boundary(l, ds, Boundary::Systolic));
                }
                let start = self.above[l] - b;
                let mut e = self.ext[l];
                for lp in &self.loops[start..self.above[l]] {
                    let d = lp.dim as usize;
                    // A spatial loop over the same window dimension between the loop and the
                    // level would stride the tile's rows: its window is not one run.
                    if ds == I_
                        && matches!(d, P | Q | R | S)
                        && (lp.level as usize..l).any(|i| self.sp[i][d] > 1.0)
                    {
                        return Err(Illegal::Boundary(l, ds, Boundary::Strided(lp.dim)));
                    }
                    e[d] *= lp.factor();
                }
                r.above[l][ds] = start;
                r.ext[l][ds] = e;
            }
        }
        self.raised = Some(r);
        Ok(())
    }

    /// Refuses a child tile of `ds` whose boundary sits above its parent keeper's: the child
    /// would hold what its parent has already replaced.
    pub fn check_boundaries(&self, keepers: &Keepers) -> Result<(), Illegal> {
        let Some(r) = &self.raised else {
            return Ok(());
        };
        for ds in [W_, I_, A_] {
            for pair in keepers.chain(ds).windows(2) {
                let (p, c) = (pair[0], pair[1]);
                if r.above[c][ds] < r.above[p][ds] {
                    return Err(Illegal::Boundary(c, ds, Boundary::AboveParent));
                }
            }
        }
        Ok(())
    }
}

/// Whether any level of `m` gives a data space a boundary of its own.
#[inline]
fn m_raises(m: &Compact, nlev: usize) -> bool {
    m.raise[..nlev].iter().any(|r| *r != [0; NSPACES])
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    /// The crate documentation's worked example: K2 at DRAM, P4 at the buffer, R3 in the
    /// register.
    #[test]
    fn extents_instances_cycles_and_the_loops_above_each_level() {
        let (p, hw) = (qnn(2, 1, 4, 1, 3, 1), chip([1, 1], true, false));
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
                level("buffer", &[(D::P, 4)], &[], &[Weights, Inputs]),
                level("reg", &[(D::R, 3)], &[], &[Accum]),
            ],
        );
        let mut nest = Nest::of(&m);
        nest.unroll(&ctx).unwrap();
        assert_eq!(nest.ext[0][K] * nest.ext[0][P] * nest.ext[0][R], 24.0);
        assert_eq!(
            (nest.ext[1][K], nest.ext[1][P], nest.ext[1][R]),
            (1.0, 4.0, 3.0)
        );
        assert_eq!((nest.ext[2][P], nest.ext[2][R]), (1.0, 3.0));
        assert_eq!(nest.inst[..4], [1.0; 4]);
        assert_eq!(nest.cycles, 24.0);
        let dims = |l: usize| -> Vec<usize> {
            nest.loops_above(l)
                .iter()
                .map(|lp| lp.dim as usize)
                .collect()
        };
        assert_eq!(dims(0), Vec::<usize>::new());
        assert_eq!(dims(1), vec![K]);
        assert_eq!(dims(2), vec![K, P]);
        assert_eq!(dims(3), vec![K, P, R]);
    }

    #[test]
    fn spatial_loops_multiply_instances_and_are_held_to_the_fan_out() {
        let (p, hw) = (qnn(4, 1, 3, 1, 1, 1), chip([2, 1], true, false));
        let ctx = ctx(&p, &hw);
        let all = [Weights, Inputs, Accum, Outputs];
        let mut m = compact(
            &p,
            &hw,
            vec![
                level("DRAM", &[(D::K, 2)], &[], &all),
                level("buffer", &[], &[(D::K, 2)], &[Weights, Inputs]),
                level("reg", &[(D::P, 3)], &[], &[Accum]),
            ],
        );
        let mut nest = Nest::of(&m);
        nest.unroll(&ctx).unwrap();
        // Two registers in use, each running P3 for each of K2 at DRAM: 6 cycles.
        assert_eq!((nest.inst[2], nest.inst[3], nest.cycles), (2.0, 2.0, 6.0));
        // Four registers' worth of K on a mesh of two, with K2 taken from DRAM to keep K whole.
        m.sx[1][K] = 4;
        m.tf[0][K] = 1;
        assert_eq!(Nest::of(&m).unroll(&ctx), Err(Illegal::Fit(1, 0)));
        // Factors that no longer multiply to K = 4.
        m.sx[1][K] = 2;
        assert_eq!(Nest::of(&m).unroll(&ctx), Err(Illegal::Factors(K)));
    }
}
