//! The counts the field already reports, next to the energy: synaptic operations, effective
//! accumulates and multiply-accumulates, activation sparsity (as NeuroBench defines them: Yik
//! et al., "The NeuroBench framework for benchmarking neuromorphic computing algorithms and
//! systems", Nature Communications 2025), and the memory accesses per level each architecture
//! counted. They let a reader check snnergy's numbers against other tools and papers, which
//! report operations, not picojoules.
//!
//! The counts are a function of the network and the activity. The accesses per level are
//! tallied by the analysis from the very actions it prices ([`NetworkEnergy::accesses`]), so
//! no architecture is evaluated twice. The records are [`Metrics`] in the report's data model.
//!
//! [`NetworkEnergy::accesses`]: crate::NetworkEnergy::accesses
//!
//! Definitions (per inference, i.e. one sample, summed over the T steps of the SNN):
//!
//! - **Dense SynOps**: every weight × activation product a layer computes, zeros included.
//!   Taps that fall on zero padding are not connections and are not counted.
//! - **Effective SynOps**: the products whose activation is non-zero. Those whose activation
//!   is binary (spikes) are **effective ACs** (an accumulate suffices), the others
//!   **effective MACs**. NeuroBench decides per layer from the values it receives: spikes
//!   straight from neurons (or through max pooling) are binary; an analog image, the sum of a
//!   residual add and average-pooled spikes are not.
//! - **Activation sparsity**: the fraction of neuron outputs that are zero, over all neuron
//!   layers, steps and samples: 1 − the neuron-weighted mean spike rate (SNN), 1 − the
//!   neuron-weighted mean non-zero fraction (baseline).
//!
//! Where the activity measured what arrives at a weighted layer (the engine, a profile from
//! `snnergy.torch.record`), the effective operations are counted from the measurement: the
//! fraction of the layer's synapses whose input is non-zero, per step, which is NeuroBench's
//! count exactly (each input weighted by the synapses it feeds, so padding is accounted for).
//! Otherwise rates are per layer, not per value, and the non-zero fraction after pooling k×k
//! values of non-zero fraction d is estimated as 1 − (1 − d)^(k·k) (independent values), an
//! over-estimate for spikes positively correlated in space, and a direct-coded image is taken
//! as dense. Every weight is taken as non-zero (NeuroBench skips zero weights; snnergy's
//! analytic path never sees weight values). A direct-coded first layer is counted once, as the
//! energy counts it (the image is the same at every step, so its products are done once and
//! the current re-used); NeuroBench, running the model step by step, counts it T times: its
//! totals are these plus (T − 1) times the first layer's.
//!
//! Whether a layer receives spikes follows from the network here (after an average pool or a
//! residual add its values are graded), where NeuroBench looks at the values of each call: a
//! residual sum in which no two spikes coincide at some step holds only 0 and 1 there, and
//! NeuroBench counts that step's products as ACs, snnergy as MACs (the SynOps agree).
//!
//! snnergy's hardware models price average-pooled spikes differently from these counts: after
//! an average pool NeuroBench counts one MAC per non-zero pooled value, while the event-driven
//! models forward every input spike through the window as an accumulate (a comparison's
//! `input_spike_rate`, r·k events per element for k inputs per window).

use snnergy_core::activity::{LayerActivity, LayerRates, OperatingPoint, layer_activities};
use snnergy_core::format::Format;
use snnergy_core::network::{InputCoding, Layer, LayerKind, Network, Source};
use snnergy_core::report::{FormatMetrics, LayerMetrics, Metrics};
use snnergy_core::settings::AnalysisSettings;

/// Weight × activation connections of one pass of `layer` (0 for layers without weights):
/// its synapses, which count only the taps that land on the input, not on padding. A product
/// of two activations counts its products (activation × activation).
pub fn connections(layer: &Layer) -> u64 {
    if layer.is_weighted() || layer.is_product() {
        layer.synapses()
    } else {
        0
    }
}

/// What the values leaving a layer look like in one format.
#[derive(Clone, Copy, Debug)]
struct Values {
    density: f64,
    binary: bool,
}

fn pooled(v: Values, kernel: u32, keeps_binary: bool) -> Values {
    let k2 = (kernel as f64) * (kernel as f64);
    Values {
        density: 1.0 - (1.0 - v.density).powf(k2),
        binary: v.binary && (keeps_binary || kernel == 1),
    }
}

/// Per layer, the values it emits in the SNN (`snn = true`) or the baseline, following the
/// wiring from the network input.
fn emitted(
    network: &Network,
    point: &OperatingPoint,
    coding: InputCoding,
    snn: bool,
    baseline_binary: bool,
) -> (Values, Vec<Values>) {
    let input = match (snn, coding) {
        (_, InputCoding::Direct) => Values {
            density: 1.0,
            binary: false,
        },
        (true, InputCoding::Rate) => Values {
            density: point.input.spike_rate,
            binary: true,
        },
        (false, InputCoding::Rate) => Values {
            density: point.input.nonzero,
            binary: baseline_binary,
        },
    };
    let mut out: Vec<Values> = Vec::with_capacity(network.layers.len());
    for (i, l) in network.layers.iter().enumerate() {
        let src = |s: &Source| match *s {
            Source::Input => input,
            Source::Layer(j) => out[j],
        };
        let first = l.sources.first().map(src).unwrap_or(input);
        let v = if l.neuron {
            let r = &point.layers[i];
            Values {
                density: if snn { r.spike_rate } else { r.nonzero },
                binary: snn || baseline_binary,
            }
        } else {
            match &l.kind {
                LayerKind::Conv2d { .. } | LayerKind::Linear => Values {
                    density: 1.0,
                    binary: false,
                },
                LayerKind::AvgPool { kernel, .. } => pooled(first, *kernel, false),
                LayerKind::MaxPool { kernel, .. } => pooled(first, *kernel, true),
                // Non-zero where any term is, a term where both operands are; a mask of two
                // spike tensors is spikes again.
                LayerKind::Product { depth, .. } => {
                    let (a, b) = (first, l.sources.get(1).map(src).unwrap_or(input));
                    Values {
                        density: 1.0 - (1.0 - a.density * b.density).powf(*depth as f64),
                        binary: *depth == 1 && a.binary && b.binary,
                    }
                }
                LayerKind::Add => Values {
                    density: 1.0
                        - l.sources
                            .iter()
                            .map(|s| 1.0 - src(s).density)
                            .product::<f64>(),
                    binary: false,
                },
            }
        };
        out.push(v);
    }
    (input, out)
}

/// What a product of two activations' operations see, from its first operand `a`: both
/// operands at once (an operation where both are non-zero; an accumulate where either is a
/// spike, which selects the other).
fn with_second(l: &Layer, a: Values, input: Values, out: &[Values]) -> Values {
    let b = match l.sources.get(1) {
        Some(Source::Layer(j)) => out[*j],
        _ => input,
    };
    Values {
        density: a.density * b.density,
        binary: a.binary || b.binary,
    }
}

fn layer_input(l: &Layer, input: Values, out: &[Values]) -> Values {
    match l.sources.first() {
        Some(Source::Layer(j)) => out[*j],
        _ => input,
    }
}

fn mean_over_neurons(network: &Network, f: impl Fn(usize) -> f64) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for (i, l) in network.layers.iter().enumerate() {
        if l.neuron {
            sum += l.neurons() as f64 * f(i);
            n += l.neurons() as f64;
        }
    }
    if n > 0.0 { sum / n } else { 0.0 }
}

/// The operation counts and sparsity of `network` at `timesteps` and `point`. The accesses
/// per architecture come from the analysis, which counts every architecture's actions anyway
/// (they are left empty here).
pub fn operations(
    settings: &AnalysisSettings,
    workload: &str,
    network: &Network,
    timesteps: u32,
    point: &OperatingPoint,
) -> Metrics {
    let coding = settings.input_coding;
    let t = timesteps as f64;
    let baseline_format = settings.baseline_format(timesteps);
    // A 1-bit baseline's activations are binary too: its products are accumulates.
    let baseline_binary = matches!(&baseline_format, Format::Qnn(q) if q.activation_bits == 1);
    let (snn_in, snn_out) = emitted(network, point, coding, true, false);
    let (base_in, base_out) = emitted(network, point, coding, false, baseline_binary);
    let acts = layer_activities(network, point, coding);
    let mut snn = FormatMetrics::default();
    let mut baseline = FormatMetrics::default();
    let mut layers = Vec::new();
    for (i, l) in network
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_weighted() || l.is_product())
    {
        let c = connections(l) as f64;
        let mut s = layer_input(l, snn_in, &snn_out);
        let mut b = layer_input(l, base_in, &base_out);
        let a = &acts[i];
        let measured = measured_input(point, i, a, &mut s, &mut b);
        // A product's operations need both its operands.
        if l.is_product() {
            s = with_second(l, s, snn_in, &snn_out);
            b = with_second(l, b, base_in, &base_out);
        }
        // The analog image is the same at every step: its products are done once, as every
        // shipped architecture prices them (`direct_input = "once"`), so the table and the
        // energy count the same work.
        let steps = if a.analog_input && coding == InputCoding::Direct {
            1.0
        } else {
            t
        };
        let snn_ops = add(&mut snn, c * steps, c * s.density * steps, s.binary);
        let base_ops = add(&mut baseline, c, c * b.density, b.binary);
        layers.push(LayerMetrics {
            layer: l.name.clone(),
            connections: c,
            snn_binary_input: s.binary,
            snn_input_density: s.density,
            baseline_input_density: b.density,
            snn_synops: snn_ops,
            baseline_synops: base_ops,
            measured_input: measured,
        });
    }
    for m in [&mut snn, &mut baseline] {
        m.synops = m.effective_macs + m.effective_acs;
    }
    snn.activation_sparsity = 1.0 - mean_over_neurons(network, |i| point.layers[i].spike_rate);
    baseline.activation_sparsity = 1.0 - mean_over_neurons(network, |i| point.layers[i].nonzero);
    Metrics {
        workload: workload.to_string(),
        operating_point: point.label.clone(),
        timesteps,
        snn,
        baseline,
        layers,
        accesses: Vec::new(),
    }
}

/// Replaces the estimated input densities of layer `i` with a measurement at `point` (moved
/// along with its sources, as the architectures see it); whether there was one.
fn measured_input(
    point: &OperatingPoint,
    i: usize,
    a: &LayerActivity,
    s: &mut Values,
    b: &mut Values,
) -> bool {
    let source = LayerRates {
        spike_rate: a.source_rate,
        nonzero: a.source_nonzero,
    };
    let Some(m) = point
        .inputs
        .get(i)
        .copied()
        .flatten()
        .and_then(|m| m.moved(source, a.analog_input))
    else {
        return false;
    };
    s.density = m.synapse_density.unwrap_or(m.density);
    let twin = m.synapse_nonzero.or(m.nonzero);
    b.density = match twin {
        Some(v) => v,
        // The twin reads the same image.
        None if a.analog_input => s.density,
        None => b.density,
    };
    true
}

/// Counts `dense` synaptic operations into `m`, of which `ops` are done, as accumulates when
/// the inputs are `binary`; returns the operations done.
fn add(m: &mut FormatMetrics, dense: f64, ops: f64, binary: bool) -> f64 {
    m.dense_synops += dense;
    if binary {
        m.effective_acs += ops;
    } else {
        m.effective_macs += ops;
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnergy_core::network::{NetworkBuilder, Shape};

    fn two_layer() -> Network {
        let mut b = NetworkBuilder::new("n", Shape::new(1, 4, 4));
        b.conv("c1", 2, 3, 1, 1, false, None, true).unwrap();
        b.pool("p", false, 2, 2, 0).unwrap();
        b.linear("fc", 3, false, false);
        b.finish().unwrap()
    }

    #[test]
    fn padding_taps_are_not_connections() {
        // A 3×3 kernel with padding 1 over 4 positions reaches 2 + 3 + 3 + 2 inputs.
        let net = two_layer();
        assert_eq!(connections(&net.layers[0]), 10 * 10 * 2);
        assert_eq!(connections(&net.layers[2]), net.layers[2].synapses());
        assert_eq!(connections(&net.layers[1]), 0);
    }

    #[test]
    fn spikes_through_average_pooling_count_as_macs_and_direct_input_as_macs_once() {
        let net = two_layer();
        let point = OperatingPoint::uniform(&net, 0.1, 0.4);
        let settings = AnalysisSettings::default();
        let m = operations(&settings, "n", &net, 4, &point);
        let c1 = connections(&net.layers[0]) as f64;
        let fc = connections(&net.layers[2]) as f64;
        let pooled = |d: f64| 1.0 - (1.0f64 - d).powi(4);
        assert_eq!(m.snn.effective_acs, 0.0);
        let expected = c1 + fc * pooled(0.1) * 4.0;
        assert!((m.snn.effective_macs - expected).abs() < 1e-9 * expected);
        assert_eq!(m.snn.dense_synops, c1 + fc * 4.0);
        assert!((m.baseline.effective_macs - (c1 + fc * pooled(0.4))).abs() < 1e-9);
        assert!((m.snn.activation_sparsity - 0.9).abs() < 1e-12);
        assert!((m.baseline.activation_sparsity - 0.6).abs() < 1e-12);
    }

    #[test]
    fn spikes_straight_from_neurons_are_accumulates() {
        let mut b = NetworkBuilder::new("n", Shape::new(1, 4, 4));
        b.conv("c1", 2, 3, 1, 1, false, None, true).unwrap();
        b.conv("c2", 2, 3, 1, 1, false, None, true).unwrap();
        let net = b.finish().unwrap();
        let point = OperatingPoint::uniform(&net, 0.25, 0.5);
        let m = operations(&AnalysisSettings::default(), "n", &net, 6, &point);
        let c2 = connections(&net.layers[1]) as f64;
        assert!((m.snn.effective_acs - c2 * 0.25 * 6.0).abs() < 1e-9);
        assert_eq!(m.layers.len(), 2);
        assert!(m.layers[1].snn_binary_input && !m.layers[0].snn_binary_input);
        assert_eq!(m.baseline.effective_acs, 0.0);
    }
}
