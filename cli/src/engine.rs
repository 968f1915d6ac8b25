//! `snnergy engine`: run a converted SNN and its QNN twin on real data, print the per-layer
//! spike rates and the agreement with the twin, and write the activity profile a pipeline's
//! `[activity] type = "profile"` reads.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Deserialize as _;
use snnergy::core::Workload;
use snnergy::engine::{EngineSettings, Model, RunOptions, run_dataset};
use snnergy::report::text::{Col, TextTable};

#[derive(Args, Debug)]
pub struct EngineArgs {
    /// The network: a workload type name (`vgg11`, `resnet20`, …) or a TOML file with a
    /// `[workload]` table (a pipeline file will do).
    #[arg(long)]
    model: String,
    /// Input of a named workload: a dataset name (`fashion-mnist`, `cifar10`, …).
    #[arg(long)]
    input: Option<String>,
    /// Weights (safetensors with PyTorch module names).
    #[arg(long, required_unless_present = "random_weights")]
    weights: Option<PathBuf>,
    /// Run with seeded random weights instead (for speed checks; their spike rates mean nothing).
    #[arg(long, conflicts_with = "weights")]
    random_weights: Option<u64>,
    /// Also save the weights that were run (e.g. the random ones) to this safetensors file.
    #[arg(long)]
    save_weights: Option<PathBuf>,
    /// Time steps T.
    #[arg(short = 'T', long, default_value_t = 6)]
    timesteps: u32,
    /// `fashion-mnist` (default), `mnist` or `cifar10`.
    #[arg(long)]
    dataset: Option<String>,
    /// Folder with the data set files (default for fashion-mnist: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    data: Option<PathBuf>,
    /// `test` (default) or `train`.
    #[arg(long)]
    split: Option<String>,
    /// Per-channel normalization mean (repeat per channel; with --std).
    #[arg(long, num_args = 1..)]
    mean: Vec<f64>,
    /// Per-channel normalization standard deviation.
    #[arg(long, num_args = 1..)]
    std: Vec<f64>,
    /// Images to simulate (0: the whole split).
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    samples: Option<u64>,
    /// Images per batch.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    batch: Option<u64>,
    /// Firing threshold θ (default 1 − 1e-4).
    #[arg(long)]
    threshold: Option<f64>,
    /// `if` or `lif`.
    #[arg(long)]
    neuron: Option<String>,
    /// Membrane fraction kept per step for `lif`.
    #[arg(long)]
    leak: Option<f64>,
    /// `subtract` or `zero`.
    #[arg(long)]
    reset: Option<String>,
    /// `direct` or `rate`.
    #[arg(long)]
    coding: Option<String>,
    /// `membrane` or `spike-count`.
    #[arg(long)]
    readout: Option<String>,
    /// Synaptic kernels: `auto`, `dense` or `sparse`.
    #[arg(long)]
    path: Option<String>,
    /// Input density at or below which `auto` goes event-driven.
    #[arg(long)]
    sparse_below: Option<f64>,
    /// Seed of the rate coder (0 ..= 2^63 − 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    seed: Option<u64>,
    /// Record the spike rate of every time step.
    #[arg(long)]
    step_rates: bool,
    /// Quantizer shift φ the weights were trained with: membranes start at φ·θ and the twin
    /// quantizes ⌊T·z/θ + φ⌋ (0: the paper's Q_T, 0.5: QCFS).
    #[arg(long)]
    shift: Option<f64>,
    /// Write the measured profile here (.json or .csv).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Print the measurement as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Raise (or lower) a limit of the run's budget: memory_mib=N or synaptic_ops=N (as
    /// [analysis.budget]); repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    budget: Vec<String>,
}

fn settings(a: &EngineArgs) -> anyhow::Result<EngineSettings> {
    let mut t = toml::Table::new();
    let mut put = |k: &str, v: Option<toml::Value>| {
        if let Some(v) = v {
            t.insert(k.to_string(), v);
        }
    };
    let s = |v: &Option<String>| v.clone().map(toml::Value::String);
    let f = |v: Option<f64>| v.map(toml::Value::Float);
    let i = |v: Option<u64>| -> Option<toml::Value> { v.map(|x| toml::Value::Integer(x as i64)) };
    let floats = |v: &[f64]| {
        (!v.is_empty())
            .then(|| toml::Value::Array(v.iter().map(|x| toml::Value::Float(*x)).collect()))
    };
    put("dataset", s(&a.dataset));
    put(
        "data",
        a.data
            .as_ref()
            .map(|d| toml::Value::String(d.display().to_string())),
    );
    put("split", s(&a.split));
    put("mean", floats(&a.mean));
    put("std", floats(&a.std));
    put("samples", i(a.samples));
    put("batch", i(a.batch));
    put("threshold", f(a.threshold));
    put("neuron", s(&a.neuron));
    put("leak", f(a.leak));
    put("reset", s(&a.reset));
    put("coding", s(&a.coding));
    put("readout", s(&a.readout));
    put("path", s(&a.path));
    put("sparse_below", f(a.sparse_below));
    put("seed", i(a.seed));
    put("shift", f(a.shift));
    put(
        "step_rates",
        a.step_rates.then_some(toml::Value::Boolean(true)),
    );
    let settings = EngineSettings::deserialize(toml::Value::Table(t))
        .map_err(|e| anyhow::anyhow!("engine settings: {e}"))?;
    settings.validate()?;
    Ok(settings)
}

fn network(a: &EngineArgs) -> anyhow::Result<snnergy::core::Network> {
    let registry = crate::registry()?;
    let path = Path::new(&a.model);
    let (name, params) = if a.model.ends_with(".toml") {
        let text = snnergy::files::read_to_string(path)
            .with_context(|| format!("reading the model file {}", path.display()))?;
        let doc: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let mut w = match doc.get("workload") {
            Some(toml::Value::Table(t)) => t.clone(),
            Some(toml::Value::Array(items)) => match items.first() {
                Some(toml::Value::Table(t)) => t.clone(),
                _ => bail!("{}: [[workload]] holds no table", path.display()),
            },
            _ => bail!("{}: no [workload] table", path.display()),
        };
        w.remove("name");
        let Some(toml::Value::String(name)) = w.remove("type") else {
            bail!("{}: [workload] needs `type = \"…\"`", path.display());
        };
        (name, w)
    } else {
        let mut p = toml::Table::new();
        if let Some(i) = &a.input {
            p.insert("input".into(), toml::Value::String(i.clone()));
        }
        (a.model.clone(), p)
    };
    let w: Box<dyn Workload> = registry
        .build(&name, params)
        .map_err(|e| anyhow::anyhow!("model `{name}`: {e}"))?;
    Ok(w.network()?)
}

pub fn engine(a: EngineArgs) -> anyhow::Result<()> {
    let settings = settings(&a)?;
    let cfg = settings.snn_config(a.timesteps);
    snnergy::engine::run::validate(&cfg)?;
    // The weights are known as an input before they are read.
    if let Some(w) = &a.weights {
        snnergy::files::record_input(w);
    }
    let outputs: Vec<(&str, &Path)> = [("--out", &a.out), ("--save-weights", &a.save_weights)]
        .into_iter()
        .filter_map(|(flag, p)| p.as_deref().map(|p| (flag, p)))
        .collect();
    snnergy::files::check_distinct(&outputs)?;
    for (_, p) in &outputs {
        snnergy::files::check_writable(p, Default::default())?;
    }
    let mut budget = snnergy::core::settings::Budget::default();
    for spec in &a.budget {
        budget.set(spec)?;
    }
    let net = network(&a)?;
    // Sizes first: a network whose weights or a data file whose images would not fit the
    // budget is refused before anything is allocated or decompressed.
    snnergy::engine::budget::check_model(&net, &budget)?;
    let data = settings.load_data_for(Path::new("."), &net, a.timesteps, &budget)?;
    let model = match (&a.weights, a.random_weights) {
        (Some(w), _) => Model::load(net, w)?,
        (None, Some(seed)) => {
            eprintln!(
                "warning: seeded random weights: the spike rates say nothing about a trained network"
            );
            Model::random(net, seed)?
        }
        (None, None) => bail!("give --weights or --random-weights"),
    };
    // Every input (model, weights, data) is known now: an output over one of them fails here,
    // before anything is written or simulated.
    for (_, p) in &outputs {
        snnergy::files::check_writable(p, Default::default())?;
    }
    if let Some(p) = &a.save_weights {
        model.save(p)?;
    }
    let compiled = model.compile()?;
    let m = run_dataset(
        &compiled,
        &data,
        &cfg,
        &RunOptions {
            samples: settings.samples,
            batch: settings.batch,
        },
    )?;
    if let Some(out) = &a.out {
        m.to_profile().write(out)?;
        eprintln!("profile written to {}", out.display());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(());
    }
    print_measurement(&m, &data.source, cfg.threshold);
    outln!(
        "{:.2} s, {:.1} images/s",
        m.seconds,
        m.images as f64 / m.seconds.max(1e-9)
    );
    Ok(())
}

/// What reached each layer with weights: the densities the analysis prices.
fn inputs_table(m: &snnergy::engine::Measurement) -> TextTable {
    let mut t = TextTable::new(
        "what reached each layer with weights".to_string(),
        vec![
            Col::text("input of"),
            Col::num("values"),
            Col::num("density per step"),
            Col::num("non-zero in some step"),
            Col::num("synapses fed, per step"),
            Col::num("twin non-zero"),
        ],
    );
    for l in &m.inputs {
        t.row(vec![
            l.name.clone(),
            l.elements.to_string(),
            format!("{:.4}", l.density),
            format!("{:.4}", l.active),
            format!("{:.4}", l.synapse_density),
            format!("{:.4}", l.twin_nonzero),
        ]);
    }
    t
}

/// The per-layer table of a measurement and its summary, fitted to stdout.
pub(crate) fn print_measurement(m: &snnergy::engine::Measurement, source: &Path, threshold: f32) {
    let screen = crate::output::stdout_screen();
    let mut t = TextTable::new(
        format!(
            "{} on {} images of {}, T = {}, θ = {}",
            m.network,
            m.images,
            source.display(),
            m.timesteps,
            threshold
        ),
        vec![
            Col::text("layer"),
            Col::num("neurons"),
            Col::num("spike rate"),
            Col::num("twin zero"),
            Col::num("twin non-zero"),
            Col::num("mean |Δ| spikes"),
            Col::num("neurons ≠ twin"),
            Col::num("event-driven"),
        ],
    );
    for l in &m.layers {
        t.row(vec![
            l.name.clone(),
            l.neurons.to_string(),
            format!("{:.4}", l.spike_rate),
            format!("{:.4}", l.twin_zero_fraction),
            format!("{:.4}", 1.0 - l.twin_zero_fraction),
            format!("{:.4}", l.mean_abs_deviation),
            format!("{:.2} %", 100.0 * l.fraction_differing),
            l.sparse_share
                .map(|s| format!("{:.0} %", 100.0 * s))
                .unwrap_or_else(|| "–".into()),
        ]);
    }
    let mut text = t.render(&screen);
    if !m.inputs.is_empty() {
        text.push_str(&inputs_table(m).render(&screen));
    }
    // The tables end in a blank line; the summary follows directly.
    text.pop();
    if let Some(r) = m.input_rate {
        text.push_str(&screen.paragraph(&format!("input spike rate (rate coding): {r:.4}")));
    }
    text.push_str(&screen.paragraph(&format!(
        "mean spike rate {:.4} (sparsity {:.2} %); top-1 agreement SNN/twin {:.2} %; accuracy SNN {:.2} %, twin {:.2} %",
        m.mean_spike_rate(),
        100.0 * (1.0 - m.mean_spike_rate()),
        100.0 * m.top1_agreement,
        100.0 * m.snn_accuracy,
        100.0 * m.twin_accuracy
    )));
    out!("{text}");
}
