//! Temporary files beside a destination: unique names, written and flushed before the
//! rename that puts them in place.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::FileError;

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
