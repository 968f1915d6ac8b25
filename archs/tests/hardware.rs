//! What the classical, neuromorphic and spatial models compute: residency, loop order,
//! mapping and routing decided from the network, the paper's regime with the v1 prices, and
//! clear errors for input that cannot be mapped.

use std::path::Path;
use std::sync::Arc;

use snnergy_analysis::analysis::analyze;
use snnergy_analysis::{ArchSlot, Uniform, WorkloadSlot};
use snnergy_archs::tables;
use snnergy_archs::{
    Classical, ClassicalConfig, DirectInput, LoopOrder, Neuromorphic, NeuromorphicConfig, PeMemory,
    Spatial, SpatialConfig,
};
use snnergy_core::report::BreakEvenStatus;
use snnergy_core::{
    ActionKind, Actions, AnalysisSettings, Architecture, Format, LayerActivity, Memory, Network,
    NetworkBuilder, Registry, Shape, Workload,
};
use snnergy_core::{Baseline, TwinMode};
use snnergy_models::{ModelConfig, Vgg, VggDepth};

fn vgg16() -> Network {
    Vgg::new(VggDepth::Vgg16, ModelConfig::default())
        .network()
        .unwrap()
}

/// Two 3×3 convolutions of `channels` channels on an 8×8 map, and a readout.
fn small_net(channels: u32) -> Network {
    let mut b = NetworkBuilder::new("small", Shape::new(channels, 8, 8));
    b.conv("conv1", channels, 3, 1, 1, false, None, true)
        .unwrap();
    b.conv("conv2", channels, 3, 1, 1, false, None, true)
        .unwrap();
    b.linear("fc", 10, false, false);
    b.finish().unwrap()
}

fn settings(t: u32) -> AnalysisSettings {
    AnalysisSettings {
        timesteps: vec![t],
        ..AnalysisSettings::default()
    }
}

fn spiking(rate: f64) -> LayerActivity {
    LayerActivity {
        input_rate: rate,
        input_nonzero: 0.45,
        output_rate: rate,
        output_nonzero: 0.45,
        analog_input: false,
        source_rate: rate,
        source_nonzero: 0.45,
    }
}

/// Σ counts of DRAM reads of weights in layer `layer`.
fn dram_reads(arch: &dyn Architecture, net: &Network, layer: usize, f: &Format) -> f64 {
    let mut out = Actions::new();
    arch.evaluate(net, layer, f, &spiking(0.1), &mut out)
        .unwrap();
    out.as_slice()
        .iter()
        .filter(|a| {
            a.category == snnergy_core::Category::Weights
                && matches!(
                    a.kind,
                    ActionKind::Memory {
                        level: Memory::Dram,
                        access: snnergy_core::Access::Read,
                        ..
                    }
                )
        })
        .map(|a| a.count)
        .sum()
}

fn breakeven_sparsity(
    net: &Network,
    arch: impl Architecture + 'static,
    energy: tables::PriceTable,
    baseline: Baseline,
    t: u32,
) -> f64 {
    // The paper's regime: ρ held at 0.45 while the spike rate moves.
    let s = AnalysisSettings {
        timesteps: vec![t],
        baseline,
        sweep_points: 0,
        twin: TwinMode::FixedNonzero,
        ..AnalysisSettings::default()
    };
    let slot = ArchSlot {
        label: "arch".into(),
        type_name: "arch".into(),
        arch: Arc::new(arch),
        energy: Arc::new(energy),
        params: None,
    };
    let w = WorkloadSlot {
        label: net.name.clone(),
        network: net.clone(),
    };
    let report = analyze(&s, &[w], &[slot], &Uniform::default(), Path::new(".")).unwrap();
    let b = &report.breakeven[0];
    assert_eq!(b.status, BreakEvenStatus::Crossing, "{b:?}");
    b.sparsity.unwrap()
}

#[test]
fn v1_prices_put_classical_and_spatial_vgg16_in_the_papers_regime_at_t6() {
    let net = vgg16();
    for baseline in [Baseline::Ann8, Baseline::CapacityMatched] {
        let classical = breakeven_sparsity(
            &net,
            Classical::new(ClassicalConfig::default()).unwrap(),
            tables::paper_v1(),
            baseline,
            6,
        );
        let spatial = breakeven_sparsity(
            &net,
            Spatial::new(SpatialConfig {
                weight_memory: PeMemory::Wired,
                state_memory: PeMemory::Sram,
                ..SpatialConfig::default()
            })
            .unwrap(),
            tables::paper_v1(),
            baseline,
            6,
        );
        for (name, s) in [("classical", classical), ("spatial", spatial)] {
            assert!(
                (0.85..=0.97).contains(&s),
                "{name} vs {baseline:?}: break-even sparsity {s}"
            );
        }
    }
}

#[test]
fn weights_that_fit_the_weight_bank_are_fetched_from_dram_once_per_inference() {
    let net = small_net(64);
    let f = settings(6).snn_format(6);
    let arch = Classical::new(ClassicalConfig::default()).unwrap();
    let w = net.layers[0].weights() as f64;
    // 8-bit weights in 64-bit DRAM words.
    assert_eq!(dram_reads(&arch, &net, 0, &f), w * 8.0 / 64.0);
}

#[test]
fn streamed_weights_need_one_pass_per_fill_of_the_activation_bank() {
    // 256 channels: 590 KB of weights, more than a 64 KiB weight bank.
    let net = small_net(256);
    let w = net.layers[1].weights() as f64;
    let t = 6;
    let f = settings(t).snn_format(t);
    let arch = Classical::new(ClassicalConfig {
        weight_buffer_kib: 64.0,
        activation_buffer_kib: 8.0,
        ..ClassicalConfig::default()
    })
    .unwrap();
    // Layer-major working set: input spikes of all steps (A·T bits) + membranes (N·16 bits).
    let a = net.layers[1].input_size() as f64;
    let n = net.layers[1].neurons() as f64;
    let passes = ((a * t as f64 + n * 16.0) / 8.0 / 8192.0).ceil();
    assert!(passes > 1.0);
    assert_eq!(dram_reads(&arch, &net, 1, &f), passes * w * 8.0 / 64.0);
}

#[test]
fn timestep_major_order_fetches_non_resident_weights_every_step() {
    let net = small_net(256);
    let t = 6;
    let f = settings(t).snn_format(t);
    let config = ClassicalConfig {
        weight_buffer_kib: 64.0,
        activation_buffer_kib: 256.0,
        ..ClassicalConfig::default()
    };
    let layer_major = Classical::new(config.clone()).unwrap();
    let step_major = Classical::new(ClassicalConfig {
        loop_order: LoopOrder::TimestepMajor,
        ..config
    })
    .unwrap();
    let once = dram_reads(&layer_major, &net, 1, &f);
    let every = dram_reads(&step_major, &net, 1, &f);
    assert_eq!(
        every,
        t as f64 * once,
        "layer-major {once}, time-step-major {every}"
    );

    // And the report shows the cost: the SNN costs more, the baseline the same.
    let s = |arch: Classical| {
        let slot = ArchSlot {
            label: "c".into(),
            type_name: "classical".into(),
            arch: Arc::new(arch),
            energy: Arc::new(tables::horowitz_45nm()),
            params: None,
        };
        let w = WorkloadSlot {
            label: "small".into(),
            network: net.clone(),
        };
        let r = analyze(
            &settings(t),
            &[w],
            &[slot],
            &Uniform::default(),
            Path::new("."),
        )
        .unwrap();
        (r.comparisons[0].snn_pj, r.comparisons[0].baseline_pj)
    };
    let (a, b) = (s(layer_major), s(step_major));
    assert!(
        b.0 > a.0,
        "time-step-major SNN {} ≤ layer-major {}",
        b.0,
        a.0
    );
    assert_eq!(a.1, b.1);
}

#[test]
fn timestep_major_spills_membranes_that_do_not_all_fit() {
    let net = small_net(256);
    let f = settings(4).snn_format(4);
    let arch = Classical::new(ClassicalConfig {
        activation_buffer_kib: 16.0,
        loop_order: LoopOrder::TimestepMajor,
        ..ClassicalConfig::default()
    })
    .unwrap();
    let mut out = Actions::new();
    arch.evaluate(&net, 0, &f, &spiking(0.0), &mut out).unwrap();
    let spilled: f64 = out
        .as_slice()
        .iter()
        .filter(|a| {
            a.category == snnergy_core::Category::Membrane
                && matches!(
                    a.kind,
                    ActionKind::Memory {
                        level: Memory::Dram,
                        ..
                    }
                )
        })
        .map(|a| a.count)
        .sum();
    // Read and write of N 16-bit membranes per step, in 64-bit words.
    let n = net.layers[0].neurons() as f64;
    assert_eq!(spilled, 2.0 * n * 4.0 * 16.0 / 64.0);
}

#[test]
fn a_direct_coded_first_layer_computed_once_costs_less_than_every_step() {
    let net = vgg16();
    let t = 6;
    let f = settings(t).snn_format(t);
    let analog = LayerActivity {
        input_rate: 1.0,
        input_nonzero: 1.0,
        output_rate: 0.1,
        output_nonzero: 0.45,
        analog_input: true,
        source_rate: 1.0,
        source_nonzero: 1.0,
    };
    let price = |arch: &dyn Architecture| {
        let mut out = Actions::new();
        arch.evaluate(&net, 0, &f, &analog, &mut out).unwrap();
        let table = tables::horowitz_45nm();
        out.as_slice()
            .iter()
            .map(|a| {
                snnergy_core::EnergyModel::price(&table, &a.kind)
                    .unwrap()
                    .pj
                    * a.count
            })
            .sum::<f64>()
    };
    let once = price(&Classical::new(ClassicalConfig::default()).unwrap());
    let every = price(
        &Classical::new(ClassicalConfig {
            direct_input: DirectInput::EveryStep,
            ..ClassicalConfig::default()
        })
        .unwrap(),
    );
    assert!(once < every / 2.0, "once {once} pJ, every step {every} pJ");
}

#[test]
fn a_network_that_fits_the_spatial_chip_moves_no_weights_per_inference() {
    let net = vgg16();
    let f = settings(6).snn_format(6);
    let fits = Spatial::new(SpatialConfig::default()).unwrap();
    assert_eq!(dram_reads(&fits, &net, 0, &f), 0.0);
    // 4 MiB holds every layer but not VGG16's 14.7 M 8-bit weights: reconfigured per
    // inference, and per step in time-step-major order.
    let small = SpatialConfig {
        weight_capacity_mib: 4.0,
        ..SpatialConfig::default()
    };
    let per_inference = dram_reads(&Spatial::new(small.clone()).unwrap(), &net, 0, &f);
    let per_step = dram_reads(
        &Spatial::new(SpatialConfig {
            loop_order: LoopOrder::TimestepMajor,
            ..small
        })
        .unwrap(),
        &net,
        0,
        &f,
    );
    let w = net.layers[0].weights() as f64;
    assert_eq!(per_inference, w * 8.0 / 64.0);
    assert_eq!(per_step, 6.0 * per_inference);
}

#[test]
fn multicast_routes_a_spike_over_fewer_hops_than_unicast() {
    let net = vgg16();
    let f = settings(6).snn_format(6);
    let hops = |multicast: bool| {
        let arch = Neuromorphic::new(NeuromorphicConfig {
            multicast,
            ..NeuromorphicConfig::default()
        })
        .unwrap();
        let mut out = Actions::new();
        arch.evaluate(&net, 3, &f, &spiking(0.1), &mut out).unwrap();
        out.as_slice()
            .iter()
            .filter(|a| matches!(a.kind, ActionKind::Transfer { .. }))
            .map(|a| a.count)
            .sum::<f64>()
    };
    let (m, u) = (hops(true), hops(false));
    assert!(m > 0.0 && m < u, "multicast {m} hop-packets, unicast {u}");
}

#[test]
fn weight_sharing_packs_a_convolution_onto_fewer_cores() {
    let net = vgg16();
    let f = settings(6).snn_format(6);
    let cores = |weight_sharing: bool| {
        Neuromorphic::new(NeuromorphicConfig {
            weight_sharing,
            ..NeuromorphicConfig::default()
        })
        .unwrap()
        .cores(&net, &f)
        .unwrap()
    };
    assert!(cores(true) < cores(false));
}

#[test]
fn a_mesh_too_small_for_the_network_is_an_error_naming_the_core_count() {
    let net = vgg16();
    let f = settings(6).snn_format(6);
    let arch = Neuromorphic::new(NeuromorphicConfig {
        mesh: Some([4, 4]),
        ..NeuromorphicConfig::default()
    })
    .unwrap();
    let msg = arch.check(&net, &f).unwrap_err().to_string();
    assert!(msg.contains("needs") && msg.contains("4×4"), "{msg}");
    let mut out = Actions::new();
    assert!(arch.evaluate(&net, 0, &f, &spiking(0.1), &mut out).is_err());
}

#[test]
fn a_layer_that_fits_nowhere_is_an_error_naming_the_layer() {
    let net = vgg16();
    let f = settings(6).snn_format(6);
    // 4608 8-bit synapses of a 512-channel 3×3 convolution need 4.5 KiB.
    let neuro = Neuromorphic::new(NeuromorphicConfig {
        synapse_kib: 4.0,
        ..NeuromorphicConfig::default()
    })
    .unwrap();
    let msg = neuro.check(&net, &f).unwrap_err().to_string();
    assert!(
        msg.contains("features.27") && msg.contains("fits nowhere"),
        "{msg}"
    );

    let classical = Classical::new(ClassicalConfig {
        weight_buffer_kib: 2.0,
        ..ClassicalConfig::default()
    })
    .unwrap();
    let msg = classical.check(&net, &f).unwrap_err().to_string();
    assert!(
        msg.contains("fits nowhere") && msg.contains("features."),
        "{msg}"
    );

    let spatial = Spatial::new(SpatialConfig {
        weight_capacity_mib: 1.0,
        ..SpatialConfig::default()
    })
    .unwrap();
    let msg = spatial.check(&net, &f).unwrap_err().to_string();
    assert!(
        msg.contains("fits nowhere") && msg.contains("features.24"),
        "{msg}"
    );
    let mut out = Actions::new();
    assert!(
        spatial
            .evaluate(&net, 10, &f, &spiking(0.1), &mut out)
            .is_err()
    );
}

#[test]
fn bit_widths_of_zero_or_above_32_are_errors_not_nan() {
    let net = small_net(16);
    let archs: Vec<Box<dyn Architecture>> = vec![
        Box::new(Classical::new(ClassicalConfig::default()).unwrap()),
        Box::new(Spatial::new(SpatialConfig::default()).unwrap()),
        Box::new(Neuromorphic::new(NeuromorphicConfig::default()).unwrap()),
    ];
    for bits in [0, 33] {
        let mut snn = settings(4).snn_format(4);
        if let Format::Snn(s) = &mut snn {
            s.membrane_bits = bits;
        }
        let mut qnn = settings(4).baseline_format(4);
        if let Format::Qnn(q) = &mut qnn {
            q.weight_bits = bits;
        }
        for arch in &archs {
            for f in [&snn, &qnn] {
                let mut out = Actions::new();
                let err = arch
                    .evaluate(&net, 0, f, &spiking(0.1), &mut out)
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("outside 1..=32"), "{err}");
                assert!(arch.check(&net, f).is_err());
            }
        }
    }
}

#[test]
fn bad_parameters_are_errors_naming_the_key_and_line() {
    let registry = Registry::builtin().unwrap();
    for (arch, key, value, expect) in [
        ("classical", "weight_buffer_kib", "0", "positive"),
        ("classical", "activation_buffer_kib", "-4", "positive"),
        ("classical", "dram_word_bits", "0", "outside 1..=64"),
        ("neuromorphic", "mesh", "[0, 8]", "zero cores"),
        (
            "neuromorphic",
            "neurons_per_core",
            "0",
            "at least one neuron",
        ),
        ("neuromorphic", "synapse_kib", "0", "positive"),
        ("spatial", "weight_capacity_mib", "0", "positive"),
        (
            "spatial",
            "state_memory",
            "\"wired\"",
            "register or an SRAM",
        ),
    ] {
        let toml = format!(
            "[workload]\ntype = \"vgg16\"\n\n[energy]\ntype = \"yan-22nm\"\n\n[[architecture]]\ntype = \"{arch}\"\n{key} = {value}\n"
        );
        let err =
            snnergy_analysis::Pipeline::from_toml(&toml, Some(Path::new("p.toml")), &registry)
                .unwrap_err()
                .to_string();
        assert!(
            err.contains(&format!("architecture[0].{key}"))
                && err.contains("p.toml:9")
                && err.contains(expect),
            "{arch}.{key} = {value}: {err}"
        );
    }
}
