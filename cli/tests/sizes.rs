//! Sizes that user data decides are checked before anything of that size is allocated, read
//! or decompressed: each case runs under a limit of address space far below what the size
//! asks for and must end in a located error within seconds, never in an abort, a signal or
//! gigabytes read.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::reliability::{fmnist_model, refused, scratch};

/// Runs snnergy with `args` in `dir` with at most `mib` MiB of address space; fails the test
/// if it takes more than a minute.
fn limited(dir: &Path, mib: u64, args: &[&str]) -> Output {
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
fn gzip_of_zeros(header: &[u8], n: u64) -> Vec<u8> {
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

fn idx_header(magic: u8, dims: &[u32]) -> Vec<u8> {
    let mut h = vec![0u8, 0, 8, magic];
    for d in dims {
        h.extend(d.to_be_bytes());
    }
    h
}

/// A model file of one convolution of `out` channels and a readout, on `input`.
fn conv_model(dir: &Path, name: &str, input: &str, out: &str) -> String {
    let file = format!("{name}.toml");
    std::fs::write(
        dir.join(&file),
        format!(
            r#"[workload]
type = "custom"
input = {input}
layers = [
  {{ op = "conv", name = "wide", out = {out}, kernel = 3, padding = 1 }},
  {{ op = "linear", name = "fc", out = 10 }},
]
"#
        ),
    )
    .unwrap();
    file
}

#[test]
fn engine_networks_too_large_for_memory_are_errors_naming_the_layer_not_aborts() {
    let d = scratch("sizes-shapes");
    for (name, out) in [("wrap", "4294967295"), ("e5", "100000"), ("e7", "10000000")] {
        let model = conv_model(&d, name, "[1, 28, 28]", out);
        let o = limited(
            &d,
            2048,
            &[
                "engine",
                "--model",
                &model,
                "--random-weights",
                "1",
                "--data",
                "data",
                "--samples",
                "4",
            ],
        );
        refused(&o, "memory_mib");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("layer `fc`") || e.contains("layer `wide`"),
            "{e}"
        );
    }
    // An input of 4096 × 1024 × 1024: refused against the data it should run on.
    let model = conv_model(&d, "huge-input", "[4096, 1024, 1024]", "8");
    let o = limited(
        &d,
        2048,
        &[
            "engine",
            "--model",
            &model,
            "--random-weights",
            "1",
            "--data",
            "data",
            "--samples",
            "4",
        ],
    );
    refused(&o, "4096×1024×1024");
}

#[test]
fn a_small_gzip_announcing_millions_of_images_is_refused_from_its_header() {
    let d = scratch("sizes-gzip-bomb");
    let count: u32 = 2_700_000;
    let images = gzip_of_zeros(&idx_header(3, &[count, 28, 28]), count as u64 * 784);
    assert!(images.len() < 8 << 20, "{} bytes", images.len());
    std::fs::write(d.join("data/t10k-images-idx3-ubyte.gz"), images).unwrap();
    std::fs::write(
        d.join("data/t10k-labels-idx1-ubyte.gz"),
        gzip_of_zeros(&idx_header(1, &[count]), count as u64),
    )
    .unwrap();
    let model = fmnist_model();
    // --samples 0: every image the header announces; 2.1 GB would be decompressed.
    let o = limited(
        &d,
        1024,
        &[
            "engine",
            "--model",
            &model,
            "--random-weights",
            "1",
            "--data",
            "data",
            "--samples",
            "0",
        ],
    );
    refused(&o, "synaptic_ops");
    assert!(String::from_utf8_lossy(&o.stderr).contains("2700000 images"));
}

#[test]
fn an_image_size_the_network_cannot_take_is_refused_from_the_header_alone() {
    let d = scratch("sizes-wide-images");
    // Announces 65535 × 65535 pixels per image: 4.3 GB for one.
    let mut images = idx_header(3, &[1, 65535, 65535]);
    images.extend(vec![0u8; 1 << 20]);
    let images = gzip_of_zeros(&images, 0);
    std::fs::write(d.join("data/t10k-images-idx3-ubyte.gz"), images).unwrap();
    std::fs::write(
        d.join("data/t10k-labels-idx1-ubyte.gz"),
        gzip_of_zeros(&idx_header(1, &[1]), 1),
    )
    .unwrap();
    let model = fmnist_model();
    let o = limited(
        &d,
        1024,
        &[
            "engine",
            "--model",
            &model,
            "--random-weights",
            "1",
            "--data",
            "data",
            "--samples",
            "1",
        ],
    );
    refused(&o, "65535×65535");
    refused(&o, "t10k-images-idx3-ubyte.gz");
    // A network that does take such images: refused by the memory one batch of them needs.
    let model = conv_model(&d, "wide-input", "[1, 65535, 65535]", "1");
    let o = limited(
        &d,
        1024,
        &[
            "engine",
            "--model",
            &model,
            "--random-weights",
            "1",
            "--data",
            "data",
            "--samples",
            "1",
        ],
    );
    refused(&o, "memory_mib");
}

#[test]
fn a_sparse_cifar_batch_that_is_not_whole_records_is_refused_from_its_size() {
    let d = scratch("sizes-sparse-cifar");
    std::fs::create_dir(d.join("cifar")).unwrap();
    let f = std::fs::File::create(d.join("cifar/test_batch.bin")).unwrap();
    f.set_len(6_000_000_001).unwrap();
    let o = limited(
        &d,
        2048,
        &[
            "engine",
            "--model",
            "vgg11",
            "--input",
            "cifar10",
            "--random-weights",
            "1",
            "--dataset",
            "cifar10",
            "--data",
            "cifar",
            "--samples",
            "0",
        ],
    );
    refused(&o, "not a whole number of CIFAR-10 records");
    refused(&o, "6000000001 bytes");
}

#[cfg(unix)]
#[test]
fn a_sparse_multi_gigabyte_file_given_as_a_plugin_is_refused_from_its_header() {
    let d = scratch("sizes-sparse-plugin");
    let lib = d.join(format!("libhuge{}", std::env::consts::DLL_SUFFIX));
    let f = std::fs::File::create(&lib).unwrap();
    f.set_len(5 << 30).unwrap();
    let name = lib.display().to_string();
    let o = limited(&d, 1024, &["plugin", "check", &name]);
    refused(&o, "not a loadable library");
    let o = limited(&d, 1024, &["--plugin", &name, "list"]);
    refused(&o, &name);
}
