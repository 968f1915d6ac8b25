//! `snnergy._snnergy`: the native half of the `snnergy` Python package.
//!
//! Everything crosses as text the rest of snnergy already reads and writes (pipeline TOML,
//! report JSON, workload tables, profile JSON, the engine's measurement JSON), so this layer
//! stays a thin translation that does not follow the internals of the crates it calls. The
//! typed Python objects are built from that JSON in `python/snnergy/`.
//!
//! Every call that analyses or simulates releases the GIL. Errors become Python exceptions of
//! the `SnnergyError` family carrying snnergy's own located messages (file, line, key, layer).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use snnergy::analysis::{Pipeline, ProfileFile};
use snnergy::core::{AnalysisSettings, Error, Kind, Registry, Workload};
use snnergy::engine::sim::Reset;
use snnergy::plugin_host::{PluginError as LoadError, PluginRegistry as _};
use snnergy::report::Render as _;

create_exception!(
    snnergy,
    SnnergyError,
    PyException,
    "Any error snnergy reports; the message says where (file, line, key, layer)."
);
create_exception!(
    snnergy,
    ConfigError,
    SnnergyError,
    "A pipeline or component table that does not parse or validate."
);
create_exception!(
    snnergy,
    WorkloadError,
    SnnergyError,
    "A network that cannot be built (names, shapes, wiring)."
);
create_exception!(
    snnergy,
    ActivityError,
    SnnergyError,
    "Spike activity that does not fit the workload (a profile naming an unknown layer, a rate outside [0, 1], …)."
);
create_exception!(
    snnergy,
    ArchitectureError,
    SnnergyError,
    "An architecture that cannot map or count a layer."
);
create_exception!(
    snnergy,
    PriceError,
    SnnergyError,
    "An action no energy model can price."
);
create_exception!(
    snnergy,
    RegistryError,
    SnnergyError,
    "A component name registered twice or not at all."
);
create_exception!(
    snnergy,
    PluginError,
    SnnergyError,
    "A hardware plugin library that cannot be loaded or misbehaves."
);
create_exception!(
    snnergy,
    NirError,
    SnnergyError,
    "A NIR graph snnergy cannot import or a network it cannot export (the node or layer is named)."
);
create_exception!(
    snnergy,
    EngineError,
    SnnergyError,
    "The SNN engine cannot run (weights, data, settings)."
);

fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Config(_) => ConfigError::new_err(msg),
        Error::Workload(_) => WorkloadError::new_err(msg),
        Error::Activity(_) => ActivityError::new_err(msg),
        Error::Arch(_) => ArchitectureError::new_err(msg),
        Error::Price(_) => PriceError::new_err(msg),
        Error::Registry(_) => RegistryError::new_err(msg),
        _ => SnnergyError::new_err(msg),
    }
}

fn plugin_err(e: LoadError) -> PyErr {
    PluginError::new_err(e.to_string())
}

fn json_err(e: serde_json::Error) -> PyErr {
    SnnergyError::new_err(format!("internal JSON error: {e}"))
}

/// The built-ins plus every plugin loaded through `load_plugin`, shared by all calls.
static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn registry() -> PyResult<Registry> {
    let mut guard = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        *guard = Some(snnergy::registry().map_err(|e| to_py(e.into()))?);
    }
    Ok(guard
        .as_ref()
        .map(Registry::clone)
        .unwrap_or_else(Registry::empty))
}

/// TOML has no null: a key set to `None` in Python means "not set".
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// A table from JSON text, keeping the caller's key order (`type` first).
fn table_from_json(json: &str, what: &str) -> PyResult<toml::Table> {
    let mut v: serde_json::Value = serde_json::from_str(json).map_err(json_err)?;
    drop_nulls(&mut v);
    serde_json::from_value(v).map_err(|e| ConfigError::new_err(format!("{what}: {e}")))
}

/// Runs a pipeline given as TOML text (`text`) or as a file (`path`), and returns
/// `{"report": …, "verdicts": […], "written": […]}` as JSON. `base_dir` resolves the relative
/// paths of a text pipeline (default: the current folder). With `write`, the report files and
/// figures go to `out`, else to the pipeline's `[analysis] output`.
#[pyfunction]
#[pyo3(signature = (text=None, path=None, base_dir=None, out=None, write=false))]
fn run(
    py: Python<'_>,
    text: Option<String>,
    path: Option<PathBuf>,
    base_dir: Option<PathBuf>,
    out: Option<PathBuf>,
    write: bool,
) -> PyResult<String> {
    let registry = registry()?;
    py.detach(move || -> PyResult<String> {
        let pipeline = match (&text, &path) {
            (Some(t), _) => {
                let mut p = Pipeline::from_toml(t, None, &registry).map_err(to_py)?;
                if let Some(b) = &base_dir {
                    p.base_dir = b.clone();
                }
                p
            }
            (None, Some(p)) => Pipeline::from_file(p, &registry).map_err(to_py)?,
            (None, None) => {
                return Err(ConfigError::new_err(
                    "give a pipeline as TOML text or as a path",
                ));
            }
        };
        let report = pipeline.run_with(Some(&registry)).map_err(to_py)?;
        let mut written: Vec<PathBuf> = Vec::new();
        if write {
            let dir = out
                .or_else(|| pipeline.output_dir())
                .or_else(|| {
                    path.as_ref().map(|p| {
                        let stem = p.file_stem().unwrap_or_default().to_string_lossy();
                        PathBuf::from("snnergy-out").join(stem.as_ref())
                    })
                })
                .ok_or_else(|| {
                    ConfigError::new_err(
                        "nowhere to write the report: give `out` or set [analysis] output",
                    )
                })?;
            let io = |e: snnergy::report::ReportError| SnnergyError::new_err(e.to_string());
            let figures = snnergy::report::write_figures(&report, &dir).map_err(io)?;
            written = report.write_to(&dir, &figures).map_err(io)?;
            written.extend(figures.iter().map(|(_, name)| dir.join(name)));
        }
        let markdown = report.verdicts();
        // Sentences for people reading Python output; report.md keeps the bold names.
        let verdicts: Vec<String> = markdown.iter().map(|v| v.replace("**", "")).collect();
        let report: serde_json::Value = serde_json::to_value(&report).map_err(json_err)?;
        serde_json::to_string(&serde_json::json!({
            "report": report,
            "verdicts": verdicts,
            "verdicts_markdown": markdown,
            "written": written,
        }))
        .map_err(json_err)
    })
}

/// A pipeline given as a JSON object, as TOML text (what `run` takes).
#[pyfunction]
fn toml_from_json(json: &str) -> PyResult<String> {
    let table = table_from_json(json, "pipeline")?;
    toml::to_string(&table).map_err(|e| ConfigError::new_err(format!("pipeline: {e}")))
}

fn parse_kind(s: &str) -> PyResult<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| k.section() == s || k.to_string() == s)
        .ok_or_else(|| {
            ConfigError::new_err(format!(
                "unknown kind `{s}` (kinds: {})",
                Kind::ALL.map(|k| k.section()).join(", ")
            ))
        })
}

/// Every registered component (of one kind, if given) as a JSON list.
#[pyfunction]
#[pyo3(signature = (kind=None))]
fn components(kind: Option<&str>) -> PyResult<String> {
    let registry = registry()?;
    let kinds = match kind {
        Some(k) => vec![parse_kind(k)?],
        None => Kind::ALL.to_vec(),
    };
    let items: Vec<_> = kinds.iter().flat_map(|k| registry.infos(*k)).collect();
    serde_json::to_string(&items).map_err(json_err)
}

/// The components named `name` (one per kind that has it) with their example as TOML text.
#[pyfunction]
fn describe(name: &str) -> PyResult<String> {
    let registry = registry()?;
    let found = registry.find(name);
    if found.is_empty() {
        let names = registry.all_names();
        let hint = snnergy::core::registry::closest(name, names.iter().copied())
            .map(|b| format!("; did you mean `{b}`?"))
            .unwrap_or_default();
        return Err(RegistryError::new_err(format!(
            "no component is registered as `{name}`{hint}"
        )));
    }
    let items: Vec<serde_json::Value> = found
        .iter()
        .map(|i| {
            let mut v = serde_json::to_value(i).map_err(json_err)?;
            v["example_toml"] = serde_json::Value::String(i.example_toml());
            Ok(v)
        })
        .collect::<PyResult<_>>()?;
    serde_json::to_string(&items).map_err(json_err)
}

/// Loads a hardware plugin into the registry every later call uses; returns what it provides.
#[pyfunction]
fn load_plugin(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let mut registry = registry()?;
    let lib = py
        .detach(|| registry.load_plugin(&path))
        .map_err(plugin_err)?;
    let provided = serde_json::to_string(lib.components()).map_err(json_err)?;
    *REGISTRY.lock().unwrap_or_else(|p| p.into_inner()) = Some(registry);
    Ok(provided)
}

fn build_network(workload_json: &str) -> PyResult<snnergy::core::Network> {
    let mut table = table_from_json(workload_json, "workload")?;
    table.remove("name");
    let Some(toml::Value::String(name)) = table.remove("type") else {
        return Err(ConfigError::new_err(
            "workload: needs `type = \"…\"` (a workload type such as `vgg16` or `custom`)",
        ));
    };
    let w: Box<dyn Workload> = registry()?
        .build::<dyn Workload>(&name, table)
        .map_err(|e| to_py(e.into()))?;
    w.network().map_err(|e| to_py(e.into()))
}

/// The network a workload table builds, as JSON (layers with shapes, wiring, neuron flags).
#[pyfunction]
fn network(workload_json: &str) -> PyResult<String> {
    serde_json::to_string(&build_network(workload_json)?).map_err(json_err)
}

/// Checks a profile (JSON text in the profile file format) against a workload: every layer it
/// names exists, every neuron layer has an entry, every value lies in [0, 1]. `label` names
/// the profile in messages.
#[pyfunction]
fn check_profile(workload_json: &str, profile_json: &str, label: &str) -> PyResult<()> {
    let net = build_network(workload_json)?;
    let file: ProfileFile = serde_json::from_str(profile_json)
        .map_err(|e| ActivityError::new_err(format!("{label}: not a valid profile ({e})")))?;
    file.to_point(&net, Path::new(label), None)
        .map(|_| ())
        .map_err(|e| to_py(e.into()))
}

/// NeuroBench's counts for a workload at a profile (JSON text) and T, without architectures.
#[pyfunction]
#[pyo3(signature = (workload_json, profile_json, timesteps, settings_json=None))]
fn metrics(
    workload_json: &str,
    profile_json: &str,
    timesteps: u32,
    settings_json: Option<&str>,
) -> PyResult<String> {
    let net = build_network(workload_json)?;
    let file: ProfileFile = serde_json::from_str(profile_json)
        .map_err(|e| ActivityError::new_err(format!("profile: not a valid profile ({e})")))?;
    let point = file
        .to_point(&net, Path::new("profile"), None)
        .map_err(|e| to_py(e.into()))?;
    let settings: AnalysisSettings = match settings_json {
        Some(s) => {
            let t = table_from_json(s, "analysis")?;
            t.try_into()
                .map_err(|e| ConfigError::new_err(format!("analysis: {e}")))?
        }
        None => Default::default(),
    };
    settings
        .validate()
        .map_err(|e| ConfigError::new_err(format!("analysis: {e}")))?;
    let m = snnergy::analysis::metrics::operations(&settings, &net.name, &net, timesteps, &point);
    serde_json::to_string(&m).map_err(json_err)
}

/// Runs the engine: the workload's network with `weights` (safetensors) on the data the
/// settings (the keys of `[activity] type = "engine"`, as JSON) name, at `timesteps`.
/// Returns the measurement as JSON.
#[pyfunction]
#[pyo3(signature = (workload_json, weights, timesteps, settings_json="{}", base_dir=None))]
fn engine_measure(
    py: Python<'_>,
    workload_json: &str,
    weights: PathBuf,
    timesteps: u32,
    settings_json: &str,
    base_dir: Option<PathBuf>,
) -> PyResult<String> {
    let net = build_network(workload_json)?;
    let settings: snnergy::engine::EngineSettings = serde_json::from_str(settings_json)
        .map_err(|e| EngineError::new_err(format!("engine settings: {e}")))?;
    let base = base_dir.unwrap_or_else(|| PathBuf::from("."));
    py.detach(move || {
        let m = settings
            .measure(
                net,
                &weights,
                &base,
                timesteps,
                &snnergy::core::settings::Budget::default(),
            )
            .map_err(|e| EngineError::new_err(e.to_string()))?;
        serde_json::to_string(&m).map_err(json_err)
    })
}

fn nir_err(e: snnergy_nir::NirError) -> PyErr {
    NirError::new_err(e.to_string())
}

/// Imports a NIR file: returns `{"workload": …, "readout": …, "notes": […]}` as JSON and,
/// with `weights`, writes the engine's weights there (checked against the workload first,
/// with the graph's spelling in the file's metadata).
#[pyfunction]
#[pyo3(signature = (path, dt=snnergy_nir::DEFAULT_DT, network=None, weights=None))]
fn nir_import(
    py: Python<'_>,
    path: PathBuf,
    dt: f64,
    network: Option<String>,
    weights: Option<PathBuf>,
) -> PyResult<String> {
    py.detach(move || {
        let graph = snnergy_nir::graph::read(&path).map_err(nir_err)?;
        let name = network.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "nir".into())
        });
        let imported =
            snnergy_nir::import(&graph, &snnergy_nir::ImportOptions { dt, network: name })
                .map_err(nir_err)?;
        let net = imported.workload.network().map_err(|e| to_py(e.into()))?;
        snnergy::engine::Model::from_tensors(net, imported.tensors.clone(), &path)
            .map_err(|e| EngineError::new_err(e.to_string()))?;
        if let Some(w) = &weights {
            imported
                .save_weights(w)
                .map_err(|e| EngineError::new_err(e.to_string()))?;
        }
        let mut workload = serde_json::to_value(&imported.workload).map_err(json_err)?;
        workload["type"] = serde_json::Value::String("custom".into());
        serde_json::to_string(&serde_json::json!({
            "workload": workload,
            "readout": imported.readout,
            "summary": imported.summary(),
            "notes": imported.notes,
        }))
        .map_err(json_err)
    })
}

/// Exports a workload with its weights as a NIR file; returns the export's notes as JSON.
#[pyfunction]
#[pyo3(signature = (workload_json, weights, out, threshold=1.0 - 1e-4, leak=1.0, reset="subtract", dt=snnergy_nir::DEFAULT_DT))]
#[allow(clippy::too_many_arguments)]
fn nir_export(
    py: Python<'_>,
    workload_json: &str,
    weights: PathBuf,
    out: PathBuf,
    threshold: f64,
    leak: f64,
    reset: &str,
    dt: f64,
) -> PyResult<String> {
    let reset: Reset = serde::Deserialize::deserialize(toml::Value::String(reset.into()))
        .map_err(|e: toml::de::Error| ConfigError::new_err(format!("reset: {e}")))?;
    let options = snnergy_nir::ExportOptions {
        threshold,
        leak,
        reset,
        dt,
    };
    options.validate().map_err(nir_err)?;
    let net = build_network(workload_json)?;
    py.detach(move || {
        let (model, spelling) = snnergy_nir::load_model(net, &weights)
            .map_err(|e| EngineError::new_err(e.to_string()))?;
        let exported = snnergy_nir::export(&model, &options, spelling.as_ref()).map_err(nir_err)?;
        snnergy_nir::graph::write(&out, &exported.graph).map_err(nir_err)?;
        serde_json::to_string(&exported.notes).map_err(json_err)
    })
}

/// The version of the native library.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _snnergy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SnnergyError", py.get_type::<SnnergyError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("WorkloadError", py.get_type::<WorkloadError>())?;
    m.add("ActivityError", py.get_type::<ActivityError>())?;
    m.add("ArchitectureError", py.get_type::<ArchitectureError>())?;
    m.add("PriceError", py.get_type::<PriceError>())?;
    m.add("RegistryError", py.get_type::<RegistryError>())?;
    m.add("PluginError", py.get_type::<PluginError>())?;
    m.add("EngineError", py.get_type::<EngineError>())?;
    m.add("NirError", py.get_type::<NirError>())?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(toml_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(components, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(load_plugin, m)?)?;
    m.add_function(wrap_pyfunction!(network, m)?)?;
    m.add_function(wrap_pyfunction!(check_profile, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    m.add_function(wrap_pyfunction!(engine_measure, m)?)?;
    m.add_function(wrap_pyfunction!(nir_import, m)?)?;
    m.add_function(wrap_pyfunction!(nir_export, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
