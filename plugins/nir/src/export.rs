//! A network with weights into a NIR graph.

use snnergy_core::{LayerKind, Shape, Source};
use snnergy_engine::model::{Model, Op};
use snnergy_engine::sim::Reset;

use crate::graph::{Graph, Node, Value};
use crate::{DEFAULT_DT, NirError};

/// The neuron the graph's spiking nodes describe.
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

fn dims(s: Shape) -> Vec<usize> {
    if s.h == 1 && s.w == 1 {
        vec![s.c as usize]
    } else {
        vec![s.c as usize, s.h as usize, s.w as usize]
    }
}

fn full(shape: &[usize], v: f64) -> Value {
    Value::array(shape, vec![v; shape.iter().product()])
}

/// The graph of `model`: its network with BatchNorm folded into the weights, one spiking node
/// after every neuron layer (named `<layer>.neuron`), a Flatten before a linear layer that
/// reads a feature map, a Scale of ones where a residual add sums its inputs (NIR sums the
/// inputs of a node).
pub fn export(model: &Model, opts: &ExportOptions) -> Result<Graph, NirError> {
    if !(opts.leak > 0.0 && opts.leak <= 1.0) {
        return Err(NirError::Graph(format!(
            "leak = {} is outside (0, 1]",
            opts.leak
        )));
    }
    let compiled = model
        .compile()
        .map_err(|e| NirError::Graph(e.to_string()))?;
    let net = &compiled.network;
    let mut nodes = vec![
        Node::new("input", "Input").with(
            "shape",
            Value::ints(
                &dims(net.input)
                    .iter()
                    .map(|d| *d as i64)
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    let mut edges: Vec<(String, String)> = Vec::new();
    // The node carrying each layer's output.
    let mut out_node: Vec<String> = Vec::with_capacity(net.layers.len());
    let source_node = |s: &Source, out_node: &Vec<String>| match s {
        Source::Input => "input".to_string(),
        Source::Layer(j) => out_node[*j].clone(),
    };
    for (l, op) in net.layers.iter().zip(&compiled.ops) {
        let from: Vec<String> = l
            .sources
            .iter()
            .map(|s| source_node(s, &out_node))
            .collect();
        let node = match (op, &l.kind) {
            (Op::Conv(c), LayerKind::Conv2d { .. }) => {
                let (o, k) = c.w.dim();
                let w: Vec<f64> = c.w.iter().map(|v| *v as f64).collect();
                Node::new(&l.name, "Conv2d")
                    .with(
                        "weight",
                        Value::array(
                            &[o, k / (c.kernel[0] * c.kernel[1]), c.kernel[0], c.kernel[1]],
                            w,
                        ),
                    )
                    .with(
                        "bias",
                        Value::array(&[o], c.bias.iter().map(|v| *v as f64).collect()),
                    )
                    .with(
                        "stride",
                        Value::ints(&[c.stride[0] as i64, c.stride[1] as i64]),
                    )
                    .with(
                        "padding",
                        Value::ints(&[c.padding[0] as i64, c.padding[1] as i64]),
                    )
                    .with("dilation", Value::ints(&[1, 1]))
                    .with("groups", Value::int(1))
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
                        Value::array(&[o, n], lin.w.iter().map(|v| *v as f64).collect()),
                    )
                    .with(
                        "bias",
                        Value::array(&[o], lin.bias.iter().map(|v| *v as f64).collect()),
                    )
            }
            (Op::AvgPool(p), _) => Node::new(&l.name, "AvgPool2d")
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
        };
        if let LayerKind::Linear = l.kind
            && (l.input.h != 1 || l.input.w != 1)
        {
            let flat = format!("{}.flatten", l.name);
            nodes.push(
                Node::new(&flat, "Flatten")
                    .with("start_dim", Value::int(0))
                    .with("end_dim", Value::int(-1))
                    .with(
                        "input_type",
                        Value::ints(&dims(l.input).iter().map(|d| *d as i64).collect::<Vec<_>>()),
                    ),
            );
            for f in &from {
                edges.push((f.clone(), flat.clone()));
            }
            edges.push((flat, l.name.clone()));
        } else {
            for f in &from {
                edges.push((f.clone(), l.name.clone()));
            }
        }
        nodes.push(node);
        let mut out = l.name.clone();
        if l.neuron {
            let shape = dims(l.output);
            let name = format!("{}.neuron", l.name);
            let mut n = if opts.leak < 1.0 {
                let tau = opts.dt / (1.0 - opts.leak);
                Node::new(&name, "LIF")
                    .with("tau", full(&shape, tau))
                    .with("r", full(&shape, tau / opts.dt))
                    .with("v_leak", full(&shape, 0.0))
            } else {
                Node::new(&name, "IF").with("r", full(&shape, 1.0))
            };
            n = n
                .with("v_threshold", full(&shape, opts.threshold))
                .with("v_reset", full(&shape, 0.0));
            if opts.reset == Reset::Subtract {
                n.metadata.insert("reset".into(), Value::text("subtract"));
            }
            nodes.push(n);
            edges.push((l.name.clone(), name.clone()));
            out = name;
        }
        out_node.push(out);
    }
    let last = net
        .layers
        .last()
        .ok_or_else(|| NirError::Graph("the network has no layer".into()))?;
    nodes.push(
        Node::new("output", "Output").with(
            "shape",
            Value::ints(
                &dims(last.output)
                    .iter()
                    .map(|d| *d as i64)
                    .collect::<Vec<_>>(),
            ),
        ),
    );
    edges.push((
        out_node.last().cloned().unwrap_or_default(),
        "output".into(),
    ));
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Graph {
        nodes,
        edges,
        metadata: Default::default(),
    })
}
