//! Helpers for testing a plugin from its own crate or workspace.
//!
//! `cargo test` builds the libraries tests link against, but not the `cdylib` of another
//! package (nor, for an integration test, of its own), so a test that loads a plugin from disk
//! builds it first with [`build_libraries`]: it runs `cargo build --workspace --all-targets`
//! into the very target folder and profile of the running test. Building every target of the
//! workspace resolves dependency features exactly as `cargo test --workspace` did, so the
//! dependencies it compiled are reused and only the shared libraries are linked; building
//! just the plugin packages would resolve features differently and compile the dependencies
//! a second time.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target folder and the profile of the running test executable
/// (`<target>/<profile>/deps/<test>`).
fn target_and_profile() -> Result<(PathBuf, String), String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the test executable: {e}"))?;
    let deps = exe.parent().ok_or("the test executable has no folder")?;
    let profile_dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().ok_or("the deps folder has no parent")?
    } else {
        deps
    };
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("unreadable profile folder")?
        .to_string();
    let target = profile_dir
        .parent()
        .ok_or("the profile folder has no parent")?;
    Ok((target.to_path_buf(), profile))
}

/// Path of the shared library package `package` builds in `target`/`profile`.
pub fn library_path(target: &Path, profile: &str, package: &str) -> PathBuf {
    target.join(profile).join(format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    ))
}

/// Builds the workspace of the running test (current directory, or `CARGO_MANIFEST_DIR`) in
/// its target folder and profile, and returns the shared libraries of `packages` in the same
/// order; an error if one of them produced none.
pub fn build_libraries(packages: &[&str]) -> Result<Vec<PathBuf>, String> {
    let (target, profile) = target_and_profile()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--workspace", "--all-targets", "--target-dir"])
        .arg(&target);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        cmd.current_dir(dir);
    }
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run cargo to build {packages:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build of {packages:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    packages
        .iter()
        .map(|p| {
            let path = library_path(&target, &profile, p);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "cargo built {p} but {} does not exist: is its crate-type \"cdylib\"?",
                    path.display()
                ))
            }
        })
        .collect()
}
