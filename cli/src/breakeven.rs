//! `snnergy breakeven`: a quick analysis from flags, built as a pipeline in memory.

use anyhow::{Context as _, bail};
use clap::Args;
use snnergy::analysis::Pipeline;
use snnergy::report::Render as _;

#[derive(Args, Debug)]
pub struct BreakevenArgs {
    /// Workload type (see `snnergy list workload`).
    #[arg(short, long, default_value = "vgg16")]
    workload: String,
    /// Workload input: a dataset name (cifar10, imagenet, …).
    #[arg(long, default_value = "cifar10")]
    input: String,
    /// Architecture as TYPE[:key=value,…], repeatable (e.g. paper-v1:variant=spatial).
    #[arg(short, long = "arch", default_value = "paper-v1")]
    archs: Vec<String>,
    /// Energy model type pricing every architecture (see `snnergy list energy`); default: each
    /// architecture's own table (classical: horowitz-45nm, spatial and paper-v1: paper-v1,
    /// neuromorphic: yan-22nm).
    #[arg(short, long)]
    energy: Option<String>,
    /// Time steps: a number, a comma list or a range like 1..16.
    #[arg(short = 'T', long, default_value = "1..16")]
    timesteps: String,
    /// Baseline: capacity-matched (⌈log2(T+1)⌉-bit QNN) or ann8.
    #[arg(long, default_value = "capacity-matched")]
    baseline: String,
    /// Hold the baseline's non-zero fraction ρ at this value (`twin = "fixed-nonzero"`, the v1
    /// paper's 0.45); without it ρ follows the spike rate, ρ = r·T/L̄.
    #[arg(long)]
    nonzero: Option<f64>,
    /// Mean level L̄ of the twin's non-zero activations: a number, or a fraction of T like 0.5T.
    #[arg(long)]
    mean_level: Option<String>,
    /// Also compare at these spike rates (repeatable).
    #[arg(short = 'r', long = "spike-rate")]
    spike_rates: Vec<f64>,
    /// Input coding: direct or rate.
    #[arg(long, default_value = "direct")]
    input_coding: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Raise (or lower) a limit of the run's budget: evaluations=N, output_mib=N or
    /// memory_mib=N; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    budget: Vec<String>,
}

/// Parses `value` as a TOML value, or takes it as a string.
fn toml_value(value: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()))
}

fn arch_table(spec: &str) -> anyhow::Result<toml::Table> {
    let (ty, params) = spec.split_once(':').unwrap_or((spec, ""));
    let mut t = toml::Table::new();
    t.insert("type".into(), toml::Value::String(ty.to_string()));
    for kv in params.split(',').filter(|s| !s.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("architecture parameter `{kv}` in `{spec}` must look like key=value");
        };
        t.insert(k.trim().to_string(), toml_value(v.trim()));
    }
    Ok(t)
}

fn timesteps_value(s: &str) -> toml::Value {
    if s.contains("..") {
        toml::Value::String(s.to_string())
    } else {
        let items: Vec<toml::Value> = s.split(',').map(|x| toml_value(x.trim())).collect();
        toml::Value::Array(items)
    }
}

/// Rephrases an error about the pipeline built in memory in terms of the flags that set it.
fn flag_error(e: snnergy::core::Error) -> anyhow::Error {
    let mut msg = e.to_string();
    if let snnergy::core::Error::Config(c) = &e {
        msg = c.message.clone();
        if let Some(key) = &c.key {
            let flag = [
                ("analysis.timesteps", "--timesteps"),
                ("analysis.baseline", "--baseline"),
                ("analysis.input_coding", "--input-coding"),
                ("analysis.mean_level", "--mean-level"),
                ("workload", "--workload/--input"),
                ("activity", "--spike-rate/--nonzero"),
                ("energy", "--energy"),
                ("architecture", "--arch"),
            ]
            .iter()
            .find(|(k, _)| key.starts_with(k))
            .map(|(_, f)| *f)
            .unwrap_or(key);
            msg = format!("{flag} (`{key}`): {msg}");
        }
    }
    anyhow::anyhow!(msg)
}

pub fn breakeven(args: BreakevenArgs) -> anyhow::Result<()> {
    let registry = crate::registry()?;
    let mut doc = toml::Table::new();
    let mut analysis = toml::Table::new();
    analysis.insert("timesteps".into(), timesteps_value(&args.timesteps));
    analysis.insert(
        "baseline".into(),
        toml::Value::String(args.baseline.clone()),
    );
    analysis.insert(
        "input_coding".into(),
        toml::Value::String(args.input_coding.clone()),
    );
    analysis.insert("sweep_points".into(), toml::Value::Integer(0));
    if args.nonzero.is_some() {
        analysis.insert("twin".into(), toml::Value::String("fixed-nonzero".into()));
    }
    if let Some(l) = &args.mean_level {
        analysis.insert("mean_level".into(), toml_value(l));
    }
    analysis.insert(
        "title".into(),
        toml::Value::String("snnergy breakeven".into()),
    );
    doc.insert("analysis".into(), toml::Value::Table(analysis));
    let mut workload = toml::Table::new();
    workload.insert("type".into(), toml::Value::String(args.workload.clone()));
    workload.insert("input".into(), toml::Value::String(args.input.clone()));
    doc.insert("workload".into(), toml::Value::Table(workload));
    let mut activity = toml::Table::new();
    activity.insert("type".into(), toml::Value::String("uniform".into()));
    let rates = if args.spike_rates.is_empty() {
        vec![0.05]
    } else {
        args.spike_rates.clone()
    };
    activity.insert(
        "spike_rates".into(),
        toml::Value::Array(rates.iter().map(|r| toml::Value::Float(*r)).collect()),
    );
    if let Some(nz) = args.nonzero {
        activity.insert("nonzero".into(), toml::Value::Float(nz));
    }
    doc.insert("activity".into(), toml::Value::Table(activity));
    if let Some(e) = &args.energy {
        let mut energy = toml::Table::new();
        energy.insert("type".into(), toml::Value::String(e.clone()));
        doc.insert("energy".into(), toml::Value::Table(energy));
    }
    let mut archs = Vec::new();
    let mut labels = std::collections::HashSet::new();
    for spec in &args.archs {
        let mut t = arch_table(spec)?;
        // Two variants of one type need distinct labels: a spec with parameters is its own.
        let ty = spec.split(':').next().unwrap_or(spec).to_string();
        if spec.contains(':') || !labels.insert(ty) {
            t.insert("name".into(), toml::Value::String(spec.clone()));
        }
        archs.push(toml::Value::Table(t));
    }
    doc.insert("architecture".into(), toml::Value::Array(archs));
    let text = toml::to_string(&doc).context("building the pipeline from flags")?;
    let mut pipeline = Pipeline::from_toml(&text, None, &registry).map_err(flag_error)?;
    for spec in &args.budget {
        pipeline.settings.budget.set(spec)?;
    }
    let mut report = pipeline.run().map_err(flag_error)?;
    if args.spike_rates.is_empty() {
        // The 5 % point only gave the search its activity shape; nobody asked to compare there.
        report.comparisons.clear();
    }
    if args.json {
        out!("{}", report.to_json());
    } else {
        crate::output::print_report(&report, true, None);
    }
    Ok(())
}
