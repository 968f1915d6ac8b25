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

/// Mapped architectures map every network once per format and T: fewer T keep the suite
/// quick, and still cover T = 1, a capacity-matched width change and a long run.
fn mapped_settings(baseline: Baseline) -> AnalysisSettings {
    AnalysisSettings {
        timesteps: vec![1, 4, 16],
        baseline,
        ..AnalysisSettings::default()
    }
}

fn conform(label: &str, arch: &dyn Architecture, energy: &dyn snnergy_core::EnergyModel) {
    for net in &networks() {
        for s in [
            mapped_settings(Baseline::CapacityMatched),
            lif(mapped_settings(Baseline::Ann8)),
        ] {
            check_architecture(label, arch, energy, net, &s).assert_passed();
        }
    }
}

#[test]
fn classical_conforms_on_vgg16_and_resnet18_in_every_time_order_and_pinned() {
    use snnergy_archs::{Classical, ClassicalConfig, Dataflow, DirectInput, TimeOrder, Zeros};
    for (loop_order, dataflow, zero_handling, direct_input) in [
        (
            TimeOrder::LayerMajor,
            Dataflow::Auto,
            Zeros::Skip,
            DirectInput::Once,
        ),
        (
            TimeOrder::TimestepMajor,
            Dataflow::Auto,
            Zeros::Gate,
            DirectInput::EveryStep,
        ),
        (
            TimeOrder::TimeBatched,
            Dataflow::Auto,
            Zeros::Skip,
            DirectInput::Once,
        ),
        (
            TimeOrder::LayerMajor,
            Dataflow::ReuseFree,
            Zeros::Skip,
            DirectInput::Once,
        ),
    ] {
        let arch = Classical::new(ClassicalConfig {
            loop_order,
            dataflow,
            zero_handling,
            direct_input,
            // Small banks so weights stream through the buffer.
            weight_buffer_kib: 64.0,
            activation_buffer_kib: 64.0,
            ..ClassicalConfig::default()
        })
        .unwrap();
        conform(
            &format!("classical {loop_order:?} {dataflow:?}"),
            &arch,
            &tables::horowitz_45nm(),
        );
    }
}

#[test]
fn spatial_conforms_on_vgg16_and_resnet18() {
    use snnergy_archs::{Dataflow, PeMemory, Spatial, SpatialConfig};
    for (weight_memory, state_memory, dataflow, table) in [
        (
            PeMemory::Wired,
            PeMemory::Sram,
            Dataflow::Auto,
            tables::paper_v1(),
        ),
        (
            PeMemory::Wired,
            PeMemory::Sram,
            Dataflow::ReuseFree,
            tables::paper_v1(),
        ),
    ] {
        let arch = Spatial::new(SpatialConfig {
            weight_memory,
            state_memory,
            dataflow,
            ..SpatialConfig::default()
        })
        .unwrap();
        conform(
            &format!("spatial {weight_memory:?} {dataflow:?}"),
            &arch,
            &table,
        );
    }
}

#[test]
fn neuromorphic_conforms_on_vgg16_and_resnet18() {
    use snnergy_archs::{Calibration, Neuromorphic, NeuromorphicConfig};
    for (calibration, multicast) in [(Calibration::Loihi, true), (Calibration::Table, false)] {
        let arch = Neuromorphic::new(NeuromorphicConfig {
            calibration,
            multicast,
            ..NeuromorphicConfig::default()
        })
        .unwrap();
        conform("neuromorphic", &arch, &tables::yan_22nm());
    }
}

#[test]
fn the_shipped_chips_conform_on_vgg16_and_resnet18() {
    use snnergy_archs::{Chip, ChipConfig};
    for chip in ["eyeriss-like", "tpu-like", "output-stationary"] {
        let arch = Chip::new(
            ChipConfig {
                chip: chip.into(),
                ..ChipConfig::default()
            },
            std::path::Path::new("."),
        )
        .unwrap();
        conform(chip, &arch, &tables::horowitz_45nm());
    }
}
