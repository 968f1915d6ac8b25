//! Spike activity: per-layer spike rates of the SNN and non-zero fractions of its quantized
//! baseline (operating points), and what they mean at each layer's input and output.
//!
//! Rates are recorded per layer *output* (what an engine measures: spikes of a layer's neurons
//! divided by neurons × T). A layer's *input* rate is its producers' output rate: events per
//! input element per step. Pooling layers transform what they receive (events after average
//! pooling, an OR after max pooling); other layers without neurons (the readout) pass it
//! through.
//!
//! What reaches a weighted layer after pooling and reshaping can also be measured
//! ([`MeasuredInput`]: the engine and `snnergy.torch.record` record it). A measured input
//! replaces the estimate wherever the estimate guesses: the spikes after a max pool, the twin's
//! non-zero values after any pooling, the analog image's zeros. Without a measurement those are
//! estimated with every input of a window taken as independent, 1 − (1 − d)^k for k inputs,
//! which *over*-estimates the pooled density of spikes positively correlated in space, as
//! those of real feature maps are. Forwarded events after an average pool need no estimate:
//! they are the pool's input spikes, exact from its rate.

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
    /// Per layer, what a run measured arriving at it (weighted layers; an empty list or `None`:
    /// estimated from the rates of its sources). Set with [`OperatingPoint::set_measured_inputs`],
    /// which records the sources' activity each was measured at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Option<MeasuredInput>>,
    /// What a source that measured the rates recorded about the measurement; reports carry
    /// it to programs that know the source, not into their files.
    #[serde(skip)]
    pub provenance: Option<Arc<Provenance>>,
}

/// What a run measured arriving at one weighted layer, after pooling, residual adds and
/// reshaping: the densities the layer really sees instead of estimates from its sources' rates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredInput {
    /// SNN: fraction of the layer's input values that are non-zero, per time step. Where the
    /// values are spikes, the events per input element per step; for a direct-coded image, its
    /// non-zero pixels.
    pub density: f64,
    /// The QNN twin: fraction of its input values that are non-zero. Recorded from an SNN
    /// alone, the fraction of inputs non-zero in at least one of the T steps: a converted SNN's
    /// input silent in all T steps is exactly a zero of its twin's input. `None`: not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonzero: Option<f64>,
    /// SNN: fraction of the layer's synapses (valid taps) whose input is non-zero, per step;
    /// each input counts with the synapses it feeds, which padding and stride make fewer at the
    /// borders, so that this × synapses × T is the count of effective synaptic operations.
    /// `None`: taken as `density`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse_density: Option<f64>,
    /// The twin's fraction of synapses whose input is non-zero. `None`: taken as `nonzero`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapse_nonzero: Option<f64>,
    /// What fed the layer when it was measured: the spike rate and twin non-zero fraction of
    /// the neurons before any pooling (the encoded input's for the first layer). At another
    /// point of the same shape (a scaled point, a twin-consistent family member) the measured
    /// values move in proportion to them.
    #[serde(default = "dense")]
    pub at: LayerRates,
}

fn dense() -> LayerRates {
    LayerRates {
        spike_rate: 1.0,
        nonzero: 1.0,
    }
}

impl MeasuredInput {
    /// The measurement moved to a point where the layer's sources have `source` activity: each
    /// value in proportion to its source's (clamped to 1), or as measured for a direct-coded
    /// image, which no operating point changes. `None` where a value measured with silent
    /// sources cannot follow sources that fire: the estimate stands in for it.
    pub fn moved(&self, source: LayerRates, analog: bool) -> Option<MeasuredInput> {
        if analog {
            return Some(*self);
        }
        let follow = |v: f64, now: f64, then: f64| -> Option<f64> {
            if now == then {
                // At the point measured, exactly as measured.
                Some(v)
            } else if then > 0.0 {
                Some((v * now / then).clamp(0.0, 1.0))
            } else if now <= 0.0 {
                Some(v)
            } else {
                None
            }
        };
        let (r, nz) = (
            (source.spike_rate, self.at.spike_rate),
            (source.nonzero, self.at.nonzero),
        );
        Some(MeasuredInput {
            density: follow(self.density, r.0, r.1)?,
            nonzero: match self.nonzero {
                Some(v) => Some(follow(v, nz.0, nz.1)?),
                None => None,
            },
            synapse_density: match self.synapse_density {
                Some(v) => Some(follow(v, r.0, r.1)?),
                None => None,
            },
            synapse_nonzero: match self.synapse_nonzero {
                Some(v) => Some(follow(v, nz.0, nz.1)?),
                None => None,
            },
            at: source,
        })
    }

    /// Checks every value lies in [0, 1].
    fn validate(&self, label: &str, layer: &str) -> Result<(), ActivityError> {
        let values = [
            ("input density", Some(self.density)),
            ("input non-zero fraction", self.nonzero),
            ("synapse density", self.synapse_density),
            ("synapse non-zero fraction", self.synapse_nonzero),
        ];
        for (what, v) in values {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(ActivityError::Invalid(format!(
                    "measured {what} of `{layer}` in `{label}` is {v}, outside [0, 1]"
                )));
            }
        }
        Ok(())
    }
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
            inputs: Vec::new(),
            provenance: None,
        }
    }

    /// Attaches what a run measured arriving at layers (`inputs[i]` for layer i, in network
    /// order), recording for each the activity of its sources at this point, which scaled
    /// points move it along with.
    pub fn set_measured_inputs(
        &mut self,
        network: &Network,
        mut inputs: Vec<Option<MeasuredInput>>,
    ) {
        inputs.resize(network.layers.len(), None);
        self.inputs = Vec::new();
        // The encoded input's rates are what feeds the first layer under rate coding; under
        // direct coding the image does not move, whatever is recorded.
        let acts = layer_activities(network, self, InputCoding::Rate);
        for (m, a) in inputs.iter_mut().zip(&acts) {
            if let Some(m) = m {
                m.at = LayerRates {
                    spike_rate: a.source_rate,
                    nonzero: a.source_nonzero,
                };
            }
        }
        self.inputs = inputs;
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
        if !self.inputs.is_empty() && self.inputs.len() != network.layers.len() {
            return Err(ActivityError::Invalid(format!(
                "operating point `{}` has {} measured inputs, network `{}` has {} layers",
                self.label,
                self.inputs.len(),
                network.name,
                network.layers.len()
            )));
        }
        for (l, m) in network.layers.iter().zip(&self.inputs) {
            if let Some(m) = m {
                m.validate(&self.label, &l.name)?;
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
    /// work follows the family too, and measured input densities follow the rates of the
    /// layers feeding them ([`MeasuredInput::moved`]): a measured spike density scales by
    /// `alpha` as its source's rate does, a twin's non-zero fraction as its source's does.
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
    /// A product of two activations ([`LayerKind::Product`]): the SNN events per element and
    /// step of its second operand (the first is `input_rate`). Zero for other layers.
    #[serde(default)]
    pub second_rate: f64,
    /// A product's second operand: the twin's non-zero fraction.
    #[serde(default)]
    pub second_nonzero: f64,
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
    // Only a measurement needs to know where spikes arrive (and only then is this allocated).
    let spikes = if point.inputs.iter().any(Option::is_some) {
        spike_inputs(network, coding)
    } else {
        Vec::new()
    };
    for (i, layer) in network.layers.iter().enumerate() {
        let arr = arrivals(network, point, coding, layer, out);
        let k = layer.sources.len().max(1) as f64;
        let (mut input_rate, mut input_nonzero) = (arr.rate / k, arr.nonzero / k);
        let (mut second_rate, mut second_nonzero) = (0.0, 0.0);
        let mut source = LayerRates {
            spike_rate: arr.src_rate / k,
            nonzero: arr.src_nonzero / k,
        };
        if layer.is_product() {
            // The operands stay apart; the first is the layer's input, and a measurement of
            // it moves with the neurons behind it alone.
            (input_rate, input_nonzero) = arr.each[0];
            (second_rate, second_nonzero) = arr.each[1];
            source = arr.first_source;
        }
        let measured = point.inputs.get(i).copied().flatten();
        if let Some(m) = measured.and_then(|m| m.moved(source, arr.analog)) {
            if arr.analog {
                // The twin reads the same image.
                input_rate = m.density;
                input_nonzero = m.nonzero.unwrap_or(m.density);
            } else {
                // Spikes arriving are events as measured; graded values after an average pool
                // or an add keep what their sources' rates give (the spikes a pool forwards,
                // the steps in which an add's sum is non-zero).
                if spikes[i] {
                    input_rate = m.density;
                }
                input_nonzero = m.nonzero.unwrap_or(input_nonzero);
            }
        }
        let (output_rate, output_nonzero) = if layer.neuron || point.explicit[i] {
            (point.layers[i].spike_rate, point.layers[i].nonzero)
        } else {
            match layer.kind {
                LayerKind::Product { depth, .. } => product_output(
                    depth,
                    [(input_rate, input_nonzero), (second_rate, second_nonzero)],
                ),
                // A graded sum (Spikformer's shortcut), read as one value where it is non-zero:
                // when any source fires in the step, or for the twin any source is non-zero
                // (independent sources). Both formats read it alike, so a one-step SNN and its
                // one-bit twin see the same values.
                LayerKind::Add => (1.0 - arr.all_silent, 1.0 - arr.all_zero),
                _ => pooled(layer, input_rate, input_nonzero),
            }
        };
        out.push(LayerActivity {
            input_rate,
            input_nonzero,
            output_rate,
            output_nonzero,
            analog_input: arr.analog,
            source_rate: source.spike_rate,
            source_nonzero: source.nonzero,
            second_rate,
            second_nonzero,
        });
    }
}

/// What arrives at a layer from its sources, as estimated from their rates.
struct Arrivals {
    /// Sums over the sources of what arrives: SNN events, twin non-zero fraction.
    rate: f64,
    nonzero: f64,
    /// Sums over the sources of their neurons' own rates, before pooling.
    src_rate: f64,
    src_nonzero: f64,
    /// The first two sources apart (a product's operands), as they arrive.
    each: [(f64, f64); 2],
    /// The neurons behind the first source.
    first_source: LayerRates,
    /// The twin's chance that every source is zero (independent sources).
    all_zero: f64,
    /// The SNN's chance that no source fires in a step.
    all_silent: f64,
    /// The layer reads the direct-coded image.
    analog: bool,
}

fn arrivals(
    network: &Network,
    point: &OperatingPoint,
    coding: InputCoding,
    layer: &Layer,
    out: &[LayerActivity],
) -> Arrivals {
    let input = point.input;
    let mut arr = Arrivals {
        rate: 0.0,
        nonzero: 0.0,
        src_rate: 0.0,
        src_nonzero: 0.0,
        each: [(0.0, 0.0); 2],
        first_source: LayerRates {
            spike_rate: 0.0,
            nonzero: 0.0,
        },
        all_zero: 1.0,
        all_silent: 1.0,
        analog: false,
    };
    for (k, s) in layer.sources.iter().enumerate() {
        // What arrives from this source, and the rate of the neurons behind it.
        let (arrived, own) = match *s {
            // A direct-coded input is the analog image itself: dense, every step.
            Source::Input if coding == InputCoding::Direct => {
                arr.analog = true;
                ((1.0, 1.0), (1.0, 1.0))
            }
            Source::Input => (
                (input.spike_rate, input.nonzero),
                (input.spike_rate, input.nonzero),
            ),
            Source::Layer(j) => {
                let a = &out[j];
                // The neurons' own rate, before pooling between them and this layer.
                let own = if network.layers[j].neuron || point.explicit[j] {
                    (a.output_rate, a.output_nonzero)
                } else {
                    (a.source_rate, a.source_nonzero)
                };
                ((a.output_rate, a.output_nonzero), own)
            }
        };
        arr.rate += arrived.0;
        arr.nonzero += arrived.1;
        arr.src_rate += own.0;
        arr.src_nonzero += own.1;
        arr.all_zero *= 1.0 - arrived.1.clamp(0.0, 1.0);
        arr.all_silent *= 1.0 - arrived.0.clamp(0.0, 1.0);
        if k < 2 {
            arr.each[k] = arrived;
        }
        if k == 0 {
            arr.first_source = LayerRates {
                spike_rate: own.0,
                nonzero: own.1,
            };
        }
    }
    arr
}

/// What a product without a neuron hands on: an output is non-zero when any of its `depth`
/// terms is, a term when both its operands are (taken as independent): 1 − (1 − a·b)^depth,
/// for the SNN per step and for the twin alike. An element-wise mask of spikes (depth 1) is
/// their AND, a spike again; a sum over several terms is a graded value (0..depth per step)
/// whose non-zero fraction is what a unit skipping zeros sees.
fn product_output(depth: u32, each: [(f64, f64); 2]) -> (f64, f64) {
    let any = |a: f64, b: f64| {
        let p = (a * b).clamp(0.0, 1.0);
        1.0 - (1.0 - p).powf(depth.max(1) as f64)
    };
    (any(each[0].0, each[1].0), any(each[0].1, each[1].1))
}

/// Per layer, whether the SNN's values arriving at it are spikes (binary): straight from
/// neurons, through a max pool, or the rate-coded input; at a product of two activations, its
/// first operand. An analog image, the sum of a residual add, a weighted layer's output without
/// a neuron and average-pooled spikes are graded; an element-wise mask of two spike tensors is
/// spikes again (their AND).
pub fn spike_inputs(network: &Network, coding: InputCoding) -> Vec<bool> {
    let mut emits: Vec<bool> = Vec::with_capacity(network.layers.len());
    let mut inputs = Vec::with_capacity(network.layers.len());
    for layer in &network.layers {
        let spikes = |s: &Source| match *s {
            Source::Input => coding == InputCoding::Rate,
            Source::Layer(j) => emits[j],
        };
        let all_spikes = !layer.sources.is_empty() && layer.sources.iter().all(spikes);
        let spikes_in = if layer.is_product() {
            layer.sources.first().is_some_and(spikes)
        } else {
            all_spikes
        };
        let window = layer.synapses() as f64 / layer.neurons().max(1) as f64;
        emits.push(
            layer.neuron
                || match layer.kind {
                    LayerKind::MaxPool { .. } => spikes_in,
                    LayerKind::AvgPool { .. } => spikes_in && window <= 1.0,
                    LayerKind::Product { depth, .. } => all_spikes && depth == 1,
                    _ => false,
                },
        );
        inputs.push(spikes_in);
    }
    inputs
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

    /// q and k (neurons), their element-wise mask, and a column sum of q ⊙ k over 16 tokens.
    fn masked_net() -> Network {
        let mut b = NetworkBuilder::new("n", Shape::new(4, 4, 4));
        let q = b.conv("q", 8, 1, 1, 0, false, None, true).unwrap();
        b.set_current(Source::Input);
        let k = b.conv("k", 8, 1, 1, 0, false, None, true).unwrap();
        b.product("mask", [q, k], [128, 1, 1, 1], Shape::new(8, 4, 4), false);
        b.product("sum", [q, k], [8, 1, 1, 16], Shape::vector(8), false);
        b.finish().unwrap()
    }

    #[test]
    fn a_product_keeps_its_operands_apart_and_a_mask_of_spikes_is_their_and() {
        let net = masked_net();
        let mut p = OperatingPoint::uniform(&net, 0.2, 0.4);
        p.layers[1].spike_rate = 0.1;
        p.layers[1].nonzero = 0.3;
        let acts = layer_activities(&net, &p, InputCoding::Direct);
        let mask = &acts[2];
        assert_eq!((mask.input_rate, mask.second_rate), (0.2, 0.1));
        assert_eq!((mask.input_nonzero, mask.second_nonzero), (0.4, 0.3));
        assert!((mask.output_rate - 0.02).abs() < 1e-15);
        assert!((mask.output_nonzero - 0.12).abs() < 1e-15);
        // A sum of 16 terms is non-zero when any term is.
        let sum = &acts[3];
        assert!((sum.output_rate - (1.0 - 0.98f64.powi(16))).abs() < 1e-12);
        assert!((sum.output_nonzero - (1.0 - 0.88f64.powi(16))).abs() < 1e-12);
    }

    #[test]
    fn a_residual_sum_of_spikes_is_read_where_either_source_fires() {
        let mut b = NetworkBuilder::new("n", Shape::new(4, 4, 4));
        let a = b.conv("a", 4, 1, 1, 0, false, None, true).unwrap();
        let c = b.conv("c", 4, 1, 1, 0, false, None, true).unwrap();
        b.add_without_neuron("sum", &[a, c]).unwrap();
        b.linear("fc", 2, false, false);
        let net = b.finish().unwrap();
        let mut p = OperatingPoint::uniform(&net, 0.2, 0.5);
        p.layers[1].spike_rate = 0.3;
        p.layers[1].nonzero = 0.25;
        let acts = layer_activities(&net, &p, InputCoding::Direct);
        // Per step: 1 − (1 − 0.2)(1 − 0.3), as the twin's 1 − (1 − 0.5)(1 − 0.25).
        assert!((acts[3].input_rate - (1.0 - 0.8 * 0.7)).abs() < 1e-15);
        assert!((acts[3].input_nonzero - (1.0 - 0.5 * 0.75)).abs() < 1e-15);
    }

    /// A measurement of what reaches `fc` (after the pool) and `c` (the image).
    fn measured(point: &mut OperatingPoint, net: &Network, image: f64) {
        let m = |density: f64, nonzero: f64| MeasuredInput {
            density,
            nonzero: Some(nonzero),
            synapse_density: Some(density * 1.1),
            synapse_nonzero: Some(nonzero * 1.1),
            at: LayerRates {
                spike_rate: 0.0,
                nonzero: 0.0,
            },
        };
        point.set_measured_inputs(net, vec![Some(m(image, image)), None, Some(m(0.15, 0.25))]);
    }

    #[test]
    fn measured_inputs_replace_the_estimates_where_pooling_guesses() {
        for max in [false, true] {
            let net = pooled_net(max, 2, 2, 0);
            let mut point = OperatingPoint::uniform(&net, 0.1, 0.3);
            let estimated = layer_activities(&net, &point, InputCoding::Direct);
            measured(&mut point, &net, 0.5);
            let acts = layer_activities(&net, &point, InputCoding::Direct);
            // The image's zeros, for the SNN and the twin alike.
            assert_eq!((acts[0].input_rate, acts[0].input_nonzero), (0.5, 0.5));
            assert!(acts[0].analog_input);
            assert_eq!(
                (estimated[0].input_rate, estimated[0].input_nonzero),
                (1.0, 1.0)
            );
            // The twin's pooled inputs as measured.
            assert_eq!(acts[2].input_nonzero, 0.25);
            assert!(estimated[2].input_nonzero > 0.3);
            // Spikes after a max pool are events as measured; after an average pool the
            // events are the pool's input spikes forwarded, exact from the rate.
            let spikes = if max { 0.15 } else { 4.0 * 0.1 };
            assert!((acts[2].input_rate - spikes).abs() < 1e-12, "{max}");
            // The neurons feeding the layer are what the measurement was taken at.
            let at = point.inputs[2].unwrap().at;
            assert_eq!((at.spike_rate, at.nonzero), (0.1, 0.3));
        }
    }

    #[test]
    fn a_scaled_point_moves_measured_densities_with_the_rates_feeding_them() {
        let net = pooled_net(true, 2, 2, 0);
        let mut point = OperatingPoint::uniform(&net, 0.1, 0.3);
        measured(&mut point, &net, 0.5);
        let acts = layer_activities(&net, &point.scaled(2.0), InputCoding::Direct);
        assert!((acts[2].input_rate - 0.3).abs() < 1e-12);
        // Non-zero fractions stay where `scaled` leaves them; a twin-consistent family that
        // moves its sources' moves them too.
        assert_eq!(acts[2].input_nonzero, 0.25);
        let mut family = point.scaled(2.0);
        family.layers[0].nonzero = 0.6;
        let acts = layer_activities(&net, &family, InputCoding::Direct);
        assert!((acts[2].input_nonzero - 0.5).abs() < 1e-12);
        // The image is the same at every operating point.
        assert_eq!(acts[0].input_rate, 0.5);
        // Clamped where the family goes past what a density can be.
        let acts = layer_activities(&net, &point.scaled(9.0), InputCoding::Direct);
        assert_eq!(acts[2].input_rate, 1.0);
    }

    #[test]
    fn a_measurement_of_silent_sources_gives_way_to_the_estimate_once_they_fire() {
        let net = pooled_net(true, 2, 2, 0);
        let mut point = OperatingPoint::uniform(&net, 0.0, 0.0);
        measured(&mut point, &net, 0.5);
        point.layers[0] = LayerRates {
            spike_rate: 0.1,
            nonzero: 0.3,
        };
        let acts = layer_activities(&net, &point, InputCoding::Direct);
        let estimate = 1.0 - 0.9f64.powi(4);
        assert!((acts[2].input_rate - estimate).abs() < 1e-12);
    }

    #[test]
    fn spikes_arrive_from_neurons_and_max_pools_not_from_average_pools_or_images() {
        let avg = pooled_net(false, 2, 2, 0);
        assert_eq!(
            spike_inputs(&avg, InputCoding::Direct),
            [false, true, false]
        );
        assert_eq!(spike_inputs(&avg, InputCoding::Rate), [true, true, false]);
        let max = pooled_net(true, 2, 2, 0);
        assert_eq!(spike_inputs(&max, InputCoding::Direct), [false, true, true]);
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
