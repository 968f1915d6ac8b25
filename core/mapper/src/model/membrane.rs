//! The membrane chain of an SNN: read and written once per neuron step at the innermost level
//! keeping membranes; above it, per parent/child pair, residencies counted on the nest
//! projected onto the non-reduction dimensions, each but the first filled from the parent and
//! each but the last drained back (the initial potential is set, the final one is dead). The
//! finished current travels from the finalizing level up to the membrane.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::nest::Nest;
use super::network::Route;
use super::{A_, Ctx, G, K, M_, N, P, Q};

impl Ctx<'_> {
    pub(super) fn membrane(&self, nest: &Nest, keepers: &Keepers, out: &mut Counts) {
        let steps = self.epilogue_steps();
        let mi = keepers.innermost(M_);
        let epilogue = Why::plain(Purpose::Epilogue);
        out.access(mi, M_, Action::Read, steps, epilogue);
        out.access(mi, M_, Action::Update, steps, epilogue);
        for pair in keepers.chain(M_).windows(2) {
            self.swap_membranes(nest, pair[0], pair[1], out);
        }
        let current = Route {
            ds: A_,
            from: mi,
            to: keepers.fin,
            scale: Scale::One,
            format_level: None,
        };
        self.unicast(out, current, steps);
    }

    /// Membranes moving between parent `p` and child `c`: every residency of the child but
    /// the first of each neuron is filled, every one but the last drained.
    fn swap_membranes(&self, nest: &Nest, p: usize, c: usize, out: &mut Counts) {
        let d = &self.dims;
        let neurons = d[N] as f64 * d[G] as f64 * d[K] as f64 * d[P] as f64 * d[Q] as f64;
        let residencies = self.all_refills(nest, M_, c);
        let moves = residencies - neurons;
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
            format_level: None,
        };
        self.unicast(out, route, 2.0 * moves);
    }
}
