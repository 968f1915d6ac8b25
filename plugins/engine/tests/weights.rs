//! Weights: PyTorch module names, safetensors round trip, and the errors a user meets.

use snnergy_core::Workload;
use snnergy_engine::model::{Tensor, tensor_specs};
use snnergy_engine::sim::SnnConfig;
use snnergy_engine::{EngineError, Model, run_images};
use snnergy_models::{ModelConfig, ResNet, ResNetDepth, Vgg, VggDepth};

fn write_safetensors(path: &std::path::Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    // Written by hand (8-byte header length, JSON header, little-endian data) so the test
    // checks the engine against the format, not against its own writer.
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (i, (name, shape, values)) in tensors.iter().enumerate() {
        let start = data.len();
        for v in values {
            data.extend_from_slice(&v.to_le_bytes());
        }
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}",
            data.len()
        ));
    }
    header.push('}');
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn every_builtin_workload_builds_as_an_engine_network_with_pytorch_tensor_names() {
    let cfg = ModelConfig::default();
    let nets = [
        Vgg::new(VggDepth::Vgg11, cfg.clone()).network().unwrap(),
        Vgg::new(VggDepth::Vgg13, cfg.clone()).network().unwrap(),
        Vgg::new(VggDepth::Vgg16, cfg.clone()).network().unwrap(),
        Vgg::new(VggDepth::Vgg19, cfg.clone()).network().unwrap(),
        ResNet::new(ResNetDepth::ResNet18, cfg.clone())
            .network()
            .unwrap(),
        ResNet::new(ResNetDepth::ResNet19, cfg.clone())
            .network()
            .unwrap(),
        ResNet::new(ResNetDepth::ResNet20, cfg.clone())
            .network()
            .unwrap(),
        ResNet::new(ResNetDepth::ResNet34, cfg.clone())
            .network()
            .unwrap(),
    ];
    for net in &nets {
        let specs = tensor_specs(net).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert!(!specs.is_empty(), "{}", net.name);
        if net.name.starts_with("vgg") {
            assert!(names.contains(&"features.0.weight"));
            assert!(names.contains(&"features.1.running_var"));
            assert!(names.contains(&"classifier.weight"));
            assert!(names.contains(&"classifier.bias"));
        } else {
            assert!(names.contains(&"conv1.weight"));
            assert!(names.contains(&"bn1.running_mean"));
            assert!(names.contains(&"layer2.0.downsample.0.weight"));
            assert!(names.contains(&"layer2.0.downsample.1.weight"));
        }
    }
    // The smallest of each family runs end to end (random weights, one CIFAR-sized image).
    let x: Vec<f32> = (0..3 * 32 * 32).map(|i| (i % 17) as f32 / 17.0).collect();
    for net in [&nets[0], &nets[6]] {
        let compiled = Model::random(net.clone(), 1).unwrap().compile().unwrap();
        let cfg = SnnConfig {
            timesteps: 2,
            ..SnnConfig::default()
        };
        let counts = run_images(&compiled, &x, &[3], 0, &cfg).unwrap();
        assert_eq!(counts.images, 1);
        assert!(counts.layers.iter().any(|l| l.spikes > 0), "{}", net.name);
    }
    // The ImageNet VGG has biases on its convolutions and no BatchNorm.
    let imagenet = Vgg::new(
        VggDepth::Vgg11,
        ModelConfig {
            input: snnergy_models::InputSpec::Dataset("imagenet".into()),
            ..ModelConfig::default()
        },
    )
    .network()
    .unwrap();
    let names: Vec<String> = tensor_specs(&imagenet)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(names.contains(&"features.0.bias".to_string()));
    assert!(names.contains(&"classifier.6.weight".to_string()));
    assert!(!names.iter().any(|n| n.contains("running_mean")));
}

#[test]
fn weights_survive_a_safetensors_round_trip() {
    let dir = crate::common::temp_dir("roundtrip");
    let model = Model::random(crate::common::small_vgg(), 4).unwrap();
    let path = dir.join("w.safetensors");
    model.save(&path).unwrap();
    let back = Model::load(crate::common::small_vgg(), &path).unwrap();
    assert_eq!(model.params(), back.params());
    assert_eq!(back.param("bn2.running_var").unwrap().shape, vec![16]);
    assert_eq!(
        back.param("fc1.weight").unwrap().shape,
        vec![32, 16 * 7 * 7]
    );
}

#[test]
fn batchnorm_is_folded_into_the_convolution() {
    let net = crate::common::small_vgg();
    let mut model = Model::random(net.clone(), 5).unwrap();
    let c = |v: Vec<f32>| Tensor {
        shape: vec![8],
        data: v,
    };
    model
        .set_param(
            "bn1.weight",
            c((0..8).map(|i| 0.5 + i as f32 * 0.25).collect()),
        )
        .unwrap();
    model
        .set_param(
            "bn1.bias",
            c((0..8).map(|i| i as f32 * 0.1 - 0.3).collect()),
        )
        .unwrap();
    model
        .set_param(
            "bn1.running_mean",
            c((0..8).map(|i| i as f32 * 0.05).collect()),
        )
        .unwrap();
    model
        .set_param(
            "bn1.running_var",
            c((0..8).map(|i| 0.5 + i as f32).collect()),
        )
        .unwrap();
    let compiled = model.compile().unwrap();
    let snnergy_engine::model::Op::Conv(conv) = &compiled.ops[0] else {
        panic!("conv1 compiles to a convolution");
    };
    let w = &model.param("conv1.weight").unwrap().data;
    for o in 0..8 {
        let g = 0.5 + o as f32 * 0.25;
        let s = g / (0.5 + o as f32 + 1e-5).sqrt();
        let expected_b = (0.0 - o as f32 * 0.05) * s + (o as f32 * 0.1 - 0.3);
        assert!((conv.bias[o] - expected_b).abs() < 1e-6);
        for k in 0..9 {
            assert!((conv.w[[o, k]] - w[o * 9 + k] * s).abs() < 1e-6);
        }
    }
}

#[test]
fn weights_of_the_wrong_shape_name_the_tensor_and_both_shapes() {
    let dir = crate::common::temp_dir("shape");
    let path = dir.join("w.safetensors");
    let model = Model::random(crate::common::small_vgg(), 4).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = model
        .params()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.clone(), t.data.clone()))
        .collect();
    let fc = tensors.iter_mut().find(|t| t.0 == "fc1.weight").unwrap();
    fc.1 = vec![16 * 7 * 7, 32];
    let refs: Vec<(&str, Vec<usize>, Vec<f32>)> = tensors
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.clone(), c.clone()))
        .collect();
    write_safetensors(&path, &refs);
    let err = Model::load(crate::common::small_vgg(), &path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::ShapeMismatch { .. }), "{msg}");
    assert!(msg.contains("fc1.weight"), "{msg}");
    assert!(
        msg.contains("[784, 32]") && msg.contains("[32, 784]"),
        "{msg}"
    );
}

#[test]
fn a_missing_tensor_is_named_with_its_layer_and_file() {
    let dir = crate::common::temp_dir("missing");
    let path = dir.join("w.safetensors");
    let model = Model::random(crate::common::small_vgg(), 4).unwrap();
    let tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = model
        .params()
        .iter()
        .filter(|(k, _)| k.as_str() != "bn2.running_mean")
        .map(|(k, t)| (k.as_str(), t.shape.clone(), t.data.clone()))
        .collect();
    write_safetensors(&path, &tensors);
    let msg = Model::load(crate::common::small_vgg(), &path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("bn2.running_mean"), "{msg}");
    assert!(msg.contains("conv2"), "{msg}");
    assert!(msg.contains("w.safetensors"), "{msg}");
}

#[test]
fn nan_in_weights_or_inputs_is_refused() {
    let dir = crate::common::temp_dir("nan");
    let path = dir.join("w.safetensors");
    let model = Model::random(crate::common::small_vgg(), 4).unwrap();
    let tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = model
        .params()
        .iter()
        .map(|(k, t)| {
            let mut d = t.data.clone();
            if k == "conv2.weight" {
                d[17] = f32::NAN;
            }
            (k.as_str(), t.shape.clone(), d)
        })
        .collect();
    write_safetensors(&path, &tensors);
    let msg = Model::load(crate::common::small_vgg(), &path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("conv2.weight") && msg.contains("17"), "{msg}");

    let compiled = model.compile().unwrap();
    let mut x = vec![0.5f32; 2 * 784];
    x[784 + 3] = f32::NAN;
    let msg = run_images(&compiled, &x, &[], 0, &SnnConfig::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("image 1") && msg.contains("NaN"), "{msg}");
}

#[test]
fn zero_time_steps_and_empty_inputs_are_refused() {
    let compiled = Model::random(crate::common::small_vgg(), 4)
        .unwrap()
        .compile()
        .unwrap();
    let cfg = SnnConfig {
        timesteps: 0,
        ..SnnConfig::default()
    };
    let msg = run_images(&compiled, &[0.0; 784], &[], 0, &cfg)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("T = 0"), "{msg}");
    let msg = run_images(&compiled, &[], &[], 0, &SnnConfig::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no images"), "{msg}");
}

#[test]
fn a_file_that_is_not_safetensors_is_named() {
    let dir = crate::common::temp_dir("garbage");
    let path = dir.join("w.safetensors");
    std::fs::write(&path, b"definitely not safetensors").unwrap();
    let msg = Model::load(crate::common::small_vgg(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("w.safetensors") && msg.contains("not a safetensors file"),
        "{msg}"
    );
    let missing = dir.join("absent.safetensors");
    let msg = Model::load(crate::common::small_vgg(), &missing)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("absent.safetensors"), "{msg}");
}

#[test]
fn unsupported_layers_are_named() {
    let mut b =
        snnergy_core::NetworkBuilder::new("bn-after-pool", snnergy_core::Shape::new(1, 4, 4));
    b.pool("pool", false, 2, 2, 0).unwrap();
    b.linear("fc", 2, false, false);
    let mut net = b.finish().unwrap();
    net.layers[0].batchnorm = Some("bn".into());
    let msg = tensor_specs(&net).unwrap_err().to_string();
    assert!(msg.contains("pool") && msg.contains("BatchNorm"), "{msg}");
}

#[test]
fn a_tensor_the_network_does_not_use_is_an_error_not_ignored() {
    // A conv bias in the file where the workload's conv has none (e.g. a CIFAR VGG trained with
    // biased convolutions): ignoring it would silently compute another network.
    let dir = crate::common::temp_dir("extra");
    let path = dir.join("w.safetensors");
    let model = Model::random(crate::common::small_vgg(), 4).unwrap();
    let mut tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = model
        .params()
        .iter()
        .map(|(k, t)| (k.as_str(), t.shape.clone(), t.data.clone()))
        .collect();
    tensors.push(("conv2.bias", vec![16], vec![0.5; 16]));
    tensors.push(("optimizer.step", vec![1], vec![3.0]));
    write_safetensors(&path, &tensors);
    let msg = Model::load(crate::common::small_vgg(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("conv2.bias") && msg.contains("does not use it"),
        "{msg}"
    );
}

#[test]
fn a_batchnorm_the_network_does_not_name_is_an_error_saying_which() {
    // The workload forgot `batchnorm = "bn2"`: running the weights without it would measure
    // another network's spikes.
    let dir = crate::common::temp_dir("forgotten-bn");
    let path = dir.join("w.safetensors");
    Model::random(crate::common::small_vgg(), 5)
        .unwrap()
        .save(&path)
        .unwrap();
    let mut net = crate::common::small_vgg();
    let conv2 = net.layer_index("conv2").unwrap();
    net.layers[conv2].batchnorm = None;
    let msg = Model::load(net, &path).unwrap_err().to_string();
    assert!(
        msg.contains("bn2") && msg.contains("batchnorm = \"bn2\""),
        "{msg}"
    );
}
