//! The files this process has read: outputs must never replace one of them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::FileError;

/// A file the run read, by identity: the same file under another path or a hard link is
/// still recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The path it was read under.
    pub path: PathBuf,
    /// The path with links and `..` resolved.
    pub canonical: PathBuf,
    /// Device and inode (0, 0 where the system has none).
    pub id: (u64, u64),
}

static INPUTS: Mutex<Vec<Input>> = Mutex::new(Vec::new());
static PROTECT: AtomicBool = AtomicBool::new(false);

/// Turns on (or off) the recording of inputs, and so their protection from outputs, for the
/// rest of the process. A command is one run and turns it on at its start; an embedding that
/// runs many analyses or trainings in one process, each free to rewrite what an earlier one
/// read, leaves it off (the other checks stay) or turns it on for a run and [`forget_inputs`]
/// after it.
pub fn protect_inputs(on: bool) {
    PROTECT.store(on, Ordering::SeqCst);
}

/// Forgets every input recorded so far, and the outputs written (the end of a run in a
/// long-lived process).
pub fn forget_inputs() {
    inputs_lock().clear();
    crate::written::forget();
}

fn inputs_lock() -> MutexGuard<'static, Vec<Input>> {
    // A panic elsewhere while holding the lock leaves the list valid: keep using it.
    INPUTS.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(unix)]
pub(crate) fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
pub(crate) fn file_id(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn remember(path: &Path, meta: &std::fs::Metadata) {
    if !PROTECT.load(Ordering::SeqCst) {
        return;
    }
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let input = Input {
        path: path.to_path_buf(),
        canonical,
        id: file_id(meta),
    };
    let mut list = inputs_lock();
    if !list.contains(&input) {
        list.push(input);
    }
}

/// Records `path` as an input of this run (for files opened by other means: a plugin
/// library, a memory-mapped file). A path that does not exist is ignored.
pub fn record_input(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        remember(path, &meta);
    }
}

/// Every input recorded so far.
pub fn inputs() -> Vec<Input> {
    inputs_lock().clone()
}

/// The recorded input that is the same file as `meta` (at `canonical`), if any.
pub(crate) fn find(canonical: &Path, meta: &std::fs::Metadata) -> Option<Input> {
    let id = file_id(meta);
    inputs_lock()
        .iter()
        .find(|i| (id != (0, 0) && i.id == id) || i.canonical == canonical)
        .cloned()
}

/// Opens `path` for reading and records it as an input. Only regular files are opened: a
/// FIFO or a device would block or never end.
pub fn open(path: &Path) -> Result<File, FileError> {
    // Checked before opening too: opening a FIFO blocks until something writes to it.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        return Err(FileError::new(
            path,
            "is not a regular file (a device, FIFO or socket); give a file",
        ));
    }
    let file = File::open(path).map_err(|e| FileError::io(path, "read it", e))?;
    let meta = file
        .metadata()
        .map_err(|e| FileError::io(path, "read it", e))?;
    if meta.is_dir() {
        return Err(FileError::new(path, "is a folder, not a file"));
    }
    if !meta.is_file() {
        return Err(FileError::new(
            path,
            "is not a regular file (a device, FIFO or socket); give a file",
        ));
    }
    remember(path, &meta);
    Ok(file)
}

/// Reads the whole of `path`, recording it as an input.
pub fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    use std::io::Read as _;
    let mut file = open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| FileError::io(path, "read it", e))?;
    Ok(bytes)
}

/// Reads `path` as UTF-8 text, recording it as an input.
pub fn read_to_string(path: &Path) -> Result<String, FileError> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        FileError::new(
            path,
            format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}
