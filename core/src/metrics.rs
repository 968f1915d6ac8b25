//! The counts the field already reports, next to the energy: synaptic operations, effective
//! accumulates and multiply-accumulates, activation sparsity (as NeuroBench defines them: Yik
//! et al., "The NeuroBench framework for benchmarking neuromorphic computing algorithms and
//! systems", Nature Communications 2025), and the memory accesses per level each architecture
//! counted. They let a reader check snnergy's numbers against other tools and papers, which
//! report operations, not picojoules.
//!
//! Everything here is a function of the network, the activity and the architectures'
//! actions; nothing is measured twice.
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
//! Rates are per layer, not per value, so two assumptions are stated: the non-zero fraction
//! after pooling k×k values of non-zero fraction d is 1 − (1 − d)^(k·k) (independent
//! values), and every weight is taken as non-zero (NeuroBench skips zero weights; snnergy's
//! analytic path never sees weight values). A direct-coded image is taken as dense, and the
//! SNN's first layer is counted at every step, as a time-stepped model executes it (an
//! architecture may compute it once; its actions say so).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::action::{Access, ActionKind, Actions, Interconnect, Memory};
use crate::activity::{OperatingPoint, layer_activities};
use crate::analysis::{AnalysisSettings, ArchSlot};
use crate::error::Error;
use crate::format::Format;
use crate::network::{InputCoding, Layer, LayerKind, Network, Source};

/// NeuroBench's operation counts and activation sparsity of one format.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct FormatMetrics {
    /// Every weight × activation product, zeros included.
    pub dense_synops: f64,
    /// Products with a non-zero, non-binary activation.
    pub effective_macs: f64,
    /// Products with a spike (binary activation).
    pub effective_acs: f64,
    /// `effective_macs + effective_acs`.
    pub synops: f64,
    /// Fraction of neuron outputs that are zero.
    pub activation_sparsity: f64,
}

/// One weighted layer's share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerMetrics {
    /// Layer name.
    pub layer: String,
    /// Weight × activation connections of one pass (valid taps, padding excluded).
    pub connections: f64,
    /// Whether the SNN layer receives spikes (its effective operations are ACs).
    pub snn_binary_input: bool,
    /// Non-zero fraction of the SNN layer's input values per step.
    pub snn_input_density: f64,
    /// Non-zero fraction of the baseline layer's input values.
    pub baseline_input_density: f64,
    /// SNN effective SynOps of the layer (all steps).
    pub snn_synops: f64,
    /// Baseline effective SynOps of the layer.
    pub baseline_synops: f64,
}

/// Memory accesses and transfers one architecture counted, per level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessCounts {
    /// Architecture label.
    pub architecture: String,
    /// SNN: count per `<level>.<read|write>` (`dram.read`, `sram.write`, `register.read`) and
    /// per transfer (`noc-dense.hop`, `noc-event.hop`, `link.transfer`).
    pub snn: BTreeMap<String, f64>,
    /// The baseline, keyed the same way.
    pub baseline: BTreeMap<String, f64>,
}

/// The metrics of one workload at one T and operating point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Workload label.
    pub workload: String,
    /// Operating point label.
    pub operating_point: String,
    /// Time steps T.
    pub timesteps: u32,
    /// The SNN's counts.
    pub snn: FormatMetrics,
    /// The baseline's counts.
    pub baseline: FormatMetrics,
    /// Per weighted layer.
    pub layers: Vec<LayerMetrics>,
    /// Per architecture.
    pub accesses: Vec<AccessCounts>,
}

/// Taps of a 1-D sliding window that land inside the input, summed over output positions.
fn valid_taps_1d(input: u32, output: u32, kernel: u32, stride: u32, padding: u32) -> u64 {
    let (input, padding) = (input as i64, padding as i64);
    (0..output as i64)
        .map(|o| {
            let start = o * stride as i64 - padding;
            let lo = start.max(0);
            let hi = (start + kernel as i64).min(input);
            (hi - lo).max(0) as u64
        })
        .sum()
}

/// Weight × activation connections of one pass of `layer` (0 for layers without weights).
pub fn connections(layer: &Layer) -> u64 {
    match &layer.kind {
        LayerKind::Conv2d {
            kernel,
            stride,
            padding,
            groups,
        } => {
            let rows = valid_taps_1d(
                layer.input.h,
                layer.output.h,
                kernel[0],
                stride[0],
                padding[0],
            );
            let cols = valid_taps_1d(
                layer.input.w,
                layer.output.w,
                kernel[1],
                stride[1],
                padding[1],
            );
            rows * cols * (layer.input.c / (*groups).max(1)) as u64 * layer.output.c as u64
        }
        LayerKind::Linear => layer.synapses(),
        _ => 0,
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

fn access_key(kind: &ActionKind) -> Option<String> {
    match kind {
        ActionKind::Memory { level, access, .. } => Some(format!(
            "{}.{}",
            match level {
                Memory::Register => "register",
                Memory::Sram => "sram",
                Memory::Dram => "dram",
            },
            match access {
                Access::Read => "read",
                Access::Write => "write",
            }
        )),
        ActionKind::Transfer { net, .. } => Some(
            match net {
                Interconnect::NocDense => "noc-dense.hop",
                Interconnect::NocEvent => "noc-event.hop",
                Interconnect::Link => "link.transfer",
            }
            .to_string(),
        ),
        ActionKind::Compute { .. } | ActionKind::Composite { .. } => None,
    }
}

fn count_accesses(
    slot: &ArchSlot,
    network: &Network,
    format: &Format,
    point: &OperatingPoint,
    coding: InputCoding,
) -> Result<BTreeMap<String, f64>, Error> {
    let acts = layer_activities(network, point, coding);
    let mut actions = vec![Actions::new(); network.layers.len()];
    slot.arch
        .evaluate_network(network, format, &acts, &mut actions)?;
    let mut counts = BTreeMap::new();
    for a in actions.iter().flat_map(|a| a.as_slice()) {
        if let Some(key) = access_key(&a.kind) {
            *counts.entry(key).or_insert(0.0) += a.count;
        }
    }
    Ok(counts)
}

/// The metrics of `network` at `timesteps` and `point`, with the accesses each of
/// `architectures` counts for the SNN and its baseline.
pub fn compute(
    settings: &AnalysisSettings,
    workload: &str,
    network: &Network,
    timesteps: u32,
    point: &OperatingPoint,
    architectures: &[ArchSlot],
) -> Result<Metrics, Error> {
    let coding = settings.input_coding;
    let t = timesteps as f64;
    let baseline_format = settings.baseline_format(timesteps);
    // A 1-bit baseline's activations are binary too: its products are accumulates.
    let baseline_binary = matches!(&baseline_format, Format::Qnn(q) if q.activation_bits == 1);
    let (snn_in, snn_out) = emitted(network, point, coding, true, false);
    let (base_in, base_out) = emitted(network, point, coding, false, baseline_binary);
    let mut snn = FormatMetrics::default();
    let mut baseline = FormatMetrics::default();
    let mut layers = Vec::new();
    for l in network.layers.iter().filter(|l| l.is_weighted()) {
        let c = connections(l) as f64;
        let s = layer_input(l, snn_in, &snn_out);
        let b = layer_input(l, base_in, &base_out);
        let snn_ops = c * s.density * t;
        let base_ops = c * b.density;
        snn.dense_synops += c * t;
        baseline.dense_synops += c;
        if s.binary {
            snn.effective_acs += snn_ops;
        } else {
            snn.effective_macs += snn_ops;
        }
        if b.binary {
            baseline.effective_acs += base_ops;
        } else {
            baseline.effective_macs += base_ops;
        }
        layers.push(LayerMetrics {
            layer: l.name.clone(),
            connections: c,
            snn_binary_input: s.binary,
            snn_input_density: s.density,
            baseline_input_density: b.density,
            snn_synops: snn_ops,
            baseline_synops: base_ops,
        });
    }
    for m in [&mut snn, &mut baseline] {
        m.synops = m.effective_macs + m.effective_acs;
    }
    snn.activation_sparsity = 1.0 - mean_over_neurons(network, |i| point.layers[i].spike_rate);
    baseline.activation_sparsity = 1.0 - mean_over_neurons(network, |i| point.layers[i].nonzero);
    let snn_format = settings.snn_format(timesteps);
    let accesses = architectures
        .iter()
        .map(|slot| {
            Ok(AccessCounts {
                architecture: slot.label.clone(),
                snn: count_accesses(slot, network, &snn_format, point, coding)?,
                baseline: count_accesses(slot, network, &baseline_format, point, coding)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Metrics {
        workload: workload.to_string(),
        operating_point: point.label.clone(),
        timesteps,
        snn,
        baseline,
        layers,
        accesses,
    })
}

/// The report section: operation counts and sparsity per workload, T and operating point.
pub fn markdown(metrics: &[Metrics]) -> String {
    if metrics.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "## Operations and sparsity (NeuroBench definitions)\n\nPer inference; the SNN's counts are summed over its T steps. Effective operations skip zero activations: ACs where the activation is a spike, MACs otherwise. Every weight is taken as non-zero; after pooling, values are taken as independent.\n\n",
    );
    md.push_str("| workload | activity | T | SNN dense SynOps | SNN effective ACs | SNN effective MACs | SNN activation sparsity | baseline dense SynOps | baseline effective MACs | baseline effective ACs | baseline activation sparsity |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for m in metrics {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4e} | {:.4e} | {:.4e} | {:.2} % | {:.4e} | {:.4e} | {:.4e} | {:.2} % |",
            m.workload,
            m.operating_point,
            m.timesteps,
            m.snn.dense_synops,
            m.snn.effective_acs,
            m.snn.effective_macs,
            100.0 * m.snn.activation_sparsity,
            m.baseline.dense_synops,
            m.baseline.effective_macs,
            m.baseline.effective_acs,
            100.0 * m.baseline.activation_sparsity,
        );
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{NetworkBuilder, Shape};

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
        assert_eq!(valid_taps_1d(4, 4, 3, 1, 1), 10);
        let net = two_layer();
        assert_eq!(connections(&net.layers[0]), 10 * 10 * 2);
        assert_eq!(connections(&net.layers[2]), net.layers[2].synapses());
        assert_eq!(connections(&net.layers[1]), 0);
    }

    #[test]
    fn spikes_through_average_pooling_count_as_macs_and_direct_input_as_macs_every_step() {
        let net = two_layer();
        let point = OperatingPoint::uniform(&net, 0.1, 0.4);
        let settings = AnalysisSettings::default();
        let m = compute(&settings, "n", &net, 4, &point, &[]).unwrap();
        let c1 = connections(&net.layers[0]) as f64;
        let fc = connections(&net.layers[2]) as f64;
        let pooled = |d: f64| 1.0 - (1.0f64 - d).powi(4);
        assert_eq!(m.snn.effective_acs, 0.0);
        let expected = c1 * 4.0 + fc * pooled(0.1) * 4.0;
        assert!((m.snn.effective_macs - expected).abs() < 1e-9 * expected);
        assert_eq!(m.snn.dense_synops, (c1 + fc) * 4.0);
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
        let m = compute(&AnalysisSettings::default(), "n", &net, 6, &point, &[]).unwrap();
        let c2 = connections(&net.layers[1]) as f64;
        assert!((m.snn.effective_acs - c2 * 0.25 * 6.0).abs() < 1e-9);
        assert_eq!(m.layers.len(), 2);
        assert!(m.layers[1].snn_binary_input && !m.layers[0].snn_binary_input);
        assert_eq!(m.baseline.effective_acs, 0.0);
    }
}
