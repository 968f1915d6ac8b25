//! The README's parameter tables are what `snnergy describe --markdown` generates from the
//! configuration types. A block
//!
//! ```text
//! <!-- parameters: classical spatial -->
//! …
//! <!-- /parameters -->
//! ```
//!
//! holds the tables of the components it names; `SNNERGY_BLESS=1` rewrites the blocks. A block
//! `<!-- terminal: PIPELINE/terminal-80.txt -->` … `<!-- /terminal -->` holds what a shipped
//! pipeline prints, as its golden copy under `tests/golden/` keeps it (bless the goldens
//! first). The README's `snnergy` commands and its pipeline example run as printed.

use std::path::Path;
use std::process::Command;

const OPEN: &str = "<!-- parameters: ";
const CLOSE: &str = "<!-- /parameters -->";

fn generated(names: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["describe", "--markdown"])
        .args(names)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_readme_parameter_tables_are_generated_from_the_configuration_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rebuilt = String::new();
    let mut rest = text.as_str();
    let mut blocks = 0;
    while let Some(i) = rest.find(OPEN) {
        let header_end = i + rest[i..].find("-->").unwrap() + 3;
        let names: Vec<&str> = rest[i + OPEN.len()..header_end - 3]
            .split_whitespace()
            .collect();
        let close = header_end + rest[header_end..].find(CLOSE).unwrap();
        let want = format!("\n{}", generated(&names));
        let have = &rest[header_end..close];
        if std::env::var_os("SNNERGY_BLESS").is_none() {
            assert_eq!(
                have, want,
                "README block for {names:?} is stale (SNNERGY_BLESS=1 rewrites it)"
            );
        }
        rebuilt.push_str(&rest[..header_end]);
        rebuilt.push_str(&want);
        rest = &rest[close..];
        blocks += 1;
    }
    rebuilt.push_str(rest);
    assert!(blocks > 0, "the README has no generated parameter tables");
    if std::env::var_os("SNNERGY_BLESS").is_some() {
        std::fs::write(&path, rebuilt).unwrap();
    }
}

#[test]
fn the_readme_example_output_is_what_the_main_job_prints() {
    const OPEN: &str = "<!-- terminal: ";
    const CLOSE: &str = "<!-- /terminal -->";
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rebuilt = String::new();
    let mut rest = text.as_str();
    let mut blocks = 0;
    while let Some(i) = rest.find(OPEN) {
        let header_end = i + rest[i..].find("-->").unwrap() + 3;
        let file = rest[i + OPEN.len()..header_end - 3].trim();
        let golden = std::fs::read_to_string(root.join("tests/golden").join(file))
            .unwrap_or_else(|e| panic!("README names tests/golden/{file}: {e}"));
        let close = header_end + rest[header_end..].find(CLOSE).unwrap();
        let want = format!("\n```text\n{golden}```\n");
        let have = &rest[header_end..close];
        if std::env::var_os("SNNERGY_BLESS").is_none() {
            assert_eq!(
                have, want,
                "README block of {file} is stale (SNNERGY_BLESS=1 rewrites it)"
            );
        }
        rebuilt.push_str(&rest[..header_end]);
        rebuilt.push_str(&want);
        rest = &rest[close..];
        blocks += 1;
    }
    rebuilt.push_str(rest);
    assert!(blocks > 0, "the README shows no terminal output");
    if std::env::var_os("SNNERGY_BLESS").is_some() {
        std::fs::write(&path, rebuilt).unwrap();
    }
}

/// The shell lines of the README's `sh` blocks, continuations joined and comments dropped.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        let code = code.trim();
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(code);
        if !pending.is_empty() {
            out.push(std::mem::take(&mut pending));
        }
    }
    out
}

/// Every `snnergy` command the README shows runs as printed, from the repository's root.
/// Skipped, and said why: commands that need Debian's Fashion-MNIST (when it is not
/// installed), a training run of many minutes, or a plugin the reader builds first.
#[test]
fn every_snnergy_command_in_the_readme_runs_as_printed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-commands");
    let data = Path::new("/usr/share/datasets/fashion-mnist").exists();
    let mut ran = 0;
    for line in shell_lines(&readme) {
        let args = if let Some(rest) = line.strip_prefix("snnergy ") {
            rest
        } else if let Some(rest) = line.strip_prefix("cargo run --release -p snnergy-cli -- ") {
            rest
        } else {
            continue;
        };
        let mut args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        let needs_data = args.iter().any(|a| a.contains("engine-fashion-mnist"));
        let skip = match args[0].as_str() {
            "train" => Some("a training run"),
            "plugin" => Some("a plugin the reader builds"),
            "run" if args.iter().any(|a| a == "my-chip.toml") => Some("a plugin the reader builds"),
            _ if needs_data && !data => Some("Debian's Fashion-MNIST"),
            _ => None,
        };
        if let Some(why) = skip {
            eprintln!("skipped (needs {why}): {line}");
            continue;
        }
        if args[0] == "map" {
            // Exports go to a scratch folder, not into the checkout.
            for i in 1..args.len() {
                if args[i - 1].starts_with("--export-") {
                    args[i] = out_dir
                        .join(ran.to_string())
                        .join(&args[i])
                        .display()
                        .to_string();
                }
            }
        }
        if args[0] == "run" || args[0] == "engine" {
            // Outputs go to a scratch folder, not into the checkout.
            let dir = out_dir.join(ran.to_string());
            if args[0] == "run" {
                args.extend(["--out".into(), dir.display().to_string()]);
            } else if let Some(i) = args.iter().position(|a| a == "--out") {
                std::fs::create_dir_all(&dir).unwrap();
                args[i + 1] = dir.join(&args[i + 1]).display().to_string();
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
            .args(&args)
            .current_dir(&root)
            .env_remove("SNNERGY_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README command `{line}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 2, "found only {ran} runnable README commands");
}

/// `snnergy breakeven` with no flags answers (every default architecture has a table that
/// prices it at its defaults).
#[test]
fn breakeven_with_no_flags_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["breakeven"])
        .env_remove("SNNERGY_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Break-even"), "{text}");
}

/// Every shipped architecture runs at its defaults, priced by the table it is meant for.
#[test]
fn every_shipped_architecture_runs_at_its_defaults() {
    for arch in ["classical", "spatial", "neuromorphic", "paper-v1"] {
        let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
            .args(["breakeven", "--arch", arch, "-T", "4,6"])
            .env_remove("SNNERGY_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{arch}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And spatial at its defaults also with the 45 nm table (a link price derived there).
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args([
            "breakeven",
            "--arch",
            "spatial",
            "--energy",
            "horowitz-45nm",
            "-T",
            "6",
        ])
        .env_remove("SNNERGY_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pipeline the README's "Pipelines" section shows runs as printed.
#[test]
fn the_readme_pipeline_example_runs_as_printed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let at = readme.find("A pipeline is a TOML file.").unwrap();
    let start = at + readme[at..].find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-pipeline");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.toml"), &readme[start..end]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["run", "mine.toml"])
        .current_dir(&dir)
        .env_remove("SNNERGY_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("reports/mine/report.md").exists());
}

#[test]
fn the_readme_states_the_python_prerequisites_the_build_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cargo: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let rust = cargo["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap();
    let python = &readme[readme.find("## Python").unwrap()..];
    let python = &python[..python.find("\n## ").unwrap()];
    for needed in [
        format!("Rust ≥ {rust}"),
        "Debian's\n  `rustc` is too old".to_string(),
        "rustup".to_string(),
        "apt-get install python3-torch".to_string(),
        "pip install -v ./cli/python".to_string(),
    ] {
        assert!(
            python.contains(&needed),
            "the README's Python section lacks `{needed}`"
        );
    }
}
