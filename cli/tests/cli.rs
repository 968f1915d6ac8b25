//! The `snnergy` command as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn snnergy(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SNNERGY_LOG")
        .output()
        .expect("the snnergy binary runs")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_prints_the_verdict_and_writes_json_csv_and_markdown() {
    let out_dir = scratch("cli-run");
    let pipeline = repo().join("pipelines/paper-v1.toml");
    let out = snnergy(
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("v1-spatial") && stdout.contains("Break-even"),
        "{stdout}"
    );
    assert!(
        stdout.contains("92.5"),
        "T = 6 spatial break-even sparsity 92.5 %: {stdout}"
    );
    for f in [
        "report.json",
        "comparisons.csv",
        "layers.csv",
        "breakeven.csv",
        "report.md",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} was not written");
    }
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("## Verdicts") && md.contains("## Prices used"));
}

#[test]
fn run_json_follows_the_documented_schema() {
    let out_dir = scratch("cli-json");
    let pipeline = repo().join("pipelines/paper-v1.toml");
    let out = snnergy(
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--json",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["schema"], 2);
    let c = &v["comparisons"][0];
    for key in [
        "architecture",
        "workload",
        "timesteps",
        "spike_rate",
        "snn_pj",
        "baseline_pj",
        "ratio",
    ] {
        assert!(!c[key].is_null(), "comparisons[0].{key} missing");
    }
    let b = &v["breakeven"][0];
    for key in ["architecture", "workload", "timesteps", "spike_rate"] {
        assert!(!b[key].is_null(), "breakeven[0].{key} missing");
    }
}

#[test]
fn list_shows_every_kind_with_descriptions() {
    let out = snnergy(&["list"], &repo());
    assert!(out.status.success());
    let s = text(&out.stdout);
    for name in [
        "vgg16",
        "resnet18",
        "custom",
        "uniform",
        "profile",
        "paper-v1",
        "horowitz-45nm",
        "yan-22nm",
        "table",
    ] {
        assert!(s.contains(name), "`{name}` not listed:\n{s}");
    }
    assert!(s.contains("Horowitz ISSCC 2014"));
}

#[test]
fn describe_prints_an_example_that_parses_back() {
    let out = snnergy(&["describe", "paper-v1"], &repo());
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(s.contains("architecture `paper-v1`") && s.contains("energy model `paper-v1`"));
    assert!(s.contains("fanin") && s.contains("synapses per neuron"));
    let example = s
        .split("Example:\n\n")
        .nth(1)
        .unwrap()
        .split("\nenergy model")
        .next()
        .unwrap();
    let table: toml::Table = toml::from_str(example).expect("the example is TOML");
    assert_eq!(table["architecture"][0]["type"].as_str(), Some("paper-v1"));
}

#[test]
fn breakeven_from_flags_answers_without_a_file() {
    let out = snnergy(
        &[
            "breakeven",
            "--workload",
            "vgg16",
            "--arch",
            "paper-v1:variant=spatial,fanin=2395",
            "--energy",
            "paper-v1",
            "-T",
            "6",
            "--baseline",
            "ann8",
            "--nonzero",
            "0.45",
            "--json",
        ],
        &repo(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = v["breakeven"][0]["spike_rate"].as_f64().unwrap();
    // ρ held at the paper's 0.45, F = 2395: (0.45·20.23 − 6·40.06/2395) / (6·20.03).
    let expected = (0.45 * 20.23 - 6.0 * 40.06 / 2395.0) / (6.0 * 20.03);
    assert!((r - expected).abs() < 1e-9, "{r} vs {expected}");
    assert!(v["comparisons"].as_array().unwrap().is_empty());
}

#[test]
fn bad_input_exits_with_code_2_and_names_the_problem() {
    let dir = scratch("cli-bad");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[workload]\ntype = \"vgg16\"\n[energy]\ntype = \"paper-v1\"\n[[architecture]]\ntype = \"paper-v1\"\nvarient = \"spatial\"\n",
    )
    .unwrap();
    let out = snnergy(&["run", file.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml:7") && err.contains("did you mean `variant`"),
        "{err}"
    );

    let out = snnergy(&["describe", "vgg61"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `vgg1"),
        "{}",
        text(&out.stderr)
    );

    let out = snnergy(&["breakeven", "-T", "0"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--timesteps") && err.contains("at least one time step"),
        "{err}"
    );

    let out = snnergy(&["run", "missing.toml"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.toml"));
}
