//! Fill and drain of systolic arrays. A level whose network is systolic feeds its children by
//! neighbour-to-neighbour forwarding, so each time the loops at and above it give the array a
//! new tile to keep (a fold: an iteration of the loops down to the innermost one that indexes
//! what the PEs keep; the loops inside it are the stream) the array first loads the tile its
//! PEs keep still (one cycle per row, when they keep weights or inputs), then skews the
//! streamed operand in and drains the last results out (rows + columns − 2 cycles), none of
//! which overlaps the stream. PEs that keep nothing are one pipeline, filled and drained once. This is how
//! SCALE-Sim times a fold (its weight-, input- and output-stationary compute models), which
//! `tools/live_scalesim.py` checks cycle for cycle on pinned mappings.

use super::{Ctx, I_, NDIMS, NSPACES, W_};
use crate::hardware::Topology;
use crate::mapping::Compact;

impl Ctx<'_> {
    /// Cycles the mapping's systolic arrays spend filling and draining, over all folds.
    pub(super) fn fill_drain(&self, m: &Compact) -> f64 {
        let mut total = 0.0;
        for l in 0..self.nlev {
            if self.hw.levels[l].network.topology != Topology::Systolic {
                continue;
            }
            // An array the mapping does not spread over is one PE: nothing to skew.
            if (0..NDIMS).all(|d| m.sx[l][d] <= 1 && m.sy[l][d] <= 1) {
                continue;
            }
            let (array, child_keeps) = if l + 1 < self.nlev {
                (self.hw.levels[l + 1].mesh, m.keep[l + 1])
            } else {
                (self.hw.compute.units, 0)
            };
            let [rows, cols] = array.map(|a| a as f64);
            let folds = self.folds(m, l, child_keeps);
            let load = if child_keeps & ((1 << W_) | (1 << I_)) != 0 {
                rows
            } else {
                0.0
            };
            total += folds * (load + rows + cols - 2.0);
        }
        total
    }

    /// Iterations of the loops at and above level `l`, outermost first, down to the innermost
    /// one relevant to a data space in `keeps` (1 when `keeps` is empty).
    fn folds(&self, m: &Compact, l: usize, keeps: u8) -> f64 {
        let (mut product, mut folds) = (1.0, 1.0);
        for k in 0..=l {
            for &d in &m.order[k] {
                let f = m.tf[k][d as usize];
                if f <= 1 {
                    continue;
                }
                product *= f as f64;
                if (0..NSPACES).any(|ds| keeps & (1 << ds) != 0 && self.relevant(ds, d as usize)) {
                    folds = product;
                }
            }
        }
        folds
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::hardware::Topology;

    /// K4 C2 P8 on 2 × 2 PEs: C2 and K2 spread, K2 folded at the buffer, P8 streamed.
    fn folded(topology: Topology, pe_keeps: &[crate::problem::DataSpace]) -> f64 {
        let p = qnn(4, 2, 8, 1, 1, 1);
        let mut hw = chip([2, 2], true, true);
        hw.levels[1].network.topology = topology;
        let ctx = ctx(&p, &hw);
        let mut buffer = level(
            "buffer",
            &[(D::K, 2)],
            &[],
            &[Weights, Inputs, Accum, Outputs],
        );
        buffer.spatial = vec![
            crate::mapping::SpatialLoop {
                dim: D::C,
                factor: 2,
                axis: crate::mapping::Axis::X,
            },
            crate::mapping::SpatialLoop {
                dim: D::K,
                factor: 2,
                axis: crate::mapping::Axis::Y,
            },
        ];
        let m = compact(
            &p,
            &hw,
            vec![
                level("DRAM", &[], &[], &[Weights, Inputs, Accum, Outputs]),
                buffer,
                level("reg", &[(D::P, 8)], &[], pe_keeps),
            ],
        );
        ctx.fill_drain(&m)
    }

    #[test]
    fn each_fold_of_a_systolic_array_loads_its_rows_then_skews_and_drains() {
        // Two folds (K2 at the buffer), each: 2 rows of weights loaded, 2 + 2 − 2 skew and drain.
        assert_eq!(folded(Topology::Systolic, &[Weights]), 2.0 * (2.0 + 2.0));
        // Sums kept still load nothing; they drain while the stream runs.
        assert_eq!(folded(Topology::Systolic, &[Accum]), 2.0 * 2.0);
    }

    #[test]
    fn a_stream_stepped_above_the_array_is_not_a_fold() {
        // P8 moved from the registers to the buffer, inside K2: the weights the PEs keep do
        // not change along it, so there are still two folds.
        let p = qnn(4, 2, 8, 1, 1, 1);
        let mut hw = chip([2, 2], true, true);
        hw.levels[1].network.topology = Topology::Systolic;
        let ctx = ctx(&p, &hw);
        let mut buffer = level(
            "buffer",
            &[(D::K, 2), (D::P, 8)],
            &[(D::C, 2)],
            &[Weights, Inputs, Accum, Outputs],
        );
        buffer.spatial.push(crate::mapping::SpatialLoop {
            dim: D::K,
            factor: 2,
            axis: crate::mapping::Axis::Y,
        });
        let m = compact(
            &p,
            &hw,
            vec![
                level("DRAM", &[], &[], &[Weights, Inputs, Accum, Outputs]),
                buffer,
                level("reg", &[], &[], &[Weights]),
            ],
        );
        assert_eq!(ctx.fill_drain(&m), 2.0 * (2.0 + 2.0));
    }

    #[test]
    fn arrays_fed_by_a_bus_or_mesh_have_no_fill_and_drain() {
        assert_eq!(folded(Topology::Mesh, &[Weights]), 0.0);
        assert_eq!(folded(Topology::Bus, &[Weights]), 0.0);
    }
}
