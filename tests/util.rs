//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use snnergy::analysis::Pipeline;
use snnergy::core::{Error, Registry, Report};

pub fn registry() -> Registry {
    snnergy::registry().expect("built-ins register without conflicts")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds and runs a pipeline written in a test, as if it were the file `dir/name`.
pub fn run_toml(text: &str, dir: &Path, name: &str) -> Result<Report, Error> {
    let file = dir.join(name);
    Pipeline::from_toml(text, Some(&file), &registry())?.run()
}

/// A fresh folder under the target directory for files a test writes.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A shipped pipeline, with fewer time steps and sweep points so tests stay fast.
pub fn shipped(name: &str, timesteps: &[u32], sweep_points: u32) -> Pipeline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name);
    let registry = snnergy::registry().unwrap();
    let mut p = Pipeline::from_file(&path, &registry).unwrap();
    p.settings.timesteps = timesteps.to_vec();
    p.settings.sweep_points = sweep_points;
    if p.settings
        .headline_timesteps
        .is_some_and(|h| !timesteps.contains(&h))
    {
        p.settings.headline_timesteps = None;
    }
    p
}

/// A fresh folder under the system's temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnergy-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
