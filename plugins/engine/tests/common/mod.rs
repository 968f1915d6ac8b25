//! Shared helpers of the engine tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use snnergy_core::{Network, NetworkBuilder, Shape};
use snnergy_engine::{Dataset, Split};

/// The committed fixture: the first 300 Fashion-MNIST test images.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fashion-mnist")
}

pub fn fixture() -> Dataset {
    Dataset::idx(&fixture_dir(), Split::Test).expect("fixture loads")
}

/// A fresh folder under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("snnergy-engine-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A small VGG-style network for 28×28×1 inputs: conv+BN, avgpool, conv+BN, avgpool, fc, fc.
pub fn small_vgg() -> Network {
    let mut b = NetworkBuilder::new("small-vgg", Shape::new(1, 28, 28));
    b.conv("conv1", 8, 3, 1, 1, false, Some("bn1".into()), true)
        .unwrap();
    b.pool("pool1", false, 2, 2, 0).unwrap();
    b.conv("conv2", 16, 3, 1, 1, false, Some("bn2".into()), true)
        .unwrap();
    b.pool("pool2", false, 2, 2, 0).unwrap();
    b.linear("fc1", 32, true, true);
    b.linear("fc2", 10, true, false);
    b.finish().unwrap()
}
