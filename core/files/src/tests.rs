use std::path::{Path, PathBuf};

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnergy-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn a_new_file_is_written_and_listed_in_the_manifest() {
    let d = scratch("new");
    write(&d.join("a.csv"), b"1\n").unwrap();
    assert_eq!(text(&d.join("a.csv")), "1\n");
    assert!(text(&d.join(MANIFEST)).contains("\"a.csv\""));
    // A file snnergy wrote may be replaced by a later run.
    write(&d.join("a.csv"), b"2\n").unwrap();
    assert_eq!(text(&d.join("a.csv")), "2\n");
}

#[test]
fn an_existing_file_snnergy_did_not_write_is_refused() {
    let d = scratch("foreign");
    std::fs::write(d.join("notes.txt"), "mine").unwrap();
    let e = write(&d.join("notes.txt"), b"x").unwrap_err();
    assert!(e.message.contains("not written by snnergy"), "{e}");
    assert_eq!(text(&d.join("notes.txt")), "mine");
}

#[cfg(unix)]
#[test]
fn a_device_a_folder_and_a_link_are_never_replaced() {
    let e = write(Path::new("/dev/null"), b"x").unwrap_err();
    assert!(e.message.contains("a device"), "{e}");
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device_like()
    );
    let d = scratch("special");
    std::fs::create_dir(d.join("sub")).unwrap();
    let e = write(&d.join("sub"), b"x").unwrap_err();
    assert!(e.message.contains("a folder"), "{e}");
    std::fs::write(d.join("target"), "t").unwrap();
    std::os::unix::fs::symlink(d.join("target"), d.join("link")).unwrap();
    let e = write(&d.join("link"), b"x").unwrap_err();
    assert!(e.message.contains("symbolic link"), "{e}");
    assert_eq!(text(&d.join("target")), "t");
}

trait CharDevice {
    fn is_char_device_like(&self) -> bool;
}

impl CharDevice for std::fs::FileType {
    #[cfg(unix)]
    fn is_char_device_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt as _;
        self.is_char_device()
    }
    #[cfg(not(unix))]
    fn is_char_device_like(&self) -> bool {
        true
    }
}

#[test]
fn an_input_of_the_run_is_never_replaced_even_through_a_hard_link() {
    protect_inputs(true);
    let d = scratch("input");
    // Written by snnergy (in the manifest), then read as an input: still protected.
    write(&d.join("weights.bin"), b"w").unwrap();
    read(&d.join("weights.bin")).unwrap();
    let e = write(&d.join("weights.bin"), b"x").unwrap_err();
    assert!(e.message.contains("input of this run"), "{e}");
    std::fs::hard_link(d.join("weights.bin"), d.join("alias.bin")).unwrap();
    let e = write(&d.join("alias.bin"), b"x").unwrap_err();
    assert!(e.message.contains("input of this run"), "{e}");
    let e = write(&d.join("sub/../weights.bin"), b"x");
    assert!(e.is_err());
    assert_eq!(text(&d.join("weights.bin")), "w");
    // A checkpoint the run resumed from may be advanced.
    write_with(
        &d.join("weights.bin"),
        b"w2",
        WriteOptions {
            replaces_input: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(text(&d.join("weights.bin")), "w2");
}

#[cfg(unix)]
#[test]
fn outputs_get_the_permissions_the_umask_gives_new_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = scratch("mode");
    write(&d.join("c.bin"), b"c").unwrap();
    let mut o = OutputDir::create(&d.join("report")).unwrap();
    o.write("r.json", b"{}").unwrap();
    o.commit().unwrap();
    // What a plain File::create gets: the same umask applies.
    std::fs::write(d.join("plain"), "p").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&d.join("c.bin")), mode(&d.join("plain")));
    assert_eq!(mode(&d.join("report/r.json")), mode(&d.join("plain")));
}

#[test]
fn a_report_folder_is_replaced_as_a_set_and_keeps_other_files() {
    let d = scratch("set");
    let dest = d.join("out");
    let mut o = OutputDir::create(&dest).unwrap();
    o.write("report.json", b"1").unwrap();
    o.write("old-figure.svg", b"1").unwrap();
    o.commit().unwrap();
    std::fs::write(dest.join("notes.txt"), "mine").unwrap();
    write(&dest.join("profile.csv"), b"p").unwrap();

    let mut o = OutputDir::create(&dest).unwrap();
    o.write("report.json", b"2").unwrap();
    // Nothing changes before the commit.
    assert_eq!(text(&dest.join("report.json")), "1");
    o.commit().unwrap();
    assert_eq!(text(&dest.join("report.json")), "2");
    assert_eq!(text(&dest.join("notes.txt")), "mine");
    assert_eq!(text(&dest.join("profile.csv")), "p");
    // A file of the previous report that this one does not write stays, as snnergy's.
    assert!(text(&dest.join(MANIFEST)).contains("old-figure.svg"));
    assert!(!text(&dest.join(MANIFEST)).contains("notes.txt"));
    // No staging folder is left behind.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("out")]);
}

#[test]
fn a_report_refuses_to_replace_a_foreign_file_of_the_same_name() {
    let d = scratch("collide");
    let dest = d.join("out");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("report.md"), "my notes").unwrap();
    assert!(check_output_dir(&dest, &["report.md"]).is_err());
    let mut o = OutputDir::create(&dest).unwrap();
    o.write("report.md", b"generated").unwrap();
    let e = o.commit().unwrap_err();
    assert!(e.message.contains("not written by snnergy"), "{e}");
    assert_eq!(text(&dest.join("report.md")), "my notes");
}

#[test]
fn a_folder_with_sub_folders_is_written_in_place() {
    let d = scratch("inplace");
    let dest = d.join("project");
    std::fs::create_dir_all(dest.join("data")).unwrap();
    std::fs::write(dest.join("data/x"), "x").unwrap();
    let mut o = OutputDir::create(&dest).unwrap();
    o.write("report.json", b"1").unwrap();
    o.commit().unwrap();
    assert_eq!(text(&dest.join("report.json")), "1");
    assert_eq!(text(&dest.join("data/x")), "x");
}

#[test]
fn an_uncommitted_report_leaves_nothing() {
    let d = scratch("drop");
    {
        let mut o = OutputDir::create(&d.join("out")).unwrap();
        o.write("report.json", b"1").unwrap();
    }
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
}

#[test]
fn a_report_folder_that_is_a_file_is_refused() {
    let d = scratch("isfile");
    std::fs::write(d.join("out"), "f").unwrap();
    let e = OutputDir::create(&d.join("out")).unwrap_err();
    assert!(e.message.contains("not a folder"), "{e}");
}

#[test]
fn two_reports_into_one_folder_never_mix() {
    let d = scratch("race");
    let dest = d.join("out");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let dest = dest.clone();
            std::thread::spawn(move || {
                for round in 0..10 {
                    let tag = format!("{i}-{round}");
                    let mut o = OutputDir::create(&dest).unwrap();
                    for f in ["a", "b", "c", "d"] {
                        o.write(f, tag.as_bytes()).unwrap();
                    }
                    o.commit().unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let dest = dest.clone();
        std::thread::spawn(move || {
            let mut checked = 0;
            for _ in 0..2000 {
                let read: Vec<_> = ["a", "b", "c", "d"]
                    .iter()
                    .map(|f| std::fs::read_to_string(dest.join(f)).ok())
                    .collect();
                if read.iter().all(Option::is_some) {
                    checked += 1;
                    assert!(read.iter().all(|r| !r.as_ref().unwrap().is_empty()));
                }
            }
            checked
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    reader.join().unwrap();
    let set: Vec<String> = ["a", "b", "c", "d"]
        .iter()
        .map(|f| text(&dest.join(f)))
        .collect();
    assert!(set.iter().all(|s| *s == set[0]), "{set:?}");
}

#[cfg(unix)]
#[test]
fn a_report_folder_that_is_a_link_is_refused_however_it_is_spelt() {
    let d = scratch("dirlink");
    std::fs::create_dir(d.join("real")).unwrap();
    std::fs::write(d.join("real/keep.txt"), "kept").unwrap();
    std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
    for spelt in ["link", "link/", "link/."] {
        let dest = PathBuf::from(format!("{}/{spelt}", d.display()));
        let e = OutputDir::create(&dest).unwrap_err();
        assert!(e.message.contains("symbolic link"), "{spelt}: {e}");
        let e = check_output_dir(&dest, &["report.json"]).unwrap_err();
        assert!(e.message.contains("symbolic link"), "{spelt}: {e}");
    }
    assert_eq!(std::fs::read_dir(d.join("real")).unwrap().count(), 1);
}

#[test]
fn outputs_that_resolve_to_one_path_are_refused_naming_both() {
    let d = scratch("distinct");
    std::fs::create_dir(d.join("sub")).unwrap();
    let a = d.join("x.csv");
    let b = d.join("sub/../x.csv");
    let e = check_distinct(&[("--out", &a), ("--save-weights", &b)]).unwrap_err();
    assert!(
        e.message.contains("--out") && e.message.contains("--save-weights"),
        "{e}"
    );
    check_distinct(&[("--out", &a), ("--save-weights", &d.join("y.csv"))]).unwrap();
}

#[test]
fn staging_left_by_a_gone_process_is_swept_and_a_live_ones_is_kept() {
    let d = scratch("sweep");
    // Process ids beyond the system's limit belong to no process.
    let gone = d.join(".snnergy-stage-4194305-0-.out");
    std::fs::create_dir(&gone).unwrap();
    std::fs::write(gone.join("report.json"), "partial").unwrap();
    let tmp = d.join(".snnergy-tmp-4194305-1-a.csv");
    std::fs::write(&tmp, "partial").unwrap();
    let ours = d.join(format!(".snnergy-stage-{}-0-.out", std::process::id()));
    std::fs::create_dir(&ours).unwrap();
    let mut o = OutputDir::create(&d.join("out")).unwrap();
    o.write("report.json", b"{}").unwrap();
    o.commit().unwrap();
    assert!(!gone.exists());
    assert!(ours.exists());
    // A file write sweeps its folder too.
    std::fs::write(&tmp, "partial").unwrap();
    write(&d.join("a.csv"), b"1").unwrap();
    assert!(!tmp.exists());
}
