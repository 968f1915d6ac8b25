//! Pins SCALE-Sim's mappings of the live validation's layers on a 32 × 32 systolic array, for
//! each of its dataflows (weight-, output- and input-stationary), and writes our cycles and
//! buffer accesses per (layer, dataflow) as JSON for `tools/live_scalesim.py`.
//!
//! ```text
//! cargo run -p snnergy-mapper --example systolic_validation -- OUT_DIR
//! ```
//!
//! The chip: DRAM → one buffer holding everything (unbounded bandwidth, as SCALE-Sim's
//! double-buffered SRAMs never stall here) → 32 × 32 PEs holding the stationary operand, with
//! a systolic network that forwards operands along rows and reduces partial sums down
//! columns. SCALE-Sim's mapping, written as a loop nest: ws unrolls R·S·C over the rows and K
//! over the columns and streams the pixels through the PEs' stationary weights; os unrolls
//! pixels over the rows and K over the columns and streams R·S·C into the PEs' sums; is
//! unrolls R·S·C over the rows and pixels over the columns and streams K past the PEs'
//! stationary inputs. Folds are the temporal loops of the buffer. Only layers whose folds
//! divide evenly are used (the mapper has no remainder tiles).

use std::path::PathBuf;

use snnergy_mapper::*;

/// name, output channels, input channels, output rows = columns, kernel, stride, padding.
const LAYERS: [(&str, u64, u64, u64, u64, u64, u64); 10] = [
    ("vgg16c-conv1-1", 64, 3, 32, 3, 1, 1),
    ("vgg16c-conv1-2", 64, 64, 32, 3, 1, 1),
    ("vgg16c-conv2-2", 128, 128, 16, 3, 1, 1),
    ("vgg16c-conv3-2", 256, 256, 8, 3, 1, 1),
    ("vgg16c-conv4-1", 512, 256, 4, 3, 1, 1),
    ("vgg16c-conv5-2", 512, 512, 2, 3, 1, 1),
    ("resnet18-layer3-conv", 256, 256, 14, 3, 1, 1),
    ("mobilenet-pw", 128, 64, 16, 1, 1, 0),
    // Fully connected layers: one pixel, so every fold is all fill and drain.
    ("vgg16c-fc", 10, 512, 1, 1, 1, 0),
    // A token-wise linear layer (Spikformer-4-384's first MLP layer, 8 × 8 tokens).
    ("spikformer-4-384-mlp-fc1", 1536, 384, 8, 1, 1, 0),
];

const ARRAY: u64 = 32;

fn chip(stationary: &str) -> Result<Hardware, Box<MapperError>> {
    Hardware::from_toml(&format!(
        r#"
name = "systolic-32x32-{stationary}"
description = "32 × 32 systolic array, {stationary} stationary in the PEs"

[[levels]]
name = "DRAM"
class = "dram"
word_bits = 8
holds = ["weights", "inputs", "accum", "outputs"]
energy = {{ read_pj = 200.0, write_pj = 200.0 }}
network = {{ multicast = false, hop_pj_per_bit = 0.0 }}

[[levels]]
name = "buffer"
class = "sram"
word_bits = 8
holds = ["weights", "inputs", "accum", "outputs"]
energy = {{ read_pj = 2.0, write_pj = 2.0 }}
network = {{ multicast = true, reduction = true, topology = "systolic", hops_per_extra_destination = 1.0, hop_pj_per_bit = 0.01 }}

[[levels]]
name = "PE"
class = "register"
capacity = {{ {stationary} = "4 words" }}
word_bits = 32
mesh = [{ARRAY}, {ARRAY}]
holds = ["{stationary}"]
energy = {{ read_pj = 0.03, write_pj = 0.03 }}
network = {{ multicast = false, hop_pj_per_bit = 0.0 }}

[compute]
units = [1, 1]
clock_mhz = 700.0
mac_bits = 8
add_bits = 32
zero_handling = "none"
energy = {{ mac_pj = 0.3, add_pj = 0.1 }}
"#
    ))
    .map_err(Box::new)
}

fn lp(dim: Dim, factor: u64) -> Loop {
    Loop { dim, factor }
}

fn sp(dim: Dim, factor: u64, axis: Axis) -> SpatialLoop {
    SpatialLoop { dim, factor, axis }
}

/// The largest P' × Q' ≤ 32 of divisors of P and Q: the pixels one fold holds.
fn pixel_tile(p: u64, q: u64) -> (u64, u64) {
    let mut best = (1, 1);
    for a in (1..=p).filter(|a| p.is_multiple_of(*a)) {
        for b in (1..=q).filter(|b| q.is_multiple_of(*b)) {
            if a * b <= ARRAY && a * b > best.0 * best.1 {
                best = (a, b);
            }
        }
    }
    best
}

/// The reduction tile of one fold over the rows: C' (and R, S when C·R·S fits one fold).
fn reduction_tile(c: u64, r: u64) -> (u64, u64) {
    if c * r * r <= ARRAY {
        (c, r)
    } else {
        (c.min(ARRAY), 1)
    }
}

/// Where `dataflow` (ws, os, or is) puts `p` on the array: the spatial loops, the folds
/// the buffer runs, the loops streamed through each PE, and what a PE keeps.
fn placement(p: &Problem, dataflow: &str) -> (Vec<SpatialLoop>, Vec<Loop>, Vec<Loop>, DataSpace) {
    let (c1, r1) = reduction_tile(p.c, p.r);
    let (p1, q1) = pixel_tile(p.p, p.q);
    let k1 = p.k.min(ARRAY);
    let mut reduction_rows = vec![sp(Dim::C, c1, Axis::X)];
    if r1 > 1 {
        reduction_rows.push(sp(Dim::R, r1, Axis::X));
        reduction_rows.push(sp(Dim::S, r1, Axis::X));
    }
    let rfold = [
        lp(Dim::C, p.c / c1),
        lp(Dim::R, p.r / r1),
        lp(Dim::S, p.s / r1),
    ];
    let pixels = |axis| vec![sp(Dim::P, p1, axis), sp(Dim::Q, q1, axis)];
    let pfold = [lp(Dim::P, p.p / p1), lp(Dim::Q, p.q / q1)];
    match dataflow {
        "ws" => {
            let mut s = reduction_rows;
            s.push(sp(Dim::K, k1, Axis::Y));
            let mut f = vec![lp(Dim::K, p.k / k1)];
            f.extend(rfold);
            (
                s,
                f,
                vec![lp(Dim::P, p.p), lp(Dim::Q, p.q)],
                DataSpace::Weights,
            )
        }
        "os" => {
            let mut s = pixels(Axis::X);
            s.push(sp(Dim::K, k1, Axis::Y));
            let mut f = vec![lp(Dim::K, p.k / k1)];
            f.extend(pfold);
            (
                s,
                f,
                vec![lp(Dim::C, p.c), lp(Dim::R, p.r), lp(Dim::S, p.s)],
                DataSpace::Accum,
            )
        }
        _ => {
            let mut s = reduction_rows;
            s.extend(pixels(Axis::Y));
            let mut f = pfold.to_vec();
            f.extend(rfold);
            (s, f, vec![lp(Dim::K, p.k)], DataSpace::Inputs)
        }
    }
}

fn mapping(p: &Problem, dataflow: &str) -> Mapping {
    let (spatial, folds, stream, keep) = placement(p, dataflow);
    let strip = |v: Vec<Loop>| v.into_iter().filter(|l| l.factor > 1).collect::<Vec<_>>();
    let stream = strip(stream);
    let stream_dims: Vec<Dim> = stream.iter().map(|l| l.dim).collect();
    // The stream's dims run inside the PE; what the folds leave of them is already there.
    let folds = strip(
        folds
            .into_iter()
            .filter(|l| !stream_dims.contains(&l.dim))
            .collect(),
    );
    let mut stream_in_pe = stream;
    for l in &mut stream_in_pe {
        let spread: u64 = spatial
            .iter()
            .filter(|s| s.dim == l.dim)
            .map(|s| s.factor)
            .product();
        l.factor /= spread;
    }
    let stream_in_pe = strip(stream_in_pe);
    let others: Vec<DataSpace> = [
        DataSpace::Weights,
        DataSpace::Inputs,
        DataSpace::Accum,
        DataSpace::Outputs,
    ]
    .into_iter()
    .collect();
    Mapping {
        levels: vec![
            LevelMapping {
                level: "DRAM".into(),
                keep: others.clone(),
                ..LevelMapping::default()
            },
            LevelMapping {
                level: "buffer".into(),
                temporal: folds,
                spatial: strip_spatial(spatial),
                keep: others,
                ..LevelMapping::default()
            },
            LevelMapping {
                level: "PE".into(),
                temporal: stream_in_pe,
                keep: vec![keep],
                ..LevelMapping::default()
            },
        ],
    }
}

fn strip_spatial(v: Vec<SpatialLoop>) -> Vec<SpatialLoop> {
    v.into_iter().filter(|s| s.factor > 1).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: systolic_validation OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let mut n = 0;
    for (name, k, c, o, r, stride, pad) in LAYERS {
        let ifmap = (o - 1) * stride + r;
        let input = ifmap - 2 * pad;
        let mut problem = Problem {
            name: name.into(),
            k,
            c,
            p: o,
            q: o,
            r,
            s: r,
            stride_h: stride,
            stride_w: stride,
            ..Problem::default()
        };
        if pad > 0 {
            let taps: u64 = (0..o)
                .map(|x| {
                    (0..r)
                        .filter(|t| {
                            let i = (x * stride + t) as i64 - pad as i64;
                            i >= 0 && (i as u64) < input
                        })
                        .count() as u64
                })
                .sum();
            problem.valid_ops = Some((k * c * taps * taps) as f64);
            problem.input_h = Some(input);
            problem.input_w = Some(input);
        }
        for (dataflow, stationary) in [("ws", "weights"), ("os", "accum"), ("is", "inputs")] {
            let hw = chip(stationary)?;
            let m = evaluate(
                &problem,
                &hw,
                &mapping(&problem, dataflow),
                Densities::uniform(1.0),
                &OwnPrices,
            )?;
            let ev = m.evaluate(Densities::uniform(1.0))?;
            let buffer = &ev.levels[1];
            let get = |ds: DataSpace, f: fn(&SpaceReport) -> f64| {
                buffer
                    .spaces
                    .iter()
                    .filter(|s| s.data_space == ds)
                    .map(f)
                    .sum::<f64>()
            };
            let doc = serde_json::json!({
                "layer": {"name": name, "ifmap": ifmap, "r": r, "c": c, "k": k, "stride": stride},
                "dataflow": dataflow,
                "array": [ARRAY, ARRAY],
                "loop_nest": m.loop_nest(),
                "ours": {
                    "cycles": ev.cycles,
                    "temporal_cycles": m.counts.cycles,
                    "fill_drain_cycles": m.counts.fill_drain_cycles,
                    "bound": ev.bound,
                    "filter_reads": get(DataSpace::Weights, |s| s.reads),
                    "ifmap_reads": get(DataSpace::Inputs, |s| s.reads),
                    // Sums (partial, per reduction fold) where the buffer keeps them, else
                    // the finished outputs the PEs send it.
                    "ofmap_writes": match get(DataSpace::Accum, |s| s.updates) {
                        0.0 => get(DataSpace::Outputs, |s| s.updates),
                        sums => sums,
                    },
                },
            });
            let file = out.join(format!("{name}--{dataflow}.json"));
            std::fs::write(&file, serde_json::to_string(&doc)?)?;
            n += 1;
        }
    }
    println!("{n} cases written to {}", out.display());
    Ok(())
}
