//! Per-operand boundaries: a data space's tile at a level that takes in loops above the
//! level, counted by hand on small layers, and refused by name where the counter cannot
//! count it.

use crate::common::*;
use DataSpace::*;
use Dim::*;
use snnergy_mapper::*;

const ALL: [DataSpace; 4] = [Weights, Inputs, Accum, Outputs];

/// K = 2, P = 4, R = 3: K2 at DRAM, P2 at the buffer, P2·R3 in the register, which keeps
/// weights, inputs and partial sums; `raise` inputs past the buffer's P2.
fn weight_register_below_the_input_register(raise: Option<u64>) -> MappedLayer {
    let mut hw = chip([1, 1], false, false);
    hw.levels[2].sliding_window = true;
    let p = qnn("w-below-i", 2, 1, 4, 1, 3, 1);
    let mut reg = level(
        "reg",
        vec![lp(P, 2), lp(R, 3)],
        vec![],
        &[Weights, Inputs, Accum],
    );
    if let Some(b) = raise {
        reg.spans_above.insert(Inputs, b);
    }
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![lp(K, 2)], vec![], &ALL),
            level("buffer", vec![lp(P, 2)], vec![], &[Weights, Inputs]),
            reg,
        ],
    };
    evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap()
}

#[test]
fn an_input_register_above_a_loop_the_weight_register_sits_below_is_filled_once() {
    let even = weight_register_below_the_input_register(None);
    let raised = weight_register_below_the_input_register(Some(1));
    for r in [&even, &raised] {
        // Weights: the register's tile R3 changes with K2 (the buffer's P2 leaves it in
        // place): 3 × 2 = 6 fills, whatever the inputs do.
        assert_eq!(count(r, 2, Weights, Action::Fill), 6.0);
        assert_eq!(count_for(r, 1, Weights, Action::Read, Purpose::Fill), 6.0);
        // One operand read of each per MAC: 2 · 4 · 3 = 24.
        assert_eq!(
            count_for(r, 2, Weights, Action::Read, Purpose::Operand),
            24.0
        );
        assert_eq!(
            count_for(r, 2, Inputs, Action::Read, Purpose::Operand),
            24.0
        );
        // The buffer's inputs: the 6-row window of P4, R3, irrelevant K2 above: 6.
        assert_eq!(count(r, 1, Inputs, Action::Fill), 6.0);
    }
    // At the level's boundary the input register holds the 4-row window of P2, R3; the
    // buffer's P2 and DRAM's K2 change it 4 times, each P step sliding 2 new rows in:
    // 2 · (4 + 2) = 12.
    assert_eq!(count(&even, 2, Inputs, Action::Fill), 12.0);
    assert_eq!(
        count_for(&even, 1, Inputs, Action::Read, Purpose::Fill),
        12.0
    );
    // Raised past P2 the tile is the whole 6-row window; only K2 (irrelevant) lies above it.
    assert_eq!(count(&raised, 2, Inputs, Action::Fill), 6.0);
    assert_eq!(
        count_for(&raised, 1, Inputs, Action::Read, Purpose::Fill),
        6.0
    );
    // Capacity: 3 weights, 4 or 6 input rows and 2 partial sums, one word each.
    assert_eq!(even.counts.tile_bits[2][1], 4.0 * 16.0);
    assert_eq!(raised.counts.tile_bits[2][1], 6.0 * 16.0);
    assert_eq!(raised.counts.tile_bits[2][0], 3.0 * 16.0);
    // The mapping reads back with its boundary.
    assert_eq!(raised.mapping.levels[2].spans_above.get(&Inputs), Some(&1));
}

/// K = 1, C = 2, P = 2, R = 3: C2 at DRAM, P2 at the buffer, R3 in the register.
fn sums_over_c(raise: Option<u64>) -> MappedLayer {
    let hw = chip([1, 1], false, false);
    let p = qnn("sums-over-c", 1, 2, 2, 1, 3, 1);
    let mut reg = level("reg", vec![lp(R, 3)], vec![], &[Weights, Inputs, Accum]);
    if let Some(b) = raise {
        reg.spans_above.insert(Accum, b);
    }
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![lp(C, 2)], vec![], &ALL),
            level("buffer", vec![lp(P, 2)], vec![], &[Weights, Inputs]),
            reg,
        ],
    };
    evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap()
}

#[test]
fn a_partial_sum_register_raised_above_a_reduction_loop_finishes_its_sums() {
    let even = sums_over_c(None);
    // At the level's boundary one sum per (c, p): 4 residencies in the register, whose sums
    // are not finished (C2 lies above the relevant P2); they drain to DRAM, where sums
    // finish: 4 arrivals, 2 of them the first of their sum.
    assert_eq!(even.counts.finalizing_level, 0);
    assert_eq!(count(&even, 2, Accum, Action::Update), 12.0);
    assert_eq!(
        count_for(&even, 2, Accum, Action::Read, Purpose::Accumulate),
        12.0 - 4.0
    );
    assert_eq!(
        count_for(&even, 2, Accum, Action::Read, Purpose::Drain),
        4.0
    );
    assert_eq!(count(&even, 0, Accum, Action::Update), 4.0);
    // Raised past P2 and C2, the register's tile P2 stays through both: 2 residencies, each
    // a finished sum; nothing drains and the register is where sums finish.
    let raised = sums_over_c(Some(2));
    assert_eq!(raised.counts.finalizing_level, 2);
    assert_eq!(count(&raised, 2, Accum, Action::Update), 12.0);
    assert_eq!(
        count_for(&raised, 2, Accum, Action::Read, Purpose::Accumulate),
        12.0 - 2.0
    );
    assert_eq!(
        count_for(&raised, 2, Accum, Action::Read, Purpose::Drain),
        0.0
    );
    assert_eq!(count(&raised, 0, Accum, Action::Update), 0.0);
    assert_eq!(raised.counts.tile_bits[2][2], 2.0 * 16.0);
    // Raised past P2 alone, C2 lies directly above the tile and leaves it in place: the
    // same counts.
    let half = sums_over_c(Some(1));
    assert_eq!(half.counts.finalizing_level, 2);
    assert_eq!(half.counts.accesses, raised.counts.accesses);
}

/// The error of evaluating `m` on the tiny chip, as text.
fn refusal(p: &Problem, levels: Vec<LevelMapping>) -> String {
    let hw = chip([2, 1], false, false);
    let m = Mapping { levels };
    match evaluate(p, &hw, &m, dense(), &OwnPrices) {
        Ok(_) => panic!("the mapping was counted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_boundary_the_counter_cannot_count_is_refused_naming_level_data_space_and_key() {
    let p = qnn("refused", 2, 1, 4, 1, 3, 1);
    let with = |lm: LevelMapping, ds: DataSpace, b: u64| {
        let mut lm = lm;
        lm.spans_above.insert(ds, b);
        lm
    };
    let dram = || level("DRAM", vec![lp(K, 2)], vec![], &ALL);
    let buffer = || level("buffer", vec![lp(P, 2)], vec![], &[Weights, Inputs]);
    let reg = || {
        level(
            "reg",
            vec![lp(P, 2), lp(R, 3)],
            vec![],
            &[Weights, Inputs, Accum],
        )
    };
    let cases = [
        // Three loops asked for where two lie above the register.
        (
            vec![dram(), buffer(), with(reg(), Inputs, 3)],
            ["`reg`", "spans_above.inputs", "only 2 temporal loops"],
        ),
        // Outputs end at their level's boundary.
        (
            vec![with(dram(), Outputs, 0), buffer(), reg()],
            [
                "`DRAM`",
                "spans_above.outputs",
                "weights, inputs and partial sums",
            ],
        ),
        // A data space the level does not keep.
        (
            vec![dram(), with(buffer(), Accum, 1), reg()],
            ["`buffer`", "spans_above.accum", "does not keep"],
        ),
        // The register's inputs above the buffer's, which keeps them too.
        (
            vec![dram(), buffer(), with(reg(), Inputs, 2)],
            ["`reg`", "spans_above.inputs", "next level out"],
        ),
    ];
    for (levels, words) in cases {
        let e = refusal(&p, levels);
        for w in words {
            assert!(e.contains(w), "`{w}` not in: {e}");
        }
    }
    // The buffer's P2 taken into the registers' input tiles outside the spatial P2 across
    // them: each register's outputs would be two apart, its window strided.
    let e = refusal(
        &p,
        vec![
            dram(),
            level(
                "buffer",
                vec![lp(P, 2)],
                vec![sl(P, 2, Axis::X)],
                &[Weights, Inputs],
            ),
            with(
                level("reg", vec![lp(R, 3)], vec![], &[Weights, Inputs, Accum]),
                Inputs,
                1,
            ),
        ],
    );
    assert!(
        e.contains("`reg`") && e.contains("spans_above.inputs") && e.contains("strided"),
        "{e}"
    );
}

/// The input-register case of [`weight_register_below_the_input_register`] as a user pins
/// it in a pipeline's `[[constraints.levels]]`.
const PINNED: &str = r#"
[[levels]]
level = "DRAM"
temporal_factors = { K = 2, C = 1, P = 1, R = 1 }
keep = ["weights", "inputs", "accum", "outputs"]
[[levels]]
level = "buffer"
temporal_factors = { K = 1, C = 1, P = 2, R = 1 }
keep = ["weights", "inputs"]
[[levels]]
level = "reg"
temporal_factors = { K = 1, C = 1, P = 2, R = 3 }
permutation = "RP"
keep = ["weights", "inputs", "accum"]
spans_above = { inputs = 1 }
"#;

fn map_pinned(toml_text: &str) -> Result<MappedLayer, String> {
    let mut hw = chip([1, 1], false, false);
    hw.levels[2].sliding_window = true;
    let p = qnn("w-below-i", 2, 1, 4, 1, 3, 1);
    let constraints: Constraints = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    let options = SearchOptions {
        constraints,
        ..SearchOptions::default()
    };
    map(&p, &hw, dense(), &OwnPrices, &options).map_err(|e| e.to_string())
}

#[test]
fn a_boundary_pinned_in_constraints_is_mapped_as_evaluated() {
    let found = map_pinned(PINNED).unwrap();
    let evaluated = weight_register_below_the_input_register(Some(1));
    assert_eq!(found.mapping.levels[2].spans_above.get(&Inputs), Some(&1));
    assert_eq!(found.counts, evaluated.counts);
    assert_eq!(count(&found, 2, Inputs, Action::Fill), 6.0);
    // A mapping pinned whole keeps its boundaries.
    let options = SearchOptions {
        constraints: Constraints::pin(&evaluated.mapping),
        ..SearchOptions::default()
    };
    let hw = evaluated.hardware.clone();
    let again = map(&evaluated.problem, &hw, dense(), &OwnPrices, &options).unwrap();
    // (The search drops the partial sums DRAM would keep above where they finish.)
    assert_eq!(again.mapping.levels[2], evaluated.mapping.levels[2]);
    assert_eq!(again.counts, evaluated.counts);
}

#[test]
fn a_bad_pinned_boundary_is_refused_naming_its_level_and_key() {
    let bad = |from: &str, to: &str| {
        let text = PINNED.replace(from, to);
        assert_ne!(text, PINNED);
        map_pinned(&text).unwrap_err()
    };
    let e = bad(
        "spans_above = { inputs = 1 }",
        "spans_above = { outputs = 1 }",
    );
    assert!(
        e.contains("`reg`") && e.contains("spans_above.outputs"),
        "{e}"
    );
    let e = bad(
        "keep = [\"weights\", \"inputs\", \"accum\"]\nspans",
        "keep = [\"weights\", \"accum\"]\nspans",
    );
    assert!(
        e.contains("`reg`") && e.contains("spans_above.inputs") && e.contains("keep"),
        "{e}"
    );
    let e = bad(
        "spans_above = { inputs = 1 }",
        "spans_above = { inputs = 99 }",
    );
    assert!(
        e.contains("`reg`") && e.contains("spans_above.inputs") && e.contains("99"),
        "{e}"
    );
    let e = bad(
        "spans_above = { inputs = 1 }",
        "spans_above = { inputs = -1 }",
    );
    assert!(e.contains("spans_above"), "{e}");
}

#[test]
fn a_boundary_at_the_pes_of_a_systolic_array_is_refused() {
    let mut hw = chip([1, 1], false, false);
    hw.levels[1].network.topology = Topology::Systolic;
    let p = qnn("systolic", 2, 1, 4, 1, 3, 1);
    let mut reg = level(
        "reg",
        vec![lp(P, 2), lp(R, 3)],
        vec![],
        &[Weights, Inputs, Accum],
    );
    reg.spans_above.insert(Weights, 1);
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![lp(K, 2)], vec![], &ALL),
            level("buffer", vec![lp(P, 2)], vec![], &[Weights, Inputs]),
            reg,
        ],
    };
    let e = evaluate(&p, &hw, &m, dense(), &OwnPrices)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`reg`") && e.contains("spans_above.weights") && e.contains("systolic"),
        "{e}"
    );
}

#[test]
fn the_zigzag_export_assigns_the_loops_a_boundary_takes_in_to_its_memory() {
    let loops = |x: &ZigzagExport, op: &str, i: usize| -> Vec<(String, u64)> {
        x.temporal_mapping[op][i].clone()
    };
    let own = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(d, f)| (d.to_string(), *f)).collect()
    };
    let even = to_zigzag(&weight_register_below_the_input_register(None)).unwrap();
    let raised = to_zigzag(&weight_register_below_the_input_register(Some(1))).unwrap();
    // The register's loops innermost first (R3 inside P2), then the buffer's P2 and DRAM's K2.
    assert_eq!(loops(&even, "I", 0), own(&[("FY", 3), ("OY", 2)]));
    assert_eq!(loops(&even, "I", 1), own(&[("OY", 2)]));
    // Raised past the buffer's P2, the inputs' register takes it; the weights' does not.
    assert_eq!(
        loops(&raised, "I", 0),
        own(&[("FY", 3), ("OY", 2), ("OY", 2)])
    );
    assert_eq!(loops(&raised, "I", 1), own(&[]));
    assert_eq!(loops(&raised, "W", 0), loops(&even, "W", 0));
    assert_eq!(loops(&raised, "W", 1), own(&[("OY", 2)]));
    // The Timeloop export has one boundary per level and refuses it by name.
    let e = to_timeloop(&weight_register_below_the_input_register(Some(1)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`reg`") && e.contains("spans_above.inputs"),
        "{e}"
    );
}

/// ZigZag's Eyeriss-like example as snnergy levels.
pub fn stacked_rf() -> Hardware {
    Hardware::from_toml(include_str!("data/stacked-rf.toml")).expect("the stacked chip parses")
}

/// K256 C128 8 × 8 outputs, 3 × 3 taps (VGG16's CONV3-1 on CIFAR-10, unpadded), 8-bit.
pub fn conv3_1() -> Problem {
    Problem {
        weight_bits: 8,
        input_bits: 8,
        output_bits: 8,
        accum_bits: 24,
        ..qnn("vgg16c-conv3-1", 256, 128, 8, 8, 3, 3)
    }
}

/// The mapping ZigZag 3.9.1's own search (`tools/zigzag_search.py`, energy) chooses for
/// [`conv3_1`] on its Eyeriss-like example: C14 over the array's 14 columns and K12 over its
/// 12 rows (both uneven: 140 and 264 covered), and per operand, innermost first, W: register
/// [FX3 FY3 OY8], weight buffer [K22 OX8], DRAM [C10]; I: register [FX3 FY3 OY8 K22], 1 MB
/// buffer [OX8 C10]; O: register [FX3 FY3], 8 KB buffer [OY8], 1 MB buffer [K22 OX8 C10].
/// Each loop sits at the outermost level any operand's memory of it has below it; the
/// operands whose memory lies further in take it in with `spans_above`.
pub fn zigzags_choice() -> Mapping {
    let raise = |mut lm: LevelMapping, spans: &[(DataSpace, u64)]| {
        lm.spans_above.extend(spans.iter().copied());
        lm
    };
    Mapping {
        levels: vec![
            level("dram", vec![lp(C, 10)], vec![], &[Weights, Inputs, Outputs]),
            raise(
                level(
                    "sram_1M",
                    vec![lp(Q, 8), lp(K, 22)],
                    vec![],
                    &[Inputs, Accum, Outputs],
                ),
                &[(Inputs, 1), (Accum, 1)],
            ),
            raise(
                level("sram_64KB", vec![], vec![], &[Weights]),
                &[(Weights, 2)],
            ),
            level(
                "sram_8KB",
                vec![lp(P, 8)],
                vec![sl(C, 14, Axis::X), sl(K, 12, Axis::Y)],
                &[Accum],
            ),
            level("rf_16B", vec![lp(R, 3), lp(S, 3)], vec![], &[Accum]),
            raise(
                level("rf_64B_W", vec![], vec![], &[Weights]),
                &[(Weights, 3)],
            ),
            raise(level("rf_64B_A", vec![], vec![], &[Inputs]), &[(Inputs, 4)]),
        ],
    }
}

#[test]
fn zigzags_chosen_mapping_pins_and_exports_back_as_zigzag_chose_it() {
    let r = evaluate(
        &conv3_1(),
        &stacked_rf(),
        &zigzags_choice(),
        dense(),
        &OwnPrices,
    )
    .unwrap();
    let x = to_zigzag(&r).unwrap();
    let lists = |v: &[&[(&str, u64)]]| -> Vec<Vec<(String, u64)>> {
        v.iter()
            .map(|l| l.iter().map(|(d, f)| (d.to_string(), *f)).collect())
            .collect()
    };
    let (fx, fy, oy, k, ox, c) = (
        ("FX", 3),
        ("FY", 3),
        ("OY", 8),
        ("K", 22),
        ("OX", 8),
        ("C", 10),
    );
    assert_eq!(
        x.temporal_mapping["W"],
        lists(&[&[fx, fy, oy], &[k, ox], &[c]])
    );
    assert_eq!(
        x.temporal_mapping["I"],
        lists(&[&[fx, fy, oy, k], &[ox, c], &[]])
    );
    assert_eq!(
        x.temporal_mapping["O"],
        lists(&[&[fx, fy], &[oy], &[k, ox, c], &[]])
    );
    // Where partial sums finish: the 1 MB buffer, its tile taking in DRAM's C10.
    assert_eq!(r.counts.finalizing_level, 1);
    // The live validation's copy, which ZigZag's cost model evaluates, is this mapping.
    let choices: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("data/zigzag_choices.json")).unwrap();
    let stored: Mapping = serde_json::from_value(choices[0]["mapping"].clone()).unwrap();
    assert_eq!(stored, zigzags_choice());
}

#[test]
fn the_search_proposes_per_operand_boundaries_only_when_asked_and_never_worse() {
    let on_options = SearchOptions {
        per_operand_boundaries: true,
        ..SearchOptions::default()
    };
    let energy = |m: &MappedLayer| m.evaluate(dense()).unwrap().energy_pj;
    let raised = |m: &MappedLayer| m.mapping.levels.iter().any(|l| !l.spans_above.is_empty());
    // A 3 × 3 layer of 512 × 256 channels over 7 × 7 outputs on the output-stationary chip:
    // a tile that takes in a loop above its level saves 3.8 % of the energy.
    let hw = Hardware::shipped("output-stationary").unwrap();
    let p = Problem {
        weight_bits: 8,
        input_bits: 8,
        output_bits: 8,
        accum_bits: 24,
        ..qnn("l4", 512, 256, 7, 7, 3, 3)
    };
    let off = map(&p, &hw, dense(), &OwnPrices, &SearchOptions::default()).unwrap();
    let on = map(&p, &hw, dense(), &OwnPrices, &on_options).unwrap();
    assert!(!raised(&off) && raised(&on));
    assert!(
        energy(&on) < energy(&off) * 0.98,
        "{} {}",
        energy(&on),
        energy(&off)
    );
    // Never worse, and a boundary only where it lowers the objective.
    let mut rng = Rng(5);
    for i in 0..8 {
        let hw = chip([1 + rng.below(2), 1], rng.below(2) == 0, false);
        let p = qnn(
            &format!("l{i}"),
            1 + rng.below(8),
            1 + rng.below(8),
            2 + rng.below(8),
            1 + rng.below(4),
            1 + rng.below(3),
            1 + rng.below(3),
        );
        let off = map(&p, &hw, dense(), &OwnPrices, &SearchOptions::default()).unwrap();
        let on = map(&p, &hw, dense(), &OwnPrices, &on_options).unwrap();
        assert!(energy(&on) <= energy(&off), "{}", p.name);
        assert!(!raised(&on) || energy(&on) < energy(&off), "{}", p.name);
    }
}
