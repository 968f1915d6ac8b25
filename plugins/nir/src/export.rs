//! A network with weights into a NIR graph.
//!
//! A network imported from NIR carries the graph's spelling ([`Spelling`]): it is written back
//! in it, every value taken from the network, and kept only if importing the result gives the
//! network again; otherwise, and for networks made in snnergy, the graph is snnergy's own
//! rendering ([`canonical`]).

use std::collections::BTreeMap;

use snnergy_core::{LayerKind, LayerNeuron, Network, Neuron, Reset, Shape, Source};
use snnergy_engine::model::{Model, Op};

use crate::graph::{Dtype, Graph, Node, Value};
use crate::import::{ImportOptions, import};
use crate::spelling::Spelling;
use crate::{DEFAULT_DT, NirError};

/// The neuron of layers without their own, and the step time constants are written for.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportOptions {
    /// Firing threshold θ.
    pub threshold: f64,
    /// Membrane fraction kept per step (1: IF nodes; below 1: LIF nodes).
    pub leak: f64,
    /// What a spike does to the membrane; by subtraction is recorded in each node's metadata,
    /// as NIR itself resets to `v_reset`.
    pub reset: Reset,
    /// Euler step the LIF time constants are given for, seconds.
    pub dt: f64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            threshold: 1.0 - 1e-4,
            leak: 1.0,
            reset: Reset::Subtract,
            dt: DEFAULT_DT,
        }
    }
}

impl ExportOptions {
    /// Checks every value is one NIR can store and snnergy can read back.
    pub fn validate(&self) -> Result<(), NirError> {
        let bad = |key: &str, v: f64, why: &str| {
            Err(NirError::Graph(format!("export: {key} = {v} {why}")))
        };
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return bad("dt", self.dt, "must be a positive number of seconds");
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return bad("threshold", self.threshold, "must be a positive number");
        }
        if !(self.leak > 0.0 && self.leak <= 1.0) {
            return bad("leak", self.leak, "is outside (0, 1]");
        }
        Ok(())
    }
}

/// A graph and what the export noted.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The graph.
    pub graph: Graph,
    /// How it was written (the spelling kept, or why not).
    pub notes: Vec<String>,
}

/// Writes `model`: in `spelling` when it is given and still fits the network, else in
/// snnergy's own rendering.
pub fn export(
    model: &Model,
    opts: &ExportOptions,
    spelling: Option<&Spelling>,
) -> Result<Exported, NirError> {
    opts.validate()?;
    let mut notes = Vec::new();
    if let Some(s) = spelling {
        match respelled(model, s) {
            Ok(graph) => {
                notes.push("written in the node names and types of the graph it was imported from".into());
                return Ok(Exported { graph, notes });
            }
            Err(why) => notes.push(format!(
                "the graph this network was imported from no longer fits it ({why}): written with snnergy's node names"
            )),
        }
    }
    Ok(Exported {
        graph: canonical(model, opts)?,
        notes,
    })
}

fn respelled(model: &Model, s: &Spelling) -> Result<Graph, String> {
    let net = model.network();
    let graph = s.respell(net, model.params())?;
    let back = import(
        &graph,
        &ImportOptions {
            dt: s.dt,
            network: net.name.clone(),
        },
    )
    .map_err(|e| e.to_string())?;
    let again = snnergy_core::Workload::network(&back.workload).map_err(|e| e.to_string())?;
    same_network(net, &again)?;
    for (k, t) in &back.tensors {
        if model.param(k).map(|m| &m.data) != Some(&t.data) {
            return Err(format!("tensor `{k}` differs"));
        }
    }
    Ok(graph)
}

/// The networks equal up to rounding in neuron parameters re-derived from time constants.
fn same_network(a: &Network, b: &Network) -> Result<(), String> {
    if a.layers.len() != b.layers.len() || a.input != b.input {
        return Err("another number of layers or input".into());
    }
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0);
    for (x, y) in a.layers.iter().zip(&b.layers) {
        let (mut x, mut y) = (x.clone(), y.clone());
        if let (Some(m), Some(n)) = (&x.neuron_model, &y.neuron_model) {
            let (lx, ly) = (m.model.leak(), n.model.leak());
            let (sx, sy) = match (m.model, n.model) {
                (
                    Neuron::CubaLif {
                        synaptic_leak: s, ..
                    },
                    Neuron::CubaLif {
                        synaptic_leak: t, ..
                    },
                ) => (s, t),
                _ => (0.0, 0.0),
            };
            if close(lx, ly)
                && close(sx, sy)
                && close(m.gain, n.gain)
                && close(m.synaptic_gain, n.synaptic_gain)
            {
                y.neuron_model = x.neuron_model.clone();
            }
        }
        x.name.clone_from(&y.name);
        if x != y {
            return Err(format!(
                "layer `{}` differs",
                a.layers
                    .iter()
                    .find(|l| l.name == x.name)
                    .map_or(&x.name, |l| &l.name)
            ));
        }
    }
    Ok(())
}

fn dims(s: Shape) -> Vec<usize> {
    if s.h == 1 && s.w == 1 {
        vec![s.c as usize]
    } else {
        vec![s.c as usize, s.h as usize, s.w as usize]
    }
}

fn ints(s: Shape) -> Value {
    Value::ints(&dims(s).iter().map(|d| *d as i64).collect::<Vec<_>>())
}

fn full(shape: &[usize], v: f64) -> Value {
    Value::array(shape, vec![v; shape.iter().product()])
}

fn floats(shape: &[usize], t: &[f32]) -> Value {
    Value::typed(shape, t.iter().map(|v| *v as f64).collect(), Dtype::F32)
}

/// The neuron a layer runs: its own, or the options' for layers without.
fn neuron_of(own: Option<&LayerNeuron>, opts: &ExportOptions) -> LayerNeuron {
    own.cloned().unwrap_or(LayerNeuron {
        model: if opts.leak < 1.0 {
            Neuron::Lif { leak: opts.leak }
        } else {
            Neuron::If
        },
        threshold: Some(opts.threshold),
        reset: Some(opts.reset),
        gain: 1.0,
        synaptic_gain: 1.0,
        name: None,
    })
}

/// A neuron node for `n` over `shape`, its time constants for step `dt`.
fn neuron_node(
    name: &str,
    n: &LayerNeuron,
    shape: &[usize],
    opts: &ExportOptions,
) -> Result<Node, NirError> {
    let dt = opts.dt;
    // What import reads back: a τ, gain or input weight that overflows is refused there.
    let finite = |key: &str, v: f64| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(NirError::node(
                name,
                n.model.name(),
                format!(
                    "`{key}` = {v} at dt = {dt:e} s overflows what NIR can store: choose a smaller --dt"
                ),
            ))
        }
    };
    let tau = |leak: f64| {
        if leak < 1.0 {
            finite("tau", dt / (1.0 - leak))
        } else {
            Err(NirError::node(
                name,
                n.model.name(),
                "a leak of 1 has τ = ∞, which NIR cannot store: make the neuron `if` (or `i`)",
            ))
        }
    };
    let mut node = match n.model {
        Neuron::If => Node::new(name, "IF").with("r", full(shape, n.gain)),
        Neuron::I => Node::new(name, "I").with("r", full(shape, n.gain)),
        Neuron::Lif { leak } | Neuron::Li { leak } => {
            let t = tau(leak)?;
            Node::new(name, if n.model.spiking() { "LIF" } else { "LI" })
                .with("tau", full(shape, t))
                .with("r", full(shape, finite("r", n.gain * t / dt)?))
                .with("v_leak", full(shape, 0.0))
        }
        Neuron::CubaLif {
            leak,
            synaptic_leak,
        } => {
            let (t, ts) = (tau(leak)?, tau(synaptic_leak)?);
            Node::new(name, "CubaLIF")
                .with("tau_mem", full(shape, t))
                .with("tau_syn", full(shape, ts))
                .with("r", full(shape, finite("r", n.gain * t / dt)?))
                .with(
                    "w_in",
                    full(shape, finite("w_in", n.synaptic_gain * ts / dt)?),
                )
                .with("v_leak", full(shape, 0.0))
        }
    };
    if n.model.spiking() {
        node = node
            .with(
                "v_threshold",
                full(shape, n.threshold.unwrap_or(opts.threshold)),
            )
            .with("v_reset", full(shape, 0.0));
        if n.reset.unwrap_or(opts.reset) == Reset::Subtract {
            node.metadata
                .insert("reset".into(), Value::text("subtract"));
        }
    }
    Ok(node)
}

/// The node of one layer's synaptic op.
fn layer_node(l: &snnergy_core::Layer, op: &Op) -> Result<Node, NirError> {
    Ok(match (op, &l.kind) {
        (Op::Conv(c), LayerKind::Conv2d { groups, .. }) => {
            let (o, k) = c.w.dim();
            let w: Vec<f64> = c.w.iter().map(|v| *v as f64).collect();
            Node::new(&l.name, "Conv2d")
                .with(
                    "weight",
                    Value::typed(
                        &[o, k / (c.kernel[0] * c.kernel[1]), c.kernel[0], c.kernel[1]],
                        w,
                        Dtype::F32,
                    ),
                )
                .with("bias", floats(&[o], &c.bias))
                .with(
                    "stride",
                    Value::ints(&[c.stride[0] as i64, c.stride[1] as i64]),
                )
                .with(
                    "padding",
                    Value::ints(&[c.padding[0] as i64, c.padding[1] as i64]),
                )
                .with("dilation", Value::ints(&[1, 1]))
                .with("groups", Value::int(*groups as i64))
                .with(
                    "input_shape",
                    Value::ints(&[l.input.h as i64, l.input.w as i64]),
                )
        }
        (Op::Linear(lin), _) => {
            let (o, n) = lin.w.dim();
            Node::new(&l.name, "Affine")
                .with(
                    "weight",
                    Value::typed(
                        &[o, n],
                        lin.w.iter().map(|v| *v as f64).collect(),
                        Dtype::F32,
                    ),
                )
                .with("bias", floats(&[o], &lin.bias))
        }
        (Op::AvgPool(p), _) => Node::new(&l.name, if p.sum { "SumPool2d" } else { "AvgPool2d" })
            .with(
                "kernel_size",
                Value::ints(&[p.kernel as i64, p.kernel as i64]),
            )
            .with("stride", Value::ints(&[p.stride as i64, p.stride as i64]))
            .with(
                "padding",
                Value::ints(&[p.padding as i64, p.padding as i64]),
            ),
        (Op::MaxPool(_), _) => {
            return Err(NirError::Layer {
                layer: l.name.clone(),
                message: "NIR has no max pooling node".into(),
            });
        }
        (Op::Add, _) => Node::new(&l.name, "Scale").with("scale", full(&dims(l.output), 1.0)),
        _ => {
            return Err(NirError::Layer {
                layer: l.name.clone(),
                message: "cannot be expressed in NIR".into(),
            });
        }
    })
}

/// snnergy's rendering of `model`: BatchNorm folded into the weights, a neuron node after
/// every neuron layer (its own name, or `<layer>.neuron`), a Flatten before a linear layer
/// that reads a map, a Scale of ones where a residual add sums its inputs (NIR sums the inputs
/// of a node), the readout's integrator (if it has one) before the Output.
pub fn canonical(model: &Model, opts: &ExportOptions) -> Result<Graph, NirError> {
    opts.validate()?;
    let compiled = model
        .compile()
        .map_err(|e| NirError::Graph(e.to_string()))?;
    let net = &compiled.network;
    let mut nodes = vec![Node::new("input", "Input").with("shape", ints(net.input))];
    let mut edges: Vec<(String, String)> = Vec::new();
    // The node carrying each layer's output.
    let mut out_node: Vec<String> = Vec::with_capacity(net.layers.len());
    for (l, op) in net.layers.iter().zip(&compiled.ops) {
        let from: Vec<String> = l
            .sources
            .iter()
            .map(|s| match s {
                Source::Input => "input".to_string(),
                Source::Layer(j) => out_node[*j].clone(),
            })
            .collect();
        let node = layer_node(l, op)?;
        let target = if matches!(l.kind, LayerKind::Linear) && (l.input.h != 1 || l.input.w != 1) {
            let flat = format!("{}.flatten", l.name);
            nodes.push(
                Node::new(&flat, "Flatten")
                    .with("start_dim", Value::int(0))
                    .with("end_dim", Value::int(-1))
                    .with("input_type", ints(l.input)),
            );
            edges.push((flat.clone(), l.name.clone()));
            flat
        } else {
            l.name.clone()
        };
        for f in &from {
            edges.push((f.clone(), target.clone()));
        }
        nodes.push(node);
        let mut out = l.name.clone();
        let own = l.neuron_model.as_ref();
        if l.neuron || own.is_some() {
            let n = neuron_of(own, opts);
            let name = n
                .name
                .clone()
                .unwrap_or_else(|| format!("{}.neuron", l.name));
            nodes.push(neuron_node(&name, &n, &dims(l.output), opts)?);
            edges.push((l.name.clone(), name.clone()));
            out = name;
        }
        out_node.push(out);
    }
    let last = net
        .layers
        .last()
        .ok_or_else(|| NirError::Graph("the network has no layer".into()))?;
    nodes.push(Node::new("output", "Output").with("shape", ints(last.output)));
    edges.push((
        out_node.last().cloned().unwrap_or_default(),
        "output".into(),
    ));
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut names = std::collections::HashSet::new();
    if let Some(dup) = nodes.iter().find(|n| !names.insert(n.name.as_str())) {
        return Err(NirError::Graph(format!(
            "two nodes would be named `{}`: rename a layer or a neuron",
            dup.name
        )));
    }
    Ok(Graph {
        nodes,
        edges,
        metadata: BTreeMap::new(),
    })
}
