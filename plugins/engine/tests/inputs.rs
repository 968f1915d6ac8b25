//! What reaches each weighted layer, as the engine counts it while it runs, against counts made
//! here from the spikes themselves: after average pooling, per synapse (NeuroBench's effective
//! operations), over the T steps, and for the twin.

use snnergy_core::{LayerKind, Network, Source};
use snnergy_engine::sim::{SnnConfig, simulate, twin_forward};
use snnergy_engine::{Compiled, Model};

/// A 2×2, stride-2 average pool of maps of h×w.
fn avg_pool(x: &[f32], h: usize, w: usize) -> Vec<f32> {
    let (ho, wo) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(x.len() / 4);
    for plane in x.chunks_exact(h * w) {
        for i in 0..ho {
            for j in 0..wo {
                let at = |a: usize, b: usize| plane[(2 * i + a) * w + 2 * j + b];
                out.push((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0);
            }
        }
    }
    out
}

/// Weight × input products with a non-zero input, every weight counted (NeuroBench's binary
/// copy of the layer applied to the binarized input), over whole images of the layer's input.
fn nonzero_products(net: &Network, i: usize, x: &[f32]) -> u64 {
    let l = &net.layers[i];
    let (c, h, w) = (l.input.c as i64, l.input.h as i64, l.input.w as i64);
    let per_image = (c * h * w) as usize;
    let on = |img: &[f32], ch: i64, y: i64, xx: i64| -> u64 {
        (y >= 0 && y < h && xx >= 0 && xx < w && img[((ch * h + y) * w + xx) as usize] != 0.0)
            as u64
    };
    let mut total = 0;
    for img in x.chunks_exact(per_image) {
        total += match l.kind {
            LayerKind::Conv2d {
                kernel,
                stride,
                padding,
                ..
            } => {
                let mut per_out_channel = 0;
                for p in 0..l.output.h as i64 {
                    for q in 0..l.output.w as i64 {
                        for ch in 0..c {
                            for r in 0..kernel[0] as i64 {
                                for s in 0..kernel[1] as i64 {
                                    per_out_channel += on(
                                        img,
                                        ch,
                                        p * stride[0] as i64 - padding[0] as i64 + r,
                                        q * stride[1] as i64 - padding[1] as i64 + s,
                                    );
                                }
                            }
                        }
                    }
                }
                per_out_channel * l.output.c as u64
            }
            _ => img.iter().filter(|v| **v != 0.0).count() as u64 * l.output.numel(),
        };
    }
    total
}

fn nonzero(x: &[f32]) -> u64 {
    x.iter().filter(|v| **v != 0.0).count() as u64
}

fn small() -> (Network, Compiled, Vec<f32>, usize) {
    let net = crate::common::small_vgg();
    let compiled = Model::random(net.clone(), 21).unwrap().compile().unwrap();
    let n = 12;
    let x = crate::common::fixture().batch(0..n);
    (net, compiled, x, n)
}

/// The spikes of layer `i` of a one-step run, as values.
fn spike_map(sim: &snnergy_engine::sim::Simulation, i: usize) -> Vec<f32> {
    sim.neuron_spikes[i].iter().map(|s| *s as f32).collect()
}

#[test]
fn the_counted_inputs_after_pooling_equal_the_pooled_spikes_and_their_products() {
    let (net, compiled, x, n) = small();
    // One step: each layer's spike counts are its spike maps.
    let cfg = SnnConfig {
        timesteps: 1,
        ..SnnConfig::default()
    };
    let sim = simulate(&compiled, &x, n, &[], 0, &cfg);
    let twin = twin_forward(&compiled, &x, n, &cfg);
    let conv1 = spike_map(&sim, 0);
    assert!(nonzero(&conv1) > 0, "the random network fires");
    let seen = |layer: &str| -> Vec<f32> {
        let i = net.layer_index(layer).unwrap();
        match net.layers[i].sources[0] {
            Source::Input => x.clone(),
            Source::Layer(j) if net.layers[j].neuron => spike_map(&sim, j),
            Source::Layer(j) => {
                // A pool of a neuron layer's spikes.
                let Source::Layer(k) = net.layers[j].sources[0] else {
                    unreachable!()
                };
                let s = net.layers[k].output;
                avg_pool(&spike_map(&sim, k), s.h as usize, s.w as usize)
            }
        }
    };
    for layer in ["conv1", "conv2", "fc1", "fc2"] {
        let i = net.layer_index(layer).unwrap();
        let c = &sim.counts.layers[i].inputs;
        let values = seen(layer);
        assert_eq!(c.elements * n as u64, values.len() as u64, "{layer}");
        assert_eq!(c.nonzero, nonzero(&values), "{layer}");
        assert_eq!(c.active, nonzero(&values), "{layer}: one step");
        assert_eq!(c.taps, nonzero_products(&net, i, &values), "{layer}");
        assert_eq!(c.synapses, net.layers[i].synapses(), "{layer}");
        let twin_in: &[f32] = match net.layers[i].sources[0] {
            Source::Input => &x,
            Source::Layer(j) => &twin[j],
        };
        assert_eq!(c.twin_nonzero, nonzero(twin_in), "{layer}");
        assert_eq!(c.twin_taps, nonzero_products(&net, i, twin_in), "{layer}");
    }
    // The image's zeros are counted as zeros: a Fashion-MNIST image is about half background.
    let image = &sim.counts.layers[0].inputs;
    let share = image.nonzero as f64 / (image.elements * n as u64) as f64;
    assert!((0.2..0.8).contains(&share), "{share}");
}

#[test]
fn over_several_steps_an_input_is_active_when_its_window_fired_in_some_step() {
    let (net, compiled, x, n) = small();
    let t = 4;
    let cfg = SnnConfig {
        timesteps: t,
        ..SnnConfig::default()
    };
    let sim = simulate(&compiled, &x, n, &[], 0, &cfg);
    let conv2 = net.layer_index("conv2").unwrap();
    let c = &sim.counts.layers[conv2].inputs;
    // The pool of conv1's spike counts is non-zero exactly where a window fired in some step.
    let s = net.layers[0].output;
    let pooled_counts = avg_pool(&spike_map(&sim, 0), s.h as usize, s.w as usize);
    assert_eq!(c.active, nonzero(&pooled_counts));
    // Per step at most every active input, at least one step of each.
    assert!(c.active <= c.nonzero && c.nonzero <= c.active * t as u64);
    // The direct-coded image is the same at every step.
    let image = &sim.counts.layers[0].inputs;
    assert_eq!(image.nonzero, image.active * t as u64);
    assert_eq!(image.taps, nonzero_products(&net, 0, &x) * t as u64);
}
