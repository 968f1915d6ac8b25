//! Scoring candidate mappings one after another, as the search does: the chip's prices and
//! everything that does not depend on the mapping are worked out once, each candidate is
//! checked and converted once, and scoring one is a count and a pricing with no allocation.
//! A search of one's own (or a benchmark of the counter) uses it.

use crate::error::MapperError;
use crate::hardware::Hardware;
use crate::mapping::{Compact, Mapping};
use crate::model::{Counts, Ctx};
use crate::pricing::Pricing;
use crate::problem::{Densities, Problem};

/// A mapping checked against its problem and chip, ready to be scored many times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    compact: Compact,
}

/// What a candidate costs at some densities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Dynamic energy, pJ.
    pub dynamic_pj: f64,
    /// Static power × latency, pJ.
    pub leakage_pj: f64,
    /// Cycles.
    pub cycles: f64,
}

impl Score {
    /// Dynamic plus leakage, pJ.
    pub fn energy_pj(&self) -> f64 {
        self.dynamic_pj + self.leakage_pj
    }
}

/// Counts and prices candidate mappings of one layer on one chip.
#[derive(Debug)]
pub struct Scorer<'a> {
    ctx: Ctx<'a>,
    counts: Counts,
}

impl<'a> Scorer<'a> {
    /// Prices every access, hop and operation `problem` can cause on `hardware`.
    pub fn new(
        problem: &'a Problem,
        hardware: &'a Hardware,
        pricing: &dyn Pricing,
    ) -> Result<Scorer<'a>, MapperError> {
        let prices = Ctx::prices(problem, hardware, pricing)?;
        Ok(Scorer {
            ctx: Ctx::new(problem, hardware, prices)?,
            counts: Counts::default(),
        })
    }

    /// Checks what a loop nest must satisfy (factors, fan-outs, kept data spaces, formats);
    /// errors name the level, data space and key.
    pub fn candidate(&self, mapping: &Mapping) -> Result<Candidate, MapperError> {
        let compact = Compact::from_mapping(mapping, self.ctx.problem, self.ctx.hw)?;
        Ok(Candidate { compact })
    }

    /// Energy and cycles of a candidate at `densities`; an error names what makes it illegal
    /// (a capacity exceeded, partial sums that escape unfinished, …).
    pub fn score(&mut self, c: &Candidate, densities: &Densities) -> Result<Score, MapperError> {
        crate::check_densities(self.ctx.problem, densities)?;
        self.ctx
            .count(&c.compact, &mut self.counts)
            .map_err(|e| self.ctx.illegal_error(e))?;
        let (dynamic_pj, cycles, leakage_pj) = self.ctx.quick(&c.compact, &self.counts, densities);
        Ok(Score {
            dynamic_pj,
            leakage_pj,
            cycles,
        })
    }
}
