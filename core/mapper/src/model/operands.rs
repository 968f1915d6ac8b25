//! Weights and inputs: what each level serves its children, and the operands the units read.
//!
//! Down the chain of levels keeping the data space, each child is filled with its tile as
//! often as it changes; its parent reads, per multicast group of children, the union of their
//! tiles (identical data once, disjoint data once per child, overlapping input windows once
//! per union). The innermost keeper is read once per operation, divided by the multicast to
//! the units.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::nest::Nest;
use super::network::Route;
use super::reuse::Receiver;
use super::{Ctx, I_, N, NDIMS, P, Q, T, W_};
use crate::hardware::ZeroHandling;

/// How a skippable weight fetch scales: the density of one input it needs, and how many
/// inputs (all zero) make it unneeded.
struct SkippedFetch {
    scale: Scale,
    inputs: f64,
}

impl Ctx<'_> {
    /// Fills down the chain of `ds` (weights or inputs) and the operand reads at its innermost
    /// keeper.
    pub(super) fn operands(&self, nest: &Nest, keepers: &Keepers, ds: usize, out: &mut Counts) {
        for pair in keepers.chain(ds).windows(2) {
            let (p, c) = (pair[0], pair[1]);
            // A backing copy that costs nothing is not read; the transfers still happen.
            let free = p == keepers.outermost(ds) && self.free & (1 << ds) != 0;
            self.serve(nest, ds, p, c, free, out);
        }
        self.operand_reads(nest, ds, keepers.innermost(ds), out);
    }

    /// Parent `p` filling its children at level `c`: fills per child instance, parent reads
    /// per multicast group (none if the parent is `free`), and the traffic between them.
    fn serve(&self, nest: &Nest, ds: usize, p: usize, c: usize, free: bool, out: &mut Counts) {
        let changes = self.changes(nest, ds, c);
        let fills = self.refills(nest, ds, c, changes, Receiver::Child) * nest.inst[c];
        let fills = self.refill_share(nest, ds, c).of(fills);
        // The children one multicast serves share one read: their tiles merge.
        let mut merged = *nest.ext_of(c, ds);
        let mut groups = nest.inst[c];
        for j in p..c {
            if self.hw.levels[j].network.multicast {
                // One division per level: the spatial factors and instances are integers
                // below 2^53, so the quotient is the same exact integer as dividing by each
                // factor in turn, without a chain of nine divisions.
                let mut spread = 1.0;
                for d in 0..NDIMS {
                    let s = nest.sp[j][d];
                    merged[d] *= s;
                    spread *= s;
                }
                groups /= spread;
            }
        }
        let group = Receiver::Group {
            parent: p,
            merged: &merged,
        };
        let reads = self.refills(nest, ds, c, changes, group) * groups;
        let reads = self.group_share(nest, ds, p, c).of(reads);
        let (scale, meets) = match self.fetch_skips_with_input(nest, ds, c, &merged) {
            Some(m) => (m.scale, m.inputs),
            None => (Scale::One, 1.0),
        };
        // A skipped fetch still moves whole words: a word is fetched when any weight in it is
        // needed. Fetching needed weights one access each never costs fewer accesses
        // (1 − (1 − q)^b ≤ b·q), so fills stay packed.
        let fill = if scale == Scale::One {
            Why::plain(Purpose::Fill)
        } else {
            Why::scaled(Purpose::Fill, scale, false).meeting(meets)
        };
        let read = fill;
        if !free {
            out.access(p, ds, Action::Read, reads, read);
        }
        out.access(c, ds, Action::Fill, fills, fill);
        let route = Route {
            ds,
            from: p,
            to: c,
            scale,
            meets,
            format_level: Self::stored_at(ds, p),
        };
        self.multicast(out, route, reads, fills);
    }

    /// The innermost keeper `inner` read once per operation, divided by the multicast to the
    /// units; the weight read is skipped or gated with zero inputs (a scatter when a word
    /// holds several weights), the input read scales with the valid taps only.
    fn operand_reads(&self, nest: &Nest, ds: usize, inner: usize, out: &mut Counts) {
        let mut merged = [1.0; NDIMS];
        let mut groups = nest.inst[inner];
        for j in inner..self.nlev {
            let multicast = self.hw.levels[j].network.multicast;
            for d in 0..NDIMS {
                let s = nest.sp[j][d];
                if multicast {
                    merged[d] *= s;
                } else {
                    groups *= s;
                }
            }
        }
        let reads = nest.cycles * groups * self.foot(ds, &merged);
        let reads = self.operand_share(nest, ds, inner).of(reads);
        // A weight read multicast to units working on several batch items, output positions
        // or steps is needed when any of their inputs is non-zero.
        let (scale, scatter, meets) = if ds == W_ {
            let meets = merged[N] * merged[P] * merged[Q];
            let scale = match self.op_scale() {
                Scale::Input if merged[T] > 1.0 => Scale::EverInput,
                s => s,
            };
            (scale, self.scatters(inner, ds), meets)
        } else {
            (Scale::Valid, false, 1.0)
        };
        let why = Why::scaled(Purpose::Operand, scale, scatter).meeting(meets);
        out.access(inner, ds, Action::Read, reads, why);
        let route = Route {
            ds,
            from: inner,
            to: self.nlev,
            scale,
            meets,
            format_level: (ds == I_).then_some(inner),
        };
        self.multicast(out, route, reads, self.ops);
    }

    /// Whether a fetch of weights into level `c`'s tiles of extents `merged` (one multicast
    /// group's) is skipped with zero inputs, as an operand read is: during one residency each
    /// weight of the tile meets one input element per batch item, output position and step the
    /// residency spans (inside the tile, or in loops above it with no weight loop between that
    /// would refetch the tile), so its fetch is unneeded when all of those are zero. The same
    /// rule for both formats: a QNN's steps are its one step. `None`: fetches are not skipped.
    fn fetch_skips_with_input(
        &self,
        nest: &Nest,
        ds: usize,
        c: usize,
        merged: &[f64; NDIMS],
    ) -> Option<SkippedFetch> {
        if ds != W_ || self.zero == ZeroHandling::None {
            return None;
        }
        let loops = nest.loops_above_of(c, ds);
        let held = match loops
            .iter()
            .rposition(|lp| self.relevant(ds, lp.dim as usize))
        {
            Some(i) => &loops[i + 1..],
            None => loops,
        };
        let mut spans = *merged;
        for lp in held {
            spans[lp.dim as usize] *= lp.factor();
        }
        // Distinct output positions of one weight read distinct inputs whatever the stride.
        let inputs = spans[N] * spans[P] * spans[Q];
        // A residency within one step needs that step's input; one over several steps, an
        // input that fires in any of them (bounded by the fraction ever non-zero).
        let scale = if spans[T] > 1.0 {
            Scale::EverInput
        } else {
            Scale::Input
        };
        Some(SkippedFetch { scale, inputs })
    }

    /// Whether the per-operation accesses of `ds` at level `l` are scatters: zeros are
    /// skipped, so which elements are touched depends on the data, and a word holds several.
    pub(super) fn scatters(&self, l: usize, ds: usize) -> bool {
        self.zero == ZeroHandling::Skip && self.word[l] >= 2.0 * self.bits[ds]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;
    use crate::problem::Densities;

    /// K = 4, C = 2, P = Q = 3, R = S = 3: C2 at DRAM; K2 at the buffer and K2 across its two
    /// PEs; the rest in each PE's register.
    fn k4c2(multicast: bool, free_inputs: bool) -> Counts {
        let mut p = qnn(4, 2, 3, 3, 3, 3);
        if free_inputs {
            p.free_backing = vec![Inputs];
        }
        let hw = chip([2, 1], multicast, false);
        let ctx = ctx(&p, &hw);
        let m = compact(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::C, 2)],
                    &[],
                    &[Weights, Inputs, Accum, Outputs],
                ),
                level("buffer", &[(D::K, 2)], &[(D::K, 2)], &[Weights, Inputs]),
                level(
                    "reg",
                    &[(D::P, 3), (D::Q, 3), (D::R, 3), (D::S, 3)],
                    &[],
                    &[Weights, Accum],
                ),
            ],
        );
        let (nest, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.operands(&nest, &keepers, W_, &mut out);
        ctx.operands(&nest, &keepers, I_, &mut out);
        out
    }

    #[test]
    fn each_level_serves_its_childrens_tiles_and_the_innermost_serves_every_operation() {
        let c = k4c2(true, false);
        // The buffer's tiles of one c: weights K4·R3·S3 = 36, inputs a 5 × 5 window; C2 above
        // is relevant to both: 72 and 50 fills, each read once from DRAM.
        assert_eq!(accesses(&c, 1, Weights, Action::Fill, Purpose::Fill), 72.0);
        assert_eq!(accesses(&c, 0, Weights, Action::Read, Purpose::Fill), 72.0);
        assert_eq!(accesses(&c, 1, Inputs, Action::Fill, Purpose::Fill), 50.0);
        assert_eq!(accesses(&c, 0, Inputs, Action::Read, Purpose::Fill), 50.0);
        // Each register's weights: one k, 9 taps, changed by K2 and C2: 36 per PE, 72 in all;
        // the PEs hold different k, so the buffer reads all 72 (multicast cannot merge them).
        assert_eq!(accesses(&c, 2, Weights, Action::Fill, Purpose::Fill), 72.0);
        assert_eq!(accesses(&c, 1, Weights, Action::Read, Purpose::Fill), 72.0);
        // Every MAC reads its weight in its register: 4·2·81 = 648.
        assert_eq!(
            accesses(&c, 2, Weights, Action::Read, Purpose::Operand),
            648.0
        );
        // Inputs bypass the register: both PEs need the same input each cycle (K is
        // irrelevant to inputs), one multicast read per cycle: 2·2·81 = 324.
        assert_eq!(
            accesses(&c, 1, Inputs, Action::Read, Purpose::Operand),
            324.0
        );
        // Without multicast, each PE reads its own.
        let c = k4c2(false, false);
        assert_eq!(
            accesses(&c, 1, Inputs, Action::Read, Purpose::Operand),
            648.0
        );
    }

    /// The fills of the weights into the registers, with zero inputs skipped.
    fn register_weight_fills(c: &Counts) -> Vec<&AccessCount> {
        c.accesses
            .iter()
            .filter(|a| a.level == 2 && a.data_space == Weights && a.action == Action::Fill)
            .collect()
    }

    #[test]
    fn a_weight_fetched_for_several_output_positions_is_skipped_only_when_all_their_inputs_are_zero()
     {
        let mut p = qnn(4, 2, 3, 3, 3, 3);
        let mut hw = chip([2, 1], true, false);
        hw.compute.zero_handling = ZeroHandling::Skip;
        let m = |p: &Problem| {
            let mut reg = vec![(D::P, 3), (D::Q, 3), (D::R, 3), (D::S, 3)];
            if p.t > 1 {
                reg.insert(0, (D::T, p.t));
            }
            compact(
                p,
                &hw,
                vec![
                    level(
                        "DRAM",
                        &[(D::C, 2)],
                        &[],
                        &[Weights, Inputs, Accum, Membrane, Outputs],
                    ),
                    level("buffer", &[(D::K, 2)], &[(D::K, 2)], &[Weights, Inputs]),
                    level("reg", &reg, &[], &[Weights, Accum]),
                ],
            )
        };
        let count = |p: &Problem| {
            let ctx = ctx(p, &hw);
            let m = m(p);
            let (nest, keepers) = setup(&ctx, &m);
            let mut out = Counts::default();
            ctx.operands(&nest, &keepers, W_, &mut out);
            out
        };
        // Each register weight meets the inputs of the P3·Q3 output positions it serves: its
        // fetch is unneeded only if all nine are zero, in a QNN as in an SNN.
        let c = count(&p);
        let fills = register_weight_fills(&c);
        assert_eq!(fills.len(), 1);
        assert_eq!((fills[0].scale, fills[0].meets), (Scale::Input, 9.0));
        let dens = Densities::uniform(0.1);
        // 16-bit weights in 16-bit words: one per block, 1 − 0.9⁹ of them needed.
        let moved = fills[0].moved(&dens, 1.0, 1.0);
        assert!((moved - (1.0 - 0.9f64.powi(9))).abs() < 1e-12, "{moved}");
        // Four to a word, a word is fetched if any of its 36 inputs fires.
        let moved = fills[0].moved(&dens, 1.0, 4.0);
        assert!((moved - (1.0 - 0.9f64.powi(36))).abs() < 1e-12, "{moved}");
        // An SNN whose register holds its weights over every step needs an input that fires
        // in any step.
        p.kind = crate::problem::Kind::Snn;
        p.t = 4;
        let c = count(&p);
        assert_eq!(register_weight_fills(&c)[0].scale, Scale::EverInput);
    }

    #[test]
    fn a_backing_copy_that_costs_nothing_is_not_read_but_still_fills() {
        let c = k4c2(true, true);
        assert_eq!(accesses(&c, 0, Inputs, Action::Read, Purpose::Fill), 0.0);
        assert_eq!(accesses(&c, 1, Inputs, Action::Fill, Purpose::Fill), 50.0);
        assert_eq!(accesses(&c, 0, Weights, Action::Read, Purpose::Fill), 72.0);
    }
}
