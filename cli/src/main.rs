//! `snnergy`: run energy analyses of spiking networks against their quantized baselines from
//! TOML pipelines, list and describe the registered components, and answer quick break-even
//! questions from flags.
//!
//! Exit codes: 0 on success, 2 on any error (bad input included), with the error on stderr.

mod bench;
mod breakeven;
mod catalog;
mod engine;
mod output;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "snnergy",
    version,
    about = "Does this spiking network really save energy over its quantized twin, on this hardware?",
    propagate_version = true
)]
struct Cli {
    /// More logging (-v: debug, -vv: trace); SNNERGY_LOG=… sets a filter directly.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pipeline: print the verdicts and write the report (JSON, CSV, Markdown).
    Run(run::RunArgs),
    /// List every registered component by kind.
    List(catalog::ListArgs),
    /// Show a component's parameters, defaults and an example TOML table.
    Describe(catalog::DescribeArgs),
    /// Quick break-even analysis from flags, no pipeline file.
    Breakeven(breakeven::BreakevenArgs),
    /// Measure evaluation speed and memory of the analytic path.
    Bench(bench::BenchArgs),
    /// Run a converted SNN and its QNN twin on data: per-layer spike rates and a profile.
    Engine(Box<engine::EngineArgs>),
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNNERGY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::List(a) => catalog::list(a),
        Command::Describe(a) => catalog::describe(a),
        Command::Breakeven(a) => breakeven::breakeven(a),
        Command::Bench(a) => bench::bench(a),
        Command::Engine(a) => engine::engine(*a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

/// The registry of built-ins, as every command starts from.
pub(crate) fn registry() -> anyhow::Result<snnergy::core::Registry> {
    Ok(snnergy::registry()?)
}

/// Default output folder for a pipeline without `[analysis] output`.
pub(crate) fn default_output(pipeline: &std::path::Path) -> PathBuf {
    let stem = pipeline
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    PathBuf::from("snnergy-out").join(stem)
}
