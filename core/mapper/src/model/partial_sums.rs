//! The partial-sum chain: the innermost keeper is updated once per operation (divided by the
//! spatial reduction below it), a read-modify-write except the first update of each
//! residency; each residency ends with a drain to the next keeper up, which adds what arrives
//! (the first arrival of each of its own residencies only writes), up to the finalizing level.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::nest::Nest;
use super::network::Route;
use super::{A_, C, Ctx, R, S};
use crate::pricing::ComputeOp;

impl Ctx<'_> {
    /// Updates at the innermost keeper, the operations, and the drains up the chain.
    pub(super) fn partial_sums(&self, nest: &Nest, keepers: &Keepers, out: &mut Counts) {
        let chain = keepers.accum_chain();
        let ia = chain[chain.len() - 1];
        let updates = if nest.uneven == 0 {
            self.ops / self.reduction(nest, ia, self.nlev)
        } else {
            let padded_ops: f64 = nest.ext[0].iter().product();
            let padded = padded_ops / self.reduction(nest, ia, self.nlev);
            self.update_share(nest, ia).of(padded)
        };
        let residencies = self.residencies(nest, ia);
        let op_scale = self.op_scale();
        let why = Why::scaled(Purpose::Accumulate, op_scale, self.scatters(ia, A_));
        out.access(ia, A_, Action::Update, updates, why);
        out.access(ia, A_, Action::Read, updates - residencies, why);
        out.op(
            Self::main_op(self.problem),
            self.ops,
            op_scale,
            "multiply-accumulate or synaptic accumulate",
        );
        // Spatial reduction below the innermost keeper is done by the units' own adders (a
        // systolic column or forwarding chain adds each product to the passing partial sum),
        // which the operation above already counts.
        let route = Route {
            ds: A_,
            from: ia,
            to: self.nlev,
            scale: op_scale,
            meets: 1.0,
            format_level: None,
        };
        self.unicast(out, route, updates);
        for pair in chain.windows(2).rev() {
            self.drain_sums(nest, pair[0], pair[1], out);
        }
    }

    /// Child `c` draining its finished residencies to parent `p`, which adds them up.
    fn drain_sums(&self, nest: &Nest, p: usize, c: usize, out: &mut Counts) {
        let drained = self.residencies(nest, c);
        let arrivals = if nest.uneven == 0 {
            drained / self.reduction(nest, p, c)
        } else {
            let padded = self.padded_refills(nest, A_, c);
            self.arrival_share(nest, p, c)
                .of(padded / self.reduction(nest, p, c))
        };
        let first_arrivals = self.residencies(nest, p);
        out.access(c, A_, Action::Read, drained, Why::plain(Purpose::Drain));
        let accumulate = Why::plain(Purpose::Accumulate);
        out.access(p, A_, Action::Update, arrivals, accumulate);
        out.access(p, A_, Action::Read, arrivals - first_arrivals, accumulate);
        out.op(
            ComputeOp::Add {
                bits: self.problem.accum_bits,
            },
            (arrivals - first_arrivals) + (drained - arrivals),
            Scale::One,
            "partial-sum accumulation above the innermost level",
        );
        let route = Route {
            ds: A_,
            from: p,
            to: c,
            scale: Scale::One,
            meets: 1.0,
            format_level: None,
        };
        self.reduce_up(out, route, drained, arrivals);
    }

    /// Residencies of partial sums at level `l` over all its instances: its tile times the
    /// times it changes.
    fn residencies(&self, nest: &Nest, l: usize) -> f64 {
        self.all_refills(nest, A_, l)
    }

    /// Partial sums merged by the reducing networks of levels `from..to` (their spatial
    /// loops over C, R and S).
    fn reduction(&self, nest: &Nest, from: usize, to: usize) -> f64 {
        let mut red = 1.0;
        for j in from..to {
            if self.hw.levels[j].network.reduction {
                for d in [C, R, S] {
                    red *= nest.sp[j][d];
                }
            }
        }
        red
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    /// K = 2, C = 2, P = 3: K2 at the buffer with C across its 2 PEs, P3 in each register.
    fn c2(reduction: bool) -> Counts {
        let p = qnn(2, 2, 3, 1, 1, 1);
        let hw = chip([2, 1], true, reduction);
        let ctx = ctx(&p, &hw);
        let m = compact(
            &p,
            &hw,
            vec![
                level("DRAM", &[], &[], &[Weights, Inputs, Accum, Outputs]),
                level(
                    "buffer",
                    &[(D::K, 2)],
                    &[(D::C, 2)],
                    &[Weights, Inputs, Accum],
                ),
                level("reg", &[(D::P, 3)], &[], &[Weights, Accum]),
            ],
        );
        let (nest, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.partial_sums(&nest, &keepers, &mut out);
        out
    }

    fn adds_above(c: &Counts) -> f64 {
        c.ops
            .iter()
            .filter(|o| o.what.starts_with("partial-sum accumulation"))
            .map(|o| o.count)
            .sum()
    }

    #[test]
    fn each_residency_is_written_first_then_read_modified_and_written() {
        let c = c2(true);
        // 12 MACs update the registers; each register's tile (P3) is refilled per k: 6
        // residencies per PE, 12 in all, whose first update only writes.
        assert_eq!(
            accesses(&c, 2, Accum, Action::Update, Purpose::Accumulate),
            12.0
        );
        assert_eq!(
            accesses(&c, 2, Accum, Action::Read, Purpose::Accumulate),
            0.0
        );
        assert_eq!(c.ops[0].count, 12.0);
        // Each residency drains once.
        assert_eq!(accesses(&c, 2, Accum, Action::Read, Purpose::Drain), 12.0);
    }

    #[test]
    fn spatial_reduction_divides_the_parents_updates_and_costs_the_same_adds() {
        // With reduction the two PEs' sums meet in the network: 6 arrivals at the buffer, each
        // the first of its element (the buffer's tile K2·P3 stays): written only; 6 adds in
        // the network.
        let c = c2(true);
        assert_eq!(
            accesses(&c, 1, Accum, Action::Update, Purpose::Accumulate),
            6.0
        );
        assert_eq!(
            accesses(&c, 1, Accum, Action::Read, Purpose::Accumulate),
            0.0
        );
        assert_eq!(adds_above(&c), 6.0);
        // Without, 12 arrivals of which 6 are read, added and written back: the same 6 adds.
        let c = c2(false);
        assert_eq!(
            accesses(&c, 1, Accum, Action::Update, Purpose::Accumulate),
            12.0
        );
        assert_eq!(
            accesses(&c, 1, Accum, Action::Read, Purpose::Accumulate),
            6.0
        );
        assert_eq!(adds_above(&c), 6.0);
    }
}
