//! Helpers for testing a plugin from its own crate or workspace.
//!
//! `cargo test` builds the libraries tests link against, but not the `cdylib` of another
//! package (nor, for an integration test, of its own), so a test that loads a plugin from disk
//! builds it first with [`build_libraries`]: it runs `cargo build` for the named packages
//! into the very target folder and profile of the running test, so nothing is compiled twice
//! and the library is current.

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

/// Builds the `cdylib`s of `packages` (one `cargo build` for all of them) in the running
/// test's target folder and profile, from the current directory's workspace, and returns
/// their paths in the same order.
pub fn build_libraries(packages: &[&str]) -> Result<Vec<PathBuf>, String> {
    let (target, profile) = target_and_profile()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build").arg("--target-dir").arg(&target);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    for p in packages {
        cmd.args(["-p", p]);
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
