//! Staging folders and temporary files never outlive their run: each is locked by the
//! process that made it, removed when the run ends or is stopped by a signal
//! ([`remove_on_signals`]), and a later writer of the same folder removes those whose
//! process is gone (killed by SIGKILL, a power cut).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Prefix of a report's staging folder (followed by the process id, a counter and the name).
pub(crate) const STAGE: &str = "snnergy-stage";
/// Prefix of a file's temporary copy.
pub(crate) const TMP: &str = "snnergy-tmp";

/// The staging folders and temporary files of this process not yet committed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Held by a commit while it moves files into place and by a signal's cleanup, so the
/// cleanup never removes a staging folder half-way through its exchange.
static COMMIT: Mutex<()> = Mutex::new(());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Taken by a commit for as long as it moves files into place.
pub(crate) fn committing() -> MutexGuard<'static, ()> {
    COMMIT.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn register(p: &Path) {
    live().push(p.to_path_buf());
}

pub(crate) fn unregister(p: &Path) {
    live().retain(|x| x != p);
}

/// Takes an advisory lock on a fresh temporary (a folder or a file): held while the process
/// lives, it tells [`sweep`] that the temporary is in use whatever its name says.
pub(crate) fn hold(p: &Path) -> Option<File> {
    let f = File::open(p).ok()?;
    f.try_lock().ok()?;
    Some(f)
}

/// The process id a temporary's name carries (`.snnergy-stage-<pid>-<n>-…`).
fn owner(name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(STAGE).or_else(|| n.strip_prefix(TMP)))?
        .strip_prefix('-')?;
    rest.split('-').next()?.parse().ok()
}

#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(target_os = "linux"))]
fn alive(_: u32) -> bool {
    // Without a way to ask, only the lock decides.
    false
}

/// Removes the staging folders and temporary files in `dir` left by processes that are gone:
/// their process does not exist and nobody holds their lock.
pub(crate) fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = owner(&name.to_string_lossy()) else {
            continue;
        };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        // A temporary whose lock someone holds is in use (a process of another machine
        // sharing the folder, whose ids mean nothing here).
        let Some(_held) = hold(&path) else {
            continue;
        };
        let removed = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(e) => Err(e),
        };
        if removed.is_ok() {
            tracing::info!(
                "removed {}, left by an earlier run that was stopped",
                path.display()
            );
        }
    }
}

/// Removes every live temporary (the cleanup of a signal, or of an ending process).
fn remove_live(list: &mut Vec<PathBuf>) {
    for p in list.drain(..) {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&p);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&p);
            }
            Err(_) => {}
        }
    }
}

/// Makes SIGTERM, SIGINT and SIGHUP remove this process's staging folders and temporary
/// files before it ends (with the signal, as it would have). Call it first thing in `main`,
/// before any thread starts: the signals are blocked in every thread and taken by one thread
/// that waits for them. A process embedding snnergy (Python) keeps its own signal handling
/// and does not call it.
#[cfg(target_os = "linux")]
pub fn remove_on_signals() {
    // SAFETY: plain calls on a local, initialised signal set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        set
    };
    let spawned = std::thread::Builder::new()
        .name("snnergy-signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is a valid signal set blocked in this thread.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            // Held to the end: no commit moves a file after the cleanup.
            let _commit = committing();
            remove_live(&mut live());
            // SAFETY: restores the default action and delivers the signal to this thread,
            // which ends the process as the signal would have.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                let mut one: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut one);
                libc::sigaddset(&mut one, sig);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
                libc::raise(sig);
            }
            std::process::exit(128 + sig);
        });
    if spawned.is_err() {
        // No thread to take them: let the signals act as before.
        // SAFETY: unblocks what was blocked above.
        unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

/// Elsewhere the signals keep their default action; a later run still sweeps the leftovers.
#[cfg(not(target_os = "linux"))]
pub fn remove_on_signals() {}
