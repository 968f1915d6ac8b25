//! The `snnergy` command with hardware plugins: `plugin check`, `--plugin`,
//! `SNNERGY_PLUGIN_PATH`, and plugin components in `list`, `describe` and `run`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The example, the fault plugin and the template, built into this test's target folder.
fn libraries() -> &'static (PathBuf, PathBuf, PathBuf) {
    static LIBS: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    LIBS.get_or_init(|| {
        let p = snnergy_plugin_sdk::testing::build_libraries(&[
            "snnergy-example-systolic",
            "snnergy-test-fault-plugin",
            "snnergy-plugin-template",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        (p[0].clone(), p[1].clone(), p[2].clone())
    })
}

fn systolic() -> &'static Path {
    &libraries().0
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-plugins")
        .join(name);
    // Fresh each time: outputs left by an earlier run are files this run did not write.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the fault plugin named for `mode` in `dir` (see the fault plugin's docs).
fn fault_copy(dir: &Path, mode: &str) -> PathBuf {
    let path = dir.join(format!("fault-{mode}{}", std::env::consts::DLL_SUFFIX));
    let tmp = dir.join(format!("fault-{mode}.{}.tmp", std::process::id()));
    std::fs::copy(&libraries().1, &tmp).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn snnergy(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snnergy"));
    cmd.args(args).env_remove("SNNERGY_PLUGIN_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn plugin_check_lists_the_components_and_passes_the_example() {
    let lib = systolic().to_str().unwrap();
    let out = snnergy(&["plugin", "check", lib, "--timesteps", "1,6"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("architecture systolic-array"), "{stdout}");
    assert!(stdout.contains("energy model eyeriss-relative"), "{stdout}");
    assert!(
        stdout.contains("on vgg16-cifar10:") && stdout.contains("on resnet20-cifar10:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pass  categories add up to the total"),
        "{stdout}"
    );
    assert!(stdout.contains("13 passed, 0 failed"), "{stdout}");
}

#[test]
fn the_template_passes_plugin_check() {
    let lib = libraries().2.to_str().unwrap();
    let out = snnergy(&["plugin", "check", lib, "--timesteps", "1,6"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("architecture my-chip"), "{stdout}");
    assert!(stdout.contains("11 passed, 0 failed"), "{stdout}");
}

#[test]
fn plugin_check_reports_failures_and_exits_with_an_error() {
    let lib = fault_copy(&scratch("check"), "panics");
    let out = snnergy(
        &["plugin", "check", lib.to_str().unwrap(), "--timesteps", "2"],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FAIL  silent SNN does no spike-driven work"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`evaluate` panicked: fault injected"),
        "{stdout}"
    );
    assert!(
        stderr.contains("fails") && stderr.contains(lib.to_str().unwrap()),
        "{stderr}"
    );
}

#[test]
fn plugin_flag_adds_components_to_list_and_describe() {
    let lib = systolic().to_str().unwrap();
    let out = snnergy(&["--plugin", lib, "list", "architecture"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("systolic-array"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "[plugin {}]",
            systolic().canonicalize().unwrap().display()
        )),
        "{stdout}"
    );

    let out = snnergy(&["describe", "systolic-array", "--plugin", lib], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("skip_empty_rows (default true)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[[architecture]]\ntype = \"systolic-array\""),
        "{stdout}"
    );

    let out = snnergy(&["list"], &[]);
    assert!(
        !text(&out.stdout).contains("systolic-array"),
        "no plugin without the flag"
    );
}

#[test]
fn search_path_loads_every_library_of_a_directory() {
    let dir = scratch("search-path");
    let name = format!(
        "{}snnergy_example_systolic{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::copy(systolic(), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join(&name)).unwrap();
    std::fs::write(
        dir.join("README.txt"),
        "not a library: ignored by its suffix\n",
    )
    .unwrap();
    let out = snnergy(
        &["list", "energy"],
        &[("SNNERGY_PLUGIN_PATH", dir.as_os_str())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("eyeriss-relative"),
        "{}",
        text(&out.stdout)
    );

    let missing = dir.join("no-such-dir");
    let out = snnergy(&["list"], &[("SNNERGY_PLUGIN_PATH", missing.as_os_str())]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("SNNERGY_PLUGIN_PATH") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn a_broken_plugin_on_the_command_line_is_an_error_not_a_fallback() {
    let dir = scratch("broken");
    let lib = fault_copy(&dir, "wrong-major");
    let out = snnergy(&["--plugin", lib.to_str().unwrap(), "list"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("plugin ABI 2.0") && stderr.contains(lib.to_str().unwrap()),
        "{stderr}"
    );
    assert!(text(&out.stdout).is_empty(), "nothing is listed");
}

#[test]
fn run_uses_a_plugin_from_the_pipeline() {
    let dir = scratch("run");
    let pipeline = dir.join("chip.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[plugins]\nload = [\"{}\"]\n\n[analysis]\ntimesteps = [4]\nsweep_points = 5\n\n[workload]\ntype = \"resnet20\"\n\n[energy]\ntype = \"eyeriss-relative\"\n\n[[architecture]]\ntype = \"systolic-array\"\n",
            systolic().display().to_string().replace('\\', "\\\\")
        ),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = snnergy(
        &[
            "run",
            pipeline.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["comparisons"][0]["architecture"], "systolic-array");
    assert!(report["comparisons"][0]["snn_pj"].as_f64().unwrap() > 0.0);
    assert!(out_dir.join("report.json").is_file());
    let plot = std::fs::read_to_string(out_dir.join("energy-vs-spike-rate-resnet20-cifar10.svg"))
        .expect("the energy plot is written");
    assert!(
        plot.contains("systolic-array"),
        "the plot shows the plugin's architecture"
    );
}
