//! Outputs: written once per element and neuron step at the innermost level keeping them (at
//! or above the finalizing level, whence they travel), then read and written once per element
//! at each level up to the backing level, in the format of the level they leave.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::network::Route;
use super::{Ctx, O_};

impl Ctx<'_> {
    pub(super) fn outputs(&self, keepers: &Keepers, out: &mut Counts) {
        let n = self.epilogue_steps();
        let oi = keepers.innermost(O_);
        out.access(oi, O_, Action::Update, n, Why::plain(Purpose::Epilogue));
        let from_epilogue = Route {
            ds: O_,
            from: oi,
            to: keepers.fin,
            scale: Scale::One,
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
                format_level: Some(c),
            };
            self.unicast(out, route, n);
        }
    }
}
