//! Maps the live validation's layers on the shipped chips and writes, per (layer, chip,
//! format), the ZigZag export of the mapping with our counts, for the live comparison that the
//! Python test suite runs against ZigZag's own cost model (`tools/live_zigzag.py`).
//!
//! ```text
//! cargo run -p snnergy-mapper --example live_validation -- OUT_DIR
//! ```
//!
//! The layers are real ones with their padding stated as a run states it (valid taps and the
//! real input map): VGG16 on CIFAR-10, ResNet18 on ImageNet (3×3, 7×7, 1×1 and strided),
//! MobileNet's depthwise and pointwise layers and two linear layers, each as a QNN with 8-bit
//! and with 3-bit activations (the capacity-matched twin of T = 4 to 7) and as an SNN over
//! T = 4, mapped for energy × delay at density 1 (ZigZag models dense layers only); and three
//! products of two activations from the transformer workloads (attention's Q·Kᵀ and scores
//! × V, a column sum of a spike mask), whose second operand streams through the weights data
//! space and which ZigZag evaluates as a layer whose W operand is another layer's output.
//! Besides the export of the shipped chip, each case holds the same mapping counted on the
//! chip with ZigZag's semantics (`ours_aligned`: no sliding-window reuse, every multicast
//! network reduces) and, on that chip, with every tap counted (`ours_all_taps`: ZigZag
//! multiplies on padding), so that each difference can be told apart and sized.

use std::path::PathBuf;

use snnergy_mapper::*;

mod common;
use common::{Square, edp_search, zigzags_semantics};

/// One layer: its name, its shape and its padding (input map = (out − 1)·stride + kernel −
/// 2·pad, unless `input` says otherwise).
struct Layer {
    name: &'static str,
    shape: Square,
    pad: u64,
    input: u64,
}

#[allow(clippy::too_many_arguments)]
const fn layer(
    name: &'static str,
    g: u64,
    k: u64,
    c: u64,
    out: u64,
    r: u64,
    stride: u64,
    pad: u64,
    input: u64,
) -> Layer {
    Layer {
        name,
        shape: Square {
            g,
            k,
            c,
            out,
            r,
            stride,
        },
        pad,
        input,
    }
}

/// The live set: 22 layers.
const LAYERS: [Layer; 22] = [
    layer("vgg16c-conv1-1", 1, 64, 3, 32, 3, 1, 1, 32),
    layer("vgg16c-conv1-2", 1, 64, 64, 32, 3, 1, 1, 32),
    layer("vgg16c-conv2-1", 1, 128, 64, 16, 3, 1, 1, 16),
    layer("vgg16c-conv2-2", 1, 128, 128, 16, 3, 1, 1, 16),
    layer("vgg16c-conv3-1", 1, 256, 128, 8, 3, 1, 1, 8),
    layer("vgg16c-conv3-2", 1, 256, 256, 8, 3, 1, 1, 8),
    layer("vgg16c-conv4-1", 1, 512, 256, 4, 3, 1, 1, 4),
    layer("vgg16c-conv5-2", 1, 512, 512, 2, 3, 1, 1, 2),
    layer("vgg16c-fc", 1, 10, 512, 1, 1, 1, 0, 1),
    layer("resnet18-conv1", 1, 64, 3, 112, 7, 2, 3, 224),
    layer("resnet18-layer1-conv", 1, 64, 64, 56, 3, 1, 1, 56),
    layer("resnet18-layer2-0-conv1", 1, 128, 64, 28, 3, 2, 1, 56),
    layer("resnet18-layer2-0-down", 1, 128, 64, 28, 1, 2, 0, 56),
    layer("resnet18-layer2-conv", 1, 128, 128, 28, 3, 1, 1, 28),
    layer("resnet18-layer3-0-conv1", 1, 256, 128, 14, 3, 2, 1, 28),
    layer("resnet18-layer3-conv", 1, 256, 256, 14, 3, 1, 1, 14),
    layer("resnet18-layer4-0-down", 1, 512, 256, 7, 1, 2, 0, 14),
    layer("resnet18-layer4-conv", 1, 512, 512, 7, 3, 1, 1, 7),
    layer("resnet18-fc", 1, 1000, 512, 1, 1, 1, 0, 1),
    layer("mobilenet-dw-s1", 32, 1, 1, 16, 3, 1, 1, 16),
    layer("mobilenet-dw-s2", 64, 1, 1, 8, 3, 2, 1, 16),
    layer("mobilenet-pw", 1, 128, 64, 16, 1, 1, 0, 16),
];

/// SNN time steps of the SNN cases.
const T: u64 = 4;

/// Products of two activations, as the transformer workloads map them: name, groups (heads
/// or channels), rows of the first operand, rows of the second (the weights data space,
/// streamed), terms summed per output.
const PRODUCTS: [(&str, u64, u64, u64, u64); 3] = [
    // Spikformer-4-384 on CIFAR-10: 12 heads of 32 channels over 64 tokens, Q·Kᵀ.
    ("spikformer-4-384-qk", 12, 64, 64, 32),
    // Its scores × V: 64 tokens × 32 channels per head, 64 terms.
    ("spikformer-4-384-scores-v", 12, 64, 32, 64),
    // Spike-driven Transformer-8-512: K ⊙ V summed over 196 tokens per channel.
    ("sdt-8-512-kv-column-sum", 512, 1, 1, 196),
];

/// A product of two activations as the mapper sees it: each step has operands of its own,
/// so the SNN's steps are folded into the groups (T = 1), both operands spikes.
fn product(
    (name, g, rows, columns, terms): (&str, u64, u64, u64, u64),
    activation_bits: Option<u32>,
) -> Problem {
    let p = Problem {
        name: name.into(),
        g,
        k: columns,
        c: terms,
        p: rows,
        weight_bits: activation_bits.unwrap_or(1),
        input_bits: activation_bits.unwrap_or(1),
        output_bits: activation_bits.unwrap_or(1),
        accum_bits: 24,
        second_operand: true,
        ..Problem::default()
    };
    match activation_bits {
        Some(_) => p,
        None => {
            let mut p = Problem { g: g * T, ..p }.into_snn(1, 16);
            p.accum_bits = 16;
            p
        }
    }
}

/// Taps of a kernel of `kernel` that land inside an input of `input`, summed over `out`
/// outputs along one axis.
fn valid_taps(input: u64, out: u64, kernel: u64, stride: u64, pad: u64) -> u64 {
    let mut n = 0;
    for o in 0..out {
        for k in 0..kernel {
            let i = (o * stride + k) as i64 - pad as i64;
            if i >= 0 && (i as u64) < input {
                n += 1;
            }
        }
    }
    n
}

fn problem(x: &Layer, activation_bits: u32) -> Problem {
    let shape = x.shape;
    let mut p = Problem {
        weight_bits: 8,
        input_bits: activation_bits,
        output_bits: activation_bits,
        accum_bits: 24,
        ..shape.problem(x.name)
    };
    let taps = valid_taps(x.input, shape.out, shape.r, shape.stride, x.pad);
    p.valid_ops = Some((shape.g * shape.k * shape.c * taps * taps) as f64);
    if shape.r > 1 || shape.stride > 1 {
        p.input_h = Some(x.input);
        p.input_w = Some(x.input);
    }
    p
}

/// A layer and the mapping ZigZag's own search chose for it (`tools/zigzag_search.py`).
#[derive(serde::Deserialize)]
struct Choice {
    problem: Problem,
    mapping: Mapping,
}

/// One case: our mapping of a layer exported, with our counts on the chip with ZigZag's
/// semantics (every tap and valid taps) beside it.
fn write_case(
    out: &std::path::Path,
    stem: &str,
    kind: &str,
    m: &MappedLayer,
    aligned: &Hardware,
) -> Result<(), Box<dyn std::error::Error>> {
    let (p, dense) = (&m.problem, m.mapped_for);
    let export = to_zigzag(m)?;
    let same = evaluate(p, aligned, &m.mapping, dense, &OwnPrices)?;
    let all_taps_problem = Problem {
        valid_ops: None,
        ..p.clone()
    };
    let all_taps = evaluate(&all_taps_problem, aligned, &m.mapping, dense, &OwnPrices)?;
    let doc = serde_json::json!({
        "set": "live",
        "aligned": false,
        "kind": kind,
        "zero_handling": m.hardware.compute.zero_handling,
        "t": p.t,
        "macs": p.ops() as f64,
        "problem": &m.problem,
        "mapping": &m.mapping,
        "loop_nest": m.loop_nest(),
        "export": export,
        "ours_aligned": to_zigzag(&same)?.ours,
        "ours_all_taps": to_zigzag(&all_taps)?.ours,
    });
    std::fs::write(
        out.join(format!("{stem}.json")),
        serde_json::to_string(&doc)?,
    )?;
    Ok(())
}

/// `m` with the innermost keeper of inputs, weights or partial sums (the first that gives
/// one) given a boundary of its own past one or two loops above it, where that is legal and
/// changes the counts.
fn raised(m: &MappedLayer) -> Option<(&'static str, MappedLayer)> {
    let levels = &m.mapping.levels;
    for ds in [DataSpace::Inputs, DataSpace::Weights, DataSpace::Accum] {
        let Some(l) = (1..levels.len())
            .rev()
            .find(|&l| levels[l].keep.contains(&ds))
        else {
            continue;
        };
        for b in 1..=2 {
            let mut mapping = m.mapping.clone();
            mapping.levels[l].spans_above.insert(ds, b);
            if let Ok(r) = evaluate(&m.problem, &m.hardware, &mapping, m.mapped_for, &OwnPrices)
                && r.counts != m.counts
            {
                return Some((ds.name(), r));
            }
        }
    }
    None
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: live_validation OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let (opts, dense) = edp_search();
    let mut n = 0;
    for (chip, _) in SHIPPED {
        let hw = Hardware::shipped(chip)?;
        let aligned = zigzags_semantics(&hw);
        let convolutions = LAYERS.iter().map(|x| {
            let q8 = problem(x, 8);
            let q3 = problem(x, 3);
            let mut snn = q8.clone().into_snn(T, 16);
            snn.valid_ops = q8.valid_ops.map(|v| v * T as f64);
            [q8, q3, snn]
        });
        let products = PRODUCTS
            .iter()
            .map(|&x| [product(x, Some(8)), product(x, Some(3)), product(x, None)]);
        for cases in convolutions.chain(products) {
            let [q8, q3, snn] = cases;
            let name = q8.name.clone();
            for (kind, p) in [("qnn8", q8), ("qnn3", q3), ("snn", snn)] {
                let m = map(&p, &hw, dense, &OwnPrices, &opts)?;
                let stem = format!("{name}--{chip}--{kind}");
                write_case(&out, &stem, kind, &m, &aligned)?;
                n += 1;
                // The same mapping with a per-operand boundary, where one changes the counts.
                if kind == "qnn8"
                    && let Some((ds, r)) = raised(&m)
                {
                    write_case(&out, &format!("{stem}-{ds}-raised"), kind, &r, &aligned)?;
                    n += 1;
                }
            }
        }
    }
    // Mappings ZigZag's own search chose on its Eyeriss-like example, pinned on that chip.
    let stacked = Hardware::from_toml(include_str!("../tests/data/stacked-rf.toml"))?;
    let aligned = zigzags_semantics(&stacked);
    let choices: Vec<Choice> =
        serde_json::from_str(include_str!("../tests/data/zigzag_choices.json"))?;
    for x in &choices {
        let m = evaluate(&x.problem, &stacked, &x.mapping, dense, &OwnPrices)?;
        let stem = format!("{}--{}--qnn8-zigzag-choice", x.problem.name, stacked.name);
        write_case(&out, &stem, "qnn8", &m, &aligned)?;
        n += 1;
    }
    println!("{n} cases written to {}", out.display());
    Ok(())
}
