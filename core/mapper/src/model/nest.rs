//! The mapping as a loop nest: each level's extents, the instances in use, the compute
//! cycles, and the temporal loops above each level, innermost last. Factors that do not
//! multiply to the layer's sizes and spatial loops wider than a fan-out are refused here.

use super::{Ctx, Illegal};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::problem::NDIMS;

/// A temporal loop of factor > 1.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TemporalLoop {
    pub level: usize,
    pub dim: usize,
    pub factor: f64,
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
    /// Temporal loops of factor > 1, outermost first.
    loops: [TemporalLoop; MAX_LEVELS * NDIMS],
    /// `loops[..above[l]]` are the loops above level `l`.
    above: [usize; MAX_LEVELS + 1],
}

impl<'m> Nest<'m> {
    pub fn new(ctx: &Ctx, m: &'m Compact) -> Result<Nest<'m>, Illegal> {
        let l_n = ctx.nlev;
        let mut ext = [[1.0f64; NDIMS]; MAX_LEVELS + 1];
        for l in (0..l_n).rev() {
            for d in 0..NDIMS {
                ext[l][d] = ext[l + 1][d] * m.tf[l][d] as f64 * m.sp(l, d) as f64;
            }
        }
        for d in 0..NDIMS {
            if ext[0][d] != ctx.dims[d] as f64 {
                return Err(Illegal::Factors(d));
            }
        }
        let mut inst = [1.0f64; MAX_LEVELS + 1];
        let mut cycles = 1.0;
        for l in 0..l_n {
            let fan = ctx.hw.fanout(l);
            let (mut ux, mut uy) = (1u64, 1u64);
            let mut all = 1.0;
            for d in 0..NDIMS {
                ux *= m.sx[l][d] as u64;
                uy *= m.sy[l][d] as u64;
                all *= m.sp(l, d) as f64;
                cycles *= m.tf[l][d] as f64;
            }
            if ux > fan[0] {
                return Err(Illegal::Fit(l, 0));
            }
            if uy > fan[1] {
                return Err(Illegal::Fit(l, 1));
            }
            inst[l + 1] = inst[l] * all;
        }
        let mut loops = [TemporalLoop::default(); MAX_LEVELS * NDIMS];
        let mut above = [0usize; MAX_LEVELS + 1];
        let mut n = 0;
        for l in 0..l_n {
            above[l] = n;
            for &d in &m.order[l] {
                let d = d as usize;
                if m.tf[l][d] != 1 {
                    loops[n] = TemporalLoop {
                        level: l,
                        dim: d,
                        factor: m.tf[l][d] as f64,
                    };
                    n += 1;
                }
            }
        }
        above[l_n] = n;
        Ok(Nest {
            m,
            ext,
            inst,
            cycles,
            loops,
            above,
        })
    }

    /// The temporal loops above level `l` (at levels `0..l`), outermost first.
    pub fn loops_above(&self, l: usize) -> &[TemporalLoop] {
        &self.loops[..self.above[l]]
    }
}
