//! Evaluation speed and peak memory of the analytic path, measured in one process so the
//! figures are comparable on a shared machine:
//!
//! ```sh
//! cargo bench -p snnergy-cli --bench analytic            # -- --seconds 2 --sweep-points 1001
//! ```

use std::time::{Duration, Instant};

use snnergy::analysis::{ArchSlot, Evaluator, Pipeline, WorkloadSlot};
use snnergy::core::activity::OperatingPoint;
use snnergy::core::{AnalysisSettings, Network, Workload};

/// The shipped pipelines, so the benchmark does not depend on the working folder: the
/// paper-v1 closed forms (the analytic-core baseline) and the three first-principles
/// architectures of the main VGG16 job.
const PAPER_V1: &str = include_str!("../../pipelines/paper-v1.toml");
const VGG16_CIFAR10: &str = include_str!("../../pipelines/vgg16-cifar10.toml");

/// `--seconds S` (time spent on the layer-evaluation rate) and `--sweep-points N`.
struct BenchArgs {
    seconds: f64,
    sweep_points: u32,
}

impl BenchArgs {
    fn from_env() -> anyhow::Result<Self> {
        let mut a = BenchArgs {
            seconds: 2.0,
            sweep_points: 1001,
        };
        let args: Vec<String> = std::env::args().collect();
        for w in args.windows(2) {
            match w[0].as_str() {
                // A time Duration cannot hold (negative, NaN, 1e308) is refused, not
                // replaced by the default, so a typo is not mistaken for a measurement.
                "--seconds" => {
                    a.seconds = w[1]
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "--seconds {}: expected a number of seconds in (0, 86400]",
                                w[1]
                            )
                        })?
                }
                "--sweep-points" => {
                    a.sweep_points = w[1].parse().map_err(|e| {
                        anyhow::anyhow!("--sweep-points {}: expected a count: {e}", w[1])
                    })?
                }
                _ => {}
            }
        }
        Ok(a)
    }
}

/// Peak resident memory of this process (Linux), MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() -> anyhow::Result<()> {
    let args = BenchArgs::from_env()?;
    let registry = snnergy::registry()?;
    println!("snnergy analytic benchmark (one thread; figures from this run only)\n");
    let pipeline = Pipeline::from_toml(PAPER_V1, None, &registry)?;
    let main = Pipeline::from_toml(VGG16_CIFAR10, None, &registry)?;
    let vgg16 = snnergy::models::Vgg::new(
        snnergy::models::VggDepth::Vgg16,
        snnergy::models::ModelConfig::default(),
    )
    .network()?;

    // 1. Layer evaluations per second: every architecture of the paper-v1 pipeline and of the
    //    VGG16 pipeline on VGG16 (CIFAR), alternating SNN and baseline formats and varying the
    //    spike rate so nothing is constant-folded. Each architecture with the settings (bits,
    //    coding) of the pipeline that ships it: a table need not price every level at another
    //    pipeline's word widths.
    let slots = (pipeline.architectures.iter().map(|s| (&pipeline, s)))
        .chain(main.architectures.iter().map(|s| (&main, s)));
    for (owner, slot) in slots {
        for (label, network) in [
            ("its pipeline's network", &owner.workloads[0].network),
            ("vgg16-cifar10", &vgg16),
        ] {
            evaluations_per_second(owner, slot, label, network, args.seconds / 10.0)?;
        }
    }
    println!();

    // 2. The pipelines as shipped (T = 1..16, break-even, sweeps; the VGG16 one also runs
    //    its sensitivity study).
    for (name, p) in [("paper-v1", &pipeline), ("vgg16-cifar10", &main)] {
        let (r, dt) = time(|| p.run_with(Some(&registry)));
        r?;
        println!(
            "{name} pipeline, full run: {:>9.1} ms",
            dt.as_secs_f64() * 1e3
        );
    }

    // 3. VGG16 (CIFAR) sweep: T = 1..16 × N spike rates on every architecture of each
    //    pipeline, plus the break-even search per T.
    for p in [&pipeline, &main] {
        vgg16_sweep(p, &vgg16, args.sweep_points)?;
    }
    println!();
    match peak_rss_mib() {
        Some(m) => println!("peak resident memory:                        {m:>9.1} MiB"),
        None => println!("peak resident memory: not available on this system"),
    }
    Ok(())
}

/// Prints how many layers per second `slot` of `owner` evaluates on `network` in `seconds`.
fn evaluations_per_second(
    owner: &Pipeline,
    slot: &ArchSlot,
    label: &str,
    network: &Network,
    seconds: f64,
) -> anyhow::Result<()> {
    let settings = &owner.settings;
    // As the analysis prices it: a mapped chip completes the table with its own level prices.
    let energy = slot.arch.priced_by(slot.energy.as_ref());
    let mut ev = Evaluator::new(
        &slot.label,
        slot.arch.as_ref(),
        energy.as_ref(),
        network,
        settings.input_coding,
    );
    let snn = settings.snn_format(6);
    let base = settings.baseline_format(6);
    let mut points: Vec<OperatingPoint> = (0..64)
        .map(|i| OperatingPoint::uniform(network, i as f64 / 63.0, 0.45))
        .collect();
    points.rotate_left(1);
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut sink = 0.0;
    let mut i = 0usize;
    while start.elapsed() < budget {
        for _ in 0..64 {
            let p = &points[i % points.len()];
            let f = if i.is_multiple_of(2) { &snn } else { &base };
            sink += ev.total(f, p)?;
            i += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = ev.evaluations() as f64 / secs;
    println!(
        "layer evaluations/s  {:<14} ({:<13}) on {:<26} {:>12.0}  ({} layers × {} network evaluations, checksum {:.3e})",
        slot.label,
        slot.energy.name(),
        label,
        rate,
        network.layers.len(),
        i,
        sink
    );
    Ok(())
}

/// Times `p`'s architectures on VGG16 over T = 1..16 × `sweep_points` spike rates, with the
/// break-even search per T.
fn vgg16_sweep(p: &Pipeline, vgg16: &Network, sweep_points: u32) -> anyhow::Result<()> {
    let mut s = AnalysisSettings {
        timesteps: (1..=16).collect(),
        sweep_points,
        sensitivity: None,
        ..p.settings.clone()
    };
    s.title = Some("bench".into());
    let sweep = Pipeline {
        file: None,
        base_dir: p.base_dir.clone(),
        settings: s,
        workloads: vec![WorkloadSlot {
            label: "vgg16-cifar10".into(),
            network: vgg16.clone(),
        }],
        activity: p.activity.clone(),
        architectures: p.architectures.clone(),
        plugins: p.plugins.clone(),
        registry: None,
    };
    let (report, dt) = time(|| sweep.run());
    let report = report?;
    let points: usize = report.sweeps.iter().map(|s| s.snn_pj.len()).sum();
    let labels: Vec<&str> = p.architectures.iter().map(|a| a.label.as_str()).collect();
    println!(
        "VGG16 sweep, T = 1..16 × {} rates × {} architectures [{}] ({} SNN network evaluations + break-even): {:>9.1} ms",
        sweep_points,
        p.architectures.len(),
        labels.join(", "),
        points,
        dt.as_secs_f64() * 1e3
    );
    Ok(())
}
