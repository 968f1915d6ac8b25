//! Hardware plugins loaded from disk: the example gives exactly the numbers of the same model
//! linked statically, and every fault is a clear error naming the library, never an abort
//! and never a number from elsewhere.
//!
//! The libraries are built by the first test that needs them (one `cargo build` into this
//! test's own target folder; a no-op when `cargo build --workspace` ran before).

use snnergy::plugin_host::PluginRegistry as _;
use snnergy::report::Render as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use snnergy::analysis::Pipeline;
use snnergy::analysis::conformance::check_architecture;
use snnergy::core::{
    ActionKind, Actions, AnalysisSettings, Architecture, ComputeOp, EnergyModel, Kind, Network,
    Origin, Registry, Workload,
};
use snnergy::plugin_host::PluginErrorKind;

struct Libraries {
    systolic: PathBuf,
    fault: PathBuf,
    no_entry: PathBuf,
}

fn libraries() -> &'static Libraries {
    static LIBS: OnceLock<Libraries> = OnceLock::new();
    LIBS.get_or_init(|| {
        let paths = snnergy_plugin_sdk::testing::build_libraries(&[
            "snnergy-example-systolic",
            "snnergy-test-fault-plugin",
            "snnergy-test-no-entry",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        Libraries {
            systolic: paths[0].clone(),
            fault: paths[1].clone(),
            no_entry: paths[2].clone(),
        }
    })
}

fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh copy of `src` named `name` in the scratch folder, made once per test process.
/// Written under a temporary name and renamed, so a copy another process still has mapped is
/// never overwritten in place.
fn copy_of(src: &Path, name: &str) -> PathBuf {
    static MADE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let path = scratch().join(name);
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    if !made.iter().any(|m| m == name) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let tmp = scratch().join(format!(
            "{}.{}.tmp",
            name.replace('/', "-"),
            std::process::id()
        ));
        std::fs::copy(src, &tmp).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        made.push(name.to_string());
    }
    path
}

/// A copy of the fault plugin whose file name selects `mode`.
fn fault_copy(mode: &str) -> PathBuf {
    copy_of(
        &libraries().fault,
        &format!("fault-{mode}{}", std::env::consts::DLL_SUFFIX),
    )
}

fn builtins() -> Registry {
    snnergy::registry().unwrap()
}

fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "\\\\")
}

const MIXED: &str = r#"
[analysis]
timesteps = [1, 4, 6]
sweep_points = 11

[[workload]]
type = "vgg16"
input = "cifar10"

[[workload]]
type = "resnet20"
input = "cifar10"

[activity]
type = "uniform"
spike_rates = [0.02, 0.1]

[energy]
type = "horowitz-45nm"

[[architecture]]
type = "systolic-array"

[[architecture]]
type = "systolic-array"
name = "systolic-eyeriss"
energy = "eyeriss-relative"
rows = 64
cols = 32

[[architecture]]
type = "paper-v1"
variant = "spatial"
energy = "paper-v1"
"#;

/// The report as JSON without the one line that differs by design: the assumption naming
/// the plugin library an architecture came from.
fn without_plugin_assumption(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    for arch in v["architectures"].as_array_mut().unwrap() {
        if let Some(list) = arch["assumptions"].as_array_mut() {
            list.retain(|a| a["key"] != "plugin");
        }
    }
    v
}

#[test]
fn loaded_plugin_gives_the_same_report_as_the_statically_linked_model() {
    let mut linked = builtins();
    snnergy_plugin_sdk::register(&mut linked, snnergy_example_systolic::SNNERGY_COMPONENTS)
        .unwrap();
    let static_report = Pipeline::from_toml(MIXED, None, &linked)
        .unwrap()
        .run()
        .unwrap();

    let text = format!(
        "[plugins]\nload = [\"{}\"]\n{MIXED}",
        toml_path(&libraries().systolic)
    );
    let loaded_report = Pipeline::from_toml(&text, None, &builtins())
        .unwrap()
        .run()
        .unwrap();

    assert!(!static_report.comparisons.is_empty());
    assert_eq!(
        without_plugin_assumption(&loaded_report.to_json()),
        without_plugin_assumption(&static_report.to_json()),
        "the loaded plugin's report differs from the statically linked model's"
    );
    let plugin_rows = loaded_report
        .architectures
        .iter()
        .filter(|a| a.assumptions.iter().any(|x| x.key == "plugin"))
        .count();
    assert_eq!(
        plugin_rows, 2,
        "both systolic-array slots name their plugin"
    );
}

fn network(name: &str) -> Network {
    let mut params = toml::Table::new();
    params.insert("input".into(), "cifar10".into());
    let w: Box<dyn Workload> = builtins().build(name, params).unwrap();
    w.network().unwrap()
}

#[test]
fn a_layer_evaluated_alone_through_the_boundary_matches_the_linked_model() {
    let mut r = builtins();
    r.load_plugin(&libraries().systolic).unwrap();
    let loaded: Box<dyn Architecture> = r.build("systolic-array", toml::Table::new()).unwrap();
    let linked = snnergy_example_systolic::SystolicArray::new(Default::default()).unwrap();
    let net = network("resnet20");
    let settings = AnalysisSettings::default();
    let point = snnergy::core::OperatingPoint::uniform(&net, 0.07, 0.4);
    let acts = snnergy::core::activity::layer_activities(&net, &point, Default::default());
    for f in [settings.snn_format(6), settings.baseline_format(6)] {
        for (i, a) in acts.iter().enumerate() {
            let (mut x, mut y) = (Actions::new(), Actions::new());
            loaded.evaluate(&net, i, &f, a, &mut x).unwrap();
            linked.evaluate(&net, i, &f, a, &mut y).unwrap();
            assert_eq!(x.as_slice(), y.as_slice(), "layer {}", net.layers[i].name);
        }
    }
}

#[test]
fn loaded_example_passes_the_conformance_suite() {
    let mut r = builtins();
    r.load_plugin(&libraries().systolic).unwrap();
    let arch: Box<dyn Architecture> = r.build("systolic-array", toml::Table::new()).unwrap();
    let energy: Box<dyn EnergyModel> = r.build("horowitz-45nm", toml::Table::new()).unwrap();
    let settings = AnalysisSettings {
        timesteps: vec![1, 4, 8],
        ..Default::default()
    };
    for name in ["vgg16", "resnet20"] {
        check_architecture(
            "systolic-array",
            arch.as_ref(),
            energy.as_ref(),
            &network(name),
            &settings,
        )
        .assert_passed();
    }
}

#[test]
fn loading_a_library_twice_registers_it_once() {
    let mut r = builtins();
    let a = r.load_plugin(&libraries().systolic).unwrap();
    let count = r.infos(Kind::Architecture).len();
    let b = r.load_plugin(&libraries().systolic).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "the library is loaded once per path");
    assert_eq!(r.infos(Kind::Architecture).len(), count);
    // A second registry gets the same library, not a second copy.
    let c = builtins().load_plugin(&libraries().systolic).unwrap();
    assert!(Arc::ptr_eq(&a, &c));
}

#[test]
fn plugin_components_are_documented_and_name_their_library() {
    let mut r = builtins();
    let lib = r.load_plugin(&libraries().systolic).unwrap();
    let info = &r.find("systolic-array")[0];
    assert_eq!(info.origin, Origin::Plugin(lib.path().to_path_buf()));
    assert_eq!(info.kind, Kind::Architecture);
    assert!(
        info.params
            .iter()
            .any(|p| p.name == "rows" && p.doc.contains("128"))
    );
    assert_eq!(
        info.defaults.get("rows").and_then(|v| v.as_integer()),
        Some(128)
    );
    let energy = &r.find("eyeriss-relative")[0];
    assert_eq!(energy.kind, Kind::EnergyModel);
    assert_eq!(lib.abi_version(), (1, 0));
    assert!(
        lib.rustc_version().starts_with("rustc "),
        "{}",
        lib.rustc_version()
    );
}

fn load_error(path: &Path) -> snnergy::plugin_host::PluginError {
    builtins()
        .load_plugin(path)
        .expect_err("the library must be rejected")
}

fn assert_names(message: &str, path: &Path, what: &str) {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    assert!(
        message.contains(&path.display().to_string())
            || message.contains(&canonical.display().to_string()),
        "the error does not name the library {}: {message}",
        path.display()
    );
    assert!(
        message.contains(what),
        "the error does not say `{what}`: {message}"
    );
}

#[test]
fn a_missing_file_is_rejected_naming_it() {
    let path = scratch().join("no-such-plugin.so");
    let e = load_error(&path);
    assert_eq!(e.kind, PluginErrorKind::NotFound);
    assert_names(&e.to_string(), &path, "cannot open");
}

#[test]
fn a_file_that_is_not_a_library_is_rejected_naming_it() {
    let path = scratch().join(format!("not-a-plugin{}", std::env::consts::DLL_SUFFIX));
    std::fs::write(&path, "this is a text file, not a shared library\n").unwrap();
    let e = load_error(&path);
    assert_eq!(e.kind, PluginErrorKind::NotALibrary);
    assert_names(&e.to_string(), &path, "not a loadable library");
}

#[test]
fn a_library_without_the_entry_symbol_is_rejected_naming_it() {
    let e = load_error(&libraries().no_entry);
    assert_eq!(e.kind, PluginErrorKind::NoEntryPoint);
    assert_names(
        &e.to_string(),
        &libraries().no_entry,
        "no `snnergy_plugin_v1` symbol",
    );
}

#[test]
fn a_table_of_another_abi_major_is_rejected_naming_it() {
    let path = fault_copy("wrong-major");
    let e = load_error(&path);
    assert_eq!(e.kind, PluginErrorKind::AbiMismatch);
    assert_names(
        &e.to_string(),
        &path,
        "plugin ABI 2.0, this snnergy speaks ABI 1.0",
    );
}

#[test]
fn a_table_smaller_than_abi_1_0_is_rejected_naming_it() {
    let path = fault_copy("small-table");
    let e = load_error(&path);
    assert_eq!(e.kind, PluginErrorKind::TableTooSmall);
    assert_names(&e.to_string(), &path, "its table is 12 bytes");
}

#[test]
fn a_name_already_registered_is_rejected_naming_both_origins() {
    let path = fault_copy("duplicate");
    let mut r = builtins();
    let e = r.load_plugin(&path).expect_err("paper-v1 is taken");
    assert_eq!(e.kind, PluginErrorKind::Duplicate);
    assert_names(
        &e.to_string(),
        &path,
        "architecture `paper-v1`, which is already registered (built-in)",
    );
    assert_eq!(
        r.find("paper-v1")[0].origin,
        Origin::Builtin,
        "the built-in stays"
    );
}

/// Runs a pipeline with `fault-arch` (or the given table) from the fault plugin copy `mode`.
fn run_fault(mode: &str, architecture: &str) -> String {
    let path = fault_copy(mode);
    let text = format!(
        "[plugins]\nload = [\"{}\"]\n[analysis]\ntimesteps = 4\nsweep_points = 0\n[workload]\ntype = \"resnet20\"\n[energy]\ntype = \"horowitz-45nm\"\n{architecture}",
        toml_path(&path)
    );
    let pipeline = Pipeline::from_toml(&text, None, &builtins()).expect("the pipeline builds");
    let err = pipeline
        .run()
        .expect_err("the fault must surface as an error");
    let message = err.to_string();
    assert_names(&message, &path, "");
    message
}

#[test]
fn a_panic_in_evaluate_is_an_error_naming_the_plugin() {
    let arch = "[[architecture]]\ntype = \"fault-arch\"\n";
    let message = run_fault("panics", arch);
    assert!(
        message.contains("`evaluate` panicked: fault injected: evaluate panics"),
        "{message}"
    );
    assert!(
        message.contains("src/lib.rs"),
        "the panic's location is reported: {message}"
    );
    // The process goes on, and the plugin answers (with the same error) the next time too.
    assert_eq!(run_fault("panics", arch), message);
}

#[test]
fn invalid_json_from_evaluate_is_an_error_naming_the_plugin() {
    let message = run_fault("invalid-json", "[[architecture]]\ntype = \"fault-arch\"\n");
    assert!(
        message.contains("`evaluate` answered invalid JSON"),
        "{message}"
    );
}

#[test]
fn a_negative_count_is_an_error_naming_the_plugin() {
    let message = run_fault("negative", "[[architecture]]\ntype = \"fault-arch\"\n");
    assert!(message.contains("counted -5 × `add 8-bit`"), "{message}");
    assert!(
        message.contains("counts must be finite and non-negative"),
        "{message}"
    );
}

#[test]
fn a_negative_price_is_an_error_naming_the_plugin() {
    let message = run_fault(
        "negative",
        "[[architecture]]\ntype = \"paper-v1\"\nvariant = \"spatial\"\nenergy = \"fault-prices\"\n",
    );
    assert!(message.contains("`price` answered -1 pJ"), "{message}");
    assert!(
        message.contains("energy model `fault-prices` cannot price"),
        "{message}"
    );
}

#[test]
fn an_energy_model_plugin_prices_through_the_boundary() {
    let mut r = builtins();
    r.load_plugin(&fault_copy("healthy")).unwrap();
    let model: Box<dyn EnergyModel> = r.build("fault-prices", toml::Table::new()).unwrap();
    assert_eq!(model.name(), "fault-prices");
    assert_eq!(
        model
            .price(&ActionKind::compute(ComputeOp::Mul, 8))
            .unwrap()
            .pj,
        0.2
    );
    let e = model
        .price(&ActionKind::read(snnergy::core::Memory::Dram, 64, 0))
        .unwrap_err();
    assert!(e.reason.contains("prices arithmetic only"), "{e}");
}

#[test]
fn plugin_parameters_are_checked_like_built_in_ones() {
    let lib = toml_path(&libraries().systolic);
    let base = format!(
        "[plugins]\nload = [\"{lib}\"]\n[workload]\ntype = \"vgg16\"\n[energy]\ntype = \"horowitz-45nm\"\n[[architecture]]\ntype = \"systolic-array\"\n"
    );
    let e = Pipeline::from_toml(
        &format!("{base}rowz = 4\n"),
        Some(Path::new("p.toml")),
        &builtins(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("p.toml:9:") && e.contains("did you mean `rows`?"),
        "{e}"
    );
    let e = Pipeline::from_toml(
        &format!("{base}rows = 0\n"),
        Some(Path::new("p.toml")),
        &builtins(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("p.toml:9: `architecture[0].rows`: rows = 0"),
        "{e}"
    );
    assert_names(&e, &libraries().systolic, "");
}

#[test]
fn the_plugins_section_resolves_paths_against_the_pipeline_file() {
    let name = format!("systolic-copy{}", std::env::consts::DLL_SUFFIX);
    let lib = copy_of(&libraries().systolic, &format!("relative/{name}"));
    let dir = lib.parent().unwrap().to_path_buf();
    let pipeline = dir.join("pipeline.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[plugins]\nload = [\"{name}\"]\n[analysis]\nsweep_points = 0\nbreakeven = false\n[workload]\ntype = \"resnet20\"\n[energy]\ntype = \"horowitz-45nm\"\n[[architecture]]\ntype = \"systolic-array\"\n"
        ),
    )
    .unwrap();
    let report = Pipeline::from_file(&pipeline, &builtins())
        .unwrap()
        .run()
        .unwrap();
    assert!(report.comparisons.iter().all(|c| c.snn_pj > 0.0));

    std::fs::write(&pipeline, "[plugins]\nlaod = [\"x.so\"]\n").unwrap();
    let e = Pipeline::from_file(&pipeline, &builtins())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "pipeline.toml:2: `plugins.laod`: unknown key in [plugins]; did you mean `load`?"
        ),
        "{e}"
    );

    std::fs::write(
        &pipeline,
        "[workload]\ntype = \"resnet20\"\n\n[plugins]\nload = [\"missing.so\"]\n",
    )
    .unwrap();
    let e = Pipeline::from_file(&pipeline, &builtins())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pipeline.toml:5: `plugins.load[0]`: plugin "),
        "{e}"
    );
    assert!(e.contains("missing.so: cannot open the library"), "{e}");
}

/// Collects what the host's tracing subscriber prints.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plugin_log_records_reach_the_host_subscriber() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut r = builtins();
        // A copy of its own, loaded while this subscriber is the default.
        r.load_plugin(&fault_copy("logging")).unwrap();
        let _: Box<dyn Architecture> = r.build("fault-arch", toml::Table::new()).unwrap();
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("fault-arch built"), "{text}");
    assert!(
        text.contains("snnergy_test_fault_plugin"),
        "the plugin's target is kept: {text}"
    );
}

#[test]
fn a_sensitivity_study_varies_the_parameters_of_a_plugin_architecture() {
    let text = format!(
        "[plugins]\nload = [\"{}\"]\n[analysis]\ntimesteps = 4\nsweep_points = 0\n[analysis.sensitivity]\ntimesteps = 4\n[workload]\ntype = \"resnet20\"\n[activity]\ntype = \"uniform\"\nspike_rates = [0.01]\n[energy]\ntype = \"eyeriss-relative\"\n[[architecture]]\ntype = \"systolic-array\"\n",
        toml_path(&libraries().systolic)
    );
    let pipeline = Pipeline::from_toml(&text, None, &builtins()).unwrap();
    // As `snnergy run` does: the registry it has knows only the built-ins.
    let report = pipeline.run_with(Some(&builtins())).unwrap();
    let tornado = &report.sensitivity[0];
    assert!(
        tornado.notes.iter().all(|n| !n.contains("not varied")),
        "{:?}",
        tornado.notes
    );
    for key in ["rows", "cols", "act_sram_kib"] {
        assert!(
            tornado
                .rows
                .iter()
                .any(|r| r.kind == "parameter" && r.name == key),
            "no tornado row for `{key}`: {:?}",
            tornado.rows.iter().map(|r| &r.name).collect::<Vec<_>>()
        );
    }
}

#[test]
fn threads_evaluating_different_networks_through_one_instance_get_the_linked_numbers() {
    // The host names a network by number once the plugin holds it; two threads alternating
    // networks on one handle make the plugin ask for networks again, which must not change a
    // single number.
    let mut r = builtins();
    r.load_plugin(&libraries().systolic).unwrap();
    let loaded: Box<dyn Architecture> = r.build("systolic-array", toml::Table::new()).unwrap();
    let linked = snnergy_example_systolic::SystolicArray::new(Default::default()).unwrap();
    let nets = [network("resnet20"), network("vgg16")];
    let settings = AnalysisSettings::default();
    std::thread::scope(|s| {
        for net in &nets {
            let (loaded, linked, settings) = (&loaded, &linked, &settings);
            s.spawn(move || {
                for round in 0..10 {
                    let point =
                        snnergy::core::OperatingPoint::uniform(net, 0.01 * round as f64, 0.4);
                    let acts =
                        snnergy::core::activity::layer_activities(net, &point, Default::default());
                    let f = if round % 2 == 0 {
                        settings.snn_format(4)
                    } else {
                        settings.baseline_format(4)
                    };
                    loaded.check(net, &f).unwrap();
                    for (i, a) in acts.iter().enumerate() {
                        let (mut x, mut y) = (Actions::new(), Actions::new());
                        loaded.evaluate(net, i, &f, a, &mut x).unwrap();
                        linked.evaluate(net, i, &f, a, &mut y).unwrap();
                        assert_eq!(x.as_slice(), y.as_slice(), "{} layer {i}", net.name);
                    }
                }
            });
        }
    });
}

#[test]
fn a_plugin_that_asks_for_the_network_again_gets_it() {
    let text = |path: &Path| {
        format!(
            "[plugins]\nload = [\"{}\"]\n[analysis]\ntimesteps = [2, 4]\nsweep_points = 5\n[workload]\ntype = \"resnet20\"\n[energy]\ntype = \"fault-prices\"\n[[architecture]]\ntype = \"fault-arch\"\n",
            toml_path(path)
        )
    };
    let run = |mode: &str| {
        let p = Pipeline::from_toml(&text(&fault_copy(mode)), None, &builtins()).unwrap();
        p.run().unwrap().to_json()
    };
    // Every request after the first names the network by number; the forgetful copy answers
    // each with STATUS_NEED_NETWORK and gets the network again.
    assert_eq!(
        without_plugin_assumption(&run("forgetful")),
        without_plugin_assumption(&run("healthy"))
    );
}
