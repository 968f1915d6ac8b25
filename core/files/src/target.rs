//! Whether a destination may be replaced, and the temporary files that replace it.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::FileError;
use crate::manifest::{MANIFEST, Manifest};

/// The folder (made absolute) and file name of an output path.
pub(crate) fn split(path: &Path) -> Result<(PathBuf, OsString), FileError> {
    let name = path
        .file_name()
        .ok_or_else(|| FileError::new(path, "names no file (it ends in `..` or `/`)"))?;
    if name == MANIFEST {
        return Err(FileError::new(
            path,
            "is the name snnergy keeps its list of written files under; choose another",
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_os_string()))
}

/// What kind of non-regular file `meta` describes, for messages.
pub(crate) fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Checks that `dir/name` may receive an output.
pub(crate) fn check(
    dir: &Path,
    name: &OsStr,
    manifest: &Manifest,
    replaces_input: bool,
) -> Result<(), FileError> {
    let path = dir.join(name);
    let meta = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FileError::io(&path, "inspect it", e)),
        Ok(m) => m,
    };
    if !meta.is_file() {
        return Err(FileError::new(
            &path,
            format!(
                "is {}; snnergy writes only regular files and never replaces anything else",
                kind(&meta)
            ),
        ));
    }
    let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if let Some(input) = crate::inputs::find(&canonical, &meta)
        && !replaces_input
    {
        return Err(FileError::new(
            &path,
            format!(
                "is an input of this run (read as {}); an output may not replace it: choose another path",
                input.path.display()
            ),
        ));
    }
    if !crate::overwrite() && !manifest.contains(&name.to_string_lossy()) && !replaces_input {
        return Err(FileError::new(
            &path,
            "exists and was not written by snnergy; move it away, choose another output, or replace it with --force (`overwrite = true` in [analysis])",
        ));
    }
    Ok(())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other writer uses: this process's id and a counter.
pub(crate) fn unique(prefix: &str, name: &OsStr) -> OsString {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut s = OsString::from(format!(".{prefix}-{}-{n}-", std::process::id()));
    s.push(name);
    s
}

/// A temporary file beside its destination, locked and known to the signal cleanup until it
/// is dropped (after it was renamed into place, or removed).
#[derive(Debug)]
pub(crate) struct Temp {
    pub(crate) path: PathBuf,
    _held: std::fs::File,
}

impl Drop for Temp {
    fn drop(&mut self) {
        crate::stage::unregister(&self.path);
    }
}

/// Writes `bytes` to a new temporary file in `dir` and flushes it to the disk, so a full disk
/// fails here, not after the rename; the caller renames it into place.
pub(crate) fn temp_file(dir: &Path, name: &OsStr, bytes: &[u8]) -> Result<Temp, FileError> {
    let tmp = dir.join(unique(crate::stage::TMP, name));
    let fail = |what: &str, e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        FileError::io(&dir.join(name), what, e)
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| FileError::io(&dir.join(name), "create a temporary file beside it", e))?;
    // Locked while this process lives: a later writer's sweep leaves it alone until then.
    let _ = f.try_lock();
    let held = f.try_clone().map_err(|e| fail("write it", e))?;
    crate::stage::register(&tmp);
    let temp = Temp {
        path: tmp.clone(),
        _held: held,
    };
    f.write_all(bytes).map_err(|e| fail("write it", e))?;
    f.sync_all().map_err(|e| fail("write it", e))?;
    Ok(temp)
}
