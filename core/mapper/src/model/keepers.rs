//! Who keeps what: per data space, the levels that keep it (its chain, outermost first), and
//! the finalizing level where partial sums are complete. A keeping choice is refused when a
//! data space has no keeper, when a loop over one of its dimensions lies above its outermost
//! keeper, when partial sums would leave their outermost keeper unfinished, when membranes or
//! outputs are kept below the finalizing level, or when T is unrolled across instances above
//! the membranes.

use super::{A_, C, Ctx, I_, Illegal, M_, O_, R, S, T, W_};
use crate::mapping::{Compact, MAX_LEVELS};
use crate::problem::{NDIMS, NSPACES};

#[derive(Debug)]
pub(super) struct Keepers {
    chains: [[usize; MAX_LEVELS]; NSPACES],
    len: [usize; NSPACES],
    /// The innermost level keeping partial sums whose sums are complete when they leave it.
    pub fin: usize,
    /// Index in the partial-sum chain of the finalizing level: keepers above it would hold
    /// finished sums nobody reads.
    accum_start: usize,
}

impl Keepers {
    /// The levels keeping each data space in `m`.
    #[inline]
    pub fn of(ctx: &Ctx, m: &Compact) -> Keepers {
        let mut chains = [[0; MAX_LEVELS]; NSPACES];
        let mut len = [0; NSPACES];
        for ds in 0..NSPACES {
            if ctx.spaces & (1 << ds) == 0 {
                continue;
            }
            let mut n = 0;
            for l in 0..ctx.nlev {
                if m.keep[l] & (1 << ds) != 0 {
                    chains[ds][n] = l;
                    n += 1;
                }
            }
            len[ds] = n;
        }
        Keepers {
            chains,
            len,
            fin: 0,
            accum_start: 0,
        }
    }

    /// Checks the keeping rules and finds the finalizing level.
    #[inline]
    pub fn settle(&mut self, ctx: &Ctx, m: &Compact) -> Result<(), Illegal> {
        if let Some(ds) = (0..NSPACES).find(|&ds| ctx.spaces & (1 << ds) != 0 && self.len[ds] == 0)
        {
            return Err(Illegal::NoKeeper(ds));
        }
        let k = self;
        k.check_backed(ctx, m)?;
        let accum = k.chain(A_);
        let Some(at) = accum.iter().rposition(|&l| m.sums_finish_at(l)) else {
            return Err(Illegal::PartialSumsEscape(accum[0]));
        };
        k.fin = accum[at];
        k.accum_start = at;
        for ds in [M_, O_] {
            if let Some(&l) = k.chain(ds).iter().find(|&&l| l > k.fin) {
                return Err(Illegal::BelowFinal(ds, l));
            }
        }
        if ctx.problem.carries()
            && let Some(l) = (0..k.innermost(M_)).find(|&l| m.sp(l, T) > 1)
        {
            return Err(Illegal::SpatialT(l));
        }
        Ok(())
    }

    /// A data space whose outermost keeper is not the outermost level must be whole there: a
    /// relevant loop above it would need a tile from (or a drain to) a level that does not
    /// keep it. Partial sums are produced, not fetched, and escape this rule; the membrane
    /// ignores the reduction loops, which do not change it.
    fn check_backed(&self, ctx: &Ctx, m: &Compact) -> Result<(), Illegal> {
        for ds in [W_, I_, M_, O_] {
            if self.len[ds] == 0 {
                continue;
            }
            for l in 0..self.chains[ds][0] {
                for d in 0..NDIMS {
                    let projected_out = ds == M_ && matches!(d, C | R | S);
                    if m.tf[l][d] > 1 && ctx.relevant(ds, d) && !projected_out {
                        return Err(Illegal::Unbacked(ds, l));
                    }
                }
            }
        }
        Ok(())
    }

    /// The levels keeping `ds`, outermost first (empty for a data space the problem lacks).
    pub fn chain(&self, ds: usize) -> &[usize] {
        &self.chains[ds][..self.len[ds]]
    }

    /// The levels keeping partial sums from the finalizing level inward.
    pub fn accum_chain(&self) -> &[usize] {
        &self.chains[A_][self.accum_start..self.len[A_]]
    }

    /// The innermost level keeping `ds`.
    pub fn innermost(&self, ds: usize) -> usize {
        self.chains[ds][self.len[ds] - 1]
    }

    /// The outermost level keeping `ds`.
    pub fn outermost(&self, ds: usize) -> usize {
        self.chains[ds][0]
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    fn keepers(p: &crate::Problem, levels: Vec<crate::LevelMapping>) -> Result<Keepers, Illegal> {
        let hw = chip([2, 1], true, false);
        let ctx = ctx(p, &hw);
        let m = compact(p, &hw, levels);
        let mut k = Keepers::of(&ctx, &m);
        k.settle(&ctx, &m).map(|()| k)
    }

    #[test]
    fn chains_run_outermost_first_and_sums_finish_where_no_reduction_loop_follows() {
        // C2 at DRAM, P4 at the buffer: the register's sums leave after each p, before C is
        // done; the buffer's tile (all of P) stays in place through the C2 directly above it,
        // so its sums finish there.
        let p = qnn(1, 2, 4, 1, 1, 1);
        let k = keepers(
            &p,
            vec![
                level("DRAM", &[(D::C, 2)], &[], &[Weights, Inputs, Outputs]),
                level("buffer", &[(D::P, 4)], &[], &[Weights, Inputs, Accum]),
                level("reg", &[], &[], &[Accum]),
            ],
        )
        .unwrap();
        assert_eq!(k.chain(W_), &[0, 1]);
        assert_eq!(k.chain(A_), &[1, 2]);
        assert_eq!((k.outermost(O_), k.innermost(O_)), (0, 0));
        assert_eq!(k.fin, 1);
        assert_eq!(k.accum_chain(), &[1, 2]);
    }

    #[test]
    fn a_keeping_choice_is_refused_with_the_rule_it_breaks() {
        let p = qnn(2, 2, 4, 1, 1, 1);
        // Inputs kept nowhere.
        let r = keepers(
            &p,
            vec![
                level(
                    "DRAM",
                    &[(D::K, 2), (D::C, 2), (D::P, 4)],
                    &[],
                    &[Weights, Accum, Outputs],
                ),
                level("buffer", &[], &[], &[]),
                level("reg", &[], &[], &[]),
            ],
        );
        assert_eq!(r.err(), Some(Illegal::NoKeeper(I_)));
        // Weights kept only at the buffer, with K2 (relevant to them) at DRAM.
        let r = keepers(
            &p,
            vec![
                level("DRAM", &[(D::K, 2)], &[], &[Inputs, Accum, Outputs]),
                level("buffer", &[(D::C, 2), (D::P, 4)], &[], &[Weights]),
                level("reg", &[], &[], &[]),
            ],
        );
        assert_eq!(r.err(), Some(Illegal::Unbacked(W_, 0)));
        // Partial sums only in the register, with C2 above it outside the relevant P4.
        let r = keepers(
            &p,
            vec![
                level(
                    "DRAM",
                    &[(D::K, 2), (D::C, 2)],
                    &[],
                    &[Weights, Inputs, Outputs],
                ),
                level("buffer", &[(D::P, 4)], &[], &[]),
                level("reg", &[], &[], &[Accum]),
            ],
        );
        assert_eq!(r.err(), Some(Illegal::PartialSumsEscape(2)));
        // An SNN whose membranes sit in the register, below the buffer where sums finish.
        let snn = p.clone().into_snn(2, 16);
        let r = keepers(
            &snn,
            vec![
                level(
                    "DRAM",
                    &[(D::K, 2), (D::T, 2)],
                    &[],
                    &[Weights, Inputs, Membrane, Outputs],
                ),
                level("buffer", &[(D::C, 2), (D::P, 4)], &[], &[Accum]),
                level("reg", &[], &[], &[Accum, Membrane]),
            ],
        );
        assert_eq!(r.err(), Some(Illegal::BelowFinal(M_, 2)));
        // T unrolled over the registers that keep the membranes: steps would run in parallel.
        let r = keepers(
            &snn,
            vec![
                level(
                    "DRAM",
                    &[(D::K, 2)],
                    &[],
                    &[Weights, Inputs, Accum, Membrane, Outputs],
                ),
                level("buffer", &[], &[(D::T, 2)], &[]),
                level("reg", &[(D::C, 2), (D::P, 4)], &[], &[Accum, Membrane]),
            ],
        );
        assert_eq!(r.err(), Some(Illegal::SpatialT(1)));
    }
}
