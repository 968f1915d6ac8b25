//! Honest verdicts: no "SNN wins" where no twin exists, break-even searches at real twins, and
//! nothing a pipeline says dropped or guessed in silence. Each test is one way the analysis used
//! to mislead a user.

use serde_json::Value;
use snnergy::report::Render as _;

use crate::util::{repo, run_toml, scratch};

const UNIFORM: &str = r#"[analysis]
timesteps = [6]
sweep_points = 11

[workload]
type = "vgg16"

[activity]
type = "uniform"
spike_rates = [0.05]

[[architecture]]
type = "classical"
energy = "horowitz-45nm"
"#;

/// Runs `text` as `<scratch>/pipeline.toml` and returns the error message.
fn error_of(text: &str, name: &str) -> String {
    match run_toml(text, &scratch(name), "pipeline.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn json(report: &snnergy::core::Report) -> Value {
    serde_json::from_str(&report.to_json()).unwrap()
}

#[test]
fn the_main_jobs_headline_point_has_a_twin() {
    let text = std::fs::read_to_string(repo().join("pipelines/vgg16-cifar10.toml")).unwrap();
    let mut p = snnergy::analysis::Pipeline::from_toml(
        &text,
        Some(&repo().join("pipelines/vgg16-cifar10.toml")),
        &crate::util::registry(),
    )
    .unwrap();
    p.settings.timesteps = vec![6];
    p.settings.sensitivity = None;
    p.settings.sweep_points = 0;
    let report = json(&p.run().unwrap());
    for c in report["comparisons"].as_array().unwrap() {
        let (r, rho) = (
            c["spike_rate"].as_f64().unwrap(),
            c["nonzero"].as_f64().unwrap(),
        );
        assert!(r <= rho && rho <= (6.0 * r).min(1.0), "{c}");
        assert_eq!(c["twin_consistent"], Value::Bool(true), "{c}");
        assert_ne!(c["verdict"], "no-twin", "{c}");
    }
}

#[test]
fn a_point_outside_the_twin_bound_gets_no_twin_verdict_in_report_and_json() {
    // The v1 headline: T = 6, r = 5 %, ρ held at 0.45 > r·T = 0.30.
    let text = UNIFORM
        .replace(
            "sweep_points = 11",
            "sweep_points = 11\ntwin = \"fixed-nonzero\"",
        )
        .replace(
            "spike_rates = [0.05]",
            "spike_rates = [0.05]\nnonzero = 0.45",
        );
    let report = run_toml(&text, &scratch("no-twin"), "pipeline.toml").unwrap();
    let j = json(&report);
    assert_eq!(j["comparisons"][0]["verdict"], "no-twin");
    let md = report.to_markdown(&[]);
    assert!(md.contains("no twin exists at this point"), "{md}");
    assert!(!md.contains("the SNN wins ("), "{md}");
    assert!(!md.contains("| SNN wins |"), "{md}");
    assert!(
        report.verdicts().iter().all(|v| !v.contains("SNN wins")),
        "{:?}",
        report.verdicts()
    );
    assert!(md.contains("## Warnings"), "{md}");
}

#[test]
fn a_break_even_search_moves_the_twins_nonzero_fraction_with_the_rate() {
    let text = UNIFORM
        .replace(
            "type = \"vgg16\"",
            "type = \"resnet18\"\ninput = \"imagenet\"",
        )
        .replace("timesteps = [6]", "timesteps = [6]\nmean_level = 3.2")
        .replace("spike_rates = [0.05]", "spike_rates = [0.0005]")
        // The first version's dataflow.
        .replace(
            "energy = \"horowitz-45nm\"",
            "energy = \"horowitz-45nm\"\ndataflow = \"reuse-free\"",
        );
    let report = json(&run_toml(&text, &scratch("moving-rho"), "pipeline.toml").unwrap());
    let b = &report["breakeven"][0];
    // Rebuilt on the mapper, the classical SNN loses to its twin at every rate: the SNN's
    // r·T spikes are never fewer events than the twin's ρ = r·T/L̄ non-zeros at L̄ = 3.2, and
    // it pays T neuron steps. No crossing in the rate.
    assert_eq!(b["status"], "snn-never-wins", "{b}");
    assert!(b["spike_rate"].is_null() && b["nonzero"].is_null(), "{b}");
    assert_eq!(b["twin"], "consistent", "{b}");
    // A twin of fewer levels has more non-zeros: if one wins for the SNN, its mean level
    // lies between one spike per non-zero and the pipeline's 3.2, where the SNN loses.
    match b["level_status"].as_str() {
        Some("snn-never-wins") => assert!(b["level_breakeven"].is_null(), "{b}"),
        Some("crossing") => {
            let l = b["level_breakeven"].as_f64().unwrap();
            assert!((1.0..3.2).contains(&l), "{b}");
        }
        other => panic!("level status {other:?}: {b}"),
    }
    // And the baseline's energy in the sweep moves with ρ.
    let base = report["sweeps"][0]["baseline_pj"].as_array().unwrap();
    assert!(
        base[10].as_f64().unwrap() > base[1].as_f64().unwrap(),
        "{base:?}"
    );
}

#[test]
fn a_stated_nonzero_fraction_under_twin_consistency_is_an_error_saying_what_to_do() {
    let text = UNIFORM.replace(
        "spike_rates = [0.05]",
        "spike_rates = [0.05]\nnonzero = 0.45",
    );
    let msg = error_of(&text, "stated-rho");
    assert!(
        msg.contains("nonzero") && msg.contains("fixed-nonzero") && msg.contains("mean_level"),
        "{msg}"
    );
}

#[test]
fn a_second_activity_table_is_an_error_at_its_line_not_dropped() {
    let text = UNIFORM.replace("[activity]", "[[activity]]").replace(
        "[[architecture]]",
        "[[activity]]\ntype = \"uniform\"\nspike_rates = [0.2]\n\n[[architecture]]",
    );
    let msg = error_of(&text, "two-activities");
    assert!(
        msg.contains("pipeline.toml:")
            && msg.contains("activity[1]")
            && msg.contains("one [activity]"),
        "{msg}"
    );
}

#[test]
fn a_second_energy_table_is_an_error_not_dropped() {
    let text = UNIFORM.replace(
        "[[architecture]]",
        "[[energy]]\ntype = \"paper-v1\"\n\n[[energy]]\ntype = \"yan-22nm\"\n\n[[architecture]]",
    );
    let msg = error_of(&text, "two-energies");
    assert!(
        msg.contains("energy[1]") && msg.contains("one [energy]"),
        "{msg}"
    );
}

#[test]
fn a_list_of_baselines_is_refused_with_what_to_do() {
    let text = UNIFORM.replace(
        "timesteps = [6]",
        "timesteps = [6]\nbaseline = [\"capacity-matched\", \"ann8\"]",
    );
    let msg = error_of(&text, "two-baselines");
    assert!(
        msg.contains("analysis.baseline") && msg.contains("one baseline"),
        "{msg}"
    );
}

const PROFILE: &str = r#"[analysis]
timesteps = [4, 8]
sweep_points = 0

[workload]
type = "vgg16"

[activity]
type = "profile"
path = "PATH"

[energy]
type = "paper-v1"

[[architecture]]
type = "paper-v1"
variant = "spatial"
"#;

/// A profile of every VGG16 neuron layer at `rate`, twin at ρ = `nonzero`, measured at `t`.
fn profile(rate: f64, nonzero: f64, t: Option<u32>) -> String {
    let net = snnergy::models::Vgg::new(
        snnergy::models::VggDepth::Vgg16,
        snnergy::models::ModelConfig::default(),
    );
    let net = snnergy::core::Workload::network(&net).unwrap();
    let mut s = String::from("layer,spike_rate,nonzero");
    if t.is_some() {
        s.push_str(",timesteps");
    }
    s.push('\n');
    for l in net.layers.iter().filter(|l| l.neuron) {
        s.push_str(&format!("{},{rate},{nonzero}", l.name));
        if let Some(t) = t {
            s.push_str(&format!(",{t}"));
        }
        s.push('\n');
    }
    s
}

#[test]
fn a_profile_path_with_t_reads_the_profile_of_each_t() {
    let dir = scratch("profile-per-t");
    std::fs::write(dir.join("p-T4.csv"), profile(0.1, 0.3, Some(4))).unwrap();
    std::fs::write(dir.join("p-T8.csv"), profile(0.05, 0.2, Some(8))).unwrap();
    let report = run_toml(&PROFILE.replace("PATH", "p-T{T}.csv"), &dir, "x.toml").unwrap();
    let rate = |t: u32| {
        report
            .comparisons
            .iter()
            .find(|c| c.timesteps == t)
            .unwrap()
            .spike_rate
    };
    assert!((rate(4) - 0.1).abs() < 1e-12);
    assert!((rate(8) - 0.05).abs() < 1e-12);
}

#[test]
fn a_profile_measured_at_another_t_is_an_error_naming_both() {
    let dir = scratch("profile-other-t");
    std::fs::write(dir.join("p.csv"), profile(0.1, 0.3, Some(4))).unwrap();
    let text = PROFILE
        .replace("PATH", "p.csv")
        .replace("timesteps = [4, 8]", "timesteps = [8]");
    let msg = run_toml(&text, &dir, "x.toml").unwrap_err().to_string();
    assert!(
        msg.contains("p.csv") && msg.contains("T = 4") && msg.contains("T = 8"),
        "{msg}"
    );
}

#[test]
fn rate_coding_with_a_profile_without_an_input_row_is_an_error_not_a_dense_guess() {
    let dir = scratch("profile-no-input");
    std::fs::write(dir.join("p.csv"), profile(0.1, 0.3, None)).unwrap();
    let text = PROFILE.replace("PATH", "p.csv").replace(
        "timesteps = [4, 8]",
        "timesteps = [4]\ninput_coding = \"rate\"",
    );
    let msg = run_toml(&text, &dir, "x.toml").unwrap_err().to_string();
    assert!(
        msg.contains("p.csv") && msg.contains("`input` row"),
        "{msg}"
    );
}

#[test]
fn a_headline_t_that_is_not_analysed_is_an_error_at_its_key() {
    let text = UNIFORM.replace(
        "timesteps = [6]",
        "timesteps = [4, 8]\nheadline_timesteps = 6",
    );
    let msg = error_of(&text, "headline");
    assert!(
        msg.contains("pipeline.toml:") && msg.contains("headline_timesteps") && msg.contains("6"),
        "{msg}"
    );
}

#[test]
fn a_repeated_t_is_an_error_not_tripled_rows() {
    let msg = error_of(
        &UNIFORM.replace("timesteps = [6]", "timesteps = [6, 6, 6]"),
        "dup-t",
    );
    assert!(
        msg.contains("analysis.timesteps") && msg.contains("more than once"),
        "{msg}"
    );
}

#[test]
fn requested_rates_come_back_as_written() {
    for activity in ["spike_rates = [0.05]", "sparsity = [0.95]"] {
        let text = UNIFORM.replace("spike_rates = [0.05]", activity);
        let report = run_toml(&text, &scratch("rates-as-written"), "pipeline.toml").unwrap();
        assert_eq!(report.comparisons[0].spike_rate, 0.05, "{activity}");
        let j = report.to_json();
        assert!(!j.contains("0.0500000000"), "{activity}");
        let md = report.to_markdown(&[]);
        assert!(md.contains("spike rate 5 %"), "{activity}: {md}");
    }
}
