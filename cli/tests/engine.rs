//! `snnergy engine` as a user runs it: a model file, weights, the committed Fashion-MNIST
//! fixture; per-layer rates on stdout and a profile a pipeline can read.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/engine/tests/fixtures/fashion-mnist")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const MODEL: &str = r#"
[workload]
type = "custom"
network = "tiny"
input = [1, 28, 28]
layers = [
  { op = "conv", name = "conv1", out = 4, kernel = 3, padding = 1, batchnorm = "bn1" },
  { op = "avgpool", name = "pool1", kernel = 2 },
  { op = "linear", name = "fc", out = 10, bias = true },
]
"#;

#[test]
fn engine_command_prints_rates_and_writes_a_profile_from_saved_weights() {
    let dir = temp_dir("engine");
    let model = dir.join("model.toml");
    std::fs::write(&model, MODEL).unwrap();
    let weights = dir.join("w.safetensors");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_snnergy"))
            .args(args)
            .output()
            .unwrap()
    };
    // Random weights saved once, then run from the file like trained ones.
    let out = run(&[
        "engine",
        "--model",
        model.to_str().unwrap(),
        "--random-weights",
        "5",
        "--save-weights",
        weights.to_str().unwrap(),
        "--data",
        fixture().to_str().unwrap(),
        "--samples",
        "8",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = dir.join("profile.csv");
    let out = run(&[
        "engine",
        "--model",
        model.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--data",
        fixture().to_str().unwrap(),
        "--samples",
        "32",
        "-T",
        "4",
        "--out",
        profile.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("conv1") && stdout.contains("top-1 agreement"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(&profile).unwrap();
    assert!(
        csv.starts_with(
            "layer,spike_rate,nonzero,mean_level,neurons,spikes,input_density,input_nonzero,synapse_density,synapse_nonzero,timesteps"
        ),
        "{csv}"
    );
    assert!(csv.contains("conv1,") && csv.contains(",3136,"), "{csv}");
    // The readout's row: what reached it, no spikes of its own.
    assert!(csv.lines().any(|l| l.starts_with("fc,,,,,,")), "{csv}");
    assert!(stdout.contains("non-zero in some step"), "{stdout}");

    // Weights that do not fit the model are refused with the tensor and both shapes.
    let other = dir.join("other.toml");
    std::fs::write(&other, MODEL.replace("out = 4,", "out = 6,")).unwrap();
    let out = run(&[
        "engine",
        "--model",
        other.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--data",
        fixture().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("conv1.weight") && stderr.contains("[4, 1, 3, 3]"),
        "{stderr}"
    );
}

#[test]
fn the_engine_activity_is_registered_in_the_snnergy_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["describe", "engine"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("type = \"engine\"") && stdout.contains("weights"),
        "{stdout}"
    );
}
