//! Pipelines: a TOML file (or a builder in code) naming a workload, an activity source,
//! architectures and energy models, and the analysis settings.
//!
//! ```toml
//! [analysis]
//! timesteps = "1..16"
//!
//! [workload]
//! type = "vgg16"
//!
//! [activity]
//! type = "uniform"
//! spike_rates = [0.05]
//!
//! [energy]
//! type = "horowitz-45nm"
//!
//! [[architecture]]
//! type = "paper-v1"
//! variant = "spatial"
//! ```
//!
//! Each component table has `type = "…"` and its own keys; a few keys are common to a section
//! (`name` on workloads and architectures, `energy` on architectures). Errors carry the file,
//! the line and the key.
//!
//! `[plugins] load = ["path/to/libmy_chip.so"]` loads hardware plugins (paths relative to the
//! pipeline file) before any component is built, into a copy of the registry the pipeline is
//! built with: their components are available to this pipeline only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use snnergy_core::settings::AnalysisSettings;
use snnergy_plugin_host::{Library, PluginRegistry};

use crate::analysis::analyze;
use crate::slots::{ArchSlot, WorkloadSlot};
use crate::sources::{Uniform, resolve};
use snnergy_core::energy::EnergyModel;
use snnergy_core::error::{ConfigError, Error};
use snnergy_core::registry::{BuildContext, Interface, Kind, Registry, closest};
use snnergy_core::report::Report;
use snnergy_core::traits::{ActivitySource, Architecture, Workload};

/// Top-level sections a pipeline may have.
pub const SECTIONS: &[&str] = &[
    "analysis",
    "workload",
    "activity",
    "energy",
    "architecture",
    "plugins",
    // Kept raw and interpreted by `snnergy train` (the engine's training), not built here.
    "train",
];

/// What to do instead of a second `[[activity]]`.
const ACTIVITY_HINT: &str = "list several rates in one `uniform` (`spike_rates = [0.05, 0.1]`), or write one pipeline per profile or engine run (each is analysed along its own activity shape)";
/// What to do instead of a second `[[energy]]`.
const ENERGY_HINT: &str = "it prices every architecture without its own; give an architecture another with its `energy` key";

/// A registry extended by a pipeline's `[plugins]`, with the libraries it loaded.
type WithPlugins = (Registry, Vec<Arc<Library>>);

/// A built pipeline, ready to run.
#[derive(Debug)]
pub struct Pipeline {
    /// The file it came from, if any.
    pub file: Option<PathBuf>,
    /// Folder relative paths are resolved against.
    pub base_dir: PathBuf,
    /// `[analysis]`.
    pub settings: AnalysisSettings,
    /// Workloads with their networks.
    pub workloads: Vec<WorkloadSlot>,
    /// The activity source.
    pub activity: Arc<dyn ActivitySource>,
    /// Architectures with their energy models.
    pub architectures: Vec<ArchSlot>,
    /// Plugin libraries its `[plugins]` section loaded: a sensitivity study rebuilds their
    /// components too.
    pub plugins: Vec<Arc<Library>>,
    /// The registry its components were built with (with its plugins), which [`Pipeline::run`]
    /// rebuilds architectures with; `None` for a pipeline built in code.
    pub registry: Option<Registry>,
}

impl Pipeline {
    /// Starts a pipeline in code.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// Reads and builds a pipeline file.
    pub fn from_file(path: &Path, registry: &Registry) -> Result<Self, Error> {
        let text = snnergy_files::read_to_string(path).map_err(|e| {
            ConfigError::new(format!("cannot read pipeline: {}", e.message))
                .in_file(Some(path.to_path_buf()))
        })?;
        Self::from_toml(&text, Some(path), registry)
    }

    /// Builds a pipeline from TOML text; `file` is used for messages and relative paths.
    pub fn from_toml(text: &str, file: Option<&Path>, registry: &Registry) -> Result<Self, Error> {
        let doc = Document::parse(text, file)?;
        doc.build(registry)
    }

    /// The output folder from `[analysis] output`, resolved against the pipeline's folder.
    pub fn output_dir(&self) -> Option<PathBuf> {
        self.settings
            .output
            .as_ref()
            .map(|o| resolve(&self.base_dir, o))
    }

    /// Runs the analysis (and the sensitivity study, if configured, rebuilding architectures
    /// with the registry the pipeline was built with, else with the built-in registry).
    pub fn run(&self) -> Result<Report, Error> {
        let builtin = match (&self.registry, &self.settings.sensitivity) {
            (None, Some(s)) if s.parameters => Registry::builtin().ok(),
            _ => None,
        };
        self.run_with(self.registry.as_ref().or(builtin.as_ref()))
    }

    /// Runs the analysis; a configured sensitivity study rebuilds architectures with varied
    /// parameters through `registry` (without one, only prices are varied).
    pub fn run_with(&self, registry: Option<&Registry>) -> Result<Report, Error> {
        // The pipeline's own plugins join whatever registry rebuilds its components.
        let with_plugins = match registry {
            Some(r) if !self.plugins.is_empty() => {
                let mut r = r.clone();
                for lib in &self.plugins {
                    // The registry given knows another component by a plugin's name.
                    r.register_library(lib)
                        .map_err(|e| ConfigError::new(e.to_string()).at_key("plugins.load"))?;
                }
                Some(r)
            }
            _ => None,
        };
        let registry = with_plugins.as_ref().or(registry);
        let mut report = analyze(
            &self.settings,
            &self.workloads,
            &self.architectures,
            self.activity.as_ref(),
            &self.base_dir,
        )?;
        if report.settings.title.is_none()
            && let Some(f) = &self.file
        {
            report.title = format!(
                "snnergy: {}",
                f.file_stem()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default()
            );
        }
        if let Some(study) = &self.settings.sensitivity {
            report.sensitivity = crate::sensitivity::analyze(
                &self.settings,
                study,
                &self.workloads,
                &self.architectures,
                self.activity.as_ref(),
                &self.base_dir,
                registry,
            )?;
        }
        Ok(report)
    }
}

/// A parsed pipeline document with the positions of its keys, for messages.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file, if any.
    pub file: Option<PathBuf>,
    /// The text.
    pub text: String,
    /// The parsed table.
    pub table: toml::Table,
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// Table key.
    Key(String),
    /// Array index.
    Index(usize),
}

impl Document {
    /// Parses TOML text; syntax errors carry the line.
    pub fn parse(text: &str, file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = file.map(Path::to_path_buf);
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            ConfigError::new(e.message().trim().to_string())
                .at_line(line)
                .in_file(file.clone())
        })?;
        Ok(Self {
            file,
            text: text.to_string(),
            table,
        })
    }

    /// 1-based line of the key at `path` (or of the nearest enclosing key that exists).
    pub fn line(&self, path: &[Seg]) -> Option<usize> {
        let parsed = toml::de::DeTable::parse(&self.text).ok()?;
        let mut best = None;
        let mut current: Option<&toml::de::DeValue<'_>> = None;
        let root = parsed.get_ref();
        for (i, seg) in path.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    let table = if i == 0 {
                        Some(root)
                    } else {
                        current.and_then(|v| v.as_table())
                    };
                    let Some((key, value)) = table.and_then(|t| {
                        t.iter()
                            .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                    }) else {
                        break;
                    };
                    best = Some(line_of(&self.text, key.span().start));
                    current = Some(value.get_ref());
                }
                Seg::Index(n) => {
                    let Some(item) = current.and_then(|v| v.as_array()).and_then(|a| a.get(*n))
                    else {
                        break;
                    };
                    if item.get_ref().as_table().is_some_and(|t| !t.is_empty()) {
                        // An array of tables has no span of its own worth pointing at; its
                        // first key is on (or just after) its header.
                        let first = item
                            .get_ref()
                            .as_table()
                            .and_then(|t| t.iter().map(|(k, _)| k.span().start).min());
                        if let Some(start) = first {
                            best = Some(line_of(&self.text, start));
                        }
                    } else {
                        best = Some(line_of(&self.text, item.span().start));
                    }
                    current = Some(item.get_ref());
                }
            }
        }
        best
    }

    fn error(&self, path: &[Seg], message: impl Into<String>) -> ConfigError {
        ConfigError::new(message)
            .at_key(path_string(path))
            .at_line(self.line(path))
            .in_file(self.file.clone())
    }

    /// Places an error from a component factory: its key (relative to the component table at
    /// `at`) is prefixed with the table's path and its line looked up.
    pub fn locate(&self, at: &[Seg], err: ConfigError) -> ConfigError {
        let mut path = at.to_vec();
        if let Some(k) = &err.key {
            path.extend(parse_key_path(k));
        }
        let full_key = match (&err.key, at.is_empty()) {
            (Some(k), true) => k.clone(),
            (Some(k), false) => format!("{}.{k}", path_string(at)),
            (None, _) => path_string(at),
        };
        ConfigError {
            file: err.file.clone().or_else(|| self.file.clone()),
            line: err.line.or_else(|| self.line(&path)),
            key: Some(full_key),
            message: err.message,
        }
    }

    /// Builds every component with `registry`.
    pub fn build(&self, registry: &Registry) -> Result<Pipeline, Error> {
        for key in self.table.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                let mut msg = format!("unknown section `{key}`");
                if let Some(best) = closest(key, SECTIONS.iter().copied()) {
                    msg.push_str(&format!("; did you mean `{best}`?"));
                }
                msg.push_str(&format!(" (sections: {})", SECTIONS.join(", ")));
                return Err(self.error(&[Seg::Key(key.clone())], msg).into());
            }
        }
        // Relative paths are the file's own: a pipeline reached through a symbolic link
        // resolves them where it lives, not where the link is.
        let base_dir = self
            .file
            .as_ref()
            .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
            .as_ref()
            .and_then(|f| f.parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let (with_plugins, plugins) = match self.load_plugins(registry, &base_dir)? {
            Some((r, libs)) => (Some(r), libs),
            None => (None, Vec::new()),
        };
        let registry = with_plugins.as_ref().unwrap_or(registry);
        let ctx = BuildContext {
            registry,
            base_dir: &base_dir,
        };

        let settings = self.settings()?;
        let workloads = self.workloads(&ctx)?;
        let activity: Arc<dyn ActivitySource> = match self.single("activity", ACTIVITY_HINT)? {
            Some((at, table)) => {
                Arc::from(self.build_component::<dyn ActivitySource>(&ctx, &at, table)?)
            }
            None => Arc::new(Uniform::default()),
        };

        let default_energy: Option<Arc<dyn EnergyModel>> =
            match self.single("energy", ENERGY_HINT)? {
                Some((at, table)) => Some(Arc::from(
                    self.build_component::<dyn EnergyModel>(&ctx, &at, table)?,
                )),
                None => None,
            };

        let mut architectures = Vec::new();
        for (at, table) in self.components("architecture", true)? {
            let slot =
                self.architecture(&ctx, at, table, default_energy.as_ref(), &architectures)?;
            architectures.push(slot);
        }
        Ok(Pipeline {
            file: self.file.clone(),
            registry: Some(registry.clone()),
            base_dir,
            settings,
            workloads,
            activity,
            architectures,
            plugins,
        })
    }

    fn settings(&self) -> Result<AnalysisSettings, Error> {
        let settings: AnalysisSettings = match self.table.get("analysis") {
            None => AnalysisSettings::default(),
            Some(v) => {
                let at = [Seg::Key("analysis".into())];
                let mut de = <dyn erased_serde::Deserializer>::erase(v.clone());
                snnergy_core::registry::deserialize_config(&mut de)
                    .map_err(|e| self.locate(&at, e))?
            }
        };
        settings.validate().map_err(|e| self.locate(&[], e))?;
        Ok(settings)
    }

    fn workloads(&self, ctx: &BuildContext<'_>) -> Result<Vec<WorkloadSlot>, Error> {
        let mut workloads = Vec::new();
        for (at, table) in self.components("workload", true)? {
            let (label, params) = split_common(table, &["name"]);
            let w: Box<dyn Workload> = self.build_component(ctx, &at, params)?;
            let network = w
                .network()
                .map_err(|e| self.error(&at, format!("workload cannot build its network: {e}")))?;
            workloads.push(WorkloadSlot {
                label: label
                    .get("name")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| network.name.clone()),
                network,
            });
        }

        Ok(workloads)
    }

    /// One `[[architecture]]` table: the architecture, the energy model pricing it (its own
    /// `energy`, the pipeline's `[energy]`, or the table it is meant for) and its label, which
    /// must differ from those `taken` already.
    fn architecture(
        &self,
        ctx: &BuildContext<'_>,
        at: Vec<Seg>,
        table: toml::Table,
        default_energy: Option<&Arc<dyn EnergyModel>>,
        taken: &[ArchSlot],
    ) -> Result<ArchSlot, Error> {
        let registry = ctx.registry;
        let (common, params) = split_common(table, &["name", "energy"]);
        let type_name = params
            .get("type")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let arch_params = {
            let mut t = params.clone();
            t.remove("type");
            t
        };
        let arch: Box<dyn Architecture> = self.build_component(ctx, &at, params)?;
        let energy = match common.get("energy") {
            Some(v) => {
                let mut at_e = at.clone();
                at_e.push(Seg::Key("energy".into()));
                let table = match v {
                    toml::Value::String(s) => {
                        let mut t = toml::Table::new();
                        t.insert("type".into(), toml::Value::String(s.clone()));
                        t
                    }
                    toml::Value::Table(t) => t.clone(),
                    other => {
                        return Err(self
                            .error(
                                &at_e,
                                format!(
                                    "expected an energy model type name or an inline table, found {}",
                                    other.type_str()
                                ),
                            )
                            .into());
                    }
                };
                Arc::from(self.build_component::<dyn EnergyModel>(ctx, &at_e, table)?)
            }
            None => match (default_energy, own_table(registry, &type_name)) {
                (Some(e), _) => e.clone(),
                // Without [energy], an architecture is priced by the table it is meant
                // for (its example's `energy`); the report names the model it used.
                (None, Some(table)) => {
                    Arc::from(self.build_component::<dyn EnergyModel>(ctx, &at, table)?)
                }
                (None, None) => {
                    let names: Vec<&str> = registry
                        .infos(Kind::EnergyModel)
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect();
                    return Err(self
                        .error(
                            &at,
                            format!(
                                "no energy model prices this architecture: add an [energy] section or an `energy` key (registered energy models: {})",
                                names.join(", ")
                            ),
                        )
                        .into());
                }
            },
        };
        let label = common
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| type_name.clone());
        if taken.iter().any(|a: &ArchSlot| a.label == label) {
            return Err(self
                .error(
                    &at,
                    format!(
                        "two architectures are labelled `{label}`: give each a distinct `name`"
                    ),
                )
                .into());
        }
        Ok(ArchSlot {
            label,
            type_name,
            arch: Arc::from(arch),
            energy,
            params: Some(arch_params),
        })
    }

    /// Loads the libraries of `[plugins] load` into a copy of `registry`; `None` without any.
    fn load_plugins(
        &self,
        registry: &Registry,
        base_dir: &Path,
    ) -> Result<Option<WithPlugins>, ConfigError> {
        let Some(section) = self.table.get("plugins") else {
            return Ok(None);
        };
        let at = vec![Seg::Key("plugins".into())];
        let toml::Value::Table(table) = section else {
            return Err(self.error(
                &at,
                format!(
                    "expected a table `[plugins]` with `load = [\"path\", …]`, found {}",
                    section.type_str()
                ),
            ));
        };
        for key in table.keys() {
            if key != "load" {
                let mut path = at.clone();
                path.push(Seg::Key(key.clone()));
                let hint = closest(key, ["load"].into_iter())
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default();
                return Err(self.error(
                    &path,
                    format!("unknown key in [plugins]{hint} (valid keys: load)"),
                ));
            }
        }
        let mut load_at = at.clone();
        load_at.push(Seg::Key("load".into()));
        let items = match table.get("load") {
            None => return Ok(None),
            Some(toml::Value::Array(items)) => items,
            Some(other) => {
                return Err(self.error(
                    &load_at,
                    format!(
                        "expected a list of library paths, found {}",
                        other.type_str()
                    ),
                ));
            }
        };
        let mut with = registry.clone();
        let mut libs = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut item_at = load_at.clone();
            item_at.push(Seg::Index(i));
            let Some(path) = item.as_str() else {
                return Err(self.error(
                    &item_at,
                    format!("expected a library path, found {}", item.type_str()),
                ));
            };
            let path = resolve(base_dir, Path::new(path));
            libs.push(
                with.load_plugin(&path)
                    .map_err(|e| self.error(&item_at, e.to_string()))?,
            );
        }
        Ok(Some((with, libs)))
    }

    /// The one component table of a section that takes one (`[activity]`, `[energy]`); a
    /// second is an error at its line saying what to do instead, not a table dropped.
    fn single(
        &self,
        section: &str,
        hint: &str,
    ) -> Result<Option<(Vec<Seg>, toml::Table)>, ConfigError> {
        let mut tables = self.components(section, false)?;
        if tables.len() > 1 {
            let (at, _) = &tables[1];
            return Err(self.error(
                at,
                format!(
                    "{} [[{section}]] tables: a pipeline takes one [{section}]; {hint}",
                    tables.len()
                ),
            ));
        }
        Ok(tables.pop())
    }

    /// The component tables of a section (a table or an array of tables), with their paths.
    fn components(
        &self,
        section: &str,
        required: bool,
    ) -> Result<Vec<(Vec<Seg>, toml::Table)>, ConfigError> {
        let key = Seg::Key(section.into());
        match self.table.get(section) {
            None if required => Err(ConfigError::new(format!(
                "the pipeline has no [{section}] section"
            ))
            .at_key(section)
            .in_file(self.file.clone())),
            None => Ok(Vec::new()),
            Some(toml::Value::Table(t)) => Ok(vec![(vec![key], t.clone())]),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let at = vec![key.clone(), Seg::Index(i)];
                    match v {
                        toml::Value::Table(t) => Ok((at, t.clone())),
                        other => Err(self
                            .error(&at, format!("expected a table, found {}", other.type_str()))),
                    }
                })
                .collect(),
            Some(other) => Err(self.error(
                &[key],
                format!("expected a table, found {}", other.type_str()),
            )),
        }
    }

    /// Looks up `type` and builds the component in `ctx`, placing errors.
    pub fn build_component<T: Interface + ?Sized>(
        &self,
        ctx: &BuildContext<'_>,
        at: &[Seg],
        mut table: toml::Table,
    ) -> Result<Box<T>, ConfigError> {
        let registry = ctx.registry;
        let mut type_path = at.to_vec();
        type_path.push(Seg::Key("type".into()));
        let type_name = match table.remove("type") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(self.error(
                    &type_path,
                    format!("`type` must be a string, found {}", other.type_str()),
                ));
            }
            None => {
                let names: Vec<String> = registry
                    .infos(T::KIND)
                    .iter()
                    .map(|i| i.name.clone())
                    .collect();
                return Err(self.error(
                    at,
                    format!(
                        "missing `type` (registered {} types: {})",
                        T::KIND,
                        names.join(", ")
                    ),
                ));
            }
        };
        registry.build_in::<T>(&type_name, table, ctx).map_err(|e| {
            if e.key.as_deref() == Some("type") {
                ConfigError {
                    key: Some(path_string(&type_path)),
                    line: self.line(&type_path),
                    file: self.file.clone(),
                    message: e.message,
                }
            } else {
                self.locate(at, e)
            }
        })
    }
}

/// The price table an architecture type is meant for (the `energy` of its example), as a
/// component table.
fn own_table(registry: &Registry, type_name: &str) -> Option<toml::Table> {
    let info = registry
        .infos(Kind::Architecture)
        .into_iter()
        .find(|i| i.name == type_name)?;
    let name = info.example.get("energy")?.as_str()?;
    let mut t = toml::Table::new();
    t.insert("type".into(), toml::Value::String(name.to_string()));
    Some(t)
}

/// Separates section-wide keys (`name`, `energy`) from the component's own.
fn split_common(mut table: toml::Table, common: &[&str]) -> (toml::Table, toml::Table) {
    let mut c = toml::Table::new();
    for k in common {
        if let Some(v) = table.remove(*k) {
            c.insert((*k).to_string(), v);
        }
    }
    (c, table)
}

/// `architecture[1].buffer_kib`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Splits a dotted key path such as `layers[2].kernel` into segments.
fn parse_key_path(key: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(rest[..i].to_string()));
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                match stripped[..end].parse() {
                    Ok(n) => out.push(Seg::Index(n)),
                    Err(_) => break,
                }
                rest = &stripped[end + 1..];
            }
        } else {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// 1-based line of byte offset `pos` in `text`.
pub fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Builds a pipeline in code (for embedding).
#[derive(Debug, Default)]
pub struct PipelineBuilder {
    settings: AnalysisSettings,
    workloads: Vec<(String, Box<dyn Workload>)>,
    activity: Option<Arc<dyn ActivitySource>>,
    architectures: Vec<ArchSlot>,
    base_dir: Option<PathBuf>,
}

impl PipelineBuilder {
    /// Sets the analysis settings.
    pub fn settings(mut self, settings: AnalysisSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Adds a workload under `label`.
    pub fn workload(mut self, label: impl Into<String>, workload: Box<dyn Workload>) -> Self {
        self.workloads.push((label.into(), workload));
        self
    }

    /// Sets the activity source (default: uniform 5 % and 10 %, ρ = 0.45).
    pub fn activity(mut self, activity: impl ActivitySource + 'static) -> Self {
        self.activity = Some(Arc::new(activity));
        self
    }

    /// Adds an architecture priced by `energy`.
    pub fn architecture(
        mut self,
        label: impl Into<String>,
        architecture: impl Architecture + 'static,
        energy: Arc<dyn EnergyModel>,
    ) -> Self {
        let label = label.into();
        self.architectures.push(ArchSlot {
            type_name: label.clone(),
            label,
            arch: Arc::new(architecture),
            energy,
            params: None,
        });
        self
    }

    /// Adds an architecture built by the registry from its type name and TOML parameters.
    pub fn architecture_from_registry(
        mut self,
        registry: &Registry,
        label: impl Into<String>,
        type_name: &str,
        params: toml::Table,
        energy: Arc<dyn EnergyModel>,
    ) -> Result<Self, ConfigError> {
        let arch: Box<dyn Architecture> = registry.build(type_name, params.clone())?;
        self.architectures.push(ArchSlot {
            label: label.into(),
            type_name: type_name.to_string(),
            arch: Arc::from(arch),
            energy,
            params: Some(params),
        });
        Ok(self)
    }

    /// Folder relative paths (profiles) are resolved against.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Builds the networks and returns the pipeline.
    pub fn build(self) -> Result<Pipeline, Error> {
        self.settings.validate()?;
        let mut workloads = Vec::new();
        for (label, w) in self.workloads {
            workloads.push(WorkloadSlot {
                label,
                network: w.network()?,
            });
        }
        Ok(Pipeline {
            file: None,
            base_dir: self.base_dir.unwrap_or_else(|| PathBuf::from(".")),
            settings: self.settings,
            workloads,
            activity: self
                .activity
                .unwrap_or_else(|| Arc::new(Uniform::default())),
            architectures: self.architectures,
            plugins: Vec::new(),
            registry: None,
        })
    }
}
