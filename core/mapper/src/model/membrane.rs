//! The membrane chain of an SNN: read and written once per carry (a neuron step that follows
//! another: T − 1 per neuron; the first step's membrane is zero and the last is dead) at the
//! innermost level keeping membranes; above it, per parent/child pair, residencies counted on the nest
//! projected onto the non-reduction dimensions, each but the first filled from the parent and
//! each but the last drained back (the initial potential is set, the final one is dead). The
//! finished current travels from the finalizing level up to the membrane.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::nest::Nest;
use super::network::Route;
use super::{A_, Ctx, M_};

impl Ctx<'_> {
    /// State words each neuron keeps: its membrane, and a CubaLIF's synaptic current beside
    /// it, read, decayed, fed and written with it every step.
    pub(super) fn neuron_states(&self) -> f64 {
        if self.problem.neuron == crate::problem::Neuron::CubaLif {
            2.0
        } else {
            1.0
        }
    }

    pub(super) fn membrane(&self, nest: &Nest, keepers: &Keepers, out: &mut Counts) {
        let steps = self.epilogue_steps();
        let carried = self.carries() * self.neuron_states();
        let mi = keepers.innermost(M_);
        let epilogue = Why::plain(Purpose::Epilogue);
        out.access(mi, M_, Action::Read, carried, epilogue);
        out.access(mi, M_, Action::Update, carried, epilogue);
        for pair in keepers.chain(M_).windows(2) {
            self.swap_membranes(nest, pair[0], pair[1], out);
        }
        let current = Route {
            ds: A_,
            from: mi,
            to: keepers.fin,
            scale: Scale::One,
            meets: 1.0,
            format_level: None,
        };
        self.unicast(out, current, steps);
    }

    /// Membranes moving between parent `p` and child `c`: every residency of the child but
    /// the first of each neuron is filled, every one but the last drained.
    fn swap_membranes(&self, nest: &Nest, p: usize, c: usize, out: &mut Counts) {
        let neurons = self.neurons();
        let residencies = self.all_refills(nest, M_, c);
        let moves = (residencies - neurons) * self.neuron_states();
        let (fill, drain) = (Why::plain(Purpose::Fill), Why::plain(Purpose::Drain));
        out.access(p, M_, Action::Read, moves, fill);
        out.access(c, M_, Action::Fill, moves, fill);
        out.access(c, M_, Action::Read, moves, drain);
        out.access(p, M_, Action::Update, moves, drain);
        let route = Route {
            ds: M_,
            from: p,
            to: c,
            scale: Scale::One,
            meets: 1.0,
            format_level: None,
        };
        self.unicast(out, route, 2.0 * moves);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    /// K = 2, P = 4 over T = 3 steps: T3 outside K2 at DRAM, P4 at the buffer, which keeps
    /// membranes and finishes the sums.
    #[test]
    fn membranes_leave_between_steps_but_not_before_the_first_or_after_the_last() {
        let (p, hw) = (
            qnn(2, 1, 4, 1, 1, 1).into_snn(3, 16),
            chip([1, 1], true, false),
        );
        let ctx = ctx(&p, &hw);
        let m = compact(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::T, 3), (D::K, 2)],
                    &[],
                    &[Weights, Inputs, Membrane, Outputs],
                ),
                level(
                    "buffer",
                    &[(D::P, 4)],
                    &[],
                    &[Weights, Inputs, Accum, Membrane],
                ),
                level("reg", &[], &[], &[]),
            ],
        );
        let (nest, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.membrane(&nest, &keepers, &mut out);
        // Every neuron step after the first reads its membrane in the buffer, every one
        // before the last writes it: 8 × 2 each.
        assert_eq!(
            accesses(&out, 1, Membrane, Action::Read, Purpose::Epilogue),
            16.0
        );
        assert_eq!(
            accesses(&out, 1, Membrane, Action::Update, Purpose::Epilogue),
            16.0
        );
        // The buffer holds the 4 membranes of one k; K2 inside T3 changes them 6 times: 24
        // residencies of 8 neurons, 16 of them brought back from DRAM and 16 sent there.
        assert_eq!(
            accesses(&out, 0, Membrane, Action::Read, Purpose::Fill),
            16.0
        );
        assert_eq!(
            accesses(&out, 1, Membrane, Action::Fill, Purpose::Fill),
            16.0
        );
        assert_eq!(
            accesses(&out, 1, Membrane, Action::Read, Purpose::Drain),
            16.0
        );
        assert_eq!(
            accesses(&out, 0, Membrane, Action::Update, Purpose::Drain),
            16.0
        );
        // Both ways on DRAM's network; the current is final where the membranes live.
        assert_eq!(out.transfers.len(), 1);
        assert_eq!(
            (out.transfers[0].network, out.transfers[0].sends),
            (0, 32.0)
        );
    }
}
