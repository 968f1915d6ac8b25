//! The prices one problem can need on one chip, asked of a [`Pricing`] once: per level and
//! data space, an element read or written streaming (packed in words) or scattered, a bit of a
//! full word, a hop of an element and of a message of each width; and each operation.

use serde::Serialize;

use super::{Ctx, NSPACES};
use crate::error::MapperError;
use crate::hardware::{Hardware, Level};
use crate::pricing::{AccessOp, ComputeOp, Pricing};
use crate::problem::{DataSpace, Kind, Problem};

/// What one element costs to access: pJ and word accesses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(super) struct PerElement {
    pub pj: f64,
    pub words: f64,
}

/// Per element of each data space at one level, [space][scatter = 1][read = 0 / write = 1].
pub(super) type LevelAccess = [[[PerElement; 2]; 2]; NSPACES];

/// Per-level price table for one problem (bits are fixed per problem).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Prices {
    /// Per level, an element accessed streaming (packed in words) or scattered (one access
    /// at its bits).
    pub(super) access: Vec<LevelAccess>,
    /// pJ per bit of a full-word streaming access, [level][space][read/write].
    pub(super) bit_pj: Vec<[[f64; 2]; NSPACES]>,
    /// pJ per element per hop of each level's network, per data space at its bits (0 for data
    /// spaces the network does not carry).
    pub(super) hop_pj: Vec<[f64; NSPACES]>,
    /// pJ per hop of one message of 1..=64 bits, [level][bits − 1]: compressed streams move
    /// one message per stored entry, and a network priced per transfer charges per message.
    pub(super) hop_msg_pj: Vec<Vec<f64>>,
    /// Priced operations.
    ops: Vec<(ComputeOp, f64)>,
    /// Static energy of the whole chip per cycle (pJ).
    pub(super) leak_pj_per_cycle: f64,
}

impl Prices {
    /// Levels priced.
    pub(crate) fn levels(&self) -> usize {
        self.access.len()
    }

    /// pJ of one full-word read (`rw` = 0) or write (1) at level `l` of `word_bits` bits. A
    /// banked level prices each data space at its bank; the exports state one price per
    /// level, so the dearest bank's stands for the level.
    pub(crate) fn word_pj(&self, l: usize, rw: usize, word_bits: u32) -> f64 {
        self.bit_pj[l].iter().map(|s| s[rw]).fold(0.0, f64::max) * word_bits as f64
    }

    pub(crate) fn op(&self, op: ComputeOp) -> f64 {
        self.ops
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, p)| *p)
            .unwrap_or(0.0)
    }
}

impl Ctx<'_> {
    /// Prices every access, hop and operation this problem can cause on this chip.
    pub fn prices(
        problem: &Problem,
        hw: &Hardware,
        pricing: &dyn Pricing,
    ) -> Result<Prices, MapperError> {
        hw.validate()?;
        hw.check_problem(problem)?;
        let mut prices = Prices::default();
        for lvl in &hw.levels {
            let (access, bit_pj) = Self::level_access(problem, lvl, pricing)?;
            prices.access.push(access);
            prices.bit_pj.push(bit_pj);
            let mut hp = [0.0; NSPACES];
            for ds in DataSpace::ALL {
                if lvl.network.carries(ds) {
                    hp[ds.index()] = pricing.hop_pj(lvl, problem.bits(ds).max(1))?;
                }
            }
            prices.hop_pj.push(hp);
            let msg = (1..=64)
                .map(|b| pricing.hop_pj(lvl, b))
                .collect::<Result<Vec<_>, _>>()?;
            prices.hop_msg_pj.push(msg);
        }
        for op in Self::op_kinds(problem, hw) {
            prices.ops.push((op, pricing.compute_pj(&hw.compute, op)?));
        }
        let mut leak_mw = pricing.static_mw(hw, None)?;
        for l in 0..hw.levels.len() {
            leak_mw += pricing.static_mw(hw, Some(l))?;
        }
        // mW × µs = nJ; one cycle lasts 1/clock_mhz µs.
        prices.leak_pj_per_cycle = leak_mw * 1000.0 / hw.compute.clock_mhz;
        Ok(prices)
    }

    /// Per element of each data space at one level: a streaming access packs ⌊word / bits⌋
    /// elements (or takes ⌈bits / word⌉ accesses for a wide one); a scatter is one access at
    /// the element's bits.
    fn level_access(
        problem: &Problem,
        lvl: &Level,
        pricing: &dyn Pricing,
    ) -> Result<(LevelAccess, [[f64; 2]; NSPACES]), MapperError> {
        let wb = lvl.word_bits;
        let mut a = LevelAccess::default();
        let mut bit_pj = [[0.0; 2]; NSPACES];
        for ds in DataSpace::ALL {
            let b = problem.bits(ds).max(1);
            let i = ds.index();
            for (rw, op) in [AccessOp::Read, AccessOp::Write].into_iter().enumerate() {
                let (stream, scatter) = if b <= wb {
                    let pack = wb / b;
                    let stream = PerElement {
                        pj: pricing.access_pj(lvl, ds, op, pack * b)? / pack as f64,
                        words: 1.0 / pack as f64,
                    };
                    let scatter = PerElement {
                        pj: pricing.access_pj(lvl, ds, op, b)?,
                        words: 1.0,
                    };
                    bit_pj[i][rw] = pricing.access_pj(lvl, ds, op, wb)? / wb as f64;
                    (stream, scatter)
                } else {
                    let n = b.div_ceil(wb) as f64;
                    let e = pricing.access_pj(lvl, ds, op, wb)? * n;
                    bit_pj[i][rw] = e / n / wb as f64;
                    let whole = PerElement { pj: e, words: n };
                    (whole, whole)
                };
                a[i][0][rw] = stream;
                a[i][1][rw] = scatter;
            }
        }
        Ok((a, bit_pj))
    }

    fn op_kinds(p: &Problem, hw: &Hardware) -> Vec<ComputeOp> {
        let mut v = vec![
            Self::main_op(p),
            ComputeOp::Add { bits: p.accum_bits },
            ComputeOp::Compare { bits: p.accum_bits },
            ComputeOp::Mul {
                a_bits: p.accum_bits,
                b_bits: hw.compute.mac_bits,
            },
        ];
        if p.kind == Kind::Snn {
            v.push(ComputeOp::Add {
                bits: p.membrane_bits,
            });
            v.push(ComputeOp::Compare {
                bits: p.membrane_bits,
            });
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;

    #[test]
    fn a_word_streams_several_narrow_elements_and_a_wide_element_takes_several_words() {
        let (mut p, mut hw) = (qnn(1, 1, 1, 1, 1, 1), chip([1, 1], true, false));
        // The buffer moves 64 bits an access; partial sums are 32 bits wide.
        hw.levels[1].word_bits = 64;
        hw.levels[1].capacity = None;
        p.accum_bits = 32;
        let prices = Ctx::prices(&p, &hw, &crate::OwnPrices).unwrap();
        let at = |l: usize, ds: usize, scatter: usize| prices.access[l][ds][scatter][0];
        // Four 16-bit weights to a 64-bit word at 1 pJ: a quarter each, streaming; one whole
        // access each when scattered.
        assert_eq!((at(1, W_, 0).pj, at(1, W_, 0).words), (0.25, 0.25));
        assert_eq!((at(1, W_, 1).pj, at(1, W_, 1).words), (1.0, 1.0));
        // A 32-bit sum in DRAM's 16-bit words: two accesses either way.
        assert_eq!((at(0, A_, 0).pj, at(0, A_, 0).words), (2.0, 2.0));
        assert_eq!((at(0, A_, 1).pj, at(0, A_, 1).words), (2.0, 2.0));
        // Per bit of a full word: 1 pJ over 64 bits at the buffer.
        assert_eq!(prices.bit_pj[1][W_][0], 1.0 / 64.0);
    }
}
