//! snnergy-models: the networks snnergy analyses.
//!
//! VGG11/13/16/19 and ResNet18/19/20/34, each for CIFAR-sized and ImageNet-sized inputs, the
//! spiking transformers Spikformer, the Spike-driven Transformer and its V2 (Meta-SpikeFormer),
//! and a `custom` workload whose layers are listed in the pipeline. Layer names follow the
//! PyTorch module paths (torchvision's for ImageNet models, the usual CIFAR ports otherwise), so
//! activity profiles and weight files exported from PyTorch line up with them.
//!
//! Which variant is built follows the input size: inputs of 64×64 and larger get the ImageNet
//! stem and head (torchvision's), smaller ones the CIFAR variants used in SNN papers (VGG with
//! BatchNorm, 2×2 average pooling and a single 512→classes linear head as in the reference
//! code; ResNets with a 3×3 stem and no max pooling). `head`/`stem` overrides the choice.

#![warn(missing_docs)]

mod custom;
mod meta_spikformer;
mod resnet;
mod transformer;
mod vgg;

pub use custom::{Custom, CustomLayer, CustomNeuron, NeuronField};
pub use meta_spikformer::{MetaSpikformer, MetaSpikformerConfig, MetaSpikformerWorkload};
pub use resnet::{ResNet, ResNetDepth, ResNetWorkload};
pub use transformer::{Transformer, TransformerConfig, TransformerKind, TransformerWorkload};
pub use vgg::{Vgg, VggDepth, VggWorkload};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{ConfigError, Registry, RegistryError, Shape, Workload};

/// The input of a built-in model: a dataset name or an explicit `[c, h, w]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum InputSpec {
    /// `cifar10`, `cifar100`, `imagenet`, `mnist`, `fashion-mnist`.
    Dataset(String),
    /// Channels, height, width.
    Shape([u32; 3]),
}

impl Default for InputSpec {
    fn default() -> Self {
        InputSpec::Dataset("cifar10".into())
    }
}

/// Dataset names this crate knows, with input shape and class count.
pub const DATASETS: &[(&str, Shape, u32)] = &[
    ("cifar10", Shape::new(3, 32, 32), 10),
    ("cifar100", Shape::new(3, 32, 32), 100),
    ("imagenet", Shape::new(3, 224, 224), 1000),
    ("mnist", Shape::new(1, 28, 28), 10),
    ("fashion-mnist", Shape::new(1, 28, 28), 10),
];

impl InputSpec {
    /// The input shape, the default class count and a short name for the network.
    pub fn resolve(&self) -> Result<(Shape, u32, String), ConfigError> {
        match self {
            InputSpec::Dataset(name) => DATASETS
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(n, s, c)| (*s, *c, (*n).to_string()))
                .ok_or_else(|| {
                    let names: Vec<&str> = DATASETS.iter().map(|d| d.0).collect();
                    ConfigError::new(format!(
                        "unknown dataset `{name}` (known: {}; or give [channels, height, width])",
                        names.join(", ")
                    ))
                    .at_key("input")
                }),
            InputSpec::Shape([c, h, w]) => {
                if *c == 0 || *h == 0 || *w == 0 {
                    return Err(ConfigError::new(format!(
                        "input shape [{c}, {h}, {w}] has a zero dimension"
                    ))
                    .at_key("input"));
                }
                Ok((Shape::new(*c, *h, *w), 10, format!("{c}x{h}x{w}")))
            }
        }
    }
}

/// Which variant of stem and head to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// ImageNet variant for inputs of at least 64×64, CIFAR variant otherwise.
    #[default]
    Auto,
    /// The CIFAR variant.
    Cifar,
    /// The ImageNet variant.
    Imagenet,
}

impl Variant {
    /// Whether the ImageNet variant applies to `input`.
    pub fn imagenet(self, input: Shape) -> bool {
        match self {
            Variant::Auto => input.h >= 64 && input.w >= 64,
            Variant::Cifar => false,
            Variant::Imagenet => true,
        }
    }
}

/// Configuration shared by the built-in models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// dataset (`cifar10`, `cifar100`, `imagenet`, `mnist`, `fashion-mnist`) or [channels,
    /// height, width]; default cifar10
    pub input: InputSpec,
    /// output classes; default the dataset's (10 for an explicit shape)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<u32>,
    /// `auto` (ImageNet stem/head from 64×64 up, CIFAR variant below), `cifar` or `imagenet`
    pub variant: Variant,
}

fn boxed(w: impl Workload + 'static) -> Result<Box<dyn Workload>, ConfigError> {
    w.network().map_err(|e| ConfigError::new(e.to_string()))?;
    Ok(Box::new(w))
}

/// Every built-in workload: adding one is one line here.
fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add::<VggWorkload<11>>()?;
    r.add::<VggWorkload<13>>()?;
    r.add::<VggWorkload<16>>()?;
    r.add::<VggWorkload<19>>()?;
    r.add::<ResNetWorkload<18>>()?;
    r.add::<ResNetWorkload<19>>()?;
    r.add::<ResNetWorkload<20>>()?;
    r.add::<ResNetWorkload<34>>()?;
    r.add::<TransformerWorkload<false>>()?;
    r.add::<TransformerWorkload<true>>()?;
    r.add::<MetaSpikformerWorkload>()?;
    r.add::<Custom>()?;
    Ok(())
}

snnergy_core::register_builtins!(register);
