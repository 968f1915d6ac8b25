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
        });
    }
}
