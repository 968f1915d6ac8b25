//! Every shipped pipeline, run as a user runs it, writes exactly the files committed under
//! `tests/golden/<pipeline>/`: report.md, report.json, every CSV, every SVG (and, for the
//! training pipeline, train.json with its timings and paths blanked). What `snnergy run`
//! prints is kept there too, as a terminal of 80 columns shows it (`terminal-80.txt`, printed
//! by the run with `COLUMNS=80`) and one of 120 (`terminal-120.txt`, the same report rendered
//! by the same function at 120 columns); no line is wider than its terminal.
//!
//! The pipelines are copied into a scratch folder and made hermetic: the engine reads the
//! committed Fashion-MNIST fixture (300 test images, standing in for both splits) instead of
//! Debian's data set, and the training pipeline trains one short epoch on it. The engine runs
//! with portable matrix products (`SNNERGY_PORTABLE_MATH=1`), which give the same bits on every
//! CPU; its default GEMM kernels depend on the CPU's vector units and caches. Everything else
//! is as shipped.
//!
//! An intentional change of the output is accepted by rerunning with `SNNERGY_BLESS=1`:
//!
//! ```sh
//! SNNERGY_BLESS=1 cargo test -p snnergy-cli --test cli golden::
//! ```
//!
//! which rewrites the golden files; review their diff before committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bless() -> bool {
    std::env::var_os("SNNERGY_BLESS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// A scratch folder beside which the pipeline's relative paths (weights, profiles, data)
/// resolve as they do in `pipelines/`.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-golden-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("data")).unwrap();
    for folder in ["weights", "profiles"] {
        std::os::unix::fs::symlink(repo().join("pipelines").join(folder), d.join(folder)).unwrap();
    }
    let fixture = repo().join("plugins/engine/tests/fixtures/fashion-mnist");
    for split in ["t10k", "train"] {
        for kind in ["images-idx3", "labels-idx1"] {
            std::fs::copy(
                fixture.join(format!("t10k-{kind}-ubyte.gz")),
                d.join("data").join(format!("{split}-{kind}-ubyte.gz")),
            )
            .unwrap();
        }
    }
    d
}

/// The shipped pipeline with its data pointed at the fixture and its training shortened.
fn hermetic(text: &str) -> String {
    let mut doc: toml::Table = toml::from_str(text).unwrap();
    if let Some(toml::Value::Table(a)) = doc.get_mut("analysis") {
        a.remove("output");
    }
    if let Some(toml::Value::Table(a)) = doc.get_mut("activity")
        && a.get("type").and_then(|t| t.as_str()) == Some("engine")
    {
        a.insert("data".into(), "data".into());
        a.insert("samples".into(), 300.into());
        if a.contains_key("profile") {
            a.insert("profile".into(), "out/profile-T{T}.csv".into());
        }
    }
    if let Some(toml::Value::Table(t)) = doc.get_mut("train") {
        t.insert("data".into(), "data".into());
        t.insert("epochs".into(), 1.into());
        t.insert("samples".into(), 256.into());
        t.insert("test_samples".into(), 100.into());
        t.insert("checkpoint".into(), "ckpt.safetensors".into());
    }
    toml::to_string(&doc).unwrap()
}

/// train.json without what changes from run to run (timings) or machine to machine (paths),
/// with its keys sorted (whatever order serde_json keeps them in).
fn stable_json(text: &str) -> String {
    fn blank(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(m) => {
                let sorted: std::collections::BTreeMap<String, Value> = m
                    .into_iter()
                    .map(|(k, v)| {
                        let volatile = ["seconds", "samples_per_s", "pipeline", "checkpoint"]
                            .contains(&k.as_str());
                        (k, if volatile { Value::Null } else { blank(v) })
                    })
                    .collect();
                Value::Object(sorted.into_iter().collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(blank).collect()),
            other => other,
        }
    }
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    serde_json::to_string_pretty(&blank(v)).unwrap() + "\n"
}

/// The files a run wrote that the golden copy keeps, by name, with their content; the
/// scratch folder's path (a checkpoint's, in the training verdict) reads `<scratch>`.
fn outputs(dir: &Path, scratch: Option<&Path>) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let keep = [".md", ".json", ".csv", ".svg", ".txt"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if !keep {
                return None;
            }
            let bytes = std::fs::read(&p).unwrap();
            let bytes = if name == "train.json" {
                stable_json(std::str::from_utf8(&bytes).unwrap()).into_bytes()
            } else {
                bytes
            };
            let bytes = match (scratch, String::from_utf8(bytes)) {
                (Some(s), Ok(text)) => text
                    .replace(&s.display().to_string(), "<scratch>")
                    .into_bytes(),
                (_, Ok(text)) => text.into_bytes(),
                (_, Err(e)) => e.into_bytes(),
            };
            Some((name, bytes))
        })
        .collect();
    files.sort();
    files
}

/// Columns a line takes on a terminal, counted apart from the renderer: every character one
/// column except combining marks (the macron of L̄) and colour escapes; East Asian wide
/// characters and emoji, which take two, fail the test rather than be miscounted.
fn columns(line: &str) -> usize {
    let mut n = 0;
    let mut escape = false;
    for c in line.chars() {
        match c {
            '\x1b' => escape = true,
            c if escape => escape = !c.is_ascii_alphabetic(),
            '\u{300}'..='\u{36f}' => {}
            c => {
                let wide = [
                    0x1100..=0x115F,
                    0x2E80..=0xA4CF,
                    0xAC00..=0xD7A3,
                    0xF900..=0xFAFF,
                    0xFE30..=0xFE4F,
                    0xFF00..=0xFF60,
                    0xFFE0..=0xFFE6,
                    0x1F300..=0x1FAFF,
                    0x20000..=0x3FFFD,
                ];
                assert!(
                    !wide.iter().any(|r| r.contains(&(c as u32))),
                    "{c:?} takes two columns: {line:?}"
                );
                n += 1;
            }
        }
    }
    n
}

/// Fails unless every line of `text` fits `width` columns.
fn assert_fits(text: &str, width: usize, what: &str) {
    for line in text.lines() {
        assert!(
            columns(line) <= width,
            "{what}: a line of {} columns:\n{line}\n\n{text}",
            columns(line)
        );
    }
}

/// What `snnergy run` printed at 80 columns, and the same report rendered at 120 columns as
/// the command renders it (checked by rendering it at 80 too, which must give what it
/// printed), as golden files; `--wide` fits both widths as well.
fn terminal(out: &Path, printed: &str, name: &str) -> Vec<(String, Vec<u8>)> {
    use snnergy::report::terminal::{View, render};
    use snnergy::report::text::Screen;
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    let report: snnergy::core::Report = serde_json::from_str(&json).unwrap();
    let dir = Path::new("out");
    let at = |width: usize, wide: bool| {
        let view = View {
            wide,
            report_dir: Some(dir),
        };
        render(&report, &Screen::new(width, false), &view)
    };
    assert_eq!(
        at(80, false),
        printed,
        "{name}: the report rendered from report.json at 80 columns is not what the command printed"
    );
    let wide = at(120, false);
    assert_fits(&wide, 120, &format!("{name} at 120 columns"));
    for width in [80, 120] {
        assert_fits(
            &at(width, true),
            width,
            &format!("{name} with --wide at {width} columns"),
        );
    }
    vec![
        ("terminal-120.txt".to_string(), wide.into_bytes()),
        ("terminal-80.txt".to_string(), printed.as_bytes().to_vec()),
    ]
}

fn check(name: &str) {
    let source = repo().join("pipelines").join(format!("{name}.toml"));
    let dir = scratch(name);
    let pipeline = dir.join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&pipeline, hermetic(&text)).unwrap();
    // The report goes to `out` beside the pipeline, named relative so that what the command
    // prints about it reads the same on every machine.
    let out = dir.join("out");
    let command = if text.contains("\n[train]") {
        "train"
    } else {
        "run"
    };
    let o = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .arg(command)
        .arg(&pipeline)
        .arg("--out")
        .arg("out")
        .current_dir(&dir)
        .env("SNNERGY_PORTABLE_MATH", "1")
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "snnergy {command} {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert_fits(
        &stdout,
        80,
        &format!("snnergy {command} {name} at COLUMNS=80"),
    );
    let mut got = outputs(&out, Some(&dir));
    if command == "run" {
        got.extend(terminal(&out, &stdout, name));
        got.sort();
    }
    let golden = repo().join("tests/golden").join(name);
    if bless() {
        let _ = std::fs::remove_dir_all(&golden);
        std::fs::create_dir_all(&golden).unwrap();
        for (file, bytes) in &got {
            std::fs::write(golden.join(file), bytes).unwrap();
        }
    } else {
        let want = outputs(&golden, None);
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&got),
            names(&want),
            "{name}: other files than the golden copy (SNNERGY_BLESS=1 accepts a change)"
        );
        for ((file, a), (_, b)) in got.iter().zip(&want) {
            assert!(
                a == b,
                "{name}/{file} differs from tests/golden/{name}/{file} (SNNERGY_BLESS=1 accepts a change; the new file is in {})",
                out.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_paper_v1_pipeline_writes_its_golden_files() {
    check("paper-v1");
}

#[test]
fn the_vgg16_cifar10_pipeline_writes_its_golden_files() {
    check("vgg16-cifar10");
}

#[test]
fn the_resnet18_imagenet_pipeline_writes_its_golden_files() {
    check("resnet18-imagenet");
}

#[test]
fn the_spikformer_4_384_cifar10_pipeline_writes_its_golden_files() {
    check("spikformer-4-384-cifar10");
}

#[test]
fn the_spikformer_8_512_imagenet_pipeline_writes_its_golden_files() {
    check("spikformer-8-512-imagenet");
}

#[test]
fn the_sdt_8_512_imagenet_pipeline_writes_its_golden_files() {
    check("sdt-8-512-imagenet");
}

#[test]
fn the_sdt_v2_8_512_imagenet_pipeline_writes_its_golden_files() {
    check("sdt-v2-8-512-imagenet");
}

#[test]
fn the_neuromorphic_22nm_pipeline_writes_its_golden_files() {
    check("neuromorphic-22nm");
}

#[test]
fn the_engine_pipeline_writes_its_golden_files_on_the_fixture() {
    check("engine-fashion-mnist");
}

#[test]
fn the_training_pipeline_writes_its_golden_files_after_a_short_run() {
    check("train-fashion-mnist");
}

#[test]
fn every_shipped_pipeline_has_a_golden_test() {
    let mut shipped: Vec<String> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "toml").then(|| p.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    shipped.sort();
    let this = include_str!("golden.rs");
    for name in shipped {
        assert!(
            this.contains(&format!("check(\"{name}\")")),
            "pipelines/{name}.toml has no golden test"
        );
    }
}
