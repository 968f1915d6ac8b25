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
use super::{Ctx, I_, NDIMS, W_};
use crate::hardware::ZeroHandling;

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
        // The children one multicast serves share one read: their tiles merge.
        let mut merged = nest.ext[c];
        let mut groups = nest.inst[c];
        for j in p..c {
            if self.hw.levels[j].network.multicast {
                for d in 0..NDIMS {
                    let s = nest.sp[j][d];
                    merged[d] *= s;
                    groups /= s;
                }
            }
        }
        let group = Receiver::Group {
            parent: p,
            merged: &merged,
        };
        let reads = self.refills(nest, ds, c, changes, group) * groups;
        let fill = Why::plain(Purpose::Fill);
        if !free {
            out.access(p, ds, Action::Read, reads, fill);
        }
        out.access(c, ds, Action::Fill, fills, fill);
        let route = Route {
            ds,
            from: p,
            to: c,
            scale: Scale::One,
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
        let (scale, scatter) = if ds == W_ {
            (self.op_scale(), self.scatters(inner, ds))
        } else {
            (Scale::Valid, false)
        };
        let why = Why::scaled(Purpose::Operand, scale, scatter);
        out.access(inner, ds, Action::Read, reads, why);
        let route = Route {
            ds,
            from: inner,
            to: self.nlev,
            scale,
            format_level: (ds == I_).then_some(inner),
        };
        self.multicast(out, route, reads, self.ops);
    }

    /// Whether the per-operation accesses of `ds` at level `l` are scatters: zeros are
    /// skipped, so which elements are touched depends on the data, and a word holds several.
    pub(super) fn scatters(&self, l: usize, ds: usize) -> bool {
        self.zero == ZeroHandling::Skip && self.word[l] >= 2.0 * self.bits[ds]
    }
}
