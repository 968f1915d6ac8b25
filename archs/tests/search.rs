//! The mapper's default search against its thorough one on single layers where the default
//! once missed by far: each pins what the heuristic needed to find the thorough result.

use std::path::Path;
use std::sync::Arc;

use snnergy_archs::{
    Chip, ChipConfig, Classical, ClassicalConfig, Effort, HardwareArchitecture, PeMemory, Spatial,
    SpatialConfig, tables,
};
use snnergy_core::Workload;
use snnergy_core::activity::layer_activities;
use snnergy_core::{
    AnalysisSettings, Architecture, EnergyModel, Format, InputCoding, MapRequest, Network,
    NetworkBuilder, Objective, OperatingPoint, Shape,
};
use snnergy_models::{InputSpec, ModelConfig, ResNet, ResNetDepth};

fn resnet18() -> Network {
    ResNet::new(
        ResNetDepth::ResNet18,
        ModelConfig {
            input: InputSpec::Dataset("imagenet".into()),
            ..ModelConfig::default()
        },
    )
    .network()
    .unwrap()
}

/// The best energy (pJ) found for the network's layer `layer`.
fn energy(
    arch: &HardwareArchitecture,
    table: &dyn EnergyModel,
    net: &Network,
    f: &Format,
    layer: &str,
) -> f64 {
    let energy = arch.priced_by(table);
    let point = OperatingPoint::uniform(net, 0.05, 0.45);
    let acts = layer_activities(net, &point, InputCoding::Direct);
    let request = MapRequest {
        network: net,
        format: f,
        activity: &acts,
        anchors: &[],
        warm: None,
        energy: energy.as_ref(),
        objective: Objective::Energy,
    };
    let i = net
        .layers
        .iter()
        .position(|l| l.name == layer)
        .expect("layer");
    let m = arch
        .map_layers(&request)
        .expect("maps")
        .swap_remove(i)
        .expect("mapped");
    m.objective_at(m.mapped_for, snnergy_mapper::Objective::Energy)
        .expect("evaluates")
}

fn ratio(
    build: impl Fn(Effort) -> HardwareArchitecture,
    table: &dyn EnergyModel,
    net: &Network,
    layer: &str,
    format: &Format,
) {
    let default = energy(&build(Effort::Default), table, net, format, layer);
    let thorough = energy(&build(Effort::Thorough), table, net, format, layer);
    assert!(
        default <= thorough * 1.02,
        "{layer}: default {default:.1} pJ, thorough {thorough:.1} pJ"
    );
}

/// VGG16's features.7 (128 → 128 channels, 16 × 16, 3 × 3) on the classical chip: the
/// winning unrolling (C and R on one axis, C on the other: a reduction) fills greedily far
/// worse than the fullest ones; it is refined only as the best of its reuse class.
#[test]
fn the_default_search_refines_the_best_fill_of_every_reuse_class() {
    let mut b = NetworkBuilder::new("features7", Shape::new(128, 16, 16));
    b.conv("features.7", 128, 3, 1, 1, false, None, true)
        .unwrap();
    let net = b.finish().unwrap();
    let build = |effort| {
        Classical::new(ClassicalConfig {
            effort,
            ..ClassicalConfig::default()
        })
        .unwrap()
        .hardware()
        .clone()
    };
    let qnn = AnalysisSettings::default().baseline_format(6);
    ratio(build, &tables::horowitz_45nm(), &net, "features.7", &qnn);
}

/// ResNet18's fc (512 → 1000) on the spatial chip: the fullest column split (K2 × C32) is a
/// local optimum for one-prime moves; K10 × C4, keeping a whole reduction in each PE, is
/// reached by trading C's spatial factor for K's temporal one in one move.
#[test]
fn the_default_search_splits_an_array_axis_otherwise_between_two_dimensions() {
    // The spatial chip sizes each layer's region by the whole network.
    let net = resnet18();

    let table: Arc<dyn EnergyModel> = Arc::new(tables::paper_v1());
    let build = |effort| {
        Spatial::new(SpatialConfig {
            effort,
            weight_memory: PeMemory::Wired,
            state_memory: PeMemory::Sram,
            ..SpatialConfig::default()
        })
        .unwrap()
        .hardware()
        .clone()
    };
    let qnn = AnalysisSettings::default().baseline_format(6);
    ratio(build, table.as_ref(), &net, "fc", &qnn);
}

/// ResNet18's layer2.1.conv1 as an SNN of T = 6 on the shipped output-stationary chip: the
/// time loop belongs innermost (the membrane stays in the PE), but a prime of it (2 or 3)
/// moved alone still streams the membrane: the whole factor moves in one step.
#[test]
fn the_default_search_moves_a_whole_time_loop_innermost() {
    let net = resnet18();
    let build = |effort| {
        let config = ChipConfig {
            chip: "output-stationary".into(),
            effort,
            ..ChipConfig::default()
        };
        Chip::new(config, Path::new("."))
            .unwrap()
            .hardware()
            .clone()
    };
    let snn = AnalysisSettings::default().snn_format(6);
    ratio(
        build,
        &tables::horowitz_45nm(),
        &net,
        "layer2.1.conv1",
        &snn,
    );
}
