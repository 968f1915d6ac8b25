//! The outputs this run has written: two outputs of one command never share a path, so one
//! never silently replaces the other (saved weights then a profile at the same path, a
//! checkpoint inside the report folder).

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::FileError;

static ON: AtomicBool = AtomicBool::new(false);
/// Paths written, and whether the write said it repeats (a checkpoint advanced every epoch).
static WRITTEN: Mutex<Vec<(PathBuf, bool)>> = Mutex::new(Vec::new());

fn written() -> MutexGuard<'static, Vec<(PathBuf, bool)>> {
    WRITTEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes this process one run (what a command is): its inputs are protected from its outputs
/// ([`crate::protect_inputs`]) and two of its outputs may not share a path. A long-lived
/// embedding that writes the same report again leaves it off.
pub fn one_run(on: bool) {
    crate::protect_inputs(on);
    ON.store(on, Ordering::SeqCst);
}

/// Forgets the outputs written so far (with [`crate::forget_inputs`], the end of a run).
pub(crate) fn forget() {
    written().clear();
}

/// `path` made absolute with `.` and `..` taken out and its folder's links resolved (when the
/// folder exists), so two spellings of one destination compare equal. The last component is
/// kept as given: a link there is refused by the output checks anyway.
pub fn resolve(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    match (clean.parent(), clean.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(clean),
        _ => clean,
    }
}

/// Refuses `path` if this run already wrote it as another output; `repeats` writes (the same
/// output advanced, a checkpoint per epoch) may follow each other.
pub(crate) fn check(path: &Path, repeats: bool) -> Result<(), FileError> {
    if !ON.load(Ordering::SeqCst) {
        return Ok(());
    }
    let p = resolve(path);
    if let Some((_, earlier)) = written().iter().find(|(w, _)| *w == p)
        && !(repeats && *earlier)
    {
        return Err(FileError::new(
            path,
            "was already written by this run as another of its outputs; two outputs of one command may not share a path: give each its own",
        ));
    }
    Ok(())
}

/// Records `path` as written by this run.
pub(crate) fn record(path: &Path, repeats: bool) {
    if !ON.load(Ordering::SeqCst) {
        return;
    }
    let p = resolve(path);
    let mut list = written();
    if !list.iter().any(|(w, _)| *w == p) {
        list.push((p, repeats));
    }
}

/// Checks, before any work, that the outputs a command was given (label, path: `--out`,
/// `--save-weights`, a report folder's files) are distinct files: two that resolve to one
/// path are refused, naming both.
pub fn check_distinct(outputs: &[(&str, &Path)]) -> Result<(), FileError> {
    let resolved: Vec<PathBuf> = outputs.iter().map(|(_, p)| resolve(p)).collect();
    for (i, a) in resolved.iter().enumerate() {
        if let Some(j) = resolved[..i].iter().position(|b| b == a) {
            return Err(FileError::new(
                outputs[i].1,
                format!(
                    "is both {} and {}: two outputs of one command may not share a path; give each its own",
                    outputs[j].0, outputs[i].0
                ),
            ));
        }
    }
    Ok(())
}
