//! Mutation fuzzing of every reader of user files, on stable Rust.
//!
//! cargo-fuzz and bolero's coverage-guided engines need a nightly compiler; this harness
//! needs none. Each target starts from a seed corpus (the shipped files, and small files
//! made here), mutates inputs (bit flips, interesting integers, dictionary tokens, splices,
//! insertions, deletions) and keeps an input when it ends in an outcome not seen before (a
//! new error message, numbers blanked): a cheap stand-in for coverage that steers towards
//! new error paths. A target fails on a panic (caught here) or a signal (seen by the
//! driver, which runs each target in a child process with a memory limit, so an allocation
//! the size of a header's claim aborts instead of swapping).
//!
//! Found crashes are kept in `crashes/<target>/` and replayed by `tests/regressions.rs`, with
//! the seeds, on every test run.

pub mod mutate;
pub mod targets;

use std::path::{Path, PathBuf};

/// What one execution ended in: `Ok`, or the error message.
pub type Outcome = Result<(), String>;

/// A fuzz target.
#[derive(Debug)]
pub struct Target {
    /// Name, used for folders and the command line.
    pub name: &'static str,
    /// Extension of the file the input is written to (the readers go by it).
    pub ext: &'static str,
    /// Largest input the mutator makes.
    pub max_len: usize,
    /// Tokens the mutator inserts.
    pub dict: &'static [&'static str],
    /// The seed corpus.
    pub seeds: fn(&Path) -> Vec<Vec<u8>>,
    /// Runs the input, which is also in the file passed (for readers that take paths).
    pub run: fn(&[u8], &Path) -> Outcome,
}

/// The crate's folder: seeds and crashes live there.
pub fn home() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's root: shipped files are seeds.
pub fn repo() -> PathBuf {
    home().join("../..")
}

/// Where input files go: memory (tmpfs) where the system has it, since rewriting a file
/// thousands of times a second on a disk file system waits for the disk.
pub fn scratch_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A private folder for a target's input files.
pub fn scratch(target: &str) -> PathBuf {
    let dir = scratch_root().join(format!("snnergy-fuzz-{}-{target}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    targets::ALL.iter().find(|t| t.name == name)
}

/// Runs `input` through `target` as the driver does: written to the target's input file,
/// then run with panics caught. `Err` carries a panic's message.
pub fn execute(target: &Target, input: &[u8], file: &Path) -> Result<Outcome, String> {
    std::fs::write(file, input).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (target.run)(input, file))).map_err(
        |p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".into())
        },
    )
}

/// The inputs kept for `target`: its seeds, the saved corpus and the crashes found.
pub fn saved_inputs(target: &Target, scratch: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = (target.seeds)(scratch)
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("seed #{i}"), s))
        .collect();
    for dir in [
        home().join("seeds").join(target.name),
        home().join("crashes").join(target.name),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if let Ok(bytes) = std::fs::read(&f) {
                out.push((f.display().to_string(), bytes));
            }
        }
    }
    out
}
