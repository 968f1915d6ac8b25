//! Training for sparsity as one call: train a pipeline's workload as the QNN its SNN is
//! converted from (`[train]`), convert it, measure the SNN's spikes on the test images with
//! the engine, and give the energy verdict on the pipeline's architectures.
//!
//! [`train`] returns a typed [`TrainRun`]; its [`TrainSummary`] is what a run leaves as
//! `train.json` ([`TrainSummary::write`], [`TrainSummary::read`]). Progress is reported to a
//! callback as [`TrainEvent`]s; the library draws nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use snnergy_analysis::pipeline::{Document, Pipeline, Seg};
use snnergy_core::{
    ActivitySource, BuildContext, ConfigError, Network, Registry, Regularizer, Report,
};
use snnergy_engine::train::{self, EpochStats, StepStats, TrainConfig};
use snnergy_engine::{EngineActivity, EngineActivityConfig, EngineError, Measurement};

/// One architecture's energies for a trained network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyRow {
    /// Architecture label.
    pub architecture: String,
    /// SNN energy per inference, pJ.
    pub snn_pj: f64,
    /// Baseline (QNN twin) energy per inference, pJ.
    pub baseline_pj: f64,
    /// SNN / baseline.
    pub ratio: f64,
}

/// What a run leaves in its output folder as `train.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// The pipeline's file stem: the run's name.
    pub name: String,
    /// The pipeline file.
    pub pipeline: PathBuf,
    /// The regularizers, as configured.
    pub regularizers: Vec<toml::Table>,
    /// T.
    pub timesteps: u32,
    /// Quantizer shift φ.
    pub shift: f64,
    /// Epochs completed.
    pub epochs: u32,
    /// The epochs run by this call.
    pub history: Vec<EpochStats>,
    /// Wall-clock seconds of this call (training, conversion and verdict).
    pub seconds: f64,
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// The converted SNN measured on the test images (absent without a verdict).
    pub measurement: Option<Measurement>,
    /// Energy per architecture at the measured activity.
    pub energy: Vec<EnergyRow>,
}

impl TrainSummary {
    /// The file name a summary is kept under in a run's output folder.
    pub const FILE: &'static str = "train.json";

    /// The summary as `train.json` holds it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Writes `train.json` into `dir` (as every output is written, see `snnergy_files`),
    /// returning its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, WorkflowError> {
        let path = dir.join(Self::FILE);
        snnergy_files::write(&path, &self.to_json())?;
        Ok(path)
    }

    /// Reads the `train.json` of the run whose output folder is `dir`.
    pub fn read(dir: &Path) -> Result<Self, WorkflowError> {
        let path = dir.join(Self::FILE);
        let text = snnergy_files::read_to_string(&path)?;
        serde_json::from_str(&text).map_err(|e| WorkflowError::Json {
            path,
            message: e.to_string(),
        })
    }
}

/// The converted SNN's energy verdict.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The analysis of the pipeline at the measured activity.
    pub report: Report,
    /// The engine's measurement at the trained T.
    pub measurement: Measurement,
    /// Firing threshold θ the SNN ran with.
    pub threshold: f64,
}

/// What [`train`] produced.
#[derive(Clone, Debug)]
pub struct TrainRun {
    /// What `train.json` keeps.
    pub summary: TrainSummary,
    /// The verdict, unless training only was asked for.
    pub verdict: Option<Verdict>,
    /// Where the output goes: [`TrainOptions::output`], else the pipeline's `[analysis]
    /// output`, if either says.
    pub output_dir: Option<PathBuf>,
}

/// How [`train`] runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// The output folder, instead of the pipeline's `[analysis] output`; it is checked before
    /// training starts, so a folder the report may not go into fails at once.
    pub output: Option<PathBuf>,
    /// Continue from the checkpoint (weights, optimizer state, epoch).
    pub resume: bool,
    /// Train for this many epochs in total instead of `[train] epochs`.
    pub epochs: Option<u32>,
    /// Train only: no conversion, measurement or verdict.
    pub no_verdict: bool,
}

/// What [`train`] reports while it runs.
#[derive(Debug)]
pub enum TrainEvent<'a> {
    /// A regularizer said what it decided (per-layer weights, say).
    Regularizer(String),
    /// Training starts.
    Start {
        /// The network.
        network: &'a Network,
        /// T of the quantizer.
        timesteps: u32,
        /// The training configuration (paths resolved).
        config: &'a TrainConfig,
        /// Regularizers in use.
        regularizers: usize,
    },
    /// A training step finished.
    Step {
        /// 1-based epoch.
        epoch: u32,
        /// 1-based step.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// The epoch's running statistics.
        stats: &'a StepStats,
    },
    /// An epoch finished (and its checkpoint was written).
    Epoch(&'a EpochStats),
    /// Training finished.
    Trained {
        /// Epochs completed in total.
        epochs: u32,
        /// Epochs run by this call.
        ran: usize,
        /// QNN accuracy on the test images.
        test_accuracy: f64,
    },
}

/// A training workflow that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The pipeline or its `[train]` section.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The analysis of the verdict.
    #[error(transparent)]
    Analysis(#[from] snnergy_core::Error),
    /// Training or measuring.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file that may not be read or written.
    #[error(transparent)]
    File(#[from] snnergy_files::FileError),
    /// A `train.json` that is not one.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Trains the pipeline at `path` as its `[train]` section says, with `registry` (plugins
/// included), then converts the network, measures it and gives the verdict (unless
/// `options.no_verdict`). `on_event` hears of every step and epoch.
pub fn train(
    path: &Path,
    registry: &Registry,
    options: &TrainOptions,
    on_event: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<TrainRun, WorkflowError> {
    let start = Instant::now();
    let text = snnergy_files::read_to_string(path)?;
    let doc = Document::parse(&text, Some(path))?;
    let mut cfg = train_config(&doc, path, options)?;
    let mut pipeline = doc.build(registry)?;
    let network = single_network(&pipeline, path)?;
    let timesteps = cfg.timesteps_or(pipeline.settings.headline_timesteps());
    // A network whose parameters alone exceed the memory budget is refused before anything
    // is allocated.
    snnergy_engine::budget::check_model(&network, &pipeline.settings.budget)?;
    cfg.resolve_paths(&pipeline.base_dir);
    if pipeline.settings.overwrite {
        snnergy_files::set_overwrite(true);
    }
    let output_dir = options.output.clone().or_else(|| pipeline.output_dir());
    if let Some(dir) = &output_dir {
        check_outputs(dir, &cfg)?;
    }
    // The pipeline's registry, with its `[plugins]`, builds what the run needs.
    let registry = pipeline
        .registry
        .clone()
        .unwrap_or_else(|| registry.clone());
    let ctx = BuildContext {
        registry: &registry,
        base_dir: &pipeline.base_dir,
    };
    let regularizers = build_regularizers(&doc, &ctx, &cfg, &network, timesteps, on_event)?;
    // The activity of the verdict: the pipeline's engine settings (if any) on the trained
    // weights, with the training's quantizer shift.
    let verdict_activity = if options.no_verdict {
        None
    } else {
        Some(engine_activity(&doc, &cfg, &ctx)?)
    };
    on_event(TrainEvent::Start {
        network: &network,
        timesteps,
        config: &cfg,
        regularizers: regularizers.len(),
    });
    let outcome = run_training(&cfg, &network, timesteps, regularizers, &pipeline, on_event)?;
    let mut summary = TrainSummary {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        pipeline: path.to_path_buf(),
        regularizers: cfg.regularizer.clone(),
        timesteps,
        shift: cfg.shift,
        epochs: outcome.epochs,
        history: whole_history(&cfg, output_dir.as_deref(), outcome),
        seconds: 0.0,
        checkpoint: cfg.checkpoint.clone(),
        measurement: None,
        energy: Vec::new(),
    };
    let mut verdict = None;
    if let Some((activity, threshold)) = verdict_activity {
        pipeline.activity = activity;
        verdict = measure_and_price(&pipeline, threshold, &mut summary)?;
    }
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(TrainRun {
        summary,
        verdict,
        output_dir,
    })
}

/// The pipeline's `[train]` section, with what `options` override.
fn train_config(
    doc: &Document,
    path: &Path,
    options: &TrainOptions,
) -> Result<TrainConfig, WorkflowError> {
    let at = [Seg::Key("train".into())];
    let table = match doc.table.get("train") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(other) => {
            let e = ConfigError::new(format!(
                "expected a table [train], found {}",
                other.type_str()
            ));
            return Err(doc.locate(&at, e).into());
        }
        None => {
            return Err(ConfigError::new(
                "the pipeline has no [train] section (its keys: `snnergy describe train`; an example: pipelines/train-fashion-mnist.toml)",
            )
            .in_file(Some(path.to_path_buf()))
            .into());
        }
    };
    let mut cfg = TrainConfig::from_table(&table).map_err(|e| doc.locate(&at, e))?;
    if options.resume {
        cfg.resume = true;
        cfg.init = None;
    }
    if let Some(e) = options.epochs {
        cfg.epochs = e;
        cfg.validate().map_err(|e| doc.locate(&at, e))?;
    }
    Ok(cfg)
}

/// The one network the pipeline at `path` trains.
fn single_network(pipeline: &Pipeline, path: &Path) -> Result<Network, WorkflowError> {
    match pipeline.workloads.as_slice() {
        [w] => Ok(w.network.clone()),
        _ => Err(ConfigError::new(format!(
            "[train] trains one network; the pipeline has {} workloads",
            pipeline.workloads.len()
        ))
        .in_file(Some(path.to_path_buf()))
        .into()),
    }
}

/// The report's files and `train.json` may be written into `dir`, and none of them is the
/// checkpoint: it is written every epoch, the report at the end, and one path for both would
/// lose the weights.
fn check_outputs(dir: &Path, cfg: &TrainConfig) -> Result<(), WorkflowError> {
    let mut names = snnergy_report::REPORT_FILES.to_vec();
    names.push(TrainSummary::FILE);
    snnergy_files::check_output_dir(dir, &names)?;
    let files: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let mut outputs = vec![("the checkpoint", cfg.checkpoint.as_path())];
    outputs.extend(files.iter().map(|f| ("a file of the report", f.as_path())));
    snnergy_files::check_distinct(&outputs)?;
    Ok(())
}

/// The `[[train.regularizer]]` tables, built through the registry and prepared for this
/// network; errors point at their table in the file.
fn build_regularizers(
    doc: &Document,
    ctx: &BuildContext<'_>,
    cfg: &TrainConfig,
    network: &Network,
    timesteps: u32,
    on_event: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<Vec<Box<dyn Regularizer>>, WorkflowError> {
    let mut regularizers: Vec<Box<dyn Regularizer>> = Vec::new();
    for (i, t) in cfg.regularizer.iter().enumerate() {
        let at = [
            Seg::Key("train".into()),
            Seg::Key("regularizer".into()),
            Seg::Index(i),
        ];
        let mut r: Box<dyn Regularizer> = doc.build_component(ctx, &at, t.clone())?;
        r.prepare(network, timesteps)
            .map_err(|e| doc.locate(&at, e))?;
        if let Some(s) = r.summary() {
            on_event(TrainEvent::Regularizer(s));
        }
        regularizers.push(r);
    }
    Ok(regularizers)
}

/// Trains `network`, telling `on_event` of every step and epoch and of the end.
fn run_training(
    cfg: &TrainConfig,
    network: &Network,
    timesteps: u32,
    regularizers: Vec<Box<dyn Regularizer>>,
    pipeline: &Pipeline,
    on_event: &mut dyn FnMut(TrainEvent<'_>),
) -> Result<train::TrainOutcome, WorkflowError> {
    // The engine calls back for steps and for epochs, never both at once.
    let events = std::cell::RefCell::new(&mut *on_event);
    let outcome = train::run(
        cfg,
        network.clone(),
        timesteps,
        regularizers,
        &pipeline.base_dir,
        |epoch, step, steps, stats| {
            (events.borrow_mut())(TrainEvent::Step {
                epoch,
                step,
                steps,
                stats,
            })
        },
        |e| (events.borrow_mut())(TrainEvent::Epoch(e)),
    )?;
    on_event(TrainEvent::Trained {
        epochs: outcome.epochs,
        ran: outcome.history.len(),
        test_accuracy: outcome.test_accuracy,
    });
    Ok(outcome)
}

/// The checkpoint's whole history: a resumed run's summary keeps the epochs of the runs
/// before it (from the train.json they left in `output_dir`).
fn whole_history(
    cfg: &TrainConfig,
    output_dir: Option<&Path>,
    outcome: train::TrainOutcome,
) -> Vec<EpochStats> {
    let mut history = Vec::new();
    if cfg.resume
        && let Some(dir) = output_dir
        // Not read as an input: this run replaces it with the longer history.
        && let Ok(text) = std::fs::read_to_string(dir.join(TrainSummary::FILE))
        && let Ok(before) = serde_json::from_str::<TrainSummary>(&text)
        && before.checkpoint == cfg.checkpoint
    {
        let first = outcome
            .history
            .first()
            .map_or(outcome.epochs, |e| e.epoch - 1);
        history.extend(before.history.into_iter().filter(|e| e.epoch <= first));
    }
    history.extend(outcome.history);
    history
}

/// Runs the pipeline on the trained weights: the measurement and the energies at the
/// training's T go into `summary`, and with a measurement comes the verdict.
fn measure_and_price(
    pipeline: &Pipeline,
    threshold: f64,
    summary: &mut TrainSummary,
) -> Result<Option<Verdict>, WorkflowError> {
    let timesteps = summary.timesteps;
    let report = pipeline.run()?;
    let measurement = report
        .measured
        .iter()
        .find(|m| m.timesteps == timesteps)
        .and_then(|m| serde_json::from_value::<Measurement>(m.provenance.record.clone()).ok());
    summary.energy = report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == timesteps)
        .map(|c| EnergyRow {
            architecture: c.architecture.clone(),
            snn_pj: c.snn_pj,
            baseline_pj: c.baseline_pj,
            ratio: c.ratio,
        })
        .collect();
    summary.measurement = measurement.clone();
    Ok(measurement.map(|measurement| Verdict {
        report,
        measurement,
        threshold,
    }))
}

/// The engine activity that measures the trained weights: the pipeline's `[activity]` if it
/// is an engine table, else the engine's defaults with the training's data set; the weights
/// are the checkpoint and the shift the training's. Returns it with its threshold θ.
fn engine_activity(
    doc: &Document,
    cfg: &TrainConfig,
    ctx: &BuildContext<'_>,
) -> Result<(Arc<dyn ActivitySource>, f64), WorkflowError> {
    let at = [Seg::Key("activity".into())];
    let mut table = match doc.table.get("activity") {
        Some(toml::Value::Table(t)) if t.get("type").and_then(|v| v.as_str()) == Some("engine") => {
            let mut t = t.clone();
            t.remove("type");
            t
        }
        _ => {
            let mut t = toml::Table::new();
            let settings = toml::Table::try_from(cfg)
                .map_err(|e| ConfigError::new(format!("cannot restate [train]: {e}")))?;
            for k in ["dataset", "data", "mean", "std"] {
                if let Some(v) = settings.get(k) {
                    t.insert(k.into(), v.clone());
                }
            }
            t.insert("samples".into(), toml::Value::Integer(0));
            t
        }
    };
    if let Some(s) = table
        .get("shift")
        .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
        && s != cfg.shift
    {
        let e = ConfigError::new(format!(
            "{s}, but [train] shift = {}: the SNN must start its membranes where the training quantizer put its steps",
            cfg.shift
        ))
        .at_key("shift");
        return Err(doc.locate(&at, e).into());
    }
    table.insert("shift".into(), toml::Value::Float(cfg.shift));
    // Absolute: the activity resolves relative paths against the pipeline's folder, and
    // the checkpoint path is already resolved.
    let weights = std::path::absolute(&cfg.checkpoint).map_err(|source| WorkflowError::Io {
        path: cfg.checkpoint.clone(),
        source,
    })?;
    table.insert(
        "weights".into(),
        toml::Value::String(weights.display().to_string()),
    );
    let config = EngineActivityConfig::deserialize(toml::Value::Table(table))
        .map_err(|e| doc.locate(&at, ConfigError::new(e.to_string())))?;
    let threshold = config.settings.threshold;
    let activity = EngineActivity::new(config, ctx).map_err(|e| doc.locate(&at, e))?;
    Ok((Arc::new(activity), threshold))
}
