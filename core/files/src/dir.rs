//! A report's folder, written as a set: staged beside the destination and exchanged with it.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::manifest::{MANIFEST, Manifest};
use crate::{FileError, stage, target, temp, written};

/// An advisory lock on a folder, held until dropped. Every snnergy writer of a folder takes
/// it, so runs sharing an output folder commit one after the other.
#[derive(Debug)]
pub(crate) struct Lock(#[allow(dead_code)] File);

pub(crate) fn lock(dir: &Path) -> Result<Lock, FileError> {
    let f = File::open(dir).map_err(|e| FileError::io(dir, "open the folder", e))?;
    f.lock()
        .map_err(|e| FileError::io(dir, "lock the folder", e))?;
    Ok(Lock(f))
}

/// `dest` as its components say it, without a trailing `/`: `out/` names the entry `out`
/// itself, so a link there is seen as a link.
pub(crate) fn plain(dest: &Path) -> PathBuf {
    dest.components().collect()
}

/// `dir` with the links of the folders above it resolved, if it is a folder. A folder
/// reached through a link of its own is refused: the link would send the report wherever it
/// points, which is not where the command said.
pub(crate) fn resolve_existing_dir(dir: &Path) -> Result<PathBuf, FileError> {
    let dir = &plain(dir);
    if let Ok(m) = std::fs::symlink_metadata(dir)
        && m.file_type().is_symlink()
    {
        let to = std::fs::read_link(dir)
            .map(|t| format!(" to `{}`", t.display()))
            .unwrap_or_default();
        return Err(FileError::new(
            dir,
            format!(
                "is a symbolic link{to}; snnergy writes into a folder only when it is named itself, never through a link: give the folder's own path"
            ),
        ));
    }
    let meta = std::fs::metadata(dir).map_err(|e| FileError::io(dir, "inspect it", e))?;
    if !meta.is_dir() {
        return Err(FileError::new(
            dir,
            format!(
                "is {}, not a folder; give a folder for the report",
                if meta.is_file() {
                    "a file"
                } else {
                    target::kind(&meta)
                }
            ),
        ));
    }
    std::fs::canonicalize(dir).map_err(|e| FileError::io(dir, "resolve the folder", e))
}

fn parent_and_name(dest: &Path) -> Result<(PathBuf, OsString), FileError> {
    let abs = if dest.is_absolute() {
        dest.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| FileError::io(dest, "find the current folder", e))?
            .join(dest)
    };
    let name = abs
        .file_name()
        .filter(|n| *n != "..")
        .ok_or_else(|| {
            FileError::new(
                dest,
                "names no folder snnergy can create (it ends in `..` or is a root)",
            )
        })?
        .to_os_string();
    let parent = abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    Ok((parent, name))
}

/// The files of one report, staged in a fresh folder beside the destination until
/// [`OutputDir::commit`] puts them all in place at once. Dropped uncommitted, the staging
/// folder is removed and the destination is untouched.
#[derive(Debug)]
pub struct OutputDir {
    dest: PathBuf,
    stage: PathBuf,
    /// The staging folder is inside the destination (its parent is not writable, say a
    /// mount point's): the files are then renamed in one by one.
    inside: bool,
    names: Vec<OsString>,
    /// Bytes staged.
    bytes: u64,
    committed: bool,
    /// The staging folder's lock, held while this process lives.
    _held: Option<File>,
}

impl OutputDir {
    /// Starts a report for the folder `dest` (created on commit if missing). Fails now if
    /// `dest` exists and is not a folder.
    pub fn create(dest: &Path) -> Result<Self, FileError> {
        let dest = plain(dest);
        let dest = match std::fs::symlink_metadata(&dest) {
            Ok(_) => resolve_existing_dir(&dest)?,
            Err(_) => dest,
        };
        let (parent, name) = parent_and_name(&dest)?;
        std::fs::create_dir_all(&parent)
            .map_err(|e| FileError::io(&parent, "create the folder", e))?;
        // What runs into this folder that were killed left behind goes first.
        stage::sweep(&parent);
        if dest.is_dir() {
            stage::sweep(&dest);
        }
        let mut stage_name = OsString::from(".");
        stage_name.push(&name);
        let stage = parent.join(temp::unique(stage::STAGE, &stage_name));
        let (stage, inside) = match std::fs::create_dir(&stage) {
            Ok(()) => (stage, false),
            Err(e) if dest.is_dir() => {
                let within = dest.join(temp::unique(stage::STAGE, &stage_name));
                std::fs::create_dir(&within).map_err(|_| {
                    FileError::io(&stage, "create a staging folder for the output", e)
                })?;
                (within, true)
            }
            Err(e) => {
                return Err(FileError::io(
                    &stage,
                    "create a staging folder beside the output",
                    e,
                ));
            }
        };
        let held = stage::hold(&stage);
        stage::register(&stage);
        Ok(Self {
            dest,
            stage,
            inside,
            names: Vec::new(),
            bytes: 0,
            committed: false,
            _held: held,
        })
    }

    /// The destination folder.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Stages the file `name` (a plain file name); returns the path it will have once
    /// committed.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf, FileError> {
        self.write_from(name, |w| w.write_all(bytes))
    }

    /// Stages the file `name` with what `fill` writes into it, so that a large file is
    /// written as it is made rather than held in memory first.
    pub fn write_from(
        &mut self,
        name: &str,
        fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<PathBuf, FileError> {
        let final_path = self.dest.join(name);
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains(['/', '\\', '\0'])
            || name == MANIFEST
        {
            return Err(FileError::new(
                &final_path,
                format!("`{name}` is not a plain file name snnergy may write"),
            ));
        }
        if self.names.iter().any(|n| n == name) {
            return Err(FileError::new(
                &final_path,
                format!("two outputs of one report are both named `{name}`"),
            ));
        }
        written::check(&final_path, false)?;
        let path = self.stage.join(name);
        let fail = |e| FileError::io(&final_path, "write it", e);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(fail)?;
        let mut w = Counted {
            inner: std::io::BufWriter::new(f),
            bytes: 0,
        };
        fill(&mut w).map_err(fail)?;
        w.flush().map_err(fail)?;
        self.bytes += w.bytes;
        self.names.push(name.into());
        Ok(final_path)
    }

    /// Bytes staged so far.
    pub fn staged_bytes(&self) -> u64 {
        self.bytes
    }

    /// Puts every staged file in place: the destination then holds this report's whole set
    /// (and, carried over, the other files it held). Returns the final paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, FileError> {
        self.flush()?;
        let (parent, _) = parent_and_name(&self.dest)?;
        let _parent_lock = lock(&parent)?;
        let paths: Vec<PathBuf> = self.names.iter().map(|n| self.dest.join(n)).collect();
        for p in &paths {
            written::check(p, false)?;
        }
        // The staging folder may become the destination: a lock kept on it would hold off
        // every later writer of the folder.
        self._held = None;
        self.put_in_place()?;
        self.committed = true;
        stage::unregister(&self.stage);
        for p in &paths {
            written::record(p, false);
        }
        Ok(paths)
    }

    /// The commit's moves: a new folder renamed into place, or an existing one exchanged or
    /// written in place. The moves themselves hold off a signal's cleanup
    /// ([`stage::committing`]); waiting for another writer's lock does not.
    fn put_in_place(&mut self) -> Result<(), FileError> {
        if std::fs::symlink_metadata(&self.dest).is_err() {
            let mut manifest = Manifest::default();
            for n in &self.names {
                manifest.insert(n);
            }
            manifest.write(&self.stage)?;
            let renamed = {
                let _commit = stage::committing();
                std::fs::rename(&self.stage, &self.dest).is_ok()
            };
            if renamed {
                return Ok(());
            }
            // Someone else made the folder meanwhile: go on as for an existing one.
            let _ = std::fs::remove_file(self.stage.join(MANIFEST));
        }
        let dest = resolve_existing_dir(&self.dest)?;
        let _lock = lock(&dest)?;
        let manifest = Manifest::read(&dest)?;
        for n in &self.names {
            target::check(&dest, n, &manifest, false)?;
        }
        let _commit = stage::committing();
        if !self.exchange(&dest, &manifest)? {
            self.in_place(&dest, manifest)?;
        }
        Ok(())
    }

    /// Flushes every staged file to the disk before anything is replaced: a full disk fails
    /// here. The flushes run side by side, so the file system commits them together rather
    /// than one journal commit per file.
    fn flush(&self) -> Result<(), FileError> {
        let results: Vec<Result<(), FileError>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .names
                .iter()
                .map(|n| {
                    let path = self.stage.join(n);
                    let shown = self.dest.join(n);
                    s.spawn(move || {
                        std::fs::File::open(&path)
                            .and_then(|f| f.sync_all())
                            .map_err(|e| FileError::io(&shown, "write it", e))
                    })
                })
                .collect();
            handles
                .into_iter()
                // A flush that did not finish is not a flushed file: the set is not committed.
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(FileError::new(
                            &self.dest,
                            "cannot write it: flushing a file to the disk failed".to_string(),
                        ))
                    })
                })
                .collect()
        });
        results.into_iter().collect()
    }

    /// Carries `dest`'s other files into the staging folder as hard links and exchanges the
    /// two folders in one rename; false (nothing changed) where that cannot be done.
    fn exchange(&self, dest: &Path, old: &Manifest) -> Result<bool, FileError> {
        if self.inside || !exchange_supported() || is_current_or_ancestor(dest) {
            return Ok(false);
        }
        let Ok(entries) = std::fs::read_dir(dest) else {
            return Ok(false);
        };
        let mut carried: Vec<OsString> = Vec::new();
        let undo = |carried: &[OsString]| {
            for n in carried {
                let _ = std::fs::remove_file(self.stage.join(n));
            }
        };
        for entry in entries {
            let Ok(entry) = entry else {
                undo(&carried);
                return Ok(false);
            };
            let name = entry.file_name();
            if name == MANIFEST || self.names.contains(&name) {
                continue;
            }
            let is_file_or_link = entry
                .file_type()
                .map(|t| t.is_file() || t.is_symlink())
                .unwrap_or(false);
            // Folders cannot be hard-linked: such a destination is a project folder, written
            // in place.
            if !is_file_or_link || std::fs::hard_link(entry.path(), self.stage.join(&name)).is_err()
            {
                undo(&carried);
                return Ok(false);
            }
            carried.push(name);
        }
        let mut manifest = Manifest::default();
        for n in &carried {
            if old.contains(&n.to_string_lossy()) {
                manifest.insert(n);
            }
        }
        for n in &self.names {
            manifest.insert(n);
        }
        manifest.write(&self.stage)?;
        if !rename_exchange(&self.stage, dest) {
            undo(&carried);
            let _ = std::fs::remove_file(self.stage.join(MANIFEST));
            return Ok(false);
        }
        // The staging path now holds the previous folder: every file of it is linked into the
        // new one or replaced by it. A file that appeared there after the links were made
        // (another program's) is moved over rather than lost.
        let mut keep_old = false;
        if let Ok(entries) = std::fs::read_dir(&self.stage) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name == MANIFEST || self.names.contains(&name) || carried.contains(&name) {
                    continue;
                }
                if std::fs::symlink_metadata(dest.join(&name)).is_ok()
                    || std::fs::rename(entry.path(), dest.join(&name)).is_err()
                {
                    keep_old = true;
                }
            }
        }
        if !keep_old {
            let _ = std::fs::remove_dir_all(&self.stage);
        } else {
            // Under a name no sweep removes: it holds a file snnergy did not write.
            let (parent, name) = parent_and_name(dest)?;
            let mut kept = OsString::from(".");
            kept.push(&name);
            let _ = std::fs::rename(
                &self.stage,
                parent.join(temp::unique("snnergy-previous", &kept)),
            );
        }
        Ok(true)
    }

    /// Renames the staged files into `dest` one by one (each atomically), then the manifest.
    fn in_place(&self, dest: &Path, mut manifest: Manifest) -> Result<(), FileError> {
        for n in &self.names {
            std::fs::rename(self.stage.join(n), dest.join(n))
                .map_err(|e| FileError::io(&dest.join(n), "move the new file into place", e))?;
            manifest.insert(n);
        }
        manifest.write(dest)?;
        let _ = std::fs::remove_dir_all(&self.stage);
        Ok(())
    }
}

/// A writer that counts what passes through it.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.stage);
            stage::unregister(&self.stage);
        }
    }
}

fn is_current_or_ancestor(dir: &Path) -> bool {
    std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map(|cwd| cwd.starts_with(dir))
        .unwrap_or(true)
}

#[cfg(target_os = "linux")]
fn exchange_supported() -> bool {
    true
}

#[cfg(not(target_os = "linux"))]
fn exchange_supported() -> bool {
    false
}

#[cfg(target_os = "linux")]
fn rename_exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let (Ok(a), Ok(b)) = (
        std::ffi::CString::new(a.as_os_str().as_bytes()),
        std::ffi::CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

#[cfg(not(target_os = "linux"))]
fn rename_exchange(_: &Path, _: &Path) -> bool {
    false
}
