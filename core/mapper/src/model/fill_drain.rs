//! Fill and drain of systolic arrays. A level whose network is systolic feeds its children by
//! neighbour-to-neighbour forwarding, so each time the loops at and above it give the array a
//! new tile (a fold) the array first loads the tile its PEs keep still (one cycle per row, when
//! they keep weights or inputs), then skews the streamed operand in and drains the last
//! results out (rows + columns − 2 cycles), none of which overlaps the stream. This is how
//! SCALE-Sim times a fold (its weight-, input- and output-stationary compute models), which
//! `tools/live_scalesim.py` checks cycle for cycle on pinned mappings.

use super::{Ctx, I_, NDIMS, W_};
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
            let folds: f64 = (0..=l)
                .flat_map(|k| m.tf[k][..NDIMS].iter())
                .map(|&f| f as f64)
                .product();
            let load = if child_keeps & ((1 << W_) | (1 << I_)) != 0 {
                rows
            } else {
                0.0
            };
            total += folds * (load + rows + cols - 2.0);
        }
        total
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
    fn arrays_fed_by_a_bus_or_mesh_have_no_fill_and_drain() {
        assert_eq!(folded(Topology::Mesh, &[Weights]), 0.0);
        assert_eq!(folded(Topology::Bus, &[Weights]), 0.0);
    }
}
