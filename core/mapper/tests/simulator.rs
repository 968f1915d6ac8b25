//! A brute-force simulator of the loop nest: it runs every loop, keeps every level
//! instance's resident tile as a set of elements and counts what the stated replacement
//! semantics move. The analytic counter must agree exactly on random mappings of tiny layers.
//!
//! Replacement semantics simulated: a level instance holds the tile of its current outer
//! iteration, identified by the indices of the loops above it that are relevant to the data
//! space; when one of them changes the tile is refilled whole (even if, by a coincidence of
//! the window, the new set equals the old one), except that with a sliding window a step of a
//! P or Q loop (no relevant loop wrapping) fetches only the elements not already held. A
//! multicast group (children differing only in spatial loops on multicast networks between
//! parent and child) is served from one read per element of the union of what its children
//! lack: an element one child already held is sent again to another child that needs it. Partial sums
//! from children differing only in reduction loops on reducing networks arrive as one update.
//! With uneven factors the loops run their full trip counts and an iteration whose index lies
//! past a dimension touches nothing: tiles hold only elements that exist.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use snnergy_mapper::*;

type Key = [i64; 6];

#[derive(Clone, Copy, Debug)]
struct L {
    dim: usize,
    factor: u64,
    level: usize,
    spatial: bool,
    stride: u64,
}

fn flatten(m: &Mapping, drop_reduction: bool) -> Vec<L> {
    let mut v = Vec::new();
    for (l, lm) in m.levels.iter().enumerate() {
        for lp in &lm.temporal {
            v.push(L {
                dim: lp.dim.index(),
                factor: lp.factor,
                level: l,
                spatial: false,
                stride: 1,
            });
        }
        for s in &lm.spatial {
            v.push(L {
                dim: s.dim.index(),
                factor: s.factor,
                level: l,
                spatial: true,
                stride: 1,
            });
        }
    }
    if drop_reduction {
        v.retain(|x| !matches!(x.dim, 3 | 6 | 7));
    }
    for i in 0..v.len() {
        v[i].stride = v[i + 1..]
            .iter()
            .filter(|x| x.dim == v[i].dim)
            .map(|x| x.factor)
            .product();
    }
    v
}

/// The element of `ds` an iteration at `ix` touches; none when an index lies in the padding
/// of an uneven dimension (such an iteration is not computed).
fn element(p: &Problem, ds: DataSpace, ix: &[u64; 9]) -> Option<Key> {
    if ix.iter().zip(p.dims()).any(|(&i, d)| i >= d) {
        return None;
    }
    let [n, g, k, c, pp, q, r, s, t] = ix.map(|x| x as i64);
    Some(match ds {
        DataSpace::Weights => [g, k, c, r, s, 0],
        DataSpace::Inputs => [
            n,
            g,
            c,
            t,
            pp * p.stride_h as i64 + r * p.dilation_h as i64,
            q * p.stride_w as i64 + s * p.dilation_w as i64,
        ],
        DataSpace::Accum | DataSpace::Outputs => [n, g, k, pp, q, t],
        DataSpace::Membrane => [n, g, k, pp, q, 0],
    })
}

/// All assignments of the given loops (odometer, first loop slowest).
fn assignments(loops: &[L]) -> Vec<Vec<u64>> {
    let mut out = vec![vec![]];
    for l in loops {
        let mut next = Vec::new();
        for a in &out {
            for i in 0..l.factor {
                let mut b = a.clone();
                b.push(i);
                next.push(b);
            }
        }
        out = next;
    }
    out
}

fn index(loops: &[L], vals: &[(usize, u64)]) -> [u64; 9] {
    let mut ix = [0u64; 9];
    for &(li, v) in vals {
        ix[loops[li].dim] += v * loops[li].stride;
    }
    ix
}

/// Whether each loop lies inside the tile of a level-`c` instance whose boundary takes in
/// the innermost `b` temporal loops above the level.
fn inside(loops: &[L], c: usize, b: usize) -> Vec<bool> {
    let above: Vec<usize> = (0..loops.len())
        .filter(|&i| loops[i].level < c && !loops[i].spatial)
        .collect();
    let taken = &above[above.len() - b..];
    (0..loops.len())
        .map(|i| loops[i].level >= c || taken.contains(&i))
        .collect()
}

/// The tile of `ds` held by the level-`c` instance (boundary raised past `b` loops) for the
/// given outer assignment.
fn tile(
    p: &Problem,
    loops: &[L],
    (c, b): (usize, usize),
    ds: DataSpace,
    outer: &[(usize, u64)],
) -> BTreeSet<Key> {
    let within = inside(loops, c, b);
    let inner: Vec<usize> = (0..loops.len()).filter(|&i| within[i]).collect();
    let inner_loops: Vec<L> = inner.iter().map(|&i| loops[i]).collect();
    let mut set = BTreeSet::new();
    for a in assignments(&inner_loops) {
        let mut vals: Vec<(usize, u64)> = outer.to_vec();
        vals.extend(inner.iter().copied().zip(a));
        set.extend(element(p, ds, &index(loops, &vals)));
    }
    set
}

/// Transfers into level `c` (the boundary of `ds` raised past `b` loops) for `ds`:
/// (per-instance fills summed, group reads summed) where a group merges the spatial loops
/// `merge` accepts.
fn transfers(
    p: &Problem,
    loops: &[L],
    (c, b): (usize, usize),
    ds: DataSpace,
    sliding: bool,
    merge: &dyn Fn(&L) -> bool,
) -> (f64, f64) {
    let within = inside(loops, c, b);
    let outer_t: Vec<usize> = (0..loops.len())
        .filter(|&i| !within[i] && !loops[i].spatial)
        .collect();
    let outer_s: Vec<usize> = (0..loops.len())
        .filter(|&i| loops[i].level < c && loops[i].spatial)
        .collect();
    let ot: Vec<L> = outer_t.iter().map(|&i| loops[i]).collect();
    let os: Vec<L> = outer_s.iter().map(|&i| loops[i]).collect();
    let times = assignments(&ot);
    let insts = assignments(&os);
    let rel = ds.relevant_mask_for_tests();
    let mut prev: BTreeMap<usize, BTreeSet<Key>> = BTreeMap::new();
    let (mut fills, mut reads) = (0.0, 0.0);
    for (ti, tv) in times.iter().enumerate() {
        // Which loop stepped, and did a relevant loop inside it wrap?
        let slide_ok = if ti == 0 {
            false
        } else {
            let pv = &times[ti - 1];
            let stepped = (0..tv.len())
                .rev()
                .filter(|&i| tv[i] != pv[i])
                .min()
                .unwrap();
            let wrapped_relevant =
                (stepped + 1..tv.len()).any(|i| ot[i].factor > 1 && rel & (1 << ot[i].dim) != 0);
            sliding
                && ds == DataSpace::Inputs
                && matches!(ot[stepped].dim, 4 | 5)
                && !wrapped_relevant
        };
        let changed = ti == 0
            || (0..tv.len()).any(|i| tv[i] != times[ti - 1][i] && rel & (1 << ot[i].dim) != 0);
        // What each multicast group must be sent: the union of what its children lack.
        let mut groups: BTreeMap<Vec<u64>, BTreeSet<Key>> = BTreeMap::new();
        for (si, sv) in insts.iter().enumerate() {
            let mut outer: Vec<(usize, u64)> =
                outer_t.iter().copied().zip(tv.iter().copied()).collect();
            outer.extend(outer_s.iter().copied().zip(sv.iter().copied()));
            let t = tile(p, loops, (c, b), ds, &outer);
            let need: BTreeSet<Key> = match prev.get(&si) {
                None => t.clone(),
                Some(old) if changed => {
                    if slide_ok {
                        t.difference(old).copied().collect()
                    } else {
                        t.clone()
                    }
                }
                _ => BTreeSet::new(),
            };
            fills += need.len() as f64;
            let gkey: Vec<u64> = outer_s
                .iter()
                .zip(sv)
                .filter(|(i, _)| !merge(&loops[**i]))
                .map(|(_, v)| *v)
                .collect();
            groups.entry(gkey).or_default().extend(need);
            prev.insert(si, t);
        }
        reads += groups.values().map(|u| u.len() as f64).sum::<f64>();
    }
    (fills, reads)
}

/// Per-cycle distinct elements needed by the units, grouped by non-merged spatial loops.
fn per_cycle(p: &Problem, loops: &[L], ds: DataSpace, merge: &dyn Fn(&L) -> bool) -> f64 {
    let t_idx: Vec<usize> = (0..loops.len()).filter(|&i| !loops[i].spatial).collect();
    let s_idx: Vec<usize> = (0..loops.len()).filter(|&i| loops[i].spatial).collect();
    let tl: Vec<L> = t_idx.iter().map(|&i| loops[i]).collect();
    let sl: Vec<L> = s_idx.iter().map(|&i| loops[i]).collect();
    let mut total = 0.0;
    for tv in assignments(&tl) {
        let mut groups: BTreeMap<Vec<u64>, BTreeSet<Key>> = BTreeMap::new();
        for sv in assignments(&sl) {
            let mut vals: Vec<(usize, u64)> =
                t_idx.iter().copied().zip(tv.iter().copied()).collect();
            vals.extend(s_idx.iter().copied().zip(sv.iter().copied()));
            let key: Vec<u64> = s_idx
                .iter()
                .zip(&sv)
                .filter(|(i, _)| !merge(&loops[**i]))
                .map(|(_, v)| *v)
                .collect();
            groups
                .entry(key)
                .or_default()
                .extend(element(p, ds, &index(loops, &vals)));
        }
        total += groups.values().map(|g| g.len() as f64).sum::<f64>();
    }
    total
}

trait Rel {
    fn relevant_mask_for_tests(self) -> u16;
}
impl Rel for DataSpace {
    fn relevant_mask_for_tests(self) -> u16 {
        self.relevant().iter().fold(0, |m, d| m | (1 << d.index()))
    }
}

fn primes(mut n: u64) -> Vec<u64> {
    let mut v = Vec::new();
    let mut d = 2;
    while n > 1 {
        while n.is_multiple_of(d) {
            v.push(d);
            n /= d;
        }
        d += 1;
    }
    v
}

/// The factors that cover `size`: its primes, or (when `uneven`) an outer factor over
/// ceil-divided tiles and the primes of the tile.
fn cover(rng: &mut Rng, size: u64, uneven: bool) -> Vec<u64> {
    if uneven && size >= 3 {
        let outer = 2 + rng.below(size.min(4) - 1);
        let tile = size.div_ceil(outer);
        if outer * tile > size && (outer - 1) * tile < size {
            let mut v = vec![outer];
            v.extend(primes(tile));
            return v;
        }
    }
    primes(size)
}

/// A random mapping; with `uneven`, the factors of K and C may cover them unevenly.
fn random_mapping(rng: &mut Rng, p: &Problem, hw: &Hardware, uneven: bool) -> Mapping {
    let n = hw.levels.len();
    let mut tf = vec![[1u64; 9]; n];
    let mut sx = vec![[1u64; 9]; n];
    let mut sy = vec![[1u64; 9]; n];
    let dims = p.dims();
    for d in 0..9 {
        let uneven = uneven && matches!(d, 2 | 3) && rng.below(3) != 0;
        for pr in cover(rng, dims[d], uneven) {
            let l = rng.below(n as u64) as usize;
            let fan = hw.fanout(l);
            match rng.below(3) {
                1 if sx[l].iter().product::<u64>() * pr <= fan[0]
                    && !(d == 8 && p.kind == Kind::Snn) =>
                {
                    sx[l][d] *= pr
                }
                2 if sy[l].iter().product::<u64>() * pr <= fan[1]
                    && !(d == 8 && p.kind == Kind::Snn) =>
                {
                    sy[l][d] *= pr
                }
                _ => tf[l][d] *= pr,
            }
        }
    }
    let mut levels = Vec::new();
    for l in 0..n {
        let mut order: Vec<usize> = (0..9).collect();
        for i in (1..9).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let temporal = order
            .iter()
            .filter(|&&d| tf[l][d] > 1)
            .map(|&d| lp(Dim::ALL[d], tf[l][d]))
            .collect();
        let mut spatial = Vec::new();
        for d in 0..9 {
            if sx[l][d] > 1 {
                spatial.push(sl(Dim::ALL[d], sx[l][d], Axis::X));
            }
            if sy[l][d] > 1 {
                spatial.push(sl(Dim::ALL[d], sy[l][d], Axis::Y));
            }
        }
        let keep: Vec<DataSpace> = p
            .spaces()
            .filter(|ds| hw.may_hold(&hw.levels[l], *ds) && (l == 0 || rng.below(10) < 6))
            .collect();
        levels.push(level(&hw.levels[l].name, temporal, spatial, &keep));
    }
    Mapping { levels }
}

fn check(p: &Problem, hw: &Hardware, m: &Mapping) -> bool {
    let Ok(r) = evaluate(p, hw, m, dense(), &OwnPrices) else {
        return false;
    };
    let loops = flatten(m, false);
    let n = hw.levels.len();
    let keepers = |ds: DataSpace| -> Vec<usize> {
        (0..n).filter(|&l| m.levels[l].keep.contains(&ds)).collect()
    };
    let mc = |l: &L| hw.levels[l.level].network.multicast;
    let ctx = format!(
        "{}\n{:?}\n{:?}",
        snnergy_mapper_loop_nest(&r),
        p,
        m.levels.iter().map(|l| &l.spans_above).collect::<Vec<_>>()
    );
    let raised = |c: usize, ds: DataSpace| -> (usize, usize) {
        let b = m.levels[c].spans_above.get(&ds).copied().unwrap_or(0);
        (c, b as usize)
    };
    for ds in [DataSpace::Weights, DataSpace::Inputs] {
        let ks = keepers(ds);
        for w in ks.windows(2) {
            let (pa, c) = (w[0], w[1]);
            let sliding = hw.levels[c].sliding_window;
            let merge = |l: &L| l.level >= pa && l.level < c && mc(l);
            let (fills, reads) = transfers(p, &loops, raised(c, ds), ds, sliding, &merge);
            assert_eq!(
                count(&r, c, ds, Action::Fill),
                fills,
                "{ds} fills of level {c}\n{ctx}"
            );
            assert_eq!(
                count_for(&r, pa, ds, Action::Read, Purpose::Fill),
                reads,
                "{ds} reads of level {pa} for {c}\n{ctx}"
            );
        }
        let inner = *ks.last().unwrap();
        let merge = |l: &L| l.level >= inner && mc(l);
        let operand = per_cycle(p, &loops, ds, &merge);
        assert_eq!(
            count_for(&r, inner, ds, Action::Read, Purpose::Operand),
            operand,
            "{ds} operand reads\n{ctx}"
        );
    }
    // Partial sums.
    let fin = r.counts.finalizing_level;
    let ach: Vec<usize> = keepers(DataSpace::Accum)
        .into_iter()
        .filter(|&l| l >= fin)
        .collect();
    let ia = *ach.last().unwrap();
    let red = |l: &L| hw.levels[l.level].network.reduction && matches!(l.dim, 3 | 6 | 7);
    let updates = per_cycle(p, &loops, DataSpace::Accum, &|l: &L| {
        l.level >= ia && red(l)
    });
    let residencies = |c: usize| {
        let at = raised(c, DataSpace::Accum);
        transfers(p, &loops, at, DataSpace::Accum, false, &|_: &L| false).0
    };
    assert_eq!(
        count(&r, ia, DataSpace::Accum, Action::Update),
        updates,
        "accum updates\n{ctx}"
    );
    assert_eq!(
        count_for(&r, ia, DataSpace::Accum, Action::Read, Purpose::Accumulate),
        updates - residencies(ia),
        "accum read-modify-write at the innermost level\n{ctx}"
    );
    for w in ach.windows(2) {
        let (pa, c) = (w[0], w[1]);
        let at = raised(c, DataSpace::Accum);
        let (wc, u) = transfers(p, &loops, at, DataSpace::Accum, false, &|l: &L| {
            l.level >= pa && l.level < c && red(l)
        });
        assert_eq!(
            count_for(&r, c, DataSpace::Accum, Action::Read, Purpose::Drain),
            wc,
            "accum drains of {c}\n{ctx}"
        );
        assert_eq!(
            count(&r, pa, DataSpace::Accum, Action::Update),
            u,
            "accum updates of {pa}\n{ctx}"
        );
        let wp = residencies(pa);
        assert_eq!(
            count_for(&r, pa, DataSpace::Accum, Action::Read, Purpose::Accumulate),
            u - wp,
            "accum rmw of {pa}\n{ctx}"
        );
    }
    // Membranes on the projected nest.
    if p.kind == Kind::Snn {
        let proj = flatten(m, true);
        let mch: Vec<usize> = keepers(DataSpace::Membrane);
        let dm = (p.n * p.g * p.k * p.p * p.q) as f64;
        for w in mch.windows(2) {
            let c = w[1];
            let wm = transfers(p, &proj, (c, 0), DataSpace::Membrane, false, &|_: &L| false).0;
            assert_eq!(
                count(&r, c, DataSpace::Membrane, Action::Fill),
                wm - dm,
                "membrane fills of {c}\n{ctx}"
            );
        }
    }
    true
}

fn snnergy_mapper_loop_nest(r: &MappedLayer) -> String {
    r.loop_nest()
}

fn random_chip(rng: &mut Rng) -> Hardware {
    let mut hw = chip(
        [1 + rng.below(2), 1 + rng.below(2)],
        rng.below(2) == 0,
        rng.below(2) == 0,
    );
    hw.levels[1].sliding_window = rng.below(2) == 0;
    hw.levels[2].sliding_window = rng.below(2) == 0;
    hw
}

#[test]
fn simulator_agrees_with_the_counter_on_random_qnn_mappings() {
    let mut rng = Rng(7);
    let mut checked = 0;
    for i in 0..400 {
        let hw = random_chip(&mut rng);
        let mut p = qnn(
            &format!("rand{i}"),
            1 + rng.below(4),
            1 + rng.below(2),
            1 + rng.below(3),
            1 + rng.below(2),
            1 + rng.below(3),
            1 + rng.below(2),
        );
        p.stride_h = 1 + rng.below(2);
        let m = random_mapping(&mut rng, &p, &hw, false);
        if check(&p, &hw, &m) {
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} legal random mappings");
}

#[test]
fn simulator_agrees_with_the_counter_on_random_snn_mappings() {
    let mut rng = Rng(11);
    let mut checked = 0;
    for i in 0..400 {
        let hw = random_chip(&mut rng);
        let p = qnn(
            &format!("snn{i}"),
            1 + rng.below(3),
            1 + rng.below(2),
            1 + rng.below(3),
            1,
            1 + rng.below(3),
            1,
        )
        .into_snn(1 + rng.below(3), 16);
        let m = random_mapping(&mut rng, &p, &hw, false);
        if check(&p, &hw, &m) {
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} legal random mappings");
}

#[test]
fn simulator_agrees_with_the_counter_on_random_uneven_mappings() {
    let mut rng = Rng(25);
    let mut checked = 0;
    for i in 0..600 {
        let hw = random_chip(&mut rng);
        let mut p = qnn(
            &format!("uneven{i}"),
            3 + rng.below(5),
            1 + rng.below(4),
            1 + rng.below(3),
            1 + rng.below(2),
            1 + rng.below(3),
            1,
        );
        p.stride_h = 1 + rng.below(2);
        if rng.below(2) == 0 {
            p = p.into_snn(1 + rng.below(3), 16);
        }
        let m = random_mapping(&mut rng, &p, &hw, true);
        let covered = |d: Dim| -> u64 {
            m.levels
                .iter()
                .flat_map(|l| {
                    let t = l.temporal.iter().filter(|x| x.dim == d).map(|x| x.factor);
                    let s = l.spatial.iter().filter(|x| x.dim == d).map(|x| x.factor);
                    t.chain(s).collect::<Vec<_>>()
                })
                .product()
        };
        let uneven = covered(Dim::K) != p.k || covered(Dim::C) != p.c;
        if uneven && check(&p, &hw, &m) {
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} legal random uneven mappings");
}

/// Gives some kept weights, inputs and partial sums below the outermost level a boundary of
/// their own, taking in up to all the temporal loops above their level.
fn raise_randomly(rng: &mut Rng, m: &mut Mapping) {
    let mut above = 0u64;
    for l in 0..m.levels.len() {
        let lm = &mut m.levels[l];
        for ds in [DataSpace::Weights, DataSpace::Inputs, DataSpace::Accum] {
            if l > 0 && above > 0 && lm.keep.contains(&ds) && rng.below(2) == 0 {
                lm.spans_above.insert(ds, 1 + rng.below(above));
            }
        }
        above += lm.temporal.len() as u64;
    }
}

#[test]
fn simulator_agrees_with_the_counter_on_random_mappings_with_per_operand_boundaries() {
    let mut rng = Rng(31);
    let (mut checked, mut raised, mut raised_uneven) = (0, 0, 0);
    for i in 0..1200 {
        let hw = random_chip(&mut rng);
        let mut p = qnn(
            &format!("raised{i}"),
            1 + rng.below(7),
            1 + rng.below(5),
            1 + rng.below(4),
            1 + rng.below(2),
            1 + rng.below(3),
            1,
        );
        p.stride_h = 1 + rng.below(2);
        if rng.below(3) == 0 {
            p = p.into_snn(1 + rng.below(3), 16);
        }
        let uneven = rng.below(2) == 0;
        let mut m = random_mapping(&mut rng, &p, &hw, uneven);
        raise_randomly(&mut rng, &mut m);
        let any = m.levels.iter().any(|l| !l.spans_above.is_empty());
        let covers_past = [Dim::K, Dim::C].into_iter().any(|d| {
            let factors = m.levels.iter().flat_map(|l| {
                let t = l.temporal.iter().filter(|x| x.dim == d).map(|x| x.factor);
                let s = l.spatial.iter().filter(|x| x.dim == d).map(|x| x.factor);
                t.chain(s).collect::<Vec<_>>()
            });
            factors.product::<u64>() != p.dims()[d.index()]
        });
        if check(&p, &hw, &m) {
            checked += 1;
            raised += any as u32;
            raised_uneven += (any && covers_past) as u32;
        }
    }
    assert!(
        raised >= 100 && raised_uneven >= 40,
        "only {raised} legal random mappings with boundaries, {raised_uneven} of them uneven ({checked} in all)"
    );
}

/// Distinct input elements the layer touches: the rows and columns its outputs' taps reach.
fn unique_inputs(p: &Problem) -> f64 {
    let lines = |out: u64, taps: u64, stride: u64, dil: u64| -> f64 {
        let mut set = BTreeSet::new();
        for o in 0..out {
            for t in 0..taps {
                set.insert(o * stride + t * dil);
            }
        }
        set.len() as f64
    };
    let h = lines(p.p, p.r, p.stride_h, p.dilation_h);
    let w = lines(p.q, p.s, p.stride_w, p.dilation_w);
    (p.n * p.g * p.c * p.t) as f64 * h * w
}

#[test]
fn no_level_is_filled_with_less_than_the_unique_elements_its_data_space_needs() {
    let mut rng = Rng(37);
    let mut checked = 0;
    for i in 0..1500 {
        let hw = random_chip(&mut rng);
        let mut p = qnn(
            &format!("footprint{i}"),
            1 + rng.below(8),
            1 + rng.below(6),
            1 + rng.below(8),
            1 + rng.below(4),
            1 + rng.below(3),
            1 + rng.below(3),
        );
        p.stride_h = 1 + rng.below(3);
        let uneven = rng.below(2) == 0;
        let mut m = random_mapping(&mut rng, &p, &hw, uneven);
        raise_randomly(&mut rng, &mut m);
        let Ok(r) = evaluate(&p, &hw, &m, dense(), &OwnPrices) else {
            continue;
        };
        checked += 1;
        let unique = [
            (DataSpace::Weights, (p.g * p.k * p.c * p.r * p.s) as f64),
            (DataSpace::Inputs, unique_inputs(&p)),
        ];
        for (ds, need) in unique {
            let ks: Vec<usize> = (0..hw.levels.len())
                .filter(|&l| m.levels[l].keep.contains(&ds))
                .collect();
            for w in ks.windows(2) {
                let (pa, c) = (w[0], w[1]);
                let fills = count(&r, c, ds, Action::Fill);
                let reads = count_for(&r, pa, ds, Action::Read, Purpose::Fill);
                assert!(fills >= need, "{ds} fills of {c}: {fills} < {need}");
                assert!(reads >= need, "{ds} reads of {pa}: {reads} < {need}");
            }
            let inner = *ks.last().unwrap();
            let operands = count_for(&r, inner, ds, Action::Read, Purpose::Operand);
            assert!(operands >= need, "{ds} operand reads: {operands} < {need}");
        }
        // Every output's sum has at least one residency where sums finish.
        let fin = r.counts.finalizing_level;
        let updates = count(&r, fin, DataSpace::Accum, Action::Update);
        let rmw = count_for(&r, fin, DataSpace::Accum, Action::Read, Purpose::Accumulate);
        let outputs = (p.n * p.g * p.k * p.p * p.q * p.t) as f64;
        assert!(
            updates - rmw >= outputs,
            "finished sums {} < {outputs}",
            updates - rmw
        );
    }
    assert!(checked >= 200, "only {checked} legal random mappings");
}
