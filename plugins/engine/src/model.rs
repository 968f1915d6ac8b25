//! Networks with parameters: built from a core [`Network`], loaded from and saved to
//! safetensors under PyTorch's module names, and compiled for inference with BatchNorm folded.
//!
//! # Tensor names
//!
//! Every tensor is named after the PyTorch module that owns it, as in a `state_dict()`:
//!
//! | layer | tensors | shapes |
//! |---|---|---|
//! | convolution `L` | `L.weight`, `L.bias` (if the layer has a bias) | `[out, in, kh, kw]`, `[out]` |
//! | linear `L` | `L.weight`, `L.bias` (if the layer has a bias) | `[out, in]`, `[out]` |
//! | BatchNorm `B` after a layer | `B.weight`, `B.bias`, `B.running_mean`, `B.running_var` | `[channels]` each |
//!
//! `L` is the layer's name in the workload (`features.0`, `layer1.0.conv1`, `fc`), `B` its
//! `batchnorm` module name (`features.1`, `layer1.0.bn1`, `bn1`). A linear layer's `in` is
//! the flattened input in `c, h, w` order, as `torch.flatten` gives it. BatchNorm uses
//! PyTorch's default ε = 1e-5. Tensors may be stored as F32, F64, F16 or BF16. A tensor of a
//! module the network has but does not use (a conv bias where the workload has none) is an
//! error, as ignoring it would compute another network; `num_batches_tracked` and the
//! `optimizer.*` state of a training checkpoint are ignored, and tensors of other modules are
//! logged as unused.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use snnergy_core::{LayerKind, Network, Shape};

use crate::error::{EngineError, Result};
use crate::rng::SplitMix64;

/// BatchNorm ε (PyTorch's default).
pub const BN_EPS: f32 = 1e-5;

/// A dense tensor of f32 in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor filled with `value`.
    pub fn full(shape: &[usize], value: f32) -> Self {
        Self {
            shape: shape.to_vec(),
            data: vec![value; shape.iter().product()],
        }
    }
}

/// What a tensor is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Convolution or linear weights.
    Weight,
    /// Convolution or linear bias.
    Bias,
    /// BatchNorm scale γ.
    BnWeight,
    /// BatchNorm shift β.
    BnBias,
    /// BatchNorm running mean.
    BnMean,
    /// BatchNorm running variance.
    BnVar,
}

/// A tensor a network needs.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    /// Name in the weight file.
    pub name: String,
    /// Layer that uses it.
    pub layer: String,
    /// Expected shape.
    pub shape: Vec<usize>,
    /// What it is.
    pub role: Role,
}

fn unsupported(net: &Network, layer: &str, message: impl Into<String>) -> EngineError {
    EngineError::Unsupported {
        network: net.name.clone(),
        layer: layer.to_string(),
        message: message.into(),
    }
}

/// The tensors `network` needs, in layer order. Fails for layers the engine cannot run.
pub fn tensor_specs(network: &Network) -> Result<Vec<TensorSpec>> {
    network
        .validate()
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    let mut out = Vec::new();
    for l in &network.layers {
        let (w_shape, channels) = match &l.kind {
            LayerKind::Conv2d { kernel, groups, .. } => {
                if *groups != 1 {
                    return Err(unsupported(
                        network,
                        &l.name,
                        format!("grouped convolution (groups = {groups}) is not supported"),
                    ));
                }
                (
                    vec![
                        l.output.c as usize,
                        l.input.c as usize,
                        kernel[0] as usize,
                        kernel[1] as usize,
                    ],
                    l.output.c as usize,
                )
            }
            LayerKind::Linear => (
                vec![l.output.numel() as usize, l.input.numel() as usize],
                l.output.numel() as usize,
            ),
            _ => {
                if l.batchnorm.is_some() {
                    return Err(unsupported(
                        network,
                        &l.name,
                        "BatchNorm after a layer without weights cannot be folded",
                    ));
                }
                continue;
            }
        };
        let spec = |suffix: &str, shape: Vec<usize>, role| TensorSpec {
            name: format!("{}.{suffix}", l.name),
            layer: l.name.clone(),
            shape,
            role,
        };
        out.push(spec("weight", w_shape, Role::Weight));
        if l.bias {
            out.push(spec("bias", vec![channels], Role::Bias));
        }
        if let Some(bn) = &l.batchnorm {
            for (suffix, role) in [
                ("weight", Role::BnWeight),
                ("bias", Role::BnBias),
                ("running_mean", Role::BnMean),
                ("running_var", Role::BnVar),
            ] {
                out.push(TensorSpec {
                    name: format!("{bn}.{suffix}"),
                    layer: l.name.clone(),
                    shape: vec![channels],
                    role,
                });
            }
        }
    }
    Ok(out)
}

/// The values of tensor `s` from `value`, allocated without aborting: a size that cannot be
/// counted or allocated is an error naming the tensor.
fn filled(s: &TensorSpec, mut value: impl FnMut() -> f32) -> Result<Vec<f32>> {
    let too_big = || {
        EngineError::Invalid(format!(
            "tensor `{}` of layer `{}` (shape {:?}) is too large to allocate",
            s.name, s.layer, s.shape
        ))
    };
    let n = s
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(too_big)?;
    let mut data = Vec::new();
    data.try_reserve_exact(n).map_err(|_| too_big())?;
    data.extend((0..n).map(|_| value()));
    Ok(data)
}

/// A network with its parameters as PyTorch stores them (BatchNorm not yet folded).
#[derive(Clone, Debug)]
pub struct Model {
    network: Network,
    params: BTreeMap<String, Tensor>,
}

fn check_finite(name: &str, data: &[f32]) -> Result<()> {
    if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EngineError::NonFinite {
            tensor: name.to_string(),
            value,
            index,
        });
    }
    Ok(())
}

fn to_f32(file: &Path, name: &str, view: &TensorView<'_>) -> Result<Vec<f32>> {
    let bytes = view.data();
    let out: Vec<f32> = match view.dtype() {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(EngineError::WeightsFile {
                file: file.to_path_buf(),
                message: format!(
                    "tensor `{name}` has dtype {other:?}; weights must be F32, F64, F16 or BF16"
                ),
            });
        }
    };
    Ok(out)
}

/// Prefix of the optimizer-state tensors in a training checkpoint.
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// Every tensor of a safetensors file as f32 (`num_batches_tracked` skipped), and the file's
/// metadata.
pub fn read_tensors(
    path: &Path,
) -> Result<(
    BTreeMap<String, Tensor>,
    std::collections::HashMap<String, String>,
)> {
    let bytes = snnergy_files::read(path).map_err(|e| EngineError::WeightsFile {
        file: path.to_path_buf(),
        message: format!("cannot read weights: {}", e.message),
    })?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| EngineError::WeightsFile {
        file: path.to_path_buf(),
        message: format!("not a safetensors file ({e})"),
    })?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| EngineError::WeightsFile {
        file: path.to_path_buf(),
        message: format!("not a safetensors file ({e})"),
    })?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.iter() {
        if name.ends_with("num_batches_tracked") {
            continue;
        }
        let data = to_f32(path, name, &view)?;
        tensors.insert(
            name.to_string(),
            Tensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok((tensors, meta.metadata().clone().unwrap_or_default()))
}

/// F32 tensors and metadata as the bytes of a safetensors file.
pub fn tensors_to_bytes(
    tensors: &BTreeMap<String, Tensor>,
    meta: std::collections::HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes: Vec<(&String, Vec<u8>, &Vec<usize>)> = tensors
        .iter()
        .map(|(k, t)| {
            (
                k,
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                &t.shape,
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(k, b, s)| {
            TensorView::new(Dtype::F32, (*s).clone(), b)
                .map(|v| ((*k).clone(), v))
                .map_err(|e| EngineError::Invalid(format!("tensor `{k}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(meta))
        .map_err(|e| EngineError::Invalid(format!("cannot serialize the weights: {e}")))
}

/// Writes F32 tensors and metadata to a safetensors file, through a temporary file renamed
/// into place, so an interrupted write never leaves a truncated file behind; the destination
/// is checked as every output is (`snnergy_files`).
pub fn write_tensors(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    meta: std::collections::HashMap<String, String>,
    options: snnergy_files::WriteOptions,
) -> Result<()> {
    let err = |e: String| EngineError::WeightsFile {
        file: path.to_path_buf(),
        message: format!("cannot write weights: {e}"),
    };
    // A destination that may not be written fails before the bytes are made.
    snnergy_files::check_writable(path, options).map_err(|e| err(e.message))?;
    let bytes = tensors_to_bytes(tensors, meta)?;
    snnergy_files::write_with(path, &bytes, options).map_err(|e| err(e.message))
}

impl Model {
    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// A parameter by tensor name.
    pub fn param(&self, name: &str) -> Option<&Tensor> {
        self.params.get(name)
    }

    /// Every parameter by tensor name.
    pub fn params(&self) -> &BTreeMap<String, Tensor> {
        &self.params
    }

    /// Builds a model from named tensors, checking that every tensor the network needs is
    /// present with the right shape and finite values. `origin` names where they came from.
    pub fn from_tensors(
        network: Network,
        mut tensors: BTreeMap<String, Tensor>,
        origin: &Path,
    ) -> Result<Self> {
        let specs = tensor_specs(&network)?;
        let mut params = BTreeMap::new();
        for s in &specs {
            let t = tensors
                .remove(&s.name)
                .ok_or_else(|| EngineError::MissingTensor {
                    file: origin.to_path_buf(),
                    tensor: s.name.clone(),
                    layer: s.layer.clone(),
                    expected: s.shape.clone(),
                })?;
            // PyTorch stores a linear layer's weight as [out, in]; a flattened conv weight
            // [out, in·kh·kw] or a [out, c, h, w] linear weight would be the same numbers in
            // another shape, but accepting them would hide a mismatched network.
            if t.shape != s.shape {
                return Err(EngineError::ShapeMismatch {
                    tensor: s.name.clone(),
                    layer: s.layer.clone(),
                    expected: s.shape.clone(),
                    found: t.shape.clone(),
                });
            }
            check_finite(&s.name, &t.data)?;
            if s.role == Role::BnVar
                && let Some((index, &value)) = t.data.iter().enumerate().find(|(_, v)| **v < 0.0)
            {
                return Err(EngineError::Invalid(format!(
                    "tensor `{}` (BatchNorm running variance) is negative ({value}) at index {index}",
                    s.name
                )));
            }
            params.insert(s.name.clone(), t);
        }
        // A tensor of a module the network has, but that the network does not use (a conv
        // bias where the workload has none), means the description and the weights disagree:
        // ignoring it would silently compute something else.
        for name in tensors.keys() {
            let Some((module, _)) = name.rsplit_once('.') else {
                continue;
            };
            if name.ends_with("num_batches_tracked") {
                continue;
            }
            let owner = network
                .layers
                .iter()
                .find(|l| l.name == module || l.batchnorm.as_deref() == Some(module));
            if let Some(l) = owner {
                return Err(EngineError::Invalid(format!(
                    "{}: tensor `{name}` belongs to layer `{}` of network `{}`, which does not use it (bias = {}, batchnorm = {}): the network description does not match the weights",
                    origin.display(),
                    l.name,
                    network.name,
                    l.bias,
                    l.batchnorm.as_deref().unwrap_or("none")
                )));
            }
        }
        // Tensors of a module the network does not name are refused too: a BatchNorm whose
        // `batchnorm = "…"` was forgotten would otherwise be skipped and the network run
        // unnormalized, with spike rates of another network.
        let unused: Vec<&String> = tensors
            .keys()
            .filter(|k| !k.ends_with("num_batches_tracked"))
            .collect();
        if !unused.is_empty() {
            let batchnorms: Vec<&str> = unused
                .iter()
                .filter_map(|k| k.strip_suffix(".running_var"))
                .collect();
            let hint = if batchnorms.is_empty() {
                "the network description does not match the weights".to_string()
            } else {
                format!(
                    "{} BatchNorm module(s) ({}) follow no layer: add `batchnorm = \"{}\"` to the layer it follows",
                    batchnorms.len(),
                    batchnorms.join(", "),
                    batchnorms[0]
                )
            };
            return Err(EngineError::Invalid(format!(
                "{}: {} tensor(s) are not used by network `{}` ({}): {hint}",
                origin.display(),
                unused.len(),
                network.name,
                unused
                    .iter()
                    .take(8)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(Self { network, params })
    }

    /// Loads weights for `network` from a safetensors file. Tensors named `optimizer.*` (the
    /// optimizer state a training checkpoint carries) are skipped.
    pub fn load(network: Network, path: &Path) -> Result<Self> {
        let (tensors, _) = read_tensors(path)?;
        let tensors = tensors
            .into_iter()
            .filter(|(k, _)| !k.starts_with(OPTIMIZER_PREFIX))
            .collect();
        Self::from_tensors(network, tensors, path)
    }

    /// Saves the parameters as F32 safetensors under the names described in the module docs.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_tensors(path, &self.params, self.file_metadata(), Default::default())
    }

    /// The bytes [`Model::save`] writes, for a caller that writes them as part of a set.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        tensors_to_bytes(&self.params, self.file_metadata())
    }

    fn file_metadata(&self) -> std::collections::HashMap<String, String> {
        let mut meta = std::collections::HashMap::new();
        meta.insert("network".to_string(), self.network.name.clone());
        meta.insert("format".to_string(), "pt".to_string());
        meta
    }

    /// Seeded random parameters: He-uniform weights (bound √(6 / fan-in)), zero biases and
    /// identity BatchNorm. For tests and throughput measurements; spike rates of random
    /// networks say nothing about trained ones.
    pub fn random(network: Network, seed: u64) -> Result<Self> {
        let specs = tensor_specs(&network)?;
        let mut params = BTreeMap::new();
        for (i, s) in specs.iter().enumerate() {
            let mut g = SplitMix64::stream(seed, i as u64);
            let data = match s.role {
                Role::Weight => {
                    let fan_in: usize = s.shape[1..].iter().product();
                    let bound = (6.0 / fan_in as f32).sqrt();
                    filled(s, || g.uniform(-bound, bound))?
                }
                Role::BnWeight | Role::BnVar => filled(s, || 1.0)?,
                Role::Bias | Role::BnBias | Role::BnMean => filled(s, || 0.0)?,
            };
            let t = Tensor {
                shape: s.shape.clone(),
                data,
            };
            params.insert(s.name.clone(), t);
        }
        Ok(Self { network, params })
    }

    /// Replaces one parameter, checking its shape and values.
    pub fn set_param(&mut self, name: &str, tensor: Tensor) -> Result<()> {
        let Some(old) = self.params.get(name) else {
            return Err(EngineError::Invalid(format!(
                "network `{}` has no tensor `{name}`",
                self.network.name
            )));
        };
        if old.shape != tensor.shape {
            return Err(EngineError::ShapeMismatch {
                tensor: name.to_string(),
                layer: name
                    .rsplit_once('.')
                    .map(|p| p.0)
                    .unwrap_or(name)
                    .to_string(),
                expected: old.shape.clone(),
                found: tensor.shape,
            });
        }
        check_finite(name, &tensor.data)?;
        self.params.insert(name.to_string(), tensor);
        Ok(())
    }

    /// The network ready for inference: BatchNorm folded into the layer before it
    /// (W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β).
    pub fn compile(&self) -> Result<Compiled> {
        let net = &self.network;
        let mut layers = Vec::with_capacity(net.layers.len());
        for l in &net.layers {
            let get = |n: String| -> &Tensor { &self.params[&n] };
            let layer = match &l.kind {
                LayerKind::Conv2d { .. } | LayerKind::Linear => {
                    let channels = if let LayerKind::Linear = l.kind {
                        l.output.numel() as usize
                    } else {
                        l.output.c as usize
                    };
                    let mut w = get(format!("{}.weight", l.name)).data.clone();
                    let mut b = if l.bias {
                        get(format!("{}.bias", l.name)).data.clone()
                    } else {
                        vec![0.0; channels]
                    };
                    if let Some(bn) = &l.batchnorm {
                        let g = &get(format!("{bn}.weight")).data;
                        let beta = &get(format!("{bn}.bias")).data;
                        let mu = &get(format!("{bn}.running_mean")).data;
                        let var = &get(format!("{bn}.running_var")).data;
                        let per = w.len() / channels;
                        for c in 0..channels {
                            let s = g[c] / (var[c] + BN_EPS).sqrt();
                            for v in &mut w[c * per..(c + 1) * per] {
                                *v *= s;
                            }
                            b[c] = (b[c] - mu[c]) * s + beta[c];
                        }
                    }
                    let k = w.len() / channels;
                    let w = Array2::from_shape_vec((channels, k), w)
                        .map_err(|e| EngineError::Invalid(e.to_string()))?;
                    if let LayerKind::Linear = l.kind {
                        Op::Linear(LinearOp::new(w, b))
                    } else {
                        Op::Conv(ConvOp::new(l.input, l.output, &l.kind, w, b))
                    }
                }
                LayerKind::AvgPool {
                    kernel,
                    stride,
                    padding,
                    sum,
                } => Op::AvgPool(PoolOp {
                    sum: *sum,
                    ..PoolOp::new(l.input, l.output, *kernel, *stride, *padding)
                }),
                LayerKind::MaxPool {
                    kernel,
                    stride,
                    padding,
                } => Op::MaxPool(PoolOp::new(l.input, l.output, *kernel, *stride, *padding)),
                LayerKind::Add => Op::Add,
            };
            layers.push(layer);
        }
        Ok(Compiled {
            network: net.clone(),
            ops: layers,
        })
    }
}

/// A convolution ready to run: weights as a `[out, in·kh·kw]` matrix for im2col + GEMM and
/// transposed `[in·kh·kw, out]` for the event-driven scatter.
#[derive(Clone, Debug)]
pub struct ConvOp {
    /// Input shape.
    pub input: Shape,
    /// Output shape.
    pub output: Shape,
    /// Kernel height, width.
    pub kernel: [usize; 2],
    /// Stride.
    pub stride: [usize; 2],
    /// Padding.
    pub padding: [usize; 2],
    /// `[out, in·kh·kw]`.
    pub w: Array2<f32>,
    /// `[kh, kw, in, out]`, row-major: the weights of one input at one kernel tap to every
    /// output channel are one contiguous row, which the event-driven kernel adds per event.
    pub w_t: Vec<f32>,
    /// Bias per output channel (BatchNorm folded in).
    pub bias: Vec<f32>,
}

/// `[out, in·kh·kw]` → `[kh·kw, in, out]`.
fn tap_major(w: &Array2<f32>, taps: usize) -> Vec<f32> {
    let (co, k) = w.dim();
    let ci = k / taps.max(1);
    let mut t = vec![0.0; k * co];
    for r in 0..k {
        let (c, tap) = (r / taps, r % taps);
        for o in 0..co {
            t[(tap * ci + c) * co + o] = w[[o, r]];
        }
    }
    t
}

impl ConvOp {
    fn new(input: Shape, output: Shape, kind: &LayerKind, w: Array2<f32>, bias: Vec<f32>) -> Self {
        let LayerKind::Conv2d {
            kernel,
            stride,
            padding,
            ..
        } = kind
        else {
            unreachable!("ConvOp::new is called for convolutions only")
        };
        let w_t = tap_major(&w, (kernel[0] * kernel[1]) as usize);
        Self {
            input,
            output,
            kernel: [kernel[0] as usize, kernel[1] as usize],
            stride: [stride[0] as usize, stride[1] as usize],
            padding: [padding[0] as usize, padding[1] as usize],
            w,
            w_t,
            bias,
        }
    }

    fn refresh(&mut self) {
        self.w_t = tap_major(&self.w, self.kernel[0] * self.kernel[1]);
    }
}

/// A linear layer: `[out, in]` for GEMM and `[in, out]` for the scatter.
#[derive(Clone, Debug)]
pub struct LinearOp {
    /// `[out, in]`.
    pub w: Array2<f32>,
    /// `[in, out]`, row-major.
    pub w_t: Vec<f32>,
    /// Bias (BatchNorm folded in).
    pub bias: Vec<f32>,
}

impl LinearOp {
    fn new(w: Array2<f32>, bias: Vec<f32>) -> Self {
        let w_t = w.t().iter().copied().collect();
        Self { w, w_t, bias }
    }

    fn refresh(&mut self) {
        self.w_t = self.w.t().iter().copied().collect();
    }
}

/// Average or max pooling over square windows.
#[derive(Clone, Copy, Debug)]
pub struct PoolOp {
    /// Input shape.
    pub input: Shape,
    /// Output shape.
    pub output: Shape,
    /// Window side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding (average pooling counts padded zeros, as PyTorch's default does).
    pub padding: usize,
    /// The window is summed, not averaged (a sum pool).
    pub sum: bool,
}

impl PoolOp {
    fn new(input: Shape, output: Shape, kernel: u32, stride: u32, padding: u32) -> Self {
        Self {
            input,
            output,
            kernel: kernel as usize,
            stride: stride as usize,
            padding: padding as usize,
            sum: false,
        }
    }
}

/// One compiled layer.
#[derive(Clone, Debug)]
pub enum Op {
    /// Convolution.
    Conv(ConvOp),
    /// Linear.
    Linear(LinearOp),
    /// Average pooling.
    AvgPool(PoolOp),
    /// Max pooling.
    MaxPool(PoolOp),
    /// Element-wise sum of the sources.
    Add,
}

/// A network ready for inference (BatchNorm folded).
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The network description (wiring, neuron flags, names).
    pub network: Network,
    /// One op per layer.
    pub ops: Vec<Op>,
}

impl Compiled {
    /// Rounds every weight and bias to a per-layer fixed-point grid: `bits`-bit signed weights
    /// with a power-of-two step chosen so the largest weight fits. On such a grid, sums of
    /// spikes (or of pooled spikes, multiples of 1/4, 1/16, …) times weights are exact in f32,
    /// so the dense and event-driven paths give bit-identical membranes. Hardware stores
    /// weights this way (`weight_bits`).
    pub fn round_to_grid(&mut self, bits: u32) -> Result<()> {
        if !(2..=16).contains(&bits) {
            return Err(EngineError::Invalid(format!(
                "weight grid of {bits} bits is outside 2..=16"
            )));
        }
        for op in &mut self.ops {
            let (w, b) = match op {
                Op::Conv(c) => (&mut c.w, &mut c.bias),
                Op::Linear(l) => (&mut l.w, &mut l.bias),
                _ => continue,
            };
            let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if max == 0.0 {
                continue;
            }
            let levels = (1i32 << (bits - 1)) - 1;
            let step = 2f32.powi((max / levels as f32).log2().ceil() as i32);
            w.mapv_inplace(|v| (v / step).round() * step);
            for v in b.iter_mut() {
                *v = (*v / step).round() * step;
            }
            match op {
                Op::Conv(c) => c.refresh(),
                Op::Linear(l) => l.refresh(),
                _ => {}
            }
        }
        Ok(())
    }
}
