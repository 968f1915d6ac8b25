//! `snnergy`: run energy analyses of spiking networks against their quantized baselines from
//! TOML pipelines, list and describe the registered components, and answer quick break-even
//! questions from flags.
//!
//! Exit codes: 0 on success, 2 on any error (bad input included), with the error on stderr.

/// `println!` that ends the process quietly when stdout is closed (`snnergy list | head`),
/// as command-line tools do, instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            $crate::stdout_failed(e);
        }
    }};
}

/// `print!` with the same handling of a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($t)*) {
            $crate::stdout_failed(e);
        }
    }};
}

/// A closed pipe ends the program successfully; any other write error is reported.
pub(crate) fn stdout_failed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(2);
}

mod breakeven;
mod catalog;
mod engine;
mod map;
mod nir;
mod output;
mod plugin;
mod progress;
mod run;
mod tradeoff;
mod train;
mod zigzag_beside;

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

    /// Load a hardware plugin (shared library) first; repeatable. Libraries named by
    /// SNNERGY_PLUGIN_PATH (directories searched for libraries, or library files) load too.
    #[arg(long = "plugin", value_name = "PATH", global = true)]
    plugins: Vec<PathBuf>,

    /// Let outputs replace existing files that snnergy did not write (as `overwrite = true`
    /// in [analysis]). Inputs of the run, folders, devices and links are never replaced.
    #[arg(long, global = true)]
    force: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pipeline: print the verdicts and write the report (JSON, CSV, Markdown).
    Run(run::RunArgs),
    /// Show the loop nest each format is mapped with on one architecture, layer by layer,
    /// with its counts, energy and latency; export it to Timeloop or ZigZag.
    Map(Box<map::MapArgs>),
    /// List every registered component by kind.
    List(catalog::ListArgs),
    /// Show a component's parameters, defaults and an example TOML table.
    Describe(catalog::DescribeArgs),
    /// Quick break-even analysis from flags, no pipeline file.
    Breakeven(breakeven::BreakevenArgs),
    /// Check a hardware plugin: what it provides, and the conformance suite on it.
    Plugin(plugin::PluginArgs),
    /// Run a converted SNN and its QNN twin on data: per-layer spike rates and a profile.
    Engine(Box<engine::EngineArgs>),
    /// Train a pipeline's network as a QNN ([train]), convert it and give the energy verdict.
    Train(train::TrainArgs),
    /// Import a NIR graph: a pipeline with its workload, the weights and the neuron settings.
    Import(nir::ImportArgs),
    /// Export a network with its weights (`--nir OUT.nir`).
    Export(nir::ExportArgs),
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNNERGY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(log)
        .with(progress::Bars::layer())
        .try_init();
}

fn main() -> ExitCode {
    // Before any thread starts: a stopped run removes its staging folders.
    snnergy::files::remove_on_signals();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    plugin::set_requested(cli.plugins.clone());
    snnergy::files::set_overwrite(cli.force);
    // One command is one run: nothing it reads may be replaced by what it writes, and no two
    // of its outputs share a path.
    snnergy::files::one_run(true);
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Map(a) => map::map(*a),
        Command::List(a) => catalog::list(a),
        Command::Describe(a) => catalog::describe(a),
        Command::Breakeven(a) => breakeven::breakeven(a),
        Command::Plugin(a) => plugin::plugin(a),
        Command::Engine(a) => engine::engine(*a),
        Command::Train(a) => train::train(a),
        Command::Import(a) => nir::import(a),
        Command::Export(a) => nir::export(a),
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

/// The registry every command starts from: the built-ins and the requested plugins.
pub(crate) fn registry() -> anyhow::Result<snnergy::core::Registry> {
    let mut registry = snnergy::registry()?;
    plugin::load_requested(&mut registry)?;
    Ok(registry)
}

/// Default output folder for a pipeline without `[analysis] output`.
pub(crate) fn default_output(pipeline: &std::path::Path) -> PathBuf {
    let stem = pipeline
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    PathBuf::from("snnergy-out").join(stem)
}
