//! `custom`: a network whose layers are listed in the pipeline.
//!
//! ```toml
//! [workload]
//! type = "custom"
//! name = "lenet-ish"
//! input = [1, 28, 28]
//! layers = [
//!   { op = "conv", name = "conv1", out = 16, kernel = 5, padding = 2 },
//!   { op = "avgpool", kernel = 2 },
//!   { op = "conv", name = "conv2", out = 32, kernel = 5 },
//!   { op = "avgpool", kernel = 2 },
//!   { op = "linear", name = "fc", out = 10 },
//! ]
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    BuildContext, Component, ConfigError, LayerNeuron, Network, NetworkBuilder, Neuron, Reset,
    Shape, Source, Workload, WorkloadError,
};

/// One layer of a custom network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomLayer {
    /// `conv`, `linear`, `avgpool`, `maxpool` or `add`.
    pub op: String,
    /// Name (default `<op><index>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Output channels (conv) or features (linear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<u32>,
    /// Kernel or window side (default 3 for conv, 2 for pooling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<u32>,
    /// Stride (default 1 for conv, the kernel for pooling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<u32>,
    /// Zero padding (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<u32>,
    /// Channel groups of a convolution (default 1; its input channels for depthwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<u32>,
    /// Source layer name, or `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Sources of an `add`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Whether a spiking neuron follows (`true`/`false`), or the layer's own neuron:
    /// `{ model = "lif", leak = 0.9, threshold = 1.0, reset = "zero" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neuron: Option<NeuronField>,
    /// Whether the layer has a bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<bool>,
    /// Name of a BatchNorm that follows (folded for inference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batchnorm: Option<String>,
}

/// A layer's `neuron` key: a flag, or the layer's own neuron model.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum NeuronField {
    /// Whether a neuron of the network's model (`[analysis] neuron`, the engine's settings)
    /// follows.
    Flag(bool),
    /// The layer's own neuron.
    Model(CustomNeuron),
}

impl From<bool> for NeuronField {
    fn from(b: bool) -> Self {
        NeuronField::Flag(b)
    }
}

impl<'de> Deserialize<'de> for NeuronField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NeuronField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or a table such as { model = \"lif\", leak = 0.9 }")
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<NeuronField, E> {
                Ok(NeuronField::Flag(b))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                m: A,
            ) -> Result<NeuronField, A::Error> {
                CustomNeuron::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(NeuronField::Model)
            }
        }
        d.deserialize_any(V)
    }
}

/// A layer's own neuron, as a pipeline spells it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomNeuron {
    /// `if`, `lif`, `cuba-lif` (spiking), or `li`, `i` (the readout's integrator).
    pub model: String,
    /// Membrane fraction kept per step (`lif`, `cuba-lif`, `li`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak: Option<f64>,
    /// Synaptic current fraction kept per step (`cuba-lif`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synaptic_leak: Option<f64>,
    /// Firing threshold (default: the engine's `threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `subtract` or `zero` (default: the engine's `reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
    /// Factor on the input current (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gain: Option<f64>,
    /// Factor on the input of a `cuba-lif`'s synaptic current (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synaptic_gain: Option<f64>,
    /// The neuron's own name (a NIR node's), kept by exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl CustomNeuron {
    /// The core description; the error names the key that is wrong.
    pub fn to_layer_neuron(&self) -> Result<LayerNeuron, String> {
        let need = |key: &str, v: Option<f64>| {
            v.ok_or_else(|| format!("a `{}` neuron needs `{key}`", self.model))
        };
        let model = match self.model.as_str() {
            "if" => Neuron::If,
            "lif" => Neuron::Lif {
                leak: need("leak", self.leak)?,
            },
            "cuba-lif" => Neuron::CubaLif {
                leak: need("leak", self.leak)?,
                synaptic_leak: need("synaptic_leak", self.synaptic_leak)?,
            },
            "li" => Neuron::Li {
                leak: need("leak", self.leak)?,
            },
            "i" => Neuron::I,
            other => {
                return Err(format!(
                    "unknown neuron model `{other}` (valid: if, lif, cuba-lif, li, i)"
                ));
            }
        };
        let unused = |key: &str, v: Option<f64>| match v {
            Some(_) => Err(format!(
                "`{key}` does not apply to a `{}` neuron",
                self.model
            )),
            None => Ok(()),
        };
        if matches!(model, Neuron::If | Neuron::I) {
            unused("leak", self.leak)?;
        }
        if !matches!(model, Neuron::CubaLif { .. }) {
            unused("synaptic_leak", self.synaptic_leak)?;
            unused("synaptic_gain", self.synaptic_gain)?;
        }
        let n = LayerNeuron {
            model,
            threshold: self.threshold,
            reset: self.reset,
            gain: self.gain.unwrap_or(1.0),
            synaptic_gain: self.synaptic_gain.unwrap_or(1.0),
            name: self.name.clone(),
        };
        n.validate()?;
        Ok(n)
    }

    /// The pipeline spelling of a core description.
    pub fn from_layer_neuron(n: &LayerNeuron) -> Self {
        let (leak, synaptic_leak) = match n.model {
            Neuron::If | Neuron::I => (None, None),
            Neuron::Lif { leak } | Neuron::Li { leak } => (Some(leak), None),
            Neuron::CubaLif {
                leak,
                synaptic_leak,
            } => (Some(leak), Some(synaptic_leak)),
        };
        Self {
            model: n.model.name().into(),
            leak,
            synaptic_leak,
            threshold: n.threshold,
            reset: n.reset,
            gain: (n.gain != 1.0).then_some(n.gain),
            synaptic_gain: (n.synaptic_gain != 1.0).then_some(n.synaptic_gain),
            name: n.name.clone(),
        }
    }
}

/// A network listed layer by layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    /// network name used in reports
    #[serde(default = "default_name")]
    pub network: String,
    /// input shape [channels, height, width]
    pub input: [u32; 3],
    /// layers in order: {op = "conv"|"linear"|"avgpool"|"sumpool"|"maxpool"|"add", name, out,
    /// kernel, stride, padding, groups, from, inputs, neuron, bias, batchnorm}; `from` names the
    /// source layer (default: the previous one, `input` for the network input), `inputs` lists
    /// an add's sources; `neuron` defaults to true for conv, linear and add, except for the
    /// last layer (the readout), or gives the layer its own neuron: {model = "if"|"lif"|
    /// "cuba-lif", leak, synaptic_leak, threshold, reset, gain, synaptic_gain, name}, or on the
    /// readout a non-spiking {model = "li"|"i"}
    pub layers: Vec<CustomLayer>,
}

fn default_name() -> String {
    "custom".into()
}

fn layer(op: &str, name: &str, out: Option<u32>, kernel: Option<u32>) -> CustomLayer {
    CustomLayer {
        op: op.into(),
        name: Some(name.into()),
        out,
        kernel,
        stride: None,
        padding: None,
        groups: None,
        from: None,
        inputs: Vec::new(),
        neuron: None,
        bias: None,
        batchnorm: None,
    }
}

impl Default for Custom {
    fn default() -> Self {
        let mut conv1 = layer("conv", "conv1", Some(16), Some(5));
        conv1.padding = Some(2);
        Self {
            network: "lenet-like".into(),
            input: [1, 28, 28],
            layers: vec![
                conv1,
                layer("avgpool", "pool1", None, Some(2)),
                layer("conv", "conv2", Some(32), Some(5)),
                layer("avgpool", "pool2", None, Some(2)),
                layer("linear", "fc1", Some(128), None),
                layer("linear", "fc2", Some(10), None),
            ],
        }
    }
}

impl Workload for Custom {
    fn network(&self) -> Result<Network, WorkloadError> {
        let [c, h, w] = self.input;
        let mut b = NetworkBuilder::new(self.network.clone(), Shape::new(c, h, w));
        let mut names: Vec<String> = Vec::new();
        let last = self.layers.len().saturating_sub(1);
        for (i, l) in self.layers.iter().enumerate() {
            let name = l.name.clone().unwrap_or_else(|| format!("{}{i}", l.op));
            self.add_layer(&mut b, &names, l, &name, i == last)?;
            names.push(name);
        }
        b.finish()
    }
}

impl Custom {
    /// Adds layer `l`, called `name`, to `b`; `names` are the earlier layers', and the last
    /// layer has no neurons unless it says so.
    fn add_layer(
        &self,
        b: &mut NetworkBuilder,
        names: &[String],
        l: &CustomLayer,
        name: &str,
        is_last: bool,
    ) -> Result<(), WorkloadError> {
        let err = |message: String| WorkloadError::Layer {
            network: self.network.clone(),
            layer: name.to_string(),
            message,
        };
        let lookup = |n: &str| source_named(names, n).map_err(err);
        if let Some(from) = &l.from {
            let s = lookup(from)?;
            b.set_current(s);
        }
        let own = match &l.neuron {
            Some(NeuronField::Model(n)) => Some(
                n.to_layer_neuron()
                    .map_err(|m| err(format!("neuron: {m}")))?,
            ),
            _ => None,
        };
        let neuron = match &l.neuron {
            Some(NeuronField::Flag(b)) => *b,
            Some(NeuronField::Model(_)) => own.as_ref().is_some_and(|n| n.model.spiking()),
            None => !is_last,
        };
        if own.is_some() && !matches!(l.op.as_str(), "conv" | "linear" | "add") {
            return Err(err(format!(
                "a neuron follows `conv`, `linear` or `add`, not `{}`",
                l.op
            )));
        }
        if l.groups.is_some() && l.op != "conv" {
            return Err(err(format!("`groups` applies to `conv`, not `{}`", l.op)));
        }
        add_op(b, l, name, neuron, &lookup, &err)?;
        if let Some(n) = own {
            b.neuron_model(n);
        }
        Ok(())
    }
}

/// The earlier layer called `n` among `names`, or the network's input.
fn source_named(names: &[String], n: &str) -> Result<Source, String> {
    if n == "input" {
        return Ok(Source::Input);
    }
    names
        .iter()
        .position(|x| x == n)
        .map(Source::Layer)
        .ok_or_else(|| {
            format!(
                "source `{n}` is not an earlier layer (earlier layers: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })
}

/// Adds layer `l`'s op, called `name`, to `b`, with neurons if `neuron`; `lookup` finds the
/// sources an add names, `err` places an error at the layer.
fn add_op(
    b: &mut NetworkBuilder,
    l: &CustomLayer,
    name: &str,
    neuron: bool,
    lookup: &dyn Fn(&str) -> Result<Source, WorkloadError>,
    err: &dyn Fn(String) -> WorkloadError,
) -> Result<(), WorkloadError> {
    let out = || {
        l.out
            .filter(|o| *o > 0)
            .ok_or_else(|| err(format!("`{}` needs `out` > 0", l.op)))
    };
    let bias = l.bias.unwrap_or(false);
    match l.op.as_str() {
        "conv" => {
            b.conv(
                name.to_string(),
                out()?,
                l.kernel.unwrap_or(3),
                l.stride.unwrap_or(1),
                l.padding.unwrap_or(0),
                bias,
                l.batchnorm.clone(),
                neuron,
            )?;
            if let Some(g) = l.groups {
                b.groups(g)?;
            }
        }
        "linear" => {
            b.linear(name.to_string(), out()?, bias, neuron);
        }
        "avgpool" | "sumpool" | "maxpool" => {
            let k = l.kernel.unwrap_or(2);
            b.pool(
                name.to_string(),
                l.op == "maxpool",
                k,
                l.stride.unwrap_or(k),
                l.padding.unwrap_or(0),
            )?;
            if l.op == "sumpool" {
                b.sum_pool()?;
            }
        }
        "add" => {
            if l.inputs.len() < 2 {
                return Err(err("`add` needs `inputs` naming at least two layers".into()));
            }
            let sources = l
                .inputs
                .iter()
                .map(|n| lookup(n))
                .collect::<Result<Vec<_>, _>>()?;
            b.add(name.to_string(), &sources)?;
            // A sum the next layer reads as it is (no `neuron`) is graded, not spikes.
            b.neuron(neuron);
        }
        other => {
            return Err(err(format!(
                "unknown op `{other}` (valid: conv, linear, avgpool, sumpool, maxpool, add)"
            )));
        }
    }
    Ok(())
}

impl Component for Custom {
    type Interface = dyn Workload;
    type Config = Custom;
    const NAME: &'static str = "custom";
    const SUMMARY: &'static str = "a network whose layers are listed in the pipeline (conv, linear, avgpool, sumpool, maxpool, add), each with its own neuron if given";

    fn build(custom: Custom, _: &BuildContext<'_>) -> Result<Box<dyn Workload>, ConfigError> {
        crate::boxed(custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depthwise() -> Custom {
        let mut dw = layer("conv", "dw", Some(8), Some(3));
        dw.padding = Some(1);
        dw.groups = Some(8);
        Custom {
            network: "dw".into(),
            input: [8, 6, 6],
            layers: vec![dw, layer("linear", "fc", Some(2), None)],
        }
    }

    #[test]
    fn a_depthwise_convolution_has_one_input_channel_per_filter() {
        let net = depthwise().network().unwrap();
        assert_eq!(net.layers[0].fan_in(), 9);
        assert_eq!(net.layers[0].weights(), 8 * 9);
    }

    #[test]
    fn a_residual_add_has_a_neuron_only_where_the_layer_list_says() {
        let mut add = layer("add", "sum", None, None);
        add.inputs = vec!["a".into(), "b".into()];
        let mut spiking = add.clone();
        spiking.name = Some("spiking".into());
        spiking.inputs = vec!["sum".into(), "b".into()];
        spiking.neuron = Some(NeuronField::Flag(true));
        add.neuron = Some(NeuronField::Flag(false));
        let c = Custom {
            network: "res".into(),
            input: [2, 4, 4],
            layers: vec![
                layer("conv", "a", Some(2), Some(1)),
                layer("conv", "b", Some(2), Some(1)),
                add,
                spiking,
                layer("linear", "fc", Some(2), None),
            ],
        };
        let net = c.network().unwrap();
        let neuron = |n: &str| net.layers[net.layer_index(n).unwrap()].neuron;
        assert!(!neuron("sum") && neuron("spiking"));
    }

    #[test]
    fn groups_that_do_not_divide_the_channels_name_the_layer() {
        let mut c = depthwise();
        c.layers[0].groups = Some(3);
        let e = c.network().unwrap_err().to_string();
        assert!(e.contains("`dw`"), "{e}");
        c.layers[0].groups = None;
        c.layers[1].groups = Some(2);
        let e = c.network().unwrap_err().to_string();
        assert!(e.contains("`fc`") && e.contains("groups"), "{e}");
    }
}
