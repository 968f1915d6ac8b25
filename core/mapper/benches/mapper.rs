//! Mapper speed and the VGG16 figures: mappings counted and priced per second per core, the
//! search's mappings evaluated per second (at one density, and at seven anchors at once as
//! an analysis searches), wall time and peak memory of mapping VGG16
//! (CIFAR-10) on the three shipped chips for T = 1..16 and both formats, and per-chip energy
//! by level. Run with `cargo bench -p snnergy-mapper`.
//!
//! `SNNERGY_MAPPER_BENCH=counter,search` runs only the listed sections (`counter`, `search`,
//! `density`, `quality`, `vgg16`, `levels`). `SNNERGY_MAPPER_BASELINE=<bench binary>` names
//! the same bench built from a previous commit (e.g. `git worktree add ../base <commit>` and
//! `cargo bench -p snnergy-mapper --no-run --target-dir ../base-target` there): its counter and
//! search figures are measured in turn with this build's, three times, and the ratios printed.

use std::process::Command;
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
    ticks("/proc/self/stat")
}

/// User + system CPU seconds of the calling thread: speeds per core are per CPU second, so
/// that other work on a shared machine does not move them.
fn thread_cpu_seconds() -> f64 {
    ticks("/proc/thread-self/stat")
}

fn ticks(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
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

/// The neighbours of a mapping a search step would try: two loops of one level swapped, or a
/// prime factor of one temporal loop moved to another level.
fn neighbours(m: &Mapping) -> Vec<Mapping> {
    let mut out = Vec::new();
    for (l, lm) in m.levels.iter().enumerate() {
        for i in 0..lm.temporal.len() {
            for j in i + 1..lm.temporal.len() {
                let mut v = m.clone();
                v.levels[l].temporal.swap(i, j);
                out.push(v);
            }
        }
    }
    for from in 0..m.levels.len() {
        for (i, lp) in m.levels[from].temporal.iter().enumerate() {
            let Some(f) = (2..=lp.factor).find(|f| lp.factor % f == 0) else {
                continue;
            };
            for to in 0..m.levels.len() {
                if to == from {
                    continue;
                }
                let mut v = m.clone();
                v.levels[from].temporal[i].factor /= f;
                let target = &mut v.levels[to].temporal;
                match target.iter_mut().find(|x| x.dim == lp.dim) {
                    Some(x) => x.factor *= f,
                    None => target.push(Loop {
                        dim: lp.dim,
                        factor: f,
                    }),
                }
                v.levels[from].temporal.retain(|x| x.factor > 1);
                out.push(v);
            }
        }
    }
    out
}

/// One layer on one chip with the legal mappings around its optimum.
struct Workload {
    problem: Problem,
    chip: usize,
    densities: Densities,
    mappings: Vec<Mapping>,
}

/// Mid-size and edge layers of VGG16 in both formats on every shipped chip, each with up to
/// 400 legal mappings within two search steps of its optimum.
fn counter_workloads(chips: &[Hardware]) -> Vec<Workload> {
    let net = vgg16();
    let layers = [
        (qnn(&net[5], 8), Densities::uniform(0.45)),
        (qnn(&net[1], 3), Densities::uniform(0.45)),
        (snn(&net[5], 6, false), Densities::uniform(0.05)),
        (snn(&net[0], 6, true), Densities::uniform(0.05)),
        (qnn(&net[13], 8), Densities::uniform(0.45)),
    ];
    let mut out = Vec::new();
    for (ci, hw) in chips.iter().enumerate() {
        for (p, d) in &layers {
            let best = map(p, hw, *d, &OwnPrices, &SearchOptions::default()).expect("maps");
            let mut scorer = Scorer::new(p, hw, &OwnPrices).expect("prices");
            let mut seen = vec![best.mapping.clone()];
            let mut frontier = vec![best.mapping.clone()];
            for _ in 0..2 {
                let next: Vec<Mapping> = frontier.iter().flat_map(neighbours).collect();
                frontier.clear();
                for m in next {
                    if !seen.contains(&m) {
                        seen.push(m.clone());
                        frontier.push(m);
                    }
                }
            }
            let mappings: Vec<Mapping> = seen
                .into_iter()
                .filter(|m| {
                    scorer
                        .candidate(m)
                        .is_ok_and(|c| scorer.score(&c, d).is_ok())
                })
                .take(400)
                .collect();
            out.push(Workload {
                problem: p.clone(),
                chip: ci,
                densities: *d,
                mappings,
            });
        }
    }
    out
}

/// Mappings counted and priced per second on one core (count + pricing, what the search does
/// per candidate), per CPU second, over the workloads for at least `seconds`.
fn counter_speed(chips: &[Hardware], work: &[Workload], seconds: f64) -> f64 {
    let mut sets = Vec::new();
    for w in work {
        let scorer = Scorer::new(&w.problem, &chips[w.chip], &OwnPrices).expect("prices");
        let cands: Vec<Candidate> = w
            .mappings
            .iter()
            .map(|m| scorer.candidate(m).expect("checked"))
            .collect();
        sets.push((scorer, cands, w.densities));
    }
    let t0 = Instant::now();
    let c0 = thread_cpu_seconds();
    let mut n = 0u64;
    let mut checksum = 0.0;
    while n == 0 || thread_cpu_seconds() - c0 < seconds {
        for (scorer, cands, d) in &mut sets {
            for c in cands.iter() {
                checksum += scorer.score(c, d).expect("legal").energy_pj();
                n += 1;
            }
        }
    }
    let cpu = thread_cpu_seconds() - c0;
    let wall = t0.elapsed().as_secs_f64();
    let rate = n as f64 / cpu;
    println!(
        "counter: {n} mappings counted and priced in {cpu:.2} s CPU ({wall:.2} s wall) = {rate:.0} mappings/s/core ({} distinct, checksum {checksum:.6e})",
        work.iter().map(|w| w.mappings.len()).sum::<usize>()
    );
    rate
}

/// The search's mappings evaluated per CPU second, searching a mid-size layer on every chip
/// for at least `seconds`.
fn search_speed(chips: &[Hardware], seconds: f64) -> f64 {
    let net = vgg16();
    let p = qnn(&net[5], 8);
    let d = Densities::uniform(0.45);
    let t0 = Instant::now();
    let c0 = thread_cpu_seconds();
    let mut evaluated = 0;
    while evaluated == 0 || thread_cpu_seconds() - c0 < seconds {
        for hw in chips {
            let m = map(&p, hw, d, &OwnPrices, &SearchOptions::default()).expect("maps");
            evaluated += m.evaluated;
        }
    }
    let cpu = thread_cpu_seconds() - c0;
    let wall = t0.elapsed().as_secs_f64();
    let rate = evaluated as f64 / cpu;
    println!(
        "speed: {evaluated} mappings evaluated by searches in {cpu:.2} s CPU ({wall:.2} s wall) = {rate:.0} mappings/s/core"
    );
    rate
}

/// The search's mappings evaluated per CPU second when, as an analysis does, each search
/// serves seven anchors at once (spike rates every half decade from 0.1 % to 100 %): a
/// mid-size layer in both formats on every chip, for at least `seconds`.
fn anchored_speed(chips: &[Hardware], seconds: f64) -> f64 {
    let net = vgg16();
    let layers = [qnn(&net[5], 3), snn(&net[5], 6, false)];
    let anchors: Vec<Densities> = (0..7)
        .map(|i| Densities::uniform(10f64.powf(-3.0 + 0.5 * i as f64)))
        .collect();
    let t0 = Instant::now();
    let c0 = thread_cpu_seconds();
    let mut evaluated = 0;
    while evaluated == 0 || thread_cpu_seconds() - c0 < seconds {
        for hw in chips {
            for p in &layers {
                let found =
                    map_anchored(p, hw, &anchors, &OwnPrices, &SearchOptions::default(), &[])
                        .expect("maps");
                evaluated += found.candidates[0].evaluated;
            }
        }
    }
    let cpu = thread_cpu_seconds() - c0;
    let wall = t0.elapsed().as_secs_f64();
    let rate = evaluated as f64 / cpu;
    println!(
        "anchored: {evaluated} mappings evaluated by searches at {} anchors in {cpu:.2} s CPU ({wall:.2} s wall) = {rate:.0} mappings/s/core",
        anchors.len()
    );
    rate
}

/// The figure printed on a line starting with `label` just before ` mappings/s/core`.
fn figure(output: &str, label: &str) -> Option<f64> {
    let line = output.lines().find(|l| l.starts_with(label))?;
    let head = line.split(" mappings/s/core").next()?;
    head.rsplit(' ').next()?.parse().ok()
}

/// This build's counter and search figures against a previous build's, measured in turn.
fn against_baseline(baseline: &str, chips: &[Hardware], work: &[Workload]) {
    let mut ratios: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..3 {
        let out = Command::new(baseline)
            .env("SNNERGY_MAPPER_BENCH", "counter,search")
            .env_remove("SNNERGY_MAPPER_BASELINE")
            .output()
            .expect("the baseline bench runs");
        let text = String::from_utf8_lossy(&out.stdout);
        println!("baseline round {round}:\n{}", text.trim_end());
        let ours = [
            counter_speed(chips, work, 1.0),
            search_speed(chips, 1.0),
            anchored_speed(chips, 1.0),
        ];
        for (i, label) in ["counter:", "speed:", "anchored:"].iter().enumerate() {
            if let Some(base) = figure(&text, label) {
                ratios[i].push(ours[i] / base);
            }
        }
    }
    for (i, what) in ["counter (count + pricing)", "search", "search at 7 anchors"]
        .iter()
        .enumerate()
    {
        let r = &mut ratios[i];
        if r.is_empty() {
            println!("vs baseline: {what}: the baseline printed no figure");
            continue;
        }
        r.sort_by(f64::total_cmp);
        let shown: Vec<String> = r.iter().map(|x| format!("{x:.2}")).collect();
        println!(
            "vs baseline: {what} mappings/s ×{:.2} (median of rounds: {})",
            r[r.len() / 2],
            shown.join(", ")
        );
    }
}

/// Re-evaluating a mapped layer at another density (what the analysis does per spike rate).
fn density_speed(chips: &[Hardware]) {
    let net = vgg16();
    let d = Densities::uniform(0.45);
    let m = map(
        &qnn(&net[5], 8),
        &chips[0],
        d,
        &OwnPrices,
        &SearchOptions::default(),
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
}

/// Search quality: the default search against a far more thorough one (every spatial
/// unrolling refined from two starts) on a few layers.
fn quality(chips: &[Hardware]) {
    let net = vgg16();
    let opts = SearchOptions::default();
    let thorough = SearchOptions {
        spatial_candidates: 1000,
        refined_candidates: 1000,
        refined_twice: 1000,
        min_utilization_ratio: 0.0,
        ..SearchOptions::default()
    };
    let mut gaps = Vec::new();
    for hw in chips {
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
}

/// The full job: VGG16 × 3 chips × T = 1..16 × (capacity-matched QNN, 8-bit ANN, SNN).
fn vgg16_job(chips: &[Hardware], mapper: &Mapper) {
    let net = vgg16();
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
    let opts = SearchOptions::default();
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
}

/// Energy per inference by level, VGG16 on one chip, for one format.
fn energy_by_level(
    hw: &Hardware,
    mapper: &Mapper,
    label: &str,
    make: &dyn Fn(&Problem, usize) -> Problem,
) {
    let net = vgg16();
    let dens = if label.starts_with("SNN") {
        Densities::uniform(0.05)
    } else {
        Densities::uniform(0.45)
    };
    let opts = SearchOptions::default();
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

fn main() {
    let chips: Vec<Hardware> = SHIPPED
        .iter()
        .map(|(n, _)| Hardware::shipped(n).expect("shipped chip"))
        .collect();
    let only = std::env::var("SNNERGY_MAPPER_BENCH").ok();
    let runs = |s: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == s));

    match std::env::var("SNNERGY_MAPPER_BASELINE") {
        Ok(base) if runs("counter") || runs("search") => {
            against_baseline(&base, &chips, &counter_workloads(&chips))
        }
        _ => {
            if runs("counter") {
                counter_speed(&chips, &counter_workloads(&chips), 1.0);
            }
            if runs("search") {
                search_speed(&chips, 1.0);
                anchored_speed(&chips, 1.0);
            }
        }
    }
    if runs("density") {
        density_speed(&chips);
    }
    if runs("quality") {
        quality(&chips);
    }
    let mapper = Mapper::new();
    if runs("vgg16") {
        vgg16_job(&chips, &mapper);
    }
    if runs("levels") {
        for hw in &chips {
            println!("\n== {} ==", hw.name);
            energy_by_level(hw, &mapper, "ANN 8-bit (rho 0.45)", &|l, _| qnn(l, 8));
            energy_by_level(hw, &mapper, "QNN 3-bit (rho 0.45)", &|l, _| qnn(l, 3));
            energy_by_level(hw, &mapper, "SNN T=6 (rate 0.05)", &|l, i| {
                snn(l, 6, i == 0)
            });
        }
    }
}
