//! SNN dataflows counted by hand through the architecture glue: a 1×1 convolution (K = 4,
//! C = 2, 3 × 3 positions) on a chip of one core, mapped with pinned loop nests, evaluated at
//! a spike rate, its actions read back by place and data space.

use std::sync::Arc;

use snnergy_archs::{Chip, ChipConfig, tables};
use snnergy_core::{
    Access, ActionKind, Actions, AnalysisSettings, Architecture, Category, ComputeOp, EnergyModel,
    Format, LayerActivity, MapRequest, Memory, Network, NetworkBuilder, Place, Shape, map_network,
};
use snnergy_mapper::{
    Constraints, DataSpace::*, Dim::*, Hardware, LevelMapping, Loop, Mapping, SparseFormat,
};

/// DRAM (100 pJ per 64-bit word) → one core (64 KiB, 4 pJ per 64-bit access) → one adder.
fn core_chip(zero: &str) -> Hardware {
    Hardware::from_toml(&format!(
        r#"
name = "tiny-core"
[[levels]]
name = "DRAM"
class = "dram"
word_bits = 64
energy = {{ read_pj = 100.0, write_pj = 100.0 }}
network = {{ multicast = false }}
[[levels]]
name = "core"
capacity = "64 KiB"
word_bits = 64
energy = {{ read_pj = 4.0, write_pj = 4.0 }}
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

/// 2 × 3 × 3 spikes in, a 1×1 convolution to 4 channels, every neuron spiking.
fn net() -> Network {
    let mut b = NetworkBuilder::new("tiny", Shape::new(2, 3, 3));
    b.conv("conv", 4, 1, 1, 0, false, None, true).unwrap();
    b.finish().unwrap()
}

fn lp(dim: snnergy_mapper::Dim, factor: u64) -> Loop {
    Loop { dim, factor }
}

fn level(name: &str, temporal: Vec<Loop>, keep: &[snnergy_mapper::DataSpace]) -> LevelMapping {
    LevelMapping {
        level: name.into(),
        temporal,
        spatial: vec![],
        keep: keep.to_vec(),
        input_format: SparseFormat::Dense,
        output_format: SparseFormat::Dense,
        ..LevelMapping::default()
    }
}

/// The actions of the layer at input spike rate `r` (outputs at `ro`) with `mapping` pinned.
fn actions(zero: &str, mapping: &Mapping, t: u32, r: f64, ro: f64) -> Actions {
    let arch = Chip::with_hardware(
        ChipConfig {
            activations_on_chip: false,
            constraints: Some(Constraints::pin(mapping)),
            ..ChipConfig::default()
        },
        core_chip(zero),
    )
    .unwrap();
    let table: Arc<dyn EnergyModel> = Arc::new(tables::horowitz_45nm());
    let energy = arch.priced_by(table.as_ref());
    let net = net();
    let format = AnalysisSettings::default().snn_format(t);
    let act = [LayerActivity {
        input_rate: r,
        input_nonzero: 0.45,
        output_rate: ro,
        output_nonzero: 0.45,
        analog_input: false,
        source_rate: r,
        source_nonzero: 0.45,
        ..Default::default()
    }];
    let mapped = map_network(
        &arch,
        &MapRequest {
            network: &net,
            format: &format,
            activity: &act,
            anchors: &[],
            warm: None,
            energy: energy.as_ref(),
            objective: Default::default(),
        },
    )
    .unwrap();
    let mut out = vec![Actions::new()];
    mapped.evaluate(&act, &mut out).unwrap();
    for l in mapped.layers() {
        eprintln!("{}", l.loop_nest);
    }
    out.pop().unwrap()
}

/// Σ counts at `place` serving `category` that are reads (or writes) of `bits`-bit accesses.
fn accesses(a: &Actions, place: &str, category: Category, access: Access, bits: u32) -> f64 {
    a.as_slice()
        .iter()
        .filter(|x| {
            x.place == Place::new(place)
                && x.category == category
                && matches!(x.kind, ActionKind::Memory { access: ac, bits: b, .. } if ac == access && b == bits)
        })
        .map(|x| x.count)
        .sum()
}

fn ops(a: &Actions, op: ComputeOp, bits: u32) -> f64 {
    a.as_slice()
        .iter()
        .filter(|x| x.kind == ActionKind::compute(op, bits))
        .map(|x| x.count)
        .sum()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

const ALL: [snnergy_mapper::DataSpace; 5] = [Weights, Inputs, Accum, Membrane, Outputs];

/// Everything in the core, all T steps of a neuron before the next (time-batched by the whole
/// T), each spike scattered to its 4 targets (K innermost).
fn batched(t: u64) -> Mapping {
    Mapping {
        levels: vec![
            level("DRAM", vec![], &[Weights, Inputs, Outputs]),
            level(
                "core",
                vec![lp(T, t), lp(C, 2), lp(P, 3), lp(Q, 3), lp(K, 4)],
                &ALL,
            ),
        ],
    }
}

#[test]
fn event_driven_scatter_reads_a_weight_and_read_modify_writes_a_current_per_synaptic_event() {
    let (t, r, ro) = (6, 0.25, 0.5);
    let a = actions("skip", &batched(t), t as u32, r, ro);
    // 4 · 2 · 9 = 72 synapse slots per step, 432 over 6 steps; a quarter carry a spike.
    let events = 432.0 * r;
    // Per event one 8-bit weight read and one 16-bit current update, one access each (the
    // address depends on which inputs spiked); every update but each current's first in the
    // tile (216 currents) also reads it.
    assert!(close(
        accesses(&a, "core", Category::Weights, Access::Read, 8),
        events
    ));
    assert!(close(
        accesses(&a, "core", Category::PartialSums, Access::Write, 16),
        events
    ));
    assert!(close(
        accesses(&a, "core", Category::PartialSums, Access::Read, 16),
        (432.0 - 216.0) * r
    ));
    // 36 neurons × 6 steps compare; the 36 × 5 steps that follow another add the current
    // to the carried membrane and reset it on a spike (the first step's membrane is the
    // current itself).
    assert!(close(
        ops(&a, ComputeOp::Add, 16),
        events + 180.0 + 180.0 * ro
    ));
    assert!(close(ops(&a, ComputeOp::Compare, 16), 216.0));
    // Per neuron step the finished current is read; per carry the membrane is read and
    // written, 4 per 64-bit word.
    assert!(close(
        accesses(&a, "core", Category::PartialSums, Access::Read, 64),
        216.0 / 4.0
    ));
    assert!(close(
        accesses(&a, "core", Category::Membrane, Access::Read, 64),
        45.0
    ));
    assert!(close(
        accesses(&a, "core", Category::Membrane, Access::Write, 64),
        45.0
    ));
    // Weights (8 bytes) and the spikes of all steps (108 bits) come once from DRAM; the output
    // spikes (216 bits) go back once.
    assert!(close(
        accesses(&a, "DRAM", Category::Weights, Access::Read, 64),
        1.0
    ));
    assert!(close(
        accesses(&a, "DRAM", Category::Activations, Access::Read, 64),
        108.0 / 64.0
    ));
    assert!(close(
        accesses(&a, "DRAM", Category::Outputs, Access::Write, 64),
        216.0 / 64.0
    ));
    // Membranes never leave the core: all of T runs inside it.
    assert_eq!(
        accesses(&a, "DRAM", Category::Membrane, Access::Read, 64),
        0.0
    );
    // Latency: one cycle per event, one per neuron step, at 100 MHz.
    assert!(close(a.latency_ns(), (events + 216.0) * 10.0));
}

#[test]
fn dense_binary_arrays_read_packed_words_and_gating_spends_the_cycles_skipping_saves() {
    let (t, r) = (6, 0.25);
    for zero in ["gate", "none"] {
        let a = actions(zero, &batched(t), t as u32, r, 0.5);
        // Streams, not scatter: 8 weights or 4 currents per 64-bit access; gating saves a
        // word only when every slot it serves is zero, a dense array spends it all.
        let words = |per: i32| {
            if zero == "gate" {
                1.0 - (1.0 - r).powi(per)
            } else {
                1.0
            }
        };
        assert!(close(
            accesses(&a, "core", Category::Weights, Access::Read, 64),
            432.0 * words(8) / 8.0
        ));
        assert!(close(
            accesses(&a, "core", Category::PartialSums, Access::Write, 64),
            432.0 * words(4) / 4.0
        ));
        assert_eq!(
            accesses(&a, "core", Category::Weights, Access::Read, 8),
            0.0
        );
        // Every slot takes its cycle either way.
        assert!(close(a.latency_ns(), (432.0 + 216.0) * 10.0), "{zero}");
    }
}

/// T = 6 tiled 2 at DRAM (outermost) and 3 in the core, with the output channels split in two
/// halves at DRAM inside the outer step loop: the core holds one half's membranes at a time.
fn tiled(t_dram: u64, t_core: u64) -> Mapping {
    Mapping {
        levels: vec![
            level(
                "DRAM",
                vec![lp(T, t_dram), lp(K, 2)],
                &[Weights, Inputs, Membrane, Outputs],
            ),
            level(
                "core",
                vec![lp(T, t_core), lp(C, 2), lp(P, 3), lp(Q, 3), lp(K, 2)],
                &ALL,
            ),
        ],
    }
}

#[test]
fn time_batching_by_2_and_3_moves_membranes_once_per_outer_step_and_half() {
    for (t_dram, t_core) in [(2, 3), (3, 2)] {
        let a = actions("skip", &tiled(t_dram, t_core), 6, 0.25, 0.5);
        // 36 membranes; the core holds one half (18) at a time, so each membrane is resident
        // once per outer step: t_dram residencies, the first not filled (the initial
        // potential is set) and the last not written back (the state is dead after the last
        // step): 36 · (t_dram − 1) each way, 4 per 64-bit word.
        let moves = 36.0 * (t_dram as f64 - 1.0);
        for x in a.as_slice() {
            if x.category == Category::Membrane {
                eprintln!("{t_dram}: {} {} {}", x.place, x.kind, x.count);
            }
        }
        assert!(close(
            accesses(&a, "DRAM", Category::Membrane, Access::Read, 64),
            moves / 4.0
        ));
        assert!(close(
            accesses(&a, "DRAM", Category::Membrane, Access::Write, 64),
            moves / 4.0
        ));
        // Inside the core nothing changes: a read and a write per carry (36 × 5).
        assert!(close(
            accesses(&a, "core", Category::Membrane, Access::Read, 64),
            180.0 / 4.0 + moves / 4.0
        ));
    }
    // All of T in the core moves no membrane; T tiled 2 × 3 moves each once each way;
    // time-step-major (all of T at DRAM, the same loops otherwise) five times.
    let membrane = |m: &Mapping| {
        let a = actions("skip", m, 6, 0.25, 0.5);
        accesses(&a, "DRAM", Category::Membrane, Access::Read, 64)
    };
    assert_eq!(membrane(&batched(6)), 0.0);
    assert!(close(membrane(&tiled(2, 3)), 36.0 / 4.0));
    assert!(close(membrane(&tiled(6, 1)), 5.0 * 36.0 / 4.0));
}

#[test]
fn a_silent_snn_spends_only_time_driven_energy() {
    let a = actions("skip", &batched(6), 6, 0.0, 0.0);
    assert_eq!(
        accesses(&a, "core", Category::Weights, Access::Read, 8),
        0.0
    );
    assert_eq!(
        accesses(&a, "core", Category::PartialSums, Access::Write, 16),
        0.0
    );
    // What remains: per carry the membrane update, per neuron step the compare and reading
    // the current; the dense spike maps moved in and out; the weights fetched once.
    assert!(close(ops(&a, ComputeOp::Add, 16), 180.0));
    assert!(close(ops(&a, ComputeOp::Compare, 16), 216.0));
    assert!(close(a.latency_ns(), 216.0 * 10.0));
}

#[test]
fn the_glue_reports_a_layers_format_as_the_mapper_counts_it() {
    // Same layer, QNN twin with 3-bit activations: a MAC is a multiply and an add.
    let m = Mapping {
        levels: vec![
            level("DRAM", vec![], &[Weights, Inputs, Outputs]),
            level(
                "core",
                vec![lp(C, 2), lp(P, 3), lp(Q, 3), lp(K, 4)],
                &[Weights, Inputs, Accum, Outputs],
            ),
        ],
    };
    let arch = Chip::with_hardware(
        ChipConfig {
            activations_on_chip: false,
            constraints: Some(Constraints::pin(&m)),
            ..ChipConfig::default()
        },
        core_chip("skip"),
    )
    .unwrap();
    let table: Arc<dyn EnergyModel> = Arc::new(tables::horowitz_45nm());
    let energy = arch.priced_by(table.as_ref());
    let net = net();
    let format: Format = AnalysisSettings::default().baseline_format(6);
    let act = [LayerActivity {
        input_rate: 0.1,
        input_nonzero: 0.45,
        output_rate: 0.1,
        output_nonzero: 0.45,
        analog_input: false,
        source_rate: 0.1,
        source_nonzero: 0.45,
        ..Default::default()
    }];
    let mapped = map_network(
        &arch,
        &MapRequest {
            network: &net,
            format: &format,
            activity: &act,
            anchors: &[],
            warm: None,
            energy: energy.as_ref(),
            objective: Default::default(),
        },
    )
    .unwrap();
    let mut out = vec![Actions::new()];
    mapped.evaluate(&act, &mut out).unwrap();
    let a = &out[0];
    // 72 MACs, 45 % of them on a non-zero input: an 8 × 3-bit multiply (24 partial products:
    // 1/9 of a 4-bit and 8/9 of a 5-bit square multiplier) and a 16-bit add.
    assert!(close(ops(a, ComputeOp::Mul, 4), 72.0 * 0.45 / 9.0));
    assert!(close(ops(a, ComputeOp::Mul, 5), 72.0 * 0.45 * 8.0 / 9.0));
    assert!(close(ops(a, ComputeOp::Add, 16), 72.0 * 0.45));
    // Priced by the core's own 4 pJ per access, not the table's SRAM.
    let kind = ActionKind::Memory {
        level: Memory::Sram,
        access: Access::Read,
        bits: 8,
        capacity_bytes: 64 * 1024,
    };
    assert_eq!(energy.price_at(Place::new("core"), &kind).unwrap().pj, 4.0);
}
