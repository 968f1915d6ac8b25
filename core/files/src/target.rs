//! Whether a destination may be replaced, and the temporary files that replace it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

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
