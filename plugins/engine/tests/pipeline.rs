//! `[activity] type = "engine"` in a pipeline: weights and data in, energy verdicts out.

use snnergy_analysis::Pipeline;
use snnergy_analysis::ProfileFile;
use snnergy_core::Registry;
use snnergy_engine::Model;

fn registry() -> Registry {
    // Name an item of each built-in crate so the linker keeps its registrations.
    let _keep: [*const (); 3] = [
        snnergy_archs::tables::builtin as *const (),
        snnergy_models::InputSpec::resolve as *const (),
        snnergy_engine::link as *const (),
    ];
    Registry::builtin().unwrap()
}

const WORKLOAD: &str = r#"
[workload]
type = "custom"
network = "small-vgg"
input = [1, 28, 28]
layers = [
  { op = "conv", name = "conv1", out = 8, kernel = 3, padding = 1, batchnorm = "bn1" },
  { op = "avgpool", name = "pool1", kernel = 2 },
  { op = "conv", name = "conv2", out = 16, kernel = 3, padding = 1, batchnorm = "bn2" },
  { op = "avgpool", name = "pool2", kernel = 2 },
  { op = "linear", name = "fc1", out = 32, bias = true },
  { op = "linear", name = "fc2", out = 10, bias = true },
]

[energy]
type = "paper-v1"

[[architecture]]
type = "paper-v1"
name = "v1-spatial"
variant = "spatial"
"#;

#[test]
fn an_engine_activity_turns_weights_and_data_into_verdicts_at_each_t() {
    let dir = crate::common::temp_dir("pipeline");
    Model::random(crate::common::small_vgg(), 21)
        .unwrap()
        .save(&dir.join("small.safetensors"))
        .unwrap();
    let toml = format!(
        r#"
[analysis]
timesteps = [4, 6]
sweep_points = 0
{WORKLOAD}
[activity]
type = "engine"
weights = "small.safetensors"
data = "{data}"
samples = 48
batch = 16
step_rates = true
profile = "profile-T{{T}}.json"
"#,
        data = crate::common::fixture_dir().display()
    );
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, &toml).unwrap();
    let pipeline = Pipeline::from_file(&file, &registry()).unwrap();
    let report = pipeline.run().unwrap();
    assert_eq!(report.comparisons.len(), 2);
    for c in &report.comparisons {
        assert!(
            c.operating_point.contains("engine"),
            "{}",
            c.operating_point
        );
    }
    for t in [4, 6] {
        let p = ProfileFile::read(&dir.join(format!("profile-T{t}.json"))).unwrap();
        assert_eq!(p.timesteps, Some(t));
        assert_eq!(p.samples, Some(48));
        let names: Vec<&str> = p.layers.iter().map(|l| l.name.as_str()).collect();
        // The neuron layers, then the readout's row: what reached it, no spikes of its own.
        assert_eq!(names, ["conv1", "conv2", "fc1", "fc2"]);
        for l in &p.layers[..3] {
            assert_eq!(l.step_rates.len(), t as usize);
            let mean = l.step_rates.iter().sum::<f64>() / t as f64;
            assert!((mean - l.spike_rate.unwrap()).abs() < 1e-12);
            assert!(l.nonzero.is_some() && l.neurons.is_some() && l.spikes.is_some());
        }
        assert_eq!(p.layers[0].neurons, Some(8 * 28 * 28));
        let readout = &p.layers[3];
        assert!(readout.spike_rate.is_none() && readout.nonzero.is_none());
        for l in &p.layers {
            assert!(
                l.input_density.is_some() && l.input_nonzero.is_some(),
                "{l:?}"
            );
            assert!(
                l.synapse_density.is_some() && l.synapse_nonzero.is_some(),
                "{l:?}"
            );
        }
    }
}

#[test]
fn a_measured_profile_written_as_csv_reads_back_as_the_same_operating_point() {
    let dir = crate::common::temp_dir("profile-csv");
    let net = crate::common::small_vgg();
    let compiled = Model::random(net.clone(), 3).unwrap().compile().unwrap();
    let data = crate::common::fixture().take(32);
    let cfg = snnergy_engine::SnnConfig::default();
    let m = snnergy_engine::run_dataset(
        &compiled,
        &data,
        &cfg,
        &snnergy_engine::RunOptions {
            ..Default::default()
        },
    )
    .unwrap();
    let profile = m.to_profile();
    let csv = dir.join("p.csv");
    let json = dir.join("p.json");
    profile.write(&csv).unwrap();
    profile.write(&json).unwrap();
    let a = ProfileFile::read(&csv)
        .unwrap()
        .to_point(&net, &csv, None)
        .unwrap();
    let b = ProfileFile::read(&json)
        .unwrap()
        .to_point(&net, &json, None)
        .unwrap();
    // serde_json's default float parser may be one ulp off the CSV reader's exact one.
    for (x, y) in a.layers.iter().zip(&b.layers) {
        assert!((x.spike_rate - y.spike_rate).abs() < 1e-15);
        assert!((x.nonzero - y.nonzero).abs() < 1e-15);
    }
    assert_eq!(a.measured_timesteps, Some(6));
    let back = ProfileFile::read(&csv).unwrap();
    assert_eq!(back.layers[0].spikes, Some(m.layers[0].spikes));
}

#[test]
fn engine_activity_errors_name_the_missing_file() {
    let dir = crate::common::temp_dir("pipeline-missing");
    let toml = format!(
        r#"
{WORKLOAD}
[activity]
type = "engine"
weights = "absent.safetensors"
data = "{data}"
"#,
        data = crate::common::fixture_dir().display()
    );
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, &toml).unwrap();
    let pipeline = Pipeline::from_file(&file, &registry()).unwrap();
    let msg = pipeline.run().unwrap_err().to_string();
    assert!(msg.contains("absent.safetensors"), "{msg}");

    let bad = toml.replace("type = \"engine\"", "type = \"engine\"\nthreshold = -1.0");
    let msg = Pipeline::from_toml(&bad, Some(&file), &registry())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("threshold"), "{msg}");
}

#[test]
fn an_engine_coding_other_than_the_analysis_input_coding_is_an_error() {
    let dir = crate::common::temp_dir("pipeline-coding");
    Model::random(crate::common::small_vgg(), 21)
        .unwrap()
        .save(&dir.join("small.safetensors"))
        .unwrap();
    let toml = format!(
        r#"
[analysis]
timesteps = [4]
input_coding = "direct"
{WORKLOAD}
[activity]
type = "engine"
weights = "small.safetensors"
data = "{data}"
samples = 16
coding = "rate"
"#,
        data = crate::common::fixture_dir().display()
    );
    let file = dir.join("pipeline.toml");
    let err = Pipeline::from_toml(&toml, Some(&file), &registry())
        .unwrap()
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("differs from [analysis] input_coding"),
        "{err}"
    );
}

fn engine_pipeline(dir: &std::path::Path, analysis: &str, activity: &str) -> String {
    Model::random(crate::common::small_vgg(), 21)
        .unwrap()
        .save(&dir.join("small.safetensors"))
        .unwrap();
    format!(
        r#"
[analysis]
sweep_points = 0
{analysis}
{WORKLOAD}
[activity]
type = "engine"
weights = "small.safetensors"
data = "{data}"
samples = 16
{activity}
"#,
        data = crate::common::fixture_dir().display()
    )
}

#[test]
fn an_engine_neuron_other_than_the_analysis_neuron_is_an_error() {
    let dir = crate::common::temp_dir("pipeline-neuron");
    let toml = engine_pipeline(&dir, "timesteps = [4]", "neuron = \"lif\"");
    let err = Pipeline::from_toml(&toml, Some(&dir.join("p.toml")), &registry())
        .unwrap()
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`activity.neuron` = \"lif\" differs from [analysis] neuron = \"if\""),
        "{err}"
    );
}

#[test]
fn a_profile_path_without_t_under_several_t_is_an_error_not_overwritten() {
    let dir = crate::common::temp_dir("pipeline-profile-t");
    let toml = engine_pipeline(&dir, "timesteps = [4, 6]", "profile = \"profile.csv\"");
    let err = Pipeline::from_toml(&toml, Some(&dir.join("p.toml")), &registry())
        .unwrap()
        .run()
        .unwrap_err()
        .to_string();
    assert!(err.contains("profile.csv") && err.contains("{T}"), "{err}");
    assert!(!dir.join("profile.csv").exists());
}

#[test]
fn a_measured_profile_records_the_twins_mean_level_and_the_analysis_uses_it() {
    let dir = crate::common::temp_dir("pipeline-levels");
    let toml = engine_pipeline(&dir, "timesteps = [4]", "profile = \"p-T{T}.csv\"");
    let report = Pipeline::from_toml(&toml, Some(&dir.join("p.toml")), &registry())
        .unwrap()
        .run()
        .unwrap();
    let p = ProfileFile::read(&dir.join("p-T4.csv")).unwrap();
    assert!(p.layers.iter().any(|l| l.mean_level.is_some()));
    // The neuron layers' rows (the readout's says only what reached it).
    for l in p.layers.iter().filter(|l| l.spike_rate.is_some()) {
        // A layer whose twin is silent has no mean level.
        assert_eq!(l.mean_level.is_some(), l.nonzero.unwrap() > 0.0, "{l:?}");
        if let Some(level) = l.mean_level {
            assert!((1.0..=4.0).contains(&level), "{l:?}");
        }
    }
    // The comparison's mean level is the measured one: spikes over non-zero activations.
    let c = &report.comparisons[0];
    assert!(c.mean_level.unwrap() >= 1.0, "{c:?}");
}

#[test]
fn the_analysis_prices_what_reached_each_layer_as_measured_not_as_estimated() {
    let dir = crate::common::temp_dir("pipeline-inputs");
    let toml = engine_pipeline(&dir, "timesteps = [4]", "profile = \"p-T{T}.csv\"");
    let report = Pipeline::from_toml(&toml, Some(&dir.join("p.toml")), &registry())
        .unwrap()
        .run()
        .unwrap();
    let p = ProfileFile::read(&dir.join("p-T4.csv")).unwrap();
    let row = |n: &str| p.layers.iter().find(|l| l.name == n).unwrap().clone();
    let c = &report.comparisons[0];
    let layer = |n: &str| c.layers.iter().find(|l| l.layer == n).unwrap().clone();
    // The image is about half background: both formats read it at its measured density.
    let image = row("conv1").input_density.unwrap();
    assert!((0.2..0.8).contains(&image), "{image}");
    assert_eq!(layer("conv1").input_spike_rate, image);
    assert_eq!(layer("conv1").input_nonzero, image);
    // After the pool, the twin's non-zero inputs as measured, below the estimate that takes
    // the four inputs of a window as independent; the SNN's events are conv1's spikes
    // forwarded through the window, four per output element.
    let conv1 = row("conv1");
    let estimate = 1.0 - (1.0 - conv1.nonzero.unwrap()).powi(4);
    let conv2 = layer("conv2");
    assert_eq!(conv2.input_nonzero, row("conv2").input_nonzero.unwrap());
    assert!(conv2.input_nonzero < estimate, "{conv2:?} {estimate}");
    assert!((conv2.input_spike_rate - 4.0 * conv1.spike_rate.unwrap()).abs() < 1e-12);
    // NeuroBench's counts come from the synapses the measured inputs fed.
    let m = &report.metrics[0];
    for l in &m.layers {
        let r = row(&l.layer);
        assert!(l.measured_input, "{l:?}");
        assert_eq!(l.snn_input_density, r.synapse_density.unwrap(), "{l:?}");
        assert_eq!(
            l.baseline_input_density,
            r.synapse_nonzero.unwrap(),
            "{l:?}"
        );
    }
    // The readout has no neurons, and its row says what reached it.
    assert_eq!(
        layer("fc2").input_nonzero,
        row("fc2").input_nonzero.unwrap()
    );
}
