//! A product of two activations (attention's Q·Kᵀ) mapped through the architecture glue on
//! a chip of one core, its loop nest and operation counts read back and checked by hand.

use snnergy_archs::{Chip, ChipConfig};
use snnergy_core::activity::layer_activities;
use snnergy_core::{
    AnalysisSettings, Architecture, Format, InputCoding, MapRequest, Network, NetworkBuilder,
    OperatingPoint, Shape, Source,
};
use snnergy_mapper::{ComputeOp, Densities, Hardware, MappedLayer};

/// DRAM → one 64 KiB core → one unit that skips zero operands.
fn core_chip() -> Hardware {
    Hardware::from_toml(
        r#"
name = "tiny-core"
[[levels]]
name = "DRAM"
class = "dram"
word_bits = 64
energy = { read_pj = 100.0, write_pj = 100.0 }
network = { multicast = false }
[[levels]]
name = "core"
capacity = "64 KiB"
word_bits = 64
energy = { read_pj = 4.0, write_pj = 4.0 }
[compute]
clock_mhz = 100.0
mac_bits = 8
add_bits = 32
zero_handling = "skip"
energy = { mac_pj = 0.3, add_pj = 0.1 }
"#,
    )
    .unwrap()
}

/// Q and K (8 channels over 4 tokens, two heads of 4), then Q·Kᵀ per head: 2 × 4 × 4 scores
/// of 4 terms each.
fn attention() -> Network {
    let mut b = NetworkBuilder::new("attn", Shape::new(8, 2, 2));
    let q = b.conv("q", 8, 1, 1, 0, false, None, true).unwrap();
    b.set_current(Source::Input);
    let k = b.conv("k", 8, 1, 1, 0, false, None, true).unwrap();
    b.product("qk", [q, k], [2, 4, 4, 4], Shape::new(8, 4, 1), false);
    b.finish().unwrap()
}

/// The mapped product at `format`, with q firing at 0.2 and k at 0.5 (non-zero 0.4 and 0.6
/// in the twin).
fn mapped_product(format: &Format) -> (MappedLayer, Densities) {
    let net = attention();
    let arch = Chip::with_hardware(ChipConfig::default(), core_chip()).unwrap();
    let mut point = OperatingPoint::uniform(&net, 0.2, 0.4);
    point.layers[1].spike_rate = 0.5;
    point.layers[1].nonzero = 0.6;
    let act = layer_activities(&net, &point, InputCoding::Rate);
    let table = snnergy_archs::tables::horowitz_45nm();
    let energy = arch.priced_by(&table);
    let mut layers = arch
        .hardware()
        .map_layers(&MapRequest {
            network: &net,
            format,
            activity: &act,
            anchors: &[],
            warm: None,
            energy: energy.as_ref(),
            objective: snnergy_core::Objective::Energy,
        })
        .unwrap();
    let ml = layers.pop().flatten().unwrap();
    let d = ml.mapped_for;
    (ml, d)
}

/// The product's own operations (multiply-accumulates or synaptic accumulates) at `d`.
fn main_ops(ml: &MappedLayer, d: &Densities) -> (ComputeOp, f64) {
    let o = ml
        .counts
        .ops
        .iter()
        .find(|o| o.what == "multiply-accumulate or synaptic accumulate")
        .unwrap();
    (
        o.op,
        o.count * o.scale.density(d, ml.problem.valid_fraction()),
    )
}

#[test]
fn a_spike_product_folds_its_steps_into_groups_and_accumulates_where_both_operands_fire() {
    let format = AnalysisSettings::default().snn_format(4);
    let (ml, d) = mapped_product(&format);
    let p = &ml.problem;
    // Each of the 4 steps has operands of its own: G = 2 heads × 4 steps, one step each.
    assert_eq!((p.g, p.k, p.c, p.p, p.t, p.n), (8, 4, 4, 4, 1, 1));
    assert!(p.second_operand);
    assert_eq!((p.input_bits, p.weight_bits), (1, 1));
    // Each operand's own rate reaches the mapper (the search's anchor is rounded to 20
    // steps per decade).
    assert!(
        (d.input - 0.2).abs() < 0.01 && (d.weights - 0.5).abs() < 0.01,
        "{d:?}"
    );
    let d = Densities {
        input: 0.2,
        weights: 0.5,
        ..d
    };
    // 2 heads × 4 × 4 scores × 4 terms × 4 steps, an accumulate where both spikes are there.
    let (op, adds) = main_ops(&ml, &d);
    assert_eq!(op, ComputeOp::Add { bits: p.accum_bits });
    assert!(
        (adds - 2.0 * 4.0 * 4.0 * 4.0 * 4.0 * 0.2 * 0.5).abs() < 1e-9,
        "{adds}"
    );
}

#[test]
fn the_twins_product_multiplies_where_both_operands_are_non_zero() {
    let format = AnalysisSettings::default().baseline_format(4);
    let (ml, d) = mapped_product(&format);
    let p = &ml.problem;
    assert_eq!((p.g, p.k, p.c, p.p, p.t), (2, 4, 4, 4, 1));
    assert!(
        (d.input - 0.4).abs() < 0.01 && (d.weights - 0.6).abs() < 0.04,
        "{d:?}"
    );
    let d = Densities {
        input: 0.4,
        weights: 0.6,
        ..d
    };
    let Format::Qnn(q) = &format else {
        panic!("the baseline is a QNN")
    };
    let (op, macs) = main_ops(&ml, &d);
    let bits = q.activation_bits;
    assert_eq!(
        op,
        ComputeOp::Mac {
            weight_bits: bits,
            input_bits: bits
        }
    );
    assert!(
        (macs - 2.0 * 4.0 * 4.0 * 4.0 * 0.4 * 0.6).abs() < 1e-9,
        "{macs}"
    );
}

#[test]
fn the_spatial_array_and_the_neuromorphic_cores_refuse_a_product_by_name() {
    use snnergy_archs::{Neuromorphic, NeuromorphicConfig, Spatial, SpatialConfig};
    let net = attention();
    let format = AnalysisSettings::default().snn_format(4);
    let spatial = Spatial::new(SpatialConfig::default()).unwrap();
    let neuro = Neuromorphic::new(NeuromorphicConfig::default()).unwrap();
    let archs: [(&dyn Architecture, &str); 2] = [
        (&spatial, "weights in the PEs"),
        (&neuro, "weights in their synapse memories"),
    ];
    for (arch, place) in archs {
        let e = arch.check(&net, &format).unwrap_err().to_string();
        assert!(
            e.contains("`qk`") && e.contains("product of two activations") && e.contains(place),
            "{e}"
        );
    }
}
