//! `snnergy train PIPELINE`: train the pipeline's workload as a QNN with the `[train]` section
//! (Q_T, BatchNorm, optimizer, schedule, `[[train.regularizer]]`s), save the checkpoint after
//! every epoch, then convert it to the SNN, measure its spikes on the test images and print
//! the energy verdict on the pipeline's architectures (all of it `snnergy::workflow::train`;
//! this command draws the progress and writes the files).
//!
//! `snnergy train compare RUN_DIR… --out DIR`: the accuracy / spike rate / energy table and
//! plot of several training runs (their `train.json`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use snnergy::workflow::{TrainEvent, TrainOptions, TrainSummary};

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

pub fn train(a: TrainArgs) -> anyhow::Result<()> {
    match (a.command, a.pipeline) {
        (Some(TrainCommand::Compare(c)), _) => compare(c),
        (None, Some(p)) => run(
            &p,
            &a.out,
            &TrainOptions {
                output: a.out.clone(),
                resume: a.resume,
                epochs: a.epochs,
                no_verdict: a.no_verdict,
            },
        ),
        (None, None) => bail!("give a pipeline with a [train] section, or `compare RUN…`"),
    }
}

fn run(path: &Path, out: &Option<PathBuf>, options: &TrainOptions) -> anyhow::Result<()> {
    if let Some(dir) = out {
        let mut names = snnergy::report::REPORT_FILES.to_vec();
        names.push(TrainSummary::FILE);
        snnergy::files::check_output_dir(dir, &names)?;
    }
    let registry = crate::registry()?;
    let mut progress = Progress {
        bar: crate::progress::bar(1, "steps"),
        epochs: 0,
        checkpoint: PathBuf::new(),
    };
    let run =
        snnergy::workflow::train(path, &registry, options, &mut |event| progress.hear(event))?;
    let dir = out
        .clone()
        .or(run.output_dir.clone())
        .unwrap_or_else(|| crate::default_output(path));
    let json = dir.join(TrainSummary::FILE);
    if let Some(v) = &run.verdict {
        snnergy::report::write_report(
            &v.report,
            &dir,
            &[(TrainSummary::FILE, run.summary.to_json())],
        )
        .with_context(|| format!("writing the report to {}", dir.display()))?;
        outln!("Converted SNN on the test images:");
        crate::engine::print_measurement(
            &v.measurement,
            Path::new("the test split"),
            v.threshold as f32,
        );
        outln!();
        crate::output::print_report(&v.report, false, Some(&dir));
    }
    if run.verdict.is_none() {
        run.summary.write(&dir)?;
    }
    eprintln!(
        "summary written to {} ({:.0} s in total)",
        json.display(),
        run.summary.seconds
    );
    Ok(())
}

/// What the terminal shows of a training as it runs: a bar over each epoch's steps and a
/// line per epoch.
struct Progress {
    bar: ProgressBar,
    /// Epochs the training runs to, once it has started.
    epochs: u32,
    /// Where the weights go, once the training has started.
    checkpoint: PathBuf,
}

impl Progress {
    fn hear(&mut self, event: TrainEvent<'_>) {
        let epochs = self.epochs;
        match event {
            TrainEvent::Regularizer(s) => eprintln!("{s}"),
            TrainEvent::Start {
                network,
                timesteps,
                config,
                regularizers,
            } => {
                self.epochs = config.epochs;
                self.checkpoint = config.checkpoint.clone();
                eprintln!(
                    "training {} ({} layers) at T = {timesteps}, φ = {}, {} for {} epochs of batch {}, {regularizers} regularizer(s); checkpoint {}",
                    network.name,
                    network.layers.len(),
                    config.shift,
                    config.optimizer.name(),
                    config.epochs,
                    config.batch,
                    config.checkpoint.display()
                );
            }
            TrainEvent::Step {
                epoch,
                step,
                steps,
                stats: s,
            } => {
                if step == 1 {
                    self.bar.set_length(steps as u64);
                    self.bar.set_position(0);
                }
                self.bar.set_position(step as u64);
                if step % 10 == 0 || step == steps {
                    self.bar.set_message(format!(
                        "epoch {epoch}/{epochs}: loss {:.4}, acc {:.2} %, spike rate {:.4}",
                        s.loss,
                        100.0 * s.correct as f64 / s.images.max(1) as f64,
                        s.spike_rate()
                    ));
                }
            }
            TrainEvent::Epoch(e) => self.bar.suspend(|| {
                eprintln!(
                    "epoch {}/{epochs}: loss {:.4} + penalty {:.4}, train accuracy {:.2} %, spike rate {:.4}, test QNN accuracy {:.2} %, lr {:.2e}, {:.1} s ({:.0} samples/s)",
                    e.epoch,
                    e.loss,
                    e.penalty,
                    100.0 * e.train_accuracy,
                    e.spike_rate,
                    100.0 * e.test_accuracy,
                    e.lr,
                    e.seconds,
                    e.samples_per_s
                )
            }),
            TrainEvent::Trained {
                epochs: done,
                ran,
                test_accuracy,
            } => {
                self.bar.finish_and_clear();
                if ran == 0 {
                    eprintln!(
                        "the checkpoint has completed {done} of {epochs} epochs already: nothing to train"
                    );
                }
                eprintln!(
                    "QNN test accuracy {:.2} % after {done} epochs; weights in {}",
                    100.0 * test_accuracy,
                    self.checkpoint.display()
                );
            }
        }
    }
}

fn compare(a: CompareArgs) -> anyhow::Result<()> {
    snnergy::files::check_output_dir(&a.out, &crate::tradeoff::FILES)?;
    let mut runs = Vec::new();
    for dir in &a.runs {
        let s = TrainSummary::read(dir)?;
        if s.measurement.is_none() {
            bail!(
                "{}: the run has no SNN measurement (trained with --no-verdict)",
                dir.join(TrainSummary::FILE).display()
            );
        }
        runs.push(s);
    }
    crate::tradeoff::write(&runs, &a.out)
}
