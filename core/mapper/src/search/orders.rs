//! Loop orders and factorizations: the distinct orders of a level's loops (one per
//! stationarity signature: orders with equal signatures give identical counts), primes and
//! divisors.

use std::collections::BTreeMap;

use crate::problem::{DataSpace, Kind, NDIMS};

pub(super) fn primes(mut n: u64) -> Vec<u64> {
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

pub(super) fn divisors(n: u64) -> Vec<u64> {
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
pub(super) fn orders(mask: u16, prefix: &[u8], outer: &[u8], kind: Kind) -> Vec<[u8; NDIMS]> {
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
}
