//! Invariants the answer keeps whatever the inputs: the same network at the same operating
//! point is one number however it is reached, every point comparison agrees with the
//! break-even table, and the break-even does not depend on the rates a pipeline lists.

use snnergy::analysis::{Pipeline, Uniform};
use snnergy::core::Report;
use snnergy::core::report::{BreakEven, Verdict};

use crate::util as common;

/// The main job at `timesteps` with `rates` listed, without its sensitivity study and sweeps.
fn main_job(timesteps: &[u32], rates: &[f64]) -> Pipeline {
    let mut p = common::shipped("vgg16-cifar10.toml", timesteps, 0);
    p.settings.sensitivity = None;
    p.activity = std::sync::Arc::new(Uniform {
        spike_rates: rates.to_vec(),
        sparsity: Vec::new(),
        nonzero: None,
    });
    p
}

/// Whether `row`'s intervals say the SNN wins at mean spike rate `r`.
fn table_says_wins(row: &BreakEven, r: f64) -> bool {
    row.wins
        .iter()
        .any(|w| r > w.from && (r < w.to || w.reaches_top))
}

fn row<'a>(report: &'a Report, arch: &str, t: u32) -> &'a BreakEven {
    report
        .breakeven
        .iter()
        .find(|b| b.architecture == arch && b.timesteps == t)
        .unwrap_or_else(|| panic!("no break-even for {arch} at T = {t}"))
}

#[test]
fn every_point_comparison_agrees_with_the_break_even_intervals() {
    // 30 rates from 0.1 % to 30 %, geometric, at T = 4 and 6 on every architecture of the
    // main job.
    let rates: Vec<f64> = (0..30)
        .map(|i| 1e-3 * 300f64.powf(i as f64 / 29.0))
        .collect();
    let report = main_job(&[4, 6], &rates).run().unwrap();
    let mut checked = 0;
    for c in &report.comparisons {
        if c.verdict == Verdict::NoTwin {
            continue;
        }
        let b = row(&report, &c.architecture, c.timesteps);
        // A point exactly at an interval's end is where the energies are equal: no verdict
        // is owed there beyond the bisection's resolution.
        let at_edge = b.wins.iter().any(|w| {
            (c.spike_rate - w.from).abs() <= 1e-9 * c.spike_rate
                || (c.spike_rate - w.to).abs() <= 1e-9 * c.spike_rate
        });
        if at_edge {
            continue;
        }
        assert_eq!(
            c.verdict == Verdict::SnnWins,
            table_says_wins(b, c.spike_rate),
            "{} at T = {}, rate {}: the comparison says {:?} (ratio {}), the break-even table {:?}",
            c.architecture,
            c.timesteps,
            c.spike_rate,
            c.verdict,
            c.ratio,
            b.wins
        );
        checked += 1;
    }
    assert!(checked >= 150, "only {checked} comparisons checked");
}

#[test]
fn the_break_even_does_not_depend_on_the_listed_rates() {
    let a = main_job(&[1, 2, 6], &[0.05]).run().unwrap();
    let b = main_job(&[1, 2, 6], &[0.02]).run().unwrap();
    let c = main_job(&[1, 2, 6], &[0.001, 0.3]).run().unwrap();
    assert!(!a.breakeven.is_empty());
    for (x, y) in a
        .breakeven
        .iter()
        .zip(&b.breakeven)
        .chain(a.breakeven.iter().zip(&c.breakeven))
    {
        assert_eq!(
            (
                &x.architecture,
                x.timesteps,
                x.status,
                &x.wins,
                x.spike_rate
            ),
            (
                &y.architecture,
                y.timesteps,
                y.status,
                &y.wins,
                y.spike_rate
            ),
        );
    }
}

#[test]
fn one_network_at_one_point_is_one_number_however_it_is_reached() {
    // The same rate listed alone, listed among others, and probed by the sweep.
    let alone = main_job(&[6], &[0.05]).run().unwrap();
    let among = main_job(&[6], &[0.001, 0.05, 0.3]).run().unwrap();
    let mut p = main_job(&[6], &[0.001]);
    p.settings.sweep_points = 21; // 0, 5 %, 10 %, … of the uniform family's top (100 %)
    let swept = p.run().unwrap();
    for c in alone.comparisons.iter() {
        let d = among
            .comparisons
            .iter()
            .find(|d| d.architecture == c.architecture && d.spike_rate == c.spike_rate)
            .unwrap();
        assert_eq!(
            (c.snn_pj, c.baseline_pj),
            (d.snn_pj, d.baseline_pj),
            "{}",
            c.architecture
        );
        let s = swept
            .sweeps
            .iter()
            .find(|s| s.architecture == c.architecture)
            .unwrap();
        let i = s
            .spike_rates
            .iter()
            .position(|r| (r - 0.05).abs() < 1e-12)
            .expect("the sweep passes 5 %");
        let rel = |x: f64, y: f64| (x - y).abs() / y;
        assert!(rel(s.snn_pj[i], c.snn_pj) < 1e-12, "{}", c.architecture);
        assert!(
            rel(s.baseline_pj[i], c.baseline_pj) < 1e-12,
            "{}",
            c.architecture
        );
    }
}

#[test]
fn every_tornado_side_agrees_with_its_own_winning_intervals_and_a_run_making_its_choice() {
    // The classical chip's study at T = 6: each side's verdict at the operating point is the
    // one its break-even intervals give there (a row reads "holds" only when the re-mapped
    // point comparison agrees), integer parameters are swept over their meaningful range, and
    // a side on which the SNN never wins is drawn with a mark of its own.
    let mut p = common::shipped("vgg16-cifar10.toml", &[6], 0);
    p.architectures.retain(|a| a.label == "classical");
    p.settings.sensitivity.as_mut().unwrap().prices = false;
    let registry = common::registry();
    let report = p.run_with(Some(&registry)).unwrap();
    let t = &report.sensitivity[0];
    let r = t.spike_rate;
    let sides = std::iter::once(&t.nominal).chain(
        t.rows
            .iter()
            .flat_map(|row| [&row.low, &row.high].into_iter().flatten()),
    );
    let mut n = 0;
    for s in sides {
        if s.verdict == Verdict::NoTwin {
            continue;
        }
        let says = s
            .wins
            .iter()
            .any(|w| r > w.from && (r < w.to || w.reaches_top));
        assert_eq!(s.verdict == Verdict::SnnWins, says, "{s:?}");
        assert_eq!(s.verdict == Verdict::SnnWins, s.ratio < 1.0, "{s:?}");
        n += 1;
    }
    assert!(n > 10, "{n} sides");
    for b in [8, 64, 256] {
        let name = format!("batch = {b}");
        assert!(
            t.rows.iter().any(|row| row.name == name),
            "no row `{name}`: {:?}",
            t.rows.iter().map(|r| &r.name).collect::<Vec<_>>()
        );
    }
    let d = &t.decisive;
    assert!(
        d.ratio_low <= t.nominal.ratio && t.nominal.ratio <= d.ratio_high,
        "{d:?}"
    );
    // A structural choice's side is what a pipeline stating that choice gives: its layers are
    // mapped under the choice's own pins (the nominal mappings, which break them, are no
    // starting point there).
    let side = t
        .rows
        .iter()
        .find(|row| row.name == "dataflow = reuse-free")
        .and_then(|row| row.low.as_ref())
        .expect("a reuse-free side");
    let dir = common::temp_dir("reuse-free");
    let file = dir.join("reuse-free.toml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/vgg16-cifar10.toml"),
    )
    .unwrap()
    .replace(
        "loop_order = \"layer-major\"",
        "loop_order = \"layer-major\"\ndataflow = \"reuse-free\"",
    );
    std::fs::write(&file, text).unwrap();
    let mut direct = snnergy::analysis::Pipeline::from_file(&file, &registry).unwrap();
    direct.settings.timesteps = vec![6];
    direct.settings.sensitivity = None;
    direct.architectures.retain(|a| a.label == "classical");
    let direct = direct.run_with(Some(&registry)).unwrap();
    let c = direct
        .comparisons
        .iter()
        .find(|c| (c.spike_rate - r).abs() < 1e-12)
        .expect("the operating point");
    assert!(
        rel(side.ratio, c.ratio) < 1e-9,
        "tornado side {} vs a reuse-free run {}",
        side.ratio,
        c.ratio
    );
    let never = t.rows.iter().any(|row| {
        [&row.low, &row.high]
            .into_iter()
            .flatten()
            .any(|s| s.never_wins())
    });
    let svg = snnergy::report::plot::tornado(t).unwrap();
    assert_eq!(
        svg.contains("no spike rate makes the SNN win"),
        never || t.nominal.never_wins(),
        "the never-wins mark is drawn exactly when a side never wins"
    );
}

/// Relative difference of two figures (0 for two zeros).
fn rel(x: f64, y: f64) -> f64 {
    if x == y {
        0.0
    } else {
        (x - y).abs() / x.abs().max(y.abs())
    }
}

/// The main job at T = 1, with the shipped chips beside its three architectures.
fn at_one_step(rates: &[f64]) -> Pipeline {
    let file = common::repo().join("pipelines").join("vgg16-cifar10.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    for chip in ["eyeriss-like", "tpu-like", "output-stationary"] {
        text.push_str(&format!(
            "\n[[architecture]]\ntype = \"hardware\"\nname = \"{chip}\"\nenergy = \"horowitz-45nm\"\nchip = \"{chip}\"\n"
        ));
    }
    let mut p = Pipeline::from_toml(&text, Some(&file), &common::registry()).unwrap();
    p.settings.timesteps = vec![1];
    p.settings.sweep_points = 0;
    p.settings.headline_timesteps = None;
    p.settings.sensitivity = None;
    p.activity = std::sync::Arc::new(Uniform {
        spike_rates: rates.to_vec(),
        sparsity: Vec::new(),
        nonzero: None,
    });
    p
}

#[test]
fn at_one_step_the_snn_and_its_one_bit_twin_cost_the_same() {
    // With one step nothing carries to a next step: the SNN accumulates its 1-bit inputs,
    // compares with the threshold and emits one bit, exactly what its 1-bit twin does.
    let report = at_one_step(&[0.02, 0.2]).run().unwrap();
    let mut archs = std::collections::BTreeSet::new();
    for c in &report.comparisons {
        assert!(
            rel(c.snn_pj, c.baseline_pj) < 1e-9,
            "{} at rate {}: SNN {} pJ, twin {} pJ (SNN by category {:?}, twin {:?})",
            c.architecture,
            c.spike_rate,
            c.snn_pj,
            c.baseline_pj,
            c.snn_breakdown,
            c.baseline_breakdown
        );
        let (s, b) = (
            c.mapped.snn_latency_us.unwrap(),
            c.mapped.baseline_latency_us.unwrap(),
        );
        assert!(
            rel(s, b) < 1e-9,
            "{}: latency {s} vs {b} µs",
            c.architecture
        );
        archs.insert(c.architecture.clone());
    }
    assert_eq!(archs.len(), 6, "{archs:?}");
}

#[test]
fn at_one_step_a_spiking_transformer_and_its_one_bit_twin_cost_the_same() {
    // Attention multiplies two activations: the sums one product hands the next (Kᵀ·V) are as
    // wide in the one-bit twin as in the SNN at one step, whose values they are.
    for file in [
        "spikformer-4-384-cifar10.toml",
        "sdt-8-512-imagenet.toml",
        "sdt-v2-8-512-imagenet.toml",
    ] {
        let mut p = common::shipped(file, &[1], 0);
        p.settings.sensitivity = None;
        p.activity = std::sync::Arc::new(Uniform {
            spike_rates: vec![0.15],
            sparsity: Vec::new(),
            nonzero: None,
        });
        let report = p.run().unwrap();
        assert!(!report.comparisons.is_empty(), "{file}");
        for c in &report.comparisons {
            assert!(
                rel(c.snn_pj, c.baseline_pj) < 1e-9,
                "{file} on {}: SNN {} pJ, twin {} pJ (SNN by category {:?}, twin {:?})",
                c.architecture,
                c.snn_pj,
                c.baseline_pj,
                c.snn_breakdown,
                c.baseline_breakdown
            );
        }
    }
}
