//! The mapper: searches the legal mappings of one problem on one chip.
//!
//! Small spaces (when the temporal placements alone number at most `exhaustive_limit`, and so
//! does the whole space with spatial unrollings and bypass choices) are enumerated
//! exhaustively, loop orders included (one order per distinct stationarity signature, which
//! gives identical counts). Larger ones, heuristically:
//! 1. spatial unrollings of up to two dimensions per array axis, one per set of unrolled
//!    dimensions (mirror images on square arrays counted once), at least
//!    `min_utilization_ratio` of the fullest; half of `spatial_candidates` go to the fullest,
//!    half to those with the most multicast and reduction weighted by fullness;
//! 2. for each, a greedy bottom-up fill: from the innermost level out, move the prime factor
//!    (or a dimension's whole remaining factor) from the outermost level that lowers the
//!    objective most, while one does;
//! 3. the `refined_candidates` best fills are descended: passes of moving one prime factor
//!    between any two levels (first improvement), trying every distinct loop order per level,
//!    every allowed format, and toggling bypass where it is automatic, until no pass helps;
//!    the `refined_twice` best are descended again from every factor in the outermost level.
//!
//! Bounds: `max_evaluations` per search (default 200 000), at most 3 024 generated orders per
//! level and dimension set, 256 bypass combinations, 200 descent rounds.
//! Deterministic: moves are tried in a fixed order and taken only if they lower the objective
//! by more than a relative 1e-12, so ties keep the earlier mapping.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::MapperError;
use crate::hardware::Bypass;
use crate::mapping::{Compact, Constraints, MAX_LEVELS};
use crate::model::{Counts, Ctx, Illegal};
use crate::problem::{DataSpace, Densities, Dim, Kind, NDIMS, NSPACES};

/// What the mapper minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Dynamic plus leakage energy.
    #[default]
    Energy,
    /// Cycles.
    Latency,
    /// Energy × cycles.
    Edp,
}

/// How the mapper searches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SearchOptions {
    /// What to minimize.
    pub objective: Objective,
    /// Constraints on the mapping (Timeloop-like); a fully pinned mapping leaves one point.
    pub constraints: Constraints,
    /// Enumerate every mapping when the space has at most this many points.
    pub exhaustive_limit: u64,
    /// Spatial unrollings (per bypass choice) given a greedy fill in the heuristic search.
    pub spatial_candidates: usize,
    /// Of those, how many (the best after the greedy fill) are refined by a full descent.
    pub refined_candidates: usize,
    /// Of the refined ones, how many are also descended from a second start (every free
    /// factor in the outermost level).
    pub refined_twice: usize,
    /// Spatial unrollings using less than this fraction of the best unrolling's instances are
    /// not explored.
    pub min_utilization_ratio: f64,
    /// Hard bound on the mappings one search evaluates.
    pub max_evaluations: u64,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            objective: Objective::Energy,
            constraints: Constraints::default(),
            exhaustive_limit: 20_000,
            spatial_candidates: 192,
            refined_candidates: 16,
            refined_twice: 4,
            min_utilization_ratio: 0.02,
            max_evaluations: 200_000,
        }
    }
}

/// Constraints resolved against the chip.
#[derive(Clone, Debug)]
struct Resolved {
    tf: [[Option<u32>; NDIMS]; MAX_LEVELS],
    prefix: Vec<Vec<u8>>,
    /// Dimensions that must be outermost at a level, outermost first.
    outer: Vec<Vec<u8>>,
    allow_x: [u16; MAX_LEVELS],
    allow_y: [u16; MAX_LEVELS],
    sx: [[Option<u32>; NDIMS]; MAX_LEVELS],
    sy: [[Option<u32>; NDIMS]; MAX_LEVELS],
    keep: [Option<u8>; MAX_LEVELS],
    fin: [Option<u8>; MAX_LEVELS],
    fout: [Option<u8>; MAX_LEVELS],
}

fn resolve(ctx: &Ctx, cons: &Constraints) -> Result<Resolved, MapperError> {
    let hw = ctx.hw;
    let pname = ctx.problem.name.clone();
    let err = |level: &str, key: &str, message: String| MapperError::Mapping {
        problem: pname.clone(),
        level: level.into(),
        data_space: None,
        key: key.into(),
        message,
    };
    let all: u16 = (1 << NDIMS) - 1;
    let mut r = Resolved {
        tf: [[None; NDIMS]; MAX_LEVELS],
        prefix: vec![Vec::new(); ctx.nlev],
        outer: vec![Vec::new(); ctx.nlev],
        allow_x: [all; MAX_LEVELS],
        allow_y: [all; MAX_LEVELS],
        sx: [[None; NDIMS]; MAX_LEVELS],
        sy: [[None; NDIMS]; MAX_LEVELS],
        keep: [None; MAX_LEVELS],
        fin: [None; MAX_LEVELS],
        fout: [None; MAX_LEVELS],
    };
    for lc in &cons.levels {
        let l = hw.level_index(&lc.level).ok_or_else(|| {
            err(
                &lc.level,
                "level",
                format!("`{}` has no level of this name", hw.name),
            )
        })?;
        for (d, f) in &lc.temporal_factors {
            if *f == 0 || *f > u32::MAX as u64 {
                return Err(err(
                    &lc.level,
                    "temporal_factors",
                    format!("{d}: factor {f} out of range"),
                ));
            }
            r.tf[l][d.index()] = Some(*f as u32);
        }
        if let Some(p) = &lc.permutation {
            for ch in p.chars() {
                let d = Dim::from_letter(ch).ok_or_else(|| {
                    err(
                        &lc.level,
                        "permutation",
                        format!("`{ch}` is not a dimension"),
                    )
                })?;
                r.prefix[l].push(d.index() as u8);
            }
        }
        if let Some(p) = &lc.outermost {
            for ch in p.chars() {
                let d = Dim::from_letter(ch).ok_or_else(|| {
                    err(&lc.level, "outermost", format!("`{ch}` is not a dimension"))
                })?;
                if r.prefix[l].contains(&(d.index() as u8)) {
                    return Err(err(
                        &lc.level,
                        "outermost",
                        format!("{d} is also in `permutation`"),
                    ));
                }
                r.outer[l].push(d.index() as u8);
            }
        }
        let mask =
            |v: &Option<Vec<Dim>>| v.as_ref().map(|v| v.iter().fold(0u16, |m, d| m | d.bit()));
        if let Some(m) = mask(&lc.spatial_x) {
            r.allow_x[l] = m;
        }
        if let Some(m) = mask(&lc.spatial_y) {
            r.allow_y[l] = m;
        }
        for (d, f) in &lc.spatial_x_factors {
            r.sx[l][d.index()] = Some(*f as u32);
            r.allow_x[l] |= d.bit();
        }
        for (d, f) in &lc.spatial_y_factors {
            r.sy[l][d.index()] = Some(*f as u32);
            r.allow_y[l] |= d.bit();
        }
        if let Some(k) = &lc.keep {
            let mut m = 0u8;
            for ds in k {
                if !hw.may_hold(&hw.levels[l], *ds) {
                    return Err(MapperError::Mapping {
                        problem: ctx.problem.name.clone(),
                        level: lc.level.clone(),
                        data_space: Some(ds.name().into()),
                        key: "keep".into(),
                        message: "the level may not hold this data space".into(),
                    });
                }
                m |= ds.bit();
            }
            r.keep[l] = Some(m & ctx.spaces);
        }
        let lvl = &hw.levels[l];
        for (f, slot, key) in [
            (&lc.input_format, &mut r.fin[l], "input_format"),
            (&lc.output_format, &mut r.fout[l], "output_format"),
        ] {
            if let Some(f) = f {
                let i = lvl.formats.iter().position(|x| x == f).ok_or_else(|| {
                    err(
                        &lc.level,
                        key,
                        format!("format `{}` is not allowed at this level", f.name()),
                    )
                })?;
                *slot = Some(i as u8);
            }
        }
    }
    // Fixed factors must be able to multiply to the dims.
    let dims = ctx.dims;
    for d in 0..NDIMS {
        let mut fixed: u128 = 1;
        for l in 0..ctx.nlev {
            for f in [r.tf[l][d], r.sx[l][d], r.sy[l][d]].into_iter().flatten() {
                fixed = fixed.saturating_mul(f as u128);
            }
        }
        if !(dims[d] as u128).is_multiple_of(fixed) {
            return Err(err(
                "-",
                &format!("factors.{}", Dim::ALL[d]),
                format!(
                    "the fixed factors of {} multiply to {fixed}, which does not divide the layer's {}",
                    Dim::ALL[d],
                    dims[d]
                ),
            ));
        }
    }
    Ok(r)
}

fn primes(mut n: u64) -> Vec<u64> {
    let mut v = Vec::new();
    let mut p = 2;
    while p * p <= n {
        while n.is_multiple_of(p) {
            v.push(p);
            n /= p;
        }
        p += 1;
    }
    if n > 1 {
        v.push(n);
    }
    v
}

fn divisors(n: u64) -> Vec<u64> {
    let mut v: Vec<u64> = (1..=n.isqrt()).filter(|d| n.is_multiple_of(*d)).collect();
    let mut hi: Vec<u64> = v
        .iter()
        .rev()
        .map(|d| n / d)
        .filter(|x| !v.contains(x))
        .collect();
    v.append(&mut hi);
    v
}

/// Signature of a loop order: what it makes stationary for each data space. Two orders with
/// the same signature give identical counts.
fn signature(inner_first: &[u8], kind: Kind) -> u64 {
    let mut sig = 0u64;
    for (k, ds) in [
        DataSpace::Weights,
        DataSpace::Inputs,
        DataSpace::Accum,
        DataSpace::Membrane,
    ]
    .into_iter()
    .enumerate()
    {
        if ds == DataSpace::Membrane && kind != Kind::Snn {
            continue;
        }
        let rel = ds.relevant_mask();
        let mut run = 0u64;
        let mut first = 0xFu64;
        for &d in inner_first {
            let d = d as usize;
            if ds == DataSpace::Membrane && (d == 3 || d == 6 || d == 7) {
                continue;
            }
            if rel & (1 << d) == 0 {
                run |= 1 << d;
            } else {
                first = d as u64;
                break;
            }
        }
        sig |= run << (k * 14);
        if ds == DataSpace::Inputs {
            sig |= first << (k * 14 + 9);
        }
    }
    sig
}

/// The distinct orders (by signature) of the dimensions in `mask`, outermost first, that
/// start (innermost) with `prefix` and end (outermost) with `outer` (outermost first).
fn orders(mask: u16, prefix: &[u8], outer: &[u8], kind: Kind) -> Vec<[u8; NDIMS]> {
    let dims: Vec<u8> = (0..NDIMS as u8).filter(|d| mask & (1 << d) != 0).collect();
    let pre: Vec<u8> = prefix
        .iter()
        .copied()
        .filter(|d| mask & (1 << d) != 0)
        .collect();
    let out: Vec<u8> = outer
        .iter()
        .copied()
        .filter(|d| mask & (1 << d) != 0)
        .collect();
    let rest: Vec<u8> = dims
        .iter()
        .copied()
        .filter(|d| !pre.contains(d) && !out.contains(d))
        .collect();
    // Only the innermost four positions can change a signature (see the crate docs).
    let depth = rest.len().min(4);
    let mut seen: BTreeMap<u64, [u8; NDIMS]> = BTreeMap::new();
    let mut stack: Vec<u8> = Vec::new();
    #[allow(clippy::too_many_arguments)]
    fn rec(
        rest: &[u8],
        depth: usize,
        stack: &mut Vec<u8>,
        pre: &[u8],
        out: &[u8],
        kind: Kind,
        seen: &mut BTreeMap<u64, [u8; NDIMS]>,
    ) {
        if stack.len() == depth {
            let mut inner_first: Vec<u8> = pre.to_vec();
            inner_first.extend_from_slice(stack);
            for d in rest {
                if !stack.contains(d) {
                    inner_first.push(*d);
                }
            }
            inner_first.extend(out.iter().rev());
            let sig = signature(&inner_first, kind);
            seen.entry(sig).or_insert_with(|| {
                let mut full: Vec<u8> = inner_first.iter().rev().copied().collect();
                for d in 0..NDIMS as u8 {
                    if !full.contains(&d) {
                        full.insert(0, d);
                    }
                }
                let mut a = [0u8; NDIMS];
                a.copy_from_slice(&full);
                a
            });
            return;
        }
        for &d in rest {
            if !stack.contains(&d) {
                stack.push(d);
                rec(rest, depth, stack, pre, out, kind, seen);
                stack.pop();
            }
        }
    }
    rec(&rest, depth, &mut stack, &pre, &out, kind, &mut seen);
    seen.into_values().collect()
}

/// Per-level spatial choice: factors on X and Y.
type Spatial = Vec<([u32; NDIMS], [u32; NDIMS])>;

struct Search<'c, 'a> {
    ctx: &'c Ctx<'a>,
    res: Resolved,
    /// The densities the search must serve: every mapping scored is priced at each, and the
    /// best at each is kept.
    anchors: Vec<Densities>,
    /// The anchor whose objective steers the moves being made.
    focus: usize,
    objective: Objective,
    counts: Counts,
    evaluated: u64,
    budget: u64,
    order_cache: HashMap<(u16, usize), Rc<[[u8; NDIMS]]>>,
    /// Per anchor, the best mapping scored so far and its objective there.
    best: Vec<Option<(f64, Compact)>>,
    last_error: Option<(Illegal, f64)>,
    /// Per level, an order honouring its constraint's prefix and outermost loops (computed
    /// once: generating orders is the search's most expensive step).
    start_order: Vec<Option<[u8; NDIMS]>>,
}

const INF: f64 = f64::INFINITY;

impl<'c, 'a> Search<'c, 'a> {
    /// Keeps the reason of the rejected candidate that used the most compute units (the
    /// latest among equals): if nothing is legal, the error names what stopped the fullest
    /// arrays, the candidates a person would expect to work.
    fn reject(&mut self, e: Illegal, units: f64) {
        if self.last_error.is_none_or(|(_, u)| units >= u) {
            self.last_error = Some((e, units));
        }
    }

    fn score(&mut self, m: &Compact) -> f64 {
        self.evaluated += 1;
        let mut m2 = *m;
        if !self.sanitize(&mut m2) {
            self.reject(Self::unfinished(&m2), 0.0);
            return INF;
        }
        match self.ctx.count(&m2, &mut self.counts) {
            Err(e) => {
                self.reject(e, self.counts.units_used);
                INF
            }
            Ok(()) => {
                // The counts do not depend on densities: one count prices the mapping at
                // every anchor, and each anchor keeps its own best.
                let mut at_focus = INF;
                for k in 0..self.anchors.len() {
                    let (e, cycles, leak) = self.ctx.quick(&m2, &self.counts, &self.anchors[k]);
                    let v = match self.objective {
                        Objective::Energy => e + leak,
                        Objective::Latency => cycles,
                        Objective::Edp => (e + leak) * cycles,
                    };
                    let better = match &self.best[k] {
                        None => true,
                        Some((b, _)) => v < *b * (1.0 - 1e-12),
                    };
                    if better && v.is_finite() {
                        self.best[k] = Some((v, m2));
                    }
                    if k == self.focus {
                        at_focus = v;
                    }
                }
                at_focus
            }
        }
    }

    fn exhausted(&self) -> bool {
        self.evaluated >= self.budget
    }

    /// Drops membrane and output keepers below the finalizing level when the constraints
    /// leave the choice free (they could not be reached by the epilogue).
    /// Why `sanitize` refused a mapping: no level keeps partial sums, or the outermost one
    /// that does gets them unfinished.
    fn unfinished(m: &Compact) -> Illegal {
        match (0..MAX_LEVELS).find(|&l| m.keep[l] & DataSpace::Accum.bit() != 0) {
            Some(l) => Illegal::PartialSumsEscape(l),
            None => Illegal::NoKeeper(DataSpace::Accum.index()),
        }
    }

    fn sanitize(&self, m: &mut Compact) -> bool {
        let n = self.ctx.nlev;
        let Some(fin) = (0..n)
            .filter(|&l| m.keep[l] & DataSpace::Accum.bit() != 0 && m.sums_finish_at(l))
            .max()
        else {
            return false;
        };
        for l in 0..n {
            if l < fin {
                m.keep[l] &= !DataSpace::Accum.bit();
            }
            if l > fin && self.res.keep[l].is_none() {
                m.keep[l] &= !(DataSpace::Membrane.bit() | DataSpace::Outputs.bit());
            }
        }
        true
    }

    /// The distinct orders of level `l`'s loops in `mask`, shared rather than copied: a
    /// level's list may hold thousands and is walked once per descent pass.
    fn level_orders(&mut self, mask: u16, l: usize) -> Rc<[[u8; NDIMS]]> {
        let kind = self.ctx.problem.kind;
        let (prefix, outer) = (&self.res.prefix[l], &self.res.outer[l]);
        self.order_cache
            .entry((mask, l))
            .or_insert_with(|| orders(mask, prefix, outer, kind).into())
            .clone()
    }

    fn mask(m: &Compact, l: usize) -> u16 {
        (0..NDIMS)
            .filter(|&d| m.tf[l][d] > 1)
            .fold(0u16, |a, d| a | (1 << d))
    }

    /// Best order at every level (coordinate descent, one pass).
    fn improve_orders(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let mut improved = false;
        for l in 0..self.ctx.nlev {
            let mask = Self::mask(m, l);
            if mask.count_ones() < 2
                && self.res.prefix[l].is_empty()
                && self.res.outer[l].is_empty()
            {
                continue;
            }
            for &o in self.level_orders(mask, l).iter() {
                if self.exhausted() {
                    return improved;
                }
                if o == m.order[l] {
                    continue;
                }
                let mut c = *m;
                c.order[l] = o;
                let v = self.score(&c);
                if v < *cur * (1.0 - 1e-12) {
                    *m = c;
                    *cur = v;
                    improved = true;
                }
            }
        }
        improved
    }

    /// Moves of one prime factor of one dimension between two levels; first improvement.
    fn improve_factors(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let n = self.ctx.nlev;
        let mut improved = false;
        for d in 0..NDIMS {
            for a in 0..n {
                if self.res.tf[a][d].is_some() || m.tf[a][d] == 1 {
                    continue;
                }
                let ps = primes(m.tf[a][d] as u64);
                let mut uniq = ps.clone();
                uniq.dedup();
                for b in 0..n {
                    if b == a || self.res.tf[b][d].is_some() {
                        continue;
                    }
                    for &p in &uniq {
                        if self.exhausted() || !(m.tf[a][d] as u64).is_multiple_of(p) {
                            return improved;
                        }
                        let mut c = *m;
                        c.tf[a][d] /= p as u32;
                        c.tf[b][d] *= p as u32;
                        let v = self.score(&c);
                        if v < *cur * (1.0 - 1e-12) {
                            *m = c;
                            *cur = v;
                            improved = true;
                            break;
                        }
                    }
                    if m.tf[a][d] == 1 {
                        break;
                    }
                }
            }
        }
        improved
    }

    fn improve_formats(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let mut improved = false;
        for l in 0..self.ctx.nlev {
            let nf = self.ctx.hw.levels[l].formats.len() as u8;
            for which in 0..2 {
                let fixed = if which == 0 {
                    self.res.fin[l]
                } else {
                    self.res.fout[l]
                };
                if fixed.is_some() || nf < 2 {
                    continue;
                }
                for f in 0..nf {
                    let mut c = *m;
                    if which == 0 {
                        c.fin[l] = f;
                    } else {
                        c.fout[l] = f;
                    }
                    if c == *m {
                        continue;
                    }
                    let v = self.score(&c);
                    if v < *cur * (1.0 - 1e-12) {
                        *m = c;
                        *cur = v;
                        improved = true;
                    }
                }
            }
        }
        improved
    }

    /// Bypass choices of levels whose bypass is automatic: toggle one data space at a time.
    fn improve_keeps(&mut self, m: &mut Compact, cur: &mut f64) -> bool {
        let mut improved = false;
        for l in 0..self.ctx.nlev {
            if self.res.keep[l].is_some() || self.ctx.hw.levels[l].bypass != Bypass::Auto {
                continue;
            }
            for b in 0..NSPACES as u8 {
                if self.ctx.may_hold[l] & (1 << b) == 0 || self.exhausted() {
                    continue;
                }
                let mut c = *m;
                c.keep[l] ^= 1 << b;
                let v = self.score(&c);
                if v < *cur * (1.0 - 1e-12) {
                    *m = c;
                    *cur = v;
                    improved = true;
                }
            }
        }
        improved
    }

    /// One pass each of factor moves, orders, formats and bypass, while any of them helps.
    fn descend(&mut self, mut m: Compact) {
        let mut cur = self.score(&m);
        for _ in 0..200 {
            if self.exhausted() {
                break;
            }
            let a = self.improve_factors(&mut m, &mut cur);
            let b = self.improve_orders(&mut m, &mut cur);
            let c = self.improve_formats(&mut m, &mut cur);
            let k = self.improve_keeps(&mut m, &mut cur);
            if !(a || b || c || k) {
                break;
            }
        }
    }

    /// A mapping with the given spatial choice and every free temporal factor at `home`.
    fn base(&self, keep: &[u8; MAX_LEVELS], spatial: &Spatial, home: usize) -> Compact {
        let n = self.ctx.nlev;
        let mut m = Compact::new(n);
        m.keep = *keep;
        for l in 0..n {
            m.sx[l] = spatial[l].0;
            m.sy[l] = spatial[l].1;
            m.fin[l] = self.res.fin[l].unwrap_or(0);
            m.fout[l] = self.res.fout[l].unwrap_or(0);
            // Start from an order that honours the constraint's prefix and outermost loops.
            if let Some(o) = self.start_order[l] {
                m.order[l] = o;
            }
        }
        for d in 0..NDIMS {
            let mut rem = self.ctx.dims[d];
            for l in 0..n {
                rem /= m.sp(l, d);
                if let Some(f) = self.res.tf[l][d] {
                    m.tf[l][d] = f;
                    rem /= f as u64;
                }
            }
            let free: Vec<usize> = (0..n).filter(|&l| self.res.tf[l][d].is_none()).collect();
            let target = if free.contains(&home) {
                Some(home)
            } else {
                free.first().copied()
            };
            if let Some(t) = target {
                m.tf[t][d] = rem as u32;
            }
        }
        m
    }

    /// Bottom-up greedy: from the innermost level out, pull prime factors from the
    /// outermost level while the objective improves.
    fn greedy(&mut self, mut m: Compact) -> Compact {
        let n = self.ctx.nlev;
        let mut cur = self.score(&m);
        for l in (1..n).rev() {
            loop {
                let mut best: Option<(f64, Compact)> = None;
                for d in 0..NDIMS {
                    if self.res.tf[l][d].is_some() || self.res.tf[0][d].is_some() || m.tf[0][d] == 1
                    {
                        continue;
                    }
                    // One prime at a time, or the whole remaining factor at once (single
                    // primes of a dimension rarely pay off alone).
                    let mut ps = primes(m.tf[0][d] as u64);
                    ps.dedup();
                    if ps.len() > 1 || primes(m.tf[0][d] as u64).len() > 1 {
                        ps.push(m.tf[0][d] as u64);
                    }
                    for p in ps {
                        let mut c = m;
                        c.tf[0][d] /= p as u32;
                        c.tf[l][d] *= p as u32;
                        let v = self.score(&c);
                        if v < best.as_ref().map(|b| b.0).unwrap_or(cur) * (1.0 - 1e-12) {
                            best = Some((v, c));
                        }
                    }
                }
                match best {
                    Some((v, c)) if !self.exhausted() => {
                        m = c;
                        cur = v;
                    }
                    _ => break,
                }
            }
        }
        m
    }

    /// Spatial choices per level: (x factors, y factors, used instances).
    fn spatial_options(
        &self,
        l: usize,
        exhaustive: bool,
    ) -> Vec<([u32; NDIMS], [u32; NDIMS], u64)> {
        let fan = self.ctx.hw.fanout(l);
        let dims = self.ctx.dims;
        let snn = self.ctx.problem.kind == Kind::Snn;
        let res = &self.res;
        let axis = |size: u64, allow: u16, fixed: &[Option<u32>; NDIMS], avail: &[u64; NDIMS]| {
            // Choices of up to two dimensions (more if fixed) whose factors fit `size`.
            let mut base = [1u32; NDIMS];
            let mut used = 1u64;
            for d in 0..NDIMS {
                if let Some(f) = fixed[d] {
                    base[d] = f;
                    used *= f as u64;
                }
            }
            let mut out: Vec<([u32; NDIMS], u64)> = Vec::new();
            if used > size {
                return out;
            }
            out.push((base, used));
            let free: Vec<usize> = (0..NDIMS)
                .filter(|&d| {
                    allow & (1 << d) != 0
                        && fixed[d].is_none()
                        && avail[d] > 1
                        && !(snn && d == 8 && res.tf[l][d].is_none() && allow == (1 << NDIMS) - 1)
                })
                .collect();
            let max_dims = if exhaustive { free.len() } else { 2 };
            #[allow(clippy::too_many_arguments)]
            fn rec(
                free: &[usize],
                start: usize,
                depth: usize,
                cur: [u32; NDIMS],
                used: u64,
                size: u64,
                avail: &[u64; NDIMS],
                out: &mut Vec<([u32; NDIMS], u64)>,
            ) {
                if depth == 0 {
                    return;
                }
                for i in start..free.len() {
                    let d = free[i];
                    for f in divisors(avail[d]) {
                        if f == 1 || used * f > size {
                            continue;
                        }
                        let mut c = cur;
                        c[d] = f as u32;
                        out.push((c, used * f));
                        rec(free, i + 1, depth - 1, c, used * f, size, avail, out);
                    }
                }
            }
            rec(&free, 0, max_dims, base, used, size, avail, &mut out);
            out
        };
        let mut avail = dims;
        for d in 0..NDIMS {
            for f in [res.tf[l][d], res.sx[l][d], res.sy[l][d]]
                .into_iter()
                .flatten()
            {
                avail[d] /= f as u64;
            }
        }
        let xs = axis(fan[0], res.allow_x[l], &res.sx[l], &avail);
        let mut out = Vec::new();
        for (x, ux) in &xs {
            let mut av = avail;
            for d in 0..NDIMS {
                if res.sx[l][d].is_none() {
                    av[d] /= x[d] as u64;
                }
            }
            for (y, uy) in axis(fan[1], res.allow_y[l], &res.sy[l], &av) {
                out.push((*x, y, ux * uy));
            }
        }
        out
    }

    /// Combined spatial candidates over all levels.
    /// Spatial unrollings to try. Outside the exhaustive search one unrolling stands for each
    /// set of unrolled dimensions, unless `every_split` keeps each split of the factors among
    /// them (K4×P32 and K64×P2 differ in what each instance holds).
    fn spatial_candidates(
        &mut self,
        exhaustive: bool,
        limit: usize,
        ratio: f64,
        every_split: bool,
    ) -> Vec<Spatial> {
        let n = self.ctx.nlev;
        let mut combos: Vec<(Spatial, u64)> = vec![(Vec::new(), 1)];
        for l in 0..n {
            let opts = self.spatial_options(l, exhaustive);
            let mut next = Vec::new();
            for (s, u) in &combos {
                for (x, y, uu) in &opts {
                    // The product over levels of each dim's spatial factors must divide it.
                    let ok = (0..NDIMS).all(|d| {
                        let prod: u64 = s
                            .iter()
                            .map(|(a, b)| a[d] as u64 * b[d] as u64)
                            .product::<u64>()
                            * x[d] as u64
                            * y[d] as u64;
                        self.ctx.dims[d].is_multiple_of(prod)
                    });
                    if ok {
                        let mut s2 = s.clone();
                        s2.push((*x, *y));
                        next.push((s2, u * uu));
                    }
                }
            }
            if !exhaustive {
                // Keep the best unrolling of each set of unrolled dimensions.
                // Fuller arrays first; among equals, fewer unrolled dimensions (simpler
                // networks), then enumeration order.
                let ndims = |s: &Spatial| -> u32 {
                    s.iter()
                        .map(|(a, b)| {
                            (0..NDIMS).filter(|&d| a[d] > 1).count() as u32
                                + (0..NDIMS).filter(|&d| b[d] > 1).count() as u32
                        })
                        .sum()
                };
                next.sort_by(|a, b| b.1.cmp(&a.1).then(ndims(&a.0).cmp(&ndims(&b.0))));
                // A group is a set of unrolled dimensions per level, and with `every_split`
                // also their factors.
                type Group = Vec<(u16, u16, [u32; NDIMS], [u32; NDIMS])>;
                let mut groups: BTreeMap<Group, ()> = BTreeMap::new();
                let best = next.first().map(|x| x.1).unwrap_or(1) as f64;
                next.retain(|(s, u)| {
                    // On a square fan-out X and Y are interchangeable: one of each mirror pair.
                    let key: Group = s
                        .iter()
                        .enumerate()
                        .map(|(l, (a, b))| {
                            let m = |v: &[u32; NDIMS]| {
                                (0..NDIMS)
                                    .filter(|&d| v[d] > 1)
                                    .fold(0u16, |m, d| m | (1 << d))
                            };
                            let fan = self.ctx.hw.fanout(l);
                            let (x, y, fx, fy) = (m(a), m(b), *a, *b);
                            let (x, y, fx, fy) = if fan[0] == fan[1] && (x, fx) > (y, fy) {
                                (y, x, fy, fx)
                            } else {
                                (x, y, fx, fy)
                            };
                            if every_split {
                                (x, y, fx, fy)
                            } else {
                                (x, y, [0; NDIMS], [0; NDIMS])
                            }
                        })
                        .collect();
                    (*u as f64) >= ratio * best && groups.insert(key, ()).is_none()
                });
                next.truncate(limit.max(1) * 16);
            }
            combos = next;
        }
        if !exhaustive {
            // An unrolling whose smallest tiles (every free loop outermost) already overflow a
            // level can never be legal: data resident below the outermost level (weights
            // stationary in PEs) must be spread over enough instances.
            let keep = self.keep_options()[0];
            let mut counts = Counts::default();
            // Only a data space that one level alone may hold cannot escape an overflow by
            // bypassing it.
            let only_at = |ds: usize| {
                let holders: Vec<usize> = (0..n)
                    .filter(|&l| self.ctx.may_hold[l] & (1 << ds) != 0)
                    .collect();
                holders.len() == 1
            };
            let mut rejected: Vec<(Illegal, f64)> = Vec::new();
            combos.retain(|(s, _)| {
                let mut m = self.base(&keep, s, 0);
                if !self.sanitize(&mut m) {
                    rejected.push((Self::unfinished(&m), 0.0));
                    return false;
                }
                match self.ctx.count(&m, &mut counts) {
                    Err(e @ Illegal::Capacity(_, ds, _, _)) if only_at(ds) => {
                        // Kept so that, if no unrolling is left, the error names the level
                        // and the sizes that ruled them out.
                        rejected.push((e, counts.units_used));
                        false
                    }
                    _ => true,
                }
            });
            if combos.is_empty() {
                for (e, u) in rejected {
                    self.reject(e, u);
                }
            }
        }
        if !exhaustive && combos.len() > limit.max(1) {
            // Half of the places go to the fullest arrays, half to the unrollings that reuse
            // most (multicast of weights and inputs, reduction of partial sums), weighted by
            // how full they keep the array: an energy optimum often trades a few idle PEs for
            // reuse.
            let half = limit.max(1).div_ceil(2);
            let mut rest = combos.split_off(half);
            let score = |sp: &Spatial, used: u64| -> f64 {
                let mut reuse = 1.0f64;
                for (l, (x, y)) in sp.iter().enumerate() {
                    let net = &self.ctx.hw.levels[l].network;
                    for d in 0..NDIMS {
                        let f = x[d] as f64 * y[d] as f64;
                        if f <= 1.0 {
                            continue;
                        }
                        for ds in [DataSpace::Weights, DataSpace::Inputs] {
                            if net.multicast && ds.relevant_mask() & (1 << d) == 0 {
                                reuse *= f;
                            }
                        }
                        if net.reduction && matches!(d, 3 | 6 | 7) {
                            reuse *= f;
                        }
                    }
                }
                used as f64 * reuse.cbrt()
            };
            rest.sort_by(|a, b| score(&b.0, b.1).total_cmp(&score(&a.0, a.1)));
            rest.truncate(limit.max(1) - half);
            combos.extend(rest);
        }
        combos.into_iter().map(|(s, _)| s).collect()
    }

    fn keep_options(&self) -> Vec<[u8; MAX_LEVELS]> {
        let n = self.ctx.nlev;
        let mut opts: Vec<[u8; MAX_LEVELS]> = vec![[0; MAX_LEVELS]];
        for l in 0..n {
            let hold = self.ctx.may_hold[l];
            let choices: Vec<u8> = if let Some(k) = self.res.keep[l] {
                vec![k]
            } else if self.ctx.hw.levels[l].bypass == Bypass::Auto {
                let bits: Vec<u8> = (0..NSPACES as u8)
                    .filter(|b| hold & (1 << b) != 0)
                    .collect();
                (0..1u16 << bits.len())
                    .map(|s| {
                        bits.iter()
                            .enumerate()
                            .filter(|(i, _)| s & (1 << i) != 0)
                            .fold(0u8, |m, (_, b)| m | (1 << b))
                    })
                    .rev()
                    .collect()
            } else {
                vec![hold]
            };
            let mut next = Vec::new();
            for o in &opts {
                for c in &choices {
                    let mut o2 = *o;
                    o2[l] = *c;
                    next.push(o2);
                }
            }
            next.truncate(256);
            opts = next;
        }
        opts
    }

    /// Ordered factorizations of `n` into `slots` factors.
    fn splits(n: u64, slots: usize) -> Vec<Vec<u64>> {
        if slots == 1 {
            return vec![vec![n]];
        }
        let mut out = Vec::new();
        for f in divisors(n) {
            for mut rest in Self::splits(n / f, slots - 1) {
                rest.insert(0, f);
                out.push(rest);
            }
        }
        out
    }

    /// Size of the exhaustive space (temporal placements × orders ignored: a lower estimate
    /// that already decides whether enumeration is affordable).
    fn exhaustive_size(&self, spatial: &[Spatial]) -> u128 {
        let n = self.ctx.nlev;
        let mut total: u128 = 0;
        for s in spatial {
            let mut prod: u128 = 1;
            for d in 0..NDIMS {
                let mut rem = self.ctx.dims[d];
                let mut free = 0;
                for l in 0..n {
                    rem /= s[l].0[d] as u64 * s[l].1[d] as u64;
                    match self.res.tf[l][d] {
                        Some(f) => rem /= f as u64,
                        None => free += 1,
                    }
                }
                if free > 0 {
                    prod = prod.saturating_mul(Self::splits(rem, free).len() as u128);
                }
            }
            total = total.saturating_add(prod);
        }
        // Every mapping is also tried with every allowed pair of formats at every level.
        let mut formats: u128 = 1;
        for l in 0..n {
            let nf = self.ctx.hw.levels[l].formats.len() as u128;
            let fin = if self.res.fin[l].is_some() { 1 } else { nf };
            let fout = if self.res.fout[l].is_some() { 1 } else { nf };
            formats = formats.saturating_mul(fin * fout);
        }
        total.saturating_mul(formats)
    }

    fn exhaustive(&mut self, keep: &[u8; MAX_LEVELS], spatial: &Spatial) {
        let n = self.ctx.nlev;
        let base = self.base(keep, spatial, 0);
        let mut per_dim: Vec<Vec<Vec<u64>>> = Vec::new();
        let mut free_levels: Vec<Vec<usize>> = Vec::new();
        for d in 0..NDIMS {
            let free: Vec<usize> = (0..n).filter(|&l| self.res.tf[l][d].is_none()).collect();
            let mut rem = self.ctx.dims[d];
            for l in 0..n {
                rem /= base.sp(l, d);
                if let Some(f) = self.res.tf[l][d] {
                    rem /= f as u64;
                }
            }
            per_dim.push(if free.is_empty() {
                vec![vec![]]
            } else {
                Self::splits(rem, free.len())
            });
            free_levels.push(free);
        }
        let mut idx = [0usize; NDIMS];
        loop {
            let mut m = base;
            for d in 0..NDIMS {
                for (k, &l) in free_levels[d].iter().enumerate() {
                    m.tf[l][d] = per_dim[d][idx[d]][k] as u32;
                }
            }
            self.exhaustive_orders(m, 0);
            if self.exhausted() {
                return;
            }
            // Next factorization.
            let mut d = 0;
            loop {
                if d == NDIMS {
                    return;
                }
                idx[d] += 1;
                if idx[d] < per_dim[d].len() {
                    break;
                }
                idx[d] = 0;
                d += 1;
            }
        }
    }

    fn exhaustive_orders(&mut self, m: Compact, l: usize) {
        if self.exhausted() {
            return;
        }
        if l == self.ctx.nlev {
            self.exhaustive_formats(m, 0);
            return;
        }
        let mask = Self::mask(&m, l);
        for &o in self.level_orders(mask, l).iter() {
            let mut c = m;
            c.order[l] = o;
            self.exhaustive_orders(c, l + 1);
        }
    }

    fn exhaustive_formats(&mut self, m: Compact, l: usize) {
        if l == self.ctx.nlev {
            self.score(&m);
            return;
        }
        let nf = self.ctx.hw.levels[l].formats.len() as u8;
        let fins: Vec<u8> = match self.res.fin[l] {
            Some(f) => vec![f],
            None => (0..nf).collect(),
        };
        let fouts: Vec<u8> = match self.res.fout[l] {
            Some(f) => vec![f],
            None => (0..nf).collect(),
        };
        for &a in &fins {
            for &b in &fouts {
                let mut c = m;
                c.fin[l] = a;
                c.fout[l] = b;
                self.exhaustive_formats(c, l + 1);
            }
        }
    }
}

/// Result of a search: the best mapping at each anchor and how many mappings were evaluated.
pub(crate) struct Found {
    /// Per anchor, the best mapping found for its densities.
    pub best: Vec<Compact>,
    pub evaluated: u64,
    pub exhaustive: bool,
}

/// Searches the best mapping for each of `anchors` (densities), in one search: every mapping
/// counted is priced at every anchor (the counts do not depend on densities), so one search
/// serves the whole range of activity a layer will be evaluated at.
///
/// Without `warm` starts, the space is enumerated when small, else searched heuristically
/// with the first anchor's objective steering; with them (the best mappings of a related
/// search: another price table, another anchor set), they are the starting points instead of
/// the heuristic's candidates. Either way each anchor's best is then descended with that
/// anchor's own objective until no move helps, so every anchor's mapping is a local optimum
/// for its own densities.
pub(crate) fn search(
    ctx: &Ctx,
    anchors: &[Densities],
    options: &SearchOptions,
    warm: &[Compact],
) -> Result<Found, MapperError> {
    let res = resolve(ctx, &options.constraints)?;
    let start_order = (0..ctx.nlev)
        .map(|l| {
            if res.prefix[l].is_empty() && res.outer[l].is_empty() {
                None
            } else {
                orders(
                    (1u16 << NDIMS) - 1,
                    &res.prefix[l],
                    &res.outer[l],
                    ctx.problem.kind,
                )
                .first()
                .copied()
            }
        })
        .collect();
    let anchors: Vec<Densities> = if anchors.is_empty() {
        vec![Densities::default()]
    } else {
        anchors.to_vec()
    };
    let mut s = Search {
        ctx,
        res,
        best: vec![None; anchors.len()],
        anchors,
        focus: 0,
        objective: options.objective,
        counts: Counts::default(),
        evaluated: 0,
        budget: options.max_evaluations.max(1),
        order_cache: HashMap::new(),
        last_error: None,
        start_order,
    };
    let mut exhaustive = false;
    if !warm.is_empty() {
        for m in warm {
            if m.nlev == ctx.nlev {
                s.score(m);
            }
        }
    }
    if s.best.iter().all(Option::is_none) {
        exhaustive = cold_start(&mut s, options);
    }
    if !exhaustive {
        // Each anchor's best descended with its own objective (starting from the best so far
        // there, which a neighbouring anchor's descent may have improved).
        for k in 0..s.anchors.len() {
            let Some((_, start)) = s.best[k] else {
                continue;
            };
            s.focus = k;
            s.budget = s.evaluated.saturating_add(options.max_evaluations.max(1));
            s.descend(start);
        }
    }
    tracing::debug!(
        problem = %ctx.problem.name,
        hardware = %ctx.hw.name,
        evaluated = s.evaluated,
        anchors = s.anchors.len(),
        warm = warm.len(),
        exhaustive,
        "mapped"
    );
    finish(ctx, s, exhaustive)
}

/// The search without starting points: exhaustive when the space is small (then exact at
/// every anchor, and the result says so), heuristic otherwise.
fn cold_start(s: &mut Search, options: &SearchOptions) -> bool {
    let keeps = s.keep_options();
    // Temporal placements alone (no spatial unrolling) bound the space from below; only when
    // they are few is enumerating the spatial unrollings worth it.
    let none: Spatial = vec![([1; NDIMS], [1; NDIMS]); s.ctx.nlev];
    let lower = s.exhaustive_size(std::slice::from_ref(&none));
    let mut exhaustive = false;
    if lower.saturating_mul(keeps.len() as u128) <= options.exhaustive_limit as u128 {
        let all_spatial = s.spatial_candidates(true, usize::MAX, 0.0, false);
        let space = s
            .exhaustive_size(&all_spatial)
            .saturating_mul(keeps.len() as u128);
        if space <= options.exhaustive_limit as u128 {
            exhaustive = true;
            for k in &keeps {
                for sp in &all_spatial {
                    s.exhaustive(k, sp);
                }
            }
            if s.exhausted() {
                // Loop orders made the space larger than counted: what was enumerated is
                // kept as a candidate, and the heuristic search gets its own budget.
                exhaustive = false;
                s.budget = s.evaluated.saturating_add(options.max_evaluations.max(1));
            }
        }
    }
    if !exhaustive {
        heuristic(s, options, &keeps, false);
        if s.best.iter().all(Option::is_none) {
            // Every representative unrolling broke a constraint (typically a capacity that
            // one split of the factors meets and another does not): try every split, with a
            // budget of its own.
            s.budget = s.evaluated.saturating_add(options.max_evaluations.max(1));
            heuristic(s, options, &keeps, true);
        }
    }
    exhaustive
}

/// The heuristic search: a greedy fill of every candidate unrolling, then descents from the
/// best of them.
fn heuristic(
    s: &mut Search,
    options: &SearchOptions,
    keeps: &[[u8; MAX_LEVELS]],
    every_split: bool,
) {
    {
        let spatial = s.spatial_candidates(
            false,
            options.spatial_candidates,
            options.min_utilization_ratio,
            every_split,
        );
        // Every unrolling gets a greedy bottom-up fill; the best `refined_candidates` of them
        // are then descended from it, and the best `refined_twice` also from every free factor
        // in the outermost level.
        // Bypass choices are moves of the descent here, not an outer loop: start from keeping
        // everything each level may hold.
        let keeps = &keeps[..1];
        let mut staged: Vec<(f64, usize, usize, Compact)> = Vec::new();
        for (ki, k) in keeps.iter().enumerate() {
            for (si, sp) in spatial.iter().enumerate() {
                if s.exhausted() {
                    break;
                }
                let start = s.base(k, sp, 0);
                let g = s.greedy(start);
                let v = s.score(&g);
                staged.push((v, ki, si, g));
            }
        }
        staged.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (rank, (_, ki, si, g)) in staged
            .into_iter()
            .take(options.refined_candidates.max(1))
            .enumerate()
        {
            if s.exhausted() {
                break;
            }
            s.descend(g);
            if rank < options.refined_twice {
                let start = s.base(&keeps[ki], &spatial[si], 0);
                s.descend(start);
            }
        }
    }
}

fn finish(ctx: &Ctx, s: Search, exhaustive: bool) -> Result<Found, MapperError> {
    if s.best.iter().all(Option::is_some) {
        return Ok(Found {
            best: s.best.into_iter().flatten().map(|(_, m)| m).collect(),
            evaluated: s.evaluated,
            exhaustive,
        });
    }
    let message = match s.last_error {
        Some((e, units)) => format!(
            "every candidate broke a constraint; the fullest ({units} of {} compute units) broke: {}",
            ctx.hw.total_units(),
            ctx.illegal_error(e)
        ),
        None => "no candidate to try: no spatial unrolling fits the fan-outs".into(),
    };
    Err(MapperError::NoMapping {
        problem: ctx.problem.name.clone(),
        hardware: ctx.hw.name.clone(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_cover_every_signature_of_every_permutation() {
        // All permutations of six dims against the prefix-4 generator.
        let dims: Vec<u8> = vec![2, 3, 4, 6, 7, 8];
        let mask = dims.iter().fold(0u16, |m, d| m | (1 << d));
        let generated: std::collections::BTreeSet<u64> = orders(mask, &[], &[], Kind::Snn)
            .iter()
            .map(|o| {
                let inner: Vec<u8> = o
                    .iter()
                    .rev()
                    .copied()
                    .filter(|d| mask & (1 << d) != 0)
                    .collect();
                signature(&inner, Kind::Snn)
            })
            .collect();
        let mut all = std::collections::BTreeSet::new();
        fn perms(v: &mut Vec<u8>, k: usize, out: &mut std::collections::BTreeSet<u64>) {
            if k == v.len() {
                out.insert(signature(v, Kind::Snn));
                return;
            }
            for i in k..v.len() {
                v.swap(k, i);
                perms(v, k + 1, out);
                v.swap(k, i);
            }
        }
        perms(&mut dims.clone(), 0, &mut all);
        assert_eq!(generated, all);
    }

    #[test]
    fn splits_enumerate_ordered_factorizations() {
        assert_eq!(Search::splits(12, 2).len(), 6);
        assert_eq!(Search::splits(4, 3).len(), 6);
    }
}
