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
                spike_rate: Some(f[1].parse().unwrap()),
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

/// The shipped example profile with input columns added: `extra` maps a layer to its cells
/// `input_density,input_nonzero,synapse_density,synapse_nonzero`; `rows` are appended.
fn with_inputs(extra: &[(&str, &str)], rows: &[&str]) -> String {
    let csv = std::fs::read_to_string(repo().join("pipelines/profiles/vgg16-cifar10-example.csv"))
        .unwrap();
    let mut out = String::new();
    for line in csv.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with("layer") {
            out += &format!("{line},input_density,input_nonzero,synapse_density,synapse_nonzero\n");
            continue;
        }
        let name = line.split(',').next().unwrap();
        let cells = extra
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .unwrap_or(",,,");
        out += &format!("{line},{cells}\n");
    }
    for r in rows {
        out += r;
        out.push('\n');
    }
    out
}

fn run_profile(csv: &str, name: &str) -> Result<snnergy::core::Report, snnergy::core::Error> {
    let dir = scratch(name);
    std::fs::write(dir.join("p.csv"), csv).unwrap();
    run_toml(&PIPELINE.replace("PROFILE", "p.csv"), &dir, "x.toml")
}

#[test]
fn measured_input_columns_replace_the_estimates_after_pooling() {
    let report = run_profile(
        &with_inputs(&[("features.7", "0.2,0.25,0.21,0.26")], &[]),
        "profile-inputs",
    )
    .unwrap();
    let c = &report.comparisons[0];
    let l = c.layers.iter().find(|l| l.layer == "features.7").unwrap();
    // The twin's pooled inputs as measured, not 1 − 0.59⁴ = 0.88; the SNN's events are the
    // spikes of features.3 the pool forwards, exact from its rate.
    assert_eq!(l.input_nonzero, 0.25);
    assert!((l.input_spike_rate - 4.0 * 0.12).abs() < 1e-12);
    // NeuroBench's counts take the synapses the measured inputs feed.
    let m = &report.metrics[0];
    let ml = m.layers.iter().find(|l| l.layer == "features.7").unwrap();
    assert!(ml.measured_input);
    assert_eq!(
        (ml.snn_input_density, ml.baseline_input_density),
        (0.21, 0.26)
    );
    let other = m.layers.iter().find(|l| l.layer == "features.10").unwrap();
    assert!(!other.measured_input);
}

#[test]
fn under_direct_coding_the_input_row_is_the_images_share_of_non_zero_pixels() {
    let report = run_profile(&with_inputs(&[], &["input,0.5,0.5,,,,"]), "profile-image").unwrap();
    let l = &report.comparisons[0].layers[0];
    assert_eq!((l.input_spike_rate, l.input_nonzero), (0.5, 0.5));
    let m = &report.metrics[0].layers[0];
    assert_eq!((m.snn_input_density, m.baseline_input_density), (0.5, 0.5));
    // A row of the first layer's own says the same more precisely, and wins.
    let report = run_profile(
        &with_inputs(
            &[("features.0", "0.4,0.4,0.45,0.45")],
            &["input,0.5,0.5,,,,"],
        ),
        "profile-image-own",
    )
    .unwrap();
    let m = &report.metrics[0].layers[0];
    assert_eq!(
        (m.snn_input_density, m.baseline_input_density),
        (0.45, 0.45)
    );
}

#[test]
fn the_readouts_row_may_give_only_what_reaches_it() {
    let report = run_profile(
        &with_inputs(&[], &["classifier,,,0.3,0.4,0.3,0.4"]),
        "profile-readout",
    )
    .unwrap();
    let l = report.comparisons[0].layers.last().unwrap();
    assert_eq!((l.layer.as_str(), l.input_nonzero), ("classifier", 0.4));
}

#[test]
fn bad_input_columns_are_errors_naming_the_layer_and_the_line() {
    let cases = [
        (
            with_inputs(&[("features.7", ",0.25,,")], &[]),
            "gives input columns without `input_density`",
        ),
        (
            with_inputs(&[("features.7", "1.5,0.25,,")], &[]),
            "`input_density` of layer `features.7` is 1.5, outside [0, 1]",
        ),
        (
            with_inputs(&[], &["classifier,,0.3,0.3,0.4,,"]),
            "gives its output's `nonzero` or `mean_level` without its `spike_rate`",
        ),
    ];
    for (csv, message) in cases {
        let err = run_profile(&csv, "profile-bad-inputs")
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{err}");
        assert!(err.contains("p.csv:"), "{err}");
    }
    let csv = with_inputs(&[], &[]).replace("features.7,0.10,", "features.7,,");
    let err = run_profile(&csv, "profile-no-rate")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer `features.7` has neurons and no `spike_rate`"),
        "{err}"
    );
}

#[test]
fn input_columns_read_back_alike_from_json_and_csv() {
    let dir = scratch("profiles-inputs-json-csv");
    let csv = with_inputs(
        &[("features.7", "0.2,0.25,0.21,0.26")],
        &["classifier,,,0.3,0.4,0.31,0.41"],
    );
    std::fs::write(dir.join("a.csv"), &csv).unwrap();
    let file = ProfileFile::read(&dir.join("a.csv")).unwrap();
    file.write(&dir.join("b.json")).unwrap();
    file.write(&dir.join("c.csv")).unwrap();
    // Rows as read, without the line numbers of a CSV.
    let rows = |f: ProfileFile| -> Vec<ProfileEntry> {
        f.layers
            .into_iter()
            .map(|e| ProfileEntry { line: None, ..e })
            .collect()
    };
    for name in ["b.json", "c.csv"] {
        assert_eq!(
            rows(ProfileFile::read(&dir.join(name)).unwrap()),
            rows(file.clone())
        );
    }
    let readout = file.layers.last().unwrap();
    assert_eq!(readout.spike_rate, None);
    assert_eq!(readout.synapse_nonzero, Some(0.41));
}

#[test]
fn activity_without_measured_inputs_is_labelled_an_over_estimate_after_pooling() {
    let report = run_profile(&with_inputs(&[], &[]), "profile-estimate").unwrap();
    let a = report
        .assumptions
        .iter()
        .find(|a| a.key == "densities after pooling")
        .unwrap();
    assert!(a.note.contains("over-estimates"), "{a:?}");
    let text = PIPELINE.replace(
        "[activity]\ntype = \"profile\"\npath = \"PROFILE\"",
        "[activity]\ntype = \"uniform\"\nspike_rates = [0.05]\nnonzero = 0.45",
    );
    let report = run_toml(&text, &scratch("uniform-estimate"), "u.toml").unwrap();
    let a = report
        .assumptions
        .iter()
        .find(|a| a.key == "densities after pooling")
        .unwrap();
    assert!(
        a.value.starts_with("estimated") && a.note.contains("over-estimate"),
        "{a:?}"
    );
}
