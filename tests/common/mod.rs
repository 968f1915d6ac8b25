//! Helpers shared by the integration tests.
// Each test binary uses a subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use snnergy::core::Pipeline;

/// A shipped pipeline, with fewer time steps and sweep points so tests stay fast.
pub fn shipped(name: &str, timesteps: &[u32], sweep_points: u32) -> Pipeline {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name);
    let registry = snnergy::registry().unwrap();
    let mut p = Pipeline::from_file(&path, &registry).unwrap();
    p.settings.timesteps = timesteps.to_vec();
    p.settings.sweep_points = sweep_points;
    p
}

/// A fresh folder under the system's temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnergy-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
