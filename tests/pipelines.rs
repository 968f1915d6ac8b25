//! The shipped pipelines run, and their reports state the verdict, every assumption and
//! every price with its source; the sensitivity study flags a verdict that flips.

use crate::util as common;
use snnergy::report::Render as _;

use snnergy::core::MeanLevel;
use snnergy::core::report::{BreakEvenStatus, Verdict};

#[test]
fn shipped_hardware_pipelines_run_and_state_verdicts_assumptions_and_prices() {
    for (file, archs) in [
        (
            "vgg16-cifar10.toml",
            &["classical", "spatial", "neuromorphic"][..],
        ),
        (
            "resnet18-imagenet.toml",
            &["classical", "spatial", "neuromorphic"][..],
        ),
        ("neuromorphic-22nm.toml", &["neuromorphic"][..]),
    ] {
        let mut p = common::shipped(file, &[4, 6], 5);
        p.settings.sensitivity = None;
        let report = p.run().unwrap();
        for a in archs {
            for t in [4, 6] {
                let rows: Vec<_> = report
                    .breakeven
                    .iter()
                    .filter(|b| b.architecture == *a && b.timesteps == t)
                    .collect();
                assert!(!rows.is_empty(), "{file}: no break-even for {a} at T = {t}");
                // Mapped at its best, the QNN may beat the SNN at every rate (the spatial
                // chip's membranes read and written in PE SRAM every step cost more than the
                // QNN's whole reuse-mapped inference): a stated verdict, not a failure.
                for b in rows {
                    // Twin-consistent: the crossing, if any, is at its own twin, and the
                    // break-even also reads as a mean level at the activity's rate.
                    assert_eq!(b.twin, "consistent", "{file}: {b:?}");
                    if b.status == BreakEvenStatus::Crossing {
                        let level = b.mean_level.unwrap();
                        assert!((1.0..=t as f64).contains(&level), "{file}: {b:?}");
                    }
                    assert!(b.level_rate > 0.0, "{file}: {b:?}");
                    // Whatever the verdict, the status and the winning intervals say the
                    // same thing, and the intervals are ordered, disjoint rates.
                    match b.status {
                        BreakEvenStatus::Crossing => {
                            let r = b.spike_rate.unwrap();
                            assert!(r > 0.0 && r < 1.0, "{file}: {b:?}");
                            assert!(b.wins.len() == 1 && b.wins[0].from == 0.0, "{file}: {b:?}");
                        }
                        BreakEvenStatus::SnnNeverWins => {
                            assert!(b.spike_rate.is_none() && b.wins.is_empty(), "{file}: {b:?}")
                        }
                        BreakEvenStatus::SnnAlwaysWins => {
                            assert!(b.wins.len() == 1 && b.wins[0].reaches_top, "{file}: {b:?}")
                        }
                        BreakEvenStatus::SnnWinsAbove => {
                            assert!(
                                b.wins.last().is_some_and(|w| w.reaches_top),
                                "{file}: {b:?}"
                            )
                        }
                        BreakEvenStatus::SnnWinsWithin => {
                            assert!(!b.wins.is_empty(), "{file}: {b:?}")
                        }
                    }
                    for w in &b.wins {
                        assert!(
                            0.0 <= w.from && w.from < w.to && w.to <= 1.0,
                            "{file}: {b:?}"
                        );
                    }
                    for pair in b.wins.windows(2) {
                        assert!(pair[0].to < pair[1].from, "{file}: {b:?}");
                    }
                }
            }
        }
        let md = report.to_markdown(&[]);
        let verdicts = report.verdicts();
        for a in archs {
            assert!(
                verdicts.iter().any(|v| v.starts_with(&format!("**{a}**"))
                    && (v.contains("the SNN wins") || v.contains("the SNN loses"))),
                "{file}: no verdict for {a}: {verdicts:?}"
            );
            assert!(
                md.contains(&format!("### Architecture `{a}`")),
                "{file}: {a}"
            );
        }
        // Every architecture parameter and every price used appears with its source.
        for summary in &report.architectures {
            for assumption in &summary.assumptions {
                assert!(md.contains(&assumption.key), "{file}: {}", assumption.key);
            }
        }
        for price in &report.prices {
            assert!(md.contains(&price.action) && md.contains(&price.source));
        }
        for source in &report.sources {
            assert!(md.contains(&source.source.citation));
        }
    }
}

#[test]
fn sensitivity_maps_structural_choices_again_and_reports_their_swing() {
    // ResNet18 on the classical accelerator with the first version's dataflow pinned, at
    // T = 6 and 0.05 %, L̄ = 3.2: rebuilt on the mapper, the SNN loses to its twin at every
    // rate; letting the mapper choose the dataflow prices both formats anew, which the study
    // reports as a structural choice with its own ratio, break-even and verdict.
    let mut p = common::shipped("resnet18-imagenet.toml", &[6], 0);
    p.settings.mean_level = MeanLevel::Fixed(3.2);
    let registry = snnergy::registry().unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/resnet18-imagenet.toml"),
    )
    .unwrap()
    .replace("spike_rates = [0.05]", "spike_rates = [0.0005]")
    .replace(
        "activation_buffer_kib = 256",
        "activation_buffer_kib = 256\ndataflow = \"reuse-free\"",
    );
    let q = snnergy::analysis::Pipeline::from_toml(&text, None, &registry).unwrap();
    p.activity = q.activity;
    p.architectures = q.architectures;
    p.architectures.retain(|a| a.label == "classical");
    let report = p.run_with(Some(&registry)).unwrap();
    let t = &report.sensitivity[0];
    assert_eq!(t.nominal.verdict, Verdict::SnnLoses, "{t:?}");
    let level = t.rows.iter().find(|r| r.name == "mean level L̄").unwrap();
    assert_eq!(level.kind, "twin");
    let add = t.rows.iter().find(|r| r.name == "add").unwrap();
    assert!(!add.flips);
    // Structural choices were mapped again: the mapper's own dataflow among them, with the
    // break-even it gives and whether it flips the verdict.
    let auto = t
        .rows
        .iter()
        .find(|r| r.kind == "choice" && r.name == "dataflow = auto")
        .unwrap_or_else(|| panic!("{:?}", t.rows));
    let side = auto.low.as_ref().unwrap();
    assert!(
        (side.ratio / t.nominal.ratio - 1.0).abs() > 0.01,
        "mapped again, the ratio moves: {auto:?} against {:?}",
        t.nominal
    );
    assert_eq!(
        side.status == BreakEvenStatus::SnnNeverWins,
        side.wins.is_empty(),
        "{auto:?}"
    );
    assert_eq!(t.nominal.status, BreakEvenStatus::SnnNeverWins, "{t:?}");
    assert_eq!(
        auto.swing > 0.0,
        side.status != t.nominal.status,
        "{auto:?}"
    );
    assert_eq!(auto.flips, side.verdict != t.nominal.verdict);
    // Parameters were rebuilt through the registry.
    assert!(
        t.rows
            .iter()
            .any(|r| r.kind == "parameter" && r.name == "weight_buffer_kib")
    );

    // Without a registry only prices are varied, and the report says so.
    let report = p.run_with(None).unwrap();
    let t = &report.sensitivity[0];
    assert!(t.rows.iter().all(|r| r.kind == "price" || r.kind == "twin"));
    assert!(t.notes.iter().any(|n| n.contains("no registry")));
}

#[test]
fn the_tornado_nominal_break_even_is_the_break_even_tables() {
    // VGG16 on the classical chip at T = 6: the tornado's nominal row is priced by the same
    // anchored mappings as the break-even table, so the two agree interval for interval.
    let mut p = common::shipped("vgg16-cifar10.toml", &[6], 0);
    p.architectures.retain(|a| a.label == "classical");
    let study = p.settings.sensitivity.as_mut().unwrap();
    study.prices = false;
    study.parameters = false;
    let report = p.run().unwrap();
    let b = report
        .breakeven
        .iter()
        .find(|b| b.architecture == "classical" && b.timesteps == 6)
        .unwrap();
    let t = &report.sensitivity[0];
    assert_eq!(t.nominal.status, b.status, "{:?} vs {b:?}", t.nominal);
    assert_eq!(
        t.nominal.breakeven, b.spike_rate,
        "{:?} vs {b:?}",
        t.nominal
    );
    assert_eq!(t.nominal.wins, b.wins, "{:?} vs {b:?}", t.nominal);
    assert!(
        b.mapped.anchors >= 2,
        "both formats mapped at anchors: {b:?}"
    );
}

#[test]
fn the_same_pipeline_gives_the_same_bytes_twice() {
    let a = common::shipped("vgg16-cifar10.toml", &[4, 6], 11)
        .run()
        .unwrap();
    let b = common::shipped("vgg16-cifar10.toml", &[4, 6], 11)
        .run()
        .unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a.to_markdown(&[]), b.to_markdown(&[]));
    assert_eq!(a.comparisons_csv(), b.comparisons_csv());
}
