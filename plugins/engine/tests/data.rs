//! Data readers on the committed fixture and on files made here.

use std::io::Write;

use snnergy_engine::{Dataset, Split};

#[test]
fn the_fashion_mnist_fixture_reads_as_300_labelled_images() {
    let d = crate::common::fixture();
    assert_eq!(d.len(), 300);
    assert_eq!(d.shape, [1, 28, 28]);
    // The first Fashion-MNIST test images are an ankle boot (9), a pullover (2), trousers (1).
    assert_eq!(&d.labels[..3], &[9, 2, 1]);
    assert!(d.labels.iter().all(|l| *l < 10));
    let x = d.batch(0..2);
    assert_eq!(x.len(), 2 * 784);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    let n = d
        .with_normalization(vec![0.2860], vec![0.3530])
        .unwrap()
        .batch(0..1);
    assert!(n.iter().any(|v| *v < 0.0));
}

fn write_idx(path: &std::path::Path, magic: u32, dims: &[u32], data: &[u8], gz: bool) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if gz {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&bytes).unwrap();
        bytes = e.finish().unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn raw_idx_files_read_like_gzipped_ones() {
    let dir = crate::common::temp_dir("idx-raw");
    let px: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8 * 10).collect();
    write_idx(
        &dir.join("train-images-idx3-ubyte"),
        0x803,
        &[2, 3, 4],
        &px,
        false,
    );
    write_idx(
        &dir.join("train-labels-idx1-ubyte.gz"),
        0x801,
        &[2],
        &[4, 7],
        true,
    );
    let d = Dataset::idx(&dir, Split::Train).unwrap();
    assert_eq!(d.shape, [1, 3, 4]);
    assert_eq!(d.labels, vec![4, 7]);
    assert_eq!(d.pixels, px);
}

#[test]
fn missing_and_corrupt_idx_files_are_named_with_the_expected_format() {
    let dir = crate::common::temp_dir("idx-bad");
    let msg = Dataset::idx(&dir, Split::Test).unwrap_err().to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte") && msg.contains("IDX"),
        "{msg}"
    );

    write_idx(
        &dir.join("t10k-images-idx3-ubyte"),
        0x803,
        &[5, 3, 4],
        &[0; 20],
        false,
    );
    write_idx(
        &dir.join("t10k-labels-idx1-ubyte"),
        0x801,
        &[5],
        &[0; 5],
        false,
    );
    let msg = Dataset::idx(&dir, Split::Test).unwrap_err().to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte") && msg.contains("60 bytes"),
        "{msg}"
    );

    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        b"\x1f\x8bnot gzip at all",
    )
    .unwrap();
    let msg = Dataset::idx(&dir, Split::Test).unwrap_err().to_string();
    assert!(msg.contains("gzip"), "{msg}");

    std::fs::write(dir.join("t10k-images-idx3-ubyte"), b"PK\x03\x04zip").unwrap();
    let msg = Dataset::idx(&dir, Split::Test).unwrap_err().to_string();
    assert!(msg.contains("not an IDX file"), "{msg}");
}

#[test]
fn an_empty_dataset_is_refused() {
    let dir = crate::common::temp_dir("idx-empty");
    write_idx(
        &dir.join("t10k-images-idx3-ubyte"),
        0x803,
        &[0, 28, 28],
        &[],
        false,
    );
    write_idx(&dir.join("t10k-labels-idx1-ubyte"), 0x801, &[0], &[], false);
    let msg = Dataset::idx(&dir, Split::Test).unwrap_err().to_string();
    assert!(msg.contains("no images"), "{msg}");
}

#[test]
fn cifar10_binary_batches_read_records_of_label_and_planes() {
    let dir = crate::common::temp_dir("cifar");
    let mut bytes = Vec::new();
    for (label, fill) in [(3u8, 10u8), (8, 200)] {
        bytes.push(label);
        for plane in 0..3u8 {
            bytes.extend(std::iter::repeat_n(fill + plane, 1024));
        }
    }
    std::fs::write(dir.join("test_batch.bin"), &bytes).unwrap();
    let d = Dataset::cifar10(&dir, Split::Test).unwrap();
    assert_eq!(d.shape, [3, 32, 32]);
    assert_eq!(d.labels, vec![3, 8]);
    let x = d.batch(1..2);
    assert_eq!(x[0], 200.0 / 255.0);
    assert_eq!(x[1024], 201.0 / 255.0);
    assert_eq!(x[2048], 202.0 / 255.0);

    std::fs::write(dir.join("test_batch.bin"), &bytes[..100]).unwrap();
    let msg = Dataset::cifar10(&dir, Split::Test).unwrap_err().to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("3072"),
        "{msg}"
    );
    let msg = Dataset::cifar10(&dir, Split::Train)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("data_batch_1.bin"), "{msg}");
}

#[test]
fn a_raw_file_whose_size_disagrees_with_its_header_is_refused_from_its_size() {
    let dir = crate::common::temp_dir("idx-sparse");
    // The header announces 3 images of 28 × 28; the (sparse) file is 8 GiB long.
    let path = dir.join("t10k-images-idx3-ubyte");
    let mut header = vec![0u8, 0, 8, 3];
    for d in [3u32, 28, 28] {
        header.extend(d.to_be_bytes());
    }
    std::fs::write(&path, &header).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let msg = snnergy_engine::data::idx_dims(&path)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("2352 bytes") && msg.contains("8589934576"),
        "{msg}"
    );
    // The header alone is enough for the dimensions of a file that agrees with it.
    std::fs::write(&path, [header.as_slice(), &[0u8; 3 * 784]].concat()).unwrap();
    assert_eq!(
        snnergy_engine::data::idx_dims(&path).unwrap(),
        vec![3, 28, 28]
    );
}
