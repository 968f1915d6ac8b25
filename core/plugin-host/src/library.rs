//! A loaded library and the calls into its table: every answer is JSON of the current schema,
//! every buffer goes back to the plugin.

use std::ffi::c_void;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use snnergy_core::error::ConfigError;
use snnergy_core::registry::Kind;

use crate::abi::{self, Buf, PluginV1, Status, StrRef, TableHeader};
use crate::wire;

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
    pub(crate) fn new(path: &Path, kind: PluginErrorKind, message: impl Into<String>) -> Self {
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
    pub(crate) path: PathBuf,
    pub(crate) table: PluginV1,
    pub(crate) header: TableHeader,
    pub(crate) sdk_version: String,
    pub(crate) rustc_version: String,
    pub(crate) description: wire::Describe,
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
pub(crate) struct Handle(pub(crate) *mut c_void);
// SAFETY: see above; the pointer is only passed back to the plugin that made it.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

/// A failed call: status and the plugin's message.
pub(crate) struct CallError {
    pub(crate) panicked: bool,
    pub(crate) need_network: bool,
    pub(crate) message: String,
    pub(crate) key: Option<String>,
}

impl CallError {
    pub(crate) fn describe(&self, what: &str) -> String {
        if self.panicked {
            format!("`{what}` panicked: {}", self.message)
        } else {
            format!("`{what}` failed: {}", self.message)
        }
    }

    pub(crate) fn kind(&self) -> PluginErrorKind {
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

    pub(crate) fn error(&self, kind: PluginErrorKind, message: impl Into<String>) -> PluginError {
        PluginError::new(&self.path, kind, message)
    }

    /// Runs one table function and returns its answer, always freeing the plugin's buffer.
    pub(crate) fn call(&self, f: impl FnOnce(*mut Buf) -> Status) -> Result<String, CallError> {
        call_table(&self.table, f)
    }

    pub(crate) fn create(
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

pub(crate) fn call_table(
    table: &PluginV1,
    f: impl FnOnce(*mut Buf) -> Status,
) -> Result<String, CallError> {
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

pub(crate) fn parse_answer<T: DeserializeOwned + wire::Versioned>(
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

pub(crate) fn kind_of(k: wire::ComponentKind) -> Kind {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
