//! A report is staged in `.snnergy-stage-<pid>-…` beside its folder until it is put in place:
//! a run stopped by SIGTERM, SIGINT or SIGHUP removes its staging folder before it ends, and
//! one killed outright (SIGKILL) leaves it to the next run into the same folder, which
//! removes it. A staging folder of a live process is never touched.

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{ok, scratch, snnergy};

/// A two-layer network at `n` spike rates: 3000 give a report of some 40 MB, long enough to
/// write that a signal can be sent while it is staged.
fn pipeline(n: usize) -> String {
    let rates: Vec<String> = (1..=n)
        .map(|i| format!("{}", i as f64 / (n + 1) as f64))
        .collect();
    format!(
        r#"[analysis]
timesteps = 6
sweep_points = 3

[workload]
type = "custom"
input = [1, 8, 8]
layers = [
  {{ op = "conv", name = "c1", out = 4, kernel = 3, padding = 1 }},
  {{ op = "linear", name = "fc", out = 10 }},
]

[activity]
type = "uniform"
spike_rates = [{}]

[energy]
type = "horowitz-45nm"

[[architecture]]
type = "classical"
"#,
        rates.join(", ")
    )
}

/// Staging folders and temporary files in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".snnergy-stage-") || n.starts_with(".snnergy-tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts `snnergy run p.toml --out out` in `d` and waits until its staging folder exists;
/// `None` if the run ended first.
fn staging_run(d: &Path) -> Option<std::process::Child> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["run", "p.toml", "--out", "out"])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while leftovers(d).is_empty() {
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no staging seen"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    Some(child)
}

fn signal(child: &std::process::Child, sig: &str) {
    let s = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

/// The report folder holds a whole report, or none.
fn whole_or_absent(out: &Path) {
    if out.exists() {
        for f in ["report.md", "report.json", "comparisons.csv"] {
            assert!(out.join(f).is_file(), "{} lacks {f}", out.display());
        }
    }
}

#[test]
fn a_run_stopped_by_a_signal_while_staging_leaves_no_staging_folder() {
    let d = scratch("staging-signal");
    std::fs::write(d.join("p.toml"), pipeline(3000)).unwrap();
    let mut caught = 0;
    for (i, sig) in ["-TERM", "-INT", "-HUP", "-TERM"].iter().enumerate() {
        let Some(mut child) = staging_run(&d) else {
            continue;
        };
        std::thread::sleep(Duration::from_millis(30 * i as u64));
        signal(&child, sig);
        let status = child.wait().unwrap();
        if status.success() {
            // The report was put in place before the signal arrived.
            whole_or_absent(&d.join("out"));
            continue;
        }
        caught += 1;
        assert!(
            status.signal().is_some(),
            "{sig}: the run should end by its signal, ended {status:?}"
        );
        assert_eq!(leftovers(&d), Vec::<String>::new(), "{sig}");
        assert_eq!(leftovers(&d.join("out")), Vec::<String>::new(), "{sig}");
        whole_or_absent(&d.join("out"));
    }
    assert!(caught > 0, "no run was caught while staging");
}

/// A process id that no process has (one that just ended).
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn staging_left_by_a_killed_run_is_removed_by_the_next_run_into_the_folder() {
    let d = scratch("staging-killed");
    std::fs::write(d.join("p.toml"), pipeline(3000)).unwrap();
    // Killed outright while staging: nothing can clean up.
    let mut left = Vec::new();
    for _ in 0..5 {
        if let Some(mut child) = staging_run(&d) {
            signal(&child, "-KILL");
            child.wait().unwrap();
            left = leftovers(&d);
            if !left.is_empty() {
                break;
            }
        }
    }
    assert!(!left.is_empty(), "no staging folder was left to clean up");
    // Leftovers of another dead run, beside the folder and in it, and a live process's.
    let dead = dead_pid();
    let stale = d.join(format!(".snnergy-stage-{dead}-0-.out"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("report.json"), "partial").unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::write(
        d.join(format!("out/.snnergy-tmp-{dead}-3-report.md")),
        "partial",
    )
    .unwrap();
    let live = d.join(format!(".snnergy-stage-{}-0-.out", std::process::id()));
    std::fs::create_dir_all(&live).unwrap();
    std::fs::write(d.join("p.toml"), pipeline(1)).unwrap();
    ok(&snnergy(&d, &["run", "p.toml", "--out", "out"]));
    let mut expected = vec![live.file_name().unwrap().to_string_lossy().into_owned()];
    expected.sort();
    assert_eq!(leftovers(&d), expected);
    assert_eq!(leftovers(&d.join("out")), Vec::<String>::new());
    whole_or_absent(&d.join("out"));
}
