//! A NIR graph into a `custom` workload, engine weights and neuron settings.

use std::collections::{BTreeMap, HashMap, VecDeque};

use std::path::PathBuf;

use serde::Serialize;
use snnergy_engine::activity::DatasetKind;
use snnergy_engine::model::Tensor;
use snnergy_engine::sim::{NeuronKind, Readout, Reset};
use snnergy_engine::{EngineActivityConfig, EngineSettings};
use snnergy_models::{Custom, CustomLayer};

use crate::graph::{Graph, Node, Value};
use crate::{DEFAULT_DT, NirError, SUPPORTED};

/// How to read a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// Euler step, seconds, for continuous-time neurons.
    pub dt: f64,
    /// Network name in reports.
    pub network: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            dt: DEFAULT_DT,
            network: "nir".into(),
        }
    }
}

/// The engine's neuron settings a graph implies (keys of `[activity] type = "engine"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NeuronSettings {
    /// IF or LIF.
    pub neuron: NeuronKind,
    /// Membrane fraction kept per step.
    pub leak: f64,
    /// By subtraction or to zero.
    pub reset: Reset,
    /// Firing threshold after folding every neuron's own threshold and gain into the weights.
    pub threshold: f64,
    /// `membrane` (the graph ends in a leaky integrator or a plain layer) or `spike-count`.
    pub readout: Readout,
}

impl NeuronSettings {
    /// Sets these on the engine's settings, leaving data and run settings as they are.
    pub fn apply(&self, settings: &mut EngineSettings) {
        settings.neuron = self.neuron;
        settings.leak = self.leak;
        settings.reset = self.reset;
        settings.threshold = self.threshold;
        settings.readout = self.readout;
    }
}

impl std::fmt::Display for NeuronSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} neurons (", name_of(&self.neuron))?;
        if self.neuron == NeuronKind::Lif {
            write!(f, "leak {}, ", self.leak)?;
        }
        write!(
            f,
            "reset {}, threshold {}), readout by {}",
            name_of(&self.reset),
            self.threshold,
            name_of(&self.readout)
        )
    }
}

/// The images the engine measures an imported network's spikes on.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EngineData {
    /// Data set format.
    pub dataset: DatasetKind,
    /// Folder with its files (default: the data set's usual place, if it has one).
    pub data: Option<PathBuf>,
}

/// Kebab-case name of a unit enum, as in pipelines.
pub(crate) fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// What a graph becomes.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The workload (layer names are node names).
    pub workload: Custom,
    /// Weights under the engine's names (`<layer>.weight`, `<layer>.bias`).
    pub tensors: BTreeMap<String, Tensor>,
    /// Neuron settings for the engine.
    pub neuron: NeuronSettings,
    /// What was translated and how (folded gains, approximations).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
struct Val {
    /// Producing layer (`None`: the network input).
    layer: Option<String>,
    /// c, h, w.
    shape: [usize; 3],
    /// Factor the next weighted layer must apply to its inputs (a sum pool's window size).
    gain: f64,
}

fn array<'a>(n: &'a Node, key: &str) -> Result<(&'a [usize], &'a [f64]), NirError> {
    match n.params.get(key) {
        Some(Value::Array { shape, data }) => Ok((shape, data)),
        Some(_) => Err(NirError::node(
            &n.name,
            &n.kind,
            format!("`{key}` is not numeric"),
        )),
        None => Err(NirError::node(&n.name, &n.kind, format!("has no `{key}`"))),
    }
}

fn pair(n: &Node, key: &str, default: usize) -> Result<usize, NirError> {
    let Some(Value::Array { data, .. }) = n.params.get(key) else {
        return Ok(default);
    };
    let v: Vec<usize> = data.iter().map(|x| *x as usize).collect();
    match v.as_slice() {
        [] => Ok(default),
        [a] => Ok(*a),
        [a, b] if a == b => Ok(*a),
        _ => Err(NirError::node(
            &n.name,
            &n.kind,
            format!("`{key}` {v:?} differs between height and width; snnergy's layers are square"),
        )),
    }
}

fn shape3(s: &[usize]) -> Option<[usize; 3]> {
    match s {
        [c, h, w] => Some([*c, *h, *w]),
        [f] => Some([*f, 1, 1]),
        [c, w] => Some([*c, 1, *w]),
        _ => None,
    }
}

fn uniform(n: &Node, key: &str, data: &[f64]) -> Result<f64, NirError> {
    let first = *data.first().unwrap_or(&0.0);
    if data
        .iter()
        .any(|v| (v - first).abs() > 1e-9 * first.abs().max(1.0))
    {
        return Err(NirError::node(
            &n.name,
            &n.kind,
            format!(
                "`{key}` differs between neurons; snnergy's engine runs one value for the whole network"
            ),
        ));
    }
    Ok(first)
}

struct Builder {
    layers: Vec<CustomLayer>,
    tensors: BTreeMap<String, Tensor>,
    notes: Vec<String>,
    neuron: Option<(NeuronKind, f64, Reset, String)>, // neuron, leak, reset, node that set it
    readout: Readout,
}

fn layer(op: &str, name: &str) -> CustomLayer {
    CustomLayer {
        op: op.into(),
        name: Some(name.into()),
        out: None,
        kernel: None,
        stride: None,
        padding: None,
        groups: None,
        from: None,
        inputs: Vec::new(),
        neuron: Some(false),
        bias: None,
        batchnorm: None,
    }
}

impl Builder {
    fn emit(&mut self, mut l: CustomLayer, src: &Val, shape: [usize; 3]) -> Val {
        let last = self
            .layers
            .last()
            .and_then(|l| l.name.clone())
            .unwrap_or_else(|| "input".into());
        let src_name = src.layer.clone().unwrap_or_else(|| "input".into());
        if l.op != "add" && src_name != last {
            l.from = Some(src_name);
        }
        let name = l.name.clone();
        self.layers.push(l);
        Val {
            layer: name,
            shape,
            gain: 1.0,
        }
    }

    fn find(&mut self, name: &str) -> Option<&mut CustomLayer> {
        self.layers
            .iter_mut()
            .find(|l| l.name.as_deref() == Some(name))
    }

    /// Multiplies output channel `c` of a weighted layer's weights and bias by `f[c]`.
    fn scale_outputs(&mut self, layer: &str, f: &[f64]) {
        for suffix in ["weight", "bias"] {
            if let Some(t) = self.tensors.get_mut(&format!("{layer}.{suffix}")) {
                let per = t.data.len() / f.len().max(1);
                for (c, k) in f.iter().enumerate() {
                    for v in &mut t.data[c * per..(c + 1) * per] {
                        *v = (*v as f64 * k) as f32;
                    }
                }
            }
        }
    }

    /// Folds a per-neuron input gain into the weighted layer feeding `n` (constant per channel
    /// for convolutions, whose weights are shared across positions).
    fn fold(&mut self, n: &Node, src: &Val, gain: &[f64]) -> Result<(), NirError> {
        let [c, h, w] = src.shape;
        let per_channel: Vec<f64> = if gain.len() == 1 {
            vec![gain[0]; c]
        } else if gain.len() == c * h * w {
            let mut v = Vec::with_capacity(c);
            for ch in 0..c {
                let block = &gain[ch * h * w..(ch + 1) * h * w];
                if block
                    .iter()
                    .any(|g| (g - block[0]).abs() > 1e-9 * block[0].abs().max(1.0))
                {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!(
                            "its gain or threshold varies across the positions of channel {ch}; a convolution's weights are shared across positions, so it cannot be folded into them"
                        ),
                    ));
                }
                v.push(block[0]);
            }
            v
        } else if gain.len() == c {
            gain.to_vec()
        } else {
            return Err(NirError::node(
                &n.name,
                &n.kind,
                format!(
                    "has {} parameter values for {c}×{h}×{w} neurons",
                    gain.len()
                ),
            ));
        };
        if per_channel.iter().all(|g| (g - 1.0).abs() < 1e-12) {
            return Ok(());
        }
        let Some(name) = src.layer.clone() else {
            return Err(NirError::node(
                &n.name,
                &n.kind,
                "acts on the network input",
            ));
        };
        let op = self.find(&name).map(|l| l.op.clone()).unwrap_or_default();
        if op != "conv" && op != "linear" {
            return Err(NirError::node(
                &n.name,
                &n.kind,
                format!(
                    "its gain or threshold (≠ 1) would have to be folded into `{name}` ({op}), which has no weights"
                ),
            ));
        }
        self.scale_outputs(&name, &per_channel);
        Ok(())
    }

    fn set_neuron(
        &mut self,
        n: &Node,
        neuron: NeuronKind,
        leak: f64,
        reset: Reset,
    ) -> Result<(), NirError> {
        match &self.neuron {
            None => {
                self.neuron = Some((neuron, leak, reset, n.name.clone()));
                Ok(())
            }
            Some((k, l, r, first)) => {
                if *k != neuron || (l - leak).abs() > 1e-9 || *r != reset {
                    Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!(
                            "{} neuron (leak {leak}, reset {}) differs from `{first}` ({}, leak {l}, reset {}); snnergy's engine runs one neuron model for the whole network",
                            name_of(&neuron),
                            name_of(&reset),
                            name_of(k),
                            name_of(r)
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }
}

fn reset_of(n: &Node) -> Result<Reset, NirError> {
    if let Some(Value::Text { data, .. }) = n.metadata.get("reset")
        && data.first().map(String::as_str) == Some("subtract")
    {
        return Ok(Reset::Subtract);
    }
    let zero = match n.params.get("v_reset") {
        Some(Value::Array { data, .. }) => data.iter().all(|v| *v == 0.0),
        None => true,
        Some(_) => false,
    };
    if zero {
        Ok(Reset::Zero)
    } else {
        Err(NirError::node(
            &n.name,
            &n.kind,
            "resets to a non-zero `v_reset`; the engine resets to 0 or by subtraction",
        ))
    }
}

fn no_leak_potential(n: &Node) -> Result<(), NirError> {
    if let Some(Value::Array { data, .. }) = n.params.get("v_leak")
        && data.iter().any(|v| *v != 0.0)
    {
        return Err(NirError::node(
            &n.name,
            &n.kind,
            "leaks towards a non-zero `v_leak`; the engine's membranes leak towards 0",
        ));
    }
    Ok(())
}

fn topological(g: &Graph) -> Result<Vec<&Node>, NirError> {
    let index: HashMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut indegree = vec![0usize; g.nodes.len()];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for (a, b) in &g.edges {
        let (Some(&i), Some(&j)) = (index.get(a.as_str()), index.get(b.as_str())) else {
            let missing = if index.contains_key(a.as_str()) { b } else { a };
            return Err(NirError::Graph(format!(
                "edge {a} → {b} names node `{missing}`, which the graph does not have"
            )));
        };
        out[i].push(j);
        indegree[j] += 1;
    }
    let mut queue: VecDeque<usize> = (0..g.nodes.len()).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::new();
    while let Some(i) = queue.pop_front() {
        order.push(&g.nodes[i]);
        for &j in &out[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    if order.len() < g.nodes.len() {
        let stuck = (0..g.nodes.len())
            .find(|i| indegree[*i] > 0)
            .map(|i| g.nodes[i].name.clone())
            .unwrap_or_default();
        return Err(NirError::node(
            &stuck,
            &g.nodes
                .iter()
                .find(|n| n.name == stuck)
                .map(|n| n.kind.clone())
                .unwrap_or_default(),
            "lies on a recurrent connection; snnergy's workloads are feed-forward",
        ));
    }
    Ok(order)
}

/// Turns `graph` into a workload, weights and neuron settings.
pub fn import(graph: &Graph, opts: &ImportOptions) -> Result<Imported, NirError> {
    if !(opts.dt > 0.0 && opts.dt.is_finite()) {
        return Err(NirError::Graph(format!(
            "dt = {} must be a positive number of seconds",
            opts.dt
        )));
    }
    // Integer arrays (a graph built in memory rather than read) read like any other numbers.
    let mut graph = graph.clone();
    for n in &mut graph.nodes {
        for v in n.params.values_mut().chain(n.metadata.values_mut()) {
            if let Value::Ints { shape, data } = v {
                *v = Value::Array {
                    shape: std::mem::take(shape),
                    data: data.iter().map(|x| *x as f64).collect(),
                };
            }
        }
    }
    let graph = &graph;
    let order = topological(graph)?;
    let mut preds: HashMap<&str, Vec<&str>> = HashMap::new();
    for (a, b) in &graph.edges {
        preds.entry(b.as_str()).or_default().push(a.as_str());
    }
    let inputs: Vec<&&Node> = order.iter().filter(|n| n.kind == "Input").collect();
    if inputs.len() != 1 {
        return Err(NirError::Graph(format!(
            "a graph needs exactly one Input node, this one has {}",
            inputs.len()
        )));
    }
    let in_shape: Vec<usize> = array(inputs[0], "shape")?
        .1
        .iter()
        .map(|x| *x as usize)
        .collect();
    let input = shape3(&in_shape).ok_or_else(|| {
        NirError::node(
            &inputs[0].name,
            "Input",
            format!("shape {in_shape:?}: snnergy takes channels × height × width"),
        )
    })?;
    let mut b = Builder {
        layers: Vec::new(),
        tensors: BTreeMap::new(),
        notes: Vec::new(),
        neuron: None,
        readout: Readout::Membrane,
    };
    // The engine's threshold: the first spiking node's, when all its neurons share it, so a
    // graph of identical neurons imports without touching its weights.
    let threshold = order
        .iter()
        .find(|n| matches!(n.kind.as_str(), "IF" | "LIF" | "CubaLIF"))
        .and_then(|n| match n.params.get("v_threshold") {
            Some(Value::Array { data, .. })
                if !data.is_empty() && data.iter().all(|v| *v == data[0]) && data[0] > 0.0 =>
            {
                Some(data[0])
            }
            _ => None,
        })
        .unwrap_or(1.0);
    let mut vals: HashMap<String, Val> = HashMap::new();
    vals.insert(
        inputs[0].name.clone(),
        Val {
            layer: None,
            shape: input,
            gain: 1.0,
        },
    );
    let mut output_seen = false;
    for n in order {
        if n.kind == "Input" {
            continue;
        }
        let ps = preds.get(n.name.as_str()).cloned().unwrap_or_default();
        if ps.is_empty() {
            return Err(NirError::node(&n.name, &n.kind, "has no incoming edge"));
        }
        let ins: Vec<Val> = ps
            .iter()
            .map(|p| {
                vals.get(*p).cloned().ok_or_else(|| {
                    NirError::node(
                        &n.name,
                        &n.kind,
                        format!("reads `{p}`, which produced nothing snnergy can use"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        // NIR sums the inputs of a node; a Scale of ones with several inputs is an add.
        let ones_scale = n.kind == "Scale"
            && matches!(n.params.get("scale"), Some(Value::Array { data, .. }) if data.iter().all(|v| *v == 1.0));
        let src = if ins.len() == 1 {
            ins[0].clone()
        } else {
            let name = if ones_scale {
                n.name.clone()
            } else {
                format!("{}.sum", n.name)
            };
            let shape = ins[0].shape;
            if ins.iter().any(|v| v.shape != shape) {
                return Err(NirError::node(
                    &n.name,
                    &n.kind,
                    "sums inputs of different shapes",
                ));
            }
            let mut l = layer("add", &name);
            l.inputs = ins
                .iter()
                .map(|v| v.layer.clone().unwrap_or_else(|| "input".into()))
                .collect();
            let v = b.emit(l, &ins[0], shape);
            if ones_scale {
                vals.insert(n.name.clone(), v);
                continue;
            }
            v
        };
        let [c, h, w] = src.shape;
        let v = match n.kind.as_str() {
            "Output" => {
                output_seen = true;
                if let Some(name) = &src.layer
                    && let Some(l) = b.find(name)
                    && l.neuron == Some(true)
                {
                    // The readout neurons spike: the engine counts them instead.
                    l.neuron = Some(false);
                    b.readout = Readout::SpikeCount;
                }
                continue;
            }
            "Conv2d" | "Conv1d" => {
                let (ws, wd) = array(n, "weight")?;
                let (o, ipg, kh, kw) = match (n.kind.as_str(), ws) {
                    ("Conv2d", [o, i, kh, kw]) => (*o, *i, *kh, *kw),
                    ("Conv1d", [o, i, 1]) => (*o, *i, 1, 1),
                    ("Conv1d", _) => {
                        return Err(NirError::node(
                            &n.name,
                            &n.kind,
                            "snnergy's convolutions are 2-D and square; only kernel size 1 maps",
                        ));
                    }
                    _ => {
                        return Err(NirError::node(
                            &n.name,
                            &n.kind,
                            format!("weight of shape {ws:?}"),
                        ));
                    }
                };
                if kh != kw {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!("kernel {kh}×{kw} is not square"),
                    ));
                }
                if pair(n, "dilation", 1)? != 1 {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        "dilation ≠ 1 is not supported",
                    ));
                }
                let groups = match n.params.get("groups") {
                    Some(Value::Array { data, .. }) if !data.is_empty() => data[0] as usize,
                    _ => 1,
                };
                if ipg * groups != c {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!(
                            "weight takes {} input channels, its input has {c}",
                            ipg * groups
                        ),
                    ));
                }
                let (s, p) = (pair(n, "stride", 1)?, pair(n, "padding", 0)?);
                let oh = (h + 2 * p).checked_sub(kh).map(|x| x / s + 1).unwrap_or(0);
                let ow = (w + 2 * p).checked_sub(kw).map(|x| x / s + 1).unwrap_or(0);
                let mut l = layer("conv", &n.name);
                l.out = Some(o as u32);
                l.kernel = Some(kh as u32);
                l.stride = Some(s as u32);
                l.padding = Some(p as u32);
                if groups != 1 {
                    l.groups = Some(groups as u32);
                }
                let bias = match n.params.get("bias") {
                    Some(Value::Array { data, .. }) if data.iter().any(|v| *v != 0.0) => {
                        Some(data.clone())
                    }
                    _ => None,
                };
                l.bias = Some(bias.is_some());
                b.tensors.insert(
                    format!("{}.weight", n.name),
                    Tensor {
                        shape: vec![o, ipg, kh, kw],
                        data: wd.iter().map(|x| (x * src.gain) as f32).collect(),
                    },
                );
                if let Some(bias) = bias {
                    b.tensors.insert(
                        format!("{}.bias", n.name),
                        Tensor {
                            shape: vec![o],
                            data: bias.iter().map(|x| *x as f32).collect(),
                        },
                    );
                }
                b.emit(l, &src, [o, oh, ow])
            }
            "Affine" | "Linear" => {
                let (ws, wd) = array(n, "weight")?;
                let [o, i] = ws else {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!("weight of shape {ws:?}"),
                    ));
                };
                if *i != c * h * w {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!("takes {i} inputs, its input has {c}×{h}×{w}"),
                    ));
                }
                let bias = match (n.kind.as_str(), n.params.get("bias")) {
                    ("Affine", Some(Value::Array { data, .. }))
                        if data.iter().any(|v| *v != 0.0) =>
                    {
                        Some(data.clone())
                    }
                    _ => None,
                };
                let mut l = layer("linear", &n.name);
                l.out = Some(*o as u32);
                l.bias = Some(bias.is_some());
                b.tensors.insert(
                    format!("{}.weight", n.name),
                    Tensor {
                        shape: vec![*o, *i],
                        data: wd.iter().map(|x| (x * src.gain) as f32).collect(),
                    },
                );
                if let Some(bias) = bias {
                    b.tensors.insert(
                        format!("{}.bias", n.name),
                        Tensor {
                            shape: vec![*o],
                            data: bias.iter().map(|x| *x as f32).collect(),
                        },
                    );
                }
                b.emit(l, &src, [*o, 1, 1])
            }
            "IF" | "LIF" | "CubaLIF" => {
                let Some(name) = src.layer.clone() else {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        "acts on the network input; snnergy's neurons follow a layer",
                    ));
                };
                let (op, already) = b
                    .find(&name)
                    .map(|l| (l.op.clone(), l.neuron == Some(true)))
                    .unwrap_or_default();
                if op == "avgpool" || op == "maxpool" {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!(
                            "follows pooling layer `{name}`; snnergy puts neurons after convolution, linear and add layers"
                        ),
                    ));
                }
                if already {
                    return Err(NirError::node(
                        &n.name,
                        &n.kind,
                        format!("is a second neuron after `{name}`"),
                    ));
                }
                let (_, th) = array(n, "v_threshold")?;
                let (_, r) = array(n, "r")?;
                let reset = reset_of(n)?;
                let (neuron, leak, gain): (NeuronKind, f64, Vec<f64>) = match n.kind.as_str() {
                    "IF" => (
                        NeuronKind::If,
                        1.0,
                        th.iter()
                            .enumerate()
                            .map(|(j, t)| r[j.min(r.len() - 1)] * threshold / t)
                            .collect(),
                    ),
                    _ => {
                        no_leak_potential(n)?;
                        let key = if n.kind == "LIF" { "tau" } else { "tau_mem" };
                        let (_, tau) = array(n, key)?;
                        let tau = uniform(n, key, tau)?;
                        let k = opts.dt / tau;
                        if !(k > 0.0 && k <= 1.0) {
                            return Err(NirError::node(
                                &n.name,
                                &n.kind,
                                format!(
                                    "dt/τ = {k} is outside (0, 1]: choose a smaller dt (now {} s)",
                                    opts.dt
                                ),
                            ));
                        }
                        let w_in: Vec<f64> = match n.params.get("w_in") {
                            Some(Value::Array { data, .. }) if n.kind == "CubaLIF" => data.clone(),
                            _ => vec![1.0],
                        };
                        if n.kind == "CubaLIF" {
                            b.notes.push(format!("`{}`: CubaLIF's synaptic current (tau_syn) is not modelled by the engine; it runs as LIF with tau_mem, so measured spike rates are approximate", n.name));
                        }
                        let gains = th
                            .iter()
                            .enumerate()
                            .map(|(j, t)| {
                                k * r[j.min(r.len() - 1)] * w_in[j.min(w_in.len() - 1)] * threshold
                                    / t
                            })
                            .collect();
                        (NeuronKind::Lif, 1.0 - k, gains)
                    }
                };
                b.fold(n, &src, &gain)?;
                b.set_neuron(n, neuron, leak, reset)?;
                if let Some(l) = b.find(&name) {
                    l.neuron = Some(true);
                }
                src.clone()
            }
            "LI" | "I" => {
                b.notes.push(format!("`{}` ({}): a non-spiking integrator, read as the engine's membrane readout of `{}`", n.name, n.kind, src.layer.clone().unwrap_or_default()));
                src.clone()
            }
            "Scale" => {
                let (_, s) = array(n, "scale")?;
                b.fold(n, &src, s)?;
                src.clone()
            }
            "SumPool2d" | "AvgPool2d" => {
                let k = pair(n, "kernel_size", 2)?;
                let s = pair(n, "stride", k)?;
                let p = pair(n, "padding", 0)?;
                let mut l = layer("avgpool", &n.name);
                l.kernel = Some(k as u32);
                l.stride = Some(s as u32);
                l.padding = Some(p as u32);
                l.neuron = None;
                let oh = (h + 2 * p).saturating_sub(k) / s + 1;
                let ow = (w + 2 * p).saturating_sub(k) / s + 1;
                let mut v = b.emit(l, &src, [c, oh, ow]);
                if n.kind == "SumPool2d" {
                    // A sum pool is k² times an average pool: the factor goes into the next
                    // layer's weights.
                    v.gain = src.gain * (k * k) as f64;
                } else {
                    v.gain = src.gain;
                }
                v
            }
            "Flatten" => Val {
                layer: src.layer.clone(),
                shape: [c * h * w, 1, 1],
                gain: src.gain,
            },
            "Delay" => {
                return Err(NirError::node(
                    &n.name,
                    &n.kind,
                    "synaptic delays are not modelled by snnergy",
                ));
            }
            "Threshold" => {
                return Err(NirError::node(
                    &n.name,
                    &n.kind,
                    "a stateless threshold has no counterpart in snnergy's IF and LIF neurons",
                ));
            }
            "NIRGraph" => {
                return Err(NirError::node(
                    &n.name,
                    &n.kind,
                    "nested graphs are not supported: flatten the graph first",
                ));
            }
            other => {
                return Err(NirError::node(
                    &n.name,
                    other,
                    format!("unknown node type (snnergy reads {})", SUPPORTED.join(", ")),
                ));
            }
        };
        vals.insert(n.name.clone(), v);
    }
    if !output_seen {
        return Err(NirError::Graph("the graph has no Output node".into()));
    }
    if b.layers.iter().all(|l| l.op != "conv" && l.op != "linear") {
        return Err(NirError::Graph(
            "the graph has no Conv2d, Affine or Linear node".into(),
        ));
    }
    let (neuron, leak, reset, _) = b
        .neuron
        .clone()
        .unwrap_or_else(|| (NeuronKind::If, 1.0, Reset::Subtract, String::new()));
    if leak < 1.0 {
        b.notes.push(format!(
            "LIF neurons stepped with dt = {} s: leak = 1 − dt/τ = {leak}",
            opts.dt
        ));
    }
    let workload = Custom {
        network: opts.network.clone(),
        input: [input[0] as u32, input[1] as u32, input[2] as u32],
        layers: b.layers,
    };
    Ok(Imported {
        workload,
        tensors: b.tensors,
        neuron: NeuronSettings {
            neuron,
            leak,
            reset,
            threshold,
            readout: b.readout,
        },
        notes: b.notes,
    })
}

impl Imported {
    /// A pipeline that analyses the imported network with the engine measuring its spikes:
    /// `weights` is the weight file's path relative to the pipeline, `data` the images to
    /// measure on, if known. Without data the activity is a uniform assumption and the engine
    /// table is left commented out, ready to fill in.
    pub fn pipeline_toml(
        &self,
        weights: &str,
        timesteps: u32,
        data: Option<&EngineData>,
    ) -> String {
        let mut doc = toml::Table::new();
        let mut analysis = toml::Table::new();
        analysis.insert("timesteps".into(), toml::Value::Integer(timesteps as i64));
        doc.insert("analysis".into(), toml::Value::Table(analysis));
        let mut workload = toml::Table::try_from(&self.workload).unwrap_or_default();
        workload.insert("type".into(), toml::Value::String("custom".into()));
        let mut config = EngineActivityConfig {
            weights: weights.into(),
            ..Default::default()
        };
        self.neuron.apply(&mut config.settings);
        if let Some(d) = data {
            config.settings.dataset = d.dataset;
            config.settings.data = d.data.clone();
        }
        // What the graph decided, and the data if given; the engine's defaults for the rest.
        let mut keep = vec!["weights", "threshold", "neuron", "reset", "readout"];
        if self.neuron.neuron == NeuronKind::Lif {
            keep.push("leak");
        }
        if data.is_some() {
            keep.extend(["dataset", "data"]);
        }
        let mut engine = toml::Table::new();
        engine.insert("type".into(), toml::Value::String("engine".into()));
        for (k, v) in toml::Table::try_from(&config).unwrap_or_default() {
            if keep.contains(&k.as_str()) {
                engine.insert(k, v);
            }
        }
        let energy = |t: &str| toml::Value::String(t.into());
        let arch = |t: &str, e: &str| {
            let mut a = toml::Table::new();
            a.insert("type".into(), energy(t));
            a.insert("energy".into(), energy(e));
            toml::Value::Table(a)
        };
        let mut head = String::from("# Imported from a NIR graph by `snnergy import`.\n");
        for n in &self.notes {
            head.push_str(&format!("# {n}\n"));
        }
        let archs = toml::Value::Array(vec![
            arch("classical", "horowitz-45nm"),
            arch("neuromorphic", "yan-22nm"),
        ]);
        let mut tail = String::new();
        if data.is_none() {
            let mut uniform = toml::Table::new();
            uniform.insert("type".into(), toml::Value::String("uniform".into()));
            uniform.insert(
                "spike_rates".into(),
                toml::Value::Array(vec![toml::Value::Float(0.05), toml::Value::Float(0.1)]),
            );
            doc.insert("activity".into(), toml::Value::Table(uniform));
            let mut t = toml::Table::new();
            t.insert("activity".into(), toml::Value::Table(engine));
            tail.push_str(
                "\n# To measure the spike rates on data instead, replace [activity] with this table and set\n# `dataset` and `data` (`snnergy describe engine`):\n",
            );
            for line in toml::to_string(&t).unwrap_or_default().lines() {
                tail.push_str(&format!("# {line}\n"));
            }
        } else {
            doc.insert("activity".into(), toml::Value::Table(engine));
        }
        doc.insert("workload".into(), toml::Value::Table(workload));
        doc.insert("architecture".into(), archs);
        format!(
            "{head}\n{}{tail}",
            toml::to_string(&doc).unwrap_or_default()
        )
    }
}
