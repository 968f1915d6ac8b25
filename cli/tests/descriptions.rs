//! A hardware description's mistakes are errors that name the description's file, the line
//! and the key, and say what is wrong: a level that holds nothing, an array size of the
//! wrong arity, a chip without a name, levels out of order. Each was accepted (or reported
//! as something else) before.

use std::path::Path;

use super::support::{refused, scratch, snnergy};

/// The shipped Eyeriss-like chip with `edit` applied to its text.
fn chip(edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../archs/hardware/eyeriss-like.toml"),
    )
    .unwrap();
    edit(&text)
}

/// Runs a VGG16 analysis on `chip`, expecting a refusal naming the file, `line` and every
/// one of `words`.
fn refused_at(name: &str, chip: &str, line_of: &str, words: &[&str]) {
    let d = scratch(&format!("descriptions/{name}"));
    std::fs::write(d.join("chip.toml"), chip).unwrap();
    std::fs::write(
        d.join("p.toml"),
        r#"[analysis]
timesteps = 6
sweep_points = 3

[workload]
type = "vgg16"
input = "cifar10"

[activity]
type = "uniform"
spike_rates = [0.1]

[energy]
type = "horowitz-45nm"

[[architecture]]
type = "hardware"
description = "chip.toml"
"#,
    )
    .unwrap();
    let o = snnergy(&d, &["run", "p.toml", "--out", "out"]);
    let line = chip
        .lines()
        .position(|l| l.trim_start().starts_with(line_of))
        .map(|i| i + 1)
        .unwrap_or(1);
    refused(&o, "chip.toml");
    let e = super::support::stderr(&o);
    assert!(e.contains(&format!("line {line}")), "line {line}: {e}");
    for w in words {
        assert!(e.contains(w), "`{w}`: {e}");
    }
    assert!(!d.join("out").exists());
}

#[test]
fn a_level_with_a_capacity_that_holds_nothing_is_an_error_at_its_holds() {
    let text = chip(|t| {
        t.replacen(
            "holds = [\"weights\", \"inputs\", \"accum\", \"outputs\", \"membrane\"]\nbypass",
            "holds = []\nbypass",
            1,
        )
    });
    assert!(text.contains("holds = []"));
    refused_at(
        "holds-nothing",
        &text,
        "holds = []",
        &["`GLB`", "`holds`", "holds nothing"],
    );
}

#[test]
fn an_array_size_of_three_numbers_is_an_error_not_a_dropped_axis() {
    let text = chip(|t| t.replace("mesh = [14, 12]", "mesh = [14, 12, 3]"));
    refused_at(
        "mesh-arity",
        &text,
        "mesh = [14, 12, 3]",
        &["mesh", "two numbers"],
    );
    let text = chip(|t| t.replace("units = [1, 1]", "units = [4]"));
    refused_at(
        "units-arity",
        &text,
        "units = [4]",
        &["units", "two numbers"],
    );
}

#[test]
fn a_chip_without_a_name_is_an_error_asking_for_one() {
    let text = chip(|t| t.replacen("name = \"eyeriss-like\"\n", "", 1));
    refused_at("no-name", &text, "no line", &["`name`", "no `name`"]);
}

#[test]
fn levels_out_of_order_are_an_error_naming_the_order() {
    // GLB, DRAM, spad: the DRAM block moved below the GLB block.
    let text = chip(|t| {
        let dram = t.find("[[levels]]\nname = \"DRAM\"").unwrap();
        let glb = t.find("[[levels]]\nname = \"GLB\"").unwrap();
        let spad = t.find("[[levels]]\nname = \"spad\"").unwrap();
        format!(
            "{}{}{}{}",
            &t[..dram],
            &t[glb..spad],
            &t[dram..glb],
            &t[spad..]
        )
    });
    refused_at(
        "order",
        &text,
        "class = \"dram\"",
        &["`DRAM`", "after `GLB`", "outermost first"],
    );
    // A register level above a buffer.
    let text = chip(|t| {
        let glb = t.find("[[levels]]\nname = \"GLB\"").unwrap();
        let spad = t.find("[[levels]]\nname = \"spad\"").unwrap();
        let compute = t.find("[compute]").unwrap();
        format!(
            "{}{}{}{}",
            &t[..glb],
            &t[spad..compute],
            &t[glb..spad],
            &t[compute..]
        )
    });
    refused_at(
        "order-register",
        &text,
        "class = \"sram\"",
        &["`GLB`", "after `spad`", "outermost first"],
    );
}

#[test]
fn a_register_level_listed_first_is_reported_as_out_of_order_not_as_a_mesh_mistake() {
    // The spad (a 14×12 mesh) listed first used to be refused for its mesh, as if the
    // outermost level were meant to be an array: the order is what is wrong.
    let blocks = |t: &str| {
        let at = |s: &str| t.find(s).unwrap();
        (
            at("[[levels]]\nname = \"DRAM\""),
            at("[[levels]]\nname = \"GLB\""),
            at("[[levels]]\nname = \"spad\""),
            at("[compute]"),
        )
    };
    let text = chip(|t| {
        let (dram, glb, spad, compute) = blocks(t);
        format!(
            "{}{}{}{}{}",
            &t[..dram],
            &t[spad..compute],
            &t[glb..spad],
            &t[dram..glb],
            &t[compute..]
        )
    });
    refused_at(
        "order-spad-glb-dram",
        &text,
        "class = \"sram\"",
        &["`GLB`", "after `spad`", "outermost first"],
    );
    let text = chip(|t| {
        let (dram, glb, spad, compute) = blocks(t);
        format!(
            "{}{}{}{}{}",
            &t[..dram],
            &t[spad..compute],
            &t[dram..glb],
            &t[glb..spad],
            &t[compute..]
        )
    });
    refused_at(
        "order-spad-dram-glb",
        &text,
        "class = \"dram\"",
        &["`DRAM`", "after `spad`", "outermost first"],
    );
}
