//! What crosses each network: a transfer between two levels crosses the network of every
//! level from the upper one down to the lower one, each send at the unicast hops of that
//! network, and a multicast to m destinations adds `(m − 1)·hops_per_extra_destination` on
//! the last network.

use super::counts::{Counts, Scale, TransferCount};
use super::{Ctx, I_, O_};
use crate::problem::DataSpace;

/// One kind of traffic on the networks between two levels.
#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    /// Data space.
    pub ds: usize,
    /// The upper level: the first network crossed is its.
    pub from: usize,
    /// The level (or, at `nlev`, the compute units) below the last network crossed.
    pub to: usize,
    /// Density that scales the traffic.
    pub scale: Scale,
    /// Input elements whose zeros together make one send unneeded.
    pub meets: f64,
    /// The level whose storage format sets the bits moved (None: the value bits).
    pub format_level: Option<usize>,
}

impl Ctx<'_> {
    /// Hops of one send on the network below level `j` reaching `m` destinations.
    pub(super) fn hops(&self, j: usize, m: f64) -> f64 {
        self.unicast[j] + (m - 1.0).max(0.0) * self.hw.levels[j].network.hops_per_extra_destination
    }

    /// The format level of a tile moving from `p`: inputs and outputs move in the format they
    /// are stored in at their source.
    pub(super) fn stored_at(ds: usize, p: usize) -> Option<usize> {
        (ds == I_ || ds == O_).then_some(p)
    }

    /// `n` elements, each sent once and delivered once, over every network of the route.
    pub(super) fn unicast(&self, out: &mut Counts, route: Route, n: f64) {
        for j in route.from..route.to {
            self.send(out, route, j, n, n, 1.0);
        }
    }

    /// `sends` elements sent down the route, each delivered `deliveries / sends` times on the
    /// last network (a multicast); the networks before it carry each send once.
    pub(super) fn multicast(&self, out: &mut Counts, route: Route, sends: f64, deliveries: f64) {
        for j in route.from..route.to {
            let last = j == route.to - 1;
            let delivered = if last { deliveries } else { sends };
            let m = if sends > 0.0 { delivered / sends } else { 1.0 };
            self.send(out, route, j, sends, delivered, m);
        }
    }

    /// Sums sent up the route: `sends` leave the lower level, reduced on the way to the
    /// `arrivals` the upper level receives (the reduction happens on the last network,
    /// next to the children).
    pub(super) fn reduce_up(&self, out: &mut Counts, route: Route, sends: f64, arrivals: f64) {
        for j in route.from..route.to {
            let sent = if j == route.to - 1 { sends } else { arrivals };
            self.send(out, route, j, sent, arrivals, 1.0);
        }
    }

    #[inline]
    fn send(&self, out: &mut Counts, route: Route, j: usize, sends: f64, deliveries: f64, m: f64) {
        out.transfers.push(TransferCount {
            network: j,
            data_space: DataSpace::ALL[route.ds],
            sends,
            deliveries,
            hops: self.hops(j, m),
            format_level: route.format_level,
            scale: route.scale,
            meets: route.meets,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    fn tiny() -> (crate::Problem, crate::Hardware) {
        (qnn(1, 1, 1, 1, 1, 1), chip([2, 1], true, false))
    }

    #[test]
    fn a_send_crosses_every_network_between_two_levels_and_multicasts_on_the_last() {
        let (p, hw) = tiny();
        let ctx = ctx(&p, &hw);
        // The buffer's mesh of 2 × 1 PEs is fed from an edge: (2 + 1) / 2 hops; each extra
        // destination one more. The register's bus: one hop.
        assert_eq!((ctx.hops(1, 1.0), ctx.hops(1, 2.0)), (1.5, 2.5));
        assert_eq!((ctx.hops(2, 1.0), ctx.hops(2, 3.0)), (1.0, 3.0));
        let route = Route {
            ds: I_,
            from: 1,
            to: 3,
            scale: Scale::One,
            meets: 1.0,
            format_level: Some(1),
        };
        let mut out = Counts::default();
        ctx.multicast(&mut out, route, 10.0, 30.0);
        let t = &out.transfers;
        assert_eq!(
            (t[0].network, t[0].sends, t[0].deliveries, t[0].hops),
            (1, 10.0, 10.0, 1.5)
        );
        assert_eq!(
            (t[1].network, t[1].sends, t[1].deliveries, t[1].hops),
            (2, 10.0, 30.0, 3.0)
        );
    }

    #[test]
    fn sums_are_reduced_on_the_network_next_to_the_children() {
        let (p, hw) = tiny();
        let ctx = ctx(&p, &hw);
        let route = Route {
            ds: A_,
            from: 1,
            to: 3,
            scale: Scale::One,
            meets: 1.0,
            format_level: None,
        };
        let mut out = Counts::default();
        ctx.reduce_up(&mut out, route, 8.0, 4.0);
        let t = &out.transfers;
        assert_eq!((t[0].network, t[0].sends, t[0].deliveries), (1, 4.0, 4.0));
        assert_eq!((t[1].network, t[1].sends, t[1].deliveries), (2, 8.0, 4.0));
        let mut out = Counts::default();
        ctx.unicast(&mut out, route, 5.0);
        assert!(
            out.transfers
                .iter()
                .all(|t| t.sends == 5.0 && t.deliveries == 5.0)
        );
        assert_eq!(out.transfers.len(), 2);
    }
}
