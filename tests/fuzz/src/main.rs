//! `snnergy-fuzz`: runs every target (or those named) for a bounded time, each in a child
//! process with a memory limit; prints executions per target and what was found, keeps
//! crashing inputs in `crashes/<target>/`, and exits non-zero when a target crashed.
//!
//! ```sh
//! cargo run -p snnergy-fuzz -- --seconds 25            # every target, 25 s each
//! cargo run -p snnergy-fuzz -- --seconds 60 pipeline   # one target
//! ```

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use snnergy_fuzz::mutate::{Rng, mutate, signature};
use snnergy_fuzz::{Target, execute, home, saved_inputs, scratch, scratch_root, target, targets};

/// Memory a child may map: a reader that believes a header's size aborts here instead of
/// taking the machine's memory.
const MEMORY_LIMIT: u64 = 4 << 30;
/// Inputs kept per target.
const MAX_CORPUS: usize = 2048;

struct Args {
    seconds: f64,
    seed: u64,
    targets: Vec<String>,
    child: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 20.0,
        seed: 0x5eed,
        targets: Vec::new(),
        child: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--seconds" => {
                a.seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                    .ok_or("--seconds needs a number of seconds in (0, 86400]")?
            }
            "--seed" => {
                a.seed = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--seed needs an integer")?
            }
            "--child" => a.child = true,
            "--list" => {
                for t in targets::ALL {
                    println!("{}", t.name);
                }
                std::process::exit(0);
            }
            name if target(name).is_some() => a.targets.push(name.to_string()),
            other => return Err(format!("unknown argument or target `{other}` (--list)")),
        }
    }
    if a.targets.is_empty() {
        a.targets = targets::ALL.iter().map(|t| t.name.to_string()).collect();
    }
    Ok(a)
}

fn crash_dir(t: &Target) -> PathBuf {
    home().join("crashes").join(t.name)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn save_crash(t: &Target, input: &[u8]) -> PathBuf {
    let dir = crash_dir(t);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{:016x}.{}", fnv(input), t.ext));
    let _ = std::fs::write(&path, input);
    path
}

#[cfg(unix)]
fn limit_memory() {
    let lim = libc::rlimit {
        rlim_cur: MEMORY_LIMIT as libc::rlim_t,
        rlim_max: MEMORY_LIMIT as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct it is given.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
}

#[cfg(not(unix))]
fn limit_memory() {}

/// The fuzzing loop of one target, in the child. Prints one line of JSON: executions,
/// corpus, outcomes, panics.
fn child(t: &'static Target, seconds: f64, seed: u64) {
    limit_memory();
    // Panics are caught and reported per input; their default message would flood stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let dir = scratch(t.name);
    let file = dir.join(format!("input.{}", t.ext));
    let mut corpus: Vec<Vec<u8>> = saved_inputs(t, &dir).into_iter().map(|(_, b)| b).collect();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut seen: HashSet<u64> = HashSet::new();
    let mut panics = 0usize;
    let mut execs = 0u64;
    let mut rng = Rng::new(seed ^ fnv(t.name.as_bytes()));
    let start = Instant::now();
    let deadline = Duration::from_secs_f64(seconds);
    // The seeds first, unmutated.
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    while start.elapsed() < deadline {
        let input = match queue.pop() {
            Some(i) => i,
            None => {
                let a = &corpus[rng.below(corpus.len())];
                let b = &corpus[rng.below(corpus.len())];
                mutate(&mut rng, a, b, t.dict, t.max_len)
            }
        };
        execs += 1;
        match execute(t, &input, &file) {
            Ok(outcome) => {
                if seen.insert(signature(&outcome)) && corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                }
            }
            Err(message) => {
                panics += 1;
                let path = save_crash(t, &input);
                eprintln!(
                    "{}: panic: {} (input kept in {})",
                    t.name,
                    message.lines().next().unwrap_or(""),
                    path.display()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{{\"execs\":{execs},\"seconds\":{:.2},\"corpus\":{},\"outcomes\":{},\"panics\":{panics}}}",
        start.elapsed().as_secs_f64(),
        corpus.len(),
        seen.len()
    );
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if a.child {
        let Some(t) = a.targets.first().and_then(|n| target(n)) else {
            return ExitCode::from(2);
        };
        child(t, a.seconds, a.seed);
        return ExitCode::SUCCESS;
    }
    let exe = std::env::current_exe().expect("the driver knows its path");
    let mut failed = 0;
    println!(
        "{:<14} {:>10} {:>9} {:>8} {:>9} {:>8}  found",
        "target", "execs", "execs/s", "corpus", "outcomes", "seconds"
    );
    for name in &a.targets {
        let t = target(name).expect("checked");
        let out = Command::new(&exe)
            .args(["--child", "--seconds", &a.seconds.to_string()])
            .args(["--seed", &a.seed.to_string(), name])
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{name}: cannot start: {e}");
                failed += 1;
                continue;
            }
        };
        let _ = std::io::stderr().write_all(&out.stderr);
        let stats: Option<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok());
        let found = match (&stats, out.status.success()) {
            (Some(s), true) if s["panics"] == 0 => "nothing".to_string(),
            (Some(s), true) => {
                failed += 1;
                format!("{} panics, kept in {}", s["panics"], crash_dir(t).display())
            }
            _ => {
                failed += 1;
                // The child died (a signal, an abort): the input it was running is its last.
                let input = scratch_input_of_dead_child(t);
                let kept = input.map(|i| save_crash(t, &i).display().to_string());
                format!(
                    "the process died ({}); input {}",
                    out.status,
                    kept.unwrap_or_else(|| "lost".into())
                )
            }
        };
        let s = stats.unwrap_or_default();
        let execs = s["execs"].as_u64().unwrap_or(0);
        let secs = s["seconds"].as_f64().unwrap_or(0.0);
        println!(
            "{:<14} {:>10} {:>9.0} {:>8} {:>9} {:>8.1}  {found}",
            name,
            execs,
            execs as f64 / secs.max(1e-9),
            s["corpus"],
            s["outcomes"],
            secs
        );
    }
    println!(
        "fuzzing: {} passed, {failed} failed",
        a.targets.len() - failed
    );
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The input file a child that died was running (its scratch folder is named by its pid,
/// which is gone: the newest folder of the target).
fn scratch_input_of_dead_child(t: &Target) -> Option<Vec<u8>> {
    let prefix = "snnergy-fuzz-";
    let suffix = format!("-{}", t.name);
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(scratch_root())
        .ok()?
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n.starts_with(prefix) && n.ends_with(&suffix))
                .then(|| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .flatten()
        })
        .collect();
    dirs.sort();
    let (_, dir) = dirs.pop()?;
    let input = std::fs::read(dir.join(format!("input.{}", t.ext))).ok();
    let _ = std::fs::remove_dir_all(&dir);
    input
}
