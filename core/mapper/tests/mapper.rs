//! The mapper against exhaustive enumeration, pinned mappings and the compulsory bound;
//! conservation of counts on random mappings; determinism and caching.

use crate::common::*;
use DataSpace::*;
use Dim::*;
use snnergy_mapper::*;

fn random_legal(rng: &mut Rng, p: &Problem, hw: &Hardware) -> Mapping {
    let n = hw.levels.len();
    let dims = p.dims();
    let mut tf = vec![[1u64; 9]; n];
    let mut sx = vec![[1u64; 9]; n];
    for d in 0..9 {
        let mut v = dims[d];
        let mut f = 2;
        while v > 1 {
            while v.is_multiple_of(f) {
                v /= f;
                let l = rng.below(n as u64) as usize;
                let fan = hw.fanout(l)[0];
                if rng.below(3) == 0
                    && sx[l].iter().product::<u64>() * f <= fan
                    && !(d == 8 && p.kind == Kind::Snn)
                {
                    sx[l][d] *= f;
                } else {
                    tf[l][d] *= f;
                }
            }
            f += 1;
        }
    }
    random_levels(rng, p, hw, &tf, &sx)
}

#[test]
fn the_mapper_is_never_worse_than_any_pinned_legal_mapping_on_exhaustive_layers() {
    let mut rng = Rng(3);
    for (hw, p) in [
        (chip([2, 1], true, true), qnn("small", 2, 2, 3, 1, 1, 1)),
        (
            chip([2, 1], false, false),
            qnn("small-conv", 2, 1, 2, 1, 3, 1),
        ),
        (
            chip([2, 1], true, true),
            qnn("small-snn", 2, 1, 2, 1, 1, 1).into_snn(2, 16),
        ),
    ] {
        // Let the mapper choose bypass too, as the random mappings do.
        let mut hw = hw;
        for l in 1..hw.levels.len() {
            hw.levels[l].bypass = Bypass::Auto;
        }
        let d = Densities::uniform(0.5);
        let opts = SearchOptions {
            exhaustive_limit: 50_000,
            ..SearchOptions::default()
        };
        let best = map(&p, &hw, d, &OwnPrices, &opts).unwrap();
        assert!(
            best.exhaustive,
            "{}: the space should be small enough to enumerate",
            p.name
        );
        let e_best = best.evaluate(d).unwrap().energy_pj;
        let mut checked = 0;
        for _ in 0..300 {
            let m = random_legal(&mut rng, &p, &hw);
            if let Ok(r) = evaluate(&p, &hw, &m, d, &OwnPrices) {
                let e = r.evaluate(d).unwrap().energy_pj;
                assert!(
                    e_best <= e * (1.0 + 1e-9),
                    "{}: pinned {e} beats the mapper's {e_best}\n{}",
                    p.name,
                    r.loop_nest()
                );
                checked += 1;
            }
        }
        assert!(checked > 30, "{}: {checked}", p.name);
    }
}

/// Every weight and input read once from DRAM, every output written once, every MAC once.
fn compulsory_pj(p: &Problem, hw: &Hardware) -> f64 {
    let dram = &hw.levels[0];
    let per = |bits: u32, op: AccessOp| {
        let pack = (dram.word_bits / bits).max(1);
        OwnPrices
            .access_pj(dram, DataSpace::Weights, op, pack * bits)
            .unwrap()
            / pack as f64
    };
    let (h, w) = p.input_hw();
    let weights = (p.g * p.k * p.c * p.r * p.s) as f64;
    let inputs = (p.n * p.g * p.c * h * w * p.t) as f64;
    let outputs = (p.n * p.g * p.k * p.p * p.q * p.t) as f64;
    let mac = OwnPrices
        .compute_pj(
            &hw.compute,
            ComputeOp::Mac {
                weight_bits: p.weight_bits,
                input_bits: p.input_bits,
            },
        )
        .unwrap();
    weights * per(p.weight_bits, AccessOp::Read)
        + inputs * per(p.input_bits, AccessOp::Read)
        + outputs * per(p.output_bits, AccessOp::Write)
        + p.ops() as f64 * mac
}

#[test]
fn the_mapper_is_never_better_than_the_compulsory_bound_on_dense_8_bit_layers() {
    for name in ["eyeriss-like", "tpu-like", "output-stationary"] {
        let hw = Hardware::shipped(name).unwrap();
        for p in [
            Problem::conv("conv", 64, 32, 8, 8, 3, 3, 1),
            Problem::conv("conv-s2", 32, 16, 8, 8, 3, 3, 2),
            Problem::linear("fc", 100, 512),
        ] {
            let d = Densities::uniform(1.0);
            let m = map(&p, &hw, d, &OwnPrices, &SearchOptions::default()).unwrap();
            let e = m.evaluate(d).unwrap().energy_pj;
            let bound = compulsory_pj(&p, &hw);
            assert!(e >= bound, "{name} {}: {e} below the bound {bound}", p.name);
            // And not absurdly far from it on these small layers.
            assert!(e < 50.0 * bound, "{name} {}: {e} vs bound {bound}", p.name);
        }
    }
}

#[test]
fn a_fully_pinned_mapping_is_a_constraint_that_leaves_one_point() {
    let hw = Hardware::shipped("output-stationary").unwrap();
    let p = Problem::conv("pinned", 32, 16, 8, 8, 3, 3, 1);
    let d = Densities::uniform(0.45);
    let free = map(&p, &hw, d, &OwnPrices, &SearchOptions::default()).unwrap();
    // Pin something other than the optimum: the optimum with its DRAM loops reversed.
    let mut other = free.mapping.clone();
    other.levels[0].temporal.reverse();
    let pinned = evaluate(&p, &hw, &other, d, &OwnPrices).unwrap();
    let opts = SearchOptions {
        constraints: Constraints::pin(&other),
        ..SearchOptions::default()
    };
    let searched = map(&p, &hw, d, &OwnPrices, &opts).unwrap();
    assert_eq!(
        searched.evaluate(d).unwrap().energy_pj,
        pinned.evaluate(d).unwrap().energy_pj
    );
    assert!(free.evaluate(d).unwrap().energy_pj <= pinned.evaluate(d).unwrap().energy_pj);
}

#[test]
fn partial_constraints_are_honoured() {
    let hw = Hardware::shipped("eyeriss-like").unwrap();
    let p = Problem::conv("rs", 64, 32, 16, 16, 3, 3, 1);
    // Row stationary: filter rows on Y, output rows on X, R wholly in the spads.
    let cons = Constraints {
        levels: vec![LevelConstraint {
            level: "GLB".into(),
            spatial_x: Some(vec![P]),
            spatial_y: Some(vec![R, K]),
            spatial_y_factors: [(R, 3)].into_iter().collect(),
            ..LevelConstraint::default()
        }],
    };
    let opts = SearchOptions {
        constraints: cons,
        ..SearchOptions::default()
    };
    let m = map(&p, &hw, Densities::uniform(1.0), &OwnPrices, &opts).unwrap();
    let glb = &m.mapping.levels[1];
    assert!(
        glb.spatial
            .iter()
            .any(|s| s.dim == R && s.factor == 3 && s.axis == Axis::Y)
    );
    assert!(glb.spatial.iter().all(
        |s| (s.axis == Axis::X && s.dim == P) || (s.axis == Axis::Y && matches!(s.dim, R | K))
    ));
}

#[test]
fn the_search_is_deterministic_and_the_cache_returns_the_same_mapping() {
    let hw = Hardware::shipped("tpu-like").unwrap();
    let p = Problem::conv("det", 64, 64, 8, 8, 3, 3, 1);
    let d = Densities::uniform(0.45);
    let a = map(&p, &hw, d, &OwnPrices, &SearchOptions::default()).unwrap();
    let b = map(&p, &hw, d, &OwnPrices, &SearchOptions::default()).unwrap();
    assert_eq!(a.mapping, b.mapping);
    let cache = Mapper::new();
    let c = cache
        .map(&p, &hw, d, &OwnPrices, &SearchOptions::default())
        .unwrap();
    let mut other = p.clone();
    other.name = "same-shape".into();
    let e = cache
        .map(&other, &hw, d, &OwnPrices, &SearchOptions::default())
        .unwrap();
    assert_eq!(cache.searches(), 1);
    assert_eq!(c.mapping, a.mapping);
    assert_eq!(e.problem.name, "same-shape");
    assert!(!a.describe().is_empty());
}

/// The chip's own prices with the outermost level's accesses scaled: a sensitivity study's
/// "DRAM ±50 %" row.
struct ScaledDram(f64);

impl Pricing for ScaledDram {
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        op: AccessOp,
        bits: u32,
    ) -> Result<f64, MapperError> {
        let pj = OwnPrices.access_pj(level, ds, op, bits)?;
        Ok(if level.name == "DRAM" {
            pj * self.0
        } else {
            pj
        })
    }
    fn compute_pj(&self, compute: &Compute, op: ComputeOp) -> Result<f64, MapperError> {
        OwnPrices.compute_pj(compute, op)
    }
    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError> {
        OwnPrices.hop_pj(level, bits)
    }
}

#[test]
fn pricings_that_differ_in_one_price_have_different_fingerprints_whatever_their_names() {
    // What a cache of searches keys on: a scaled table keeps its base table's name, and
    // must not share the base table's searches.
    let hw = Hardware::shipped("eyeriss-like").unwrap();
    let p = Problem::conv("fp", 64, 64, 8, 8, 3, 3, 1);
    let own = price_fingerprint(&p, &hw, &OwnPrices).unwrap();
    assert_eq!(own, price_fingerprint(&p, &hw, &ScaledDram(1.0)).unwrap());
    assert_ne!(own, price_fingerprint(&p, &hw, &ScaledDram(1.5)).unwrap());
    assert_ne!(
        price_fingerprint(&p, &hw, &ScaledDram(0.5)).unwrap(),
        price_fingerprint(&p, &hw, &ScaledDram(1.5)).unwrap()
    );
}

#[test]
fn counts_are_conserved_between_every_parent_and_child_on_random_mappings() {
    let mut rng = Rng(99);
    let mut checked = 0;
    for i in 0..300 {
        let hw = chip(
            [1 + rng.below(2), 1 + rng.below(2)],
            rng.below(2) == 0,
            rng.below(2) == 0,
        );
        let mut p = qnn(
            &format!("c{i}"),
            1 + rng.below(4),
            1 + rng.below(4),
            1 + rng.below(4),
            1 + rng.below(3),
            1 + rng.below(3),
            1 + rng.below(3),
        );
        if rng.below(2) == 0 {
            p = p.into_snn(1 + rng.below(4), 16);
        }
        let m = random_legal(&mut rng, &p, &hw);
        let Ok(r) = evaluate(&p, &hw, &m, dense(), &OwnPrices) else {
            continue;
        };
        checked += 1;
        let n = hw.levels.len();
        let tr = |net: usize, ds: DataSpace| {
            r.counts
                .transfers
                .iter()
                .filter(move |t| t.network == net && t.data_space == ds)
        };
        for ds in [Weights, Inputs] {
            let keepers: Vec<usize> = (0..n).filter(|&l| m.levels[l].keep.contains(&ds)).collect();
            for w in keepers.windows(2) {
                let (pa, c) = (w[0], w[1]);
                let reads = count_for(&r, pa, ds, Action::Read, Purpose::Fill);
                let fills = count(&r, c, ds, Action::Fill);
                // The last network between them carries parent reads × multicast = child fills.
                let t: Vec<&TransferCount> = tr(c - 1, ds).filter(|t| t.sends == reads).collect();
                assert!(!t.is_empty(), "{ds} {pa}->{c}");
                let mc = t[0].deliveries / t[0].sends;
                assert!((reads * mc - fills).abs() < 1e-9 * fills.max(1.0));
                assert!(mc >= 1.0 - 1e-12);
            }
        }
        // Partial sums: drains × instances ÷ reduction = parent updates.
        let fin = r.counts.finalizing_level;
        let chain: Vec<usize> = (fin..n)
            .filter(|&l| m.levels[l].keep.contains(&Accum))
            .collect();
        for w in chain.windows(2) {
            let (pa, c) = (w[0], w[1]);
            let drains = count_for(&r, c, Accum, Action::Read, Purpose::Drain);
            let updates = count(&r, pa, Accum, Action::Update);
            let red: f64 = (pa..c)
                .filter(|&j| hw.levels[j].network.reduction)
                .map(|j| {
                    m.levels[j]
                        .spatial
                        .iter()
                        .filter(|s| matches!(s.dim, C | R | S))
                        .map(|s| s.factor as f64)
                        .product::<f64>()
                })
                .product();
            assert!(
                (drains / red - updates).abs() < 1e-9 * updates.max(1.0),
                "accum {pa}<-{c}"
            );
        }
        // Every operation happens once: cycles × units in use = the loop nest's operations.
        assert_eq!(r.counts.cycles * r.counts.units_used, p.ops() as f64);
        // Every output is written once at each level that keeps it above the final level.
        let outs = (p.n * p.g * p.k * p.p * p.q * p.t) as f64;
        assert_eq!(count(&r, 0, Outputs, Action::Update), outs);
    }
    assert!(checked > 80, "{checked}");
}

#[test]
fn a_scored_candidate_costs_what_its_evaluation_reports_and_an_illegal_one_is_named() {
    let mut rng = Rng(11);
    let hw = chip([2, 1], true, true);
    let p = qnn("scored", 4, 2, 3, 1, 3, 1);
    let mut scorer = Scorer::new(&p, &hw, &OwnPrices).unwrap();
    let (mut legal, mut illegal) = (0, 0);
    for i in 0..200 {
        let m = random_legal(&mut rng, &p, &hw);
        let d = Densities::uniform((i % 10) as f64 / 10.0);
        let c = scorer.candidate(&m).unwrap();
        match evaluate(&p, &hw, &m, d, &OwnPrices) {
            Ok(r) => {
                let ev = r.evaluate(d).unwrap();
                let s = scorer.score(&c, &d).unwrap();
                // The same sums, added in another order.
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
                assert!(close(s.energy_pj(), ev.energy_pj), "{}", r.loop_nest());
                assert!(close(s.cycles, ev.cycles) && close(s.leakage_pj, ev.leakage_pj));
                legal += 1;
            }
            Err(e) => {
                assert_eq!(scorer.score(&c, &d).unwrap_err().to_string(), e.to_string());
                illegal += 1;
            }
        }
    }
    assert!(
        legal > 30 && illegal > 0,
        "{legal} legal, {illegal} illegal"
    );
    let c = scorer.candidate(&random_legal(&mut rng, &p, &hw)).unwrap();
    let err = scorer.score(&c, &Densities::uniform(1.5)).unwrap_err();
    assert!(err.to_string().contains("densities.input"), "{err}");
}

/// Every price of the chip's own times a factor, static power included.
struct Scaled(f64);

impl Pricing for Scaled {
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        op: AccessOp,
        bits: u32,
    ) -> Result<f64, MapperError> {
        Ok(self.0 * OwnPrices.access_pj(level, ds, op, bits)?)
    }
    fn compute_pj(&self, compute: &Compute, op: ComputeOp) -> Result<f64, MapperError> {
        Ok(self.0 * OwnPrices.compute_pj(compute, op)?)
    }
    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError> {
        Ok(self.0 * OwnPrices.hop_pj(level, bits)?)
    }
    fn static_mw(&self, hw: &Hardware, level: Option<usize>) -> Result<f64, MapperError> {
        Ok(self.0 * OwnPrices.static_mw(hw, level)?)
    }
}

#[test]
fn a_pricing_that_doubles_every_price_and_the_static_power_doubles_the_leakage_and_keeps_the_mapping()
 {
    let hw = Hardware::shipped("output-stationary").unwrap();
    let p = Problem::conv("conv", 64, 32, 8, 8, 3, 3, 1);
    let d = Densities::uniform(0.3);
    let opts = SearchOptions::default();
    let one = map(&p, &hw, d, &Scaled(1.0), &opts).unwrap();
    let two = map(&p, &hw, d, &Scaled(2.0), &opts).unwrap();
    assert_eq!(one.mapping, two.mapping);
    let (a, b) = (one.evaluate(d).unwrap(), two.evaluate(d).unwrap());
    assert!(a.leakage_pj > 0.0);
    assert_eq!(b.leakage_pj, 2.0 * a.leakage_pj);
    assert_eq!(b.energy_pj, 2.0 * a.energy_pj);
}

#[test]
fn an_enumeration_runs_exactly_when_its_points_with_loop_orders_fit_the_budget() {
    let mut hw = chip([2, 1], true, true);
    for l in 1..hw.levels.len() {
        hw.levels[l].bypass = Bypass::Auto;
    }
    // Few placements, but four loops with factors at a level have up to 24 orders each.
    let p = qnn("orders", 2, 2, 3, 2, 1, 1);
    let d = Densities::uniform(0.5);
    let with_budget = |max_evaluations| SearchOptions {
        exhaustive_limit: 50_000,
        max_evaluations,
        ..SearchOptions::default()
    };
    let all = map(&p, &hw, d, &OwnPrices, &with_budget(10_000_000)).unwrap();
    assert!(all.exhaustive);
    let points = all.evaluated;
    // Counted before it starts, the enumeration is the same whenever it leaves budget over.
    let fits = map(&p, &hw, d, &OwnPrices, &with_budget(points + 1)).unwrap();
    assert!(fits.exhaustive);
    assert_eq!(fits.evaluated, points);
    // A budget it would use up and it is not started: the heuristic search scores its own
    // candidates instead of a budget's worth of an enumeration it would have abandoned.
    let short = map(&p, &hw, d, &OwnPrices, &with_budget(points)).unwrap();
    assert!(!short.exhaustive);
    assert!(short.evaluated < points, "{} of {points}", short.evaluated);
}
