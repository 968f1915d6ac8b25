//! What the commands print fits the terminal: `COLUMNS` sets the width when stdout is not a
//! terminal (100 without it), every line fits it, the answer comes first, pipes get no colour,
//! and what `snnergy run` leaves out of the terminal is named with where it is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn snnergy(args: &[&str], columns: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_snnergy"));
    c.args(args).current_dir(repo()).env_remove("SNNERGY_LOG");
    match columns {
        Some(w) => c.env("COLUMNS", w),
        None => c.env_remove("COLUMNS"),
    };
    let out = c.output().expect("the snnergy binary runs");
    assert!(
        out.status.success(),
        "snnergy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Columns of a line: one per character but combining marks (the test's own count, not the
/// renderer's).
fn columns(line: &str) -> usize {
    line.chars()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .count()
}

fn assert_fits(text: &str, width: usize, what: &str) {
    assert!(!text.is_empty(), "{what}: nothing printed");
    for line in text.lines() {
        assert!(
            columns(line) <= width,
            "{what}: a line of {} columns:\n{line}\n\n{text}",
            columns(line)
        );
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn breakeven_fits_80_and_120_columns_with_the_answer_first() {
    for width in ["80", "120"] {
        let o = snnergy(
            &[
                "breakeven",
                "--arch",
                "paper-v1",
                "--arch",
                "paper-v1:variant=spatial",
                "-T",
                "1..8",
                "-r",
                "0.05",
            ],
            Some(width),
        );
        let text = stdout(&o);
        assert_fits(&text, width.parse().unwrap(), "breakeven");
        // Title, blank line, where the verdicts hold, then one verdict per architecture.
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with("vgg16-cifar10 at T = 6"), "{text}");
        assert!(text.contains("\n- paper-v1: the SNN"), "{text}");
        assert!(
            text.find("- paper-v1: the SNN").unwrap() < text.find("Break-even spike rate").unwrap()
        );
        // No report files: every table is printed, the mean-level break-even among them.
        assert!(text.contains("Break-even mean level L̄*"), "{text}");
        assert!(!text.contains('\x1b'), "colour in a pipe: {text}");
    }
}

#[test]
fn piped_output_is_100_columns_wide_unless_columns_says_otherwise() {
    let args = ["breakeven", "-T", "1..16", "-r", "0.05"];
    let text = stdout(&snnergy(&args, None));
    assert_fits(&text, 100, "breakeven without COLUMNS");
    assert!(text.lines().any(|l| columns(l) > 80), "{text}");
    // A width the tables cannot fit is raised to the narrowest they can.
    assert_fits(&stdout(&snnergy(&args, Some("20"))), 40, "COLUMNS=20");
}

#[test]
fn map_fits_80_and_120_columns_with_dataflows_as_notes() {
    let pipeline = repo().join("pipelines/vgg16-cifar10.toml");
    let p = pipeline.to_str().unwrap();
    for width in ["80", "120"] {
        let w: usize = width.parse().unwrap();
        let text = stdout(&snnergy(&["map", p, "--arch", "classical"], Some(width)));
        assert_fits(&text, w, "map");
        assert!(
            text.contains("[1] event-driven") || text.contains("[1] zeros"),
            "{text}"
        );
        let text = stdout(&snnergy(
            &["map", p, "--arch", "neuromorphic", "--layer", "features.3"],
            Some(width),
        ));
        assert_fits(&text, w, "map --layer");
        assert!(text.contains("Loop nest (outermost first):"), "{text}");
    }
}

#[test]
fn engine_fits_80_and_120_columns() {
    let model = repo().join("pipelines/engine-fashion-mnist.toml");
    let weights = repo().join("pipelines/weights/fmnist-vgg-t6-qcfs-l1.safetensors");
    let data = repo().join("plugins/engine/tests/fixtures/fashion-mnist");
    for width in ["80", "120"] {
        let text = stdout(&snnergy(
            &[
                "engine",
                "--model",
                model.to_str().unwrap(),
                "--weights",
                weights.to_str().unwrap(),
                "--shift",
                "0.5",
                "--data",
                data.to_str().unwrap(),
                "--samples",
                "16",
            ],
            Some(width),
        ));
        assert_fits(&text, width.parse().unwrap(), "engine");
        assert!(text.contains("features.14") && text.contains("top-1 agreement"));
    }
}

#[test]
fn run_says_what_it_leaves_out_and_wide_prints_it() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terminal-run");
    let _ = std::fs::remove_dir_all(&dir);
    let pipeline = repo().join("pipelines/paper-v1.toml");
    let run = |wide: bool| {
        let mut args = vec![
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ];
        if wide {
            args.push("--wide");
        }
        let o = snnergy(&args, Some("80"));
        (stdout(&o), String::from_utf8(o.stderr).unwrap())
    };
    let (text, err) = run(false);
    assert_fits(&text, 80, "run");
    // Lines break where they must: the checks read the text as one line.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let md = Path::new(&dir).join("report.md");
    assert!(
        flat.contains(&format!("They are in {}", md.display())),
        "{text}"
    );
    assert!(flat.contains("(--wide prints them)"), "{text}");
    assert!(!text.contains("Break-even mean level"), "{text}");
    assert_fits(&err, 80, "run's stderr");
    assert!(
        err.contains("report.md") && err.contains("figures (SVG)"),
        "{err}"
    );
    let (wide, _) = run(true);
    assert_fits(&wide, 80, "run --wide");
    for table in [
        "Break-even mean level L̄*",
        "SNN energy over its baseline's at every T",
    ] {
        assert!(wide.contains(table), "{table}: {wide}");
    }
}
