//! Mapper speed and the VGG16 figures: mappings evaluated per second per core, wall time and
//! peak memory of mapping VGG16 (CIFAR-10) on the three shipped chips for T = 1..16 and both
//! formats, and per-chip energy by level. Run with `cargo bench -p snnergy-mapper`.

use std::time::Instant;

use rayon::prelude::*;
use snnergy_mapper::*;

/// VGG16 for CIFAR-10 (13 conv layers, 3×3 stride 1 pad 1, and the 512 → 10 classifier).
fn vgg16() -> Vec<Problem> {
    let cfg: [(u64, u64, u64); 13] = [
        (3, 64, 32),
        (64, 64, 32),
        (64, 128, 16),
        (128, 128, 16),
        (128, 256, 8),
        (256, 256, 8),
        (256, 256, 8),
        (256, 512, 4),
        (512, 512, 4),
        (512, 512, 4),
        (512, 512, 2),
        (512, 512, 2),
        (512, 512, 2),
    ];
    let mut v: Vec<Problem> = cfg
        .iter()
        .enumerate()
        .map(|(i, &(c, k, hw))| Problem::conv(&format!("conv{}", i + 1), k, c, hw, hw, 3, 3, 1))
        .collect();
    v.push(Problem::linear("fc", 10, 512));
    v
}

fn qnn(p: &Problem, bits: u32) -> Problem {
    let mut q = p.clone();
    q.input_bits = bits;
    q.output_bits = bits;
    q.weight_bits = 8;
    q.accum_bits = 24;
    q
}

fn snn(p: &Problem, t: u64, first: bool) -> Problem {
    let mut s = p.clone().into_snn(t, 16);
    s.weight_bits = 8;
    s.accum_bits = 24;
    if first {
        // Direct coding: the analog image is accumulated once, then T neuron steps.
        s.t = 1;
        s.input_bits = 8;
        s.neuron_steps_per_accum = t;
    }
    s
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let chips: Vec<Hardware> = SHIPPED
        .iter()
        .map(|(n, _)| Hardware::shipped(n).expect("shipped chip"))
        .collect();
    let opts = SearchOptions::default();
    let net = vgg16();

    // 1. Evaluation speed on one core: a mapping search on a mid-size layer.
    let p = qnn(&net[5], 8);
    let t0 = Instant::now();
    let mut evaluated = 0;
    for hw in &chips {
        let m = map(&p, hw, Densities::uniform(0.45), &OwnPrices, &opts).expect("maps");
        evaluated += m.evaluated;
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "speed: {evaluated} mappings evaluated in {dt:.3} s on one core = {:.0} mappings/s/core",
        evaluated as f64 / dt
    );

    // Re-evaluating a mapped layer at another density (what the analysis does per spike rate).
    let m = map(
        &qnn(&net[5], 8),
        &chips[0],
        Densities::uniform(0.45),
        &OwnPrices,
        &opts,
    )
    .expect("maps");
    let t0 = Instant::now();
    let mut acc = 0.0;
    let n = 20_000;
    for i in 0..n {
        acc += m
            .evaluate(Densities::uniform(i as f64 / n as f64))
            .expect("evaluates")
            .energy_pj;
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "re-evaluation at a new density: {:.2} us each ({n} in {dt:.3} s; checksum {acc:.3e})",
        dt / n as f64 * 1e6
    );

    // Search quality: the default search against a far more thorough one (every spatial
    // unrolling refined from two starts) on a few layers.
    let thorough = SearchOptions {
        spatial_candidates: 1000,
        refined_candidates: 1000,
        refined_twice: 1000,
        min_utilization_ratio: 0.0,
        ..SearchOptions::default()
    };
    let mut gaps = Vec::new();
    for hw in &chips {
        for li in [0usize, 5, 12] {
            for (p, d) in [
                (qnn(&net[li], 3), Densities::uniform(0.45)),
                (snn(&net[li], 6, li == 0), Densities::uniform(0.05)),
            ] {
                let a = map(&p, hw, d, &OwnPrices, &opts).expect("maps");
                let b = map(&p, hw, d, &OwnPrices, &thorough).expect("maps");
                let (ea, eb) = (
                    a.evaluate(d).expect("evaluates").energy_pj,
                    b.evaluate(d).expect("evaluates").energy_pj,
                );
                gaps.push((ea / eb - 1.0) * 100.0);
                println!(
                    "quality: {:18} {:6} {:5}: default {:10.3} uJ ({:6} evaluated), thorough {:10.3} uJ ({:7} evaluated), default is {:+.1} %",
                    hw.name,
                    p.name,
                    if p.kind == Kind::Snn { "snn6" } else { "qnn3" },
                    ea / 1e6,
                    a.evaluated,
                    eb / 1e6,
                    b.evaluated,
                    (ea / eb - 1.0) * 100.0
                );
            }
        }
    }
    gaps.sort_by(f64::total_cmp);
    println!(
        "quality: median gap {:+.1} %, worst {:+.1} % over {} searches",
        gaps[gaps.len() / 2],
        gaps[gaps.len() - 1],
        gaps.len()
    );

    // 2. The full job: VGG16 × 3 chips × T = 1..16 × (capacity-matched QNN, 8-bit ANN, SNN).
    let mut jobs: Vec<(usize, Problem, Densities)> = Vec::new();
    for (ci, _) in chips.iter().enumerate() {
        for t in 1..=16u64 {
            let bits = (64 - t.leading_zeros()).max(1);
            for (li, layer) in net.iter().enumerate() {
                jobs.push((ci, qnn(layer, bits), Densities::uniform(0.45)));
                jobs.push((ci, qnn(layer, 8), Densities::uniform(0.45)));
                jobs.push((ci, snn(layer, t, li == 0), Densities::uniform(0.05)));
            }
        }
    }
    let mapper = Mapper::new();
    let c0 = cpu_seconds();
    let t0 = Instant::now();
    let total: u64 = jobs
        .par_iter()
        .map(|(ci, p, d)| {
            mapper
                .map(p, &chips[*ci], *d, &OwnPrices, &opts)
                .expect("maps")
                .evaluated
        })
        .sum();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - c0;
    println!(
        "vgg16 x 3 chips x T=1..16 x (qnn, ann8, snn): {} layer mappings ({} distinct searches, {total} mappings evaluated) in {wall:.2} s wall, {cpu:.2} s CPU on {} threads; peak RSS {} MiB",
        jobs.len(),
        mapper.searches(),
        rayon::current_num_threads(),
        peak_rss_kib() / 1024
    );

    // 3. Energy per inference by level, VGG16 on each chip.
    for hw in &chips {
        println!("\n== {} ==", hw.name);
        for (label, make) in [
            (
                "ANN 8-bit (rho 0.45)",
                Box::new(|l: &Problem, _: usize| qnn(l, 8))
                    as Box<dyn Fn(&Problem, usize) -> Problem>,
            ),
            (
                "QNN 3-bit (rho 0.45)",
                Box::new(|l: &Problem, _: usize| qnn(l, 3)),
            ),
            (
                "SNN T=6 (rate 0.05)",
                Box::new(|l: &Problem, i: usize| snn(l, 6, i == 0)),
            ),
        ] {
            let dens = if label.starts_with("SNN") {
                Densities::uniform(0.05)
            } else {
                Densities::uniform(0.45)
            };
            let mut by_level: Vec<(String, f64)> = Vec::new();
            let (mut e, mut leak, mut comp, mut us, mut macs) = (0.0, 0.0, 0.0, 0.0, 0.0);
            let mut described = Vec::new();
            for (i, layer) in net.iter().enumerate() {
                let p = make(layer, i);
                let m = mapper.map(&p, hw, dens, &OwnPrices, &opts).expect("maps");
                let ev = m.evaluate(dens).unwrap();
                e += ev.energy_pj;
                leak += ev.leakage_pj;
                comp += ev.compute_pj;
                us += ev.latency_us;
                macs += (layer.k * layer.c * layer.p * layer.q * layer.r * layer.s) as f64;
                for lr in &ev.levels {
                    match by_level.iter_mut().find(|(n, _)| *n == lr.level) {
                        Some(x) => x.1 += lr.total_pj,
                        None => by_level.push((lr.level.clone(), lr.total_pj)),
                    }
                }
                if i == 1 || i == 9 {
                    described.push(format!("  {}: {}\n{}", p.name, m.describe(), m.loop_nest()));
                }
            }
            let levels: Vec<String> = by_level
                .iter()
                .map(|(n, v)| format!("{n} {:.3} uJ", v / 1e6))
                .collect();
            println!(
                "{label}: {:.3} uJ/inference ({}; compute {:.3} uJ; leakage {:.3} uJ = {:.2} %), {:.3} pJ/MAC, latency {:.1} us",
                e / 1e6,
                levels.join(", "),
                comp / 1e6,
                leak / 1e6,
                100.0 * leak / e,
                e / macs,
                us
            );
            if std::env::var_os("SNNERGY_MAPPER_DESCRIBE").is_some() {
                for d in described {
                    println!("{d}");
                }
            }
        }
    }
}
