//! `snnergy import MODEL.nir` and `snnergy export --nir OUT.nir`: networks in and out of NIR,
//! the graph format snnTorch, SpikingJelly, Norse, Sinabs, Lava and Rockpool exchange.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Deserialize;
use snnergy::core::Workload as _;
use snnergy::engine::Model;
use snnergy::engine::activity::DatasetKind;
use snnergy::engine::sim::Reset;
use snnergy_nir::{EngineData, ExportOptions, ImportOptions};

/// One of the engine's kebab-case names (`cifar10`, `subtract`), as a pipeline spells it.
fn parse<T: for<'de> Deserialize<'de>>(flag: &str, value: &str) -> anyhow::Result<T> {
    T::deserialize(toml::Value::String(value.into())).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The NIR file (HDF5, as `nir.write` saves it).
    model: PathBuf,
    /// Folder to create with `pipeline.toml` and `weights.safetensors` (it must not exist yet,
    /// or be empty).
    #[arg(short, long)]
    out: PathBuf,
    /// Euler step, seconds, for LIF time constants (snnTorch exports with 1e-4).
    #[arg(long, default_value_t = snnergy_nir::DEFAULT_DT)]
    dt: f64,
    /// Time steps T of the generated pipeline.
    #[arg(short = 'T', long, default_value_t = 6)]
    timesteps: u32,
    /// Network name in reports (default: the file's name).
    #[arg(long)]
    name: Option<String>,
    /// Data set the engine measures spikes on (`fashion-mnist`, `mnist`, `cifar10`); without
    /// it the pipeline assumes uniform rates and carries the engine table commented out.
    #[arg(long)]
    dataset: Option<String>,
    /// Folder with the data set's files.
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write a NIR file (HDF5) here.
    #[arg(long, value_name = "OUT.nir")]
    nir: PathBuf,
    /// The network: a pipeline or TOML file with a [workload] table.
    #[arg(long)]
    model: PathBuf,
    /// Its weights (safetensors with PyTorch module names).
    #[arg(long)]
    weights: PathBuf,
    /// Firing threshold θ of layers without a neuron of their own (an imported network's
    /// layers have theirs).
    #[arg(long, default_value_t = 1.0 - 1e-4)]
    threshold: f64,
    /// Membrane fraction kept per step of layers without a neuron of their own (1: IF nodes;
    /// below 1: LIF nodes).
    #[arg(long, default_value_t = 1.0)]
    leak: f64,
    /// Reset of layers without a neuron of their own: `subtract` (recorded in node metadata;
    /// NIR itself resets to v_reset) or `zero`.
    #[arg(long, default_value = "subtract")]
    reset: String,
    /// Euler step, seconds, the time constants are written for (a network imported from NIR
    /// is written at the step it was imported with).
    #[arg(long, default_value_t = snnergy_nir::DEFAULT_DT)]
    dt: f64,
}

/// Names of the files an import writes.
const IMPORTED: [&str; 2] = ["pipeline.toml", "weights.safetensors"];

/// Checks, before the import's work, that `dir` may receive it: the output layer's rules
/// (no link, device or file in its place, nothing replaced that snnergy did not write), and
/// an import's own: the folder is new or empty, so a pipeline never lands among another's.
fn check_import_folder(dir: &Path) -> anyhow::Result<()> {
    snnergy::files::check_output_dir(dir, &IMPORTED)?;
    if dir.is_dir()
        && std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!("{} exists and is not empty", dir.display());
    }
    Ok(())
}

/// Writes the import's files as one set through the output layer: an import that fails
/// leaves nothing behind.
fn write_folder(dir: &Path, files: &[(&str, Vec<u8>)]) -> anyhow::Result<()> {
    check_import_folder(dir)?;
    let mut out = snnergy::files::OutputDir::create(dir)?;
    for (name, bytes) in files {
        out.write(name, bytes)?;
    }
    out.commit()
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(())
}

/// The bytes of a NIR file for `graph`. The NIR writer writes to a path, so it writes into a
/// private folder of the system's temporary space, removed at once; the destination itself is
/// written by the output layer.
fn nir_bytes(graph: &snnergy_nir::Graph) -> anyhow::Result<Vec<u8>> {
    let base = std::env::temp_dir();
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    let mut n = 0u32;
    let dir = loop {
        let d = base.join(format!("snnergy-nir-{}-{n}", std::process::id()));
        match builder.create(&d) {
            Ok(()) => break d,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating a temporary folder in {}", base.display()));
            }
        }
    };
    let file = dir.join("graph.nir");
    let result = snnergy_nir::graph::write(&file, graph)
        .map_err(anyhow::Error::from)
        .and_then(|()| std::fs::read(&file).with_context(|| format!("reading {}", file.display())));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The largest T an imported pipeline may ask for: what `snnergy run` accepts, and with data
/// what the engine simulates.
fn check_timesteps(t: u32, with_data: bool) -> anyhow::Result<()> {
    let max = if with_data {
        snnergy::engine::run::MAX_TIMESTEPS.min(snnergy::core::MAX_TIMESTEPS)
    } else {
        snnergy::core::MAX_TIMESTEPS
    };
    if t == 0 || t > max {
        bail!(
            "-T {t}: the pipeline's timesteps must lie in 1..={max} ({})",
            if with_data {
                "the engine simulates at most that many steps"
            } else {
                "what `snnergy run` accepts"
            }
        );
    }
    Ok(())
}

/// Refuses a T that the generated pipeline's architectures cannot take: the twin's bits grow
/// with T, and a pipeline `snnergy run` then rejects (units too narrow at T ≥ 2^16 for the
/// classical array) is no use written.
fn check_runs(pipeline: &str, t: u32) -> anyhow::Result<()> {
    let p = snnergy::analysis::Pipeline::from_toml(pipeline, None, &crate::registry()?)
        .context("the imported pipeline")?;
    for w in &p.workloads {
        for a in &p.architectures {
            for f in [p.settings.snn_format(t), p.settings.baseline_format(t)] {
                a.arch.check(&w.network, &f).with_context(|| {
                    format!(
                        "-T {t}: the pipeline's architecture `{}` cannot run the network at this T; ask for fewer time steps",
                        a.label
                    )
                })?;
            }
        }
    }
    Ok(())
}

pub fn import(a: ImportArgs) -> anyhow::Result<()> {
    check_timesteps(a.timesteps, a.dataset.is_some() || a.data.is_some())?;
    snnergy::files::record_input(&a.model);
    check_import_folder(&a.out)?;
    let graph = snnergy_nir::graph::read(&a.model)?;
    let name = a.name.clone().unwrap_or_else(|| {
        a.model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "nir".into())
    });
    let imported = snnergy_nir::import(
        &graph,
        &ImportOptions {
            dt: a.dt,
            network: name,
        },
    )
    .with_context(|| format!("importing {}", a.model.display()))?;
    let network = imported.workload.network()?;
    // The weights must load into the engine now, not when someone first runs the pipeline.
    Model::from_tensors(network.clone(), imported.tensors.clone(), &a.model)?;
    let data = if a.dataset.is_some() || a.data.is_some() {
        Some(EngineData {
            dataset: match &a.dataset {
                Some(d) => parse::<DatasetKind>("--dataset", d)?,
                None => DatasetKind::default(),
            },
            // The pipeline lands in another folder: a relative path would point elsewhere.
            data: a
                .data
                .as_ref()
                .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone())),
        })
    } else {
        None
    };
    let pipeline = imported.pipeline_toml("weights.safetensors", a.timesteps, data.as_ref());
    // Without data, so that the weights (written below) are not read.
    check_runs(
        &imported.pipeline_toml("weights.safetensors", a.timesteps, None),
        a.timesteps,
    )?;
    let weights = imported.weights_bytes()?;
    write_folder(
        &a.out,
        &[
            ("pipeline.toml", pipeline.into_bytes()),
            ("weights.safetensors", weights),
        ],
    )?;
    outln!("{}: {}", a.model.display(), imported.summary());
    for n in &imported.notes {
        outln!("note: {n}");
    }
    outln!(
        "wrote {0}/pipeline.toml and {0}/weights.safetensors; run: snnergy run {0}/pipeline.toml",
        a.out.display()
    );
    Ok(())
}

pub fn export(a: ExportArgs) -> anyhow::Result<()> {
    let text = snnergy::files::read_to_string(&a.model)
        .with_context(|| format!("reading the model file {}", a.model.display()))?;
    snnergy::files::record_input(&a.weights);
    // A destination that may not be written (an input, a device, a link, a file snnergy did
    // not write) fails before the work.
    snnergy::files::check_writable(&a.nir, Default::default())?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", a.model.display()))?;
    let mut w = match doc.get("workload") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(toml::Value::Array(items)) => match items.first() {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => bail!("{}: [[workload]] holds no table", a.model.display()),
        },
        _ => bail!("{}: no [workload] table", a.model.display()),
    };
    w.remove("name");
    let Some(toml::Value::String(kind)) = w.remove("type") else {
        bail!("{}: [workload] needs `type = \"…\"`", a.model.display());
    };
    let workload: Box<dyn snnergy::core::Workload> = crate::registry()?
        .build(&kind, w)
        .map_err(|e| anyhow::anyhow!("{}: [workload]: {e}", a.model.display()))?;
    let options = ExportOptions {
        threshold: a.threshold,
        leak: a.leak,
        reset: parse::<Reset>("--reset", &a.reset)?,
        dt: a.dt,
    };
    options.validate()?;
    let (model, spelling) = snnergy_nir::load_model(workload.network()?, &a.weights)?;
    let exported = snnergy_nir::export(&model, &options, spelling.as_ref())?;
    snnergy::files::write(&a.nir, &nir_bytes(&exported.graph)?)?;
    for n in &exported.notes {
        outln!("note: {n}");
    }
    outln!(
        "wrote {} ({} nodes, {} edges)",
        a.nir.display(),
        exported.graph.nodes.len(),
        exported.graph.edges.len()
    );
    Ok(())
}
