//! Spike-driven Transformer V2, Meta-SpikeFormer (Yao et al., "Spike-driven Transformer V2:
//! Meta Spiking Neural Network Architecture Inspiring the Design of Next-generation
//! Neuromorphic Chips", ICLR 2024), built from its reference implementation's module
//! definitions, read at `BICLab/Spike-Driven-Transformer-V2` (commit 35f245f:
//! `classification/models.py`, classes `Spiking_vit_MetaFormer`, `MS_DownSampling`,
//! `MS_ConvBlock`, `SepConv`, `RepConv`, `MS_Block`, `MS_Attention_RepConv_qkv_id`, `MS_MLP`,
//! and the constructors `metaspikformer_8_384/512/768`). Layer names are those modules' paths.
//!
//! What the code says, and snnergy keeps:
//!
//! - **Stages**: `downsample1_1` (7×7, stride 2, padding 3, C1/2 channels, bias, BatchNorm;
//!   it reads the image, no neuron before it), one `ConvBlock1_1`, `downsample1_2` (3×3,
//!   stride 2, C1), one `ConvBlock1_2`, `downsample2` (3×3, stride 2, C2), `ConvBlock2_1` and
//!   `ConvBlock2_2`, `downsample3` (3×3, stride 2, C3), six transformer blocks `block3`,
//!   `downsample4` (3×3, stride 1, C4), two blocks `block4`; then the mean over tokens, an LIF
//!   (`lif`) and the classifier `head`. On 224×224 the stages run at 112², 56², 28² and 14²
//!   (196 tokens). Every downsampling convolution has a bias and a BatchNorm; all but the
//!   first read the spikes of their `encode_lif`. The block counts (1, 1, 2, 6, 2) are fixed in
//!   the code (`depths = 8` only sets the drop-path schedule).
//! - **Convolution blocks** (`MS_ConvBlock`, MLP ratio 4): a `SepConv` (LIF, 1×1 to 2C with
//!   BatchNorm, LIF, 7×7 depthwise with padding 3, 1×1 back to C with BatchNorm; no bias),
//!   whose current is added to the block's input; then LIF, 3×3 convolution to 4C
//!   (BatchNorm), LIF, 3×3 back to C (BatchNorm), added again. The depthwise convolution's
//!   output feeds the next 1×1 convolution without a neuron: that convolution reads graded
//!   values.
//! - **Transformer blocks** (`MS_Block`): an LIF on the residual stream (`head_lif`), then Q,
//!   K, V each a `RepConv` (1×1 with a BatchNorm that pads its output by one pixel with the
//!   BatchNorm's constant, 3×3 depthwise without padding, 1×1; BatchNorm) and a BatchNorm,
//!   each through an LIF; Kᵀ·V (H × d × d) then Q·(KᵀV) as in Spikformer's ImageNet model, the
//!   scale folded into `attn_lif` (threshold 0.5); the projection a `RepConv` and BatchNorm
//!   without a neuron, added to the stream; the MLP as in the Spike-driven Transformer (LIF,
//!   1×1 to 4C with bias and BatchNorm, LIF, 1×1 back with bias and BatchNorm) over tokens,
//!   added again. Every residual add sums currents before the next neuron.
//! - **Neurons**: spikingjelly's `MultiStepLIFNode(tau=2.0)` everywhere.
//!
//! How snnergy writes what it has no exact form for: the 3×3 depthwise convolution of a
//! `RepConv` reads a map the BatchNorm padded with a constant, not zeros; it is a depthwise
//! convolution of padding 1 here (the same shape and taps; the border taps read a constant
//! instead of zero). Two BatchNorms follow the last 1×1 convolution of each `RepConv` (its own
//! and the one beside it in `q_conv`, `k_conv`, `v_conv`, `proj_conv`): both fold into it,
//! and the layer names the first, so the built count of parameters lacks the second's 2·C per
//! `RepConv`.
//!
//! Configurations (`channels` = [C1, C2, C3, C4], 8 heads, MLP ratio 4):
//! `metaspikformer_8_384` [96, 192, 384, 480], `_8_512` [128, 256, 512, 640] (the default),
//! `_8_768` [192, 384, 768, 960]. T = 4 is `train_finetune_from_t1_to_t4.sh`'s
//! `--time_steps 4` for `metaspikformer_8_512` (the model's own default is T = 1). That run
//! also sets `--kd`, which adds a second classifier `head_kd` averaged with `head`; the
//! default model (`kd = False`) has none, and neither does this workload. The paper's parameter counts, 31.3 M
//! and 55.4 M for the first two, are restated by TDFormer's ImageNet table (the paper itself
//! is not readable here); the modules hold 31 333 864 and 55 350 248. Its energy figures (32.8
//! and 52.4 mJ as restated there) rest on firing rates the paper does not publish per tensor,
//! and no operation count of it is available here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    BuildContext, Component, ConfigError, Network, NetworkBuilder, Shape, Source, Workload,
    WorkloadError,
};

use crate::InputSpec;

/// The shape of a Meta-SpikeFormer: stage channels, heads, MLP ratio, input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MetaSpikformerConfig {
    /// channels of the four stages [C1, C2, C3, C4] (the first downsampling makes C1/2)
    pub channels: [u32; 4],
    /// attention heads H of the transformer blocks (C3/H and C4/H channels each)
    pub heads: u32,
    /// hidden channels over C in the convolution blocks and the MLPs
    pub mlp_ratio: u32,
    /// `imagenet` or [channels, height, width] (four downsamplings of stride 2: at least
    /// 16×16)
    pub input: InputSpec,
    /// output classes; default the dataset's
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<u32>,
}

impl MetaSpikformerConfig {
    /// `metaspikformer_8_384`: [96, 192, 384, 480].
    pub fn imagenet_8_384() -> Self {
        Self {
            channels: [96, 192, 384, 480],
            ..Self::imagenet_8_512()
        }
    }

    /// `metaspikformer_8_512`: [128, 256, 512, 640], 8 heads, MLP ratio 4, ImageNet.
    pub fn imagenet_8_512() -> Self {
        Self {
            channels: [128, 256, 512, 640],
            heads: 8,
            mlp_ratio: 4,
            input: InputSpec::Dataset("imagenet".into()),
            classes: None,
        }
    }

    /// `metaspikformer_8_768`: [192, 384, 768, 960].
    pub fn imagenet_8_768() -> Self {
        Self {
            channels: [192, 384, 768, 960],
            ..Self::imagenet_8_512()
        }
    }
}

impl Default for MetaSpikformerConfig {
    fn default() -> Self {
        Self::imagenet_8_512()
    }
}

/// A Meta-SpikeFormer workload.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaSpikformer {
    config: MetaSpikformerConfig,
}

impl MetaSpikformer {
    /// The model shaped by `config`.
    pub fn new(config: MetaSpikformerConfig) -> Self {
        Self { config }
    }
}

impl Workload for MetaSpikformer {
    fn network(&self) -> Result<Network, WorkloadError> {
        let cfg = &self.config;
        let (input, default_classes, data) = cfg
            .input
            .resolve()
            .map_err(|e| WorkloadError::Other(e.to_string()))?;
        let [c1, c2, c3, c4] = cfg.channels;
        if cfg.heads == 0
            || c1 == 0
            || !c1.is_multiple_of(2)
            || !c3.is_multiple_of(cfg.heads)
            || !c4.is_multiple_of(cfg.heads)
            || c2 == 0
        {
            return Err(WorkloadError::Other(format!(
                "channels = {:?} need an even C1 and C3, C4 multiples of heads = {} (the first downsampling makes C1/2; heads split C3 and C4)",
                cfg.channels, cfg.heads
            )));
        }
        let r = cfg.mlp_ratio;
        let mut b = NetworkBuilder::new(format!("meta-spikformer-8-{c3}-{data}"), input);
        downsample(&mut b, "downsample1_1", c1 / 2, 7, 2, 3)?;
        let mut x = conv_block(&mut b, "ConvBlock1_1.0", c1 / 2, r)?;
        b.set_current(x);
        downsample(&mut b, "downsample1_2", c1, 3, 2, 1)?;
        x = conv_block(&mut b, "ConvBlock1_2.0", c1, r)?;
        b.set_current(x);
        downsample(&mut b, "downsample2", c2, 3, 2, 1)?;
        x = conv_block(&mut b, "ConvBlock2_1.0", c2, r)?;
        b.set_current(x);
        x = conv_block(&mut b, "ConvBlock2_2.0", c2, r)?;
        b.set_current(x);
        x = downsample(&mut b, "downsample3", c3, 3, 2, 1)?;
        for j in 0..6 {
            x = transformer_block(&mut b, &format!("block3.{j}"), c3, cfg.heads, r, x)?;
        }
        b.set_current(x);
        x = downsample(&mut b, "downsample4", c4, 3, 1, 1)?;
        for j in 0..2 {
            x = transformer_block(&mut b, &format!("block4.{j}"), c4, cfg.heads, r, x)?;
        }
        // The stream is averaged over tokens as it is; `lif` fires on the mean.
        b.set_current(x);
        b.neuron(false);
        let side = b.shape_of(x).h;
        b.pool("mean", false, side, side.max(1), 0)?;
        b.neuron(true);
        b.linear("head", cfg.classes.unwrap_or(default_classes), true, false);
        b.finish()
    }
}

/// `MS_DownSampling`: a convolution with bias and BatchNorm whose current the next neuron
/// reads (and, in the blocks after it, the next residual add).
fn downsample(
    b: &mut NetworkBuilder,
    name: &str,
    out: u32,
    kernel: u32,
    stride: u32,
    padding: u32,
) -> Result<Source, WorkloadError> {
    b.conv(
        format!("{name}.encode_conv"),
        out,
        kernel,
        stride,
        padding,
        true,
        Some(format!("{name}.encode_bn")),
        true,
    )
}

/// `MS_ConvBlock` on the current stream `x`: SepConv added to `x`, then two 3×3 convolutions
/// added to that sum. Returns the last sum.
fn conv_block(b: &mut NetworkBuilder, name: &str, c: u32, r: u32) -> Result<Source, WorkloadError> {
    let x = b.current();
    let s = format!("{name}.Conv");
    let wide = c.saturating_mul(2);
    b.conv(
        format!("{s}.pwconv1"),
        wide,
        1,
        1,
        0,
        false,
        Some(format!("{s}.bn1")),
        true,
    )?;
    b.conv(format!("{s}.dwconv"), wide, 7, 1, 3, false, None, false)?;
    b.groups(wide)?;
    let sep = b.conv(
        format!("{s}.pwconv2"),
        c,
        1,
        1,
        0,
        false,
        Some(format!("{s}.bn2")),
        false,
    )?;
    let feat = b.add(format!("{name}.add1"), &[sep, x])?;
    b.conv(
        format!("{name}.conv1"),
        c.saturating_mul(r),
        3,
        1,
        1,
        false,
        Some(format!("{name}.bn1")),
        true,
    )?;
    let out = b.conv(
        format!("{name}.conv2"),
        c,
        3,
        1,
        1,
        false,
        Some(format!("{name}.bn2")),
        false,
    )?;
    b.add(format!("{name}.add2"), &[feat, out])
}

/// `RepConv` and the BatchNorm beside it, reading the current layer: 1×1, 3×3 depthwise, 1×1.
fn rep_conv(
    b: &mut NetworkBuilder,
    name: &str,
    c: u32,
    neuron: bool,
) -> Result<Source, WorkloadError> {
    let body = format!("{name}.0.body");
    b.conv(
        format!("{body}.0"),
        c,
        1,
        1,
        0,
        false,
        Some(format!("{body}.1.bn")),
        false,
    )?;
    b.conv(format!("{body}.2.0"), c, 3, 1, 1, false, None, false)?;
    b.groups(c)?;
    b.conv(
        format!("{body}.2.1"),
        c,
        1,
        1,
        0,
        false,
        Some(format!("{body}.2.2")),
        neuron,
    )
}

/// `MS_Block` on the stream `x` (a sum with its neuron, `head_lif`): RepConv Q, K, V,
/// Kᵀ·V then Q·(KᵀV), the RepConv projection added to `x`, the MLP added to that sum.
fn transformer_block(
    b: &mut NetworkBuilder,
    name: &str,
    c: u32,
    heads: u32,
    r: u32,
    x: Source,
) -> Result<Source, WorkloadError> {
    let a = format!("{name}.attn");
    let map = b.shape_of(x);
    let n = map.h.saturating_mul(map.w);
    let dh = c / heads;
    let mut qkv = [x; 3];
    for (j, m) in ["q", "k", "v"].iter().enumerate() {
        b.set_current(x);
        qkv[j] = rep_conv(b, &format!("{a}.{m}_conv"), c, true)?;
    }
    let [q, k, v] = qkv;
    let kv = b.product(
        format!("{a}.kv"),
        [k, v],
        [heads, dh, dh, n],
        Shape::new(heads * dh, dh, 1),
        false,
    );
    let attn = b.product(
        format!("{a}.attn"),
        [q, kv],
        [heads, n, dh, dh],
        Shape::new(c, map.h, map.w),
        true,
    );
    b.set_current(attn);
    let proj = rep_conv(b, &format!("{a}.proj_conv"), c, false)?;
    let x = b.add(format!("{name}.add1"), &[x, proj])?;
    let m = format!("{name}.mlp");
    b.conv(
        format!("{m}.fc1_conv"),
        c.saturating_mul(r),
        1,
        1,
        0,
        true,
        Some(format!("{m}.fc1_bn")),
        true,
    )?;
    let fc2 = b.conv(
        format!("{m}.fc2_conv"),
        c,
        1,
        1,
        0,
        true,
        Some(format!("{m}.fc2_bn")),
        false,
    )?;
    b.add(format!("{name}.add2"), &[x, fc2])
}

/// `spike-driven-transformer-v2` as a registered component.
#[derive(Debug)]
pub struct MetaSpikformerWorkload;

impl Component for MetaSpikformerWorkload {
    type Interface = dyn Workload;
    type Config = MetaSpikformerConfig;
    const NAME: &'static str = "spike-driven-transformer-v2";
    const SUMMARY: &'static str = "Spike-driven Transformer V2 / Meta-SpikeFormer (Yao et al., ICLR 2024): convolution stages, RepConv Q, K, V, membrane shortcuts; default 8-512 on ImageNet";

    fn build(
        config: MetaSpikformerConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Workload>, ConfigError> {
        crate::boxed(MetaSpikformer::new(config))
    }
}
