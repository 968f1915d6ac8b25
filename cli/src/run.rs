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
        out!("{}", report.to_json());
    } else {
        crate::output::print_report(&report, args.wide, Some(&dir));
    }
    crate::output::say_written("report", &dir, &written);
    Ok(())
}
