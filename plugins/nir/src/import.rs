//! A NIR graph into a `custom` workload, engine weights and each layer's own neuron.
//!
//! Nothing is folded: weights are the graph's, every neuron node becomes the neuron of the
//! layer feeding it with its own threshold, reset, decay and input gain, a sum pool stays a
//! sum pool and the readout stays what the graph ends in. What has no counterpart is an error
//! naming the node and the key. The graph is checked as a whole first (one Input, one Output,
//! no duplicated, dangling or recurrent edges, every node reached and reaching the output), in
//! time linear in its size.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use serde::Serialize;
use snnergy_core::{LayerNeuron, Neuron, Reset};
use snnergy_engine::EngineActivityConfig;
use snnergy_engine::activity::DatasetKind;
use snnergy_engine::model::Tensor;
use snnergy_models::{Custom, CustomLayer, CustomNeuron, NeuronField};

use crate::graph::{Dtype, Graph, MAX_NODES, Node, Value};
use crate::spelling::Spelling;
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

/// How the class is read from the network's last layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// The last layer's neurons spike: the class with the most spikes.
    SpikeCount,
    /// A leaky integrator (`LI`) after the last layer: the largest membrane.
    LeakyIntegrator,
    /// An integrator (`I`) after the last layer, or the layer's output itself: the largest
    /// membrane (the sum of its inputs).
    Integrator,
}

/// The images the engine measures an imported network's spikes on.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EngineData {
    /// Data set format.
    pub dataset: DatasetKind,
    /// Folder with its files (default: the data set's usual place, if it has one).
    pub data: Option<PathBuf>,
}

/// What a graph becomes.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The workload (layer names are node names; each layer with its own neuron).
    pub workload: Custom,
    /// Weights under the engine's names (`<layer>.weight`, `<layer>.bias`), as in the graph.
    pub tensors: BTreeMap<String, Tensor>,
    /// How the class is read.
    pub readout: Readout,
    /// What was translated and how.
    pub notes: Vec<String>,
    /// How the graph spelled the network: [`crate::export`] writes it back the same way.
    pub spelling: Spelling,
}

/// A node's output as far as the network is concerned.
#[derive(Clone, Debug)]
struct Val {
    /// Producing layer (`None`: the network input).
    layer: Option<String>,
    /// c, h, w.
    shape: [usize; 3],
    /// Whether the value has passed the layer's neuron (its spikes, not its current).
    post: bool,
}

pub(crate) fn err(n: &Node, message: impl Into<String>) -> NirError {
    NirError::node(&n.name, &n.kind, message)
}

/// Numbers of `key`, required.
fn array<'a>(n: &'a Node, key: &str) -> Result<(&'a [usize], &'a [f64]), NirError> {
    match n.params.get(key) {
        Some(Value::Array { shape, data, .. }) => Ok((shape, data)),
        Some(Value::Text { .. }) => Err(err(n, format!("`{key}` is text, not numbers"))),
        None => Err(err(n, format!("has no `{key}`"))),
    }
}

/// The one value every neuron of a node shares for `key` (NIR stores one per neuron).
pub(crate) fn scalar(n: &Node, key: &str) -> Result<f64, NirError> {
    let (_, data) = array(n, key)?;
    let Some(&first) = data.first() else {
        return Err(err(n, format!("`{key}` is empty")));
    };
    if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
        return Err(err(n, format!("`{key}` = {bad} is not a finite number")));
    }
    if data.iter().any(|v| *v != first) {
        let (lo, hi) = data
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        return Err(err(
            n,
            format!(
                "`{key}` differs between neurons ({lo} … {hi}); snnergy runs one value per layer, and folding it into the weights would change them"
            ),
        ));
    }
    Ok(first)
}

/// A non-negative integer parameter given once or per axis (both equal: snnergy's layers
/// are square). `min` is the smallest allowed value.
fn square(n: &Node, key: &str, default: Option<usize>, min: usize) -> Result<usize, NirError> {
    let data = match n.params.get(key) {
        None => {
            return default.ok_or_else(|| err(n, format!("has no `{key}`")));
        }
        Some(_) => array(n, key)?.1,
    };
    let v = match data {
        [] => default.ok_or_else(|| err(n, format!("`{key}` is empty")))?,
        [a] => int(n, key, *a)?,
        [a, b] if a == b => int(n, key, *a)?,
        _ => {
            return Err(err(
                n,
                format!(
                    "`{key}` {data:?} differs between height and width; snnergy's layers are square"
                ),
            ));
        }
    };
    if v < min {
        return Err(err(n, format!("`{key}` = {v} must be at least {min}")));
    }
    Ok(v)
}

/// `v` as a size: a whole number in 0..=u32::MAX.
fn int(n: &Node, key: &str, v: f64) -> Result<usize, NirError> {
    if v.fract() != 0.0 || !(0.0..=u32::MAX as f64).contains(&v) {
        return Err(err(
            n,
            format!("`{key}` = {v} is not a whole number in 0..={}", u32::MAX),
        ));
    }
    Ok(v as usize)
}

fn shape3(n: &Node, key: &str, s: &[f64]) -> Result<[usize; 3], NirError> {
    let dims = s
        .iter()
        .map(|v| int(n, key, *v))
        .collect::<Result<Vec<_>, _>>()?;
    if dims.contains(&0) {
        return Err(err(n, format!("`{key}` {dims:?} has an empty dimension")));
    }
    match dims.as_slice() {
        [c, h, w] => Ok([*c, *h, *w]),
        [f] => Ok([*f, 1, 1]),
        [c, w] => Ok([*c, 1, *w]),
        _ => Err(err(
            n,
            format!("`{key}` {dims:?}: snnergy takes channels × height × width"),
        )),
    }
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
        neuron: Some(NeuronField::Flag(false)),
        bias: None,
        batchnorm: None,
    }
}

/// The graph checked as a whole: its nodes in an order where every edge points forward,
/// each node's inputs, the Input and the Output.
struct Checked<'g> {
    order: Vec<&'g Node>,
    preds: HashMap<&'g str, Vec<&'g str>>,
    input: &'g Node,
    output: &'g Node,
}

fn check_graph(g: &Graph) -> Result<Checked<'_>, NirError> {
    if g.nodes.len() > MAX_NODES {
        return Err(NirError::Graph(format!(
            "{} nodes; snnergy reads graphs of at most {MAX_NODES}",
            g.nodes.len()
        )));
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(g.nodes.len());
    for (i, n) in g.nodes.iter().enumerate() {
        if index.insert(n.name.as_str(), i).is_some() {
            return Err(err(n, "the graph has two nodes of this name"));
        }
    }
    let mut seen = HashSet::with_capacity(g.edges.len());
    let mut outs: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    let mut indegree = vec![0usize; g.nodes.len()];
    let mut preds: HashMap<&str, Vec<&str>> = HashMap::new();
    for (a, b) in &g.edges {
        let (Some(&i), Some(&j)) = (index.get(a.as_str()), index.get(b.as_str())) else {
            let missing = if index.contains_key(a.as_str()) { b } else { a };
            return Err(NirError::Graph(format!(
                "edge {a} → {b} names node `{missing}`, which the graph does not have"
            )));
        };
        if !seen.insert((i, j)) {
            return Err(NirError::Graph(format!(
                "edge {a} → {b} is listed twice: NIR would sum the same input twice, which is a network nobody meant"
            )));
        }
        outs[i].push(j);
        indegree[j] += 1;
        preds.entry(b.as_str()).or_default().push(a.as_str());
    }
    let of_kind = |k: &str| g.nodes.iter().filter(|n| n.kind == k).collect::<Vec<_>>();
    let (inputs, outputs) = (of_kind("Input"), of_kind("Output"));
    if inputs.len() != 1 || outputs.len() != 1 {
        return Err(NirError::Graph(format!(
            "a graph needs exactly one Input and one Output node, this one has {} and {}",
            inputs.len(),
            outputs.len()
        )));
    }
    for (i, n) in g.nodes.iter().enumerate() {
        if n.kind == "Input" && indegree[i] > 0 {
            return Err(err(n, "the Input has an incoming edge"));
        }
        if n.kind != "Input" && indegree[i] == 0 {
            return Err(err(n, "has no incoming edge"));
        }
        if n.kind == "Output" && !outs[i].is_empty() {
            return Err(err(n, "the Output has an outgoing edge"));
        }
        if n.kind != "Output" && outs[i].is_empty() {
            return Err(err(n, "feeds no other node: its output would go nowhere"));
        }
    }
    let mut queue: VecDeque<usize> = (0..g.nodes.len()).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(g.nodes.len());
    while let Some(i) = queue.pop_front() {
        order.push(&g.nodes[i]);
        for &j in &outs[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    if order.len() < g.nodes.len() {
        let stuck = (0..g.nodes.len())
            .find(|i| indegree[*i] > 0)
            .map(|i| &g.nodes[i])
            .unwrap_or(inputs[0]);
        return Err(err(
            stuck,
            "lies on a recurrent connection; snnergy's workloads are feed-forward",
        ));
    }
    Ok(Checked {
        order,
        preds,
        input: inputs[0],
        output: outputs[0],
    })
}

struct Builder {
    layers: Vec<CustomLayer>,
    /// Layer index by name: lookups stay constant-time however large the graph.
    index: HashMap<String, usize>,
    tensors: BTreeMap<String, Tensor>,
    notes: Vec<String>,
    dt: f64,
}

impl Builder {
    fn emit(&mut self, mut l: CustomLayer, src: &Val, shape: [usize; 3]) -> Val {
        let last = self.layers.last().and_then(|l| l.name.clone());
        if l.op != "add" && src.layer != last {
            l.from = Some(src.layer.clone().unwrap_or_else(|| "input".into()));
        }
        let name = l.name.clone().unwrap_or_default();
        self.index.insert(name.clone(), self.layers.len());
        self.layers.push(l);
        Val {
            layer: Some(name),
            shape,
            post: false,
        }
    }

    fn get(&mut self, name: &str) -> Option<&mut CustomLayer> {
        let i = *self.index.get(name)?;
        self.layers.get_mut(i)
    }

    /// Weights as the engine runs them (f32), noting where float64 values were rounded.
    fn tensor(&mut self, n: &Node, key: &str, shape: Vec<usize>) -> Result<(), NirError> {
        let (_, data) = array(n, key)?;
        if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
            return Err(err(n, format!("`{key}` holds {bad}, not a finite number")));
        }
        if let Some(Value::Array {
            dtype: Dtype::F64, ..
        }) = n.params.get(key)
            && data.iter().any(|v| (*v as f32) as f64 != *v)
        {
            self.notes.push(format!(
                "`{}`: `{key}` is float64; the engine runs float32, so it is rounded to the nearest float32 (and written back so)",
                n.name
            ));
        }
        let name = if key == "weight" { "weight" } else { "bias" };
        self.tensors.insert(
            format!("{}.{name}", n.name),
            Tensor {
                shape,
                data: data.iter().map(|x| *x as f32).collect(),
            },
        );
        Ok(())
    }

    /// A bias vector of `out` values where the node has a non-zero one.
    fn bias(&mut self, n: &Node, out: usize) -> Result<bool, NirError> {
        let Some(Value::Array { data, .. }) = n.params.get("bias") else {
            return Ok(false);
        };
        if data.len() != out {
            return Err(err(
                n,
                format!("`bias` has {} values for {out} outputs", data.len()),
            ));
        }
        if data.iter().all(|v| *v == 0.0) {
            return Ok(false);
        }
        self.tensor(n, "bias", vec![out])?;
        Ok(true)
    }

    fn conv(&mut self, n: &Node, src: &Val) -> Result<Val, NirError> {
        let [c, h, w] = src.shape;
        let (ws, _) = array(n, "weight")?;
        let (o, ipg, k) = match (n.kind.as_str(), ws) {
            ("Conv2d", [o, i, kh, kw]) if kh == kw => (*o, *i, *kh),
            ("Conv2d", [_, _, kh, kw]) => {
                return Err(err(n, format!("kernel {kh}×{kw} is not square")));
            }
            ("Conv1d", [o, i, 1]) => (*o, *i, 1),
            ("Conv1d", _) => {
                return Err(err(
                    n,
                    "snnergy's convolutions are 2-D and square; of 1-D ones only kernel size 1 maps",
                ));
            }
            _ => return Err(err(n, format!("`weight` of shape {ws:?}"))),
        };
        if o == 0 || ipg == 0 || k == 0 || o > u32::MAX as usize {
            return Err(err(
                n,
                format!("`weight` of shape {ws:?} is empty or too large"),
            ));
        }
        if square(n, "dilation", Some(1), 1)? != 1 {
            return Err(err(n, "`dilation` ≠ 1 is not supported"));
        }
        let groups = square(n, "groups", Some(1), 1)?;
        if ipg.checked_mul(groups) != Some(c) || o % groups != 0 {
            return Err(err(
                n,
                format!(
                    "`groups` = {groups} with {ipg} input channels per group does not fit its {c}-channel input and {o} outputs"
                ),
            ));
        }
        let s = square(n, "stride", Some(1), 1)?;
        let p = square(n, "padding", Some(0), 0)?;
        if let Some(Value::Array { data, .. }) = n.params.get("input_shape")
            && !data.is_empty()
        {
            let want: &[f64] = if n.kind == "Conv1d" {
                &[w as f64]
            } else {
                &[h as f64, w as f64]
            };
            if data.as_slice() != want {
                return Err(err(
                    n,
                    format!("`input_shape` {data:?} differs from its input's {h}×{w}"),
                ));
            }
        }
        let out = |size: usize| (size + 2 * p).checked_sub(k).map(|x| x / s + 1);
        let (Some(oh), Some(ow)) = (out(h), out(w)) else {
            return Err(err(
                n,
                format!("kernel {k} is larger than its padded {h}×{w} input"),
            ));
        };
        let mut l = layer("conv", &n.name);
        l.out = Some(o as u32);
        l.kernel = Some(k as u32);
        l.stride = Some(s as u32);
        l.padding = Some(p as u32);
        if groups != 1 {
            l.groups = Some(groups as u32);
        }
        self.tensor(n, "weight", vec![o, ipg, k, k])?;
        l.bias = Some(self.bias(n, o)?);
        Ok(self.emit(l, src, [o, oh, ow]))
    }

    fn affine(&mut self, n: &Node, src: &Val) -> Result<Val, NirError> {
        let [c, h, w] = src.shape;
        let (ws, _) = array(n, "weight")?;
        let [o, i] = ws else {
            return Err(err(n, format!("`weight` of shape {ws:?}")));
        };
        if h != 1 || w != 1 {
            return Err(err(
                n,
                format!(
                    "reads a {c}×{h}×{w} map: NIR applies it along the last axis, snnergy's linear layers read a flat vector; put a Flatten before it"
                ),
            ));
        }
        if *i != c || *o == 0 || *o > u32::MAX as usize {
            return Err(err(
                n,
                format!("`weight` of shape {ws:?} does not take its {c} inputs"),
            ));
        }
        let mut l = layer("linear", &n.name);
        l.out = Some(*o as u32);
        self.tensor(n, "weight", vec![*o, *i])?;
        l.bias = Some(n.kind == "Affine" && self.bias(n, *o)?);
        Ok(self.emit(l, src, [*o, 1, 1]))
    }

    fn pool(&mut self, n: &Node, src: &Val) -> Result<Val, NirError> {
        let [c, h, w] = src.shape;
        let k = square(n, "kernel_size", None, 1)?;
        let s = square(n, "stride", Some(k), 1)?;
        let p = square(n, "padding", Some(0), 0)?;
        let out = |size: usize| (size + 2 * p).checked_sub(k).map(|x| x / s + 1);
        let (Some(oh), Some(ow)) = (out(h), out(w)) else {
            return Err(err(
                n,
                format!("window {k} is larger than its padded {h}×{w} input"),
            ));
        };
        let mut l = layer(
            if n.kind == "SumPool2d" {
                "sumpool"
            } else {
                "avgpool"
            },
            &n.name,
        );
        l.kernel = Some(k as u32);
        l.stride = Some(s as u32);
        l.padding = Some(p as u32);
        l.neuron = None;
        Ok(self.emit(l, src, [c, oh, ow]))
    }

    fn flatten(&mut self, n: &Node, src: &Val) -> Result<Val, NirError> {
        let [c, h, w] = src.shape;
        let rank = if h == 1 && w == 1 { 1 } else { 3 };
        let dim = |key: &str, default: f64| -> Result<f64, NirError> {
            match n.params.get(key) {
                None => Ok(default),
                Some(_) => scalar(n, key),
            }
        };
        let (start, end) = (dim("start_dim", 0.0)?, dim("end_dim", -1.0)?);
        if start != 0.0 || !(end == -1.0 || end == (rank - 1) as f64) {
            return Err(err(
                n,
                format!(
                    "flattens dimensions {start}..{end} of a {c}×{h}×{w} map; snnergy flattens whole maps (start_dim 0, end_dim −1)"
                ),
            ));
        }
        if let Some(Value::Array { data, .. }) = n.params.get("input_type")
            && !data.is_empty()
            && shape3(n, "input_type", data)? != src.shape
        {
            return Err(err(
                n,
                format!("`input_type` {data:?} differs from its {c}×{h}×{w} input"),
            ));
        }
        Ok(Val {
            shape: [c * h * w, 1, 1],
            ..src.clone()
        })
    }
}

/// The fraction kept per step of a state with time constant τ stepped at `dt`:
/// (1 − dt/τ, dt/τ), checked to lie in a decay.
fn decay(n: &Node, key: &str, tau: f64, dt: f64) -> Result<(f64, f64), NirError> {
    let k = dt / tau;
    if !(tau > 0.0 && k > 0.0 && k <= 1.0) {
        return Err(err(
            n,
            format!(
                "`{key}` = {tau} s: dt/τ = {k} is outside (0, 1]; τ must be positive and at least dt = {dt} s (choose a smaller dt)"
            ),
        ));
    }
    Ok((1.0 - k, k))
}

fn positive(n: &Node, key: &str) -> Result<f64, NirError> {
    let v = scalar(n, key)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(err(n, format!("`{key}` = {v} must be positive")))
    }
}

fn zero(n: &Node, key: &str, why: &str) -> Result<(), NirError> {
    if n.params.contains_key(key) && scalar(n, key)? != 0.0 {
        return Err(err(n, format!("`{key}` = {} ≠ 0: {why}", scalar(n, key)?)));
    }
    Ok(())
}

/// The reset rule: NIR resets to `v_reset`; snnergy's export records reset by subtraction
/// in the node's metadata.
fn reset_of(n: &Node) -> Result<Reset, NirError> {
    let subtract = match n.metadata.get("reset") {
        None => false,
        Some(v) => match v.as_str() {
            Some("subtract") => true,
            Some("zero") => false,
            _ => {
                return Err(err(
                    n,
                    "metadata `reset` is neither \"subtract\" nor \"zero\"",
                ));
            }
        },
    };
    zero(
        n,
        "v_reset",
        "the engine resets to 0 or by subtracting the threshold",
    )?;
    Ok(if subtract {
        Reset::Subtract
    } else {
        Reset::Zero
    })
}

/// A neuron node's model and parameters in the engine's discrete time.
fn neuron_of(n: &Node, dt: f64) -> Result<LayerNeuron, NirError> {
    let spiking = matches!(n.kind.as_str(), "IF" | "LIF" | "CubaLIF");
    if n.kind != "IF" && n.kind != "I" {
        zero(n, "v_leak", "the engine's membranes leak towards 0")?;
    }
    let (model, gain, synaptic_gain) = match n.kind.as_str() {
        "IF" => (Neuron::If, positive(n, "r")?, 1.0),
        "I" => (Neuron::I, positive(n, "r")?, 1.0),
        "LIF" | "LI" => {
            let (leak, k) = decay(n, "tau", positive(n, "tau")?, dt)?;
            let model = if n.kind == "LIF" {
                Neuron::Lif { leak }
            } else {
                Neuron::Li { leak }
            };
            (model, k * positive(n, "r")?, 1.0)
        }
        _ => {
            let (leak, k) = decay(n, "tau_mem", positive(n, "tau_mem")?, dt)?;
            let (synaptic_leak, ks) = decay(n, "tau_syn", positive(n, "tau_syn")?, dt)?;
            (
                Neuron::CubaLif {
                    leak,
                    synaptic_leak,
                },
                k * positive(n, "r")?,
                ks * positive(n, "w_in")?,
            )
        }
    };
    let mut spec = LayerNeuron {
        model,
        threshold: None,
        reset: None,
        gain,
        synaptic_gain,
        name: Some(n.name.clone()),
    };
    if spiking {
        spec.threshold = Some(positive(n, "v_threshold")?);
        spec.reset = Some(reset_of(n)?);
    }
    spec.validate().map_err(|m| err(n, m))?;
    Ok(spec)
}

impl Builder {
    /// A spiking node: the neuron of the layer that produces its input.
    fn spiking(&mut self, n: &Node, src: &Val) -> Result<Val, NirError> {
        let spec = neuron_of(n, self.dt)?;
        let Some(name) = src.layer.clone() else {
            return Err(err(
                n,
                "acts on the network input; snnergy's neurons follow a layer",
            ));
        };
        let Some(l) = self.get(&name) else {
            return Err(err(n, format!("follows `{name}`, which is no layer")));
        };
        if !matches!(l.op.as_str(), "conv" | "linear" | "add") {
            return Err(err(
                n,
                format!(
                    "follows {} layer `{name}`; snnergy puts neurons after convolution, linear and add layers",
                    l.op
                ),
            ));
        }
        if let Some(NeuronField::Model(m)) = &l.neuron {
            return Err(err(
                n,
                format!(
                    "is a second neuron after `{name}` (which has `{}`)",
                    m.name.clone().unwrap_or_default()
                ),
            ));
        }
        l.neuron = Some(NeuronField::Model(CustomNeuron::from_layer_neuron(&spec)));
        Ok(Val {
            post: true,
            ..src.clone()
        })
    }

    /// An `LI` or `I` node: the integrator of the readout layer, right before the Output.
    fn integrator(&mut self, n: &Node, src: &Val, before_output: bool) -> Result<Val, NirError> {
        let spec = neuron_of(n, self.dt)?;
        let name = src.layer.clone().unwrap_or_default();
        let readout = before_output
            && self.get(&name).is_some_and(|l| {
                matches!(l.op.as_str(), "conv" | "linear")
                    && l.neuron == Some(NeuronField::Flag(false))
            });
        if !readout {
            return Err(err(
                n,
                "a non-spiking integrator is a readout: snnergy takes one only between the last convolution or linear layer and the Output",
            ));
        }
        if let Some(l) = self.get(&name) {
            l.neuron = Some(NeuronField::Model(CustomNeuron::from_layer_neuron(&spec)));
        }
        Ok(Val {
            post: true,
            ..src.clone()
        })
    }

    /// Several inputs: NIR sums them; snnergy's sum is an add layer, which feeds a neuron.
    fn sum(&mut self, n: &Node, ins: &[Val], ones_scale: bool) -> Result<Val, NirError> {
        let shape = ins[0].shape;
        if ins.iter().any(|v| v.shape != shape) {
            return Err(err(n, "sums inputs of different shapes"));
        }
        if n.kind == "Scale" && !ones_scale {
            return Err(err(
                n,
                "scales by values other than 1; folding them into a neighbouring layer would change its weights",
            ));
        }
        if !ones_scale && !matches!(n.kind.as_str(), "IF" | "LIF" | "CubaLIF") {
            return Err(err(
                n,
                format!(
                    "sums {} inputs; snnergy sums inputs only into a neuron (a residual add) or in a Scale of ones",
                    ins.len()
                ),
            ));
        }
        let name = if ones_scale {
            n.name.clone()
        } else {
            format!("{}.sum", n.name)
        };
        let mut l = layer("add", &name);
        l.neuron = None;
        l.inputs = ins
            .iter()
            .map(|v| v.layer.clone().unwrap_or_else(|| "input".into()))
            .collect();
        Ok(self.emit(l, &ins[0], shape))
    }
}

/// The readout the last layer implies, checking every add got its neuron.
fn readout_of(b: &Builder, last: &Val, output: &Node) -> Result<Readout, NirError> {
    for l in &b.layers {
        if l.op == "add" && !matches!(l.neuron, Some(NeuronField::Model(_))) {
            return Err(NirError::node(
                l.name.as_deref().unwrap_or_default(),
                "Scale",
                "sums inputs that no spiking neuron follows; snnergy's residual adds feed a neuron",
            ));
        }
    }
    let Some(name) = &last.layer else {
        return Err(err(output, "reads the network input directly"));
    };
    let l = &b.layers[b.index[name]];
    if !matches!(l.op.as_str(), "conv" | "linear" | "add") {
        return Err(err(
            output,
            format!(
                "reads {} layer `{name}`; the last layer must be a convolution or linear layer (with or without a neuron)",
                l.op
            ),
        ));
    }
    Ok(match &l.neuron {
        Some(NeuronField::Model(m)) if m.model == "li" => Readout::LeakyIntegrator,
        Some(NeuronField::Model(m)) if m.model == "i" => Readout::Integrator,
        Some(NeuronField::Model(_)) => Readout::SpikeCount,
        _ => Readout::Integrator,
    })
}

fn node_inputs(
    n: &Node,
    preds: &HashMap<&str, Vec<&str>>,
    vals: &HashMap<&str, Val>,
) -> Result<Vec<Val>, NirError> {
    preds
        .get(n.name.as_str())
        .map(|ps| ps.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            vals.get(p).cloned().ok_or_else(|| {
                err(
                    n,
                    format!("reads `{p}`, which produced nothing snnergy can use"),
                )
            })
        })
        .collect()
}

/// The Output: one input, of the shape the node states.
fn output(n: &Node, src: Val, inputs: usize) -> Result<Val, NirError> {
    if inputs != 1 {
        return Err(err(n, format!("has {inputs} inputs; snnergy reads one")));
    }
    if let Some(Value::Array { data, .. }) = n.params.get("shape")
        && !data.is_empty()
        && shape3(n, "shape", data)? != src.shape
    {
        return Err(err(
            n,
            format!(
                "`shape` {data:?} differs from what reaches it, {:?}",
                src.shape
            ),
        ));
    }
    Ok(src)
}

/// A layer with a neuron hands on its neurons' output only: a node reading its current beside
/// the neuron has no counterpart.
fn only_spikes_read(b: &Builder, pre: &HashMap<String, Vec<&str>>) -> Result<(), NirError> {
    for l in &b.layers {
        let (Some(name), Some(NeuronField::Model(m))) = (&l.name, &l.neuron) else {
            continue;
        };
        let own = m.name.as_deref().unwrap_or_default();
        if let Some(other) = pre.get(name).into_iter().flatten().find(|r| **r != own) {
            return Err(NirError::Graph(format!(
                "node `{other}` reads the current of `{name}` beside its neuron `{own}`; snnergy's layers hand on only their neurons' output"
            )));
        }
    }
    Ok(())
}

impl Builder {
    /// What node `n` makes of its (summed) input `src`.
    fn node(
        &mut self,
        n: &Node,
        src: Val,
        ones_scale: bool,
        before_output: bool,
    ) -> Result<Val, NirError> {
        Ok(match n.kind.as_str() {
            "Conv2d" | "Conv1d" => self.conv(n, &src)?,
            "Affine" | "Linear" => self.affine(n, &src)?,
            "IF" | "LIF" | "CubaLIF" => self.spiking(n, &src)?,
            "LI" | "I" => self.integrator(n, &src, before_output)?,
            "Scale" if ones_scale => src,
            "Scale" => {
                return Err(err(
                    n,
                    "scales by values other than 1; folding them into a neighbouring layer would change its weights",
                ));
            }
            "SumPool2d" | "AvgPool2d" => self.pool(n, &src)?,
            "Flatten" => self.flatten(n, &src)?,
            "Delay" => return Err(err(n, "synaptic delays are not modelled by snnergy")),
            "Threshold" => {
                return Err(err(
                    n,
                    "a stateless threshold has no counterpart in snnergy's neurons",
                ));
            }
            "NIRGraph" => {
                return Err(err(
                    n,
                    "nested graphs (such as a recurrent layer's) are not supported: flatten the graph first",
                ));
            }
            other => {
                return Err(err(
                    n,
                    format!(
                        "unknown node type `{other}` (snnergy reads {})",
                        SUPPORTED.join(", ")
                    ),
                ));
            }
        })
    }
}

/// Turns `graph` into a workload, weights and each layer's neuron.
pub fn import(graph: &Graph, opts: &ImportOptions) -> Result<Imported, NirError> {
    if !(opts.dt > 0.0 && opts.dt.is_finite()) {
        return Err(NirError::Graph(format!(
            "dt = {} must be a positive number of seconds",
            opts.dt
        )));
    }
    let checked = check_graph(graph)?;
    let (_, in_shape) = array(checked.input, "shape")?;
    let input = shape3(checked.input, "shape", in_shape)?;
    let mut b = Builder {
        layers: Vec::new(),
        index: HashMap::new(),
        tensors: BTreeMap::new(),
        notes: Vec::new(),
        dt: opts.dt,
    };
    let mut vals: HashMap<&str, Val> = HashMap::with_capacity(checked.order.len());
    vals.insert(
        checked.input.name.as_str(),
        Val {
            layer: None,
            shape: input,
            post: true,
        },
    );
    // Per layer, the nodes that read its current rather than its neurons' spikes.
    let mut pre: HashMap<String, Vec<&str>> = HashMap::new();
    let before_output: HashSet<&str> = checked
        .preds
        .get(checked.output.name.as_str())
        .map(|v| v.iter().copied().collect())
        .unwrap_or_default();
    let mut last = None;
    for &n in &checked.order {
        if n.kind == "Input" {
            continue;
        }
        let ins = node_inputs(n, &checked.preds, &vals)?;
        let ones_scale = n.kind == "Scale" && scalar(n, "scale").is_ok_and(|s| s == 1.0);
        let passes = n.kind == "Flatten" || (ones_scale && ins.len() == 1);
        for v in ins.iter().filter(|v| !v.post && !passes) {
            if let Some(l) = &v.layer {
                pre.entry(l.clone()).or_default().push(n.name.as_str());
            }
        }
        let src = if ins.len() == 1 {
            ins[0].clone()
        } else {
            b.sum(n, &ins, ones_scale)?
        };
        if n.kind == "Output" {
            last = Some(output(n, src, ins.len())?);
            continue;
        }
        let v = b.node(n, src, ones_scale, before_output.contains(n.name.as_str()))?;
        vals.insert(n.name.as_str(), v);
    }
    let last = last.ok_or_else(|| err(checked.output, "receives nothing"))?;
    only_spikes_read(&b, &pre)?;
    let readout = readout_of(&b, &last, checked.output)?;
    finish(graph, opts, b, input, readout)
}

fn finish(
    graph: &Graph,
    opts: &ImportOptions,
    mut b: Builder,
    input: [usize; 3],
    readout: Readout,
) -> Result<Imported, NirError> {
    if b.layers.iter().all(|l| l.op != "conv" && l.op != "linear") {
        return Err(NirError::Graph(
            "the graph has no Conv2d, Affine or Linear node".into(),
        ));
    }
    if let Some(l) = b.layers.last_mut()
        && l.neuron == Some(NeuronField::Flag(false))
    {
        // The readout's default: no neuron.
        l.neuron = None;
    }
    for l in &mut b.layers {
        if l.neuron == Some(NeuronField::Flag(false)) && l.op == "add" {
            l.neuron = None;
        }
    }
    if b.layers.iter().any(
        |l| matches!(&l.neuron, Some(NeuronField::Model(m)) if m.model != "if" && m.model != "i"),
    ) {
        b.notes.push(format!(
            "continuous-time neurons stepped with forward Euler at dt = {} s: leak = 1 − dt/τ",
            opts.dt
        ));
    }
    let dims = |v: usize| {
        u32::try_from(v).map_err(|_| NirError::Graph(format!("input dimension {v} exceeds 2^32")))
    };
    let workload = Custom {
        network: opts.network.clone(),
        input: [dims(input[0])?, dims(input[1])?, dims(input[2])?],
        layers: b.layers,
    };
    let spelling = Spelling::of(graph, opts.dt);
    if spelling.to_json().is_none() {
        b.notes.push(
            "the graph's metadata holds numbers the weights file cannot keep (NaN or infinity): an export will use snnergy's node names".into(),
        );
    }
    Ok(Imported {
        workload,
        tensors: b.tensors,
        readout,
        notes: b.notes,
        spelling,
    })
}

impl Imported {
    /// A pipeline that analyses the imported network: `weights` is the weight file's path
    /// relative to the pipeline, `data` the images the engine measures spikes on, if known.
    /// Without data the activity is a uniform assumption and the engine table is left
    /// commented out, ready to fill in. Every layer carries its own neuron, so the engine
    /// table needs only the weights and the data.
    pub fn pipeline_toml(
        &self,
        weights: &str,
        timesteps: u32,
        data: Option<&EngineData>,
    ) -> String {
        let text = |t: &str| toml::Value::String(t.into());
        let mut doc = toml::Table::new();
        let mut analysis = toml::Table::new();
        analysis.insert("timesteps".into(), toml::Value::Integer(timesteps as i64));
        doc.insert("analysis".into(), toml::Value::Table(analysis));
        let mut workload = toml::Table::try_from(&self.workload).unwrap_or_default();
        workload.insert("type".into(), text("custom"));
        let mut engine = toml::Table::new();
        engine.insert("type".into(), text("engine"));
        engine.insert("weights".into(), text(weights));
        if let Some(d) = data {
            let mut config = EngineActivityConfig::default();
            config.settings.dataset = d.dataset;
            config.settings.data = d.data.clone();
            for (k, v) in toml::Table::try_from(&config).unwrap_or_default() {
                if k == "dataset" || k == "data" {
                    engine.insert(k, v);
                }
            }
        }
        let arch = |t: &str, e: &str| {
            let mut a = toml::Table::new();
            a.insert("type".into(), text(t));
            a.insert("energy".into(), text(e));
            toml::Value::Table(a)
        };
        let mut head = String::from("# Imported from a NIR graph by `snnergy import`.\n");
        for n in &self.notes {
            head.push_str(&format!("# {n}\n"));
        }
        let mut tail = String::new();
        if data.is_none() {
            let mut uniform = toml::Table::new();
            uniform.insert("type".into(), text("uniform"));
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
        doc.insert(
            "architecture".into(),
            toml::Value::Array(vec![
                arch("classical", "horowitz-45nm"),
                arch("neuromorphic", "yan-22nm"),
            ]),
        );
        format!(
            "{head}\n{}{tail}",
            toml::to_string(&doc).unwrap_or_default()
        )
    }

    /// One line on what the network became: layers, neurons, readout.
    pub fn summary(&self) -> String {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for l in &self.workload.layers {
            if let Some(NeuronField::Model(m)) = &l.neuron
                && m.model != "li"
                && m.model != "i"
            {
                let reset = match m.reset {
                    Some(Reset::Zero) => "reset to zero",
                    _ => "reset by subtraction",
                };
                *kinds
                    .entry(format!("{} ({reset})", m.model.to_uppercase()))
                    .or_default() += 1;
            }
        }
        let neurons: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(
            "{} layers, neurons: {}; readout by {}",
            self.workload.layers.len(),
            if neurons.is_empty() {
                "none".into()
            } else {
                neurons.join(", ")
            },
            match self.readout {
                Readout::SpikeCount => "spike count",
                Readout::LeakyIntegrator => "a leaky integrator's membrane",
                Readout::Integrator => "the integrated output",
            }
        )
    }
}

impl Imported {
    /// The metadata its weights file carries: the network's name and the graph's spelling,
    /// so that an export writes the network back as it came.
    pub fn weights_metadata(&self) -> HashMap<String, String> {
        let mut meta = HashMap::new();
        meta.insert("network".to_string(), self.workload.network.clone());
        meta.insert("format".to_string(), "pt".to_string());
        if let Some(json) = self.spelling.to_json() {
            meta.insert(crate::spelling::METADATA_KEY.to_string(), json);
        }
        meta
    }

    /// Writes the engine's weights, with [`Imported::weights_metadata`], to `path`.
    pub fn save_weights(&self, path: &std::path::Path) -> Result<(), snnergy_engine::EngineError> {
        snnergy_engine::model::write_tensors(
            path,
            &self.tensors,
            self.weights_metadata(),
            Default::default(),
        )
    }

    /// The bytes [`Imported::save_weights`] writes, for a caller that writes them as part of
    /// a set of files.
    pub fn weights_bytes(&self) -> Result<Vec<u8>, snnergy_engine::EngineError> {
        snnergy_engine::model::tensors_to_bytes(&self.tensors, self.weights_metadata())
    }
}

/// Loads `network`'s weights from `path`, with the spelling of the graph they were imported
/// from, if the file carries one.
pub fn load_model(
    network: snnergy_core::Network,
    path: &std::path::Path,
) -> Result<(snnergy_engine::Model, Option<Spelling>), snnergy_engine::EngineError> {
    let (tensors, meta) = snnergy_engine::model::read_tensors(path)?;
    let spelling = meta
        .get(crate::spelling::METADATA_KEY)
        .and_then(|j| Spelling::from_json(j));
    let tensors = tensors
        .into_iter()
        .filter(|(k, _)| !k.starts_with(snnergy_engine::model::OPTIMIZER_PREFIX))
        .collect();
    Ok((
        snnergy_engine::Model::from_tensors(network, tensors, path)?,
        spelling,
    ))
}
