//! How a graph spelled the network it described: node names and types, every parameter's
//! shape and stored type, the exact values of neuron parameters, metadata and the order of
//! the edges. [`crate::import`] records it beside the weights (safetensors metadata
//! [`METADATA_KEY`]); [`crate::export`] writes the network it is given back in that spelling,
//! every value taken from the network, and keeps the spelling only if importing the result
//! gives that network again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use snnergy_core::{Layer, LayerKind, LayerNeuron, Network, Neuron, Reset};
use snnergy_engine::model::Tensor;

use crate::graph::{Dtype, Graph, Node, Value};

/// The weights file's metadata key holding a spelling (JSON).
pub const METADATA_KEY: &str = "nir";

/// Arrays up to this many values are kept whole; longer ones by their common value.
const KEEP_VALUES: usize = 64;

/// A parameter as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stored", rename_all = "kebab-case")]
pub enum Stored {
    /// Every value.
    Numbers {
        /// Shape.
        shape: Vec<usize>,
        /// Stored type.
        dtype: Dtype,
        /// Values, row-major.
        values: Vec<f64>,
    },
    /// One value in every element.
    Uniform {
        /// Shape.
        shape: Vec<usize>,
        /// Stored type.
        dtype: Dtype,
        /// The value.
        value: f64,
    },
    /// Shape and type only: the values are the network's (weights, biases).
    Layout {
        /// Shape.
        shape: Vec<usize>,
        /// Stored type.
        dtype: Dtype,
    },
    /// Text.
    Text {
        /// Shape.
        shape: Vec<usize>,
        /// Strings.
        values: Vec<String>,
    },
}

impl Stored {
    fn of(key: &str, v: &Value) -> Self {
        match v {
            Value::Text { shape, data } => Stored::Text {
                shape: shape.clone(),
                values: data.clone(),
            },
            Value::Array { shape, data, dtype } => {
                let (shape, dtype) = (shape.clone(), *dtype);
                if key == "weight" || key == "bias" {
                    Stored::Layout { shape, dtype }
                } else if data.len() <= KEEP_VALUES {
                    Stored::Numbers {
                        shape,
                        dtype,
                        values: data.clone(),
                    }
                } else if let Some(first) = data.first().filter(|f| data.iter().all(|v| v == *f)) {
                    Stored::Uniform {
                        shape,
                        dtype,
                        value: *first,
                    }
                } else {
                    Stored::Layout { shape, dtype }
                }
            }
        }
    }

    /// The stored value, if the spelling holds it.
    fn value(&self) -> Option<Value> {
        Some(match self {
            Stored::Numbers {
                shape,
                dtype,
                values,
            } => Value::typed(shape, values.clone(), *dtype),
            Stored::Uniform {
                shape,
                dtype,
                value,
            } => Value::typed(shape, vec![*value; shape.iter().product()], *dtype),
            Stored::Text { shape, values } => Value::Text {
                shape: shape.clone(),
                data: values.clone(),
            },
            Stored::Layout { .. } => return None,
        })
    }

    /// The one value a neuron parameter was stored with.
    fn scalar(&self) -> Option<f64> {
        match self {
            Stored::Uniform { value, .. } => Some(*value),
            Stored::Numbers { values, .. } => values.first().copied(),
            _ => None,
        }
    }

    /// `values` laid out in this shape and type: one value fills every element; a list fills
    /// an array of its length.
    fn fill(&self, values: &[f64]) -> Result<Value, String> {
        let (shape, dtype) = match self {
            Stored::Numbers { shape, dtype, .. }
            | Stored::Uniform { shape, dtype, .. }
            | Stored::Layout { shape, dtype } => (shape, *dtype),
            Stored::Text { .. } => return Err("a text parameter holds numbers".into()),
        };
        let n: usize = shape.iter().product();
        let data = match values {
            [v] => vec![*v; n],
            _ if values.len() == n => values.to_vec(),
            _ if values.iter().all(|v| *v == values[0]) && !values.is_empty() => {
                vec![values[0]; n]
            }
            _ => {
                return Err(format!(
                    "{} values do not fill shape {shape:?}",
                    values.len()
                ));
            }
        };
        Ok(Value::typed(shape, data, dtype))
    }
}

/// One node as spelled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpelledNode {
    /// Name.
    pub name: String,
    /// NIR type.
    pub kind: String,
    /// Parameters.
    pub params: BTreeMap<String, Stored>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Stored>,
}

/// A graph's spelling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spelling {
    /// The Euler step the graph was imported with, seconds.
    pub dt: f64,
    /// Nodes.
    pub nodes: Vec<SpelledNode>,
    /// Edges, in the file's order.
    pub edges: Vec<(String, String)>,
    /// The graph's metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Stored>,
}

fn stored(m: &BTreeMap<String, Value>) -> BTreeMap<String, Stored> {
    m.iter()
        .map(|(k, v)| (k.clone(), Stored::of(k, v)))
        .collect()
}

impl Spelling {
    /// The spelling of `graph`, imported at `dt`.
    pub fn of(graph: &Graph, dt: f64) -> Self {
        Self {
            dt,
            nodes: graph
                .nodes
                .iter()
                .map(|n| SpelledNode {
                    name: n.name.clone(),
                    kind: n.kind.clone(),
                    params: stored(&n.params),
                    metadata: stored(&n.metadata),
                })
                .collect(),
            edges: graph.edges.clone(),
            metadata: stored(&graph.metadata),
        }
    }

    /// As weights-file metadata (None where a value has no JSON form, such as NaN metadata).
    pub fn to_json(&self) -> Option<String> {
        let text = serde_json::to_string(self).ok()?;
        (Self::from_json(&text).as_ref() == Some(self)).then_some(text)
    }

    /// From weights-file metadata.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// `network` with `params` written as this spelling spells it. An error says where the
    /// network no longer fits the spelling.
    pub fn respell(
        &self,
        network: &Network,
        params: &BTreeMap<String, Tensor>,
    ) -> Result<Graph, String> {
        // By name, so that each node finds its layer or neuron in constant time.
        let by_name = Names {
            layers: network
                .layers
                .iter()
                .map(|l| (l.name.as_str(), l))
                .collect(),
            neurons: network
                .layers
                .iter()
                .filter_map(|l| {
                    let n = l.neuron_model.as_ref()?;
                    Some((n.name.as_deref()?, n))
                })
                .collect(),
        };
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for s in &self.nodes {
            let (params, metadata) = self
                .values(s, &by_name, params)
                .map_err(|m| format!("node `{}`: {m}", s.name))?;
            nodes.push(Node {
                name: s.name.clone(),
                kind: s.kind.clone(),
                params,
                metadata,
            });
        }
        Ok(Graph {
            nodes,
            edges: self.edges.clone(),
            metadata: self
                .metadata
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.value()?)))
                .collect(),
        })
    }

    #[allow(clippy::type_complexity)]
    fn values(
        &self,
        s: &SpelledNode,
        network: &Names<'_>,
        params: &BTreeMap<String, Tensor>,
    ) -> Result<(BTreeMap<String, Value>, BTreeMap<String, Value>), String> {
        let verbatim = |m: &BTreeMap<String, Stored>| -> Result<BTreeMap<String, Value>, String> {
            m.iter()
                .map(|(k, v)| {
                    v.value()
                        .map(|v| (k.clone(), v))
                        .ok_or_else(|| format!("`{k}` holds values the spelling does not keep"))
                })
                .collect()
        };
        let layer = || {
            network
                .layers
                .get(s.name.as_str())
                .copied()
                .ok_or("the network has no layer of this name".to_string())
        };
        let mut metadata = verbatim(&s.metadata)?;
        let mut out = BTreeMap::new();
        match s.kind.as_str() {
            "Conv2d" | "Conv1d" | "Affine" | "Linear" => {
                let l = layer()?;
                for (k, v) in &s.params {
                    out.insert(k.clone(), weighted(k, v, l, params)?);
                }
            }
            "SumPool2d" | "AvgPool2d" => {
                let l = layer()?;
                let LayerKind::AvgPool {
                    kernel,
                    stride,
                    padding,
                    sum,
                } = l.kind
                else {
                    return Err("the network's layer is not an average or sum pool".into());
                };
                if sum != (s.kind == "SumPool2d") {
                    return Err("the network's pool sums where the graph's averages, or the other way round".into());
                }
                for (k, v) in &s.params {
                    let x = match k.as_str() {
                        "kernel_size" => kernel,
                        "stride" => stride,
                        "padding" => padding,
                        _ => return Err(format!("unknown parameter `{k}`")),
                    };
                    out.insert(k.clone(), v.fill(&[x as f64])?);
                }
            }
            "IF" | "LIF" | "CubaLIF" | "LI" | "I" => {
                let spec = network
                    .neurons
                    .get(s.name.as_str())
                    .copied()
                    .ok_or("no layer's neuron has this name")?;
                out = self.neuron(s, spec)?;
                match spec.reset {
                    Some(Reset::Subtract) => {
                        metadata.insert("reset".into(), Value::text("subtract"));
                    }
                    _ => {
                        metadata.remove("reset");
                    }
                }
            }
            _ => out = verbatim(&s.params)?,
        }
        Ok((out, metadata))
    }

    fn neuron(
        &self,
        s: &SpelledNode,
        spec: &LayerNeuron,
    ) -> Result<BTreeMap<String, Value>, String> {
        let kind_fits = matches!(
            (s.kind.as_str(), spec.model),
            ("IF", Neuron::If)
                | ("LIF", Neuron::Lif { .. })
                | ("CubaLIF", Neuron::CubaLif { .. })
                | ("LI", Neuron::Li { .. })
                | ("I", Neuron::I)
        );
        if !kind_fits {
            return Err(format!(
                "the network's neuron is now `{}`",
                spec.model.name()
            ));
        }
        let dt = self.dt;
        let spelled = |k: &str| s.params.get(k).and_then(Stored::scalar);
        // The time constant and input factor that give `leak` and `gain` as import computes
        // them: the graph's own values where they still do, so an unchanged network is
        // written back bit for bit.
        let pair =
            |tau_key: &str, in_key: &str, leak: f64, gain: f64| -> Result<(f64, f64), String> {
                let tau = match spelled(tau_key) {
                    Some(t) if 1.0 - dt / t == leak => t,
                    _ if leak < 1.0 => dt / (1.0 - leak),
                    _ => {
                        return Err(format!(
                            "leak 1 has τ = ∞ (`{tau_key}`), which NIR cannot store"
                        ));
                    }
                };
                let k = dt / tau;
                let r = match spelled(in_key) {
                    Some(r) if k * r == gain => r,
                    _ => gain / k,
                };
                Ok((tau, r))
            };
        let mut v: BTreeMap<&str, f64> = BTreeMap::new();
        match spec.model {
            Neuron::If | Neuron::I => {
                v.insert("r", spec.gain);
            }
            Neuron::Lif { leak } | Neuron::Li { leak } => {
                let (tau, r) = pair("tau", "r", leak, spec.gain)?;
                v.extend([("tau", tau), ("r", r)]);
            }
            Neuron::CubaLif {
                leak,
                synaptic_leak,
            } => {
                let (tau, r) = pair("tau_mem", "r", leak, spec.gain)?;
                let (tau_syn, w_in) = pair("tau_syn", "w_in", synaptic_leak, spec.synaptic_gain)?;
                v.extend([
                    ("tau_mem", tau),
                    ("r", r),
                    ("tau_syn", tau_syn),
                    ("w_in", w_in),
                ]);
            }
        }
        if let Some(t) = spec.threshold {
            v.insert("v_threshold", t);
        }
        let mut out = BTreeMap::new();
        for (k, stored) in &s.params {
            let x = match k.as_str() {
                "v_leak" | "v_reset" => 0.0,
                other => *v
                    .get(other)
                    .ok_or_else(|| format!("unknown parameter `{other}`"))?,
            };
            out.insert(k.clone(), stored.fill(&[x])?);
        }
        Ok(out)
    }
}

/// A network's layers and their own neurons by name.
struct Names<'a> {
    layers: std::collections::HashMap<&'a str, &'a Layer>,
    neurons: std::collections::HashMap<&'a str, &'a LayerNeuron>,
}

/// A weighted layer's parameter in the spelled shape and type.
fn weighted(
    key: &str,
    stored: &Stored,
    l: &Layer,
    params: &BTreeMap<String, Tensor>,
) -> Result<Value, String> {
    let LayerKind::Conv2d {
        stride,
        padding,
        groups,
        ..
    } = l.kind
    else {
        return match key {
            "weight" | "bias" => tensor(key, stored, l, params),
            _ => Err(format!("unknown parameter `{key}` of a linear layer")),
        };
    };
    let pair = |v: [u32; 2]| [v[0] as f64, v[1] as f64];
    match key {
        "weight" | "bias" => tensor(key, stored, l, params),
        "stride" => stored.fill(&pair(stride)),
        "padding" => stored.fill(&pair(padding)),
        "dilation" => stored.fill(&[1.0]),
        "groups" => stored.fill(&[groups as f64]),
        "input_shape" => match stored {
            Stored::Numbers { values, .. } if values.len() == 1 => stored.fill(&[l.input.w as f64]),
            _ => stored.fill(&[l.input.h as f64, l.input.w as f64]),
        },
        _ => Err(format!("unknown parameter `{key}` of a convolution")),
    }
}

fn tensor(
    key: &str,
    stored: &Stored,
    l: &Layer,
    params: &BTreeMap<String, Tensor>,
) -> Result<Value, String> {
    let data: Vec<f64> = match params.get(&format!("{}.{key}", l.name)) {
        Some(t) => t.data.iter().map(|v| *v as f64).collect(),
        None if key == "bias" && !l.bias => vec![0.0],
        None => return Err(format!("the network has no `{}.{key}`", l.name)),
    };
    let Stored::Layout { shape, .. } = stored else {
        return Err(format!("`{key}` was not stored as the network's values"));
    };
    let n: usize = shape.iter().product();
    if data.len() != n && data.len() != 1 {
        return Err(format!(
            "`{key}` has {} values where the graph had shape {shape:?}",
            data.len()
        ));
    }
    stored.fill(&data)
}
