//! How much memory the mapper's search of one layer holds at its peak, counted from the
//! chip and the layer without searching, so a run's budget covers it.
//!
//! The search lists spatial unrollings level by level (every unrolling of every array when
//! the layer's temporal placements are few enough to enumerate, else up to two dimensions per
//! array axis, trimmed to `16 × spatial_candidates` per level) and holds the list of one
//! level while it builds the next. Each entry is a vector of one pair of factor arrays per
//! level. Large arrays (`[compute] units = [64, 64]`, a PE `mesh` of thousands) multiply the
//! choices per level: that list, not the layer, is what grows. The counts here follow the
//! same rules, without the checks that only remove entries (capacities, the utilization
//! ratio), so they bound the lists from above.

use std::collections::HashMap;

use snnergy_mapper::{Bypass, Hardware, Kind, Problem, SearchOptions};

/// Dimensions of a problem (N, G, K, C, P, Q, R, S, T).
const NDIMS: usize = 9;
/// Index of T, which the search does not unroll for an SNN unless a mapping pins it.
const T: usize = 8;
/// Counts beyond this are "too many" (and far over any budget): counting stops there.
const CAP: f64 = 1e15;

/// Bytes of one unrolling held for `levels` levels: the vector (header, allocator overhead),
/// one pair of nine-factor arrays per level, and the used-units count beside it.
fn entry_bytes(levels: usize) -> f64 {
    48.0 + 72.0 * levels as f64
}

/// Divisors of `n` greater than 1 and at most `max`.
fn divisors_upto(n: u64, max: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut d = 1;
    while d * d <= n {
        if n.is_multiple_of(d) {
            for f in [d, n / d] {
                if f > 1 && f <= max && !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        d += 1;
    }
    out
}

/// Ordered factorizations of `n` into `slots` factors: Π over its prime powers p^a of
/// C(a + slots − 1, slots − 1).
fn splits(mut n: u64, slots: usize) -> f64 {
    let mut total = 1.0;
    let mut p = 2;
    while p * p <= n {
        let mut a = 0;
        while n.is_multiple_of(p) {
            n /= p;
            a += 1;
        }
        total *= binomial(a + slots - 1, slots - 1);
        p += 1;
    }
    if n > 1 {
        total *= slots as f64;
    }
    total
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The unrollings of one array axis of `size`: choices of up to `max_dims` of the dimensions
/// `dims` (those the search may unroll), each with a factor dividing it, whose product fits
/// `size`. Counted over the products reached, never listed, so a large array costs no more
/// than its distinct products.
fn axis(size: u64, dims: &[u64], max_dims: usize) -> f64 {
    // (product, dimensions used) → choices reaching it.
    let mut reach: HashMap<(u64, usize), f64> = HashMap::new();
    reach.insert((1, 0), 1.0);
    for &d in dims {
        let factors = divisors_upto(d, size);
        let mut next = reach.clone();
        for (&(p, used), &n) in &reach {
            if used == max_dims {
                continue;
            }
            for &f in &factors {
                if let Some(q) = p.checked_mul(f).filter(|q| *q <= size) {
                    *next.entry((q, used + 1)).or_insert(0.0) += n;
                }
            }
        }
        reach = next;
    }
    reach.values().sum()
}

/// An upper bound of the spatial unrollings the search lists at each level, with `max_dims`
/// unrolled dimensions per axis and at most `keep` carried from one level to the next: each
/// level's choices are counted on the whole dimensions (what earlier levels take only
/// removes choices).
fn listed(p: &Problem, hw: &Hardware, max_dims: usize, keep: f64) -> Vec<f64> {
    let dims: Vec<u64> = p
        .dims()
        .iter()
        .enumerate()
        .filter(|&(d, &n)| n > 1 && !(p.kind == Kind::Snn && d == T))
        .map(|(_, &n)| n)
        .collect();
    let mut carried = 1.0;
    let mut per_level = Vec::new();
    for l in 0..hw.levels.len() {
        let [x, y] = hw.fanout(l);
        let n = (carried * axis(x, &dims, max_dims) * axis(y, &dims, max_dims)).min(CAP);
        per_level.push(n);
        carried = n.min(keep);
    }
    per_level
}

/// The peak bytes of lists of `per_level` entries, a level's list held with the previous one.
fn peak(per_level: &[f64], keep: f64) -> f64 {
    let mut best: f64 = 0.0;
    let mut prev = 1.0;
    for (l, n) in per_level.iter().enumerate() {
        best = best.max(prev * entry_bytes(l) + n * entry_bytes(l + 1));
        prev = n.min(keep);
    }
    best
}

/// Whether the search enumerates every spatial unrolling of `p`: its temporal placements
/// (ordered factorizations of each dimension over the levels) times its bypass choices are
/// within the exhaustive limit.
fn enumerates(p: &Problem, hw: &Hardware, options: &SearchOptions) -> bool {
    let levels = hw.levels.len();
    let mut lower: f64 = p.dims().iter().map(|&d| splits(d, levels)).product();
    for l in &hw.levels {
        lower *= (l.formats.len() * l.formats.len()) as f64;
        if l.bypass == Bypass::Auto {
            lower *= (1u64 << l.holds.len().min(8)) as f64;
        }
    }
    lower <= options.exhaustive_limit as f64
}

/// The peak bytes the search of `p` on `hw` with `options` holds, and the number of
/// unrollings behind it.
pub(crate) fn search_bytes(p: &Problem, hw: &Hardware, options: &SearchOptions) -> (f64, f64) {
    let keep = 16.0 * options.spatial_candidates.max(1) as f64;
    let heuristic = listed(p, hw, 2, keep);
    let mut bytes = peak(&heuristic, keep);
    let mut count = heuristic.iter().copied().fold(0.0, f64::max);
    if enumerates(p, hw, options) {
        let all = listed(p, hw, NDIMS, f64::INFINITY);
        bytes = bytes.max(peak(&all, f64::INFINITY));
        count = count.max(all.last().copied().unwrap_or(0.0));
    }
    (bytes, count)
}
