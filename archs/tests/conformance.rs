//! Every built-in architecture passes the conformance suite on real networks with the price
//! tables it is meant for.

use snnergy_analysis::conformance::check_architecture;
use snnergy_archs::tables;
use snnergy_archs::{PaperV1, PaperV1Config, PaperVariant};
use snnergy_core::{AnalysisSettings, Architecture, Baseline, Workload};
use snnergy_models::{ModelConfig, ResNet, ResNetDepth, Vgg, VggDepth};

fn settings(baseline: Baseline) -> AnalysisSettings {
    AnalysisSettings {
        timesteps: vec![1, 2, 4, 6, 16],
        baseline,
        ..AnalysisSettings::default()
    }
}

#[test]
fn paper_v1_variants_conform_on_vgg16_and_resnet18() {
    let nets = [
        Vgg::new(VggDepth::Vgg16, ModelConfig::default())
            .network()
            .unwrap(),
        ResNet::new(ResNetDepth::ResNet18, ModelConfig::default())
            .network()
            .unwrap(),
    ];
    for variant in [PaperVariant::Classical, PaperVariant::Spatial] {
        for fanin in ["average", "per-layer"] {
            let arch = PaperV1::new(PaperV1Config {
                variant,
                fanin: snnergy_archs::paper_v1::Quantity::Mode(fanin.into()),
                ..PaperV1Config::default()
            })
            .unwrap();
            for net in &nets {
                for baseline in [Baseline::CapacityMatched, Baseline::Ann8] {
                    check_architecture(
                        &format!("paper-v1 {variant:?} {fanin}"),
                        &arch as &dyn Architecture,
                        &tables::paper_v1(),
                        net,
                        &settings(baseline),
                    )
                    .assert_passed();
                }
            }
        }
    }
}

fn networks() -> [snnergy_core::Network; 2] {
    [
        Vgg::new(VggDepth::Vgg16, ModelConfig::default())
            .network()
            .unwrap(),
        ResNet::new(ResNetDepth::ResNet18, ModelConfig::default())
            .network()
            .unwrap(),
    ]
}

fn lif(mut s: AnalysisSettings) -> AnalysisSettings {
    s.neuron = snnergy_core::NeuronModel::Lif;
    s
}

fn conform(label: &str, arch: &dyn Architecture, energy: &dyn snnergy_core::EnergyModel) {
    for net in &networks() {
        for s in [
            settings(Baseline::CapacityMatched),
            settings(Baseline::Ann8),
            lif(settings(Baseline::CapacityMatched)),
        ] {
            check_architecture(label, arch, energy, net, &s).assert_passed();
        }
    }
}

#[test]
fn classical_conforms_on_vgg16_and_resnet18_in_both_loop_orders() {
    use snnergy_archs::{Classical, ClassicalConfig, DirectInput, LoopOrder};
    for loop_order in [LoopOrder::LayerMajor, LoopOrder::TimestepMajor] {
        for (zero_skipping, direct_input) in
            [(true, DirectInput::Once), (false, DirectInput::EveryStep)]
        {
            let arch = Classical::new(ClassicalConfig {
                loop_order,
                zero_skipping,
                direct_input,
                // Small banks so residency, passes and spills all occur.
                weight_buffer_kib: 64.0,
                activation_buffer_kib: 32.0,
                ..ClassicalConfig::default()
            })
            .unwrap();
            for table in [
                tables::horowitz_45nm(),
                tables::paper_v1(),
                tables::yan_22nm(),
            ] {
                conform(&format!("classical {loop_order:?}"), &arch, &table);
            }
        }
    }
}

#[test]
fn spatial_conforms_on_vgg16_and_resnet18() {
    use snnergy_archs::{LoopOrder, PeMemory, Spatial, SpatialConfig};
    for (weight_memory, state_memory, capacity, loop_order) in [
        (PeMemory::Wired, PeMemory::Sram, 64.0, LoopOrder::LayerMajor),
        (
            PeMemory::Sram,
            PeMemory::Sram,
            4.0,
            LoopOrder::TimestepMajor,
        ),
    ] {
        let arch = Spatial::new(SpatialConfig {
            weight_memory,
            state_memory,
            weight_capacity_mib: capacity,
            loop_order,
            ..SpatialConfig::default()
        })
        .unwrap();
        for table in [tables::paper_v1(), tables::yan_22nm()] {
            conform(&format!("spatial {weight_memory:?}"), &arch, &table);
        }
    }
}

#[test]
fn neuromorphic_conforms_on_vgg16_and_resnet18() {
    use snnergy_archs::{Neuromorphic, NeuromorphicConfig};
    for (weight_sharing, multicast) in [(false, true), (true, false)] {
        let arch = Neuromorphic::new(NeuromorphicConfig {
            weight_sharing,
            multicast,
            ..NeuromorphicConfig::default()
        })
        .unwrap();
        conform("neuromorphic", &arch, &tables::yan_22nm());
    }
}
