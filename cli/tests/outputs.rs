//! Every flag of the command that writes, tried on every target an output must never
//! replace: a device node (made with `mknod` in a scratch folder, never the system's), a FIFO,
//! a symbolic link, a folder where a file goes (a file where a folder goes), an input of the
//! same run and a file snnergy did not write; each with and without `--force`. The target
//! must be exactly as it was, and the refusal an exit code with a message, never a signal or
//! a hang. `--force` replaces only a file snnergy did not write, never an input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::support::{fmnist_model, read, scratch, stderr, train_pipeline};

/// Whether a flag names a file or a folder.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    File,
    Folder,
}

/// A writing flag: how to run the command with the flag's value, and a file the command
/// reads (its input) in the scratch folder.
struct Flag {
    name: &'static str,
    kind: Kind,
    /// The arguments with `{}` where the flag's value goes.
    args: Vec<String>,
    input: &'static str,
}

fn flag<S: AsRef<str>>(name: &'static str, kind: Kind, args: &[S], input: &'static str) -> Flag {
    Flag {
        name,
        kind,
        args: strings(args),
        input,
    }
}

fn strings<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    args.iter().map(|s| s.as_ref().to_string()).collect()
}

/// What a target was, to compare after the command: its kind and contents.
#[derive(Debug, PartialEq)]
enum State {
    Missing,
    Device(u64),
    Fifo,
    Link(PathBuf, Box<State>),
    Folder(Vec<(String, Vec<u8>)>),
    File(Vec<u8>),
}

fn state(p: &Path) -> State {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let Ok(m) = std::fs::symlink_metadata(p) else {
        return State::Missing;
    };
    let t = m.file_type();
    if t.is_symlink() {
        let to = std::fs::read_link(p).unwrap();
        let resolved = p.parent().unwrap().join(&to);
        return State::Link(to, Box::new(state(&resolved)));
    }
    if t.is_char_device() || t.is_block_device() {
        return State::Device(m.rdev());
    }
    if t.is_fifo() {
        return State::Fifo;
    }
    if t.is_dir() {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    read(&e.path()),
                )
            })
            .collect();
        files.sort();
        return State::Folder(files);
    }
    State::File(read(p))
}

/// Runs snnergy in `dir`, killing it if it has not ended within a minute: an output opened
/// on a FIFO would block forever.
fn bounded(dir: &Path, args: &[String]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(args)
        .current_dir(dir)
        .env_remove("SNNERGY_PLUGIN_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("snnergy {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A device node in `dir` (a null device: harmless if something wrote to it), or `None`
/// where this user may not make one.
fn device(dir: &Path) -> Option<PathBuf> {
    let p = dir.join("dev");
    let made = Command::new("mknod")
        .arg(&p)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    made.then_some(p)
}

fn fifo(dir: &Path) -> PathBuf {
    let p = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&p).status().unwrap().success());
    p
}

const FOREIGN: &str = "a file snnergy did not write";

/// The targets a flag of `kind` must refuse, made fresh in `dir`, by name.
fn targets(dir: &Path, kind: Kind, input: &str) -> Vec<(&'static str, PathBuf)> {
    let mut t = Vec::new();
    if let Some(d) = device(dir) {
        t.push(("a device", d));
    } else {
        eprintln!("note: this user cannot make device nodes; the device case is left out");
    }
    t.push(("a FIFO", fifo(dir)));
    std::fs::write(dir.join("pointee"), "the file a link points at").unwrap();
    std::fs::create_dir(dir.join("pointee-folder")).unwrap();
    std::fs::write(dir.join("pointee-folder/keep.txt"), "kept").unwrap();
    let link = dir.join("link");
    let pointee = match kind {
        Kind::File => "pointee",
        Kind::Folder => "pointee-folder",
    };
    std::os::unix::fs::symlink(pointee, &link).unwrap();
    t.push(("a symbolic link", link));
    let link_to_input = dir.join("link-to-input");
    std::os::unix::fs::symlink(dir.join(input), &link_to_input).unwrap();
    t.push(("a symbolic link to an input", link_to_input));
    match kind {
        Kind::File => {
            std::fs::create_dir(dir.join("folder")).unwrap();
            std::fs::write(dir.join("folder/keep.txt"), "kept").unwrap();
            t.push(("a folder", dir.join("folder")));
        }
        Kind::Folder => {
            std::fs::write(dir.join("plain-file"), "a file where a folder goes").unwrap();
            t.push(("a file", dir.join("plain-file")));
        }
    }
    t.push(("an input of the run", dir.join(input)));
    std::fs::write(dir.join("foreign"), "notes snnergy did not write").unwrap();
    if kind == Kind::File {
        t.push((FOREIGN, dir.join("foreign")));
    }
    t
}

/// Tries every target on `flag`, with and without `--force`; a fresh scratch folder (made by
/// `setup`) for each, so no case sees another's leftovers.
fn every_target_is_refused(flag: &Flag, setup: fn(&str) -> PathBuf) {
    let probe = setup(&format!("{}-probe", flag.name));
    let names: Vec<&str> = targets(&probe, flag.kind, flag.input)
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let mut tried = 0;
    for force in [false, true] {
        for name in &names {
            // The one target `--force` is for (see the test below).
            if force && *name == FOREIGN {
                continue;
            }
            let dir = setup(&format!(
                "{}-{}-{force}",
                flag.name.replace(['-', ' '], "_"),
                name.replace(' ', "_")
            ));
            let all = targets(&dir, flag.kind, flag.input);
            let (_, target) = all.iter().find(|(n, _)| n == name).unwrap();
            let before = state(target);
            let input_before = read(&dir.join(flag.input));
            let mut args: Vec<String> = flag
                .args
                .iter()
                .map(|a| a.replace("{}", &target.display().to_string()))
                .collect();
            if force {
                args.push("--force".into());
            }
            let o = bounded(&dir, &args);
            let e = stderr(&o);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{} on {name} (force: {force}) was not refused: {:?}\n{e}",
                flag.name,
                o.status
            );
            assert!(!e.contains("panicked"), "{e}");
            assert_eq!(
                state(target),
                before,
                "{} changed {name} (force: {force}): {e}",
                flag.name
            );
            assert_eq!(
                read(&dir.join(flag.input)),
                input_before,
                "{} changed its input",
                flag.name
            );
            tried += 1;
        }
    }
    eprintln!("{}: {tried} targets refused", flag.name);
}

/// The Fashion-MNIST scratch folder with the engine pipeline's model (`m.toml`), a tiny
/// analysis (`tiny.toml`), the training pipeline (`train.toml`) and an exported NIR graph
/// (`m.nir`).
fn workspace(name: &str) -> PathBuf {
    let d = scratch(&format!("outputs/{name}"));
    std::fs::copy(fmnist_model(), d.join("m.toml")).unwrap();
    std::fs::write(d.join("tiny.toml"), TINY).unwrap();
    std::fs::write(d.join("train.toml"), train_pipeline("ckpt.safetensors")).unwrap();
    std::fs::copy(nir_graph(), d.join("m.nir")).unwrap();
    std::fs::create_dir(d.join("run1")).unwrap();
    std::fs::write(d.join("run1/train.json"), "{}").unwrap();
    d
}

/// The shipped Fashion-MNIST network as a NIR graph, exported once for every test here.
fn nir_graph() -> &'static Path {
    static GRAPH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    GRAPH.get_or_init(|| {
        let d = scratch("outputs-graph");
        std::fs::copy(fmnist_model(), d.join("m.toml")).unwrap();
        let o = bounded(
            &d,
            &strings(&[
                "export",
                "--nir",
                "m.nir",
                "--model",
                "m.toml",
                "--weights",
                "w.safetensors",
            ]),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        d.join("m.nir")
    })
}

const TINY: &str = r#"[analysis]
timesteps = 6
sweep_points = 3

[workload]
type = "custom"
input = [1, 8, 8]
layers = [
  { op = "conv", name = "c1", out = 4, kernel = 3, padding = 1 },
  { op = "linear", name = "fc", out = 10 },
]

[activity]
type = "uniform"
spike_rates = [0.1]

[energy]
type = "horowitz-45nm"

[[architecture]]
type = "classical"
"#;

fn engine(extra: &[&str]) -> Vec<String> {
    let mut a = strings(&[
        "engine",
        "--model",
        "m.toml",
        "--random-weights",
        "1",
        "--data",
        "data",
        "--samples",
        "4",
    ]);
    a.extend(strings(extra));
    a
}

#[test]
fn engine_out_refuses_every_target_it_may_not_replace() {
    let f = flag(
        "engine --out",
        Kind::File,
        &engine(&["--out", "{}"]),
        "data/t10k-images-idx3-ubyte.gz",
    );
    every_target_is_refused(&f, workspace);
}

#[test]
fn engine_save_weights_refuses_every_target_it_may_not_replace() {
    let f = flag(
        "engine --save-weights",
        Kind::File,
        &engine(&["--save-weights", "{}"]),
        "data/t10k-labels-idx1-ubyte.gz",
    );
    every_target_is_refused(&f, workspace);
}

#[test]
fn export_nir_refuses_every_target_it_may_not_replace() {
    let f = flag(
        "export --nir",
        Kind::File,
        &[
            "export",
            "--nir",
            "{}",
            "--model",
            "m.toml",
            "--weights",
            "w.safetensors",
        ],
        "w.safetensors",
    );
    every_target_is_refused(&f, workspace);
}

#[test]
fn run_out_refuses_every_target_it_may_not_write_into() {
    let f = flag(
        "run --out",
        Kind::Folder,
        &["run", "tiny.toml", "--out", "{}"],
        "tiny.toml",
    );
    every_target_is_refused(&f, workspace);
}

#[test]
fn map_exports_refuse_every_target_they_may_not_write_into() {
    for (name, key) in [
        ("map --export-timeloop", "--export-timeloop"),
        ("map --export-zigzag", "--export-zigzag"),
    ] {
        let f = flag(
            name,
            Kind::Folder,
            &[
                "map",
                "tiny.toml",
                "--arch",
                "classical",
                "--layer",
                "c1",
                key,
                "{}",
            ],
            "tiny.toml",
        );
        every_target_is_refused(&f, workspace);
    }
}

#[test]
fn import_out_refuses_every_target_it_may_not_write_into() {
    let f = flag(
        "import --out",
        Kind::Folder,
        &["import", "m.nir", "--out", "{}"],
        "m.nir",
    );
    every_target_is_refused(&f, workspace);
}

#[test]
fn train_out_and_train_compare_out_refuse_every_target_they_may_not_write_into() {
    let f = flag(
        "train --out",
        Kind::Folder,
        &["train", "train.toml", "--no-verdict", "--out", "{}"],
        "train.toml",
    );
    every_target_is_refused(&f, workspace);
    let f = flag(
        "train compare --out",
        Kind::Folder,
        &["train", "compare", "run1", "--out", "{}"],
        "run1/train.json",
    );
    every_target_is_refused(&f, workspace);
}

/// A report's file names in a folder hold a file snnergy did not write: refused without
/// `--force`, replaced with it, and the folder's other files kept.
#[test]
fn a_report_replaces_a_foreign_file_of_its_name_only_with_force() {
    let d = workspace("foreign-in-folder");
    std::fs::create_dir(d.join("out")).unwrap();
    std::fs::write(d.join("out/report.md"), "my notes").unwrap();
    std::fs::write(d.join("out/other.txt"), "kept").unwrap();
    let args = |force: bool| -> Vec<String> {
        let mut a = strings(&["run", "tiny.toml", "--out", "out"]);
        if force {
            a.push("--force".into());
        }
        a
    };
    let o = bounded(&d, &args(false));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not written by snnergy"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(&d.join("out/report.md")), b"my notes");
    let o = bounded(&d, &args(true));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(d.join("out/report.md"))
            .unwrap()
            .starts_with('#')
    );
    assert_eq!(read(&d.join("out/other.txt")), b"kept");
}

/// With `--force` a file flag replaces a regular file snnergy did not write: the one thing
/// `--force` is for.
#[test]
fn force_lets_a_file_output_replace_a_foreign_file_and_nothing_else() {
    let d = workspace("force-foreign");
    for (i, mut args) in [
        engine(&["--out", "foreign-0"]),
        engine(&["--save-weights", "foreign-1"]),
        strings(&[
            "export",
            "--nir",
            "foreign-2",
            "--model",
            "m.toml",
            "--weights",
            "w.safetensors",
        ]),
    ]
    .into_iter()
    .enumerate()
    {
        let target = d.join(format!("foreign-{i}"));
        std::fs::write(&target, "notes").unwrap();
        let o = bounded(&d, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(read(&target), b"notes");
        args.push("--force".into());
        let o = bounded(&d, &args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_ne!(read(&target), b"notes");
    }
}

#[test]
fn saved_weights_over_the_dataset_are_refused_even_with_force_and_before_writing() {
    let d = workspace("weights-over-data");
    let data = d.join("data/t10k-images-idx3-ubyte.gz");
    let before = read(&data);
    let o = bounded(
        &d,
        &engine(&[
            "--save-weights",
            "data/t10k-images-idx3-ubyte.gz",
            "--force",
        ]),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("input of this run"), "{}", stderr(&o));
    assert_eq!(read(&data), before);
}

#[test]
fn two_outputs_of_one_command_never_share_a_path() {
    let d = workspace("shared-path");
    // Saved weights and the profile at one path: refused before either is written.
    let o = bounded(&d, &engine(&["--save-weights", "x.csv", "--out", "x.csv"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--save-weights"), "{}", stderr(&o));
    assert!(!d.join("x.csv").exists());
    // Two spellings of one path are one path.
    let o = bounded(
        &d,
        &engine(&["--save-weights", "./x.csv", "--out", "data/../x.csv"]),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!d.join("x.csv").exists());
    // A checkpoint inside the report folder under a report's name.
    std::fs::write(d.join("train2.toml"), train_pipeline("out/report.json")).unwrap();
    let o = bounded(&d, &strings(&["train", "train2.toml", "--out", "out"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("checkpoint"), "{}", stderr(&o));
    assert!(!d.join("out").exists());
}
