//! Per-layer activity profiles in JSON and CSV drive the analysis like a uniform assumption.

use snnergy::analysis::{ProfileEntry, ProfileFile};
use snnergy::core::report::BreakEvenStatus;

use crate::util::{repo, run_toml, scratch};

const PIPELINE: &str = r#"
[analysis]
timesteps = [6]
sweep_points = 0
# Break-even along the measured shape with ρ held, as the v1 closed forms take it.
twin = "fixed-nonzero"

[workload]
type = "vgg16"

[activity]
type = "profile"
path = "PROFILE"

[energy]
type = "paper-v1"

[[architecture]]
type = "paper-v1"
variant = "spatial"
"#;

#[test]
fn shipped_csv_profile_drives_a_per_layer_comparison() {
    let text = PIPELINE.replace("PROFILE", "profiles/vgg16-cifar10-example.csv");
    let report = run_toml(&text, &repo().join("pipelines"), "p.toml").unwrap();
    let c = &report.comparisons[0];
    assert_eq!(c.operating_point, "vgg16-cifar10-example.csv");
    // features.3 reads the spikes of features.0 (18 %).
    let l = c.layers.iter().find(|l| l.layer == "features.3").unwrap();
    assert!((l.input_spike_rate - 0.18).abs() < 1e-12);
    // The 2×2 average pool forwards the spikes of features.3 (12 %): features.7 sees four
    // times as many events per input element, and the twin forwards its four inputs'
    // non-zero values alike (ρ = 0.41 each).
    let l = c.layers.iter().find(|l| l.layer == "features.7").unwrap();
    assert!((l.input_spike_rate - 4.0 * 0.12).abs() < 1e-12);
    assert!((l.input_nonzero - 4.0 * 0.41).abs() < 1e-12);
    // Break-even scales the measured shape; the rate reported is the neuron-weighted mean.
    let b = &report.breakeven[0];
    assert_eq!(b.status, BreakEvenStatus::Crossing);
    assert!(b.spike_rate.unwrap() > 0.0 && b.spike_rate.unwrap() < 1.0);
}

#[test]
fn json_and_csv_profiles_with_the_same_rates_give_the_same_report() {
    let dir = scratch("profiles-json-csv");
    let csv = std::fs::read_to_string(repo().join("pipelines/profiles/vgg16-cifar10-example.csv"))
        .unwrap();
    std::fs::write(dir.join("p.csv"), &csv).unwrap();
    let entries: Vec<ProfileEntry> = csv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("layer"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            ProfileEntry {
                name: f[0].into(),
                spike_rate: f[1].parse().unwrap(),
                nonzero: Some(f[2].parse().unwrap()),
                ..ProfileEntry::default()
            }
        })
        .collect();
    ProfileFile {
        timesteps: Some(6),
        layers: entries,
        ..ProfileFile::default()
    }
    .write(&dir.join("p.json"))
    .unwrap();
    let a = run_toml(&PIPELINE.replace("PROFILE", "p.csv"), &dir, "x.toml").unwrap();
    let b = run_toml(&PIPELINE.replace("PROFILE", "p.json"), &dir, "x.toml").unwrap();
    assert_eq!(a.comparisons[0].snn_pj, b.comparisons[0].snn_pj);
    assert_eq!(a.breakeven, b.breakeven);
}
