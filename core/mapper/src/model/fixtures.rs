//! Small chips, layers and mappings whose counts are easy to follow by hand, for the tests of
//! each piece of the counter.

use super::keepers::Keepers;
use super::nest::Nest;
use super::{Counts, Ctx};
use crate::hardware::Hardware;
use crate::mapping::{Axis, Compact, LevelMapping, Loop, Mapping, SpatialLoop};
use crate::pricing::OwnPrices;
use crate::problem::{DataSpace, Problem};

pub use crate::problem::Dim as D;

pub use DataSpace::*;

/// DRAM → buffer → register, 16-bit words, 1 pJ per access everywhere (so energies read as
/// access counts), `mesh` PEs under the buffer, and 1 pJ per bit-hop on the buffer's network.
pub fn chip(mesh: [u64; 2], multicast: bool, reduction: bool) -> Hardware {
    Hardware::from_toml(&format!(
        r#"
name = "tiny"
[[levels]]
name = "DRAM"
class = "dram"
word_bits = 16
energy = {{ read_pj = 1.0, write_pj = 1.0 }}
network = {{ multicast = false }}
[[levels]]
name = "buffer"
capacity = "4 KiB"
word_bits = 16
holds = ["weights", "inputs", "accum", "membrane", "outputs"]
energy = {{ read_pj = 1.0, write_pj = 1.0 }}
network = {{ multicast = {multicast}, reduction = {reduction}, topology = "mesh", hop_pj_per_bit = 1.0, hops_per_extra_destination = 1.0 }}
[[levels]]
name = "reg"
class = "register"
capacity = "64 words"
word_bits = 16
mesh = [{}, {}]
holds = ["weights", "inputs", "accum", "membrane"]
energy = {{ read_pj = 1.0, write_pj = 1.0 }}
[compute]
clock_mhz = 100.0
mac_bits = 16
add_bits = 32
energy = {{ mac_pj = 1.0, add_pj = 1.0 }}
"#,
        mesh[0], mesh[1]
    ))
    .expect("the tiny chip parses")
}

/// A QNN layer of 16-bit values (one element per access).
pub fn qnn(k: u64, c: u64, p: u64, q: u64, r: u64, s: u64) -> Problem {
    Problem {
        name: "layer".into(),
        k,
        c,
        p,
        q,
        r,
        s,
        weight_bits: 16,
        input_bits: 16,
        accum_bits: 16,
        output_bits: 16,
        membrane_bits: 16,
        ..Problem::default()
    }
}

/// One level of a mapping: temporal loops outermost first, spatial loops on X, kept spaces.
pub fn level(
    name: &str,
    temporal: &[(D, u64)],
    spatial: &[(D, u64)],
    keep: &[DataSpace],
) -> LevelMapping {
    LevelMapping {
        level: name.into(),
        temporal: temporal
            .iter()
            .map(|&(dim, factor)| Loop { dim, factor })
            .collect(),
        spatial: spatial
            .iter()
            .map(|&(dim, factor)| SpatialLoop {
                dim,
                factor,
                axis: Axis::X,
            })
            .collect(),
        keep: keep.to_vec(),
        ..LevelMapping::default()
    }
}

/// The counter's form of a mapping of `p` on `hw`.
pub fn compact(p: &Problem, hw: &Hardware, levels: Vec<LevelMapping>) -> Compact {
    Compact::from_mapping(&Mapping { levels }, p, hw).expect("a well-formed mapping")
}

/// The counter of `p` on `hw` at the chip's own prices.
pub fn ctx<'a>(p: &'a Problem, hw: &'a Hardware) -> Ctx<'a> {
    let prices = Ctx::prices(p, hw, &OwnPrices).expect("the tiny chip prices everything");
    Ctx::new(p, hw, prices).expect("the layer fits the chip")
}

/// The nest, keepers and tiles of `m`, as a count sets them up before its pieces run.
pub fn setup<'m>(ctx: &Ctx, m: &'m Compact) -> (Nest<'m>, Keepers) {
    let mut nest = Nest::of(m);
    nest.unroll(ctx).expect("legal factors");
    let mut keepers = Keepers::of(ctx, m);
    keepers.settle(ctx, m).expect("legal keepers");
    ctx.tiles(&mut nest, &keepers, &mut Counts::default())
        .expect("tiles fit");
    (nest, keepers)
}

/// Elements of one (level, data space, action, purpose) recorded in `c`.
pub fn accesses(
    c: &Counts,
    level: usize,
    ds: DataSpace,
    action: super::Action,
    purpose: super::Purpose,
) -> f64 {
    c.accesses
        .iter()
        .filter(|a| {
            a.level == level && a.data_space == ds && a.action == action && a.purpose == purpose
        })
        .map(|a| a.elements)
        .sum()
}
