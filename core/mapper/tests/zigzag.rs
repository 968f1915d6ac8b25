//! Our counts against ZigZag's on the small validation layers.
//!
//! `tests/data/zigzag_small_aligned.json` holds, per layer, chip and format, the pinned mapping
//! and ZigZag's element moves (zigzag-dse 3.9.1 evaluating `to_zigzag`'s export of it, on the
//! chips with ZigZag's semantics: no sliding-window reuse, reducing multicast networks). It is
//! written by
//!
//! ```text
//! cargo run --release -p snnergy-mapper --example validation_export -- DIR small aligned
//! python3 core/mapper/tools/compare_zigzag.py DIR --fixture core/mapper/tests/data/zigzag_small_aligned.json
//! ```
//!
//! Where the two tools count alike the numbers must be equal; where they differ, ZigZag's number
//! must follow from ours by the rule `VALIDATION.md` states. If our counter changes, the first
//! test says so: run the commands above again and read the new comparison.

use serde::Deserialize;
use snnergy_mapper::*;

#[derive(Deserialize)]
struct Fixture {
    directions: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    layer: String,
    hardware: String,
    aligned: bool,
    problem: Problem,
    mapping: Mapping,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    memory: String,
    operand: String,
    ours: [f64; 4],
    zigzag: [f64; 4],
}

const RD_TO_LOW: usize = 0;
const WR_BY_HIGH: usize = 1;
const WR_BY_LOW: usize = 2;
const RD_TO_HIGH: usize = 3;

fn fixture() -> Fixture {
    let f: Fixture =
        serde_json::from_str(include_str!("data/zigzag_small_aligned.json")).expect("fixture");
    assert_eq!(
        f.directions,
        [
            "rd_out_to_low",
            "wr_in_by_high",
            "wr_in_by_low",
            "rd_out_to_high"
        ]
    );
    f
}

fn chip(name: &str, aligned: bool) -> Hardware {
    let mut hw = Hardware::shipped(name).unwrap();
    if aligned {
        for l in &mut hw.levels {
            l.sliding_window = false;
            l.network.reduction |= l.network.multicast;
        }
    }
    hw
}

fn ours(c: &Case) -> ZigzagExport {
    let hw = chip(&c.hardware, c.aligned);
    let m = evaluate(
        &c.problem,
        &hw,
        &c.mapping,
        Densities::uniform(1.0),
        &OwnPrices,
    )
    .unwrap_or_else(|e| panic!("{} on {}: {e}", c.layer, c.hardware));
    to_zigzag(&m).unwrap()
}

fn dirs(r: &ZigzagRow) -> [f64; 4] {
    [
        r.rd_out_to_low,
        r.wr_in_by_high,
        r.wr_in_by_low,
        r.rd_out_to_high,
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn pinned_mappings_still_count_what_was_compared_with_zigzag() {
    for c in fixture().cases {
        let x = ours(&c);
        for row in &c.rows {
            let r = x
                .ours
                .rows
                .iter()
                .find(|r| r.memory == row.memory && r.operand == row.operand)
                .unwrap_or_else(|| panic!("{}: no row {}/{}", c.layer, row.memory, row.operand));
            for (d, (a, b)) in dirs(r).iter().zip(row.ours).enumerate() {
                assert!(
                    close(*a, b),
                    "{} on {}, {} {} direction {d}: {a} now, {b} when compared with ZigZag",
                    c.layer,
                    c.hardware,
                    row.memory,
                    row.operand
                );
            }
        }
    }
}

#[test]
fn zigzag_counts_follow_from_ours_by_the_stated_differences() {
    for c in fixture().cases {
        let x = ours(&c);
        let p = &c.problem;
        let outputs = (p.n * p.g * p.k * p.p * p.q * p.t) as f64;
        let at = |memory: &str, op: &str| -> [f64; 4] {
            c.rows
                .iter()
                .find(|r| r.memory == memory && r.operand == op)
                .map(|r| r.ours)
                .unwrap_or_else(|| panic!("{}: no row {memory}/{op}", c.layer))
        };
        let zz = |memory: &str, op: &str| -> [f64; 4] {
            c.rows
                .iter()
                .find(|r| r.memory == memory && r.operand == op)
                .map(|r| r.zigzag)
                .unwrap()
        };
        let ctx = |what: &str, m: &str| format!("{} on {}: {what} at {m}", c.layer, c.hardware);
        // Weights and inputs: every move equal.
        for op in ["W", "I"] {
            for m in &x.memories[op] {
                let (o, z) = (at(m, op), zz(m, op));
                for d in 0..4 {
                    assert!(
                        close(o[d], z[d]),
                        "{}",
                        ctx(&format!("{op} direction {d}"), m)
                    );
                }
            }
        }
        // Partial sums and outputs.
        let chain = &x.memories["O"];
        // ZigZag reads a partial sum back down from the parent before adding to it, and a
        // memory passes down in turn what came back from further up; we add a partial sum
        // where it arrives. What ZigZag sends back into each memory, from the top down:
        let mut read_back = vec![0.0; chain.len()];
        for i in (0..chain.len().saturating_sub(1)).rev() {
            read_back[i] = at(&chain[i + 1], "O")[RD_TO_LOW] + read_back[i + 1];
        }
        for (i, m) in chain.iter().enumerate() {
            let (o, z) = (at(m, "O"), zz(m, "O"));
            assert!(close(o[WR_BY_LOW], z[WR_BY_LOW]), "{}", ctx("O updates", m));
            assert!(
                close(o[RD_TO_HIGH], z[RD_TO_HIGH]),
                "{}",
                ctx("O drains", m)
            );
            assert!(
                close(z[WR_BY_HIGH], read_back[i]),
                "{}",
                ctx("O read-back", m)
            );
            let expected = if i == 0 {
                // Innermost: every update but the first of each output reads the sum, as if the
                // spatially reduced copies were one.
                o[WR_BY_LOW] - outputs
            } else {
                o[RD_TO_LOW] + read_back[i]
            };
            assert!(
                close(z[RD_TO_LOW], expected),
                "{}: ZigZag {} expected {expected}",
                ctx("O reads to below", m),
                z[RD_TO_LOW]
            );
        }
    }
}

#[test]
fn zigzag_export_places_every_temporal_loop_once_per_operand() {
    let hw = Hardware::shipped("eyeriss-like").unwrap();
    let p = Problem::conv("conv", 64, 32, 16, 16, 3, 3, 1).into_snn(4, 16);
    let m = map(
        &p,
        &hw,
        Densities::uniform(1.0),
        &OwnPrices,
        &SearchOptions::default(),
    )
    .unwrap();
    let x = to_zigzag(&m).unwrap();
    assert!(
        x.accelerator.contains("operational_array:") && x.accelerator.contains("sizes: [14, 12]")
    );
    assert!(x.workload.contains("loop_dims: [B, K, C, OY, OX, FY, FX]"));
    // T and N are both B: the batch is 4.
    assert!(x.workload.contains("loop_sizes: [4, 64, 32, 16, 16, 3, 3]"));
    let spatial: u64 = m
        .mapping
        .levels
        .iter()
        .flat_map(|l| &l.spatial)
        .map(|s| s.factor)
        .product();
    for op in ["W", "I", "O"] {
        assert_eq!(x.temporal_mapping[op].len(), x.memories[op].len(), "{op}");
        let temporal: u64 = x.temporal_mapping[op]
            .iter()
            .flatten()
            .map(|(_, f)| *f)
            .product();
        assert_eq!(temporal * spatial, p.ops() as u64, "{op}");
    }
}

#[test]
fn a_product_of_two_activations_is_exported_with_its_w_operand_produced_by_another_layer() {
    let hw = Hardware::shipped("eyeriss-like").unwrap();
    // Q·Kᵀ of 12 heads over T = 4 folded into the groups: 64 × 64 scores of 32 terms.
    let p = Problem {
        name: "qk".into(),
        g: 48,
        k: 64,
        c: 32,
        p: 64,
        weight_bits: 1,
        second_operand: true,
        ..Problem::default()
    }
    .into_snn(1, 16);
    let m = map(
        &p,
        &hw,
        Densities::uniform(1.0),
        &OwnPrices,
        &SearchOptions::default(),
    )
    .unwrap();
    let x = to_zigzag(&m).unwrap();
    // The producer of the second operand comes first, with W's shape; the product reads W
    // from it and its own I from memory, so only I is a constant operand for ZigZag.
    let producer = x.workload.find("- id: 0").unwrap();
    let product = x.workload.find("- id: 1").unwrap();
    assert!(producer < product, "{}", x.workload);
    assert!(x.workload[producer..product].contains("loop_sizes: [48, 64, 32]"));
    assert!(x.workload[product..].contains("operand_source: {W: 0, I: 1}"));
    assert!(x.workload[product..].contains("loop_sizes: [1, 48, 64, 32, 64, 1, 1, 1]"));
}
