//! What a careless or hostile input must never do: destroy a file, give a wrong answer
//! through overflow, run without bound, mix two runs' outputs, or end the process by a
//! signal. One test per finding of the reliability review (issue 14's Why list), run as a
//! user runs the command.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::support::{
    announce_images, fmnist_model, limited_engine, ok, random_engine, read, refused, repo, scratch,
    snnergy, stderr, train_pipeline,
};

fn analysis(title: &str, extra: &str) -> String {
    format!(
        r#"[analysis]
title = "{title}"
timesteps = [4, 6]
sweep_points = 11
{extra}
[workload]
type = "vgg16"
input = "cifar10"

[activity]
type = "uniform"
spike_rates = [0.05]

[energy]
type = "horowitz-45nm"

[[architecture]]
type = "classical"

[[architecture]]
type = "neuromorphic"
energy = "yan-22nm"
"#
    )
}

// ---- 1. outputs never destroy a file --------------------------------------------------

#[cfg(unix)]
#[test]
fn an_output_naming_a_device_is_refused_and_the_device_stays() {
    use std::os::unix::fs::FileTypeExt as _;
    let d = scratch("device");
    let o = random_engine(&d, &["--save-weights", "/dev/null", "--samples", "4"]);
    refused(&o, "/dev/null");
    std::fs::write(d.join("train.toml"), train_pipeline("/dev/null")).unwrap();
    let o = snnergy(&d, &["train", "train.toml", "--out", "out"]);
    refused(&o, "/dev/null");
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn a_checkpoint_naming_the_pipeline_or_the_training_data_is_refused_and_both_stay() {
    let d = scratch("checkpoint-input");
    let text = train_pipeline("train.toml");
    std::fs::write(d.join("train.toml"), &text).unwrap();
    let o = snnergy(&d, &["train", "train.toml", "--out", "out"]);
    refused(&o, "input of this run");
    assert_eq!(std::fs::read_to_string(d.join("train.toml")).unwrap(), text);

    let data = d.join("data/train-images-idx3-ubyte.gz");
    let before = read(&data);
    std::fs::write(
        d.join("train.toml"),
        train_pipeline("data/train-images-idx3-ubyte.gz"),
    )
    .unwrap();
    let o = snnergy(&d, &["train", "train.toml", "--out", "out"]);
    refused(&o, "input of this run");
    assert_eq!(read(&data), before);
}

#[test]
fn an_engine_profile_naming_the_weights_it_read_is_refused() {
    let d = scratch("profile-over-weights");
    let before = read(&d.join("w.safetensors"));
    let text = std::fs::read_to_string(repo().join("pipelines/engine-fashion-mnist.toml"))
        .unwrap()
        .replace("weights/fmnist-vgg-t6-qcfs-l1.safetensors", "w.safetensors")
        .replace(
            "../snnergy-out/engine-fashion-mnist/profile-T{T}.csv",
            "w.safetensors",
        )
        .replace("samples = 1000", "samples = 20\ndata = \"data\"");
    std::fs::write(d.join("p.toml"), text).unwrap();
    let o = snnergy(&d, &["run", "p.toml", "--out", "out"]);
    refused(&o, "input of this run");
    assert_eq!(read(&d.join("w.safetensors")), before);
}

#[test]
fn saving_weights_over_the_weights_read_is_refused() {
    let d = scratch("save-over-weights");
    let before = read(&d.join("w.safetensors"));
    let o = snnergy(
        &d,
        &[
            "engine",
            "--model",
            &fmnist_model(),
            "--weights",
            "w.safetensors",
            "--save-weights",
            "w.safetensors",
            "--data",
            "data",
            "--samples",
            "4",
        ],
    );
    refused(&o, "input of this run");
    assert_eq!(read(&d.join("w.safetensors")), before);
}

#[test]
fn an_existing_file_snnergy_did_not_write_is_replaced_only_with_force() {
    let d = scratch("foreign");
    std::fs::write(d.join("p.toml"), analysis("mine", "")).unwrap();
    std::fs::create_dir(d.join("out")).unwrap();
    std::fs::write(d.join("out/report.md"), "my notes").unwrap();
    let o = snnergy(&d, &["run", "p.toml", "--out", "out"]);
    refused(&o, "not written by snnergy");
    assert_eq!(
        std::fs::read_to_string(d.join("out/report.md")).unwrap(),
        "my notes"
    );
    ok(&snnergy(&d, &["--force", "run", "p.toml", "--out", "out"]));
    assert!(
        std::fs::read_to_string(d.join("out/report.md"))
            .unwrap()
            .starts_with("# mine")
    );
    // Written by snnergy now: a later run replaces it without being asked.
    ok(&snnergy(&d, &["run", "p.toml", "--out", "out"]));
}

// ---- 2. sizes that overflow are errors, not wrong answers ------------------------------

fn custom(layers: &str, input: &str) -> String {
    format!(
        r#"[analysis]
sweep_points = 0
[workload]
type = "custom"
input = {input}
layers = [{layers}]
[activity]
type = "uniform"
spike_rates = [0.05]
[energy]
type = "horowitz-45nm"
[[architecture]]
type = "classical"
"#
    )
}

/// `snnergy run` of a custom network of `layers` on `input`, in scratch folder `name`, is
/// refused naming `what`.
fn custom_run_refused(name: &str, layers: &str, input: &str, what: &str) {
    let d = scratch(name);
    std::fs::write(d.join("p.toml"), custom(layers, input)).unwrap();
    refused(&snnergy(&d, &["run", "p.toml", "--out", "out"]), what);
}

#[test]
fn a_padding_beyond_two_to_the_31_is_an_error_not_a_padding_of_one() {
    custom_run_refused(
        "padding",
        r#"{ op = "conv", name = "c1", out = 8, kernel = 3, padding = 2147483649 }, { op = "linear", name = "fc", out = 10 }"#,
        "[3, 32, 32]",
        "c1",
    );
}

#[test]
fn a_linear_layer_of_two_to_the_64_synapses_is_an_error_not_a_tiny_energy() {
    custom_run_refused(
        "synapses",
        r#"{ op = "linear", name = "huge", out = 4294967295 }"#,
        "[65536, 65536, 65536]",
        "huge",
    );
}

#[test]
fn an_idx_header_whose_dimensions_overflow_is_an_error() {
    let d = scratch("idx-wrap");
    let mut images = vec![0u8, 0, 8, 3];
    for _ in 0..3 {
        images.extend(u32::MAX.to_be_bytes());
    }
    std::fs::write(d.join("data/t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::remove_file(d.join("data/t10k-images-idx3-ubyte.gz")).unwrap();
    let o = random_engine(&d, &["--samples", "4"]);
    refused(&o, "t10k-images-idx3-ubyte");
}

// ---- 3. work and memory are bounded before the work starts -----------------------------

#[test]
fn a_million_spike_rates_are_refused_at_once_with_the_estimate() {
    let d = scratch("rates");
    let rates: Vec<String> = (1..=1_000_000)
        .map(|i| format!("{}", i as f64 * 1e-6))
        .collect();
    let text = analysis("many", "")
        .replace(
            "spike_rates = [0.05]",
            &format!("spike_rates = [{}]", rates.join(",")),
        )
        .replace("timesteps = [4, 6]", "timesteps = \"1..4\"");
    std::fs::write(d.join("p.toml"), text).unwrap();
    let start = Instant::now();
    let o = snnergy(&d, &["run", "p.toml", "--out", "out"]);
    refused(&o, "budget");
    assert!(stderr(&o).contains("about"), "{}", stderr(&o));
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(!d.join("out").exists());
}

#[test]
fn a_hundred_thousand_time_steps_and_sweep_points_are_refused_with_the_estimate() {
    let d = scratch("timesteps");
    for extra in ["", "sweep_points = 100001\n"] {
        let text = analysis("long", extra).replace(
            "timesteps = [4, 6]",
            if extra.is_empty() {
                "timesteps = \"1..100000\""
            } else {
                "timesteps = \"1..64\""
            },
        );
        let text = if extra.is_empty() {
            text
        } else {
            text.replace("sweep_points = 11\n", "")
        };
        std::fs::write(d.join("p.toml"), text).unwrap();
        let o = snnergy(&d, &["run", "p.toml", "--out", "out"]);
        refused(&o, "analysis.budget");
        // A raised budget lets the same run through the check (not run here: it is long).
        let o = snnergy(
            &d,
            &[
                "run",
                "p.toml",
                "--out",
                "out",
                "--budget",
                "evaluations=nan",
            ],
        );
        refused(&o, "evaluations");
    }
}

#[test]
fn more_than_ten_thousand_layers_are_refused() {
    let d = scratch("layers");
    let layers: Vec<String> = (0..10_001)
        .map(|i| format!(r#"{{ op = "avgpool", name = "p{i}", kernel = 1 }}"#))
        .chain(std::iter::once(
            r#"{ op = "linear", name = "fc", out = 10 }"#.to_string(),
        ))
        .collect();
    std::fs::write(d.join("p.toml"), custom(&layers.join(", "), "[1, 4, 4]")).unwrap();
    refused(
        &snnergy(&d, &["run", "p.toml", "--out", "out"]),
        "at most 10000",
    );
}

#[test]
fn a_billion_engine_time_steps_are_refused() {
    let d = scratch("engine-t");
    let o = random_engine(&d, &["--samples", "1", "-T", "1000000000", "--step-rates"]);
    refused(&o, "at most 10000");
}

// ---- 4. a report folder holds one run's whole set --------------------------------------

/// Two analyses that write different reports, `a.toml` and `b.toml`, into `dir`.
fn two_analyses(dir: &Path) {
    std::fs::write(dir.join("a.toml"), analysis("run a", "")).unwrap();
    std::fs::write(
        dir.join("b.toml"),
        analysis("run b", "").replace("[4, 6]", "[2, 6]"),
    )
    .unwrap();
}

/// The title of the report.md in `dir` and whether every file agrees with it.
fn consistent_title(dir: &Path) -> Option<String> {
    let md = std::fs::read_to_string(dir.join("report.md")).ok()?;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).ok()?).ok()?;
    let title = md.lines().next()?.trim_start_matches("# ").to_string();
    assert_eq!(
        json["title"].as_str(),
        Some(title.as_str()),
        "report.md and report.json differ"
    );
    Some(title)
}

/// Every file of the folder as it is now.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        read(&e.path()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn two_runs_into_one_folder_leave_one_runs_whole_set() {
    let d = scratch("concurrent");
    two_analyses(&d);
    let mut sets = Vec::new();
    for p in ["a", "b"] {
        ok(&snnergy(&d, &["run", &format!("{p}.toml"), "--out", p]));
        sets.push(snapshot(&d.join(p)));
    }
    for _ in 0..6 {
        let spawn = |p: &str| {
            Command::new(env!("CARGO_BIN_EXE_snnergy"))
                .args(["run", p, "--out", "out"])
                .current_dir(&d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn("a.toml"), spawn("b.toml"));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let now = snapshot(&d.join("out"));
        assert!(
            sets.contains(&now),
            "the folder mixes the two runs: {:?}",
            consistent_title(&d.join("out"))
        );
    }
}

#[cfg(unix)]
#[test]
fn a_run_killed_at_any_moment_leaves_the_previous_report_or_the_new_one() {
    let d = scratch("killed");
    two_analyses(&d);
    ok(&snnergy(&d, &["run", "b.toml", "--out", "b"]));
    let new = snapshot(&d.join("b"));
    ok(&snnergy(&d, &["run", "a.toml", "--out", "out"]));
    let old = snapshot(&d.join("out"));
    let start = Instant::now();
    ok(&snnergy(&d, &["run", "b.toml", "--out", "b"]));
    let run_time = start.elapsed();
    for i in 0..12 {
        let delay = run_time.mul_f64(i as f64 / 10.0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_snnergy"))
            .args(["run", "b.toml", "--out", "out"])
            .current_dir(&d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let now = snapshot(&d.join("out"));
        assert!(
            now == old || now == new,
            "killed after {delay:?}: the folder holds neither whole report"
        );
        if now == new {
            ok(&snnergy(&d, &["run", "a.toml", "--out", "out"]));
        }
    }
}

#[cfg(unix)]
#[test]
fn a_full_disk_leaves_the_previous_report_and_no_partial_file() {
    let d = scratch("full");
    two_analyses(&d);
    ok(&snnergy(&d, &["run", "a.toml", "--out", "out"]));
    let old = snapshot(&d.join("out"));
    // A file size limit stands in for a full disk: writes past it fail (EFBIG) as they
    // would with ENOSPC.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 64; exec '{}' run b.toml --out out",
            env!("CARGO_BIN_EXE_snnergy")
        ))
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(snapshot(&d.join("out")), old);
    let left: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// ---- 5. no crash on a bad library ------------------------------------------------------

#[test]
fn a_truncated_plugin_is_an_error_naming_it_however_it_is_loaded() {
    let libs = snnergy_plugin_sdk::testing::build_libraries(&["snnergy-plugin-template"])
        .unwrap_or_else(|e| panic!("{e}"));
    let d = scratch("truncated-plugin");
    let bytes = read(&libs[0]);
    std::fs::create_dir(d.join("plugins")).unwrap();
    let lib = d
        .join("plugins")
        .join(format!("libtrunc{}", std::env::consts::DLL_SUFFIX));
    std::fs::write(&lib, &bytes[..bytes.len() / 2]).unwrap();
    let name = lib.display().to_string();
    refused(&snnergy(&d, &["plugin", "check", &name]), &name);
    refused(&snnergy(&d, &["--plugin", &name, "list"]), &name);
    let o = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .arg("list")
        .env("SNNERGY_PLUGIN_PATH", d.join("plugins"))
        .output()
        .unwrap();
    refused(&o, "libtrunc");
}

// ---- 6. decompression stops where the header and --samples say -------------------------

#[cfg(unix)]
#[test]
fn a_small_gzip_announcing_gigabytes_is_read_only_as_far_as_samples_ask() {
    let d = scratch("gzip-bomb");
    let count: u32 = 2_700_000;
    announce_images(&d, count);
    // 1.5 GiB of address space: the whole file decompressed is 2.1 GB.
    let o = limited_engine(&d, 1536, &fmnist_model(), "32");
    ok(&o);
}

// ---- 7. smaller findings ---------------------------------------------------------------

#[test]
fn a_seed_beyond_the_signed_range_is_refused_by_the_parser() {
    let d = scratch("seed");
    let o = random_engine(&d, &["--seed", "9223372036854775808"]);
    refused(&o, "9223372036854775808");
}

#[test]
fn figures_of_names_that_differ_in_case_or_punctuation_get_distinct_files() {
    let d = scratch("slugs");
    let text = analysis("slugs", "")
        .replace(
            "type = \"classical\"",
            "type = \"classical\"\nname = \"Mine\"",
        )
        .replace(
            "type = \"neuromorphic\"",
            "type = \"neuromorphic\"\nname = \"mine\"",
        );
    std::fs::write(d.join("p.toml"), text).unwrap();
    ok(&snnergy(&d, &["run", "p.toml", "--out", "out"]));
    for f in [
        "breakdown-vgg16-cifar10-mine.svg",
        "breakdown-vgg16-cifar10-mine-2.svg",
    ] {
        assert!(d.join("out").join(f).exists(), "{f}");
    }
}

#[test]
fn a_network_without_synapses_is_an_error_not_an_infinite_energy() {
    let d = scratch("no-synapses");
    std::fs::write(
        d.join("p.toml"),
        custom(r#"{ op = "avgpool", name = "p" }"#, "[1, 4, 4]"),
    )
    .unwrap();
    refused(
        &snnergy(&d, &["run", "p.toml", "--out", "out"]),
        "no synapses",
    );
}

#[test]
fn markdown_tables_escape_pipes_line_breaks_and_tags() {
    let d = scratch("markdown");
    let text = analysis("<script>alert(1)</script>", "").replace(
        "type = \"classical\"",
        "type = \"classical\"\nname = \"a|b\\nc\"",
    );
    std::fs::write(d.join("p.toml"), text).unwrap();
    ok(&snnergy(&d, &["run", "p.toml", "--out", "out"]));
    let md = std::fs::read_to_string(d.join("out/report.md")).unwrap();
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;"));
    assert!(md.contains("| a\\|b c |"), "{md}");
}

#[test]
fn a_json_profile_with_an_unknown_key_is_an_error_as_in_toml() {
    let d = scratch("profile-key");
    std::fs::write(
        d.join("p.json"),
        r#"{"layers": [{"name": "fc", "spike_rate": 0.1, "nonzeros": 0.4}]}"#,
    )
    .unwrap();
    let text = custom(r#"{ op = "linear", name = "fc", out = 10 }"#, "[1, 4, 4]").replace(
        "type = \"uniform\"\nspike_rates = [0.05]",
        "type = \"profile\"\npath = \"p.json\"",
    );
    std::fs::write(d.join("p.toml"), text).unwrap();
    refused(&snnergy(&d, &["run", "p.toml", "--out", "out"]), "nonzeros");
}

#[cfg(unix)]
#[test]
fn a_symlinked_pipeline_resolves_paths_beside_its_file() {
    let d = scratch("symlink");
    std::fs::create_dir_all(d.join("real/profiles")).unwrap();
    std::fs::create_dir_all(d.join("elsewhere")).unwrap();
    std::fs::write(
        d.join("real/profiles/p.csv"),
        "layer,spike_rate,nonzero\nfc,0.1,0.4\n",
    )
    .unwrap();
    let text = custom(r#"{ op = "linear", name = "fc", out = 10 }"#, "[1, 4, 4]").replace(
        "type = \"uniform\"\nspike_rates = [0.05]",
        "type = \"profile\"\npath = \"profiles/p.csv\"",
    );
    std::fs::write(d.join("real/p.toml"), text).unwrap();
    std::os::unix::fs::symlink(d.join("real/p.toml"), d.join("elsewhere/p.toml")).unwrap();
    ok(&snnergy(&d, &["run", "elsewhere/p.toml", "--out", "out"]));
}

#[cfg(unix)]
#[test]
fn saved_weights_get_the_permissions_of_every_other_output() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = scratch("modes");
    ok(&random_engine(
        &d,
        &["--save-weights", "saved.safetensors", "--samples", "4"],
    ));
    std::fs::write(d.join("p.toml"), analysis("modes", "")).unwrap();
    ok(&snnergy(&d, &["run", "p.toml", "--out", "out"]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&d.join("saved.safetensors")),
        mode(&d.join("out/report.json"))
    );
}

#[test]
fn a_resumed_training_keeps_the_earlier_epochs_in_train_json() {
    let d = scratch("resume");
    std::fs::write(d.join("train.toml"), train_pipeline("ckpt.safetensors")).unwrap();
    ok(&snnergy(
        &d,
        &["train", "train.toml", "--out", "out", "--no-verdict"],
    ));
    ok(&snnergy(
        &d,
        &[
            "train",
            "train.toml",
            "--out",
            "out",
            "--no-verdict",
            "--resume",
            "--epochs",
            "2",
        ],
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/train.json")).unwrap()).unwrap();
    let epochs: Vec<u64> = json["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [1, 2]);
    // Checkpoints were once written 0600 while every other output got the umask's mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&d.join("ckpt.safetensors")),
            mode(&d.join("out/train.json"))
        );
    }
}

// ---- no argument ends the process by a signal or a panic -------------------------------

/// Ends with an exit code: 0, or a refusal that says what was wrong; never a signal, never a
/// panic.
fn exits_cleanly(o: &Output, args: &[&str]) {
    let e = stderr(o);
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "{args:?} ended with {:?}: {e}",
        o.status
    );
    assert!(!e.contains("panicked"), "{args:?}: {e}");
    if !o.status.success() {
        assert!(
            e.contains("error"),
            "{args:?} failed without saying why: {e}"
        );
    }
}

#[test]
fn hostile_numbers_for_every_numeric_argument_end_in_an_exit_code() {
    let d = scratch("arguments");
    let model = fmnist_model();
    let numbers = [
        "-1",
        "0",
        "NaN",
        "inf",
        "-inf",
        "1e308",
        "-1e308",
        "4294967296",
        "18446744073709551616",
        "",
        "0x10",
        "1..",
    ];
    for v in numbers {
        for flag in ["--nonzero", "--spike-rate", "-T", "--budget"] {
            let budget;
            let value = if flag == "--budget" {
                budget = format!("evaluations={v}");
                budget.as_str()
            } else {
                v
            };
            // `-T` given twice is a clap error; name it once.
            let args: Vec<&str> = if flag == "-T" {
                vec!["breakeven", "--arch", "classical", "-T", value]
            } else {
                vec!["breakeven", "--arch", "classical", "-T", "4", flag, value]
            };
            exits_cleanly(&snnergy(&d, &args), &args);
        }
        for flag in [
            "-T",
            "--samples",
            "--batch",
            "--threshold",
            "--leak",
            "--sparse-below",
            "--shift",
            "--seed",
            "--mean",
            "--std",
        ] {
            let mut args = vec![
                "engine",
                "--model",
                &model,
                "--random-weights",
                "1",
                "--data",
                "data",
                "--neuron",
                "lif",
            ];
            if flag != "--samples" {
                args.extend(["--samples", "2"]);
            }
            if flag != "-T" {
                args.extend(["-T", "2"]);
            }
            args.extend([flag, v]);
            exits_cleanly(&snnergy(&d, &args), &args);
        }
    }
}

#[cfg(unix)]
#[test]
fn devices_folders_and_missing_files_as_inputs_end_in_an_exit_code() {
    let d = scratch("input-paths");
    for path in ["/dev/null", "/dev/zero", "/", "missing.toml", ""] {
        for args in [
            vec!["run", path],
            vec!["train", path],
            vec!["plugin", "check", path],
            vec!["describe", path],
            vec!["--plugin", path, "list"],
        ] {
            exits_cleanly(&snnergy(&d, &args), &args);
        }
    }
}
