//! `[train]`: what to train, on what, for how long, with which optimizer, schedule and
//! regularizers. Parsed from the raw table a pipeline keeps; errors name the key.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{BuildContext, ConfigError, Network, Regularizer};

use crate::activity::{DatasetKind, EngineSettings};
use crate::data::{Dataset, Split};
use crate::error::Result;

/// The optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// SGD with momentum (PyTorch's formulation: v ← μ·v + g, w ← w − lr·v).
    Sgd,
    /// Adam; `weight_decay` adds λ·w to the gradient.
    #[default]
    Adam,
    /// Adam with decoupled weight decay (w ← w − lr·λ·w).
    Adamw,
}

impl OptimizerKind {
    /// The name used in TOML and checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
        }
    }
}

/// The learning-rate schedule (after the warm-up, if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// The same rate throughout.
    Constant,
    /// Multiplied by `gamma` every `step_size` epochs.
    Step,
    /// Cosine decay from `lr` to `min_lr` over the run.
    #[default]
    Cosine,
}

/// `[train]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// `fashion-mnist` (default; Debian's folder), `mnist` or `cifar10`
    pub dataset: DatasetKind,
    /// folder with the data set files (training and test splits), relative to the pipeline
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// per-channel normalization mean; default none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f64>,
    /// per-channel normalization standard deviation
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub std: Vec<f64>,
    /// training images used, the first ones (0: all)
    pub samples: usize,
    /// test images the QNN accuracy is measured on after each epoch (0: all)
    pub test_samples: usize,
    /// passes over the training images; default 10
    pub epochs: u32,
    /// images per step; default 128 (a last partial batch is dropped)
    pub batch: usize,
    /// T of Q_T; default the pipeline's headline T
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timesteps: Option<u32>,
    /// θ of the training quantizer Q(y) = ⌊clamp(T·y/θ + φ, 0, T)⌋/T; default 1
    pub threshold: f64,
    /// quantizer shift φ in [0, 1): 0 (default) the paper's Q_T, 0.5 the QCFS quantizer; the
    /// SNN must use the same (engine `shift`)
    pub shift: f64,
    /// clip of the gradient entering the straight-through estimator; default 100
    pub ste_clip: f64,
    /// seed of initialization, shuffling and augmentation
    pub seed: u64,
    /// `sgd`, `adam` (default) or `adamw`
    pub optimizer: OptimizerKind,
    /// peak learning rate; default 0.1 (sgd), 1e-3 (adam)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// SGD momentum; default 0.9
    pub momentum: f64,
    /// Nesterov momentum for SGD; default false
    pub nesterov: bool,
    /// Adam's β₁, β₂; default [0.9, 0.999]
    pub betas: [f64; 2],
    /// Adam's ε; default 1e-8
    pub eps: f64,
    /// weight decay on convolution and linear weights; default 0
    pub weight_decay: f64,
    /// `constant`, `step` or `cosine` (default)
    pub schedule: ScheduleKind,
    /// linear warm-up from 0 over this many epochs; default 0
    pub warmup_epochs: f64,
    /// epochs between decays of the `step` schedule; default epochs / 3
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<u32>,
    /// decay factor of the `step` schedule; default 0.1
    pub gamma: f64,
    /// final rate of the `cosine` schedule; default 0
    pub min_lr: f64,
    /// momentum of BatchNorm's running statistics; default 0.1
    pub bn_momentum: f64,
    /// random crops after padding by this many pixels; default 0 (off)
    pub crop_padding: usize,
    /// random horizontal flips; default false
    pub flip: bool,
    /// safetensors file written after every epoch: the weights under PyTorch's names (the
    /// engine loads them) plus `optimizer.*` state; default checkpoint.safetensors beside the
    /// pipeline
    pub checkpoint: PathBuf,
    /// weights to start from (fine-tuning) instead of a seeded initialization
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<PathBuf>,
    /// continue from `checkpoint`: weights, optimizer state and epoch
    pub resume: bool,
    /// regularizers: tables with `type` (activation-l1, weight-l2, weight-gram, energy-aware,
    /// …) and their keys
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub regularizer: Vec<toml::Table>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::default(),
            data: None,
            mean: Vec::new(),
            std: Vec::new(),
            samples: 0,
            test_samples: 0,
            epochs: 10,
            batch: 128,
            timesteps: None,
            threshold: 1.0,
            shift: 0.0,
            ste_clip: 100.0,
            seed: 0,
            optimizer: OptimizerKind::default(),
            lr: None,
            momentum: 0.9,
            nesterov: false,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: 0.0,
            schedule: ScheduleKind::default(),
            warmup_epochs: 0.0,
            step_size: None,
            gamma: 0.1,
            min_lr: 0.0,
            bn_momentum: 0.1,
            crop_padding: 0,
            flip: false,
            checkpoint: PathBuf::from("checkpoint.safetensors"),
            init: None,
            resume: false,
            regularizer: Vec::new(),
        }
    }
}

fn positive(key: &str, v: f64) -> std::result::Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(format!("{v}: must be a positive finite number")).at_key(key))
    }
}

fn non_negative(key: &str, v: f64) -> std::result::Result<(), ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(format!("{v}: must be a finite number ≥ 0")).at_key(key))
    }
}

impl TrainConfig {
    /// Parses `[train]` (without resolving paths); errors carry the key inside the table.
    pub fn from_table(table: &toml::Table) -> std::result::Result<Self, ConfigError> {
        let mut de = <dyn erased_serde::Deserializer>::erase(toml::Value::Table(table.clone()));
        let c: Self = snnergy_core::registry::deserialize_config(&mut de)?;
        c.validate()?;
        Ok(c)
    }

    /// Checks ranges: every learning-rate, decay and schedule value, T and the batch.
    pub fn validate(&self) -> std::result::Result<(), ConfigError> {
        self.check_sizes()?;
        self.check_rates()?;
        self.check_schedule()?;
        self.check_normalization_and_start()
    }

    /// Epochs, batch and T: at least what training needs, at most what it runs.
    fn check_sizes(&self) -> std::result::Result<(), ConfigError> {
        if self.epochs == 0 {
            return Err(ConfigError::new("0: train for at least one epoch").at_key("epochs"));
        }
        if self.epochs > 100_000 {
            return Err(ConfigError::new(format!(
                "{}: at most 100000 epochs are trained",
                self.epochs
            ))
            .at_key("epochs"));
        }
        if self.batch < 2 {
            return Err(ConfigError::new(format!(
                "{}: BatchNorm needs at least 2 images per batch",
                self.batch
            ))
            .at_key("batch"));
        }
        if self.batch > crate::run::MAX_BATCH {
            return Err(ConfigError::new(format!(
                "{}: at most {} images per batch",
                self.batch,
                crate::run::MAX_BATCH
            ))
            .at_key("batch"));
        }
        if self.timesteps == Some(0) {
            return Err(ConfigError::new("0: Q_T needs T ≥ 1").at_key("timesteps"));
        }
        if let Some(t) = self.timesteps
            && t > crate::run::MAX_TIMESTEPS
        {
            return Err(ConfigError::new(format!(
                "{t}: at most {} time steps",
                crate::run::MAX_TIMESTEPS
            ))
            .at_key("timesteps"));
        }
        Ok(())
    }

    /// The learning rate, the quantizer's threshold, clip and shift, and the optimizer's
    /// coefficients.
    fn check_rates(&self) -> std::result::Result<(), ConfigError> {
        if let Some(lr) = self.lr {
            positive("lr", lr)?;
        }
        positive("threshold", self.threshold)?;
        positive("ste_clip", self.ste_clip)?;
        if !(0.0..1.0).contains(&self.shift) {
            return Err(ConfigError::new(format!(
                "{}: the shift lies in [0, 1) (0: Q_T, 0.5: QCFS)",
                self.shift
            ))
            .at_key("shift"));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(
                ConfigError::new(format!("{}: must lie in [0, 1)", self.momentum))
                    .at_key("momentum"),
            );
        }
        for (i, b) in self.betas.iter().enumerate() {
            if !(0.0..1.0).contains(b) {
                return Err(ConfigError::new(format!("{b}: must lie in [0, 1)"))
                    .at_key(format!("betas[{i}]")));
            }
        }
        positive("eps", self.eps)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("warmup_epochs", self.warmup_epochs)?;
        Ok(())
    }

    /// The learning-rate schedule and BatchNorm's momentum.
    fn check_schedule(&self) -> std::result::Result<(), ConfigError> {
        if self.step_size == Some(0) {
            return Err(ConfigError::new("0: must be at least 1 epoch").at_key("step_size"));
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0 && self.gamma <= 1.0) {
            return Err(
                ConfigError::new(format!("{}: must lie in (0, 1]", self.gamma)).at_key("gamma"),
            );
        }
        non_negative("min_lr", self.min_lr)?;
        if self.min_lr > self.peak_lr() {
            return Err(ConfigError::new(format!(
                "{}: above the peak learning rate {}",
                self.min_lr,
                self.peak_lr()
            ))
            .at_key("min_lr"));
        }
        if !(self.bn_momentum > 0.0 && self.bn_momentum <= 1.0) {
            return Err(
                ConfigError::new(format!("{}: must lie in (0, 1]", self.bn_momentum))
                    .at_key("bn_momentum"),
            );
        }
        Ok(())
    }

    /// The input normalization, and one start: resumed or initialized.
    fn check_normalization_and_start(&self) -> std::result::Result<(), ConfigError> {
        if self.mean.len() != self.std.len() {
            return Err(ConfigError::new(format!(
                "{} values for {} `mean` values",
                self.std.len(),
                self.mean.len()
            ))
            .at_key("std"));
        }
        if self.resume && self.init.is_some() {
            return Err(ConfigError::new(
                "`resume` continues from `checkpoint`; `init` starts from other weights: use one",
            )
            .at_key("init"));
        }
        Ok(())
    }

    /// The peak learning rate (the optimizer's default unless `lr` is set).
    pub fn peak_lr(&self) -> f64 {
        self.lr.unwrap_or(match self.optimizer {
            OptimizerKind::Sgd => 0.1,
            OptimizerKind::Adam | OptimizerKind::Adamw => 1e-3,
        })
    }

    /// T of the quantizer: `timesteps`, else `default`.
    pub fn timesteps_or(&self, default: u32) -> u32 {
        self.timesteps.unwrap_or(default)
    }

    /// Resolves relative paths (data, checkpoint, init) against `base_dir`.
    pub fn resolve_paths(&mut self, base_dir: &Path) {
        let r = |p: &Path| snnergy_analysis::resolve(base_dir, p);
        self.data = self.data.as_deref().map(r);
        self.checkpoint = r(&self.checkpoint);
        self.init = self.init.as_deref().map(r);
    }

    fn settings(&self, split: Split, samples: usize) -> EngineSettings {
        EngineSettings {
            dataset: self.dataset,
            data: self.data.clone(),
            split,
            mean: self.mean.clone(),
            std: self.std.clone(),
            samples,
            ..EngineSettings::default()
        }
    }

    /// The training images (paths resolved against `base_dir`) for `network`: the files'
    /// headers are checked against its input and the default memory budget before any data is
    /// read.
    pub fn train_data(&self, base_dir: &Path, network: &Network) -> Result<Dataset> {
        self.settings(Split::Train, self.samples).load_data_for(
            base_dir,
            network,
            1,
            &data_budget(),
        )
    }

    /// The test images, checked as [`TrainConfig::train_data`].
    pub fn test_data(&self, base_dir: &Path, network: &Network) -> Result<Dataset> {
        self.settings(Split::Test, self.test_samples).load_data_for(
            base_dir,
            network,
            1,
            &data_budget(),
        )
    }

    /// Builds the regularizers in `ctx` (the pipeline's registry) and prepares them for
    /// `network` at `timesteps`; errors carry `regularizer[i].key`.
    pub fn regularizers(
        &self,
        ctx: &BuildContext<'_>,
        network: &Network,
        timesteps: u32,
    ) -> std::result::Result<Vec<Box<dyn Regularizer>>, ConfigError> {
        let mut out = Vec::new();
        for (i, table) in self.regularizer.iter().enumerate() {
            let at = |e: ConfigError| {
                let key = match &e.key {
                    Some(k) => format!("regularizer[{i}].{k}"),
                    None => format!("regularizer[{i}]"),
                };
                ConfigError {
                    key: Some(key),
                    ..e
                }
            };
            let mut t = table.clone();
            let Some(toml::Value::String(ty)) = t.remove("type") else {
                return Err(at(ConfigError::new("needs `type = \"<regularizer>\"`")));
            };
            let mut r: Box<dyn Regularizer> = ctx.registry.build_in(&ty, t, ctx).map_err(at)?;
            r.prepare(network, timesteps).map_err(at)?;
            out.push(r);
        }
        Ok(out)
    }
}

/// What the data of a training may hold: the default memory budget; its work is bounded by
/// its epochs, not by the engine's budget of synaptic operations.
fn data_budget() -> snnergy_core::settings::Budget {
    snnergy_core::settings::Budget {
        synaptic_ops: f64::INFINITY,
        ..Default::default()
    }
}
