//! The shipped paper-v1 pipeline reproduces the v1 closed forms of Yan et al. The expected
//! values are computed here from the published formulas, not by calling snnergy.

use snnergy::core::report::BreakEvenStatus;
use snnergy::report::Render as _;

use crate::util::{registry, repo};

const RHO: f64 = 0.45;
const F: f64 = 2395.0;
const R: f64 = 216.0;

fn ann(variant: &str) -> f64 {
    match variant {
        "v1-classical" => RHO * 80.23 + 2020.0 / R,
        _ => RHO * 20.23,
    }
}

/// SNN energy per synapse: slope in the spike rate and the rate-independent rest.
fn snn_terms(variant: &str, t: f64) -> (f64, f64) {
    match variant {
        "v1-classical" => (
            t * (64.32 + 0.03 / F),
            t * 64.35 / F + (2.0 * 2020.0 / R) * t / (t + 1.0),
        ),
        _ => (t * 20.03, t * 40.06 / F),
    }
}

fn report() -> snnergy::core::Report {
    let path = repo().join("pipelines/paper-v1.toml");
    snnergy::analysis::Pipeline::from_file(&path, &registry())
        .unwrap()
        .run()
        .unwrap()
}

#[test]
fn paper_v1_pipeline_reproduces_the_break_even_sparsity_of_the_closed_forms() {
    let report = report();
    assert_eq!(report.breakeven.len(), 2 * 16);
    for b in &report.breakeven {
        let t = b.timesteps as f64;
        let (slope, rest) = snn_terms(&b.architecture, t);
        let expected = (ann(&b.architecture) - rest) / slope;
        assert_eq!(b.status, BreakEvenStatus::Crossing);
        let got = b.spike_rate.unwrap();
        assert!(
            (got - expected).abs() < 1e-9,
            "{} T = {}: break-even {got}, closed form {expected}",
            b.architecture,
            b.timesteps
        );
        assert!((b.sparsity.unwrap() - (1.0 - expected)).abs() < 1e-9);
    }
    // The paper's headline: at T = 6 the SNN must be sparser than about 93 %.
    for b in report.breakeven.iter().filter(|b| b.timesteps == 6) {
        let s = b.sparsity.unwrap();
        assert!((0.92..0.93).contains(&s), "{}: {s}", b.architecture);
    }
}

#[test]
fn paper_v1_pipeline_reproduces_the_energy_per_synapse_at_94_19_percent_sparsity() {
    let report = report();
    let s_r = 1.0 - 0.9419;
    for c in &report.comparisons {
        let t = c.timesteps as f64;
        let (slope, rest) = snn_terms(&c.architecture, t);
        let snn = slope * s_r + rest;
        let base = ann(&c.architecture);
        assert!((c.spike_rate - s_r).abs() < 1e-12);
        assert!(
            (c.snn_pj_per_synapse - snn).abs() < 1e-9 * snn,
            "{} T = {}: {} vs {snn}",
            c.architecture,
            c.timesteps,
            c.snn_pj_per_synapse
        );
        assert!((c.baseline_pj_per_synapse - base).abs() < 1e-9 * base);
        assert!((c.ratio - snn / base).abs() < 1e-9);
        assert_eq!(c.baseline, "ann-8bit");
    }
    let at6: Vec<_> = report
        .comparisons
        .iter()
        .filter(|c| c.timesteps == 6)
        .collect();
    assert_eq!(at6.len(), 2);
    // Rounded to the third decimal as the paper's figures are read.
    let ratio = |name: &str| at6.iter().find(|c| c.architecture == name).unwrap().ratio;
    assert_eq!(format!("{:.3}", ratio("v1-classical")), "0.850");
    assert_eq!(format!("{:.3}", ratio("v1-spatial")), "0.778");
}

#[test]
fn paper_v1_report_lists_its_prices_and_their_source() {
    let report = report();
    assert!(report.sources.iter().any(|s| s.source.key == "paper-v1"));
    for action in ["add 8-bit", "mul 8-bit", "dram read 8-bit"] {
        assert!(
            report.prices.iter().any(|p| p.action == action),
            "{action} missing from {:?}",
            report.prices.iter().map(|p| &p.action).collect::<Vec<_>>()
        );
    }
    let md = report.to_markdown(&[]);
    assert!(md.contains("## Prices used") && md.contains("Yan, Bai, Wong"));
}
