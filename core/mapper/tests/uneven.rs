//! Uneven (remainder) tiling: pinned mappings whose factors multiply past a dimension, checked
//! against the same mapping on the padded layer and against the data the layer needs.

use std::collections::HashMap;

use crate::common::*;
use DataSpace::*;
use Dim::*;
use snnergy_mapper::*;

/// The loops that cover `size`: prime factors, or (when `uneven`) an outer factor over
/// ceil-divided tiles whose size is then split into its prime factors.
fn factors(rng: &mut Rng, size: u64, uneven: bool) -> Vec<u64> {
    let mut out = Vec::new();
    let mut v = size;
    if uneven && size >= 3 {
        let outer = 2 + rng.below(size.min(5) - 1);
        let tile = size.div_ceil(outer);
        if outer * tile > size && (outer - 1) * tile < size {
            out.push(outer);
            v = tile;
        }
    }
    let mut f = 2;
    while v > 1 {
        while v.is_multiple_of(f) {
            v /= f;
            out.push(f);
        }
        f += 1;
    }
    out
}

/// A random mapping whose factors of K and C may be uneven; the others divide.
fn random_uneven(rng: &mut Rng, p: &Problem, hw: &Hardware) -> Mapping {
    let n = hw.levels.len();
    let mut tf = vec![[1u64; 9]; n];
    let mut sx = vec![[1u64; 9]; n];
    for (d, &size) in p.dims().iter().enumerate() {
        let uneven = matches!(Dim::ALL[d], K | C) && rng.below(4) != 0;
        for f in factors(rng, size, uneven) {
            let l = rng.below(n as u64) as usize;
            if rng.below(3) == 0
                && sx[l].iter().product::<u64>() * f <= hw.fanout(l)[0]
                && !(Dim::ALL[d] == T && p.kind == Kind::Snn)
            {
                sx[l][d] *= f;
            } else {
                tf[l][d] *= f;
            }
        }
    }
    random_levels(rng, p, hw, &tf, &sx)
}

/// The product of a dimension's factors in `m`.
fn covered(m: &Mapping, dim: Dim) -> u64 {
    let t = m.levels.iter().flat_map(|l| &l.temporal);
    let s = m.levels.iter().flat_map(|l| &l.spatial);
    t.filter(|x| x.dim == dim)
        .map(|x| x.factor)
        .product::<u64>()
        * s.filter(|x| x.dim == dim)
            .map(|x| x.factor)
            .product::<u64>()
}

type Key = (usize, DataSpace, Action, Purpose);

fn by_key(r: &MappedLayer) -> HashMap<Key, f64> {
    let mut out = HashMap::new();
    for a in &r.counts.accesses {
        *out.entry((a.level, a.data_space, a.action, a.purpose))
            .or_insert(0.0) += a.elements;
    }
    out
}

/// What the checks of one uneven mapping compare: the layer and its padded twin.
struct Pair<'a> {
    p: &'a Problem,
    real: MappedLayer,
    padded: MappedLayer,
}

impl Pair<'_> {
    /// No count of the layer exceeds the padded layer's under the same mapping, and the
    /// padded nest's cycles are the layer's.
    fn within_the_padded_counts(&self) {
        assert_eq!(self.real.counts.cycles, self.padded.counts.cycles);
        let padded = by_key(&self.padded);
        for (key, n) in by_key(&self.real) {
            let bound = padded.get(&key).copied().unwrap_or(0.0);
            assert!(n <= bound * (1.0 + 1e-12), "{key:?}: {n} > {bound}");
        }
    }

    /// The real operations and outputs, and each level keeping weights or inputs reads at
    /// least their unique footprint.
    fn at_least_what_the_layer_needs(&self) {
        let (p, r) = (self.p, &self.real);
        let ops = r.counts.ops[0].count;
        assert_eq!(ops, p.ops() as f64);
        let busy = r.counts.cycles * r.counts.units_used;
        assert!((busy - ops).abs() <= 1e-9 * ops, "{busy} vs {ops}");
        let outputs = (p.n * p.g * p.k * p.p * p.q * p.t) as f64;
        assert_eq!(count(r, 0, Outputs, Action::Update), outputs);
        let unique_w = (p.g * p.k * p.c * p.r * p.s) as f64;
        let rows = |o: u64, k: u64| ((o - 1) * p.stride_h + (k - 1) * p.dilation_h + 1) as f64;
        let unique_i = (p.n * p.g * p.c * p.t) as f64 * rows(p.p, p.r) * rows(p.q, p.s);
        let m = &r.mapping;
        for (ds, unique) in [(Weights, unique_w), (Inputs, unique_i)] {
            for (l, lm) in m.levels.iter().enumerate() {
                if !lm.keep.contains(&ds) {
                    continue;
                }
                let reads = count(r, l, ds, Action::Read);
                assert!(
                    reads >= unique * (1.0 - 1e-12),
                    "{ds} reads at {l}: {reads}"
                );
                if l > 0 {
                    let fills = count(r, l, ds, Action::Fill);
                    assert!(
                        fills >= unique * (1.0 - 1e-12),
                        "{ds} fills at {l}: {fills}"
                    );
                }
            }
        }
    }
}

#[test]
fn uneven_mappings_count_no_more_than_the_padded_layer_and_no_less_than_the_layer_needs() {
    let mut rng = Rng(25);
    let mut checked = 0;
    for i in 0..1200 {
        let hw = chip(
            [1 + rng.below(4), 1 + rng.below(2)],
            rng.below(2) == 0,
            rng.below(2) == 0,
        );
        let mut p = qnn(
            &format!("u{i}"),
            2 + rng.below(11),
            2 + rng.below(7),
            1 + rng.below(4),
            1 + rng.below(3),
            1 + rng.below(3),
            1 + rng.below(3),
        );
        if rng.below(2) == 0 {
            p = p.into_snn(1 + rng.below(4), 16);
        }
        let m = random_uneven(&mut rng, &p, &hw);
        let Ok(real) = evaluate(&p, &hw, &m, dense(), &OwnPrices) else {
            continue;
        };
        let mut padded_p = p.clone();
        (padded_p.k, padded_p.c) = (covered(&m, K), covered(&m, C));
        if (padded_p.k, padded_p.c) == (p.k, p.c) {
            continue;
        }
        let padded = evaluate(&padded_p, &hw, &m, dense(), &OwnPrices)
            .expect("the padded layer takes the same mapping");
        let pair = Pair {
            p: &p,
            real,
            padded,
        };
        pair.within_the_padded_counts();
        pair.at_least_what_the_layer_needs();
        checked += 1;
    }
    assert!(checked > 150, "{checked}");
}

/// K = 10 on DRAM → buffer → register, the factors of K given per level.
fn k10(dram: u64, buffer: u64) -> Result<MappedLayer, String> {
    let hw = chip([1, 1], true, false);
    let p = qnn("ten", 10, 1, 1, 1, 1, 1);
    let m = Mapping {
        levels: vec![
            level(
                "DRAM",
                vec![lp(K, dram)],
                vec![],
                &[Weights, Inputs, Accum, Outputs],
            ),
            level("buffer", vec![lp(K, buffer)], vec![], &[Weights, Inputs]),
            level("reg", vec![], vec![], &[Accum]),
        ],
    };
    evaluate(&p, &hw, &m, dense(), &OwnPrices).map_err(|e| e.to_string())
}

#[test]
fn a_pinned_uneven_mapping_counts_its_real_elements_and_a_wasteful_one_names_its_loop() {
    // K = 10 as 4 × 3: the buffer's weight tiles hold 3, 3, 3 and 1.
    let r = k10(4, 3).unwrap();
    assert_eq!(count(&r, 1, Weights, Action::Fill), 10.0);
    assert_eq!(r.counts.cycles, 12.0);
    // 4 × 4: the fourth DRAM step starts at 12, past K = 10.
    let m = k10(4, 4).unwrap_err();
    assert!(
        m.contains("`ten`") && m.contains("DRAM") && m.contains("factors.K"),
        "{m}"
    );
    // 5 × 4 = 20: twice K, refused before counting; 3 × 3 = 9 does not cover it.
    for (a, b) in [(5, 4), (3, 3)] {
        let m = k10(a, b).unwrap_err();
        assert!(m.contains("factors.K") && m.contains("multiply to"), "{m}");
    }
}

#[test]
fn the_search_may_stretch_a_dimension_over_an_array_it_does_not_divide() {
    // K = 10 over 4 PEs: its divisors fill 2 of them (5 folds), a ceil split all 4 (3 folds,
    // the last with 2 idle); P, Q, R and S (3 each) fill 3.
    let hw = chip([4, 1], true, false);
    let p = qnn("k10", 10, 1, 3, 3, 3, 3);
    let options = |uneven_spatial| SearchOptions {
        objective: Objective::Latency,
        exhaustive_limit: 0,
        uneven_spatial,
        ..SearchOptions::default()
    };
    let even = map(&p, &hw, dense(), &OwnPrices, &options(false)).unwrap();
    let uneven = map(&p, &hw, dense(), &OwnPrices, &options(true)).unwrap();
    assert_eq!(covered(&even.mapping, K), 10);
    assert_eq!(covered(&uneven.mapping, K), 12);
    assert!(
        uneven.counts.cycles < even.counts.cycles,
        "{} vs {}",
        uneven.counts.cycles,
        even.counts.cycles
    );
    // The uneven unrollings are refined beside the even ones: never a worse optimum.
    for objective in [Objective::Energy, Objective::Edp] {
        let opts = |uneven_spatial| SearchOptions {
            objective,
            exhaustive_limit: 0,
            uneven_spatial,
            ..SearchOptions::default()
        };
        let score = |m: &MappedLayer| m.objective_at(dense(), objective).unwrap();
        let without = map(&p, &hw, dense(), &OwnPrices, &opts(false)).unwrap();
        let with = map(&p, &hw, dense(), &OwnPrices, &opts(true)).unwrap();
        assert!(score(&with) <= score(&without), "{objective:?}");
    }
    // A space this small is enumerated at the default limit: the stretched unrollings are
    // enumerated with the even ones.
    let enumerated = |uneven_spatial| SearchOptions {
        objective: Objective::Latency,
        uneven_spatial,
        ..SearchOptions::default()
    };
    let all_even = map(&p, &hw, dense(), &OwnPrices, &enumerated(false)).unwrap();
    let all = map(&p, &hw, dense(), &OwnPrices, &enumerated(true)).unwrap();
    assert!(all_even.exhaustive && all.exhaustive);
    assert_eq!(covered(&all_even.mapping, K), 10);
    assert_eq!(covered(&all.mapping, K), 12);
    assert_eq!(all.counts.cycles, uneven.counts.cycles);
    // Its counts are those of the same mapping pinned.
    let pinned = evaluate(&p, &hw, &uneven.mapping, dense(), &OwnPrices).unwrap();
    assert_eq!(pinned.counts, uneven.counts);
    assert_eq!(uneven.counts.ops[0].count, p.ops() as f64);
}

#[test]
fn an_uneven_mapping_pinned_as_constraints_is_mapped_as_evaluated() {
    let hw = chip([4, 1], true, false);
    let p = qnn("k10", 10, 1, 3, 3, 3, 3);
    let options = SearchOptions {
        objective: Objective::Latency,
        exhaustive_limit: 0,
        uneven_spatial: true,
        ..SearchOptions::default()
    };
    let found = map(&p, &hw, dense(), &OwnPrices, &options).unwrap();
    assert_eq!(covered(&found.mapping, K), 12);
    // The searched uneven mapping, pinned as a user pins one, maps to itself.
    let pinned = SearchOptions {
        constraints: snnergy_mapper::Constraints::pin(&found.mapping),
        ..SearchOptions::default()
    };
    let again = map(&p, &hw, dense(), &OwnPrices, &pinned).unwrap();
    assert_eq!(again.mapping, found.mapping);
    assert_eq!(again.counts, found.counts);
    // Pinned factors of K that neither divide 10 nor cover it leave nothing to fill the rest.
    let mut short = found.mapping.clone();
    for l in &mut short.levels {
        for s in &mut l.spatial {
            if s.dim == K {
                s.factor = 3;
            }
        }
        l.temporal.retain(|t| t.dim != K);
    }
    let refused = SearchOptions {
        constraints: snnergy_mapper::Constraints::pin(&short),
        ..SearchOptions::default()
    };
    let e = map(&p, &hw, dense(), &OwnPrices, &refused)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("factors.K") && e.contains("nor covers it"),
        "{e}"
    );
}

/// K = 10 over 3 DRAM steps and 4 PEs, each PE running P4 × R3; or (`temporal_only`) the
/// same split as K3 × K4 temporal with one PE.
fn k10_over_four_pes(temporal_only: bool) -> MappedLayer {
    let hw = chip([4, 1], true, false);
    let p = qnn("k10", 10, 1, 4, 1, 3, 1);
    let (buffer_t, buffer_s) = if temporal_only {
        (vec![lp(K, 4)], vec![])
    } else {
        (vec![], vec![sl(K, 4, Axis::X)])
    };
    let m = Mapping {
        levels: vec![
            level(
                "DRAM",
                vec![lp(K, 3)],
                vec![],
                &[Weights, Inputs, Accum, Outputs],
            ),
            level("buffer", buffer_t, buffer_s, &[]),
            level(
                "reg",
                vec![lp(P, 4), lp(R, 3)],
                vec![],
                &[Weights, Inputs, Accum],
            ),
        ],
    };
    evaluate(&p, &hw, &m, dense(), &OwnPrices).unwrap()
}

#[test]
fn the_zigzag_export_writes_an_uneven_unrolling_as_zigzag_expresses_it_and_refuses_others() {
    let x = to_zigzag(&k10_over_four_pes(false)).unwrap();
    // The unrolling as written (ZigZag turns it into 10 / 3 itself) over the 3 DRAM steps.
    assert!(x.mapping.contains("- K, 4"), "{}", x.mapping);
    assert!(x.mapping.contains("- [K, 3]"), "{}", x.mapping);
    assert!(x.workload.contains("10"), "{}", x.workload);
    assert!(
        x.changes
            .iter()
            .any(|c| c.contains("K = 10") && c.contains("3.3333")),
        "{:?}",
        x.changes
    );
    // Temporal remainder tiles have no ZigZag form.
    let e = to_zigzag(&k10_over_four_pes(true)).unwrap_err().to_string();
    assert!(e.contains("factors.K") && e.contains("ceil(10 / 1)"), "{e}");
    // Nor have they a Timeloop one.
    let e = to_timeloop(&k10_over_four_pes(false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("factors.K") && e.contains("Timeloop"), "{e}");
}
