//! What the areas' tests share: a scratch folder holding the fixture, snnergy run as a user
//! runs it (also under a limit of address space), how its exit is judged, and small files
//! that announce huge ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch folder holding the Fashion-MNIST fixture as `data/` (both splits) and a copy of
/// the shipped weights as `w.safetensors`.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("reliability")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("data")).unwrap();
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
    std::fs::copy(
        repo().join("pipelines/weights/fmnist-vgg-t6.safetensors"),
        d.join("w.safetensors"),
    )
    .unwrap();
    d
}

pub(crate) fn snnergy(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(args)
        .current_dir(dir)
        .env_remove("SNNERGY_PLUGIN_PATH")
        .output()
        .unwrap()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Refused: exit status 2 (never a signal, never a panic), the message containing `what`.
pub(crate) fn refused(o: &Output, what: &str) {
    let e = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected a refusal, got {:?}: {e}",
        o.status
    );
    assert!(!e.contains("panicked"), "{e}");
    assert!(e.contains(what), "the message should say `{what}`: {e}");
}

pub(crate) fn ok(o: &Output) {
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(o));
}

/// The engine pipeline's `[workload]`, for `--model`.
pub(crate) fn fmnist_model() -> String {
    repo()
        .join("pipelines/engine-fashion-mnist.toml")
        .display()
        .to_string()
}

/// `snnergy engine` on the engine pipeline's network with random weights and the fixture data,
/// followed by `extra`.
pub(crate) fn random_engine(dir: &Path, extra: &[&str]) -> Output {
    let model = fmnist_model();
    let mut args = vec![
        "engine",
        "--model",
        &model,
        "--random-weights",
        "1",
        "--data",
        "data",
    ];
    args.extend_from_slice(extra);
    snnergy(dir, &args)
}

/// The training pipeline, on the fixture, for one short epoch, checkpointing to `checkpoint`.
pub(crate) fn train_pipeline(checkpoint: &str) -> String {
    let text = std::fs::read_to_string(repo().join("pipelines/train-fashion-mnist.toml")).unwrap();
    let mut doc: toml::Table = toml::from_str(&text).unwrap();
    if let Some(toml::Value::Table(a)) = doc.get_mut("analysis") {
        a.remove("output");
    }
    if let Some(toml::Value::Table(a)) = doc.get_mut("activity") {
        a.insert("data".into(), "data".into());
        a.insert("samples".into(), 50.into());
        a.insert("weights".into(), checkpoint.into());
    }
    if let Some(toml::Value::Table(t)) = doc.get_mut("train") {
        t.insert("data".into(), "data".into());
        t.insert("epochs".into(), 1.into());
        t.insert("samples".into(), 128.into());
        t.insert("test_samples".into(), 50.into());
        t.insert("checkpoint".into(), checkpoint.into());
    }
    toml::to_string(&doc).unwrap()
}

pub(crate) fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// Runs snnergy with `args` in `dir` with at most `mib` MiB of address space; fails the test
/// if it takes more than a minute.
pub(crate) fn limited(dir: &Path, mib: u64, args: &[&str]) -> Output {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let start = Instant::now();
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec '{}' {}",
            mib * 1024,
            env!("CARGO_BIN_EXE_snnergy"),
            quoted.join(" ")
        ))
        .current_dir(dir)
        .env_remove("SNNERGY_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{args:?} took {:?}",
        start.elapsed()
    );
    o
}

/// A gzip file of `n` zero bytes after `header`, made of repeated members so it stays small.
pub(crate) fn gzip_of_zeros(header: &[u8], n: u64) -> Vec<u8> {
    use std::io::Write as _;
    let member = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let mut out = member(header);
    let block = 1 << 20;
    let full = member(&vec![0u8; block]);
    for _ in 0..n / block as u64 {
        out.extend_from_slice(&full);
    }
    out.extend(member(&vec![0u8; (n % block as u64) as usize]));
    out
}

/// The header of an IDX file of unsigned bytes (`magic` 1 labels, 3 images) of `dims`.
pub(crate) fn idx_header(magic: u8, dims: &[u32]) -> Vec<u8> {
    let mut h = vec![0u8, 0, 8, magic];
    for d in dims {
        h.extend(d.to_be_bytes());
    }
    h
}

/// `snnergy engine` on `model` with random weights and the fixture data, `samples` images,
/// under at most `mib` MiB of address space.
pub(crate) fn limited_engine(dir: &Path, mib: u64, model: &str, samples: &str) -> Output {
    limited(
        dir,
        mib,
        &[
            "engine",
            "--model",
            model,
            "--random-weights",
            "1",
            "--data",
            "data",
            "--samples",
            samples,
        ],
    )
}

/// Writes a test split into `dir/data` that announces `count` images of 28 × 28 pixels and
/// their labels, as gzip files of a few MiB.
pub(crate) fn announce_images(dir: &Path, count: u32) {
    let images = gzip_of_zeros(&idx_header(3, &[count, 28, 28]), count as u64 * 784);
    assert!(images.len() < 8 << 20, "{} bytes", images.len());
    std::fs::write(dir.join("data/t10k-images-idx3-ubyte.gz"), images).unwrap();
    std::fs::write(
        dir.join("data/t10k-labels-idx1-ubyte.gz"),
        gzip_of_zeros(&idx_header(1, &[count]), count as u64),
    )
    .unwrap();
}
