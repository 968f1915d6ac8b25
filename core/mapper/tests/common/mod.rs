//! Shared helpers: small chips and problems whose counts are easy to follow by hand.
#![allow(dead_code)]

use snnergy_mapper::*;

/// DRAM → buffer → register, 16-bit words everywhere, 1 pJ per access at every level, so
/// energies read as access counts; `mesh` PEs under the buffer.
pub fn chip(mesh: [u64; 2], multicast: bool, reduction: bool) -> Hardware {
    let text = format!(
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
network = {{ multicast = {multicast}, reduction = {reduction}, hop_pj_per_bit = 0.0 }}
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
energy = {{ mac_pj = 0.0, add_pj = 0.0 }}
"#,
        mesh[0], mesh[1]
    );
    Hardware::from_toml(&text).expect("tiny chip")
}

/// DRAM → a neuromorphic core's SRAM (64-bit words, keeps everything) → one adder.
pub fn core_chip(zero: &str) -> Hardware {
    Hardware::from_toml(&format!(
        r#"
name = "core"
[[levels]]
name = "DRAM"
class = "dram"
word_bits = 64
energy = {{ read_pj = 100.0, write_pj = 100.0 }}
[[levels]]
name = "core"
capacity = "64 KiB"
word_bits = 64
energy = {{ fixed_pj = 4.0, per_bit_pj = 0.0625 }}
[compute]
clock_mhz = 100.0
mac_bits = 8
add_bits = 32
zero_handling = "{zero}"
energy = {{ mac_pj = 0.3, add_pj = 0.1 }}
"#
    ))
    .unwrap()
}

/// A QNN problem with 16-bit everything (one element per access).
pub fn qnn(name: &str, k: u64, c: u64, p: u64, q: u64, r: u64, s: u64) -> Problem {
    Problem {
        name: name.into(),
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

pub fn lp(dim: Dim, factor: u64) -> Loop {
    Loop { dim, factor }
}

pub fn sl(dim: Dim, factor: u64, axis: Axis) -> SpatialLoop {
    SpatialLoop { dim, factor, axis }
}

pub fn level(
    name: &str,
    temporal: Vec<Loop>,
    spatial: Vec<SpatialLoop>,
    keep: &[DataSpace],
) -> LevelMapping {
    LevelMapping {
        level: name.into(),
        temporal,
        spatial,
        keep: keep.to_vec(),
        ..LevelMapping::default()
    }
}

/// Elements of one (level, data space, action) in a mapped layer at density 1.
pub fn count(m: &MappedLayer, level: usize, ds: DataSpace, action: Action) -> f64 {
    m.counts
        .accesses
        .iter()
        .filter(|a| a.level == level && a.data_space == ds && a.action == action)
        .map(|a| a.elements)
        .sum()
}

/// Same, restricted to one purpose.
pub fn count_for(
    m: &MappedLayer,
    level: usize,
    ds: DataSpace,
    action: Action,
    purpose: Purpose,
) -> f64 {
    m.counts
        .accesses
        .iter()
        .filter(|a| {
            a.level == level && a.data_space == ds && a.action == action && a.purpose == purpose
        })
        .map(|a| a.elements)
        .sum()
}

pub fn dense() -> Densities {
    Densities::uniform(1.0)
}

/// A small deterministic generator for randomized tests (an LCG: the same cases on every run).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The mapping of temporal factors `tf` and X-axis spatial factors `sx` per level (indexed
/// by dimension), each level's loops in a random order and a random choice of what the inner
/// levels keep (the outermost keeps everything it may).
pub fn random_levels(
    rng: &mut Rng,
    p: &Problem,
    hw: &Hardware,
    tf: &[[u64; 9]],
    sx: &[[u64; 9]],
) -> Mapping {
    let levels = (0..hw.levels.len())
        .map(|l| {
            let mut order: Vec<usize> = (0..9).collect();
            for i in (1..9).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let keep: Vec<DataSpace> = p
                .spaces()
                .filter(|ds| hw.may_hold(&hw.levels[l], *ds) && (l == 0 || rng.below(10) < 7))
                .collect();
            level(
                &hw.levels[l].name,
                order
                    .iter()
                    .filter(|&&d| tf[l][d] > 1)
                    .map(|&d| lp(Dim::ALL[d], tf[l][d]))
                    .collect(),
                (0..9)
                    .filter(|&d| sx[l][d] > 1)
                    .map(|d| sl(Dim::ALL[d], sx[l][d], Axis::X))
                    .collect(),
                &keep,
            )
        })
        .collect();
    Mapping { levels }
}
