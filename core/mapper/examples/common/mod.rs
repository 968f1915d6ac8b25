//! What the validation exports share: their layers as square problems, the search they map
//! with and the chip variant with ZigZag's semantics.

use snnergy_mapper::*;

/// A square layer: groups, output channels per group, input channels per group, output rows =
/// columns, kernel rows = columns, stride (a linear layer is a 1×1 one with one output).
#[derive(Clone, Copy)]
pub struct Square {
    pub g: u64,
    pub k: u64,
    pub c: u64,
    pub out: u64,
    pub r: u64,
    pub stride: u64,
}

impl Square {
    /// The layer as a problem named `name`, with the default bit widths.
    pub fn problem(&self, name: &str) -> Problem {
        Problem {
            name: name.into(),
            g: self.g,
            k: self.k,
            c: self.c,
            p: self.out,
            q: self.out,
            r: self.r,
            s: self.r,
            stride_h: self.stride,
            stride_w: self.stride,
            ..Problem::default()
        }
    }
}

/// Every case is mapped for energy × delay at density 1: ZigZag models dense layers only,
/// and full-parallel mappings are the ones a chip would run.
pub fn edp_search() -> (SearchOptions, Densities) {
    let opts = SearchOptions {
        objective: Objective::Edp,
        ..SearchOptions::default()
    };
    (opts, Densities::uniform(1.0))
}

/// The chip with ZigZag's semantics: no level keeps the overlap of sliding input windows, and
/// every multicast network also reduces partial sums.
pub fn zigzags_semantics(hw: &Hardware) -> Hardware {
    let mut hw = hw.clone();
    for l in &mut hw.levels {
        l.sliding_window = false;
        l.network.reduction |= l.network.multicast;
    }
    hw
}
