//! The Timeloop export carries the chip, the layer, the mapping and our counts.

use snnergy_mapper::*;

#[test]
fn timeloop_export_writes_architecture_problem_mapping_and_counts() {
    let hw = Hardware::shipped("eyeriss-like").unwrap();
    let p = Problem::conv("conv", 64, 32, 16, 16, 3, 3, 1);
    let d = Densities::uniform(0.6);
    let m = map(&p, &hw, d, &OwnPrices, &SearchOptions::default()).unwrap();
    let x = to_timeloop(&m).unwrap();
    assert!(x.architecture.starts_with("architecture:\n  version: 0.4"));
    assert!(
        x.architecture.contains("name: spad_weights")
            && x.architecture.contains("meshX: 14, meshY: 12")
    );
    assert!(
        x.problem.contains("M: 64") && x.problem.contains("C: 32") && x.problem.contains("P: 16")
    );
    assert!(x.mapping.contains("target: DRAM") && x.mapping.contains("type: datatype"));
    // Every temporal and spatial factor of each dimension multiplies to the layer's size.
    for (dim, size) in [
        ("M", 64u64),
        ("C", 32),
        ("P", 16),
        ("Q", 16),
        ("R", 3),
        ("S", 3),
        ("N", 1),
    ] {
        let product: u64 = x
            .mapping
            .lines()
            .filter(|l| l.trim_start().starts_with("factors:"))
            .flat_map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|f| f.starts_with(dim))
            .map(|f| f[dim.len()..].parse::<u64>().unwrap())
            .product();
        assert_eq!(product, size, "{dim}\n{}", x.mapping);
    }
    // The counts table has a row per level and data space with Timeloop's names.
    assert!(
        x.counts_csv
            .starts_with("level,data_space,timeloop_data_space,reads,fills,updates")
    );
    assert!(
        x.counts_csv
            .lines()
            .any(|l| l.starts_with("DRAM,weights,Weights,"))
    );
    assert!(
        x.counts_csv
            .lines()
            .any(|l| l.starts_with("spad,accum,Outputs,"))
    );
}

#[test]
#[ignore = "prints an export to read"]
fn print_an_export() {
    let hw = Hardware::shipped("eyeriss-like").unwrap();
    let p = Problem::conv("conv", 64, 32, 16, 16, 3, 3, 1);
    let m = map(
        &p,
        &hw,
        Densities::uniform(0.6),
        &OwnPrices,
        &SearchOptions::default(),
    )
    .unwrap();
    let x = to_timeloop(&m).unwrap();
    println!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        x.architecture,
        x.problem,
        x.mapping,
        x.counts_csv,
        m.describe(),
        m.loop_nest()
    );
}
