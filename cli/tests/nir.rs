//! `snnergy export --nir` and `snnergy import` as a user runs them: the shipped network out to
//! NIR and back into a pipeline that runs, spike for spike.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-cli-nir-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn snnergy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(args)
        .output()
        .expect("snnergy runs")
}

fn spikes(out: &Output) -> Vec<u64> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["spikes"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_shipped_network_exported_to_nir_and_imported_fires_the_same_spikes() {
    let dir = temp_dir("round-trip");
    let nir = dir.join("fmnist.nir");
    let model = repo().join("pipelines/engine-fashion-mnist.toml");
    let weights = repo().join("pipelines/weights/fmnist-vgg-t6.safetensors");
    let fixture = repo().join("plugins/engine/tests/fixtures/fashion-mnist");
    let s = |p: &Path| p.display().to_string();
    let out = snnergy(&[
        "export",
        "--nir",
        &s(&nir),
        "--model",
        &s(&model),
        "--weights",
        &s(&weights),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported = dir.join("imported");
    let out = snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&imported),
        "--dataset",
        "fashion-mnist",
        "--data",
        &s(&fixture),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pipeline = std::fs::read_to_string(imported.join("pipeline.toml")).unwrap();
    assert!(
        pipeline.contains("type = \"engine\"") && pipeline.contains("reset = \"subtract\""),
        "{pipeline}"
    );
    let engine = |m: &Path, w: &Path| {
        spikes(&snnergy(&[
            "engine",
            "--model",
            &s(m),
            "--weights",
            &s(w),
            "--data",
            &s(&fixture),
            "--samples",
            "50",
            "--json",
        ]))
    };
    assert_eq!(
        engine(
            &imported.join("pipeline.toml"),
            &imported.join("weights.safetensors")
        ),
        engine(&model, &weights)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_import_that_fails_leaves_no_folder_and_an_existing_one_is_not_overwritten() {
    let dir = temp_dir("refused");
    let s = |p: &Path| p.display().to_string();
    std::fs::write(dir.join("broken.nir"), "not hdf5").unwrap();
    let out = snnergy(&[
        "import",
        &s(&dir.join("broken.nir")),
        "--out",
        &s(&dir.join("never")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.nir"));
    assert!(!dir.join("never").exists());
    let nir = dir.join("fmnist.nir");
    let model = repo().join("pipelines/engine-fashion-mnist.toml");
    let weights = repo().join("pipelines/weights/fmnist-vgg-t6.safetensors");
    assert!(
        snnergy(&[
            "export",
            "--nir",
            &s(&nir),
            "--model",
            &s(&model),
            "--weights",
            &s(&weights)
        ])
        .status
        .success()
    );
    std::fs::create_dir_all(dir.join("taken")).unwrap();
    std::fs::write(dir.join("taken/keep.txt"), "mine").unwrap();
    let out = snnergy(&["import", &s(&nir), "--out", &s(&dir.join("taken"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(std::fs::read_dir(dir.join("taken")).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(dir);
}
