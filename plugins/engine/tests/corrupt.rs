//! Damaged checkpoints and data files are named as damaged: an epoch beyond u32, NaN state,
//! a folder where the file should be, labels outside 0..=9.

use std::collections::HashMap;

use snnergy_engine::model::{read_tensors, write_tensors};
use snnergy_engine::train::{TrainConfig, Trainer, checkpoint};
use snnergy_engine::{Dataset, Model, Split};

fn config() -> TrainConfig {
    let mut t = toml::Table::new();
    t.insert("optimizer".into(), "adamw".into());
    t.insert("batch".into(), 4.into());
    t.insert("epochs".into(), 2.into());
    TrainConfig::from_table(&t).unwrap()
}

/// A checkpoint of the small network at `name`, with its metadata edited by `edit` and its
/// tensors by `tensors`.
fn damaged(
    name: &str,
    edit: impl FnOnce(&mut HashMap<String, String>),
    tensors: impl FnOnce(&mut std::collections::BTreeMap<String, snnergy_engine::model::Tensor>),
) -> std::path::PathBuf {
    let dir = crate::common::temp_dir(name);
    let good = dir.join("good.safetensors");
    let model = Model::random(crate::common::small_vgg(), 1).unwrap();
    let t = Trainer::new(&model, &config(), 6, Vec::new()).unwrap();
    checkpoint::save(&good, &t, false).unwrap();
    let (mut ts, mut meta) = read_tensors(&good).unwrap();
    edit(&mut meta);
    tensors(&mut ts);
    let bad = dir.join("bad.safetensors");
    write_tensors(&bad, &ts, meta, Default::default()).unwrap();
    bad
}

fn resume_error(path: &std::path::Path) -> String {
    match checkpoint::resume(path, crate::common::small_vgg(), &config(), 6, Vec::new()) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_epoch_beyond_u32_is_corruption_not_epoch_zero() {
    let p = damaged(
        "epoch-wrap",
        |m| {
            m.insert("snnergy.epoch".into(), "4294967296".into());
        },
        |_| {},
    );
    let e = resume_error(&p);
    assert!(e.contains("snnergy.epoch") && e.contains("corrupt"), "{e}");
}

#[test]
fn nan_optimizer_state_is_corruption_not_a_learning_rate_problem() {
    let p = damaged(
        "nan-state",
        |_| {},
        |ts| {
            let key = ts
                .keys()
                .find(|k| k.starts_with("optimizer."))
                .unwrap()
                .clone();
            ts.get_mut(&key).unwrap().data[0] = f32::NAN;
        },
    );
    let e = resume_error(&p);
    assert!(e.contains("corrupt") && !e.contains("learning rate"), "{e}");
}

#[test]
fn a_checkpoint_path_that_is_a_folder_says_so() {
    let dir = crate::common::temp_dir("checkpoint-folder");
    let e = resume_error(&dir);
    assert!(e.contains("is a folder"), "{e}");
}

#[test]
fn labels_outside_zero_to_nine_are_refused() {
    let dir = crate::common::temp_dir("labels-255");
    let mut images = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend([0u8; 8]);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 2, 3, 255],
    )
    .unwrap();
    let e = Dataset::idx(&dir, Split::Test).unwrap_err().to_string();
    assert!(e.contains("255") && e.contains("0..=9"), "{e}");
}

#[test]
fn only_the_images_asked_for_are_read() {
    let dir = crate::common::temp_dir("limited");
    let n = 5u32;
    let mut images = vec![0u8, 0, 8, 3];
    for v in [n, 2, 2] {
        images.extend(v.to_be_bytes());
    }
    images.extend((0..n * 4).map(|i| i as u8));
    // Trailing garbage after the announced data. A raw file's size shows it before anything
    // is read, so it is refused however few images are asked for.
    images.extend([7u8; 3]);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &images).unwrap();
    let mut labels = vec![0u8, 0, 8, 1];
    labels.extend(n.to_be_bytes());
    labels.extend([1u8, 2, 3, 4, 5]);
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    assert!(Dataset::idx(&dir, Split::Test).is_err());
    let e = Dataset::idx_limited(&dir, Split::Test, Some(2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("20 bytes") && e.contains("holds 23"), "{e}");
    // Gzipped, only decompressing shows it: refused when the whole file is read, never
    // reached when only two images are.
    std::fs::remove_file(dir.join("t10k-images-idx3-ubyte")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &images).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();
    assert!(Dataset::idx(&dir, Split::Test).is_err());
    let d = Dataset::idx_limited(&dir, Split::Test, Some(2)).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.pixels, (0..8).collect::<Vec<u8>>());
}
