//! Bad input: every error names the level, data space, layer and key it is about.

use crate::common::*;
use Dim::*;
use snnergy_mapper::*;

fn message(e: MapperError) -> String {
    e.to_string()
}

#[test]
fn a_level_smaller_than_one_word_is_an_error_naming_the_level_and_key() {
    let mut hw = chip([1, 1], true, false);
    hw.levels[1].capacity = Some(Capacity::Shared(Size::Text("8 bits".into())));
    let m = message(hw.validate().unwrap_err());
    assert!(
        m.contains("`buffer`") && m.contains("`capacity`") && m.contains("smaller than one word"),
        "{m}"
    );
}

#[test]
fn zero_bandwidth_is_an_error_naming_the_level_and_key() {
    let mut hw = chip([1, 1], true, false);
    hw.levels[2].read_bandwidth = Some(0.0);
    let m = message(hw.validate().unwrap_err());
    assert!(m.contains("`reg`") && m.contains("`read_bandwidth`"), "{m}");
}

#[test]
fn an_array_of_zero_is_an_error_naming_the_level_and_key() {
    let mut hw = chip([1, 1], true, false);
    hw.levels[2].mesh = [0, 12];
    let m = message(hw.validate().unwrap_err());
    assert!(m.contains("`reg`") && m.contains("`mesh`"), "{m}");
    let mut hw = chip([1, 1], true, false);
    hw.compute.units = [4, 0];
    let m = message(hw.validate().unwrap_err());
    assert!(m.contains("`compute`") && m.contains("`units`"), "{m}");
}

#[test]
fn a_data_space_no_level_may_hold_is_an_error_naming_it_and_the_layer() {
    let mut hw = chip([1, 1], true, false);
    for l in &mut hw.levels {
        l.holds.retain(|d| *d != DataSpace::Membrane);
    }
    let p = qnn("spiking", 2, 2, 2, 2, 1, 1).into_snn(4, 16);
    let m = message(map(&p, &hw, dense(), &OwnPrices, &SearchOptions::default()).unwrap_err());
    assert!(
        m.contains("`spiking`") && m.contains("`membrane`") && m.contains("`holds`"),
        "{m}"
    );
}

#[test]
fn a_pinned_mapping_that_breaks_a_capacity_names_level_space_and_layer() {
    let hw = chip([1, 1], true, false);
    // 64-word register: a weight tile of 4 × 32 = 128 words does not fit.
    let p = qnn("big", 4, 32, 1, 1, 1, 1);
    let m = Mapping {
        levels: vec![
            level(
                "DRAM",
                vec![],
                vec![],
                &[
                    DataSpace::Weights,
                    DataSpace::Inputs,
                    DataSpace::Accum,
                    DataSpace::Outputs,
                ],
            ),
            level("buffer", vec![], vec![], &[]),
            level(
                "reg",
                vec![lp(K, 4), lp(C, 32)],
                vec![],
                &[DataSpace::Weights, DataSpace::Accum],
            ),
        ],
    };
    let e = evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap_err();
    assert!(matches!(e, MapperError::Capacity { .. }));
    let m = message(e);
    assert!(
        m.contains("`big`")
            && m.contains("`reg`")
            && m.contains("`weights`")
            && m.contains("`capacity`"),
        "{m}"
    );
}

#[test]
fn a_factor_product_that_does_not_equal_the_dim_names_the_dim_and_layer() {
    let hw = chip([1, 1], true, false);
    let p = qnn("short", 4, 2, 1, 1, 1, 1);
    let m = Mapping {
        levels: vec![
            level(
                "DRAM",
                vec![lp(K, 2), lp(C, 2)],
                vec![],
                &[
                    DataSpace::Weights,
                    DataSpace::Inputs,
                    DataSpace::Accum,
                    DataSpace::Outputs,
                ],
            ),
            level("buffer", vec![], vec![], &[]),
            level("reg", vec![], vec![], &[DataSpace::Accum]),
        ],
    };
    let m = message(evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap_err());
    assert!(
        m.contains("`short`") && m.contains("factors.K") && m.contains("multiply to 2"),
        "{m}"
    );
}

#[test]
fn bad_problems_and_spatial_overflows_are_errors_not_panics() {
    let hw = chip([2, 1], true, false);
    let mut p = qnn("zero", 4, 2, 1, 1, 1, 1);
    p.k = 0;
    let m = message(map(&p, &hw, dense(), &OwnPrices, &SearchOptions::default()).unwrap_err());
    assert!(m.contains("`zero`") && m.contains("`k`"), "{m}");
    let p = qnn("wide", 4, 2, 1, 1, 1, 1);
    let m = Mapping {
        levels: vec![
            level(
                "DRAM",
                vec![lp(C, 2)],
                vec![],
                &[
                    DataSpace::Weights,
                    DataSpace::Inputs,
                    DataSpace::Accum,
                    DataSpace::Outputs,
                ],
            ),
            level("buffer", vec![], vec![sl(K, 4, Axis::X)], &[]),
            level("reg", vec![], vec![], &[DataSpace::Accum]),
        ],
    };
    let msg = message(evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap_err());
    assert!(
        msg.contains("`buffer`") && msg.contains("`spatial`"),
        "{msg}"
    );
    let mut huge = qnn("huge", 1 << 20, 1 << 20, 1 << 20, 1, 1, 1);
    huge.n = 1 << 20;
    let msg = message(map(&huge, &hw, dense(), &OwnPrices, &SearchOptions::default()).unwrap_err());
    assert!(msg.contains("`huge`"), "{msg}");
    let bad = Hardware::from_toml(
        "name = \"x\"\n[[levels]]\nname = \"DRAM\"\ncapacity = \"12 parsecs\"\n",
    );
    assert!(message(bad.unwrap_err()).contains("parsecs"));
    let msg = message(Hardware::from_toml("name = \"x\"\nlevelz = 1\n").unwrap_err());
    assert!(msg.contains("levelz"), "{msg}");
}

#[test]
fn densities_outside_zero_to_one_are_errors_naming_the_key() {
    let hw = chip([1, 1], true, false);
    let p = qnn("dens", 2, 2, 2, 2, 1, 1);
    let m = map(&p, &hw, dense(), &OwnPrices, &SearchOptions::default()).unwrap();
    let e = message(
        m.evaluate(Densities {
            input: f64::NAN,
            output: 0.5,
            ever: None,
        })
        .unwrap_err(),
    );
    assert!(e.contains("`dens`") && e.contains("densities.input"), "{e}");
    let e = message(
        map(
            &p,
            &hw,
            Densities {
                input: 0.5,
                output: 1.5,
                ever: None,
            },
            &OwnPrices,
            &SearchOptions::default(),
        )
        .unwrap_err(),
    );
    assert!(e.contains("densities.output"), "{e}");
}

#[test]
fn sizes_whose_product_overflows_even_u128_are_an_error_not_a_wrap() {
    let mut p = Problem::conv(
        "huge",
        1 << 31,
        1 << 31,
        1 << 31,
        1 << 31,
        1 << 20,
        1 << 20,
        1,
    );
    p.n = u32::MAX as u64;
    p.g = u32::MAX as u64;
    assert_eq!(p.ops(), u128::MAX);
    let m = message(p.validate().unwrap_err());
    assert!(m.contains("2^60"), "{m}");
}

/// Elements are stored as they are accessed: a 16-bit word holds one 12-bit sum, so 64 sums
/// fill the 64-word register and 65 do not (bit-packed they would take 780 of its 1024 bits).
#[test]
fn a_tile_is_stored_as_whole_elements_to_a_word() {
    let hw = chip([1, 1], true, false);
    for (k, fits) in [(64, true), (65, false)] {
        let mut p = qnn("sums", k, 1, 1, 1, 1, 1);
        p.accum_bits = 12;
        let m = Mapping {
            levels: vec![
                level("DRAM", vec![], vec![], &DataSpace::ALL),
                level(
                    "buffer",
                    vec![],
                    vec![],
                    &[DataSpace::Weights, DataSpace::Inputs],
                ),
                level("reg", vec![lp(K, k)], vec![], &[DataSpace::Accum]),
            ],
        };
        match evaluate(&p, &hw, &m, dense(), &OwnPrices) {
            Ok(_) => assert!(fits, "{k} sums fit"),
            Err(MapperError::Capacity {
                level,
                data_space,
                need_bits,
                have_bits,
                ..
            }) => {
                assert!(!fits, "{k} sums rejected");
                assert_eq!((level.as_str(), data_space.as_str()), ("reg", "accum"));
                assert_eq!((need_bits, have_bits), (65 * 16, 64 * 16));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// DRAM (inputs and outputs) above 8 PEs that keep everything else in small banks.
fn banked_pes() -> Hardware {
    Hardware::from_toml(
        r#"
name = "banked"
[[levels]]
name = "DRAM"
class = "dram"
word_bits = 8
holds = ["inputs", "outputs"]
energy = { read_pj = 1.0, write_pj = 1.0 }
[[levels]]
name = "pe"
word_bits = 8
mesh = [8, 1]
holds = ["weights", "inputs", "accum", "membrane", "outputs"]
capacity = [
  { holds = ["weights"], size = "16 bits" },
  { holds = ["membrane"], size = "32 bits" },
  { holds = ["accum"], size = "64 bits" },
  { holds = ["inputs", "outputs"], size = "64 bits" },
]
energy = { read_pj = 1.0, write_pj = 1.0 }
[compute]
clock_mhz = 100.0
mac_bits = 8
add_bits = 16
energy = { mac_pj = 0.0, add_pj = 0.0 }
"#,
    )
    .unwrap()
}

fn split_layer() -> Problem {
    let mut p = Problem::conv("split", 4, 2, 4, 1, 1, 1, 1).into_snn(2, 16);
    p.accum_bits = 16;
    p
}

#[test]
fn no_legal_mapping_names_the_constraint_the_fullest_candidates_broke() {
    let mut hw = banked_pes();
    // Half the membrane bank: 16 neurons over 8 PEs no longer fit anywhere.
    if let Some(Capacity::Banks(banks)) = &mut hw.levels[1].capacity {
        banks[1].size = Size::Text("16 bits".into());
    }
    let e = map(
        &split_layer(),
        &hw,
        Densities::uniform(0.1),
        &OwnPrices,
        &SearchOptions::default(),
    )
    .unwrap_err();
    let m = message(e);
    // The fullest candidates use all 8 PEs; what they broke is named with its level, data
    // space and key.
    assert!(
        m.contains("no legal mapping")
            && m.contains("`split`")
            && m.contains("8 of 8 compute units")
            && m.contains("level `")
            && m.contains("data space `")
            && m.contains("key `"),
        "{m}"
    );
}
