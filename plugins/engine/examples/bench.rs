//! Throughput and peak memory of the engine on the VGG-style network of
//! `pipelines/engine-fashion-mnist.toml` (for 1×28×28 or 3×32×32 inputs), one kernel choice
//! per process so the peak memory is that path's own. Prints one JSON line.
//!
//! ```text
//! cargo run --release -p snnergy-engine --example bench -- \
//!     --weights W.safetensors --data DIR --dataset idx|cifar10 --channels 1 --size 28 \
//!     --timesteps 6 --batch 64 --batches 8 --path dense|sparse|auto
//! ```
//!
//! `plugins/engine/tools/bench.py` runs it next to the same network in PyTorch.

use std::path::PathBuf;
use std::time::Instant;

mod common;

use common::vgg_style;
use snnergy_engine::sim::{PathChoice, SnnConfig};
use snnergy_engine::{Dataset, Model, Split, run_images};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

/// User + system CPU time of this process (Linux), seconds: less sensitive than wall time to
/// other work on a shared machine.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut weights, mut data, mut dataset) = (None, None, String::from("idx"));
    let (mut channels, mut size, mut t, mut batch, mut batches) =
        (1u32, 28u32, 6u32, 64usize, 8usize);
    let mut path = PathChoice::Auto;
    let mut sparse_below = SnnConfig::default().sparse_below;
    let mut twin = true;
    while let Some(a) = args.next() {
        let mut v = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--weights" => weights = Some(PathBuf::from(v()?)),
            "--data" => data = Some(PathBuf::from(v()?)),
            "--dataset" => dataset = v()?,
            "--channels" => channels = v()?.parse()?,
            "--size" => size = v()?.parse()?,
            "--timesteps" => t = v()?.parse()?,
            "--batch" => batch = v()?.parse()?,
            "--batches" => batches = v()?.parse()?,
            "--sparse-below" => sparse_below = v()?.parse()?,
            "--no-twin" => twin = false,
            "--path" => {
                path = match v()?.as_str() {
                    "dense" => PathChoice::Dense,
                    "sparse" => PathChoice::Sparse,
                    "auto" => PathChoice::Auto,
                    other => return Err(format!("unknown path `{other}`").into()),
                }
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let net = vgg_style(&format!("vgg-style-{channels}x{size}"), channels, size);
    let model = match &weights {
        Some(w) => Model::load(net, w)?,
        None => Model::random(net, 1)?,
    };
    let compiled = model.compile()?;
    let data = data.ok_or("--data is required")?;
    let ds = match dataset.as_str() {
        "cifar10" => Dataset::cifar10(&data, Split::Test)?,
        _ => Dataset::idx(&data, Split::Test)?,
    };
    let cfg = SnnConfig {
        timesteps: t,
        path,
        sparse_below,
        twin,
        ..SnnConfig::default()
    };
    let n = (batch * batches).min(ds.len());
    // One warm-up batch (thread pool, buffers), then the timed batches.
    let x = ds.batch(0..batch.min(n));
    run_images(&compiled, &x, &ds.labels[..batch.min(n)], 0, &cfg)?;
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let mut spikes = 0u64;
    let mut neurons = 0u64;
    let mut b0 = 0;
    while b0 < n {
        let b1 = (b0 + batch).min(n);
        let x = ds.batch(b0..b1);
        let c = run_images(&compiled, &x, &ds.labels[b0..b1], b0 as u64, &cfg)?;
        for (l, lc) in compiled.network.layers.iter().zip(&c.layers) {
            if l.neuron {
                spikes += lc.spikes;
                neurons += l.neurons() * (b1 - b0) as u64;
            }
        }
        b0 = b1;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{{\"impl\": \"snnergy\", \"path\": \"{}\", \"input\": \"{channels}x{size}x{size}\", \"timesteps\": {t}, \"twin\": {twin}, \"batch\": {batch}, \"images\": {n}, \"seconds\": {secs:.4}, \"images_per_s\": {:.2}, \"cpu_seconds\": {cpu:.4}, \"spike_rate\": {:.5}, \"peak_rss_mib\": {:.1}, \"threads\": {}}}",
        match path {
            PathChoice::Dense => "dense",
            PathChoice::Sparse => "event-driven",
            PathChoice::Auto => "auto",
        },
        n as f64 / secs,
        spikes as f64 / (neurons as f64 * t as f64),
        peak_rss_mib(),
        rayon::current_num_threads()
    );
    Ok(())
}
