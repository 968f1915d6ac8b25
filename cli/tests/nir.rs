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

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A Fashion-MNIST network whose layers have neurons of their own, reset to zero, with
/// random weights, exported to NIR: what snnTorch writes for its `Leaky` neurons.
fn mixed_nir(dir: &Path) -> PathBuf {
    let s = |p: &Path| p.display().to_string();
    let model = dir.join("model.toml");
    std::fs::write(
        &model,
        r#"[workload]
type = "custom"
network = "mixed"
input = [1, 28, 28]
layers = [
  { op = "conv", name = "conv1", out = 4, kernel = 3, padding = 1, neuron = { model = "lif", leak = 0.9, threshold = 0.5, reset = "zero", name = "lif1" } },
  { op = "sumpool", name = "pool1", kernel = 2 },
  { op = "conv", name = "conv2", out = 8, kernel = 3, padding = 1, neuron = { model = "if", threshold = 1.0, reset = "zero", name = "if2" } },
  { op = "avgpool", name = "pool2", kernel = 2 },
  { op = "linear", name = "fc", out = 10, neuron = { model = "li", leak = 0.9 } },
]
"#,
    )
    .unwrap();
    let weights = dir.join("w.safetensors");
    ok(&snnergy(&[
        "engine",
        "--model",
        &s(&model),
        "--random-weights",
        "3",
        "--save-weights",
        &s(&weights),
        "--data",
        &s(&repo().join("plugins/engine/tests/fixtures/fashion-mnist")),
        "--samples",
        "4",
    ]));
    let nir = dir.join("mixed.nir");
    ok(&snnergy(&[
        "export",
        "--nir",
        &s(&nir),
        "--model",
        &s(&model),
        "--weights",
        &s(&weights),
    ]));
    nir
}

#[test]
fn an_imported_graph_with_reset_to_zero_and_mixed_neurons_runs_as_written() {
    let dir = temp_dir("mixed-run");
    let s = |p: &Path| p.display().to_string();
    let nir = mixed_nir(&dir);
    let imported = dir.join("imported");
    let said = ok(&snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&imported),
        "--dataset",
        "fashion-mnist",
        "--data",
        &s(&repo().join("plugins/engine/tests/fixtures/fashion-mnist")),
        "-T",
        "4",
    ]));
    assert!(
        said.contains("1 IF (reset to zero), 1 LIF (reset to zero)"),
        "{said}"
    );
    let pipeline = std::fs::read_to_string(imported.join("pipeline.toml")).unwrap();
    assert!(
        pipeline.contains("reset = \"zero\"") && pipeline.contains("op = \"sumpool\""),
        "{pipeline}"
    );
    // `samples` keeps the run short; the pipeline is otherwise as written.
    let pipeline = pipeline.replace("type = \"engine\"", "type = \"engine\"\nsamples = 16");
    std::fs::write(imported.join("pipeline.toml"), pipeline).unwrap();
    let out = snnergy(&[
        "run",
        &s(&imported.join("pipeline.toml")),
        "--out",
        &s(&dir.join("report")),
    ]);
    let text = ok(&out);
    assert!(text.contains("mixed"), "{text}");
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(md.contains("conv1: LIF, leak 0.9"), "{md}");
    // And back: the same graph.
    let back = dir.join("back.nir");
    ok(&snnergy(&[
        "export",
        "--nir",
        &s(&back),
        "--model",
        &s(&imported.join("pipeline.toml")),
        "--weights",
        &s(&imported.join("weights.safetensors")),
    ]));
    assert_eq!(
        snnergy_nir::graph::read(&back).unwrap(),
        snnergy_nir::graph::read(&nir).unwrap()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn import_and_export_refuse_values_the_other_side_cannot_take() {
    let dir = temp_dir("bounds");
    let s = |p: &Path| p.display().to_string();
    let nir = mixed_nir(&dir);
    let out = snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&dir.join("t")),
        "-T",
        "1000000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("-T 1000000") && err.contains("1..=100000"),
        "{err}"
    );
    assert!(!dir.join("t").exists());
    let out = snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&dir.join("t")),
        "-T",
        "20000",
        "--dataset",
        "fashion-mnist",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1..=10000"));
    for dt in ["NaN", "0", "-1e-4", "inf"] {
        let out = snnergy(&[
            "export",
            "--nir",
            &s(&dir.join("x.nir")),
            "--model",
            &s(&repo().join("pipelines/engine-fashion-mnist.toml")),
            "--weights",
            &s(&repo().join("pipelines/weights/fmnist-vgg-t6.safetensors")),
            &format!("--dt={dt}"),
        ]);
        assert_eq!(out.status.code(), Some(2), "--dt {dt}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("dt ="),
            "--dt {dt}"
        );
        assert!(!dir.join("x.nir").exists());
    }
    // A finite dt whose τ = dt/(1 − leak) overflows: import refused the τ = inf written.
    let out = snnergy(&[
        "export",
        "--nir",
        &s(&dir.join("x.nir")),
        "--model",
        &s(&repo().join("pipelines/engine-fashion-mnist.toml")),
        "--weights",
        &s(&repo().join("pipelines/weights/fmnist-vgg-t6.safetensors")),
        "--dt=1e308",
        "--leak",
        "0.9",
    ]);
    assert_eq!(out.status.code(), Some(2), "--dt 1e308 --leak 0.9");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`tau` = inf") && err.contains("smaller --dt"),
        "{err}"
    );
    assert!(!dir.join("x.nir").exists());
    let out = snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&dir.join("t")),
        "--dt",
        "NaN",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("dt = NaN"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_crafted_graph_with_a_zero_stride_is_an_error_not_a_panic() {
    use snnergy_nir::graph::{self, Value};
    let dir = temp_dir("stride");
    let s = |p: &Path| p.display().to_string();
    let mut g = graph::read(&mixed_nir(&dir)).unwrap();
    for stride in [[0, 0], [-2, -2]] {
        let conv = g.nodes.iter_mut().find(|n| n.name == "conv1").unwrap();
        conv.params.insert("stride".into(), Value::ints(&stride));
        let bad = dir.join("bad.nir");
        graph::write(&bad, &g).unwrap();
        let out = snnergy(&["import", &s(&bad), "--out", &s(&dir.join("never"))]);
        assert_eq!(out.status.code(), Some(2), "stride {stride:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("node `conv1` (Conv2d): `stride`"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn import_refuses_a_t_its_pipeline_architectures_cannot_run() {
    // At T = 65536 the twin needs 17-bit operands, more than the classical array's units
    // take: `run` refused the pipeline `import` had written.
    let dir = temp_dir("t-units");
    let s = |p: &Path| p.display().to_string();
    let nir = mixed_nir(&dir);
    let out = snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&dir.join("t")),
        "-T",
        "65536",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("-T 65536") && err.contains("`classical`") && err.contains("mac_bits"),
        "{err}"
    );
    assert!(!dir.join("t").exists());
    ok(&snnergy(&[
        "import",
        &s(&nir),
        "--out",
        &s(&dir.join("t")),
        "-T",
        "65535",
    ]));
    ok(&snnergy(&[
        "run",
        &s(&dir.join("t/pipeline.toml")),
        "--out",
        &s(&dir.join("report")),
    ]));
    let _ = std::fs::remove_dir_all(dir);
}
