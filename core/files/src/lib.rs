//! How snnergy touches the file system, so that no run ever destroys a file it was not asked
//! to replace:
//!
//! - every file a run reads goes through [`read`] (or is announced with [`record_input`]), so
//!   the run knows its inputs by device and inode, whatever path or link names them;
//! - every file it writes goes through [`write`] (one file) or an [`OutputDir`] (a report's
//!   set of files). Both refuse a destination that is not a regular file (`/dev/null`, a
//!   folder, a FIFO, a symbolic link), that is an input of the same run, or that exists
//!   without snnergy having written it (unless [`set_overwrite`] was given, i.e. `--force` or
//!   `overwrite = true`);
//! - a file is written to a temporary file in the destination's folder, flushed to the disk
//!   (a full disk fails here, before anything is replaced) and renamed over the destination,
//!   so a reader or a killed run sees the old file or the new one, never a part;
//! - a folder's `.snnergy-manifest.json` lists the files snnergy wrote there: those a later
//!   run may replace;
//! - a report's files are written into a fresh folder beside the destination and exchanged
//!   with it in one rename (Linux `renameat2(RENAME_EXCHANGE)`), so the folder always holds
//!   one run's whole set; other files in it are carried over as hard links. Where that is not
//!   possible (another system, or a destination holding sub-folders, such as a project
//!   folder) the files are renamed into place one by one, each still atomic.
//!
//! Writers of one folder take an advisory lock on it (`flock`), so two runs never interleave
//! their files or their manifest updates. Staging folders and temporary files are locked by
//! the process that made them and removed when it ends, is stopped by a signal
//! ([`remove_on_signals`]) or, if it was killed outright, by the next writer of the folder.
//!
//! The set of inputs, the outputs written and the overwrite switch are per process: one
//! command is one run ([`one_run`]: inputs protected, no two outputs at one path); a
//! long-lived embedding decides for itself (see [`protect_inputs`]).

mod dir;
mod inputs;
mod manifest;
mod stage;
mod target;
mod temp;
mod written;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use dir::OutputDir;
pub use inputs::{
    Input, forget_inputs, inputs, open, protect_inputs, read, read_to_string, record_input,
};
pub use manifest::MANIFEST;
pub use stage::remove_on_signals;
pub use written::{check_distinct, one_run, resolve};

/// A file that could not be read or written, or that may not be replaced.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl FileError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: &Path, what: &str, e: std::io::Error) -> Self {
        Self::new(path, format!("cannot {what}: {e}"))
    }
}

static OVERWRITE: AtomicBool = AtomicBool::new(false);

/// Allows outputs to replace existing regular files that snnergy did not write (`--force`,
/// `overwrite = true`). Inputs of the run and non-regular files stay protected.
pub fn set_overwrite(on: bool) {
    OVERWRITE.store(on, Ordering::SeqCst);
}

/// Whether outputs may replace files snnergy did not write.
pub fn overwrite() -> bool {
    OVERWRITE.load(Ordering::SeqCst)
}

/// How [`write_with`] may treat an existing destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The destination may be an input of this run: a training checkpoint that the run
    /// resumed from and now advances.
    pub replaces_input: bool,
    /// The destination may be one this run already wrote with `repeats`: the same output
    /// advanced (a checkpoint saved after every epoch), not a second output at its path.
    pub repeats: bool,
}

/// Writes `bytes` to `path` atomically, after the checks of the crate docs; creates missing
/// parent folders and records the file in its folder's manifest.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_with(path, bytes, WriteOptions::default())
}

/// [`write`], with options.
pub fn write_with(path: &Path, bytes: &[u8], options: WriteOptions) -> Result<(), FileError> {
    let (dir, name) = target::split(path)?;
    written::check(path, options.repeats)?;
    std::fs::create_dir_all(&dir).map_err(|e| FileError::io(&dir, "create the folder", e))?;
    let _lock = dir::lock(&dir)?;
    stage::sweep(&dir);
    let mut manifest = manifest::Manifest::read(&dir)?;
    target::check(&dir, &name, &manifest, options.replaces_input)?;
    let tmp = temp::temp_file(&dir, &name, bytes)?;
    if let Err(e) = std::fs::rename(&tmp.path, dir.join(&name)) {
        let _ = std::fs::remove_file(&tmp.path);
        return Err(FileError::io(path, "move the new file into place", e));
    }
    drop(tmp);
    written::record(path, options.repeats);
    if manifest.insert(&name) {
        manifest.write(&dir)?;
    }
    Ok(())
}

/// Checks, without writing, that `path` may receive an output: a check made before long
/// work starts (training), so a bad destination fails at once.
pub fn check_writable(path: &Path, options: WriteOptions) -> Result<(), FileError> {
    let (dir, name) = target::split(path)?;
    written::check(path, options.repeats)?;
    if !dir.exists() {
        return Ok(());
    }
    let manifest = manifest::Manifest::read(&dir)?;
    target::check(&dir, &name, &manifest, options.replaces_input)
}

/// Checks that a report's folder `dir` may receive the outputs named `names`: the same
/// checks as the commit of an [`OutputDir`], made before the work starts.
pub fn check_output_dir(dir: &Path, names: &[&str]) -> Result<(), FileError> {
    let dir = dir::plain(dir);
    for name in names {
        written::check(&dir.join(name), false)?;
    }
    match std::fs::symlink_metadata(&dir) {
        Err(_) => Ok(()),
        Ok(_) => {
            let dir = dir::resolve_existing_dir(&dir)?;
            let manifest = manifest::Manifest::read(&dir)?;
            for name in names {
                target::check(&dir, std::ffi::OsStr::new(name), &manifest, false)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
