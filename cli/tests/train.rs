//! `snnergy train` as a user runs it: a pipeline with a [train] section on the committed
//! Fashion-MNIST fixture; training, resuming, the verdict, the comparison of runs, and bad
//! input reported with file, line and key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/engine/tests/fixtures/fashion-mnist")
}

/// A fresh folder holding the fixture as both splits (the training split is the same 300
/// test images).
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-cli-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("data")).unwrap();
    for split in ["t10k", "train"] {
        for kind in ["images-idx3", "labels-idx1"] {
            std::fs::copy(
                fixture().join(format!("t10k-{kind}-ubyte.gz")),
                d.join("data").join(format!("{split}-{kind}-ubyte.gz")),
            )
            .unwrap();
        }
    }
    d
}

fn snnergy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn pipeline(train_extra: &str, regularizer: &str) -> String {
    format!(
        r#"[analysis]
timesteps = 6
output = "out"

[workload]
type = "custom"
network = "tiny"
input = [1, 28, 28]
layers = [
  {{ op = "conv", name = "conv1", out = 4, kernel = 3, padding = 1, batchnorm = "bn1" }},
  {{ op = "avgpool", name = "pool1", kernel = 2 }},
  {{ op = "conv", name = "conv2", out = 8, kernel = 3, padding = 1, batchnorm = "bn2" }},
  {{ op = "avgpool", name = "pool2", kernel = 2 }},
  {{ op = "linear", name = "fc", out = 10, bias = true }},
]

[activity]
type = "engine"
weights = "unused.safetensors"
data = "data"
samples = 100

[train]
data = "data"
samples = 200
test_samples = 100
epochs = 2
batch = 50
shift = 0.5
lr = 5e-3
checkpoint = "ckpt.safetensors"
{train_extra}
{regularizer}

[[architecture]]
type = "classical"
energy = "horowitz-45nm"

[[architecture]]
type = "spatial"
energy = "paper-v1"
weight_memory = "wired"
state_memory = "sram"
"#
    )
}

#[test]
fn train_command_trains_converts_gives_the_verdict_and_resumes() {
    let dir = temp_dir("verdict");
    let p = dir.join("l1.toml");
    std::fs::write(
        &p,
        pipeline(
            "",
            "[[train.regularizer]]\ntype = \"activation-l1\"\nweight = 1e-6",
        ),
    )
    .unwrap();
    let out = snnergy(&["train", p.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("epoch 2/2"), "{stderr}");
    assert!(
        stdout.contains("Converted SNN on the test images"),
        "{stdout}"
    );
    assert!(stdout.contains("classical") && stdout.contains("spatial"));
    assert!(stdout.contains("SNN wins") || stdout.contains("SNN loses"));
    assert!(dir.join("ckpt.safetensors").is_file());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/train.json")).unwrap())
            .unwrap();
    assert_eq!(summary["epochs"], 2);
    assert_eq!(summary["energy"].as_array().unwrap().len(), 2);
    let m = &summary["measurement"];
    assert_eq!(m["images"], 100);
    assert!(m["snn_accuracy"].as_f64().unwrap() > 0.0);
    assert!(dir.join("out/report.json").is_file() || dir.join("out/report.md").is_file());

    // Resuming to a third epoch trains only that one.
    let out = snnergy(&[
        "train",
        p.to_str().unwrap(),
        "--resume",
        "--epochs",
        "3",
        "--no-verdict",
        "--out",
        dir.join("out-resumed").to_str().unwrap(),
    ]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("epoch 3/3") && !stderr.contains("epoch 2/3"),
        "{stderr}"
    );

    // The comparison of runs: table and plot.
    let cmp = dir.join("cmp");
    let out = snnergy(&[
        "train",
        "compare",
        dir.join("out").to_str().unwrap(),
        "--out",
        cmp.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("| l1 | activation-l1 |"), "{stdout}");
    assert!(
        std::fs::read_to_string(cmp.join("tradeoff.svg"))
            .unwrap()
            .starts_with("<svg")
    );
    assert!(cmp.join("tradeoff.csv").is_file());
}

/// Runs `snnergy train` on a pipeline and returns its stderr, expecting failure.
fn fails(name: &str, text_: &str) -> (String, PathBuf) {
    let dir = temp_dir(name);
    let p = dir.join("p.toml");
    std::fs::write(&p, text_).unwrap();
    let out = snnergy(&["train", p.to_str().unwrap(), "--no-verdict"]);
    assert!(!out.status.success(), "expected {name} to fail");
    (String::from_utf8_lossy(&out.stderr).into_owned(), p)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn bad_training_input_names_file_line_and_key() {
    // A negative regularizer weight.
    let t = pipeline(
        "",
        "[[train.regularizer]]\ntype = \"activation-l1\"\nweight = -1e-6",
    );
    let (err, p) = fails("negative", &t);
    let at = format!("{}:{}:", p.display(), line_of(&t, "weight = -1e-6"));
    assert!(err.contains(&at), "{err}");
    assert!(err.contains("train.regularizer[0].weight"), "{err}");

    // An unknown optimizer.
    let t = pipeline("optimizer = \"adan\"", "");
    let (err, p) = fails("optimizer", &t);
    let at = format!("{}:{}:", p.display(), line_of(&t, "adan"));
    assert!(err.contains(&at), "{err}");
    assert!(
        err.contains("train.optimizer") && err.contains("adamw"),
        "{err}"
    );

    // A learning rate of NaN.
    let t = pipeline("", "").replace("lr = 5e-3", "lr = nan");
    let (err, p) = fails("nan", &t);
    let at = format!("{}:{}:", p.display(), line_of(&t, "lr = nan"));
    assert!(err.contains(&at) && err.contains("train.lr"), "{err}");

    // A regularizer type that does not exist.
    let t = pipeline("", "[[train.regularizer]]\ntype = \"activation-l2\"");
    let (err, _) = fails("type", &t);
    assert!(err.contains("activation-l1"), "{err}");

    // Resuming from a checkpoint of another network names the tensor.
    let dir = temp_dir("other");
    let p = dir.join("p.toml");
    std::fs::write(&p, pipeline("", "").replace("epochs = 2", "epochs = 1")).unwrap();
    let out = snnergy(&["train", p.to_str().unwrap(), "--no-verdict"]);
    assert!(out.status.success(), "{}", text(&out).1);
    std::fs::write(
        &p,
        pipeline("", "").replace("out = 8, kernel = 3", "out = 6, kernel = 3"),
    )
    .unwrap();
    let out = snnergy(&["train", p.to_str().unwrap(), "--resume", "--no-verdict"]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains("conv2.weight"), "{err}");
}

#[test]
fn the_shipped_training_pipeline_trains_converts_and_prices_on_the_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text_ = std::fs::read_to_string(root.join("pipelines/train-fashion-mnist.toml")).unwrap();
    let mut doc: toml::Table = text_.parse().unwrap();
    let dir = temp_dir("shipped");
    let data = dir.join("data").display().to_string();
    // The shipped network and settings, on the fixture and for one short epoch.
    let train = doc["train"].as_table_mut().unwrap();
    train.remove("dataset");
    train.insert("data".into(), data.clone().into());
    train.insert("samples".into(), 256.into());
    train.insert("test_samples".into(), 100.into());
    train.insert("epochs".into(), 1.into());
    train.insert(
        "checkpoint".into(),
        dir.join("ckpt.safetensors").display().to_string().into(),
    );
    let activity = doc["activity"].as_table_mut().unwrap();
    activity.remove("dataset");
    activity.insert("data".into(), data.into());
    activity.insert("samples".into(), 100.into());
    doc["analysis"].as_table_mut().unwrap().insert(
        "output".into(),
        dir.join("out").display().to_string().into(),
    );
    let p = dir.join("shipped.toml");
    std::fs::write(&p, toml::to_string(&doc).unwrap()).unwrap();

    let out = snnergy(&["train", p.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("epoch 1/1"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/train.json")).unwrap())
            .unwrap();
    assert_eq!(summary["shift"], 0.5);
    let archs: Vec<&str> = summary["energy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["classical", "spatial", "neuromorphic"], "{stdout}");
    for e in summary["energy"].as_array().unwrap() {
        assert!(e["ratio"].as_f64().unwrap() > 0.0, "{e}");
    }
}

#[test]
fn the_train_section_keys_are_described_and_a_pipeline_without_one_points_there() {
    let out = snnergy(&["describe", "train"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for key in [
        "optimizer",
        "checkpoint",
        "crop_padding",
        "[[train.regularizer]]",
    ] {
        assert!(stdout.contains(&format!("  {key}\n")), "{key}: {stdout}");
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = root.join("pipelines/vgg16-cifar10.toml");
    let out = snnergy(&["train", p.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no [train] section") && stderr.contains("snnergy describe train"),
        "{stderr}"
    );
}

#[test]
fn an_oversized_batch_or_an_unwritable_checkpoint_fails_before_any_epoch() {
    let t = pipeline("", "").replace("batch = 50", "batch = 5000");
    let (err, _) = fails("batch", &t);
    assert!(
        err.contains("batch = 5000") && err.contains("200 training images"),
        "{err}"
    );
    assert!(!err.contains("epoch 1/"), "{err}");

    // The checkpoint's folder would have to be inside a file.
    let t = pipeline("", "").replace(
        "checkpoint = \"ckpt.safetensors\"",
        "checkpoint = \"p.toml/ckpt.safetensors\"",
    );
    let (err, _) = fails("unwritable", &t);
    assert!(
        err.contains("ckpt.safetensors") && err.contains("cannot write"),
        "{err}"
    );
    assert!(!err.contains("epoch 1/"), "{err}");
}
