//! `snnergy run PIPELINE`: the analysis, its report files and its SVG figures.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use snnergy::analysis::Pipeline;
use snnergy::report::Render as _;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The pipeline file (TOML).
    pipeline: PathBuf,
    /// Output folder (default: the pipeline's `[analysis] output`, else snnergy-out/<name>).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of tables (files are still written).
    #[arg(long)]
    json: bool,
    /// Print every table of the report (every T, the break-even as a mean level and in
    /// energy × latency, each format's dataflow, energy by level), not only the answer and the
    /// tables of the headline T; report.md holds them all either way.
    #[arg(long, visible_alias = "all")]
    wide: bool,
    /// Raise (or lower) a limit of the run's budget: evaluations=N, output_mib=N or
    /// memory_mib=N (as [analysis.budget]); repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    budget: Vec<String>,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let registry = crate::registry()?;
    let mut pipeline = Pipeline::from_file(&args.pipeline, &registry)?;
    for spec in &args.budget {
        pipeline.settings.budget.set(spec)?;
    }
    if pipeline.settings.overwrite {
        snnergy::files::set_overwrite(true);
    }
    let dir = args
        .out
        .clone()
        .or_else(|| pipeline.output_dir())
        .unwrap_or_else(|| crate::default_output(&args.pipeline));
    // A folder the report may not go into fails before the work, not after it.
    snnergy::files::check_output_dir(&dir, &snnergy::report::REPORT_FILES)?;
    let report = pipeline.run_with(Some(&registry))?;
    let written = snnergy::report::write_report(&report, &dir, &[])
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    if args.json {
        // Streamed: a large report is not held a second time as one string.
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = report.write_json(&mut stdout).and_then(|()| stdout.flush()) {
            crate::stdout_failed(e);
        }
    } else {
        crate::output::print_report(&report, args.wide, Some(&dir));
    }
    crate::output::say_written("report", &dir, &written);
    // What the budget's estimates (logged before the work) are held against.
    let bytes: u64 = written
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    tracing::debug!(
        "measured cost: {bytes} bytes of output, {} of peak memory",
        peak_memory()
            .map(|b| format!("{b} bytes"))
            .unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

/// The peak resident memory of this process, bytes (Linux: `VmHWM`).
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
