//! Training throughput of the engine on the VGG-style network of
//! `pipelines/engine-fashion-mnist.toml`: QNN training steps (Q_T, BatchNorm, Adam) on
//! Fashion-MNIST training images. Prints one JSON line.
//!
//! ```text
//! cargo run --release -p snnergy-engine --example train_bench -- \
//!     --data /usr/share/datasets/fashion-mnist --batch 128 --steps 40 --warmup 3
//! ```
//!
//! `plugins/engine/tools/train_bench.py` runs it next to the same training in PyTorch.

use std::path::PathBuf;
use std::time::Instant;

mod common;

use common::vgg_style;
use snnergy_engine::train::{TrainConfig, Trainer, init_model};
use snnergy_engine::{Dataset, Split};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut data = PathBuf::from(snnergy_engine::data::DEBIAN_FASHION_MNIST);
    let (mut batch, mut steps, mut warmup) = (128usize, 40usize, 3usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--data" => data = PathBuf::from(v()?),
            "--batch" => batch = v()?.parse()?,
            "--steps" => steps = v()?.parse()?,
            "--warmup" => warmup = v()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let ds = Dataset::idx(&data, Split::Train)?;
    let cfg: TrainConfig = TrainConfig::from_table(&toml::from_str(
        "checkpoint = \"unused\"\noptimizer = \"adam\"\nlr = 1e-3",
    )?)?;
    let model = init_model(vgg_style("fmnist-vgg", 1, 28), 0)?;
    let mut trainer = Trainer::new(&model, &cfg, 6, Vec::new())?;
    let batches: Vec<(Vec<f32>, Vec<u8>)> = (0..warmup + steps)
        .map(|s| {
            let r = (s * batch) % (ds.len() - batch);
            (ds.batch(r..r + batch), ds.labels[r..r + batch].to_vec())
        })
        .collect();
    for (x, y) in &batches[..warmup] {
        trainer.step(x, y, 1e-3)?;
    }
    let start = Instant::now();
    let mut loss = 0.0;
    for (x, y) in &batches[warmup..] {
        loss = trainer.step(x, y, 1e-3)?.loss;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"impl\": \"snnergy\", \"batch\": {batch}, \"steps\": {steps}, \"seconds\": {secs:.4}, \"samples_per_s\": {:.1}, \"threads\": {}, \"last_loss\": {loss:.4}}}",
        (steps * batch) as f64 / secs,
        rayon::current_num_threads()
    );
    Ok(())
}
