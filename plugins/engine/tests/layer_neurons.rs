//! Each layer's own neuron (IF, LIF, CubaLIF, a leaky-integrator readout) stepped as its
//! equations say, next to layers of the run's default neuron; sum pooling.

use std::collections::BTreeMap;
use std::path::Path;

use snnergy_core::{LayerNeuron, NetworkBuilder, Neuron, Reset, Shape};
use snnergy_engine::model::Tensor;
use snnergy_engine::sim::{SnnConfig, simulate};
use snnergy_engine::{Compiled, Model};

fn identity(n: usize) -> Tensor {
    let mut data = vec![0.0; n * n];
    for i in 0..n {
        data[i * n + i] = 1.0;
    }
    Tensor {
        shape: vec![n, n],
        data,
    }
}

/// Two identity layers of `n` neurons (so each neuron's current is its input), the first
/// with `first`, then a readout with `readout`.
fn chain(n: usize, first: Option<LayerNeuron>, readout: Option<LayerNeuron>) -> Compiled {
    let mut b = NetworkBuilder::new("chain", Shape::vector(n as u32));
    b.linear("a", n as u32, false, true);
    if let Some(f) = first {
        b.neuron_model(f);
    }
    b.linear("out", n as u32, false, false);
    if let Some(r) = readout {
        b.neuron_model(r);
    }
    let net = b.finish().unwrap();
    let mut t = BTreeMap::new();
    t.insert("a.weight".to_string(), identity(n));
    t.insert("out.weight".to_string(), identity(n));
    Model::from_tensors(net, t, Path::new("<test>"))
        .unwrap()
        .compile()
        .unwrap()
}

/// Spikes of one neuron driven by constant currents, stepped by hand.
fn reference(x: f32, steps: u32, n: &LayerNeuron) -> u32 {
    let theta = n.threshold.unwrap() as f32;
    let (leak, gain) = (n.model.leak() as f32, n.gain as f32);
    let syn = match n.model {
        Neuron::CubaLif { synaptic_leak, .. } => {
            Some((synaptic_leak as f32, n.synaptic_gain as f32))
        }
        _ => None,
    };
    let (mut v, mut i, mut count) = (0.0f32, 0.0f32, 0);
    for _ in 0..steps {
        let current = match syn {
            Some((a, g)) => {
                i = a * i + g * x;
                i
            }
            None => x,
        };
        let u = leak * v + gain * current;
        if u >= theta {
            count += 1;
            v = if n.reset == Some(Reset::Zero) {
                0.0
            } else {
                u - theta
            };
        } else {
            v = u;
        }
    }
    count
}

fn neuron(model: Neuron, threshold: f64, reset: Reset, gain: f64) -> LayerNeuron {
    LayerNeuron {
        threshold: Some(threshold),
        reset: Some(reset),
        gain,
        ..LayerNeuron::new(model)
    }
}

#[test]
fn a_layer_of_its_own_lif_or_cuba_lif_fires_as_its_equations_step() {
    let xs: Vec<f32> = (0..48).map(|i| i as f32 / 16.0 - 0.5).collect();
    let cases = [
        neuron(Neuron::Lif { leak: 0.5 }, 0.75, Reset::Zero, 2.0),
        neuron(Neuron::Lif { leak: 0.875 }, 1.25, Reset::Subtract, 0.5),
        LayerNeuron {
            synaptic_gain: 0.25,
            ..neuron(
                Neuron::CubaLif {
                    leak: 0.75,
                    synaptic_leak: 0.5,
                },
                1.0,
                Reset::Zero,
                1.0,
            )
        },
    ];
    for n in cases {
        let net = chain(xs.len(), Some(n.clone()), None);
        for t in [1u32, 3, 8] {
            // The run's own neuron is IF with θ 0.9999: the layer's overrides it.
            let sim = simulate(
                &net,
                &xs,
                1,
                &[],
                0,
                &SnnConfig {
                    timesteps: t,
                    ..SnnConfig::default()
                },
            );
            let want: Vec<u32> = xs.iter().map(|x| reference(*x, t, &n)).collect();
            assert_eq!(sim.neuron_spikes[0], want, "{n:?} at T = {t}");
        }
    }
}

#[test]
fn a_leaky_integrator_readout_ends_at_its_decayed_membrane() {
    let xs = [1.0f32, 0.5, -0.25, 2.0];
    let readout = LayerNeuron {
        gain: 0.5,
        ..LayerNeuron::new(Neuron::Li { leak: 0.5 })
    };
    // The readout alone, so it sees the input itself.
    let mut b = NetworkBuilder::new("li", Shape::vector(4));
    b.linear("out", 4, false, false);
    b.neuron_model(readout);
    let net = b.finish().unwrap();
    let mut t = BTreeMap::new();
    t.insert("out.weight".to_string(), identity(4));
    let net = Model::from_tensors(net, t, Path::new("<test>"))
        .unwrap()
        .compile()
        .unwrap();
    let steps = 4;
    let sim = simulate(
        &net,
        &xs,
        1,
        &[],
        0,
        &SnnConfig {
            timesteps: steps,
            ..SnnConfig::default()
        },
    );
    for (x, m) in xs.iter().zip(&sim.output_membrane) {
        let mut v = 0.0f32;
        for _ in 0..steps {
            v = 0.5 * v + 0.5 * x;
        }
        assert_eq!(*m, v, "input {x}");
    }
}

#[test]
fn a_sum_pool_forwards_four_times_what_an_average_pool_does() {
    let run = |sum: bool| {
        let mut b = NetworkBuilder::new("pool", Shape::new(1, 4, 4));
        b.pool("p", false, 2, 2, 0).unwrap();
        if sum {
            b.sum_pool().unwrap();
        }
        b.linear("out", 4, false, false);
        let net = b.finish().unwrap();
        let mut t = BTreeMap::new();
        t.insert("out.weight".to_string(), identity(4));
        let net = Model::from_tensors(net, t, Path::new("<test>"))
            .unwrap()
            .compile()
            .unwrap();
        let x: Vec<f32> = (0..16).map(|i| (i % 3) as f32).collect();
        simulate(
            &net,
            &x,
            1,
            &[],
            0,
            &SnnConfig {
                timesteps: 1,
                ..SnnConfig::default()
            },
        )
        .output_membrane
    };
    let (sum, avg) = (run(true), run(false));
    assert_eq!(sum, avg.iter().map(|v| 4.0 * v).collect::<Vec<_>>());
}
