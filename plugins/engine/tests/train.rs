//! Training on the committed fixture: gradients of whole networks against finite differences,
//! the loss falling, each regularizer lowering what it penalizes, checkpoints that reload and
//! resume exactly, and bad input.

use std::path::{Path, PathBuf};

use snnergy_core::{
    BuildContext, Network, NetworkBuilder, Registry, RegularizedLayer, Regularizer, Shape,
};
use snnergy_engine::Model;
use snnergy_engine::model::Role;
use snnergy_engine::rng::SplitMix64;
use snnergy_engine::sim::{SnnConfig, simulate, twin_forward};
use snnergy_engine::train::{self, TrainConfig, Trainer, checkpoint, init_model};
use snnergy_regularizers::{ActivationL1, EnergyAware, EnergyAwareConfig, WeightGram, WeightL2};

fn config(extra: &str) -> TrainConfig {
    let t: toml::Table = toml::from_str(&format!("checkpoint = \"unused\"\n{extra}")).unwrap();
    TrainConfig::from_table(&t).unwrap()
}

fn registry() -> Registry {
    // Name an item of each built-in crate so their registrations are linked in.
    let _ = snnergy_archs::tables::builtin("paper-v1");
    let _ = snnergy_models::InputSpec::default();
    let _ = snnergy_regularizers::ActivationL1::default();
    Registry::builtin().unwrap()
}

/// A network with everything the trainer handles: BatchNorm, a residual add, max pooling, a
/// strided convolution with a bias, average pooling and two linear layers.
fn residual_net() -> Network {
    let mut b = NetworkBuilder::new("residual", Shape::new(1, 8, 8));
    let c1 = b
        .conv("c1", 3, 3, 1, 1, false, Some("b1".into()), true)
        .unwrap();
    let c2 = b
        .conv("c2", 3, 3, 1, 1, false, Some("b2".into()), false)
        .unwrap();
    b.add("r1", &[c1, c2]).unwrap();
    b.pool("p1", true, 2, 2, 0).unwrap();
    b.conv("c3", 4, 3, 2, 1, true, None, true).unwrap();
    b.pool("p2", false, 2, 2, 0).unwrap();
    b.linear("fc1", 6, true, true);
    b.linear("fc2", 5, true, false);
    b.finish().unwrap()
}

fn random_batch(n: usize, len: usize, classes: u8, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut g = SplitMix64::new(seed);
    let x = (0..n * len).map(|_| g.uniform(0.0, 1.0)).collect();
    let y = (0..n)
        .map(|_| (g.next_u64() % classes as u64) as u8)
        .collect();
    (x, y)
}

#[test]
fn network_gradients_match_finite_differences() {
    // With the quantizer replaced by the identity the loss is smooth, so every hand-written
    // backward pass (BatchNorm in training mode, residual add, pooling, strided convolution,
    // flatten, linear, cross-entropy) is checked end to end.
    let net = residual_net();
    let model = init_model(net, 3).unwrap();
    let mut t = Trainer::new(&model, &config(""), 6, Vec::new()).unwrap();
    t.set_identity_quantizer(true);
    let (x, y) = random_batch(5, 64, 5, 7);
    t.gradients(&x, &y).unwrap();
    let slots: Vec<(usize, String, Vec<f32>, Vec<f32>)> = t
        .slots()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.trained())
        .map(|(i, s)| (i, s.name.clone(), s.value.clone(), s.grad.clone()))
        .collect();
    let h = 2e-3f32;
    let mut checked = 0;
    for (i, name, value, grad) in slots {
        for k in (0..value.len()).step_by(value.len().div_ceil(5).max(1)) {
            t.value_mut(i)[k] = value[k] + h;
            let lp = t.gradients(&x, &y).unwrap().loss;
            t.value_mut(i)[k] = value[k] - h;
            let lm = t.gradients(&x, &y).unwrap().loss;
            t.value_mut(i)[k] = value[k];
            let numeric = (lp - lm) / (2.0 * h as f64);
            let a = grad[k] as f64;
            assert!(
                (numeric - a).abs() <= 1e-3 + 3e-2 * numeric.abs(),
                "{name}[{k}]: analytic {a}, numeric {numeric}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} entries checked");
}

#[test]
fn gradients_reach_the_quantizers_straight_through() {
    // With Q_T on, the straight-through estimator still passes gradient to every layer.
    let model = init_model(residual_net(), 1).unwrap();
    let mut t = Trainer::new(&model, &config(""), 4, Vec::new()).unwrap();
    let (x, y) = random_batch(6, 64, 5, 2);
    t.gradients(&x, &y).unwrap();
    for s in t.slots().iter().filter(|s| s.role == Role::Weight) {
        assert!(
            s.grad.iter().any(|g| *g != 0.0),
            "no gradient reaches {}",
            s.name
        );
    }
}

/// `steps` Adam steps on the fixture's first 200 images in batches of 50, same seed and
/// order every time.
fn train_on_fixture(regularizers: Vec<Box<dyn Regularizer>>, steps: usize) -> Trainer {
    let data = crate::common::fixture();
    let model = init_model(crate::common::small_vgg(), 0).unwrap();
    let mut t = Trainer::new(&model, &config("lr = 3e-3"), 6, regularizers).unwrap();
    for s in 0..steps {
        let a = (s % 4) * 50;
        t.step(&data.batch(a..a + 50), &data.labels[a..a + 50], 3e-3)
            .unwrap();
    }
    t
}

fn fixture_loss(t: &mut Trainer) -> f64 {
    let data = crate::common::fixture();
    t.gradients(&data.batch(200..300), &data.labels[200..300])
        .unwrap()
        .loss
}

#[test]
fn training_on_the_fixture_lowers_the_loss() {
    let mut t0 = train_on_fixture(Vec::new(), 0);
    let before = fixture_loss(&mut t0);
    let mut t = train_on_fixture(Vec::new(), 24);
    let after = fixture_loss(&mut t);
    // Loss on 100 images the steps never saw.
    assert!(
        after < 0.75 * before,
        "loss {before:.4} before, {after:.4} after 24 steps"
    );
}

/// Mean quantized activation (the SNN's expected spike rate) and the energy-weighted sum of
/// activations per image, on images the training never saw.
fn activity(t: &mut Trainer, layer_weights: &[f64]) -> (f64, f64) {
    let data = crate::common::fixture();
    let n = 100;
    let outs = t
        .activations(&data.batch(200..300), &data.labels[200..300])
        .unwrap();
    let net = t.network().clone();
    let (mut sum, mut neurons, mut weighted) = (0.0, 0.0, 0.0);
    for (i, l) in net.layers.iter().enumerate() {
        if !l.neuron {
            continue;
        }
        let s: f64 = outs[i].iter().map(|v| *v as f64).sum();
        sum += s;
        neurons += l.neurons() as f64 * n as f64;
        weighted += layer_weights[i] * s / n as f64;
    }
    (sum / neurons, weighted)
}

fn weight_measure(t: &Trainer, r: &dyn Regularizer) -> f64 {
    let net = t.network().clone();
    t.slots()
        .iter()
        .filter(|s| s.role == Role::Weight)
        .map(|s| {
            let layer = RegularizedLayer {
                network: &net,
                index: s.layer,
                timesteps: 6,
            };
            r.weight_penalty(&layer, &s.value, &s.shape, &mut vec![0.0; s.value.len()])
        })
        .sum()
}

#[test]
fn each_regularizer_lowers_what_it_penalizes() {
    let steps = 16;
    let net = crate::common::small_vgg();
    let registry = registry();
    let energy = || {
        let mut e = EnergyAware::new(
            EnergyAwareConfig {
                weight: 1e-4,
                ..EnergyAwareConfig::default()
            },
            &BuildContext::new(&registry),
        )
        .unwrap();
        e.prepare(&net, 6).unwrap();
        e
    };
    let layer_weights = energy().layer_weights().to_vec();
    assert!(layer_weights.iter().any(|w| *w > 0.0));

    let mut plain = train_on_fixture(Vec::new(), steps);
    let (rate0, weighted0) = activity(&mut plain, &layer_weights);

    let mut l1 = train_on_fixture(vec![Box::new(ActivationL1 { weight: 1e-4 })], steps);
    let (rate1, _) = activity(&mut l1, &layer_weights);
    assert!(
        rate1 < 0.8 * rate0,
        "activation-l1: spike rate {rate1:.4} against {rate0:.4} without"
    );

    let mut ea = train_on_fixture(vec![Box::new(energy())], steps);
    let (_, weighted1) = activity(&mut ea, &layer_weights);
    assert!(
        weighted1 < 0.8 * weighted0,
        "energy-aware: energy-weighted activity {weighted1:.2} against {weighted0:.2} without"
    );

    let l2 = WeightL2 { weight: 0.5 };
    let with = train_on_fixture(vec![Box::new(l2.clone())], steps);
    let (a, b) = (weight_measure(&with, &l2), weight_measure(&plain, &l2));
    assert!(
        a < 0.9 * b,
        "weight-l2: Σw² term {a:.4} against {b:.4} without"
    );

    let gram = WeightGram {
        weight: 0.05,
        c: 1.0,
    };
    let with = train_on_fixture(vec![Box::new(gram.clone())], steps);
    let (a, b) = (weight_measure(&with, &gram), weight_measure(&plain, &gram));
    assert!(
        a < 0.9 * b,
        "weight-gram: ‖WᵀW − cI‖² term {a:.4} against {b:.4} without"
    );
}

#[test]
fn a_saved_checkpoint_loads_into_the_engine_with_identical_outputs() {
    let t = train_on_fixture(Vec::new(), 4);
    let dir = crate::common::temp_dir("checkpoint-outputs");
    let path = dir.join("ckpt.safetensors");
    checkpoint::save(&path, &t, false).unwrap();
    let loaded = Model::load(crate::common::small_vgg(), &path)
        .unwrap()
        .compile()
        .unwrap();
    let direct = t.model().unwrap().compile().unwrap();
    let data = crate::common::fixture();
    let x = data.batch(0..40);
    let cfg = SnnConfig {
        shift: 0.5,
        ..SnnConfig::default()
    };
    assert_eq!(
        twin_forward(&loaded, &x, 40, &cfg),
        twin_forward(&direct, &x, 40, &cfg)
    );
    let a = simulate(&loaded, &x, 40, &data.labels[..40], 0, &cfg);
    let b = simulate(&direct, &x, 40, &data.labels[..40], 0, &cfg);
    assert_eq!(a.neuron_spikes, b.neuron_spikes);
    assert_eq!(a.output_membrane, b.output_membrane);
}

/// The fixture as a data folder with both splits (the training split is the same 300 images).
fn fixture_with_both_splits(name: &str) -> PathBuf {
    let dir = crate::common::temp_dir(name);
    for (from, to) in [
        ("t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"),
        ("t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"),
        ("t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ] {
        std::fs::copy(crate::common::fixture_dir().join(from), dir.join(to)).unwrap();
    }
    dir
}

fn run_config(dir: &Path, epochs: u32, resume: bool, optimizer: &str) -> TrainConfig {
    config(&format!(
        "data = \"{}\"\nsamples = 200\ntest_samples = 100\nbatch = 50\nepochs = {epochs}\nresume = {resume}\noptimizer = \"{optimizer}\"\nlr = 0.02\nschedule = \"step\"\nstep_size = 1\ngamma = 0.5\nwarmup_epochs = 0.5\ncrop_padding = 2\nflip = true\nseed = 5\nshift = 0.5",
        dir.display()
    ))
}

fn tensors(path: &Path) -> std::collections::BTreeMap<String, snnergy_engine::model::Tensor> {
    snnergy_engine::model::read_tensors(path).unwrap().0
}

#[test]
fn a_resumed_run_continues_exactly_as_the_uninterrupted_run() {
    let dir = fixture_with_both_splits("resume");
    for optimizer in ["sgd", "adamw"] {
        let run = |epochs, resume, ckpt: &str| {
            let mut cfg = run_config(&dir, epochs, resume, optimizer);
            cfg.checkpoint = dir.join(ckpt);
            train::run(
                &cfg,
                crate::common::small_vgg(),
                6,
                Vec::new(),
                &dir,
                |_, _, _, _| {},
                |_| {},
            )
            .unwrap()
        };
        let straight = run(2, false, "straight.safetensors");
        assert_eq!(straight.history.len(), 2);
        run(1, false, "resumed.safetensors");
        let resumed = run(2, true, "resumed.safetensors");
        assert_eq!(resumed.history.len(), 1, "only the second epoch is left");
        let (a, b) = (
            tensors(&dir.join("straight.safetensors")),
            tensors(&dir.join("resumed.safetensors")),
        );
        assert!(a.keys().any(|k| k.starts_with("optimizer.")));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, t) in &a {
            assert!(t == &b[k], "{optimizer}: tensor {k} differs");
        }
        let (x, y) = (&straight.history[1], &resumed.history[0]);
        assert_eq!(
            (
                x.loss,
                x.train_accuracy,
                x.spike_rate,
                x.test_accuracy,
                x.lr
            ),
            (
                y.loss,
                y.train_accuracy,
                y.spike_rate,
                y.test_accuracy,
                y.lr
            )
        );
    }
}

#[test]
fn a_checkpoint_of_another_network_is_refused_naming_the_tensor() {
    let dir = fixture_with_both_splits("other-network");
    let mut cfg = run_config(&dir, 1, false, "adam");
    cfg.checkpoint = dir.join("ckpt.safetensors");
    train::run(
        &cfg,
        crate::common::small_vgg(),
        6,
        Vec::new(),
        &dir,
        |_, _, _, _| {},
        |_| {},
    )
    .unwrap();
    // The same layer names, but conv2 has 12 channels instead of 16.
    let mut b = NetworkBuilder::new("small-vgg-12", Shape::new(1, 28, 28));
    b.conv("conv1", 8, 3, 1, 1, false, Some("bn1".into()), true)
        .unwrap();
    b.pool("pool1", false, 2, 2, 0).unwrap();
    b.conv("conv2", 12, 3, 1, 1, false, Some("bn2".into()), true)
        .unwrap();
    b.pool("pool2", false, 2, 2, 0).unwrap();
    b.linear("fc1", 32, true, true);
    b.linear("fc2", 10, true, false);
    let other = b.finish().unwrap();
    cfg.resume = true;
    cfg.epochs = 2;
    let err = checkpoint::resume(&cfg.checkpoint, other.clone(), &cfg, 6, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("conv2.weight"), "{err}");
    // Loaded as initial weights, the same.
    let err = Model::load(other, &cfg.checkpoint).unwrap_err().to_string();
    assert!(err.contains("conv2.weight"), "{err}");
    // Resuming with another optimizer than the one whose state the checkpoint holds.
    let mut sgd = run_config(&dir, 2, true, "sgd");
    sgd.checkpoint = cfg.checkpoint.clone();
    let err = checkpoint::resume(
        &sgd.checkpoint,
        crate::common::small_vgg(),
        &sgd,
        6,
        Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`adam`") && err.contains("`sgd`"), "{err}");
}

#[test]
fn bad_training_settings_are_refused_with_their_key() {
    let err = |toml: &str| {
        let t: toml::Table = toml::from_str(&format!("checkpoint = \"c\"\n{toml}")).unwrap();
        TrainConfig::from_table(&t).unwrap_err()
    };
    let e = err("optimizer = \"adan\"");
    assert_eq!(e.key.as_deref(), Some("optimizer"));
    assert!(
        e.message.contains("adan") && e.message.contains("adam"),
        "{}",
        e.message
    );
    let e = err("lr = nan");
    assert_eq!(e.key.as_deref(), Some("lr"));
    assert!(e.message.contains("NaN"), "{}", e.message);
    assert_eq!(err("lr = -0.1").key.as_deref(), Some("lr"));
    assert_eq!(err("shift = 1.0").key.as_deref(), Some("shift"));
    assert_eq!(err("batch = 1").key.as_deref(), Some("batch"));
    assert_eq!(err("epochs = 0").key.as_deref(), Some("epochs"));
    assert_eq!(err("betas = [0.9, 1.5]").key.as_deref(), Some("betas[1]"));
    let e = err("learning_rate = 0.1");
    assert_eq!(e.key.as_deref(), Some("learning_rate"));
    assert!(e.message.contains("`lr`"), "{}", e.message);

    // A negative regularizer weight, through the registry.
    let t: toml::Table = toml::from_str(
        "checkpoint = \"c\"\n[[regularizer]]\ntype = \"activation-l1\"\nweight = 1e-6\n[[regularizer]]\ntype = \"weight-l2\"\nweight = -0.05",
    )
    .unwrap();
    let cfg = TrainConfig::from_table(&t).unwrap();
    let e = cfg
        .regularizers(
            &BuildContext::new(&registry()),
            &crate::common::small_vgg(),
            6,
        )
        .unwrap_err();
    assert_eq!(e.key.as_deref(), Some("regularizer[1].weight"));
    assert!(e.message.contains("-0.05"), "{}", e.message);
}

#[test]
fn labels_outside_the_outputs_are_refused() {
    let model = init_model(residual_net(), 1).unwrap();
    let mut t = Trainer::new(&model, &config(""), 6, Vec::new()).unwrap();
    let (x, _) = random_batch(3, 64, 5, 2);
    let err = t.step(&x, &[0, 7, 1], 0.01).unwrap_err().to_string();
    assert!(err.contains("label 7"), "{err}");
}

#[test]
fn data_of_another_shape_is_refused() {
    let dir = fixture_with_both_splits("shape");
    let mut cfg = run_config(&dir, 1, false, "adam");
    cfg.checkpoint = dir.join("ckpt.safetensors");
    let err = train::run(
        &cfg,
        residual_net(),
        6,
        Vec::new(),
        &dir,
        |_, _, _, _| {},
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("1×8×8") || err.contains("28×28"), "{err}");
}

#[test]
fn training_gives_the_same_weights_bit_for_bit_on_one_thread_and_on_three() {
    // Batch 37: more than two convolution groups, with a partial last one, so the weight
    // gradients are summed over groups that the threads compute in different orders.
    let (x, y) = random_batch(37, 64, 5, 11);
    let train_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let model = init_model(residual_net(), 3).unwrap();
            let mut t =
                Trainer::new(&model, &config("optimizer = \"adam\""), 4, Vec::new()).unwrap();
            for _ in 0..3 {
                t.step(&x, &y, 1e-2).unwrap();
            }
            t.slots()
                .iter()
                .map(|s| s.value.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(train_on(1), train_on(3));
}
