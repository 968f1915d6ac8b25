//! Maps the validation layers on the shipped chips and writes, per (layer, chip, format), the
//! ZigZag export (`to_zigzag`) and the Timeloop export (`to_timeloop`) with our counts as JSON,
//! for `tools/compare_zigzag.py` and `tools/compare_timeloop.py`.
//!
//! ```text
//! cargo run --release -p snnergy-mapper --example validation_export -- OUT_DIR [small|real|all] [aligned]
//! ```
//!
//! Every case is mapped for energy × delay at density 1: ZigZag models dense layers only, and
//! full-parallel mappings are the ones a chip would run. `aligned` maps onto variants of the
//! chips whose semantics ZigZag shares: no level keeps the overlap of sliding input windows,
//! and every multicast network also reduces partial sums (ZigZag assumes both).

use std::path::PathBuf;

use snnergy_mapper::*;

mod common;
use common::{Square, edp_search, zigzags_semantics};

/// One case: the set it belongs to, its name and its shape.
struct Case {
    set: &'static str,
    name: &'static str,
    shape: Square,
}

#[allow(clippy::too_many_arguments)]
const fn case(
    set: &'static str,
    name: &'static str,
    g: u64,
    k: u64,
    c: u64,
    out: u64,
    r: u64,
    stride: u64,
) -> Case {
    Case {
        set,
        name,
        shape: Square {
            g,
            k,
            c,
            out,
            r,
            stride,
        },
    }
}

const CASES: [Case; 16] = [
    case("small", "conv3x3-k16-c8-8x8", 1, 16, 8, 8, 3, 1),
    case("small", "conv1x1-k32-c16-4x4", 1, 32, 16, 4, 1, 1),
    case("small", "conv3x3-s2-k8-c4-7x7", 1, 8, 4, 7, 3, 2),
    case("small", "fc-64x128", 1, 64, 128, 1, 1, 1),
    case("real", "alexnet-conv1", 1, 96, 3, 55, 11, 4),
    case("real", "alexnet-conv2", 2, 128, 48, 27, 5, 1),
    case("real", "alexnet-conv3", 1, 384, 256, 13, 3, 1),
    case("real", "alexnet-conv4", 2, 192, 192, 13, 3, 1),
    case("real", "alexnet-conv5", 2, 128, 192, 13, 3, 1),
    case("real", "vgg16-conv1-2", 1, 64, 64, 224, 3, 1),
    case("real", "vgg16-conv2-2", 1, 128, 128, 112, 3, 1),
    case("real", "vgg16-conv3-2", 1, 256, 256, 56, 3, 1),
    case("real", "vgg16-conv4-1", 1, 512, 256, 28, 3, 1),
    case("real", "vgg16-conv4-2", 1, 512, 512, 28, 3, 1),
    case("real", "vgg16-conv5-2", 1, 512, 512, 14, 3, 1),
    case("real", "vgg16-conv1-1", 1, 64, 3, 224, 3, 1),
];

/// SNN time steps of the SNN cases.
const T: u64 = 4;

fn problem(x: &Case, chip: &str) -> Problem {
    let mut p = x.shape.problem(x.name);
    // The Eyeriss-like chip is the 16-bit chip of its papers; the others run 8-bit layers into
    // 24-bit accumulators.
    if chip == "eyeriss-like" {
        p.weight_bits = 16;
        p.input_bits = 16;
        p.accum_bits = 16;
        p.output_bits = 16;
    }
    p
}

/// Output-side dimensions on X, the rest on Y, at every level.
fn one_axis_per_dimension(hw: &Hardware) -> Constraints {
    Constraints {
        levels: hw
            .levels
            .iter()
            .map(|l| LevelConstraint {
                level: l.name.clone(),
                spatial_x: Some(vec![Dim::K, Dim::G, Dim::P, Dim::N]),
                spatial_y: Some(vec![Dim::C, Dim::Q, Dim::R, Dim::S, Dim::T]),
                ..LevelConstraint::default()
            })
            .collect(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: validation_export OUT_DIR [small|real|all] [aligned]")?,
    );
    let set = args.next().unwrap_or_else(|| "all".into());
    let aligned = args.next().as_deref() == Some("aligned");
    std::fs::create_dir_all(&out)?;
    let (opts, dense) = edp_search();
    for (chip, _) in SHIPPED {
        let shipped = Hardware::shipped(chip)?;
        let with_zigzags_semantics = zigzags_semantics(&shipped);
        let hw = if aligned {
            &with_zigzags_semantics
        } else {
            &shipped
        };
        for x in CASES.iter().filter(|x| set == "all" || x.set == set) {
            let qnn = problem(x, chip);
            let snn = qnn.clone().into_snn(T, 16);
            for (kind, p) in [("qnn", qnn), ("snn", snn)] {
                let m = map(&p, hw, dense, &OwnPrices, &opts)?;
                let export = to_zigzag(&m)?;
                // The same mapping counted with ZigZag's semantics: what every difference from
                // ZigZag other than sliding windows and non-reducing networks is checked on.
                let same = evaluate(&p, &with_zigzags_semantics, &m.mapping, dense, &OwnPrices)?;
                let ours_aligned = to_zigzag(&same)?.ours;
                // A Timeloop mapping gives a dimension one spatial factor per level; where ours
                // spreads one over both axes, Timeloop is run on the best mapping that does not.
                let (tm, timeloop) = match to_timeloop(&m) {
                    Ok(t) => (m.clone(), t),
                    Err(_) => {
                        let one_axis = SearchOptions {
                            constraints: one_axis_per_dimension(hw),
                            ..opts.clone()
                        };
                        let m2 = map(&p, hw, dense, &OwnPrices, &one_axis)?;
                        let t = to_timeloop(&m2)?;
                        (m2, t)
                    }
                };
                let doc = serde_json::json!({
                    "set": x.set,
                    "aligned": aligned,
                    "kind": kind,
                    "t": p.t,
                    "macs": p.ops() as f64,
                    "problem": &m.problem,
                    "mapping": &m.mapping,
                    "mapping_in_words": m.describe(),
                    "loop_nest": m.loop_nest(),
                    "export": export,
                    "ours_aligned": ours_aligned,
                    "timeloop": timeloop,
                    "timeloop_same_mapping": tm.mapping == m.mapping,
                    "timeloop_loop_nest": tm.loop_nest(),
                    "timeloop_ours": to_zigzag(&tm)?.ours,
                });
                let file = out.join(format!("{}--{chip}--{kind}.json", x.name));
                std::fs::write(&file, serde_json::to_string_pretty(&doc)?)?;
                println!(
                    "{:24} {chip:18} {kind}: {:.4e} pJ, {:.0} cycles ({} mappings)",
                    x.name, export.ours.energy_pj, export.ours.cycles, m.evaluated
                );
            }
        }
    }
    Ok(())
}
