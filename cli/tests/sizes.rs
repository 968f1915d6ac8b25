//! Sizes that user data decides are checked before anything of that size is allocated, read
//! or decompressed: each case runs under a limit of address space far below what the size
//! asks for and must end in a located error within seconds, never in an abort, a signal or
//! gigabytes read.

use std::path::Path;

use super::support::{
    announce_images, fmnist_model, gzip_of_zeros, idx_header, limited, limited_engine, refused,
    scratch,
};

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
        let o = limited_engine(&d, 2048, &model, "4");
        refused(&o, "memory_mib");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("layer `fc`") || e.contains("layer `wide`"),
            "{e}"
        );
    }
    // An input of 4096 × 1024 × 1024: refused against the data it should run on.
    let model = conv_model(&d, "huge-input", "[4096, 1024, 1024]", "8");
    let o = limited_engine(&d, 2048, &model, "4");
    refused(&o, "4096×1024×1024");
}

#[test]
fn a_small_gzip_announcing_millions_of_images_is_refused_from_its_header() {
    let d = scratch("sizes-gzip-bomb");
    let count: u32 = 2_700_000;
    announce_images(&d, count);
    let model = fmnist_model();
    // --samples 0: every image the header announces; 2.1 GB would be decompressed.
    let o = limited_engine(&d, 1024, &model, "0");
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
    let o = limited_engine(&d, 1024, &model, "1");
    refused(&o, "65535×65535");
    refused(&o, "t10k-images-idx3-ubyte.gz");
    // A network that does take such images: refused by the memory one batch of them needs.
    let model = conv_model(&d, "wide-input", "[1, 65535, 65535]", "1");
    let o = limited_engine(&d, 1024, &model, "1");
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
