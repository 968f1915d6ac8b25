//! Spike activity: per-layer spike rates of the SNN and non-zero fractions of its quantized
//! baseline (operating points), and what they mean at each layer's input and output.
//!
//! Rates are recorded per layer *output* (what an engine measures: spikes of a layer's neurons
//! divided by neurons × T). A layer's *input* rate is its producers' output rate; layers
//! without neurons (pooling, the readout) pass their input rate through.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ActivityError;
use crate::network::{InputCoding, Network, Source};

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
    for (l, r) in network.layers.iter().zip(rates) {
        if l.neuron {
            let w = l.neurons() as f64;
            sum += w * f(r);
            n += w;
        }
    }
    if n > 0.0 { sum / n } else { 0.0 }
}

/// What an architecture needs to know about activity at one layer.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct LayerActivity {
    /// SNN spikes per input element per time step arriving at the layer.
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
        for s in &layer.sources {
            match *s {
                // A direct-coded input is the analog image itself: dense, every step.
                Source::Input if coding == InputCoding::Direct => {
                    rate += 1.0;
                    nonzero += 1.0;
                    analog = true;
                }
                Source::Input => {
                    rate += input.spike_rate;
                    nonzero += input.nonzero;
                }
                Source::Layer(j) => {
                    let a: &LayerActivity = &out[j];
                    rate += a.output_rate;
                    nonzero += a.output_nonzero;
                }
            }
        }
        let k = layer.sources.len().max(1) as f64;
        let (input_rate, input_nonzero) = (rate / k, nonzero / k);
        let (output_rate, output_nonzero) = if layer.neuron || point.explicit[i] {
            (point.layers[i].spike_rate, point.layers[i].nonzero)
        } else {
            (input_rate, input_nonzero)
        };
        out.push(LayerActivity {
            input_rate,
            input_nonzero,
            output_rate,
            output_nonzero,
            analog_input: analog,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{NetworkBuilder, Shape};

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
