//! Finding, loading and validating plugin libraries, and forwarding their logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::abi::{self, HostV1, PluginV1, StrRef, TableHeader};
use crate::library::{
    Library, PluginError, PluginErrorKind, call_table, json_to_toml_table, kind_of, parse_answer,
};
use crate::wire;

/// Environment variable listing plugin libraries to load at start-up: entries separated like
/// `PATH` (`:` on Unix, `;` on Windows); an entry that is a directory contributes every file
/// in it (not recursively) whose name ends in the platform's library suffix (`.so`, `.dylib`,
/// `.dll`), in name order; an entry that is a file is loaded as it is. An entry that does not
/// exist is an error.
pub const SEARCH_PATH_VAR: &str = "SNNERGY_PLUGIN_PATH";

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
    snnergy_files::record_input(path);
    crate::validate::check_library(path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
