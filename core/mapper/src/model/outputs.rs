//! Outputs: written once per element and neuron step (once per element for a readout that
//! hands on its membrane) at the innermost level keeping them (at or above the finalizing level,
//! whence they travel), then read and written once per element at each level up to the
//! backing level, in the format of the level they leave.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::network::Route;
use super::{Ctx, O_};

impl Ctx<'_> {
    pub(super) fn outputs(&self, keepers: &Keepers, out: &mut Counts) {
        let n = if self.problem.handoff == crate::problem::Handoff::Membrane {
            self.neurons()
        } else {
            self.epilogue_steps()
        };
        let oi = keepers.innermost(O_);
        out.access(oi, O_, Action::Update, n, Why::plain(Purpose::Epilogue));
        let from_epilogue = Route {
            ds: O_,
            from: oi,
            to: keepers.fin,
            scale: Scale::One,
            meets: 1.0,
            format_level: Some(oi),
        };
        self.unicast(out, from_epilogue, n);
        let drain = Why::plain(Purpose::Drain);
        for pair in keepers.chain(O_).windows(2) {
            let (p, c) = (pair[0], pair[1]);
            out.access(c, O_, Action::Read, n, drain);
            // A backing copy that costs nothing is not written.
            let free = p == keepers.outermost(O_) && self.free & (1 << O_) != 0;
            if !free {
                out.access(p, O_, Action::Update, n, drain);
            }
            let route = Route {
                ds: O_,
                from: p,
                to: c,
                scale: Scale::One,
                meets: 1.0,
                format_level: Some(c),
            };
            self.unicast(out, route, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    /// The crate documentation's worked example (K2 at DRAM, P4 at the buffer, R3 in the
    /// register), with outputs kept at the levels given.
    fn worked(p: &crate::Problem, hw: &crate::Hardware, outputs: &[DataSpace]) -> Compact {
        let mut dram = vec![Weights, Inputs, Accum, Membrane, Outputs];
        dram.retain(|ds| p.spaces().any(|s| s == *ds));
        compact(
            p,
            hw,
            vec![
                level("DRAM", &[(D::K, 2)], &[], &dram),
                level(
                    "buffer",
                    &[(D::P, 4)],
                    &[],
                    &[&[Weights, Inputs][..], outputs].concat(),
                ),
                level("reg", &[(D::R, 3)], &[], &[Accum]),
            ],
        )
    }

    fn outputs(free: bool, at_buffer: bool) -> Counts {
        let (mut p, hw) = (qnn(2, 1, 4, 1, 3, 1), chip([1, 1], true, false));
        if free {
            p.free_backing = vec![Outputs];
        }
        let ctx = ctx(&p, &hw);
        let m = worked(&p, &hw, if at_buffer { &[Outputs] } else { &[] });
        let (_, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.outputs(&keepers, &mut out);
        out
    }

    #[test]
    fn outputs_are_written_once_where_kept_innermost_and_drained_to_the_backing_level() {
        // Kept at DRAM only: the 8 outputs are written there, sent over both networks from
        // the register where the sums finish.
        let c = outputs(false, false);
        assert_eq!(
            accesses(&c, 0, Outputs, Action::Update, Purpose::Epilogue),
            8.0
        );
        assert_eq!(
            c.transfers.iter().map(|t| t.network).collect::<Vec<_>>(),
            [0, 1]
        );
        // Kept at the buffer too: written there, then read and written once more to DRAM.
        let c = outputs(false, true);
        assert_eq!(
            accesses(&c, 1, Outputs, Action::Update, Purpose::Epilogue),
            8.0
        );
        assert_eq!(accesses(&c, 1, Outputs, Action::Read, Purpose::Drain), 8.0);
        assert_eq!(
            accesses(&c, 0, Outputs, Action::Update, Purpose::Drain),
            8.0
        );
        // A backing copy that costs nothing is not written.
        let c = outputs(true, true);
        assert_eq!(
            accesses(&c, 0, Outputs, Action::Update, Purpose::Drain),
            0.0
        );
        assert_eq!(accesses(&c, 1, Outputs, Action::Read, Purpose::Drain), 8.0);
    }
}
