//! `snnergy train PIPELINE`: train the pipeline's workload as a QNN with the `[train]` section
//! (Q_T, BatchNorm, optimizer, schedule, `[[train.regularizer]]`s), save the checkpoint after
//! every epoch, then convert it to the SNN, measure its spikes on the test images and print
//! the energy verdict on the pipeline's architectures.
//!
//! `snnergy train compare RUN_DIR… --out DIR`: the accuracy / spike rate / energy table and
//! plot of several training runs (their `train.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use snnergy::core::pipeline::{Document, Seg};
use snnergy::core::{ActivitySource, Regularizer};
use snnergy::engine::train::{self, EpochStats, TrainConfig};
use snnergy::engine::{EngineActivity, EngineActivityConfig, Measurement};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TrainArgs {
    #[command(subcommand)]
    command: Option<TrainCommand>,
    /// The pipeline: a [workload], a [train] section and the architectures of the verdict.
    pipeline: Option<PathBuf>,
    /// Continue from the checkpoint (weights, optimizer state, epoch).
    #[arg(long)]
    resume: bool,
    /// Train for this many epochs in total instead of [train] epochs.
    #[arg(long)]
    epochs: Option<u32>,
    /// Output folder of the verdict's report and train.json (default: the pipeline's
    /// [analysis] output, else snnergy-out/<name>).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Train only: no conversion, spike measurement or energy verdict.
    #[arg(long)]
    no_verdict: bool,
}

#[derive(Subcommand, Debug)]
enum TrainCommand {
    /// Table and plot of accuracy, spike rate and SNN/QNN energy of several training runs.
    Compare(CompareArgs),
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// Output folders of `snnergy train` runs (each holds a train.json).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Where tradeoff.md, tradeoff.csv and tradeoff.svg are written.
    #[arg(short, long)]
    out: PathBuf,
}

/// One architecture's energies for a trained network.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

/// What a run leaves in its output folder as train.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
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
    /// The converted SNN measured on the test images (absent with --no-verdict).
    pub measurement: Option<Measurement>,
    /// Energy per architecture at the measured activity.
    pub energy: Vec<EnergyRow>,
}

pub fn train(a: TrainArgs) -> anyhow::Result<()> {
    match (a.command, a.pipeline) {
        (Some(TrainCommand::Compare(c)), _) => compare(c),
        (None, Some(p)) => run(&p, a.resume, a.epochs, a.out, a.no_verdict),
        (None, None) => bail!("give a pipeline with a [train] section, or `compare RUN…`"),
    }
}

fn located(doc: &Document, at: &[Seg], e: snnergy::core::ConfigError) -> anyhow::Error {
    doc.locate(at, e).into()
}

fn run(
    path: &Path,
    resume: bool,
    epochs: Option<u32>,
    out: Option<PathBuf>,
    no_verdict: bool,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let registry = crate::registry()?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the pipeline {}", path.display()))?;
    let doc = Document::parse(&text, Some(path))?;
    let at = [Seg::Key("train".into())];
    let table = match doc.table.get("train") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(other) => {
            return Err(located(
                &doc,
                &at,
                snnergy::core::ConfigError::new(format!(
                    "expected a table [train], found {}",
                    other.type_str()
                )),
            ));
        }
        None => bail!(
            "{}: the pipeline has no [train] section (its keys: `snnergy describe train`; an example: pipelines/train-fashion-mnist.toml)",
            path.display()
        ),
    };
    let mut cfg = TrainConfig::from_table(&table).map_err(|e| located(&doc, &at, e))?;
    if resume {
        cfg.resume = true;
        cfg.init = None;
    }
    if let Some(e) = epochs {
        cfg.epochs = e;
        cfg.validate().map_err(|e| located(&doc, &at, e))?;
    }
    let mut pipeline = doc.build(&registry)?;
    let network = match pipeline.workloads.as_slice() {
        [w] => w.network.clone(),
        _ => bail!(
            "{}: [train] trains one network; the pipeline has {} workloads",
            path.display(),
            pipeline.workloads.len()
        ),
    };
    let settings = &pipeline.settings;
    let headline = settings
        .headline_timesteps
        .filter(|t| settings.timesteps.contains(t))
        .or_else(|| settings.timesteps.contains(&6).then_some(6))
        .unwrap_or_else(|| settings.timesteps[settings.timesteps.len() / 2]);
    let timesteps = cfg.timesteps_or(headline);
    cfg.resolve_paths(&pipeline.base_dir);

    // Regularizers, built through the registry and prepared for this network; errors point at
    // their table in the file.
    let mut regularizers: Vec<Box<dyn Regularizer>> = Vec::new();
    for (i, t) in cfg.regularizer.iter().enumerate() {
        let at = [
            Seg::Key("train".into()),
            Seg::Key("regularizer".into()),
            Seg::Index(i),
        ];
        let mut r: Box<dyn Regularizer> = doc.build_component(&registry, &at, t.clone())?;
        r.prepare(&network, timesteps, &registry)
            .map_err(|e| located(&doc, &at, e))?;
        if let Some(s) = r.summary() {
            eprintln!("{s}");
        }
        regularizers.push(r);
    }

    // The activity of the verdict: the pipeline's engine settings (if any) on the trained
    // weights, with the training's quantizer shift.
    let verdict_activity = if no_verdict {
        None
    } else {
        Some(engine_activity(&doc, &cfg)?)
    };

    eprintln!(
        "training {} ({} layers) at T = {timesteps}, φ = {}, {} for {} epochs of batch {}, {} regularizer(s); checkpoint {}",
        network.name,
        network.layers.len(),
        cfg.shift,
        cfg.optimizer.name(),
        cfg.epochs,
        cfg.batch,
        regularizers.len(),
        cfg.checkpoint.display()
    );
    let bar = progress_bar();
    let outcome = train::run(
        &cfg,
        network.clone(),
        timesteps,
        regularizers,
        &pipeline.base_dir,
        |epoch, step, steps, s| {
            if step == 1 {
                bar.set_length(steps as u64);
                bar.set_position(0);
            }
            bar.set_position(step as u64);
            if step % 10 == 0 || step == steps {
                bar.set_message(format!(
                    "epoch {epoch}/{}: loss {:.4}, acc {:.2} %, spike rate {:.4}",
                    cfg.epochs,
                    s.loss,
                    100.0 * s.correct as f64 / s.images.max(1) as f64,
                    s.spike_rate()
                ));
            }
        },
        |e| {
            bar.suspend(|| {
                eprintln!(
                    "epoch {}/{}: loss {:.4} + penalty {:.4}, train accuracy {:.2} %, spike rate {:.4}, test QNN accuracy {:.2} %, lr {:.2e}, {:.1} s ({:.0} samples/s)",
                    e.epoch,
                    cfg.epochs,
                    e.loss,
                    e.penalty,
                    100.0 * e.train_accuracy,
                    e.spike_rate,
                    100.0 * e.test_accuracy,
                    e.lr,
                    e.seconds,
                    e.samples_per_s
                )
            });
        },
    )?;
    bar.finish_and_clear();
    if outcome.history.is_empty() {
        eprintln!(
            "the checkpoint has completed {} of {} epochs already: nothing to train",
            outcome.epochs, cfg.epochs
        );
    }
    eprintln!(
        "QNN test accuracy {:.2} % after {} epochs; weights in {}",
        100.0 * outcome.test_accuracy,
        outcome.epochs,
        cfg.checkpoint.display()
    );

    let dir = out
        .or_else(|| pipeline.output_dir())
        .unwrap_or_else(|| crate::default_output(path));
    let mut summary = Summary {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        pipeline: path.to_path_buf(),
        regularizers: cfg.regularizer.clone(),
        timesteps,
        shift: cfg.shift,
        epochs: outcome.epochs,
        history: outcome.history,
        seconds: 0.0,
        checkpoint: cfg.checkpoint.clone(),
        measurement: None,
        energy: Vec::new(),
    };
    if let Some(activity) = verdict_activity {
        pipeline.activity = activity.clone() as Arc<dyn ActivitySource>;
        let report = pipeline.run_with(Some(&registry))?;
        let figures = snnergy::plot::write_figures(&report, &dir)
            .with_context(|| format!("drawing the figures into {}", dir.display()))?;
        report
            .write_to(&dir, &figures)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
        let m = activity
            .measurements()
            .into_iter()
            .find(|m| m.timesteps == timesteps);
        if let Some(m) = &m {
            outln!("Converted SNN on the test images:");
            crate::engine::print_measurement(
                m,
                Path::new("the test split"),
                activity_threshold(&doc),
            );
            outln!();
        }
        crate::output::print_report(&report, false);
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
        summary.measurement = m;
    }
    summary.seconds = start.elapsed().as_secs_f64();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join("train.json");
    std::fs::write(&json, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("writing {}", json.display()))?;
    eprintln!(
        "summary written to {} ({:.0} s in total)",
        json.display(),
        summary.seconds
    );
    Ok(())
}

fn activity_threshold(doc: &Document) -> f32 {
    doc.table
        .get("activity")
        .and_then(|a| a.get("threshold"))
        .and_then(|t| t.as_float())
        .unwrap_or(snnergy::engine::sim::DEFAULT_THRESHOLD) as f32
}

/// The engine activity that measures the trained weights: the pipeline's `[activity]` if it
/// is an engine table, else the engine's defaults with the training's data set; the weights
/// are the checkpoint and the shift the training's.
fn engine_activity(doc: &Document, cfg: &TrainConfig) -> anyhow::Result<Arc<EngineActivity>> {
    let at = [Seg::Key("activity".into())];
    let mut table = match doc.table.get("activity") {
        Some(toml::Value::Table(t)) if t.get("type").and_then(|v| v.as_str()) == Some("engine") => {
            let mut t = t.clone();
            t.remove("type");
            t
        }
        _ => {
            let mut t = toml::Table::new();
            let settings = toml::Value::try_from(cfg)?;
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
        return Err(located(
            doc,
            &at,
            snnergy::core::ConfigError::new(format!(
                "{s}, but [train] shift = {}: the SNN must start its membranes where the training quantizer put its steps",
                cfg.shift
            ))
            .at_key("shift"),
        ));
    }
    table.insert("shift".into(), toml::Value::Float(cfg.shift));
    // Absolute: the activity resolves relative paths against the pipeline's folder, and
    // the checkpoint path is already resolved.
    let weights = std::path::absolute(&cfg.checkpoint)
        .with_context(|| format!("resolving {}", cfg.checkpoint.display()))?;
    table.insert(
        "weights".into(),
        toml::Value::String(weights.display().to_string()),
    );
    let config: EngineActivityConfig = EngineActivityConfig::deserialize(toml::Value::Table(table))
        .map_err(|e| located(doc, &at, snnergy::core::ConfigError::new(e.to_string())))?;
    Ok(Arc::new(EngineActivity::new(config)?))
}

fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(1);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} steps, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b
}

fn compare(a: CompareArgs) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for dir in &a.runs {
        let f = dir.join("train.json");
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        let s: Summary =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", f.display()))?;
        if s.measurement.is_none() {
            bail!(
                "{}: the run has no SNN measurement (trained with --no-verdict)",
                f.display()
            );
        }
        runs.push(s);
    }
    crate::tradeoff::write(&runs, &a.out)
}
