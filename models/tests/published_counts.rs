//! Shapes checked against the MAC and parameter counts published for these networks
//! (torchvision's model tables, He et al. 2016, Zheng et al. 2021).

use snnergy_core::{Network, Workload};
use snnergy_models::{InputSpec, ModelConfig, ResNet, ResNetDepth, Variant, Vgg, VggDepth};

fn cfg(input: &str) -> ModelConfig {
    ModelConfig {
        input: InputSpec::Dataset(input.into()),
        classes: None,
        variant: Variant::Auto,
    }
}

fn assert_close(what: &str, got: u64, expected: f64, rel: f64) {
    let err = (got as f64 - expected).abs() / expected;
    assert!(
        err <= rel,
        "{what}: got {got}, published {expected} (relative error {err:.4} > {rel})"
    );
}

/// Published MAC counts include the taps on zero padding: compare those with N·F.
fn totals(n: &Network) -> (u64, u64) {
    let dense = n
        .layers
        .iter()
        .filter(|l| l.is_weighted())
        .map(|l| l.dense_synapses())
        .sum();
    (dense, n.totals().parameters)
}

#[test]
fn imagenet_vgg_matches_torchvision_macs_and_parameters() {
    // torchvision: GFLOPS (= GMAC) and parameter counts of vgg11/13/16/19.
    let published = [
        (VggDepth::Vgg11, 7.61e9, 132_863_336.0),
        (VggDepth::Vgg13, 11.31e9, 133_047_848.0),
        (VggDepth::Vgg16, 15.47e9, 138_357_544.0),
        (VggDepth::Vgg19, 19.63e9, 143_667_240.0),
    ];
    for (depth, macs, params) in published {
        let n = Vgg::new(depth, cfg("imagenet")).network().unwrap();
        let (s, p) = totals(&n);
        assert_close(&format!("{} MACs", depth.name()), s, macs, 0.005);
        assert_eq!(p as f64, params, "{} parameters", depth.name());
    }
}

#[test]
fn imagenet_resnets_match_torchvision_macs_and_parameters() {
    let published = [
        (ResNetDepth::ResNet18, 1.81e9, 11_689_512.0),
        (ResNetDepth::ResNet34, 3.66e9, 21_797_672.0),
    ];
    for (depth, macs, params) in published {
        let n = ResNet::new(depth, cfg("imagenet")).network().unwrap();
        let (s, p) = totals(&n);
        assert_close(&format!("{} MACs", depth.name()), s, macs, 0.005);
        assert_eq!(p as f64, params, "{} parameters", depth.name());
    }
}

#[test]
fn cifar_resnet20_has_the_published_size() {
    // He et al. 2016: 0.27 M parameters, about 41 M MACs (option A shortcuts; the projection
    // shortcuts used here add two 1×1 convolutions).
    let n = ResNet::new(ResNetDepth::ResNet20, cfg("cifar10"))
        .network()
        .unwrap();
    let (s, p) = totals(&n);
    assert_close("resnet20 MACs", s, 41.0e6, 0.03);
    assert_close("resnet20 parameters", p, 0.27e6, 0.03);
}

#[test]
fn cifar_vgg16_follows_the_reference_head() {
    let n = Vgg::new(VggDepth::Vgg16, cfg("cifar10")).network().unwrap();
    let last = n.layers.last().unwrap();
    assert_eq!(last.name, "classifier");
    assert_eq!(last.fan_in(), 512);
    assert_eq!(last.output.c, 10);
    assert!(!last.neuron, "the readout has no spiking neuron");
    let pools = n
        .layers
        .iter()
        .filter(|l| l.kind.op_name() == "avgpool")
        .count();
    assert_eq!(pools, 5);
    // 13 conv layers of the CIFAR VGG16 total 313.2 M MACs plus 5120 for the head, of which
    // 247 M reach a real input rather than zero padding.
    assert_eq!(totals(&n).0, 313_201_664);
    assert_eq!(n.totals().synapses, 247_314_176);
}

#[test]
fn cifar_resnet19_matches_its_usual_size() {
    // ResNet19 as in Zheng et al. (AAAI 2021): ≈ 12.6 M parameters, ≈ 2.2 G MACs on CIFAR.
    let n = ResNet::new(ResNetDepth::ResNet19, cfg("cifar10"))
        .network()
        .unwrap();
    let (s, p) = totals(&n);
    assert_close("resnet19 parameters", p, 12.6e6, 0.03);
    assert_close("resnet19 MACs", s, 2.2e9, 0.05);
}

#[test]
fn every_layer_reports_neurons_fan_in_synapses_weights_and_input_size() {
    let n = Vgg::new(VggDepth::Vgg16, cfg("cifar10")).network().unwrap();
    let first = &n.layers[0];
    assert_eq!(first.neurons(), 64 * 32 * 32);
    assert_eq!(first.fan_in(), 27);
    assert_eq!(first.dense_synapses(), 64 * 32 * 32 * 27);
    // Along each axis the 3-tap kernel hangs over the border at both ends: 32·3 − 2 taps.
    assert_eq!(first.synapses(), 64 * 3 * 94 * 94);
    assert_eq!(first.weights(), 64 * 27);
    assert_eq!(first.input_size(), 3 * 32 * 32);
}
