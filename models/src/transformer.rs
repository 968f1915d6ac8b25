//! Spiking transformers: Spikformer (Zhou et al., "Spikformer: When Spiking Neural Network
//! Meets Transformer", ICLR 2023) and the Spike-driven Transformer (Yao et al., NeurIPS 2023),
//! built from their reference implementations' module definitions, read at
//! `ZK-Zhou/spikformer` (commit 6212689: `cifar10/model.py`, `cifar10/cifar10.yml`,
//! `imagenet/model.py`) and `BICLab/Spike-Driven-Transformer` (commit 3faa822:
//! `module/sps.py`, `module/ms_conv.py`, `model/spikeformer.py`,
//! `conf/imagenet/8_512_300E_t4.yml`). Layer names are those modules' paths, so profiles
//! recorded from the PyTorch models line up: `snnergy.torch.record`, given one of these
//! workloads, hooks the neuron module that fires on each neuron layer (`q_lif` on `q_conv`;
//! in the Spike-driven Transformer the next block's `shortcut_lif` on a residual sum,
//! `fc2_lif` on `fc1_conv`, `head_lif` on the token mean).
//!
//! What the code says, and snnergy keeps:
//!
//! - **Patch splitting (SPS)**: four 3×3 convolutions (stride 1, padding 1, no bias) of
//!   C/8, C/4, C/2 and C channels, each with BatchNorm (folded) and an LIF, then a 3×3
//!   relative-position convolution of C channels (`rpe_conv`) whose spikes are added to its
//!   input. Max pools (3×3, stride 2, padding 1) follow `proj_conv2` and `proj_conv3` on
//!   CIFAR-10 (32×32 → 8×8, 64 tokens) and every one of the four on ImageNet (224×224 →
//!   14×14, 196 tokens). In the Spike-driven Transformer the fourth convolution's BatchNorm
//!   output is pooled before its neuron (`proj_lif3`), and the shortcut around `rpe_conv`
//!   adds that pooled current (a membrane shortcut).
//! - **Token-wise linear layers** (Q, K, V, the projection, the MLP's two layers) are 1×1
//!   convolutions over the token map, each followed by BatchNorm, folded as the papers fold it
//!   (every BatchNorm here follows a linear operation directly). Spikformer's CIFAR model uses
//!   `nn.Linear` (with bias), its ImageNet model `Conv1d`/`Conv2d` of kernel 1 (Q, K, V without
//!   bias; projection and MLP with bias); the Spike-driven Transformer `Conv2d` of kernel 1
//!   (Q, K, V without bias).
//! - **Spikformer's self-attention (SSA)**: Q, K, V spikes per head (C/H channels);
//!   CIFAR-10: scores = Q·Kᵀ (H × N × N, graded), then scores·V; ImageNet: Kᵀ·V (H × d × d)
//!   first, then Q·(KᵀV). The scale 0.125 is a constant folded into the threshold of
//!   `attn_lif` (LIF, threshold 0.5). Residual adds sum spikes (`x = x + attn(x)`): the next
//!   block's Q, K, V layers read values 0..2, not spikes.
//! - **Spike-driven self-attention (SDSA)**: `kv = Σ_tokens K ⊙ V` per channel (a masked
//!   column sum), `talking_heads_lif` on it (LIF, threshold 0.5), then the mask `Q ⊙ kv`
//!   broadcast over tokens, whose AND of spikes feeds the projection directly. Every block
//!   begins with an LIF on the residual stream (`shortcut_lif`, `fc1_lif`): residual adds sum
//!   the currents before the neurons (the membrane shortcut), so every convolution reads
//!   spikes. The `talking_heads` Conv1d (H² weights) is defined but never called in
//!   `forward`: it holds parameters and computes nothing.
//! - **Neurons**: spikingjelly's `MultiStepLIFNode(tau=2.0)`, hard reset to 0: leak
//!   1 − 1/τ = 0.5 with an input gain 1/τ (set `[analysis] neuron = { model = "lif", leak =
//!   0.5 }`). The scale, thresholds and gains change values, not costs.
//! - **Heads**: the mean over tokens (a global average pool), then the classifier; the
//!   Spike-driven Transformer puts an LIF (`head_lif`) between them.
//!
//! Configurations: Spikformer-4-384 on CIFAR-10 (`cifar10.yml`: 4 blocks, 384 channels, 12
//! heads, MLP ratio 4, T = 4), Spikformer-8-512 on ImageNet (`imagenet/model.py`'s
//! `spikformer`: 8 blocks, 512 channels, 8 heads, MLP ratio 4, T = 4 in its `forward`), and
//! the Spike-driven Transformer-8-512 on ImageNet (`8_512_300E_t4.yml`: 8 blocks, 512
//! channels, 8 heads, MLP ratio 4, T = 4).
//!
//! Published figures for Spikformer-8-512 on ImageNet (T = 4): 29.68 M parameters, 11.09 G
//! operations (synaptic operations at the trained model's firing rates) and 11.577 mJ
//! (Zhou et al. 2023, Table 3). The paper itself is not readable here; these figures are as
//! restated by the Spikingformer repository (`zhouchenlin2096/Spikingformer`, commit 4378623,
//! `README.md`: the Spikformer rows of its ImageNet table, 29.68 M and 11.09 G), by TDFormer's
//! ImageNet table (29.68 M, 11.58 mJ) and by a summary of the paper that gives the power to
//! three decimals (11.577 mJ); the three agree. The energy is the estimate's form: 0.9 pJ per
//! published operation plus 4.6 pJ per MAC of the first convolution, which reads the image
//! at each of the T steps (`forward` repeats it T times): 0.9 pJ × 11.09 G + 4.6 pJ × 4 ×
//! 86 704 128 = 11.576 mJ. The modules hold 29 689 384 parameters (29.69 M rounded, 9 384
//! above what 29.68 M allows; the same table's 10-512 model, 36 005 416, rounds to its
//! published 36.01 M). The paper publishes no per-tensor firing rates, so its 11.09 G
//! operations cannot be recounted layer by layer: over the 8.27 G connections and product
//! terms after the first convolution, T = 4 steps, they are a mean input density of 0.335.
//!
//! Not kept: modules defined but not used in `forward` (Spikformer's `norm1`/`norm2`
//! LayerNorms, 4·C parameters per block; the Spike-driven Transformer's `talking_heads`,
//! H² per block) hold parameters but no operation, so they are not layers; the classifier
//! reads the mean over T in Spikformer (`head(x.mean(0))`: once per inference), which snnergy,
//! stepping every layer, counts as a readout per step.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    BuildContext, Component, ConfigError, Network, NetworkBuilder, Shape, Source, Workload,
    WorkloadError,
};

use crate::InputSpec;

/// Which published spiking transformer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TransformerKind {
    /// Spikformer (SSA, spike residuals).
    Spikformer,
    /// Spike-driven Transformer (SDSA, membrane shortcuts).
    SpikeDriven,
}

/// The shape of a spiking transformer: blocks, channels, heads, MLP ratio, input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TransformerConfig {
    /// encoder blocks (the first number of a model's name: 8 in 8-512)
    pub blocks: u32,
    /// embedding channels C (the second number: 512 in 8-512)
    pub channels: u32,
    /// attention heads H (C/H channels each)
    pub heads: u32,
    /// MLP hidden channels over C
    pub mlp_ratio: u32,
    /// `cifar10`, `cifar100`, `imagenet` or [channels, height, width]: sets the patch
    /// splitting's pooling (two pools below 64×64 as in Spikformer's CIFAR model, four from
    /// 64×64 on)
    pub input: InputSpec,
    /// output classes; default the dataset's
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<u32>,
}

impl TransformerConfig {
    /// Spikformer-4-384 on CIFAR-10 (`ZK-Zhou/spikformer` `cifar10/cifar10.yml`).
    pub fn spikformer_4_384_cifar10() -> Self {
        Self {
            blocks: 4,
            channels: 384,
            heads: 12,
            mlp_ratio: 4,
            input: InputSpec::Dataset("cifar10".into()),
            classes: None,
        }
    }

    /// 8 blocks, 512 channels, 8 heads, MLP ratio 4 on ImageNet: Spikformer-8-512
    /// (`imagenet/model.py`) and the Spike-driven Transformer-8-512
    /// (`conf/imagenet/8_512_300E_t4.yml`).
    pub fn imagenet_8_512() -> Self {
        Self {
            blocks: 8,
            channels: 512,
            heads: 8,
            mlp_ratio: 4,
            input: InputSpec::Dataset("imagenet".into()),
            classes: None,
        }
    }
}

/// A spiking transformer workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Transformer {
    kind: TransformerKind,
    config: TransformerConfig,
}

impl Transformer {
    /// `kind` shaped by `config`.
    pub fn new(kind: TransformerKind, config: TransformerConfig) -> Self {
        Self { kind, config }
    }
}

/// What building the layers needs besides the builder.
struct Dims {
    c: u32,
    heads: u32,
    hidden: u32,
    tokens: u32,
    side: (u32, u32),
    /// Spikformer's CIFAR model computes scores·V; its ImageNet model Q·(Kᵀ·V).
    scores_first: bool,
}

impl Workload for Transformer {
    fn network(&self) -> Result<Network, WorkloadError> {
        let cfg = &self.config;
        let (input, default_classes, data) = cfg
            .input
            .resolve()
            .map_err(|e| WorkloadError::Other(e.to_string()))?;
        let classes = cfg.classes.unwrap_or(default_classes);
        if cfg.channels == 0
            || cfg.heads == 0
            || !cfg.channels.is_multiple_of(8)
            || !cfg.channels.is_multiple_of(cfg.heads)
        {
            return Err(WorkloadError::Other(format!(
                "channels = {} must be a positive multiple of 8 and of heads = {} (the patch splitting starts at C/8; heads split C)",
                cfg.channels, cfg.heads
            )));
        }
        let large = input.h >= 64 && input.w >= 64;
        let name = match self.kind {
            TransformerKind::Spikformer => "spikformer",
            TransformerKind::SpikeDriven => "sdt",
        };
        let mut b = NetworkBuilder::new(
            format!("{name}-{}-{}-{data}", cfg.blocks, cfg.channels),
            input,
        );
        let x = patch_split(&mut b, self.kind, cfg.channels, large)?;
        let map = b.shape_of(x);
        let d = Dims {
            c: cfg.channels,
            heads: cfg.heads,
            hidden: cfg.channels.saturating_mul(cfg.mlp_ratio),
            tokens: map.h.saturating_mul(map.w),
            side: (map.h, map.w),
            scores_first: !large,
        };
        let mut x = x;
        for i in 0..cfg.blocks {
            x = match self.kind {
                TransformerKind::Spikformer => spikformer_block(&mut b, &d, i, x)?,
                TransformerKind::SpikeDriven => sdt_block(&mut b, &d, i, x)?,
            };
        }
        if self.kind == TransformerKind::SpikeDriven {
            // After the last block the stream is averaged as it is; head_lif fires on the mean.
            b.set_neuron(false);
        }
        b.set_current(x);
        b.pool("mean", false, map.h, map.h.max(1), 0)?;
        if self.kind == TransformerKind::SpikeDriven {
            mark_neuron(&mut b);
        }
        b.linear("head", classes, true, false);
        b.finish()
    }
}

/// Makes the last layer's output pass through a neuron.
fn mark_neuron(b: &mut NetworkBuilder) {
    b.set_neuron(true);
}

/// A token-wise linear layer with BatchNorm: a 1×1 convolution over the token map.
fn token_linear(
    b: &mut NetworkBuilder,
    name: &str,
    out: u32,
    bias: bool,
    bn: &str,
    neuron: bool,
) -> Result<Source, WorkloadError> {
    b.conv(name, out, 1, 1, 0, bias, Some(bn.into()), neuron)
}

fn patch_split(
    b: &mut NetworkBuilder,
    kind: TransformerKind,
    c: u32,
    large: bool,
) -> Result<Source, WorkloadError> {
    let p = "patch_embed";
    let widths = [c / 8, c / 4, c / 2, c];
    // Which convolutions a max pool follows: all four from 64×64 on, the last two below.
    let pooled = |k: usize| large || k >= 2;
    let pool_names = ["maxpool", "maxpool1", "maxpool2", "maxpool3"];
    let suffix = ["", "1", "2", "3"];
    let mut feat = b.current();
    for (k, &w) in widths.iter().enumerate() {
        let sdt_last = kind == TransformerKind::SpikeDriven && k == 3;
        b.conv(
            format!("{p}.proj_conv{}", suffix[k]),
            w,
            3,
            1,
            1,
            false,
            Some(format!("{p}.proj_bn{}", suffix[k])),
            !sdt_last,
        )?;
        if pooled(k) {
            feat = b.pool(format!("{p}.{}", pool_names[k]), true, 3, 2, 1)?;
            if sdt_last {
                // proj_lif3 fires on the pooled current.
                mark_neuron(b);
            }
        } else {
            feat = b.current();
        }
    }
    let rpe = b.conv(
        format!("{p}.rpe_conv"),
        c,
        3,
        1,
        1,
        false,
        Some(format!("{p}.rpe_bn")),
        kind == TransformerKind::Spikformer,
    )?;
    // Spikformer adds rpe_lif's spikes to the pooled spikes; the Spike-driven Transformer
    // adds rpe_bn's current to the pooled current, and the first block's LIF reads the sum.
    match kind {
        TransformerKind::Spikformer => b.add_without_neuron(format!("{p}.add"), &[rpe, feat]),
        TransformerKind::SpikeDriven => b.add(format!("{p}.add"), &[rpe, feat]),
    }
}

fn spikformer_block(
    b: &mut NetworkBuilder,
    d: &Dims,
    i: u32,
    x: Source,
) -> Result<Source, WorkloadError> {
    let a = format!("block.{i}.attn");
    let (c, h, n) = (d.c, d.heads, d.tokens);
    let dh = c / h;
    let lin = if d.scores_first { "linear" } else { "conv" };
    // CIFAR: nn.Linear with bias everywhere; ImageNet: Q, K, V without bias.
    let qkv_bias = d.scores_first;
    let mut qkv = [x; 3];
    for (j, m) in ["q", "k", "v"].iter().enumerate() {
        b.set_current(x);
        qkv[j] = token_linear(
            b,
            &format!("{a}.{m}_{lin}"),
            c,
            qkv_bias,
            &format!("{a}.{m}_bn"),
            true,
        )?;
    }
    let [q, k, v] = qkv;
    let attn = if d.scores_first {
        // scores[h, i, j] = Σ_e Q[h, i, e]·K[h, j, e]; out[h, e, i] = Σ_j V[h, j, e]·scores[h, i, j].
        let s = b.product(
            format!("{a}.qk"),
            [q, k],
            [h, n, n, dh],
            Shape::new(h * n, n, 1),
            false,
        );
        b.product(
            format!("{a}.attn"),
            [v, s],
            [h, dh, n, n],
            Shape::new(c, d.side.0, d.side.1),
            true,
        )
    } else {
        // kv[h, e, f] = Σ_n K[h, n, e]·V[h, n, f]; out[h, i, f] = Σ_e Q[h, i, e]·kv[h, e, f].
        let kv = b.product(
            format!("{a}.kv"),
            [k, v],
            [h, dh, dh, n],
            Shape::new(h * dh, dh, 1),
            false,
        );
        b.product(
            format!("{a}.attn"),
            [q, kv],
            [h, n, dh, dh],
            Shape::new(c, d.side.0, d.side.1),
            true,
        )
    };
    b.set_current(attn);
    let proj = token_linear(
        b,
        &format!("{a}.proj_{lin}"),
        c,
        true,
        &format!("{a}.proj_bn"),
        true,
    )?;
    let x = b.add_without_neuron(format!("block.{i}.add1"), &[x, proj])?;
    let fc2 = mlp(b, d, i, x, lin, true)?;
    b.add_without_neuron(format!("block.{i}.add2"), &[x, fc2])
}

/// Block `i`'s MLP on `x`: fc1 (to the hidden width, with its neuron) and fc2 (back to the
/// model's width, with its neuron where `fc2_neuron`), token-wise layers named `…_{lin}`.
fn mlp(
    b: &mut NetworkBuilder,
    d: &Dims,
    i: u32,
    x: Source,
    lin: &str,
    fc2_neuron: bool,
) -> Result<Source, WorkloadError> {
    let m = format!("block.{i}.mlp");
    b.set_current(x);
    token_linear(
        b,
        &format!("{m}.fc1_{lin}"),
        d.hidden,
        true,
        &format!("{m}.fc1_bn"),
        true,
    )?;
    token_linear(
        b,
        &format!("{m}.fc2_{lin}"),
        d.c,
        true,
        &format!("{m}.fc2_bn"),
        fc2_neuron,
    )
}

fn sdt_block(b: &mut NetworkBuilder, d: &Dims, i: u32, x: Source) -> Result<Source, WorkloadError> {
    // `x` is the residual stream's sum with its neuron (shortcut_lif): convolutions read its
    // spikes, the next add its current.
    let a = format!("block.{i}.attn");
    let (c, n) = (d.c, d.tokens);
    let mut qkv = [x; 3];
    for (j, m) in ["q", "k", "v"].iter().enumerate() {
        b.set_current(x);
        qkv[j] = token_linear(
            b,
            &format!("{a}.{m}_conv"),
            c,
            false,
            &format!("{a}.{m}_bn"),
            true,
        )?;
    }
    let [q, k, v] = qkv;
    // kv[c] = Σ_n K[n, c]·V[n, c], then talking_heads_lif; x[n, c] = Q[n, c]·kv[c].
    let kv = b.product(
        format!("{a}.kv"),
        [k, v],
        [c, 1, 1, n],
        Shape::vector(c),
        true,
    );
    let masked = b.product(
        format!("{a}.mask"),
        [q, kv],
        [c, n, 1, 1],
        Shape::new(c, d.side.0, d.side.1),
        false,
    );
    b.set_current(masked);
    let proj = token_linear(
        b,
        &format!("{a}.proj_conv"),
        c,
        true,
        &format!("{a}.proj_bn"),
        false,
    )?;
    let x = b.add(format!("block.{i}.add1"), &[proj, x])?;
    let fc2 = mlp(b, d, i, x, "conv", false)?;
    b.add(format!("block.{i}.add2"), &[fc2, x])
}

/// `spikformer` and `spike-driven-transformer` as registered components.
#[derive(Debug)]
pub struct TransformerWorkload<const SDT: bool>;

impl<const SDT: bool> Component for TransformerWorkload<SDT> {
    type Interface = dyn Workload;
    type Config = TransformerConfig;
    const NAME: &'static str = if SDT {
        "spike-driven-transformer"
    } else {
        "spikformer"
    };
    const SUMMARY: &'static str = if SDT {
        "Spike-driven Transformer (Yao et al., NeurIPS 2023): SPS, SDSA (masked column sums), membrane shortcuts; default 8-512 on ImageNet"
    } else {
        "Spikformer (Zhou et al., ICLR 2023): SPS, spiking self-attention (Q·Kᵀ·V), spike residuals; default 8-512 on ImageNet"
    };

    fn build(
        config: TransformerConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Workload>, ConfigError> {
        let kind = if SDT {
            TransformerKind::SpikeDriven
        } else {
            TransformerKind::Spikformer
        };
        crate::boxed(Transformer::new(kind, config))
    }
}

impl Default for TransformerConfig {
    fn default() -> Self {
        Self::imagenet_8_512()
    }
}
