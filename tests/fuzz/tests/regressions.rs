//! Every seed and every crash a fuzzing run kept, replayed through its target: none may
//! panic (an abort or a signal fails this test binary outright).

use snnergy_fuzz::{execute, saved_inputs, scratch, targets};

#[test]
fn every_kept_input_runs_without_a_panic() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for t in targets::ALL {
        let dir = scratch(&format!("{}-replay", t.name));
        let file = dir.join(format!("input.{}", t.ext));
        for (name, input) in saved_inputs(t, &dir) {
            ran += 1;
            if let Err(panic) = execute(t, &input, &file) {
                failures.push(format!("{} {name}: {panic}", t.name));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(ran > 10, "only {ran} inputs were replayed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_target_has_seeds() {
    for t in targets::ALL {
        let dir = scratch(&format!("{}-seeds", t.name));
        assert!(!(t.seeds)(&dir).is_empty(), "target {} has no seed", t.name);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
