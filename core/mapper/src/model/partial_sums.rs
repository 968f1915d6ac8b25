//! The partial-sum chain: the innermost keeper is updated once per operation (divided by the
//! spatial reduction below it), a read-modify-write except the first update of each
//! residency; each residency ends with a drain to the next keeper up, which adds what arrives
//! (the first arrival of each of its own residencies only writes), up to the finalizing level.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::nest::Nest;
use super::network::Route;
use super::{A_, C, Ctx, R, S};
use crate::price::ComputeOp;

impl Ctx<'_> {
    /// Updates at the innermost keeper, the operations, and the drains up the chain.
    pub(super) fn partial_sums(&self, nest: &Nest, keepers: &Keepers, out: &mut Counts) {
        let chain = keepers.accum_chain();
        let ia = chain[chain.len() - 1];
        let updates = self.ops / self.reduction(nest, ia, self.nlev);
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
        let arrivals = drained / self.reduction(nest, p, c);
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
