//! Exactness of the IF neuron and of the conversion QNN → SNN.

use std::collections::BTreeMap;
use std::path::Path;

use snnergy_core::{NetworkBuilder, Shape};
use snnergy_engine::model::Tensor;
use snnergy_engine::sim::{Coding, NeuronKind, PathChoice, Reset, SnnConfig, simulate};
use snnergy_engine::{Model, run_images};

/// One neuron fed by the input through a weight of 1: its current is the input value.
fn single_neuron() -> snnergy_engine::Compiled {
    let mut b = NetworkBuilder::new("one-neuron", Shape::vector(1));
    b.linear("n", 1, false, true);
    let net = b.finish().unwrap();
    let mut t = BTreeMap::new();
    t.insert(
        "n.weight".to_string(),
        Tensor {
            shape: vec![1, 1],
            data: vec![1.0],
        },
    );
    Model::from_tensors(net, t, Path::new("<test>"))
        .unwrap()
        .compile()
        .unwrap()
}

fn spikes_of(net: &snnergy_engine::Compiled, xs: &[f32], cfg: &SnnConfig) -> Vec<u32> {
    let sim = simulate(net, xs, xs.len(), &[], 0, cfg);
    sim.neuron_spikes[0].clone()
}

#[test]
fn if_neuron_with_constant_current_fires_floor_t_x_over_theta_times_clamped() {
    let net = single_neuron();
    // θ = 1 − 1e-4 (the paper's) on a grid that includes every level k/T, and a dyadic θ on a
    // dyadic grid where every membrane value is exact.
    let cases: [(f32, Vec<f32>); 2] = [
        (1.0 - 1e-4, (-40..=160).map(|i| i as f32 / 97.0).collect()),
        (0.75, (-64..=160).map(|i| i as f32 / 64.0).collect()),
    ];
    for (theta, xs) in cases {
        for t in [1u32, 2, 3, 4, 5, 6, 8, 13, 16] {
            let cfg = SnnConfig {
                timesteps: t,
                threshold: theta,
                ..SnnConfig::default()
            };
            let got = spikes_of(&net, &xs, &cfg);
            for (x, n) in xs.iter().zip(&got) {
                let expected = ((t as f64 * *x as f64 / theta as f64).floor()).clamp(0.0, t as f64);
                assert_eq!(
                    *n as f64, expected,
                    "x = {x}, T = {t}, θ = {theta}: {n} spikes, expected {expected}"
                );
            }
        }
    }
    // Every level k/T itself: the reason for θ just below 1.
    for t in 1..=16u32 {
        let xs: Vec<f32> = (0..=t).map(|k| k as f32 / t as f32).collect();
        let cfg = SnnConfig {
            timesteps: t,
            ..SnnConfig::default()
        };
        let got = spikes_of(&net, &xs, &cfg);
        assert_eq!(got, (0..=t).collect::<Vec<_>>(), "levels k/{t}");
    }
}

#[test]
fn membrane_started_at_half_threshold_fires_the_qcfs_count_of_its_twin() {
    // QCFS: v(0) = θ/2 makes an IF neuron fire ⌊T·x/θ + 1/2⌋ times (clamped to 0..T), and the
    // twin with the same shift quantizes to exactly that.
    let net = single_neuron();
    let xs: Vec<f32> = (-40..=160).map(|i| i as f32 / 97.0).collect();
    for t in [1u32, 2, 4, 6, 8, 16] {
        let cfg = SnnConfig {
            timesteps: t,
            shift: 0.5,
            ..SnnConfig::default()
        };
        let sim = simulate(&net, &xs, xs.len(), &[], 0, &cfg);
        for (x, n) in xs.iter().zip(&sim.neuron_spikes[0]) {
            let theta = cfg.threshold as f64;
            let expected = (t as f64 * *x as f64 / theta + 0.5)
                .floor()
                .clamp(0.0, t as f64);
            assert_eq!(*n as f64, expected, "x = {x}, T = {t}");
        }
        assert_eq!(sim.counts.layers[0].neurons_differing, 0, "T = {t}");
    }
}

#[test]
fn reset_to_zero_discards_the_surplus() {
    let net = single_neuron();
    let cfg = SnnConfig {
        timesteps: 10,
        threshold: 1.0,
        reset: Reset::Zero,
        ..SnnConfig::default()
    };
    // 0.4 per step: membrane 0.4, 0.8, 1.2 → fire and drop to 0; three spikes in 10 steps
    // where reset by subtraction gives ⌊10·0.4⌋ = 4.
    assert_eq!(spikes_of(&net, &[0.4], &cfg), vec![3]);
    let sub = SnnConfig {
        reset: Reset::Subtract,
        ..cfg
    };
    assert_eq!(spikes_of(&net, &[0.4], &sub), vec![4]);
}

#[test]
fn lif_neuron_follows_its_hand_computed_trace() {
    let net = single_neuron();
    for (x, leak, theta, reset) in [
        (0.3f32, 0.5f32, 0.5f32, Reset::Subtract),
        (0.3, 0.9, 1.0, Reset::Subtract),
        (0.7, 0.8, 1.0, Reset::Zero),
        (0.05, 0.5, 0.5, Reset::Subtract),
    ] {
        let t = 12;
        let mut v = 0.0f32;
        let mut expected = 0;
        for _ in 0..t {
            v = leak * v + x;
            if v >= theta {
                expected += 1;
                v = if reset == Reset::Zero { 0.0 } else { v - theta };
            }
        }
        let cfg = SnnConfig {
            timesteps: t,
            threshold: theta,
            neuron: NeuronKind::Lif,
            leak,
            reset,
            ..SnnConfig::default()
        };
        assert_eq!(
            spikes_of(&net, &[x], &cfg),
            vec![expected],
            "x = {x}, leak = {leak}, θ = {theta}, {reset:?}"
        );
    }
    // A leaky neuron below its steady state never fires: x/(1−β) = 0.1 < θ.
    let cfg = SnnConfig {
        timesteps: 50,
        threshold: 0.5,
        neuron: NeuronKind::Lif,
        leak: 0.5,
        ..SnnConfig::default()
    };
    assert_eq!(spikes_of(&net, &[0.05], &cfg), vec![0]);
}

/// One conv layer with BatchNorm (non-trivial statistics) and a linear readout, weights on
/// an 8-bit grid and inputs on multiples of 1/256, so every sum is exact in f32.
fn one_layer_network_with_exact_arithmetic() -> (snnergy_engine::Compiled, Vec<f32>) {
    let mut b = NetworkBuilder::new("one-layer", Shape::new(1, 28, 28));
    b.conv("conv", 6, 3, 1, 1, true, Some("bn".into()), true)
        .unwrap();
    b.linear("fc", 10, true, false);
    let net = b.finish().unwrap();
    let mut model = Model::random(net, 7).unwrap();
    model
        .set_param(
            "bn.weight",
            Tensor {
                shape: vec![6],
                data: vec![1.5, 0.5, 2.0, 1.0, 0.75, 1.25],
            },
        )
        .unwrap();
    model
        .set_param(
            "bn.running_mean",
            Tensor {
                shape: vec![6],
                data: vec![0.1, -0.2, 0.0, 0.3, 0.05, -0.1],
            },
        )
        .unwrap();
    let mut compiled = model.compile().unwrap();
    compiled.round_to_grid(8).unwrap();
    let data = crate::common::fixture().take(64);
    let x: Vec<f32> = data.pixels.iter().map(|p| *p as f32 / 256.0).collect();
    (compiled, x)
}

#[test]
fn converted_one_layer_network_fires_t_times_its_twin_outputs() {
    let (net, x) = one_layer_network_with_exact_arithmetic();
    for theta in [1.0f32, 1.0 - 1.0 / 8192.0] {
        for t in [1u32, 4, 6, 8] {
            let cfg = SnnConfig {
                timesteps: t,
                threshold: theta,
                ..SnnConfig::default()
            };
            let counts = run_images(&net, &x, &[], 0, &cfg).unwrap();
            let conv = &counts.layers[0];
            assert!(conv.spikes > 0, "the test network must fire");
            assert_eq!(
                conv.spikes, conv.twin_spikes,
                "T = {t}, θ = {theta}: spike total vs T × twin outputs"
            );
            assert_eq!(
                conv.neurons_differing, 0,
                "T = {t}, θ = {theta}: every neuron fires T × its twin output"
            );
        }
    }
}

#[test]
fn converted_one_layer_network_in_plain_f32_matches_its_twin_up_to_rounding() {
    // Real weights and pixels: repeated f32 addition in the SNN and T·z/θ in the twin can
    // round to different sides of a level only when T·z/θ is within rounding of an integer.
    let mut b = NetworkBuilder::new("one-layer-f32", Shape::new(1, 28, 28));
    b.conv("conv", 8, 3, 1, 1, false, Some("bn".into()), true)
        .unwrap();
    b.linear("fc", 10, true, false);
    let net = b.finish().unwrap();
    let compiled = Model::random(net, 3).unwrap().compile().unwrap();
    let data = crate::common::fixture();
    let x = data.batch(0..data.len());
    let cfg = SnnConfig::default();
    let counts = run_images(&compiled, &x, &data.labels, 0, &cfg).unwrap();
    let conv = &counts.layers[0];
    let neurons = 8 * 28 * 28 * data.len() as u64;
    assert!(conv.spikes > neurons / 20, "the layer must be active");
    assert!(
        conv.neurons_differing * 100_000 < neurons,
        "{} of {neurons} neurons differ from T × twin",
        conv.neurons_differing
    );
    assert!(conv.abs_deviation <= conv.neurons_differing);
}

#[test]
fn multi_layer_deviation_from_the_twin_is_reported() {
    // conv(1×1, weight 1) → max pool 2×2 → neuron. Pixels 0.5 and 1/3 fire at steps
    // {2, 4, 6} and {3, 6}; max pooling the spikes (OR) passes 4 spikes, max pooling the twin's
    // values passes 0.5, i.e. 3.
    let mut b = NetworkBuilder::new("maxpool-deviation", Shape::new(1, 2, 2));
    b.conv("conv", 1, 1, 1, 0, false, None, true).unwrap();
    b.pool("pool", true, 2, 2, 0).unwrap();
    b.linear("out", 1, false, true);
    let net = b.finish().unwrap();
    let mut t = BTreeMap::new();
    t.insert(
        "conv.weight".to_string(),
        Tensor {
            shape: vec![1, 1, 1, 1],
            data: vec![1.0],
        },
    );
    t.insert(
        "out.weight".to_string(),
        Tensor {
            shape: vec![1, 1],
            data: vec![1.0],
        },
    );
    let net = Model::from_tensors(net, t, Path::new("<test>"))
        .unwrap()
        .compile()
        .unwrap();
    let cfg = SnnConfig {
        timesteps: 6,
        ..SnnConfig::default()
    };
    let counts = run_images(&net, &[0.5, 1.0 / 3.0, 0.0, 0.0], &[], 0, &cfg).unwrap();
    assert_eq!(counts.layers[0].spikes, 5);
    assert_eq!(counts.layers[0].abs_deviation, 0);
    assert_eq!(counts.layers[2].spikes, 4);
    assert_eq!(counts.layers[2].twin_spikes, 3);
    assert_eq!(counts.layers[2].abs_deviation, 1);
    assert_eq!(counts.layers[2].neurons_differing, 1);
    let m = snnergy_engine::Measurement::from_counts(&net, &counts, &cfg);
    let out = m.layers.iter().find(|l| l.name == "out").unwrap();
    assert_eq!(out.mean_abs_deviation, 1.0);
    assert_eq!(out.fraction_differing, 1.0);
}

#[test]
fn sparse_and_dense_paths_give_identical_spikes() {
    let net = crate::common::small_vgg();
    let mut compiled = Model::random(net, 11).unwrap().compile().unwrap();
    compiled.round_to_grid(8).unwrap();
    let data = crate::common::fixture().take(40);
    let x = data.batch(0..data.len());
    for coding in [Coding::Direct, Coding::Rate] {
        for t in [1u32, 6] {
            let run = |path| {
                let cfg = SnnConfig {
                    timesteps: t,
                    coding,
                    path,
                    seed: 5,
                    ..SnnConfig::default()
                };
                simulate(&compiled, &x, data.len(), &data.labels, 0, &cfg)
            };
            let dense = run(PathChoice::Dense);
            let sparse = run(PathChoice::Sparse);
            assert!(dense.counts.layers[0].spikes > 0);
            assert!(sparse.counts.layers[2].sparse_calls > 0);
            assert_eq!(dense.counts.layers[2].sparse_calls, 0);
            assert_eq!(
                dense.neuron_spikes, sparse.neuron_spikes,
                "{coding:?}, T = {t}: per-neuron spike counts"
            );
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&dense.output_membrane),
                bits(&sparse.output_membrane),
                "{coding:?}, T = {t}: output membranes bit for bit"
            );
        }
    }
}

#[test]
fn rate_coding_is_seeded_and_independent_of_chunking() {
    let compiled = Model::random(crate::common::small_vgg(), 2)
        .unwrap()
        .compile()
        .unwrap();
    let data = crate::common::fixture().take(16);
    let x = data.batch(0..16);
    let cfg = SnnConfig {
        timesteps: 4,
        coding: Coding::Rate,
        seed: 9,
        ..SnnConfig::default()
    };
    let whole = simulate(&compiled, &x, 16, &[], 0, &cfg);
    let half = simulate(&compiled, &x[8 * 784..], 8, &[], 8, &cfg);
    let n0 = 8 * 28 * 28 * 8;
    assert_eq!(
        &whole.neuron_spikes[0][8 * 28 * 28 * 8..],
        &half.neuron_spikes[0][..]
    );
    assert_eq!(whole.neuron_spikes[0].len(), 2 * n0);
    // Input rate ≈ mean pixel value.
    let mean: f64 = x.iter().map(|v| *v as f64).sum::<f64>() / x.len() as f64;
    let rate = whole.counts.input_spikes as f64 / (x.len() as f64 * 4.0);
    assert!(
        (rate - mean).abs() < 0.01,
        "input rate {rate} vs mean pixel {mean}"
    );
    let other = simulate(&compiled, &x, 16, &[], 0, &SnnConfig { seed: 10, ..cfg });
    assert_ne!(whole.neuron_spikes[0], other.neuron_spikes[0]);
}

/// The event-driven convolution of `x` gives the dense one's bits, every output written.
fn assert_event_driven_equals_dense(
    op: &snnergy_engine::model::ConvOp,
    x: &[f32],
    n: usize,
    what: &str,
) {
    use snnergy_engine::ops::{Scratch, conv_dense, conv_sparse};
    let len = n * op.output.numel() as usize;
    let (mut dense, mut sparse) = (vec![0.0; len], vec![1.0; len]);
    let mut scratch = Scratch::default();
    conv_dense(op, x, n, &mut dense, &mut scratch);
    conv_sparse(op, x, n, &mut sparse, &mut scratch);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&dense), bits(&sparse), "{what}");
}

#[test]
fn event_driven_convolution_equals_dense_for_every_kernel_stride_and_padding() {
    use snnergy_engine::model::Op;
    use snnergy_engine::rng::SplitMix64;
    let mut g = SplitMix64::new(3);
    for (k, s, p) in [
        (1, 1, 0),
        (3, 1, 1),
        (3, 2, 1),
        (5, 1, 2),
        (5, 2, 0),
        (3, 3, 2),
        (2, 2, 0),
    ] {
        let mut b = NetworkBuilder::new("conv", Shape::new(3, 11, 9));
        b.conv("c", 5, k, s, p, true, None, true).unwrap();
        let net = b.finish().unwrap();
        let mut compiled = Model::random(net, 8).unwrap().compile().unwrap();
        compiled.round_to_grid(8).unwrap();
        let Op::Conv(op) = &compiled.ops[0] else {
            panic!("a convolution")
        };
        let n = 3;
        // Binary spikes at 20 % and pooled-spike values (multiples of 1/4).
        let x: Vec<f32> = (0..n * 3 * 11 * 9)
            .map(|i| {
                let r = g.next_f32();
                if r < 0.2 {
                    if i % 2 == 0 {
                        1.0
                    } else {
                        0.25 * (1 + i % 4) as f32
                    }
                } else {
                    0.0
                }
            })
            .collect();
        assert_event_driven_equals_dense(
            op,
            &x,
            n,
            &format!("kernel {k}, stride {s}, padding {p}"),
        );
    }
}

#[test]
fn event_driven_convolution_equals_dense_for_every_output_channel_block() {
    // The event-driven kernel sums output channels in blocks of 64, 32 and 16 and a tail of
    // fewer; input channels in words of 32. Channel counts that exercise every combination,
    // binary and graded inputs, and a silent image.
    use snnergy_engine::model::Op;
    use snnergy_engine::rng::SplitMix64;
    let mut g = SplitMix64::new(11);
    for (ci, co) in [
        (33, 7),
        (40, 16),
        (3, 24),
        (65, 48),
        (2, 64),
        (5, 90),
        (70, 131),
    ] {
        for graded in [false, true] {
            let mut b = NetworkBuilder::new("conv", Shape::new(ci, 7, 6));
            b.conv("c", co, 3, 1, 1, true, None, true).unwrap();
            let net = b.finish().unwrap();
            let mut compiled = Model::random(net, 12).unwrap().compile().unwrap();
            compiled.round_to_grid(8).unwrap();
            let Op::Conv(op) = &compiled.ops[0] else {
                panic!("a convolution")
            };
            let n = 2;
            let x: Vec<f32> = (0..n * op.input.numel() as usize)
                .map(|_| {
                    let r = g.next_f32();
                    match (r < 0.3, graded) {
                        (false, _) => 0.0,
                        (true, false) => 1.0,
                        (true, true) => 0.25 * (1 + (r * 40.0) as u32 % 4) as f32,
                    }
                })
                .collect();
            // The second image silent: every output is its bias.
            let mut x = x;
            let per = op.input.numel() as usize;
            x[per..].fill(0.0);
            let what = format!("{ci} → {co} channels, graded {graded}");
            assert_event_driven_equals_dense(op, &x, n, &what);
        }
    }
}

#[test]
fn event_driven_convolution_equals_dense_across_accumulator_bands() {
    // Outputs wide and deep enough that the event-driven kernel scatters in several bands of
    // output rows, with events in the rows where bands meet.
    use snnergy_engine::model::Op;
    use snnergy_engine::rng::SplitMix64;
    let mut g = SplitMix64::new(5);
    for (k, s, p) in [(3, 1, 1), (3, 2, 1)] {
        let mut b = NetworkBuilder::new("conv", Shape::new(2, 40, 33));
        b.conv("c", 32, k, s, p, true, None, true).unwrap();
        let net = b.finish().unwrap();
        let mut compiled = Model::random(net, 9).unwrap().compile().unwrap();
        compiled.round_to_grid(8).unwrap();
        let Op::Conv(op) = &compiled.ops[0] else {
            panic!("a convolution")
        };
        let n = 2;
        let x: Vec<f32> = (0..n * 2 * 40 * 33)
            .map(|_| if g.next_f32() < 0.1 { 1.0 } else { 0.0 })
            .collect();
        assert_event_driven_equals_dense(op, &x, n, &format!("stride {s}"));
    }
}
