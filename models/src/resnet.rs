//! Residual networks: ResNet18/34 (He et al. 2016, torchvision's layout), ResNet20 (the CIFAR
//! ResNet of the same paper) and ResNet19 (Zheng et al., AAAI 2021, the usual SNN benchmark).
//!
//! Each basic block is conv1 → neuron → conv2 → (+ shortcut) → neuron: conv2 and the
//! shortcut projection have no neuron of their own, their sum goes through the one at the
//! `add` layer. Projection shortcuts (1×1 conv + BN) are used wherever the shape changes,
//! including ResNet20 (the paper's option B; option A's zero padding has no weights to load).

use snnergy_core::{
    BuildContext, Component, ConfigError, Network, NetworkBuilder, Workload, WorkloadError,
};

use crate::ModelConfig;

/// Which residual network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResNetDepth {
    /// Basic blocks [2, 2, 2, 2], 64–512 channels.
    ResNet18,
    /// Basic blocks [3, 3, 2], 128–512 channels, two-layer head.
    ResNet19,
    /// Basic blocks [3, 3, 3], 16–64 channels.
    ResNet20,
    /// Basic blocks [3, 4, 6, 3], 64–512 channels.
    ResNet34,
}

impl ResNetDepth {
    /// The ResNet with `layers` layers (18, 19, 20 or 34).
    pub const fn of(layers: u8) -> Self {
        match layers {
            18 => ResNetDepth::ResNet18,
            19 => ResNetDepth::ResNet19,
            20 => ResNetDepth::ResNet20,
            34 => ResNetDepth::ResNet34,
            _ => panic!("ResNet comes with 18, 19, 20 or 34 layers"),
        }
    }

    /// Registered name.
    pub const fn name(self) -> &'static str {
        match self {
            ResNetDepth::ResNet18 => "resnet18",
            ResNetDepth::ResNet19 => "resnet19",
            ResNetDepth::ResNet20 => "resnet20",
            ResNetDepth::ResNet34 => "resnet34",
        }
    }

    /// One-line description.
    pub const fn summary(self) -> &'static str {
        match self {
            ResNetDepth::ResNet18 => {
                "ResNet18, basic blocks [2,2,2,2] (ImageNet: torchvision's; CIFAR: 3×3 stem, no max pooling)"
            }
            ResNetDepth::ResNet19 => {
                "ResNet19 of Zheng et al. (AAAI 2021): 128-channel 3×3 stem, blocks [3,3,2] of 128/256/512, 512→256→classes head"
            }
            ResNetDepth::ResNet20 => {
                "ResNet20 of He et al. for CIFAR: 16/32/64 channels, blocks [3,3,3], projection shortcuts"
            }
            ResNetDepth::ResNet34 => {
                "ResNet34, basic blocks [3,4,6,3] (ImageNet: torchvision's; CIFAR: 3×3 stem, no max pooling)"
            }
        }
    }

    fn stem_channels(self) -> u32 {
        match self {
            ResNetDepth::ResNet19 => 128,
            ResNetDepth::ResNet20 => 16,
            _ => 64,
        }
    }

    /// (channels, blocks, stride) per stage.
    fn stages(self) -> &'static [(u32, u32, u32)] {
        match self {
            ResNetDepth::ResNet18 => &[(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)],
            ResNetDepth::ResNet19 => &[(128, 3, 1), (256, 3, 2), (512, 2, 2)],
            ResNetDepth::ResNet20 => &[(16, 3, 1), (32, 3, 2), (64, 3, 2)],
            ResNetDepth::ResNet34 => &[(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)],
        }
    }
}

/// A residual network.
#[derive(Clone, Debug, PartialEq)]
pub struct ResNet {
    depth: ResNetDepth,
    config: ModelConfig,
}

impl ResNet {
    /// A residual network of `depth` for `config`'s input.
    pub fn new(depth: ResNetDepth, config: ModelConfig) -> Self {
        Self { depth, config }
    }
}

impl Workload for ResNet {
    fn network(&self) -> Result<Network, WorkloadError> {
        let (input, default_classes, data) = self
            .config
            .input
            .resolve()
            .map_err(|e| WorkloadError::Other(e.to_string()))?;
        let classes = self.config.classes.unwrap_or(default_classes);
        let imagenet = self.config.variant.imagenet(input);
        let mut b = NetworkBuilder::new(format!("{}-{data}", self.depth.name()), input);
        let stem = self.depth.stem_channels();
        if imagenet {
            b.conv("conv1", stem, 7, 2, 3, false, Some("bn1".into()), true)?;
            b.pool("maxpool", true, 3, 2, 1)?;
        } else {
            b.conv("conv1", stem, 3, 1, 1, false, Some("bn1".into()), true)?;
        }
        let mut channels = stem;
        for (s, &(out, blocks, stride)) in self.depth.stages().iter().enumerate() {
            for k in 0..blocks {
                let stride = if k == 0 { stride } else { 1 };
                let p = format!("layer{}.{k}", s + 1);
                let block_in = b.current();
                b.conv(
                    format!("{p}.conv1"),
                    out,
                    3,
                    stride,
                    1,
                    false,
                    Some(format!("{p}.bn1")),
                    true,
                )?;
                let main = b.conv(
                    format!("{p}.conv2"),
                    out,
                    3,
                    1,
                    1,
                    false,
                    Some(format!("{p}.bn2")),
                    false,
                )?;
                let shortcut = if stride != 1 || channels != out {
                    b.set_current(block_in);
                    b.conv(
                        format!("{p}.downsample.0"),
                        out,
                        1,
                        stride,
                        0,
                        false,
                        Some(format!("{p}.downsample.1")),
                        false,
                    )?
                } else {
                    block_in
                };
                b.add(format!("{p}.add"), &[main, shortcut])?;
                channels = out;
            }
        }
        let side = b.shape_of(b.current());
        if side.h != side.w {
            return Err(WorkloadError::Other(format!(
                "global average pooling needs square feature maps, got {side}"
            )));
        }
        b.pool("avgpool", false, side.h, side.h, 0)?;
        if self.depth == ResNetDepth::ResNet19 {
            b.linear("fc1", 256, true, true);
            b.linear("fc2", classes, true, false);
        } else {
            b.linear("fc", classes, true, false);
        }
        b.finish()
    }
}

/// `resnet18`, `resnet19`, `resnet20` and `resnet34` as registered components.
#[derive(Debug)]
pub struct ResNetWorkload<const LAYERS: u8>;

impl<const LAYERS: u8> Component for ResNetWorkload<LAYERS> {
    type Interface = dyn Workload;
    type Config = ModelConfig;
    const NAME: &'static str = ResNetDepth::of(LAYERS).name();
    const SUMMARY: &'static str = ResNetDepth::of(LAYERS).summary();

    fn build(config: ModelConfig, _: &BuildContext<'_>) -> Result<Box<dyn Workload>, ConfigError> {
        crate::boxed(ResNet::new(ResNetDepth::of(LAYERS), config))
    }
}
