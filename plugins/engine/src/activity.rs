//! `[activity] type = "engine"`: measure per-layer spike rates by running the SNN (and its
//! QNN twin for the non-zero fractions) on real data, at each T the analysis asks for.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_analysis::{expand_timesteps, resolve};
use snnergy_core::activity::Provenance;
use snnergy_core::settings::Budget;
use snnergy_core::{
    ActivityContext, ActivityError, ActivitySource, AnalysisSettings, Assumption, BuildContext,
    Component, ConfigError, Network, NeuronModel, OperatingPoint, Workload,
};

use crate::data::{DEBIAN_FASHION_MNIST, Dataset, Split};
use crate::error::{EngineError, Result};
use crate::model::Model;
use crate::run::{Measurement, RunOptions, run_dataset};
use crate::sim::{
    Coding, DEFAULT_SPARSE_BELOW, DEFAULT_THRESHOLD, NeuronKind, PathChoice, Readout, Reset,
    SnnConfig,
};

/// Which data set format to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Fashion-MNIST IDX files (default folder: Debian's `dataset-fashion-mnist`).
    #[default]
    FashionMnist,
    /// MNIST IDX files (give `data`).
    Mnist,
    /// CIFAR-10 binary batches (give `data`).
    Cifar10,
}

/// Data, neuron and run settings of the engine, shared by the `engine` activity source and
/// the `snnergy engine` command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// `fashion-mnist` (IDX; default folder /usr/share/datasets/fashion-mnist), `mnist` (IDX)
    /// or `cifar10` (binary batches)
    pub dataset: DatasetKind,
    /// folder with the data set files (IDX: t10k-/train-images-idx3-ubyte[.gz] and labels;
    /// CIFAR-10: test_batch.bin, data_batch_N.bin)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// `test` (default) or `train`
    pub split: Split,
    /// per-channel mean subtracted from pixels scaled to [0, 1] (with `std`); default none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f64>,
    /// per-channel standard deviation (with `mean`)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub std: Vec<f64>,
    /// images to simulate, the first of the split (0: all); default 256
    pub samples: usize,
    /// images per batch; default 64
    pub batch: usize,
    /// firing threshold θ; default 0.9999 (1 − 1e-4, the reference code's)
    pub threshold: f64,
    /// `if` (default) or `lif`
    #[schemars(with = "String")]
    pub neuron: NeuronKind,
    /// membrane fraction kept per step for `lif`; default 0.9
    pub leak: f64,
    /// `subtract` (default) or `zero`
    #[schemars(with = "String")]
    pub reset: Reset,
    /// `direct` (analog image into the first layer every step, default) or `rate` (seeded
    /// Bernoulli spikes); must match [analysis] input_coding
    #[schemars(with = "String")]
    pub coding: Coding,
    /// `membrane` (default: output layer integrates, largest wins) or `spike-count`
    #[schemars(with = "String")]
    pub readout: Readout,
    /// synaptic kernels: `auto` (event-driven below `sparse_below` input density), `dense` or
    /// `sparse`; the spikes do not depend on it beyond f32 rounding
    #[schemars(with = "String")]
    pub path: PathChoice,
    /// input density at or below which `auto` takes the event-driven path; default 0.25
    pub sparse_below: f64,
    /// seed of the rate coder; default 0
    pub seed: u64,
    /// record the spike rate of every time step; default false
    pub step_rates: bool,
    /// quantizer shift φ in [0, 1): membranes start at φ·θ and the twin quantizes ⌊T·z/θ + φ⌋;
    /// 0 (default) is the paper's Q_T, 0.5 the QCFS quantizer (Bu et al., ICLR 2022). Must
    /// match the φ the weights were trained with
    pub shift: f64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::FashionMnist,
            data: None,
            split: Split::Test,
            mean: Vec::new(),
            std: Vec::new(),
            samples: 256,
            batch: 64,
            threshold: DEFAULT_THRESHOLD,
            neuron: NeuronKind::If,
            leak: 0.9,
            reset: Reset::Subtract,
            coding: Coding::Direct,
            readout: Readout::Membrane,
            path: PathChoice::Auto,
            sparse_below: DEFAULT_SPARSE_BELOW,
            seed: 0,
            step_rates: false,
            shift: 0.0,
        }
    }
}

impl EngineSettings {
    /// The SNN settings at `timesteps`.
    pub fn snn_config(&self, timesteps: u32) -> SnnConfig {
        SnnConfig {
            timesteps,
            threshold: self.threshold as f32,
            neuron: self.neuron,
            leak: if self.neuron == NeuronKind::Lif {
                self.leak as f32
            } else {
                1.0
            },
            reset: self.reset,
            coding: self.coding,
            readout: self.readout,
            path: self.path,
            sparse_below: self.sparse_below as f32,
            seed: self.seed,
            step_rates: self.step_rates,
            twin: true,
            shift: self.shift as f32,
        }
    }

    /// Checks everything that does not need files.
    pub fn validate(&self) -> Result<()> {
        crate::run::validate(&self.snn_config(1))?;
        if self.batch == 0 {
            return Err(EngineError::Invalid(
                "batch = 0: a batch needs images".into(),
            ));
        }
        if self.batch > crate::run::MAX_BATCH {
            return Err(EngineError::Invalid(format!(
                "batch = {}: at most {} images are simulated at once",
                self.batch,
                crate::run::MAX_BATCH
            )));
        }
        if self.mean.len() != self.std.len() {
            return Err(EngineError::Invalid(format!(
                "normalization needs as many `std` values as `mean` values ({} and {})",
                self.mean.len(),
                self.std.len()
            )));
        }
        if self.coding == Coding::Rate && !self.mean.is_empty() {
            return Err(EngineError::Invalid(
                "rate coding fires each pixel with probability equal to its value in [0, 1]: drop `mean`/`std`".into(),
            ));
        }
        Ok(())
    }

    /// The data folder, resolved against `base_dir`.
    pub fn data_dir(&self, base_dir: &Path) -> Result<PathBuf> {
        match (&self.data, self.dataset) {
            (Some(d), _) => Ok(resolve(base_dir, d)),
            (None, DatasetKind::FashionMnist) => Ok(PathBuf::from(DEBIAN_FASHION_MNIST)),
            (None, k) => Err(EngineError::Invalid(format!(
                "dataset `{}` has no default location: set `data` to the folder holding its files",
                match k {
                    DatasetKind::Mnist => "mnist",
                    _ => "cifar10",
                }
            ))),
        }
    }

    /// Loads the data set (only the images that will be simulated are kept).
    pub fn load_data(&self, base_dir: &Path) -> Result<Dataset> {
        let dir = self.data_dir(base_dir)?;
        let limit = (self.samples > 0).then_some(self.samples);
        let ds = match self.dataset {
            DatasetKind::FashionMnist | DatasetKind::Mnist => {
                Dataset::idx_limited(&dir, self.split, limit)?
            }
            DatasetKind::Cifar10 => Dataset::cifar10_limited(&dir, self.split, limit)?,
        };
        let ds = if self.samples > 0 {
            ds.take(self.samples)
        } else {
            ds
        };
        if self.mean.is_empty() {
            Ok(ds)
        } else {
            let f = |v: &[f64]| v.iter().map(|x| *x as f32).collect();
            ds.with_normalization(f(&self.mean), f(&self.std))
        }
    }

    /// Reads the data files' headers (nothing else) and checks that their images fit
    /// `network` and that running them at `timesteps` fits `budget`: the shape a header
    /// announces, the images kept (`samples`, or all the files hold), the memory and the
    /// work. Returns the images to keep.
    pub fn plan_data(
        &self,
        base_dir: &Path,
        network: &Network,
        timesteps: u32,
        budget: &Budget,
    ) -> Result<usize> {
        let dir = self.data_dir(base_dir)?;
        let (source, shape, held) = match self.dataset {
            DatasetKind::FashionMnist | DatasetKind::Mnist => {
                let (path, dims) = Dataset::idx_announced(&dir, self.split)?;
                if dims.len() != 3 {
                    return Err(EngineError::DataFile {
                        file: path,
                        message: format!(
                            "image IDX has {} dimensions {dims:?}; expected 3 (n, rows, columns)",
                            dims.len()
                        ),
                    });
                }
                (path, [1, dims[1], dims[2]], Some(dims[0]))
            }
            DatasetKind::Cifar10 => {
                let (path, n) = Dataset::cifar10_announced(&dir, self.split)?;
                (path, [3, 32, 32], n)
            }
        };
        let input = network.input;
        if [input.c as usize, input.h as usize, input.w as usize] != shape {
            return Err(EngineError::DataFile {
                file: source,
                message: format!(
                    "holds images of {}×{}×{}, network `{}` takes {input} inputs",
                    shape[0], shape[1], shape[2], network.name
                ),
            });
        }
        let image_bytes = (shape[0] * shape[1] * shape[2]) as f64;
        let wanted = (self.samples > 0).then_some(self.samples);
        let Some(images) = wanted.into_iter().chain(held).min() else {
            // A gzipped batch says nothing of its size: keep no more than the memory allows;
            // the run is checked again once the images are counted.
            return Ok((budget.memory_mib * 1024.0 * 1024.0 / image_bytes) as usize + 1);
        };
        crate::budget::check_run(
            network,
            &self.run_size(images, image_bytes, timesteps),
            budget,
        )?;
        Ok(images)
    }

    fn run_size(&self, images: usize, image_bytes: f64, timesteps: u32) -> crate::budget::RunSize {
        crate::budget::RunSize {
            images: images as f64,
            image_bytes,
            batch: self.batch as f64,
            timesteps: timesteps as f64,
        }
    }

    /// [`EngineSettings::load_data`] after [`EngineSettings::plan_data`]: nothing is
    /// decompressed before the headers are checked against the network and the budget.
    pub fn load_data_for(
        &self,
        base_dir: &Path,
        network: &Network,
        timesteps: u32,
        budget: &Budget,
    ) -> Result<Dataset> {
        let keep = self.plan_data(base_dir, network, timesteps, budget)?;
        let planned = EngineSettings {
            samples: keep,
            ..self.clone()
        };
        let data = planned.load_data(base_dir)?;
        let size = self.run_size(data.len(), data.image_len() as f64, timesteps);
        crate::budget::check_run(network, &size, budget)?;
        Ok(data)
    }

    /// Loads weights for `network`, the data, and runs at `timesteps` within `budget`.
    pub fn measure(
        &self,
        network: Network,
        weights: &Path,
        base_dir: &Path,
        timesteps: u32,
        budget: &Budget,
    ) -> Result<Measurement> {
        self.validate()?;
        let cfg = self.snn_config(timesteps);
        crate::run::validate(&cfg)?;
        crate::budget::check_model(&network, budget)?;
        let data = self.load_data_for(base_dir, &network, timesteps, budget)?;
        let model = Model::load(network, weights)?;
        let compiled = model.compile()?;
        run_dataset(
            &compiled,
            &data,
            &cfg,
            &RunOptions {
                samples: self.samples,
                batch: self.batch,
            },
        )
    }
}

/// `[activity] type = "engine"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EngineActivityConfig {
    /// network to run: a workload type name ("vgg11") or table ({type = "custom", …}); default:
    /// the analysed workload. Its neuron layers must carry the workload's names
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub model: Option<toml::Value>,
    /// safetensors file with PyTorch module names (L.weight, L.bias,
    /// BN.weight/bias/running_mean/running_var), relative to the pipeline
    pub weights: PathBuf,
    /// optional path to write the measured profile to (.json or .csv; `{T}` is replaced by T)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<PathBuf>,
    /// Data and neuron settings.
    #[serde(flatten)]
    pub settings: EngineSettings,
}

impl Default for EngineActivityConfig {
    fn default() -> Self {
        Self {
            model: None,
            weights: PathBuf::from("weights.safetensors"),
            profile: None,
            settings: EngineSettings::default(),
        }
    }
}

/// The `engine` activity source.
#[derive(Debug)]
pub struct EngineActivity {
    config: EngineActivityConfig,
    /// The network of `model`, built through the pipeline's registry; `None`: the analysed
    /// workload's own.
    model: Option<Box<dyn Workload>>,
}

fn act_err(e: impl std::fmt::Display) -> ActivityError {
    ActivityError::Invalid(format!("engine: {e}"))
}

impl Component for EngineActivity {
    type Interface = dyn ActivitySource;
    type Config = EngineActivityConfig;
    const NAME: &'static str = "engine";
    const SUMMARY: &'static str = "per-layer spike rates measured by running the converted SNN and its QNN twin on real data (needs weights)";

    fn build(
        config: EngineActivityConfig,
        ctx: &BuildContext<'_>,
    ) -> std::result::Result<Box<dyn ActivitySource>, ConfigError> {
        Ok(Box::new(EngineActivity::new(config, ctx)?))
    }

    fn example() -> toml::Table {
        // Runs as printed from a checkout's `pipelines/` folder: the shipped Fashion-MNIST
        // weights on the committed test images (its workload is the network in
        // pipelines/engine-fashion-mnist.toml).
        let mut t = toml::Table::new();
        t.insert("weights".into(), "weights/fmnist-vgg-t6.safetensors".into());
        t.insert(
            "data".into(),
            "../plugins/engine/tests/fixtures/fashion-mnist".into(),
        );
        t.insert("samples".into(), 64.into());
        t
    }
}

impl EngineActivity {
    /// Checks the configuration and builds its `model` through `ctx`'s registry (no files
    /// are read until the analysis runs).
    pub fn new(
        config: EngineActivityConfig,
        ctx: &BuildContext<'_>,
    ) -> std::result::Result<Self, ConfigError> {
        config
            .settings
            .validate()
            .map_err(|e| ConfigError::new(e.to_string()))?;
        let model = match &config.model {
            None => None,
            Some(m) => {
                let (name, params) = match m {
                    toml::Value::String(s) => (s.clone(), toml::Table::new()),
                    toml::Value::Table(t) => {
                        let mut t = t.clone();
                        let Some(toml::Value::String(name)) = t.remove("type") else {
                            return Err(ConfigError::new(
                                "a workload table needs `type = \"<workload>\"`",
                            )
                            .at_key("model"));
                        };
                        (name, t)
                    }
                    other => {
                        return Err(ConfigError::new(format!(
                            "must be a workload type name or a workload table, found {}",
                            other.type_str()
                        ))
                        .at_key("model"));
                    }
                };
                let w: Box<dyn Workload> = ctx
                    .registry
                    .build_in(&name, params, ctx)
                    .map_err(|e| ConfigError::new(format!("`model`: {e}")))?;
                Some(w)
            }
        };
        Ok(Self { config, model })
    }

    /// The neuron measured must be the neuron priced: an LIF's leak multiply and an IF's
    /// spike counts are different work. Either reset is one operation per spike (a
    /// subtraction, or the membrane set to zero), which the architectures price alike.
    fn check_neuron(&self, analysis: &AnalysisSettings) -> std::result::Result<(), ActivityError> {
        let s = &self.config.settings;
        let measured = match s.neuron {
            NeuronKind::If => NeuronModel::If,
            NeuronKind::Lif => NeuronModel::Lif,
        };
        let name = |n: NeuronModel| match n {
            NeuronModel::If => "if",
            NeuronModel::Lif => "lif",
        };
        if measured != analysis.neuron {
            return Err(ActivityError::Invalid(format!(
                "`activity.neuron` = \"{}\" differs from [analysis] neuron = \"{}\": the energy models would price a neuron other than the one measured; set both the same",
                name(measured),
                name(analysis.neuron)
            )));
        }
        if measured == NeuronModel::Lif && (s.leak - analysis.leak).abs() > 1e-12 {
            return Err(ActivityError::Invalid(format!(
                "`activity.leak` = {} differs from [analysis] leak = {}: set both the same",
                s.leak, analysis.leak
            )));
        }
        Ok(())
    }

    fn model_network(&self, analysed: &Network) -> Result<Network> {
        let Some(model) = &self.model else {
            return Ok(analysed.clone());
        };
        let net = model
            .network()
            .map_err(|e| EngineError::Invalid(format!("`model`: {e}")))?;
        let names = |n: &Network| -> Vec<String> {
            n.layers
                .iter()
                .filter(|l| l.neuron)
                .map(|l| l.name.clone())
                .collect()
        };
        if names(&net) != names(analysed) {
            return Err(EngineError::Invalid(format!(
                "`model` network `{}` does not have the neuron layers of the analysed workload `{}`",
                net.name, analysed.name
            )));
        }
        // Layers' own neurons are priced as the analysed workload describes them.
        for (a, b) in net.layers.iter().zip(&analysed.layers) {
            if a.neuron_model.as_ref().map(|n| n.model) != b.neuron_model.as_ref().map(|n| n.model)
            {
                return Err(EngineError::Invalid(format!(
                    "`model` layer `{}` has another neuron model than the analysed workload's `{}`: the energy models would price a neuron other than the one measured",
                    a.name, b.name
                )));
            }
        }
        Ok(net)
    }
}

impl ActivitySource for EngineActivity {
    fn operating_points(
        &self,
        network: &Network,
        ctx: &ActivityContext<'_>,
    ) -> std::result::Result<Vec<OperatingPoint>, ActivityError> {
        let measured = match self.config.settings.coding {
            Coding::Direct => snnergy_core::InputCoding::Direct,
            Coding::Rate => snnergy_core::InputCoding::Rate,
        };
        if measured != ctx.input_coding {
            return Err(ActivityError::Invalid(format!(
                "the engine's `coding` ({measured:?}) differs from [analysis] input_coding ({:?}): the energy models would price a first layer other than the one measured; set both the same",
                ctx.input_coding
            )));
        }
        self.check_neuron(ctx.settings)?;
        if let Some(p) = &self.config.profile
            && ctx.settings.timesteps.len() > 1
            && !p.to_string_lossy().contains("{T}")
        {
            return Err(ActivityError::File {
                file: resolve(ctx.base_dir, p),
                line: None,
                message: format!(
                    "`activity.profile` has no `{{T}}`, so the measurement at each of T = {:?} would overwrite the last: name it like `profile-T{{T}}.csv`",
                    ctx.settings.timesteps
                ),
            });
        }
        let net = self.model_network(network).map_err(act_err)?;
        let weights = resolve(ctx.base_dir, &self.config.weights);
        let m = self
            .config
            .settings
            .measure(
                net,
                &weights,
                ctx.base_dir,
                ctx.timesteps,
                &ctx.settings.budget,
            )
            .map_err(act_err)?;
        tracing::info!(
            network = %m.network,
            timesteps = m.timesteps,
            images = m.images,
            "engine: mean spike rate {:.4}, top-1 agreement with the QNN twin {:.2} %, SNN accuracy {:.2} %, twin accuracy {:.2} %",
            m.mean_spike_rate(),
            100.0 * m.top1_agreement,
            100.0 * m.snn_accuracy,
            100.0 * m.twin_accuracy
        );
        let profile = m.to_profile();
        let label = format!(
            "engine {} ({} images, T={}, top-1 agreement with twin {:.1} %)",
            self.config
                .weights
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            m.images,
            m.timesteps,
            100.0 * m.top1_agreement
        );
        if let Some(p) = &self.config.profile {
            let p = resolve(ctx.base_dir, &expand_timesteps(p, ctx.timesteps));
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| ActivityError::File {
                    file: p.clone(),
                    line: None,
                    message: format!("cannot create the profile's folder: {e}"),
                })?;
            }
            profile.write(&p)?;
        }
        // A `model` other than the analysed workload shares its neuron layers' names; what
        // reached a layer only the model has is no measurement of the analysed network.
        let mut analysed = profile.clone();
        analysed
            .layers
            .retain(|e| e.spike_rate.is_some() || network.layer_index(&e.name).is_some());
        let mut point = analysed.to_point(network, Path::new(&label), None)?;
        point.label = label;
        let record = serde_json::to_value(&m).map_err(act_err)?;
        point.provenance = Some(Arc::new(Provenance {
            source: Self::NAME.to_string(),
            record,
        }));
        Ok(vec![point])
    }

    fn depends_on_timesteps(&self) -> bool {
        true
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let s = &self.config.settings;
        vec![
            Assumption::new(
                "activity",
                format!(
                    "measured by the engine, weights {}",
                    self.config.weights.display()
                ),
                "per-layer spike rates of the converted SNN and zero fractions of its QNN twin on real data",
            ),
            Assumption::new(
                "densities after pooling",
                "measured",
                "what reaches each layer with weights after pooling and reshaping, per step and per synapse, of the SNN and its twin, and the image's non-zero pixels",
            ),
            Assumption::new(
                "engine data",
                format!(
                    "{:?} {:?}, {} images",
                    s.dataset,
                    s.split,
                    if s.samples == 0 {
                        "all".to_string()
                    } else {
                        s.samples.to_string()
                    }
                ),
                "the first images of the split",
            ),
            Assumption::new(
                "engine neuron",
                format!(
                    "{:?}, θ = {}, reset {:?}, {:?} coding, {:?} readout, membranes start at {}·θ",
                    s.neuron, s.threshold, s.reset, s.coding, s.readout, s.shift
                ),
                "the twin quantizes with the same θ and shift φ: Q(z) = ⌊clamp(T·z/θ + φ, 0, T)⌋/T",
            ),
        ]
    }
}
