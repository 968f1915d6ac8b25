//! `snnergy map`: the mapping of one layer as a mapping-tool user inspects and exports it,
//! checked against what the library's analysis reports for the same layer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const VGG: &str = "pipelines/vgg16-cifar10.toml";

fn snnergy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(args)
        .current_dir(repo())
        .env_remove("SNNERGY_LOG")
        .output()
        .expect("the snnergy binary runs")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A VGG16 pipeline at T = 4 on the TPU-like chip (dense data, which ZigZag can take) in
/// `dir`, with `extra` lines in its architecture.
fn tpu_pipeline(dir: &Path, extra: &str) -> PathBuf {
    let pipeline = dir.join("tpu.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[analysis]\ntimesteps = [4]\n\n[workload]\ntype = \"vgg16\"\ninput = \"cifar10\"\n\n\
             [activity]\ntype = \"uniform\"\nspike_rates = [0.1]\n\n[[architecture]]\n\
             type = \"hardware\"\nchip = \"tpu-like\"\nenergy = \"horowitz-45nm\"\n{extra}"
        ),
    )
    .unwrap();
    pipeline
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The analysis of the VGG16 pipeline at T = 6 on one architecture, as `snnergy run` computes
/// it (without the break-even, sweep and sensitivity studies, which do not change it).
fn report_of(arch: &str) -> snnergy::core::Report {
    let registry = snnergy::registry().unwrap();
    let mut p = snnergy::analysis::Pipeline::from_file(&repo().join(VGG), &registry).unwrap();
    p.settings.timesteps = vec![6];
    p.settings.headline_timesteps = Some(6);
    p.settings.breakeven = false;
    p.settings.sweep_points = 0;
    p.settings.sensitivity = None;
    p.architectures.retain(|a| a.label == arch);
    p.run().unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-30)
}

#[test]
fn map_prints_both_formats_loop_nests_of_a_named_layer() {
    let out = snnergy(&[
        "map",
        VGG,
        "--arch",
        "classical",
        "--layer",
        "features.3",
        "-T",
        "6",
    ]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}\n{}", text(&out.stderr));
    for want in [
        "features.3 — SNN:",
        "features.3 — QNN twin:",
        "Loop nest (outermost first):",
        "DRAM [",
        "(Spatial-",
        "bound by",
        "reads",
        "fills",
        "updates",
        "Energy of `features.3` by level",
    ] {
        assert!(s.contains(want), "no `{want}` in:\n{s}");
    }
    assert_eq!(s.matches("<< compute >>").count(), 2, "{s}");
    // Only the named layer is shown.
    assert!(!s.contains("features.7"), "{s}");
}

#[test]
fn map_energies_are_the_reports_for_the_same_layer() {
    let out = snnergy(&[
        "map",
        VGG,
        "--arch",
        "classical",
        "--layer",
        "features.3",
        "-T",
        "6",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = json(&out);
    let report = report_of("classical");
    let c = &report.comparisons[0];
    let layer = c.layers.iter().find(|l| l.layer == "features.3").unwrap();
    let l = &got["layers"][0];
    assert_eq!(l["layer"], "features.3");
    let snn = l["snn"]["energy_pj"].as_f64().unwrap();
    let qnn = l["qnn"]["energy_pj"].as_f64().unwrap();
    assert!(close(snn, layer.snn_pj), "{snn} vs {}", layer.snn_pj);
    assert!(
        close(qnn, layer.baseline_pj),
        "{qnn} vs {}",
        layer.baseline_pj
    );
    assert!((got["spike_rate"].as_f64().unwrap() - c.spike_rate).abs() < 1e-12);
    assert!((got["nonzero"].as_f64().unwrap() - c.nonzero).abs() < 1e-12);
    // The loop nest shown is the one the report records.
    assert_eq!(
        l["snn"]["mapping"]["loop_nest"].as_str().unwrap(),
        layer.mapped.snn_mapping.as_ref().unwrap().loop_nest
    );
    assert_eq!(
        l["qnn"]["mapping"]["dataflow"].as_str().unwrap(),
        layer.mapped.baseline_mapping.as_ref().unwrap().dataflow
    );
    // Energy by level: the report's, place by place.
    for (side, by) in [
        ("snn_by_level", &layer.mapped.snn_by_level),
        ("baseline_by_level", &layer.mapped.baseline_by_level),
    ] {
        let shown = l["report"][side].as_array().unwrap();
        assert_eq!(shown.len(), by.len());
        for (s, r) in shown.iter().zip(by) {
            assert_eq!(s["level"].as_str().unwrap(), r.level);
            assert!(close(s["pj"].as_f64().unwrap(), r.pj));
        }
    }
    // The mapper's counts price to the layer's storage energy the report gives per level.
    let ev = &l["snn"]["evaluation"];
    let batch = l["snn"]["batch"].as_f64().unwrap();
    for level in ev["levels"].as_array().unwrap() {
        let name = level["level"].as_str().unwrap();
        let storage: f64 = level["spaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["energy_pj"].as_f64().unwrap() + s["metadata_pj"].as_f64().unwrap())
            .sum();
        let reported = layer
            .mapped
            .snn_by_level
            .iter()
            .find(|b| b.level == name)
            .map_or(0.0, |b| b.pj);
        assert!(
            close(storage / batch, reported),
            "{name}: mapper {storage} vs report {reported}"
        );
    }
}

#[test]
fn every_layer_is_listed_compactly_without_a_layer() {
    let out = snnergy(&["map", VGG, "--arch", "neuromorphic", "--format", "snn"]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}\n{}", text(&out.stderr));
    for layer in ["features.0", "features.3", "features.6", "classifier"] {
        assert!(s.contains(layer), "no `{layer}` in:\n{s}");
    }
    assert!(s.contains("weightless"), "{s}");
    assert!(
        !s.contains("QNN twin"),
        "--format snn shows only the SNN:\n{s}"
    );
}

/// `{dir}/{stem}.{ext}` for every document of one Timeloop export.
fn timeloop_files(dir: &Path, stem: &str) -> Vec<PathBuf> {
    [
        "architecture.yaml",
        "problem.yaml",
        "mapping.yaml",
        "ert.yaml",
    ]
    .iter()
    .map(|e| dir.join(format!("{stem}.{e}")))
    .collect()
}

#[test]
fn timeloop_export_parses_as_yaml_and_its_counts_are_the_ones_map_shows() {
    let dir = scratch("map-timeloop");
    let tl = dir.join("timeloop");
    let out = snnergy(&[
        "map",
        VGG,
        "--arch",
        "spatial",
        "--layer",
        "features.3",
        "--json",
        "--export-timeloop",
        tl.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    let got = json(&out);
    let l = &got["layers"][0];
    let mut exported = 0;
    for key in ["snn", "qnn"] {
        let stem = format!("features.3-{key}");
        let csv = tl.join(format!("{stem}.counts.csv"));
        if !csv.exists() {
            // A mapping Timeloop cannot express is refused with its place named.
            let title = if key == "snn" { "SNN" } else { "QNN twin" };
            assert!(
                err.contains(&format!(
                    "Timeloop export of layer `features.3` ({title}) on `spatial`"
                )) && err.contains("level `"),
                "no {stem} export and no refusal:\n{err}"
            );
            assert_eq!(out.status.code(), Some(2));
            continue;
        }
        exported += 1;
        for (file, top) in timeloop_files(&tl, &stem).into_iter().zip([
            "architecture",
            "problem",
            "mapping",
            "ERT",
        ]) {
            let doc: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(doc.get(top).is_some(), "{}: no `{top}`", file.display());
        }
        let table = std::fs::read_to_string(&csv).unwrap();
        let mut rows = table.lines();
        assert_eq!(
            rows.next().unwrap(),
            "level,data_space,timeloop_data_space,reads,fills,updates,reads_sent_up"
        );
        let mut shown: Vec<(String, String, f64, f64, f64)> = Vec::new();
        for level in l[key]["evaluation"]["levels"].as_array().unwrap() {
            for s in level["spaces"].as_array().unwrap() {
                shown.push((
                    level["level"].as_str().unwrap().to_string(),
                    s["data_space"].as_str().unwrap().to_string(),
                    s["reads"].as_f64().unwrap(),
                    s["fills"].as_f64().unwrap(),
                    s["updates"].as_f64().unwrap(),
                ));
            }
        }
        let exported_rows: Vec<(String, String, f64, f64, f64)> = rows
            .map(|r| {
                let f: Vec<&str> = r.split(',').collect();
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                    f[5].parse().unwrap(),
                )
            })
            .collect();
        assert!(!shown.is_empty());
        assert_eq!(exported_rows, shown, "{stem}: the export's counts");
    }
    assert!(exported > 0, "nothing exported:\n{err}");
}

#[test]
fn a_refused_export_names_its_place_and_the_other_export_still_happens() {
    let dir = scratch("map-refused");
    let (tl, zz) = (dir.join("timeloop"), dir.join("zigzag"));
    let out = snnergy(&[
        "map",
        VGG,
        "--arch",
        "spatial",
        "--layer",
        "features.3",
        "--format",
        "snn",
        "--export-zigzag",
        zz.to_str().unwrap(),
        "--export-timeloop",
        tl.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    // The spatial array's links carry address events: ZigZag has dense data only.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ZigZag export of layer `features.3` (SNN) on `spatial`")
            && err.contains("layer `features.3`")
            && err.contains("key `format`")
            && err.contains("dense data only"),
        "{err}"
    );
    assert!(!zz.join("features.3-snn.mapping.yaml").exists());
    let timeloop_refused = err.contains("Timeloop export");
    assert_eq!(
        tl.join("features.3-snn.counts.csv").exists(),
        !timeloop_refused,
        "{err}"
    );
    assert!(
        !err.contains("QNN"),
        "--format snn exports the SNN only: {err}"
    );
}

#[test]
fn both_exports_into_one_folder_are_refused_before_any_file_is_written() {
    let dir = scratch("map-one-folder");
    let d = dir.join("out");
    let out = snnergy(&[
        "map",
        VGG,
        "--arch",
        "spatial",
        "--export-timeloop",
        d.to_str().unwrap(),
        "--export-zigzag",
        d.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("give each its own folder"), "{err}");
    assert!(!d.exists());
}

#[test]
fn unknown_layer_lists_the_valid_ones() {
    let out = snnergy(&["map", VGG, "--arch", "classical", "--layer", "features.99"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no layer `features.99`")
            && err.contains("features.0, features.3")
            && err.contains("classifier"),
        "{err}"
    );
    let out = snnergy(&["map", VGG, "--arch", "classical", "--layer", "features.6"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`features.6` (avgpool) has no weights"),
        "{err}"
    );
}

#[test]
fn unknown_or_unmapped_architectures_are_named() {
    let out = snnergy(&["map", VGG, "--arch", "tpu"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no architecture `tpu`") && err.contains("classical, spatial, neuromorphic"),
        "{err}"
    );
    let out = snnergy(&["map", VGG]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("choose one with --arch"), "{err}");
    let out = snnergy(&["map", "pipelines/paper-v1.toml", "--arch", "v1-classical"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("architecture `v1-classical` (type `paper-v1`) has no loop-nest mapping"),
        "{err}"
    );
}

#[test]
fn rate_flag_sets_the_operating_point_with_the_twins_rho() {
    let out = snnergy(&[
        "map",
        VGG,
        "--arch",
        "classical",
        "--rate",
        "0.2",
        "-T",
        "6",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = json(&out);
    assert!((got["spike_rate"].as_f64().unwrap() - 0.2).abs() < 1e-12);
    // The pipeline's twin rule: ρ = r·T/L̄ with L̄ = T/2.
    assert!((got["nonzero"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    let out = snnergy(&["map", VGG, "--arch", "classical", "--rate", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--rate 1.5"));
}

#[test]
fn help_lists_the_map_command() {
    let out = snnergy(&["--help"]);
    let s = text(&out.stdout);
    assert!(out.status.success());
    assert!(s.lines().any(|l| l.trim_start().starts_with("map ")), "{s}");
}

#[test]
fn zigzag_export_says_what_it_changed_on_the_terminal_and_in_its_counts() {
    let dir = scratch("map-zigzag-changes");
    // The TPU-like chip streams dense data, so ZigZag can take its mappings.
    let pipeline = tpu_pipeline(&dir, "");
    let zz = dir.join("zigzag");
    let out = snnergy(&[
        "map",
        pipeline.to_str().unwrap(),
        "--layer",
        "features.3",
        "--export-zigzag",
        zz.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    for key in ["snn", "qnn"] {
        let ours: Value = serde_json::from_str(
            &std::fs::read_to_string(zz.join(format!("features.3-{key}.counts.json"))).unwrap(),
        )
        .unwrap();
        let changes: Vec<&str> = ours["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        // features.3 is padded by one line on each side: ZigZag multiplies on the padding.
        assert!(
            changes.iter().any(|c| c.starts_with("padding written")),
            "{changes:?}"
        );
        // The TPU-like chip keeps activations on chip between layers; ZigZag moves them.
        for ds in ["inputs", "outputs"] {
            assert!(
                changes
                    .iter()
                    .any(|c| c.starts_with(&format!("{ds} are free at `DRAM` for us"))),
                "{changes:?}"
            );
        }
        for c in &changes {
            let line = format!("note: ZigZag export of layer `features.3` ({key}): {c}");
            assert!(err.contains(&line), "{line} not in {err}");
        }
    }
    assert!(err.contains("time steps written as batch"), "{err}");
}

#[test]
fn zigzag_export_without_a_python_that_has_zigzag_says_so_and_keeps_the_export() {
    let dir = scratch("map-zigzag-no-python");
    let pipeline = tpu_pipeline(&dir, "");
    let zz = dir.join("zigzag");
    let missing = dir.join("no-such-python");
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["map", pipeline.to_str().unwrap(), "--layer", "features.3"])
        .arg("--export-zigzag")
        .arg(&zz)
        .current_dir(repo())
        .env_remove("SNNERGY_LOG")
        .env("SNNERGY_PYTHON", &missing)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "note: ZigZag's result is not printed beside ours: cannot run `{}`",
            missing.display()
        )),
        "{err}"
    );
    assert!(!text(&out.stdout).contains("beside ZigZag"));
    for key in ["snn", "qnn"] {
        assert!(zz.join(format!("features.3-{key}.counts.json")).is_file());
    }
}

#[test]
fn zigzag_export_of_a_dense_chip_parses_and_carries_the_evaluation_map_shows() {
    let dir = scratch("map-zigzag");
    // The TPU-like chip streams dense data, so ZigZag can take its mappings; a batch of 2
    // makes the mapper's counts per batch while the report's energies stay per inference.
    let pipeline = tpu_pipeline(&dir, "batch = 2\n");
    let zz = dir.join("zigzag");
    let out = snnergy(&[
        "map",
        pipeline.to_str().unwrap(),
        "--layer",
        "features.3",
        "--json",
        "--export-zigzag",
        zz.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let got = json(&out);
    assert_eq!(got["timesteps"], 4);
    for key in ["snn", "qnn"] {
        let stem = format!("features.3-{key}");
        for (ext, top) in [
            ("accelerator.yaml", "name"),
            ("accelerator-words.yaml", "name"),
            ("workload.yaml", ""),
            ("mapping.yaml", ""),
        ] {
            let file = zz.join(format!("{stem}.{ext}"));
            let doc: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(!doc.is_null(), "{}: empty", file.display());
            if !top.is_empty() {
                assert!(doc.get(top).is_some(), "{}: no `{top}`", file.display());
            }
        }
        let ours: Value = serde_json::from_str(
            &std::fs::read_to_string(zz.join(format!("{stem}.counts.json"))).unwrap(),
        )
        .unwrap();
        let f = &got["layers"][0][key];
        assert_eq!(f["batch"].as_f64(), Some(2.0));
        assert_eq!(ours["densities"], f["densities"]);
        let ev = &f["evaluation"];
        assert!(close(
            ours["ours"]["energy_pj"].as_f64().unwrap(),
            ev["dynamic_pj"].as_f64().unwrap()
        ));
        assert!(close(
            ours["ours"]["cycles"].as_f64().unwrap(),
            ev["cycles"].as_f64().unwrap()
        ));
        assert_eq!(ours["ours"]["bound"], ev["bound"]);
    }
}
