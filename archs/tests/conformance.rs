//! Every built-in architecture passes the conformance suite on real networks with the price
//! tables it is meant for.

use snnergy_archs::tables;
use snnergy_archs::{PaperV1, PaperV1Config, PaperVariant};
use snnergy_core::conformance::check_architecture;
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
