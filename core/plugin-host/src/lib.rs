//! snnergy-plugin-host: hardware models loaded at run time from shared libraries.
//!
//! A plugin is a `cdylib` built with `snnergy-plugin-sdk`. It exports one C function whose
//! name carries the ABI major version ([`abi::ENTRY_NAME`]) and returns a table of C functions
//! ([`abi::PluginV1`]); everything else crosses as JSON ([`wire`]). The components it
//! describes are registered in an ordinary [`Registry`] next to the built-ins, under the names
//! they advertise, with factories that wrap the table: [`ForeignArchitecture`] and
//! [`ForeignEnergyModel`] implement the usual traits, so pipelines, sweeps, break-even,
//! reports and the conformance suite treat them like any other component.
//!
//! What the loader guarantees:
//! - a file that is not a library, a library without the entry symbol, a table of another
//!   ABI major or smaller than ABI 1.0's, a malformed description, a name already taken: each
//!   is a [`PluginError`] naming the library and the problem, before anything is registered;
//! - a panic inside the plugin, invalid JSON, a negative or non-finite count or price: each is
//!   an error naming the library, never an abort and never a number from elsewhere;
//! - a library is loaded once per canonical path and never unloaded (pointers into it stay
//!   valid for the process; unloading Rust libraries is unsound in general);
//! - the plugin's `tracing` events reach the host's subscriber through a callback (a plugin
//!   links its own copy of `tracing`, whose global dispatcher the host cannot see).
//!
//! Loading a library runs its initialisation code: plugins are trusted code, like any other
//! program the user runs.

#![warn(missing_docs)]

pub mod abi;
pub mod wire;

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;

use snnergy_core::action::{ActionKind, Actions};
use snnergy_core::activity::LayerActivity;
use snnergy_core::energy::{EnergyModel, Price, PriceSource};
use snnergy_core::error::{ArchError, ConfigError, PriceError};
use snnergy_core::format::Format;
use snnergy_core::network::Network;
use snnergy_core::registry::{
    ComponentInfo, Factory, Interface, Kind, Origin, Param, Registry, params_of,
};
use snnergy_core::traits::{Architecture, Assumption};

use abi::{Buf, HostV1, PluginV1, Status, StrRef, TableHeader};

/// Environment variable listing plugin libraries to load at start-up: entries separated like
/// `PATH` (`:` on Unix, `;` on Windows); an entry that is a directory contributes every file
/// in it (not recursively) whose name ends in the platform's library suffix (`.so`, `.dylib`,
/// `.dll`), in name order; an entry that is a file is loaded as it is. An entry that does not
/// exist is an error.
pub const SEARCH_PATH_VAR: &str = "SNNERGY_PLUGIN_PATH";

/// What went wrong with a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// The path does not exist or cannot be resolved.
    NotFound,
    /// The file is not a loadable library for this platform.
    NotALibrary,
    /// The library has no `snnergy_plugin_v1` symbol.
    NoEntryPoint,
    /// The entry point returned no table.
    StartFailed,
    /// The table is for another ABI major version.
    AbiMismatch,
    /// The table is smaller than ABI 1.0's.
    TableTooSmall,
    /// The plugin's JSON is malformed or of another schema.
    Protocol,
    /// A function of the plugin reported an error.
    Failed,
    /// A function of the plugin panicked.
    Panicked,
    /// A component's name is already registered.
    Duplicate,
}

/// A plugin problem, naming the library.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginError {
    /// The library (as given, or canonical once resolved).
    pub path: PathBuf,
    /// Which problem.
    pub kind: PluginErrorKind,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl PluginError {
    fn new(path: &Path, kind: PluginErrorKind, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin {}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for PluginError {}

/// A loaded plugin library. Lives (and stays loaded) for the rest of the process.
pub struct Library {
    path: PathBuf,
    table: PluginV1,
    header: TableHeader,
    sdk_version: String,
    rustc_version: String,
    description: wire::Describe,
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("abi", &(self.header.abi_major, self.header.abi_minor))
            .field("sdk_version", &self.sdk_version)
            .field("plugin", &self.description.plugin)
            .finish()
    }
}

// SAFETY: the table holds function pointers and pointers to strings that live as long as the
// never-unloaded library; nothing in it is mutated after loading.
unsafe impl Send for Library {}
// SAFETY: as above.
unsafe impl Sync for Library {}

/// A plugin handle; the plugin promises its components are thread-safe (they implement
/// `Send + Sync` on its side).
struct Handle(*mut c_void);
// SAFETY: see above; the pointer is only passed back to the plugin that made it.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

/// A failed call: status and the plugin's message.
struct CallError {
    panicked: bool,
    need_network: bool,
    message: String,
    key: Option<String>,
}

impl CallError {
    fn describe(&self, what: &str) -> String {
        if self.panicked {
            format!("`{what}` panicked: {}", self.message)
        } else {
            format!("`{what}` failed: {}", self.message)
        }
    }

    fn kind(&self) -> PluginErrorKind {
        if self.panicked {
            PluginErrorKind::Panicked
        } else {
            PluginErrorKind::Failed
        }
    }
}

impl Library {
    /// Canonical path of the library.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// ABI version the plugin was built for (major, minor).
    pub fn abi_version(&self) -> (u32, u32) {
        (self.header.abi_major, self.header.abi_minor)
    }

    /// Version of snnergy-plugin-sdk the plugin was built with.
    pub fn sdk_version(&self) -> &str {
        &self.sdk_version
    }

    /// Compiler that built the plugin.
    pub fn rustc_version(&self) -> &str {
        &self.rustc_version
    }

    /// The plugin's crate name and version.
    pub fn plugin(&self) -> &wire::PluginDoc {
        &self.description.plugin
    }

    /// The components it provides.
    pub fn components(&self) -> &[wire::ComponentDoc] {
        &self.description.components
    }

    fn error(&self, kind: PluginErrorKind, message: impl Into<String>) -> PluginError {
        PluginError::new(&self.path, kind, message)
    }

    /// Runs one table function and returns its answer, always freeing the plugin's buffer.
    fn call(&self, f: impl FnOnce(*mut Buf) -> Status) -> Result<String, CallError> {
        call_table(&self.table, f)
    }

    fn create(
        self: &Arc<Self>,
        kind: u32,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<(Handle, wire::Created), ConfigError> {
        let config = config.to_string();
        let mut handle: *mut c_void = std::ptr::null_mut();
        let answer = self.call(|out| {
            // SAFETY: the table was validated at load; the strings outlive the call.
            unsafe {
                (self.table.create)(
                    kind,
                    StrRef::new(name),
                    StrRef::new(&config),
                    &mut handle,
                    out,
                )
            }
        });
        let from = format!("(plugin {})", self.path.display());
        match answer {
            Ok(text) => {
                let handle = Handle(handle);
                if handle.0.is_null() {
                    return Err(ConfigError::new(format!(
                        "`create` of `{name}` returned no handle {from}"
                    )));
                }
                match parse_answer::<wire::Created>("create", &text) {
                    Ok(created) => Ok((handle, created)),
                    Err(e) => {
                        // SAFETY: the handle came from this table's `create`.
                        unsafe { (self.table.destroy)(handle.0) };
                        Err(ConfigError::new(format!("{e} {from}")))
                    }
                }
            }
            Err(e) if e.panicked => Err(ConfigError::new(format!(
                "{} {from}",
                e.describe(&format!("create {name}"))
            ))),
            Err(e) => {
                let err = ConfigError::new(format!("{} {from}", e.message));
                Err(match e.key {
                    Some(k) => err.at_key(k),
                    None => err,
                })
            }
        }
    }
}

fn call_table(table: &PluginV1, f: impl FnOnce(*mut Buf) -> Status) -> Result<String, CallError> {
    let mut buf = Buf::empty();
    let status = f(&mut buf);
    // SAFETY: the plugin filled `buf` (or left it empty); it is freed right after copying.
    let text = String::from_utf8_lossy(unsafe { buf.as_bytes() }).into_owned();
    if !buf.ptr.is_null() {
        // SAFETY: the buffer came from this plugin and is returned exactly once.
        unsafe { (table.free_buf)(buf) };
    }
    match status {
        abi::STATUS_OK => Ok(text),
        abi::STATUS_ERROR | abi::STATUS_PANIC | abi::STATUS_NEED_NETWORK => {
            let (message, key) = match serde_json::from_str::<wire::ErrorMessage>(&text) {
                Ok(e) => (e.message, e.key),
                Err(_) if text.is_empty() => ("(no message)".to_string(), None),
                Err(_) => (format!("{text} (not a JSON error message)"), None),
            };
            Err(CallError {
                panicked: status == abi::STATUS_PANIC,
                need_network: status == abi::STATUS_NEED_NETWORK,
                message,
                key,
            })
        }
        other => Err(CallError {
            panicked: false,
            need_network: false,
            message: format!("unknown status {other} (answer: {text})"),
            key: None,
        }),
    }
}

fn parse_answer<T: DeserializeOwned + wire::Versioned>(
    what: &str,
    text: &str,
) -> Result<T, String> {
    let schema_error = |s: u32| {
        format!(
            "`{what}` answered in JSON schema {s}; this snnergy reads schema {}",
            abi::SCHEMA
        )
    };
    // The common case parses once; the diagnosis below runs only for a bad answer.
    let err = match serde_json::from_str::<T>(text) {
        Ok(t) if t.schema() == abi::SCHEMA => return Ok(t),
        Ok(t) => return Err(schema_error(t.schema())),
        Err(e) => e,
    };
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: Option<u32>,
    }
    Err(match serde_json::from_str::<Schema>(text) {
        Ok(Schema { schema: Some(s) }) if s != abi::SCHEMA => schema_error(s),
        Ok(Schema { schema: None }) => format!("`{what}` answered JSON without a `schema` field"),
        Ok(_) => format!(
            "`{what}` answered malformed JSON ({err}): {}",
            truncate(text, 120)
        ),
        Err(e) => format!(
            "`{what}` answered invalid JSON ({e}): {}",
            truncate(text, 120)
        ),
    })
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return format!("`{s}`");
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("`{}…`", &s[..end])
}

/// Libraries loaded so far, by canonical path. Never emptied.
fn loaded() -> &'static Mutex<BTreeMap<PathBuf, Arc<Library>>> {
    static LOADED: OnceLock<Mutex<BTreeMap<PathBuf, Arc<Library>>>> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(BTreeMap::new()))
}

extern "C" fn host_log(level: u32, target: StrRef, message: StrRef) {
    // Nothing may unwind into the plugin.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the plugin passes strings valid for the call.
        let target = String::from_utf8_lossy(unsafe { target.as_bytes() });
        // SAFETY: as above.
        let message = String::from_utf8_lossy(unsafe { message.as_bytes() });
        match level {
            abi::LEVEL_ERROR => {
                tracing::error!(target: "snnergy::plugin", plugin = %target, "{message}")
            }
            abi::LEVEL_WARN => {
                tracing::warn!(target: "snnergy::plugin", plugin = %target, "{message}")
            }
            abi::LEVEL_INFO => {
                tracing::info!(target: "snnergy::plugin", plugin = %target, "{message}")
            }
            abi::LEVEL_DEBUG => {
                tracing::debug!(target: "snnergy::plugin", plugin = %target, "{message}")
            }
            _ => tracing::trace!(target: "snnergy::plugin", plugin = %target, "{message}"),
        }
    });
}

fn max_level() -> u32 {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => 0,
        LevelFilter::ERROR => abi::LEVEL_ERROR,
        LevelFilter::WARN => abi::LEVEL_WARN,
        LevelFilter::INFO => abi::LEVEL_INFO,
        LevelFilter::DEBUG => abi::LEVEL_DEBUG,
        _ => abi::LEVEL_TRACE,
    }
}

/// Opens a plugin table that is linked into this program instead of loaded from a library
/// (the same C boundary without the dynamic loader: benchmarks of the boundary's cost, tests).
/// `label` stands for the library path in messages and origins; opening the same label again
/// returns the first table opened under it.
///
/// # Safety
/// `table` must satisfy the ABI: a valid [`PluginV1`] (or a table whose header tells what it
/// is) with functions and strings that live for the rest of the process.
pub unsafe fn open_linked(
    label: &Path,
    table: *const PluginV1,
) -> Result<Arc<Library>, PluginError> {
    let mut loaded = loaded().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(lib) = loaded.get(label) {
        return Ok(lib.clone());
    }
    if table.is_null() {
        return Err(PluginError::new(
            label,
            PluginErrorKind::StartFailed,
            "no table",
        ));
    }
    // SAFETY: guaranteed by the caller.
    let lib = Arc::new(unsafe { from_table(label, table) }?);
    loaded.insert(label.to_path_buf(), lib.clone());
    Ok(lib)
}

/// Loads the plugin at `path` (once per canonical path; later calls return the same library).
pub fn open(path: &Path) -> Result<Arc<Library>, PluginError> {
    let canonical = path.canonicalize().map_err(|e| {
        PluginError::new(
            path,
            PluginErrorKind::NotFound,
            format!("cannot open the library: {e}"),
        )
    })?;
    let mut loaded = loaded().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(lib) = loaded.get(&canonical) {
        return Ok(lib.clone());
    }
    let lib = Arc::new(load_new(&canonical)?);
    loaded.insert(canonical, lib.clone());
    Ok(lib)
}

fn load_new(path: &Path) -> Result<Library, PluginError> {
    if !path.is_file() {
        return Err(PluginError::new(
            path,
            PluginErrorKind::NotALibrary,
            "not a file: give the path of the plugin's shared library",
        ));
    }
    // SAFETY: loading runs the library's initialisers; plugins are trusted code the user
    // named explicitly.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
        PluginError::new(
            path,
            PluginErrorKind::NotALibrary,
            format!(
                "not a loadable library ({e}); expected a shared library (`{}…{}`) built with crate-type = [\"cdylib\"]",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ),
        )
    })?;
    // Never unloaded: the table's pointers must stay valid, and unloading Rust code that may
    // have registered thread-locals or atexit handlers is unsound.
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol's type is fixed by the ABI; a library exporting the name with
    // another type breaks the contract it claims by the name.
    let entry = unsafe { lib.get::<abi::EntryV1>(abi::ENTRY_SYMBOL) }.map_err(|_| {
        PluginError::new(
            path,
            PluginErrorKind::NoEntryPoint,
            format!(
                "no `{}` symbol: not a snnergy plugin of ABI {} (build it with snnergy-plugin-sdk's `export_plugin!`, or rebuild it against this snnergy's SDK)",
                abi::ENTRY_NAME,
                abi::ABI_MAJOR
            ),
        )
    })?;
    let path_text: &'static str = Box::leak(path.to_string_lossy().into_owned().into_boxed_str());
    let host: &'static HostV1 = Box::leak(Box::new(HostV1 {
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        struct_size: std::mem::size_of::<HostV1>() as u32,
        max_level: max_level(),
        log: host_log,
        library_path: StrRef::new(path_text),
    }));
    // SAFETY: calling the entry point as the ABI defines it; `host` lives forever.
    let table_ptr = unsafe { entry(host) };
    if table_ptr.is_null() {
        return Err(PluginError::new(
            path,
            PluginErrorKind::StartFailed,
            format!(
                "`{}` returned no table (the plugin could not start; run with -v for its log)",
                abi::ENTRY_NAME
            ),
        ));
    }
    // SAFETY: the table comes from the library's entry point, which lives forever.
    unsafe { from_table(path, table_ptr) }
}

/// Validates a plugin table and asks it what it provides. `label` names the library in
/// messages and origins.
///
/// # Safety
/// `table_ptr` points to a table that starts with a [`TableHeader`], is as large as its
/// `struct_size` says, and stays valid for the life of the process.
unsafe fn from_table(path: &Path, table_ptr: *const PluginV1) -> Result<Library, PluginError> {
    // Only the header is known to exist until its size says more.
    // SAFETY: every table version starts with the header.
    let header = unsafe { std::ptr::read(table_ptr as *const TableHeader) };
    if header.abi_major != abi::ABI_MAJOR {
        return Err(PluginError::new(
            path,
            PluginErrorKind::AbiMismatch,
            format!(
                "its table is for plugin ABI {}.{}, this snnergy speaks ABI {}.{}: rebuild the plugin against a matching snnergy-plugin-sdk",
                header.abi_major,
                header.abi_minor,
                abi::ABI_MAJOR,
                abi::ABI_MINOR
            ),
        ));
    }
    let needed = std::mem::size_of::<PluginV1>();
    if (header.struct_size as usize) < needed {
        return Err(PluginError::new(
            path,
            PluginErrorKind::TableTooSmall,
            format!(
                "its table is {} bytes, smaller than the {needed} bytes of ABI {}.0: the plugin is broken or was built by an incompatible SDK",
                header.struct_size,
                abi::ABI_MAJOR
            ),
        ));
    }
    // SAFETY: the plugin says the table is at least this large and of this major version.
    let table = unsafe { std::ptr::read(table_ptr) };
    // SAFETY: the version strings live as long as the library.
    let text = |s: StrRef| String::from_utf8_lossy(unsafe { s.as_bytes() }).into_owned();
    let sdk_version = text(table.sdk_version);
    let rustc_version = text(table.rustc_version);
    let err = |kind, message: String| {
        PluginError::new(
            path,
            kind,
            format!("{message} (SDK {sdk_version}, {rustc_version})"),
        )
    };
    let answer = call_table(&table, |out| {
        // SAFETY: the table was validated above.
        unsafe { (table.describe)(out) }
    })
    .map_err(|e| err(e.kind(), e.describe("describe")))?;
    let description: wire::Describe =
        parse_answer("describe", &answer).map_err(|m| err(PluginErrorKind::Protocol, m))?;
    let mut seen = std::collections::BTreeSet::new();
    for c in &description.components {
        if !seen.insert((c.kind, c.name.as_str())) {
            return Err(err(
                PluginErrorKind::Duplicate,
                format!("describes {} `{}` twice", kind_of(c.kind), c.name),
            ));
        }
        if c.name.trim().is_empty() {
            return Err(err(
                PluginErrorKind::Protocol,
                "describes a component with an empty name".into(),
            ));
        }
        for (what, v) in [("defaults", &c.defaults), ("example", &c.example)] {
            json_to_toml_table(v).map_err(|m| {
                err(
                    PluginErrorKind::Protocol,
                    format!("the {what} of `{}` are not a TOML table: {m}", c.name),
                )
            })?;
        }
    }
    tracing::debug!(
        "loaded plugin {} ({} {}, SDK {}, {}) providing {}",
        path.display(),
        description.plugin.name,
        description.plugin.version,
        sdk_version,
        rustc_version,
        description
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Library {
        path: path.to_path_buf(),
        table,
        header,
        sdk_version,
        rustc_version,
        description,
    })
}

fn kind_of(k: wire::ComponentKind) -> Kind {
    match k {
        wire::ComponentKind::Architecture => Kind::Architecture,
        wire::ComponentKind::EnergyModel => Kind::EnergyModel,
    }
}

/// Converts a JSON object to a TOML table, dropping nulls (TOML has none: an absent key is
/// how TOML says "not set").
pub fn json_to_toml_table(v: &serde_json::Value) -> Result<toml::Table, String> {
    match json_to_toml(v)? {
        Some(toml::Value::Table(t)) => Ok(t),
        _ => Err(format!("expected a JSON object, found {v}")),
    }
}

fn json_to_toml(v: &serde_json::Value) -> Result<Option<toml::Value>, String> {
    use serde_json::Value as J;
    Ok(Some(match v {
        J::Null => return Ok(None),
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                toml::Value::Integer(i)
            } else if let Some(f) = n.as_f64() {
                toml::Value::Float(f)
            } else {
                return Err(format!("number {n} does not fit TOML"));
            }
        }
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(json_to_toml)
                .filter_map(Result::transpose)
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => {
            let mut t = toml::Table::new();
            for (k, v) in map {
                if let Some(v) = json_to_toml(v)? {
                    t.insert(k.clone(), v);
                }
            }
            toml::Value::Table(t)
        }
    }))
}

/// What plugins add to a [`Registry`].
pub trait PluginRegistry {
    /// Loads the plugin at `path` and registers every component it provides, all or nothing.
    /// Loading the same library into the same registry again changes nothing. A name already
    /// registered by anyone else is an error naming both.
    fn load_plugin(&mut self, path: &Path) -> Result<Arc<Library>, PluginError>;

    /// Registers every component of an opened library, all or nothing (see
    /// [`PluginRegistry::load_plugin`]).
    fn register_library(&mut self, lib: &Arc<Library>) -> Result<(), PluginError>;

    /// Loads every library [`SEARCH_PATH_VAR`] names (see there for what it means).
    fn load_search_path(&mut self) -> Result<Vec<Arc<Library>>, PluginError>;
}

impl PluginRegistry for Registry {
    fn load_plugin(&mut self, path: &Path) -> Result<Arc<Library>, PluginError> {
        let lib = open(path)?;
        self.register_library(&lib)?;
        Ok(lib)
    }

    fn register_library(&mut self, lib: &Arc<Library>) -> Result<(), PluginError> {
        let origin = Origin::Plugin(lib.path.clone());
        let mut new = Vec::new();
        for c in lib.components() {
            let kind = kind_of(c.kind);
            match self.infos(kind).into_iter().find(|i| i.name == c.name) {
                Some(existing) if existing.origin == origin => {}
                Some(existing) => {
                    return Err(lib.error(
                        PluginErrorKind::Duplicate,
                        format!(
                            "provides {kind} `{}`, which is already registered ({}); rename the plugin's component or load only one of the two",
                            c.name, existing.origin
                        ),
                    ));
                }
                None => new.push(c),
            }
        }
        for c in new {
            // A plugin built before configurations carried their schema lists its keys.
            let (schema, params) = match &c.config_schema {
                Some(schema) => (schema.clone(), params_of(schema)),
                None => (
                    serde_json::Value::Null,
                    c.params
                        .iter()
                        .map(|p| Param {
                            name: p.name.clone(),
                            doc: p.doc.clone(),
                            required: false,
                        })
                        .collect(),
                ),
            };
            let info = ComponentInfo {
                kind: kind_of(c.kind),
                name: c.name.clone(),
                summary: c.summary.clone(),
                params,
                schema,
                defaults: json_to_toml_table(&c.defaults).unwrap_or_default(),
                example: json_to_toml_table(&c.example).unwrap_or_default(),
                origin: origin.clone(),
            };
            let result = match c.kind {
                wire::ComponentKind::Architecture => self.insert(
                    info,
                    foreign::<dyn Architecture>(lib, &c.name, |lib, name, config| {
                        Ok(Box::new(ForeignArchitecture::create(lib, name, config)?))
                    }),
                ),
                wire::ComponentKind::EnergyModel => self.insert(
                    info,
                    foreign::<dyn EnergyModel>(lib, &c.name, |lib, name, config| {
                        Ok(Box::new(ForeignEnergyModel::create(lib, name, config)?))
                    }),
                ),
            };
            // Checked above; kept as an error rather than a panic.
            result.map_err(|e| lib.error(PluginErrorKind::Duplicate, e.to_string()))?;
        }
        Ok(())
    }

    fn load_search_path(&mut self) -> Result<Vec<Arc<Library>>, PluginError> {
        let Some(value) = std::env::var_os(SEARCH_PATH_VAR) else {
            return Ok(Vec::new());
        };
        search_path(&value)?
            .iter()
            .map(|p| self.load_plugin(p))
            .collect()
    }
}

/// The libraries a [`SEARCH_PATH_VAR`]-style value names, in load order.
pub fn search_path(value: &std::ffi::OsStr) -> Result<Vec<PathBuf>, PluginError> {
    let mut out = Vec::new();
    for entry in std::env::split_paths(value) {
        if entry.as_os_str().is_empty() {
            continue;
        }
        if entry.is_dir() {
            let read = std::fs::read_dir(&entry).map_err(|e| {
                PluginError::new(
                    &entry,
                    PluginErrorKind::NotFound,
                    format!("listed in {SEARCH_PATH_VAR} but cannot be read: {e}"),
                )
            })?;
            let mut libs: Vec<PathBuf> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.ends_with(std::env::consts::DLL_SUFFIX))
                })
                .collect();
            libs.sort();
            out.extend(libs);
        } else if entry.is_file() {
            out.push(entry);
        } else {
            return Err(PluginError::new(
                &entry,
                PluginErrorKind::NotFound,
                format!("listed in {SEARCH_PATH_VAR} but does not exist"),
            ));
        }
    }
    Ok(out)
}

/// Creates a foreign component from its library, name and JSON configuration.
type Create<I> = fn(&Arc<Library>, &str, &serde_json::Value) -> Result<Box<I>, ConfigError>;

/// A factory that hands the configuration to the plugin as JSON. The context stays on this
/// side: no registry crosses the C boundary.
fn foreign<I: Interface + ?Sized>(lib: &Arc<Library>, name: &str, create: Create<I>) -> Factory<I> {
    let (lib, name) = (lib.clone(), name.to_string());
    Arc::new(move |de, _| create(&lib, &name, &config_json(de)?))
}

fn config_json(
    de: &mut dyn erased_serde::Deserializer<'_>,
) -> Result<serde_json::Value, ConfigError> {
    erased_serde::deserialize::<serde_json::Value>(de)
        .map_err(|e| ConfigError::new(format!("configuration cannot be passed to the plugin: {e}")))
}

/// An architecture implemented by a plugin.
pub struct ForeignArchitecture {
    lib: Arc<Library>,
    handle: Handle,
    name: String,
    assumptions: Vec<Assumption>,
    // The last network serialized, with its JSON and number: analyses evaluate one network
    // many times.
    network_cache: Mutex<Option<(Network, Arc<str>, u64)>>,
    // Number of the network last sent in full to this handle (0: none).
    sent: AtomicU64,
}

/// Numbers networks sent to plugins; never reused within a process.
static NEXT_NETWORK_ID: AtomicU64 = AtomicU64::new(1);

impl fmt::Debug for ForeignArchitecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignArchitecture")
            .field("name", &self.name)
            .field("plugin", &self.lib.path)
            .finish()
    }
}

impl ForeignArchitecture {
    /// Builds architecture `name` of `lib` from its configuration.
    pub fn create(
        lib: &Arc<Library>,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Self, ConfigError> {
        let (handle, created) = lib.create(abi::KIND_ARCHITECTURE, name, config)?;
        Ok(Self {
            lib: lib.clone(),
            handle,
            name: name.to_string(),
            assumptions: created.assumptions,
            network_cache: Mutex::new(None),
            sent: AtomicU64::new(0),
        })
    }

    /// The library it comes from.
    pub fn library(&self) -> &Arc<Library> {
        &self.lib
    }

    fn network_json(&self, network: &Network) -> Result<(Arc<str>, u64), ArchError> {
        let mut cache = self.network_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, json, id)) = cache.as_ref()
            && n == network
        {
            return Ok((json.clone(), *id));
        }
        let json: Arc<str> = serde_json::to_string(network)
            .map_err(|e| self.config_error(format!("cannot serialize the network: {e}")))?
            .into();
        let id = NEXT_NETWORK_ID.fetch_add(1, Ordering::Relaxed);
        *cache = Some((network.clone(), json.clone(), id));
        Ok((json, id))
    }

    /// Sends a request about `network` through `function`: by number when this handle was
    /// sent the network before, in full otherwise (and again in full if the plugin asks).
    /// `rest` is the request's JSON after the network, starting with a comma.
    fn send(
        &self,
        function: abi::CallFn,
        network: &Network,
        rest: &str,
    ) -> Result<String, CallError> {
        let (net, id) = self.network_json(network).map_err(|e| CallError {
            panicked: false,
            need_network: false,
            message: e.to_string(),
            key: None,
        })?;
        let text = |full: bool| {
            let mut t = String::with_capacity(rest.len() + if full { net.len() } else { 0 } + 64);
            t.push_str(&format!("{{\"schema\":{},\"network_id\":{id}", abi::SCHEMA));
            if full {
                t.push_str(",\"network\":");
                t.push_str(&net);
            }
            t.push_str(rest);
            t.push('}');
            t
        };
        let call = |text: &str| {
            self.lib.call(|buf| {
                // SAFETY: live handle of this table; the request outlives the call.
                unsafe { function(self.handle.0, StrRef::new(text), buf) }
            })
        };
        let lean = self.sent.load(Ordering::Relaxed) == id;
        let answer = match call(&text(!lean)) {
            Err(e) if e.need_network && lean => call(&text(true)),
            other => other,
        };
        if answer.is_ok() {
            self.sent.store(id, Ordering::Relaxed);
        }
        answer
    }

    fn config_error(&self, message: String) -> ArchError {
        ArchError::Config {
            architecture: self.name.clone(),
            message: format!("plugin {}: {message}", self.lib.path.display()),
        }
    }

    fn layer_error(&self, network: &Network, layer: usize, message: String) -> ArchError {
        ArchError::Layer {
            architecture: self.name.clone(),
            layer: network
                .layers
                .get(layer)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("#{layer}")),
            message: format!("plugin {}: {message}", self.lib.path.display()),
        }
    }

    fn request(
        &self,
        network: &Network,
        format: &Format,
        layers: Vec<wire::LayerRequest>,
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        let format_json = serde_json::to_string(format)
            .map_err(|e| self.config_error(format!("cannot serialize the format: {e}")))?;
        let layers_json = serde_json::to_string(&layers)
            .map_err(|e| self.config_error(format!("cannot serialize the activity: {e}")))?;
        let single = (layers.len() == 1).then(|| layers[0].index);
        let count = layers.len();
        let fail = |message: String| match single {
            Some(i) => self.layer_error(network, i, message),
            None => self.config_error(message),
        };
        // The shape is wire::EvaluateRequest.
        let rest = format!(",\"format\":{format_json},\"layers\":{layers_json}");
        let answer = self
            .send(self.lib.table.evaluate, network, &rest)
            .map_err(|e| fail(e.describe("evaluate")))?;
        let response: wire::EvaluateResponse = parse_answer("evaluate", &answer).map_err(&fail)?;
        if response.layers.len() != count {
            return Err(fail(format!(
                "`evaluate` answered {} layers for {count} requested",
                response.layers.len()
            )));
        }
        for (actions, slot) in response.layers.into_iter().zip(out.iter_mut()) {
            for (k, category, count) in actions {
                let Some(kind) = response.kinds.get(k) else {
                    return Err(fail(format!(
                        "`evaluate` refers to action kind #{k} of {}",
                        response.kinds.len()
                    )));
                };
                let count = count.unwrap_or(f64::NAN);
                if !(count.is_finite() && count >= 0.0) {
                    return Err(fail(format!(
                        "`evaluate` counted {count} × `{kind}` ({}): counts must be finite and non-negative",
                        category.name()
                    )));
                }
                slot.push(*kind, category, count);
            }
        }
        Ok(())
    }
}

impl Drop for ForeignArchitecture {
    fn drop(&mut self) {
        // SAFETY: the handle came from this table's `create` and is released once.
        unsafe { (self.lib.table.destroy)(self.handle.0) }
    }
}

impl Architecture for ForeignArchitecture {
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        let format_json = serde_json::to_string(format)
            .map_err(|e| self.config_error(format!("cannot serialize the format: {e}")))?;
        let answer = self
            .send(
                self.lib.table.check,
                network,
                &format!(",\"format\":{format_json}"),
            )
            .map_err(|e| {
                if e.panicked || e.need_network {
                    self.config_error(e.describe("check"))
                } else {
                    // The plugin's own message already names the layer and the limit.
                    self.config_error(e.message)
                }
            })?;
        parse_answer::<wire::Done>("check", &answer).map_err(|m| self.config_error(m))?;
        Ok(())
    }

    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.request(
            network,
            format,
            vec![wire::LayerRequest {
                index: layer,
                activity: *activity,
            }],
            std::slice::from_mut(out),
        )
    }

    fn evaluate_network(
        &self,
        network: &Network,
        format: &Format,
        activity: &[LayerActivity],
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        let layers = activity
            .iter()
            .enumerate()
            .map(|(index, a)| wire::LayerRequest {
                index,
                activity: *a,
            })
            .collect();
        self.request(network, format, layers, out)
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let mut a = self.assumptions.clone();
        a.push(Assumption::new(
            "plugin",
            self.lib.path.display(),
            format!(
                "{} {}, built with snnergy-plugin-sdk {} ({})",
                self.lib.plugin().name,
                self.lib.plugin().version,
                self.lib.sdk_version,
                self.lib.rustc_version
            ),
        ));
        a
    }
}

/// An energy model implemented by a plugin.
pub struct ForeignEnergyModel {
    lib: Arc<Library>,
    handle: Handle,
    name: String,
    sources: Vec<PriceSource>,
}

impl fmt::Debug for ForeignEnergyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignEnergyModel")
            .field("name", &self.name)
            .field("plugin", &self.lib.path)
            .finish()
    }
}

impl ForeignEnergyModel {
    /// Builds energy model `name` of `lib` from its configuration.
    pub fn create(
        lib: &Arc<Library>,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Self, ConfigError> {
        let (handle, created) = lib.create(abi::KIND_ENERGY_MODEL, name, config)?;
        Ok(Self {
            lib: lib.clone(),
            handle,
            name: created.name.unwrap_or_else(|| name.to_string()),
            sources: created.sources,
        })
    }
}

impl Drop for ForeignEnergyModel {
    fn drop(&mut self) {
        // SAFETY: the handle came from this table's `create` and is released once.
        unsafe { (self.lib.table.destroy)(self.handle.0) }
    }
}

impl EnergyModel for ForeignEnergyModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        let fail = |reason: String| PriceError {
            model: self.name.clone(),
            action: action.to_string(),
            reason: format!("plugin {}: {reason}", self.lib.path.display()),
        };
        let text = serde_json::to_string(&wire::PriceRequest {
            schema: abi::SCHEMA,
            action: *action,
        })
        .map_err(|e| fail(format!("cannot serialize the request: {e}")))?;
        let answer = self
            .lib
            .call(|buf| {
                // SAFETY: live handle of this table; the request outlives the call.
                unsafe { (self.lib.table.price)(self.handle.0, StrRef::new(&text), buf) }
            })
            .map_err(|e| {
                if e.panicked {
                    fail(e.describe("price"))
                } else {
                    // Not priceable: the plugin's reason, as a built-in table would give it.
                    fail(e.message)
                }
            })?;
        let p: wire::PriceResponse = parse_answer("price", &answer).map_err(fail)?;
        if !(p.pj.is_finite() && p.pj >= 0.0) {
            return Err(fail(format!(
                "`price` answered {} pJ: prices must be finite and non-negative",
                p.pj
            )));
        }
        if p.source >= self.sources.len() {
            return Err(fail(format!(
                "`price` cites source #{} but the model lists {} sources",
                p.source,
                self.sources.len()
            )));
        }
        Ok(Price {
            pj: p.pj,
            source: p.source,
            derivation: p.derivation,
        })
    }

    fn sources(&self) -> Vec<PriceSource> {
        self.sources.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_defaults_become_toml_without_nulls() {
        let v = serde_json::json!({"rows": 128, "kib": 2.5, "name": null, "list": [1, null, 2], "t": {"a": true}});
        let t = json_to_toml_table(&v).unwrap();
        assert_eq!(t.get("rows").and_then(|v| v.as_integer()), Some(128));
        assert_eq!(t.get("kib").and_then(|v| v.as_float()), Some(2.5));
        assert!(
            !t.contains_key("name"),
            "TOML has no null: the key is left out"
        );
        assert_eq!(t["list"].as_array().unwrap().len(), 2);
        assert!(json_to_toml_table(&serde_json::json!([1, 2])).is_err());
    }

    #[test]
    fn answers_of_another_schema_or_without_one_are_rejected() {
        let e = parse_answer::<wire::Done>("check", r#"{"schema": 2}"#).unwrap_err();
        assert!(
            e.contains("JSON schema 2; this snnergy reads schema 1"),
            "{e}"
        );
        let e = parse_answer::<wire::Done>("check", r#"{"ok": true}"#).unwrap_err();
        assert!(e.contains("without a `schema` field"), "{e}");
        let e = parse_answer::<wire::Done>("check", "{\"schema\":1").unwrap_err();
        assert!(e.contains("invalid JSON"), "{e}");
        assert!(parse_answer::<wire::Done>("check", r#"{"schema": 1}"#).is_ok());
    }

    #[test]
    fn the_search_path_lists_libraries_of_directories_in_name_order() {
        let dir = std::env::temp_dir().join(format!("snnergy-search-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = |n: &str| dir.join(format!("{n}{}", std::env::consts::DLL_SUFFIX));
        for n in ["b", "a"] {
            std::fs::write(lib(n), "").unwrap();
        }
        std::fs::write(dir.join("notes.txt"), "").unwrap();
        let value = std::env::join_paths([dir.clone(), PathBuf::new()]).unwrap();
        assert_eq!(search_path(&value).unwrap(), vec![lib("a"), lib("b")]);
        let missing = std::env::join_paths([dir.join("nope")]).unwrap();
        let e = search_path(&missing).unwrap_err();
        assert_eq!(e.kind, PluginErrorKind::NotFound);
        assert!(
            e.to_string()
                .contains("SNNERGY_PLUGIN_PATH but does not exist"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
