//! Clear errors for input the classical, neuromorphic and spatial models cannot map: a mesh
//! or an array too small for the network, bit widths out of range, bad parameters.

use std::path::Path;

use snnergy_archs::{
    Classical, ClassicalConfig, Neuromorphic, NeuromorphicConfig, Spatial, SpatialConfig,
};
use snnergy_core::{
    AnalysisSettings, Architecture, Format, Network, NetworkBuilder, Registry, Shape, Workload,
};
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

    // A classical buffer smaller than a layer's weights is no longer an error: the mapper
    // streams weight tiles through it.

    let spatial = Spatial::new(SpatialConfig {
        weight_capacity_mib: 1.0,
        ..SpatialConfig::default()
    })
    .unwrap();
    let msg = spatial.check(&net, &f).unwrap_err().to_string();
    // The chip cannot hold every layer's weights in place: the error names the largest
    // layer and the parameter that sizes the array.
    assert!(
        msg.contains("features.40") && msg.contains("needs") && msg.contains("pe_array"),
        "{msg}"
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
                let err = arch.check(&net, f).unwrap_err().to_string();
                assert!(err.contains("outside 1..=32"), "{err}");
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
