//! Spike activity: per-layer spike rates of the SNN and non-zero fractions of its quantized
//! baseline (operating points), and what they mean at each layer's input and output.
//!
//! Rates are recorded per layer *output* (what an engine measures: spikes of a layer's neurons
//! divided by neurons × T). A layer's *input* rate is its producers' output rate: events per
//! input element per step. Pooling layers transform what they receive (events after average
//! pooling, an OR after max pooling); other layers without neurons (the readout) pass it
//! through.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ActivityError;
use crate::network::{InputCoding, Layer, LayerKind, Network, Source};

/// Activity of one layer's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRates {
    /// SNN spikes per neuron per time step, in [0, 1].
    pub spike_rate: f64,
    /// Fraction of the QNN baseline's outputs that are non-zero, in [0, 1].
    pub nonzero: f64,
}

/// One activity setting to analyse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// Label shown in reports (`uniform`, the profile's file name, …).
    pub label: String,
    /// Rates per layer, in network order. Entries of layers without neurons are ignored
    /// unless `explicit` marks them as measured.
    pub layers: Vec<LayerRates>,
    /// Which entries were given (the rest pass their input's rate through).
    pub explicit: Vec<bool>,
    /// The encoded input under rate coding: its spike rate, and the non-zero fraction of the
    /// baseline's quantized input. Ignored under direct coding (the image is dense).
    pub input: LayerRates,
    /// Time steps the rates were measured at, if they were measured.
    pub measured_timesteps: Option<u32>,
    /// Per layer, the measured mean level L̄ of the twin's non-zero outputs (spikes per
    /// non-zero activation, 1..=T), where a measurement gives it; empty or `None` entries take
    /// `[analysis] mean_level`. Twin-consistent sweeps keep it while moving the spike rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean_levels: Vec<Option<f64>>,
    /// What a source that measured the rates recorded about the measurement; reports carry
    /// it to programs that know the source, not into their files.
    #[serde(skip)]
    pub provenance: Option<Arc<Provenance>>,
}

/// A source's own record of how it measured an operating point (the engine's `Measurement`,
/// say), as JSON, so that core need not know its type.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// The activity source's type name.
    pub source: String,
    /// Its record.
    pub record: serde_json::Value,
}

impl OperatingPoint {
    /// The same rate `r` and non-zero fraction `nonzero` at every layer and at the input.
    pub fn uniform(network: &Network, r: f64, nonzero: f64) -> Self {
        let rates = LayerRates {
            spike_rate: r,
            nonzero,
        };
        Self {
            label: "uniform".into(),
            layers: vec![rates; network.layers.len()],
            explicit: network.layers.iter().map(|l| l.neuron).collect(),
            // Under rate coding the encoded input fires at the same rate as every layer.
            input: rates,
            measured_timesteps: None,
            mean_levels: Vec::new(),
            provenance: None,
        }
    }

    /// Checks every rate lies in [0, 1] and the point matches the network.
    pub fn validate(&self, network: &Network) -> Result<(), ActivityError> {
        if self.layers.len() != network.layers.len() || self.explicit.len() != self.layers.len() {
            return Err(ActivityError::Invalid(format!(
                "operating point `{}` has {} layer entries, network `{}` has {} layers",
                self.label,
                self.layers.len(),
                network.name,
                network.layers.len()
            )));
        }
        let check = |what: &str, name: &str, v: f64| {
            if !(0.0..=1.0).contains(&v) {
                Err(ActivityError::Invalid(format!(
                    "{what} of `{name}` in `{}` is {v}, outside [0, 1]",
                    self.label
                )))
            } else {
                Ok(())
            }
        };
        check("input spike rate", "<input>", self.input.spike_rate)?;
        check("input non-zero fraction", "<input>", self.input.nonzero)?;
        for ((l, r), e) in network.layers.iter().zip(&self.layers).zip(&self.explicit) {
            if *e {
                check("spike_rate", &l.name, r.spike_rate)?;
                check("nonzero", &l.name, r.nonzero)?;
            }
        }
        Ok(())
    }

    /// Mean spike rate over neuron layers, weighted by neurons: the number reports call "the"
    /// spike rate of the network.
    pub fn mean_spike_rate(&self, network: &Network) -> f64 {
        weighted_mean(network, &self.layers, |r| r.spike_rate)
    }

    /// Mean non-zero fraction over neuron layers, weighted by neurons.
    pub fn mean_nonzero(&self, network: &Network) -> f64 {
        weighted_mean(network, &self.layers, |r| r.nonzero)
    }

    /// This point with every spike rate multiplied by `alpha` and clamped to 1 (non-zero
    /// fractions unchanged): the one-parameter family break-even search walks along. The
    /// encoded input's rate scales with the layers', so under rate coding the first layer's
    /// work follows the family too.
    pub fn scaled(&self, alpha: f64) -> OperatingPoint {
        let mut p = self.clone();
        for r in &mut p.layers {
            r.spike_rate = (r.spike_rate * alpha).min(1.0);
        }
        p.input.spike_rate = (p.input.spike_rate * alpha).min(1.0);
        p
    }
}

fn weighted_mean(network: &Network, rates: &[LayerRates], f: impl Fn(&LayerRates) -> f64) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    let mut same: Option<f64> = None;
    let mut uniform = true;
    for (l, r) in network.layers.iter().zip(rates) {
        if l.neuron {
            let w = l.neurons() as f64;
            let v = f(r);
            sum += w * v;
            n += w;
            uniform &= same.is_none_or(|s| s == v);
            same = Some(v);
        }
    }
    match same {
        // The same value everywhere is its own mean: a requested 5 % reads back as 0.05, not
        // as the rounding of a weighted sum.
        Some(v) if uniform => v,
        _ if n > 0.0 => sum / n,
        _ => 0.0,
    }
}

/// What an architecture needs to know about activity at one layer.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct LayerActivity {
    /// SNN events per input element per time step arriving at the layer: spikes, or after an
    /// average pool the input spikes it forwards (then above 1 when its window is large).
    pub input_rate: f64,
    /// Fraction of the QNN's input values that are non-zero.
    pub input_nonzero: f64,
    /// SNN spikes per output neuron per time step.
    pub output_rate: f64,
    /// Fraction of the QNN's outputs that are non-zero.
    pub output_nonzero: f64,
    /// The SNN layer receives analog values rather than spikes (direct input coding at the
    /// first layer): its synaptic work is multiply-accumulate every time step.
    pub analog_input: bool,
    /// The spike rate of the neurons feeding the layer, before any pooling between them
    /// transforms it (`input_rate` when there is none): what closed forms written per synapse
    /// with one network-wide rate take.
    #[serde(default)]
    pub source_rate: f64,
    /// The twin's non-zero fraction of the neurons feeding the layer, before pooling.
    #[serde(default)]
    pub source_nonzero: f64,
}

/// Resolves an operating point into per-layer input and output activity along the network's
/// wiring.
pub fn layer_activities(
    network: &Network,
    point: &OperatingPoint,
    coding: InputCoding,
) -> Vec<LayerActivity> {
    let mut out: Vec<LayerActivity> = Vec::with_capacity(network.layers.len());
    layer_activities_into(network, point, coding, &mut out);
    out
}

/// Like [`layer_activities`], reusing `out`'s allocation (hot path of sweeps).
pub fn layer_activities_into(
    network: &Network,
    point: &OperatingPoint,
    coding: InputCoding,
    out: &mut Vec<LayerActivity>,
) {
    out.clear();
    let input = point.input;
    for (i, layer) in network.layers.iter().enumerate() {
        let (mut rate, mut nonzero, mut analog) = (0.0, 0.0, false);
        let (mut src_rate, mut src_nonzero) = (0.0, 0.0);
        for s in &layer.sources {
            match *s {
                // A direct-coded input is the analog image itself: dense, every step.
                Source::Input if coding == InputCoding::Direct => {
                    rate += 1.0;
                    nonzero += 1.0;
                    src_rate += 1.0;
                    src_nonzero += 1.0;
                    analog = true;
                }
                Source::Input => {
                    rate += input.spike_rate;
                    nonzero += input.nonzero;
                    src_rate += input.spike_rate;
                    src_nonzero += input.nonzero;
                }
                Source::Layer(j) => {
                    let a: &LayerActivity = &out[j];
                    rate += a.output_rate;
                    nonzero += a.output_nonzero;
                    // The neurons' own rate, before pooling between them and this layer.
                    let (r, nz) = if network.layers[j].neuron || point.explicit[j] {
                        (a.output_rate, a.output_nonzero)
                    } else {
                        (a.source_rate, a.source_nonzero)
                    };
                    src_rate += r;
                    src_nonzero += nz;
                }
            }
        }
        let k = layer.sources.len().max(1) as f64;
        let (input_rate, input_nonzero) = (rate / k, nonzero / k);
        let (output_rate, output_nonzero) = if layer.neuron || point.explicit[i] {
            (point.layers[i].spike_rate, point.layers[i].nonzero)
        } else {
            pooled(layer, input_rate, input_nonzero)
        };
        out.push(LayerActivity {
            input_rate,
            input_nonzero,
            output_rate,
            output_nonzero,
            analog_input: analog,
            source_rate: src_rate / k,
            source_nonzero: src_nonzero / k,
        });
    }
}

/// What a layer without neurons hands on, from what it receives: pooling transforms activity,
/// everything else (a readout, a convolution summed into a residual) passes it through.
///
/// - Average pooling of spikes gives graded values; event-driven hardware forwards every input
///   spike through the window, so the layer after it sees as many events as the pool's input
///   spikes reach outputs: r_in·S/N per output element and step (above 1 when windows are
///   large). The twin is treated alike: its pooled average would be wider than the
///   activation its next layer reads, so it forwards its window's non-zero values, ρ_in·S/N
///   per output (at T = 1 the SNN and its 1-bit twin see the same events).
/// - Max pooling of spikes is an OR over the window: an output fires when any input does,
///   1 − (1 − r)^k for k = S/N valid inputs per output (inputs taken as independent), and the
///   twin's maximum is non-zero likewise.
fn pooled(layer: &Layer, rate: f64, nonzero: f64) -> (f64, f64) {
    let window = layer.synapses() as f64 / layer.neurons().max(1) as f64;
    let any = |p: f64| 1.0 - (1.0 - p.clamp(0.0, 1.0)).powf(window);
    match layer.kind {
        LayerKind::AvgPool { .. } => (rate * window, nonzero * window),
        LayerKind::MaxPool { .. } => (any(rate), any(nonzero)),
        _ => (rate, nonzero),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{NetworkBuilder, Shape};

    /// A layer `c` with a neuron, then `pool`, then a linear layer `fc` reading the pool.
    fn pooled_net(max: bool, k: u32, stride: u32, pad: u32) -> Network {
        let mut b = NetworkBuilder::new("n", Shape::new(3, 8, 8));
        b.conv("c", 2, 3, 1, 1, false, None, true).unwrap();
        b.pool("pool", max, k, stride, pad).unwrap();
        b.linear("fc", 4, false, true);
        b.finish().unwrap()
    }

    /// Every binary pattern of a window whose inputs fire independently with probability
    /// `p`, with its probability and the number of inputs firing.
    fn patterns(k: usize, p: f64) -> impl Iterator<Item = (f64, usize)> {
        (0u32..1 << k).map(move |m| {
            let on = m.count_ones() as usize;
            (p.powi(on as i32) * (1.0 - p).powi((k - on) as i32), on)
        })
    }

    #[test]
    fn events_after_average_pooling_are_the_input_spikes_it_forwards() {
        // 2×2 windows, stride 2, no overlap: counting by brute force, each output forwards the
        // expected number of its window's spikes, 4·r per step.
        let net = pooled_net(false, 2, 2, 0);
        let r = 0.1;
        let acts = layer_activities(
            &net,
            &OperatingPoint::uniform(&net, r, 0.3),
            InputCoding::Direct,
        );
        let expected: f64 = patterns(4, r).map(|(p, on)| p * on as f64).sum();
        assert!((acts[1].output_rate - expected).abs() < 1e-12);
        assert!((acts[2].input_rate - expected).abs() < 1e-12);
        // The twin forwards its window's non-zero values alike.
        let forwarded: f64 = patterns(4, 0.3).map(|(p, on)| p * on as f64).sum();
        assert!((acts[2].input_nonzero - forwarded).abs() < 1e-12);
    }

    #[test]
    fn max_pooling_over_spikes_fires_when_any_input_does() {
        let net = pooled_net(true, 2, 2, 0);
        let r = 0.1;
        let acts = layer_activities(
            &net,
            &OperatingPoint::uniform(&net, r, 0.3),
            InputCoding::Direct,
        );
        let any: f64 = patterns(4, r)
            .filter(|(_, on)| *on > 0)
            .map(|(p, _)| p)
            .sum();
        assert!((acts[2].input_rate - any).abs() < 1e-12);
        assert!(acts[2].input_rate > r);
    }

    #[test]
    fn a_padded_max_pool_counts_only_the_inputs_its_windows_reach() {
        // 3×3 windows, stride 2, padding 1 over 8×8: border windows reach 4 or 6 inputs; the
        // mean window is the layer's valid taps per output.
        let net = pooled_net(true, 3, 2, 1);
        let pool = &net.layers[1];
        let mut taps = 0u64;
        for p in 0..4i64 {
            for q in 0..4i64 {
                for dy in 0..3i64 {
                    for dx in 0..3i64 {
                        let (y, x) = (2 * p - 1 + dy, 2 * q - 1 + dx);
                        taps += ((0..8).contains(&y) && (0..8).contains(&x)) as u64;
                    }
                }
            }
        }
        assert_eq!(pool.synapses(), 2 * taps);
        let window = taps as f64 / 16.0;
        let acts = layer_activities(
            &net,
            &OperatingPoint::uniform(&net, 0.2, 0.3),
            InputCoding::Direct,
        );
        assert!((acts[2].input_rate - (1.0 - 0.8f64.powf(window))).abs() < 1e-12);
    }

    #[test]
    fn scaling_a_point_scales_the_rate_coded_input_with_the_layers() {
        let mut b = NetworkBuilder::new("n", Shape::new(3, 8, 8));
        b.conv("c", 4, 3, 1, 1, false, None, true).unwrap();
        let net = b.finish().unwrap();
        let p = OperatingPoint::uniform(&net, 0.2, 0.45).scaled(2.0);
        assert_eq!(p.layers[0].spike_rate, 0.4);
        assert_eq!(p.input.spike_rate, 0.4);
        assert_eq!(p.input.nonzero, 0.45);
        assert_eq!(
            OperatingPoint::uniform(&net, 0.8, 0.45)
                .scaled(2.0)
                .input
                .spike_rate,
            1.0
        );
    }
}
