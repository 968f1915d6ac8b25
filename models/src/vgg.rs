//! VGG (Simonyan & Zisserman 2015).

use snnergy_core::{
    BuildContext, Component, ConfigError, Network, NetworkBuilder, Workload, WorkloadError,
};

use crate::ModelConfig;

/// VGG depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggDepth {
    /// Configuration A.
    Vgg11,
    /// Configuration B.
    Vgg13,
    /// Configuration D.
    Vgg16,
    /// Configuration E.
    Vgg19,
}

/// `M` marks a pooling stage.
const M: u32 = 0;

impl VggDepth {
    /// The configuration with `layers` weighted layers (11, 13, 16 or 19).
    pub const fn of(layers: u8) -> Self {
        match layers {
            11 => VggDepth::Vgg11,
            13 => VggDepth::Vgg13,
            16 => VggDepth::Vgg16,
            19 => VggDepth::Vgg19,
            _ => panic!("VGG comes with 11, 13, 16 or 19 layers"),
        }
    }

    /// One-line description.
    pub const fn summary(self) -> &'static str {
        match self {
            VggDepth::Vgg11 => {
                "VGG11 (CIFAR: BatchNorm, 2×2 average pooling, 512→classes head; ImageNet: torchvision's)"
            }
            VggDepth::Vgg13 => {
                "VGG13 (CIFAR: BatchNorm, 2×2 average pooling, 512→classes head; ImageNet: torchvision's)"
            }
            VggDepth::Vgg16 => {
                "VGG16 (CIFAR: BatchNorm, 2×2 average pooling, 512→classes head; ImageNet: torchvision's)"
            }
            VggDepth::Vgg19 => {
                "VGG19 (CIFAR: BatchNorm, 2×2 average pooling, 512→classes head; ImageNet: torchvision's)"
            }
        }
    }

    /// Registered name.
    pub const fn name(self) -> &'static str {
        match self {
            VggDepth::Vgg11 => "vgg11",
            VggDepth::Vgg13 => "vgg13",
            VggDepth::Vgg16 => "vgg16",
            VggDepth::Vgg19 => "vgg19",
        }
    }

    fn config(self) -> &'static [u32] {
        match self {
            VggDepth::Vgg11 => &[64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
            VggDepth::Vgg13 => &[
                64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M,
            ],
            VggDepth::Vgg16 => &[
                64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M,
            ],
            VggDepth::Vgg19 => &[
                64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512,
                512, 512, M,
            ],
        }
    }
}

/// A VGG network.
#[derive(Clone, Debug, PartialEq)]
pub struct Vgg {
    depth: VggDepth,
    config: ModelConfig,
}

impl Vgg {
    /// A VGG of `depth` for `config`'s input.
    pub fn new(depth: VggDepth, config: ModelConfig) -> Self {
        Self { depth, config }
    }
}

impl Workload for Vgg {
    fn network(&self) -> Result<Network, WorkloadError> {
        let (input, default_classes, data) = self
            .config
            .input
            .resolve()
            .map_err(|e| WorkloadError::Other(e.to_string()))?;
        let classes = self.config.classes.unwrap_or(default_classes);
        let imagenet = self.config.variant.imagenet(input);
        let mut b = NetworkBuilder::new(format!("{}-{data}", self.depth.name()), input);
        // Module indices follow PyTorch's `nn.Sequential`: torchvision's plain VGG for
        // ImageNet (conv, ReLU), the BatchNorm variant for CIFAR (conv, BN, activation).
        let per_conv = if imagenet { 2 } else { 3 };
        let mut index = 0;
        for &c in self.depth.config() {
            if c == M {
                b.pool(format!("features.{index}"), imagenet, 2, 2, 0)?;
                index += 1;
            } else {
                let bn = (!imagenet).then(|| format!("features.{}", index + 1));
                b.conv(format!("features.{index}"), c, 3, 1, 1, imagenet, bn, true)?;
                index += per_conv;
            }
        }
        if imagenet {
            // torchvision's adaptive average pool is the identity at 224×224 (7×7 maps).
            b.linear("classifier.0", 4096, true, true);
            b.linear("classifier.3", 4096, true, true);
            b.linear("classifier.6", classes, true, false);
        } else {
            b.linear("classifier", classes, true, false);
        }
        b.finish()
    }
}

/// `vgg11`, `vgg13`, `vgg16` and `vgg19` as registered components (`LAYERS` of them).
#[derive(Debug)]
pub struct VggWorkload<const LAYERS: u8>;

impl<const LAYERS: u8> Component for VggWorkload<LAYERS> {
    type Interface = dyn Workload;
    type Config = ModelConfig;
    const NAME: &'static str = VggDepth::of(LAYERS).name();
    const SUMMARY: &'static str = VggDepth::of(LAYERS).summary();

    fn build(config: ModelConfig, _: &BuildContext<'_>) -> Result<Box<dyn Workload>, ConfigError> {
        crate::boxed(Vgg::new(VggDepth::of(LAYERS), config))
    }
}
