//! What whole-chip descriptions need beyond one accelerator: banks shared by several data
//! spaces, data spaces resident below the outermost level, backing copies that cost nothing,
//! networks priced per message and streams another layer pays for.

use crate::common::*;
use DataSpace::*;
use Dim::*;
use snnergy_mapper::*;

/// A pricing that says which bank each access goes to: 1 pJ per access, plus 1000 pJ when the
/// data space lives in a bank of more than 64 words (so the bank shows in the energy).
struct ByBank;

impl Pricing for ByBank {
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        _: AccessOp,
        _: u32,
    ) -> Result<f64, MapperError> {
        let big = level
            .capacity_for(ds)
            .is_some_and(|b| b > 64 * level.word_bits as u128);
        Ok(if big { 1001.0 } else { 1.0 })
    }
    fn compute_pj(&self, _: &Compute, _: ComputeOp) -> Result<f64, MapperError> {
        Ok(0.0)
    }
    fn hop_pj(&self, _: &Level, _: u32) -> Result<f64, MapperError> {
        Ok(0.0)
    }
}

fn banked() -> Hardware {
    let mut hw = chip([1, 1], true, false);
    hw.levels[1].capacity = Some(Capacity::Banks(vec![
        Bank {
            name: None,
            holds: vec![Weights],
            size: Size::Text("256 words".into()),
            class: None,
            energy: None,
        },
        Bank {
            name: None,
            holds: vec![Inputs, Accum, Outputs, Membrane],
            size: Size::Text("16 words".into()),
            class: None,
            energy: None,
        },
    ]));
    hw.validate().unwrap();
    hw
}

#[test]
fn a_bank_shared_by_several_data_spaces_bounds_their_sum_and_prices_each_by_its_bank() {
    let hw = banked();
    let p = qnn("conv", 2, 1, 2, 1, 1, 1);
    // Buffer keeps the whole layer: 2 weights, 2 inputs, 4 partial sums, 4 outputs = 10
    // activation-bank words of 16.
    let all = [Weights, Inputs, Accum, Outputs];
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![], vec![], &all),
            level("buffer", vec![lp(K, 2), lp(P, 2)], vec![], &all),
            level("reg", vec![], vec![], &[]),
        ],
    };
    let r = evaluate(&p, &hw, &m, dense(), &ByBank).unwrap();
    let e = r.evaluate(dense()).unwrap();
    let buffer = &e.levels[1];
    let w = buffer
        .spaces
        .iter()
        .find(|s| s.data_space == Weights)
        .unwrap();
    let i = buffer
        .spaces
        .iter()
        .find(|s| s.data_space == Inputs)
        .unwrap();
    assert_eq!(w.energy_pj, 1001.0 * (w.read_accesses + w.write_accesses));
    assert_eq!(i.energy_pj, i.read_accesses + i.write_accesses);

    // 5 inputs, 20 partial sums and 20 outputs do not fit 16 words, though weights have room
    // to spare.
    let p = qnn("wide", 4, 1, 5, 1, 1, 1);
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![], vec![], &all),
            level("buffer", vec![lp(K, 4), lp(P, 5)], vec![], &all),
            level("reg", vec![], vec![], &[]),
        ],
    };
    let err = evaluate(&p, &hw, &m, dense(), &ByBank)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`buffer`") && err.contains("wide"), "{err}");
}

#[test]
fn a_data_space_two_banks_claim_is_an_error_naming_the_key() {
    let mut hw = banked();
    if let Some(Capacity::Banks(b)) = &mut hw.levels[1].capacity {
        b[1].holds.push(Weights);
    }
    let err = hw.validate().unwrap_err().to_string();
    assert!(
        err.contains("capacity[1].holds") && err.contains("two banks"),
        "{err}"
    );
}

#[test]
fn a_loop_above_every_level_keeping_a_data_space_is_illegal() {
    // Weights resident in the buffer only: a K loop at DRAM would need weights from nowhere.
    let hw = chip([1, 1], true, false);
    let p = qnn("resident", 4, 2, 2, 1, 1, 1);
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![lp(K, 2)], vec![], &[Inputs, Outputs]),
            level(
                "buffer",
                vec![lp(K, 2), lp(C, 2), lp(P, 2)],
                vec![],
                &[Weights, Inputs, Accum, Outputs],
            ),
            level("reg", vec![], vec![], &[]),
        ],
    };
    let err = evaluate(&p, &hw, &m, dense(), &OwnPrices)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`DRAM`") && err.contains("`weights`") && err.contains("nowhere"),
        "{err}"
    );
    // A loop over a dimension weights do not depend on is fine: they stay put.
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![lp(P, 2)], vec![], &[Inputs, Outputs]),
            level(
                "buffer",
                vec![lp(K, 4), lp(C, 2)],
                vec![],
                &[Weights, Inputs, Accum, Outputs],
            ),
            level("reg", vec![], vec![], &[]),
        ],
    };
    let r = evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap();
    let dram_weights: f64 = r
        .counts
        .accesses
        .iter()
        .filter(|a| a.level == 0 && a.data_space == Weights)
        .map(|a| a.elements)
        .sum();
    assert_eq!(dram_weights, 0.0);
}

#[test]
fn a_free_backing_copy_is_not_read_but_its_fills_and_drains_below_still_count() {
    let hw = chip([1, 1], true, false);
    let all = [Weights, Inputs, Accum, Outputs];
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![], vec![], &all),
            level("buffer", vec![lp(K, 2), lp(C, 2), lp(P, 3)], vec![], &all),
            level("reg", vec![], vec![], &[]),
        ],
    };
    let p = qnn("layer", 2, 2, 3, 1, 1, 1);
    let paid = evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap();
    let mut free = p.clone();
    free.free_backing = vec![Inputs, Outputs];
    let freed = evaluate(&free, &hw, &m, dense(), &OwnPrices).unwrap();
    let at = |r: &MappedLayer, l: usize, ds: DataSpace| -> f64 {
        r.counts
            .accesses
            .iter()
            .filter(|a| a.level == l && a.data_space == ds)
            .map(|a| a.elements)
            .sum()
    };
    assert_eq!(at(&paid, 0, Inputs), 6.0);
    assert_eq!(at(&paid, 0, Outputs), 6.0);
    assert_eq!(at(&freed, 0, Inputs), 0.0);
    assert_eq!(at(&freed, 0, Outputs), 0.0);
    assert_eq!(at(&freed, 1, Inputs), at(&paid, 1, Inputs));
    assert_eq!(at(&freed, 0, Weights), at(&paid, 0, Weights));
}

/// DRAM → a core fed over a network priced per message (20 pJ per transfer of up to 64 bits,
/// whatever its width), spikes sent as address events.
fn messages(carries_outputs: bool) -> Hardware {
    let carries = if carries_outputs {
        String::new()
    } else {
        ", carries = [\"inputs\", \"weights\"]".into()
    };
    Hardware::from_toml(&format!(
        r#"
name = "links"
[[levels]]
name = "stream"
word_bits = 64
holds = ["inputs", "outputs"]
energy = {{ read_pj = 0.0, write_pj = 0.0 }}
formats = [{{ type = "aer", header_bits = 8.0, address_bits = 16 }}]
network = {{ multicast = false, hop_pj_per_bit = "table", class = "link"{carries} }}
[[levels]]
name = "core"
capacity = "64 KiB"
word_bits = 64
holds = ["weights", "inputs", "accum", "membrane", "outputs"]
energy = {{ read_pj = 0.0, write_pj = 0.0 }}
formats = [{{ type = "dense" }}, {{ type = "aer", header_bits = 8.0, address_bits = 16 }}]
[compute]
clock_mhz = 100.0
mac_bits = 8
add_bits = 32
zero_handling = "skip"
energy = {{ mac_pj = 0.0, add_pj = 0.0 }}
"#
    ))
    .unwrap()
}

/// 20 pJ per transfer of up to 64 bits on the stream's network, nothing else.
struct PerMessage;

impl Pricing for PerMessage {
    fn access_pj(&self, _: &Level, _: DataSpace, _: AccessOp, _: u32) -> Result<f64, MapperError> {
        Ok(0.0)
    }
    fn compute_pj(&self, _: &Compute, _: ComputeOp) -> Result<f64, MapperError> {
        Ok(0.0)
    }
    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError> {
        Ok(if level.name == "stream" {
            20.0 * bits.div_ceil(64) as f64
        } else {
            0.0
        })
    }
}

#[test]
fn address_events_on_a_network_priced_per_message_cost_one_price_per_event() {
    let p = qnn("snn", 2, 2, 4, 1, 1, 1).into_snn(3, 16);
    let aer = SparseFormat::Aer {
        header_bits: 8.0,
        address_bits: Some(16),
    };
    // Time-step-major: T outermost; neurons stay in the core (membranes are kept nowhere
    // above it, so no loop over K, P or Q may lie above it).
    let mut stream = level("stream", vec![lp(T, 3)], vec![], &[Inputs, Outputs]);
    stream.input_format = aer.clone();
    stream.output_format = aer.clone();
    // Spikes leave the core as events: a stream moves in its source's format.
    let mut core = level(
        "core",
        vec![lp(K, 2), lp(C, 2), lp(P, 4)],
        vec![],
        &[Weights, Inputs, Accum, Membrane, Outputs],
    );
    core.output_format = aer;
    let m = Mapping {
        levels: vec![stream, core],
    };
    let hw = messages(true);
    let r = evaluate(&p, &hw, &m, Densities::uniform(0.25), &PerMessage).unwrap();
    let e = r.evaluate(Densities::uniform(0.25)).unwrap();
    // Inputs: 2 channels × 4 positions × 3 steps = 24 elements sent once each, a quarter of
    // them spikes: 6 events of 24 bits, 20 pJ each. Outputs: 2 × 4 × 3 = 24, 6 events.
    assert_eq!(e.levels[0].network_pj, (6.0 + 6.0) * 20.0);
    // Outputs left to the next layer's network cost nothing here.
    let r = evaluate(
        &p,
        &messages(false),
        &m,
        Densities::uniform(0.25),
        &PerMessage,
    )
    .unwrap();
    let e = r.evaluate(Densities::uniform(0.25)).unwrap();
    assert_eq!(e.levels[0].network_pj, 6.0 * 20.0);
}

#[test]
fn the_values_idealization_moves_only_non_zero_values_and_no_spikes() {
    let f = SparseFormat::Values;
    assert_eq!(f.bits_per_element(8.0, false, 0.25, 100.0), (2.0, 0.0));
    assert_eq!(f.bits_per_element(1.0, true, 0.25, 100.0), (0.0, 0.0));
    assert_eq!(f.messages_per_element(8.0, false, 0.25, 100.0), (0.25, 8.0));
}

#[test]
fn an_outermost_constraint_puts_t_outside_every_other_loop_of_its_level() {
    // A buffer too small for the whole layer forces loops at DRAM; T must stay outermost.
    let mut hw = chip([1, 1], true, false);
    hw.levels[1].capacity = Some(Capacity::Shared(Size::Text("48 words".into())));
    let p = qnn("snn", 8, 4, 4, 1, 1, 1).into_snn(4, 16);
    let options = SearchOptions {
        constraints: Constraints {
            levels: vec![LevelConstraint {
                level: "DRAM".into(),
                temporal_factors: [(T, 4)].into_iter().collect(),
                outermost: Some("T".into()),
                ..LevelConstraint::default()
            }],
        },
        ..SearchOptions::default()
    };
    let r = map(&p, &hw, Densities::uniform(0.1), &OwnPrices, &options).unwrap();
    let dram = &r.mapping.levels[0].temporal;
    assert_eq!(
        dram.first().map(|l| (l.dim, l.factor)),
        Some((T, 4)),
        "{dram:?}"
    );
    assert!(
        dram.len() > 1,
        "the layer should not fit the buffer: {dram:?}"
    );
}
