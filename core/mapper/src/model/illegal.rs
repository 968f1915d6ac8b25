//! Why a mapping is refused: a cheap reason while searching, named in words (level, data
//! space, key, sizes) for a pinned mapping.

use super::Ctx;
use crate::error::MapperError;
use crate::problem::{DataSpace, Dim};

/// Why a mapping is not legal (cheap to build in the search; turned into a named error for
/// pinned mappings).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Illegal {
    Factors(usize),
    /// A loop over a dimension (level, dimension) wasteful beyond what covering it needs.
    Wasteful(usize, usize),
    /// Uneven factors of a dimension of the input window (level of its outermost loop).
    UnevenWindow(usize, usize),
    Fit(usize, usize),
    NoKeeper(usize),
    PartialSumsEscape(usize),
    BelowFinal(usize, usize),
    SpatialT(usize),
    Capacity(usize, usize, u128, u128),
    Unbacked(usize, usize),
    /// A per-operand boundary (level, data space) the counter cannot count.
    Boundary(usize, usize, Boundary),
}

/// Why a per-operand boundary is refused.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Boundary {
    /// Membranes and outputs end at their level's boundary.
    Space,
    /// More loops than lie above the level.
    TooHigh,
    /// Above the boundary of the next level out that keeps the data space.
    AboveParent,
    /// The inputs' tile takes in a loop over this window dimension outside a spatial loop
    /// over it.
    Strided(u8),
    /// At the PEs of a systolic array, whose fill and drain per fold is timed on the tiles
    /// they keep at their own level.
    Systolic,
}

impl Ctx<'_> {
    pub(crate) fn illegal_error(&self, e: Illegal) -> MapperError {
        let problem = self.problem.name.clone();
        let lname = |l: usize| self.hw.levels[l].name.clone();
        match e {
            Illegal::Factors(d) => MapperError::Mapping {
                problem,
                level: "-".into(),
                data_space: None,
                key: format!("factors.{}", Dim::ALL[d]),
                message: format!(
                    "the factors of {} multiply to less than the layer's {}",
                    Dim::ALL[d],
                    self.dims[d]
                ),
            },
            Illegal::Wasteful(l, d) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: None,
                key: format!("factors.{}", Dim::ALL[d]),
                message: format!(
                    "the factors of {dim} multiply to more than the layer's {dim} = {} and this level's loop over {dim} is not needed to cover it: its last iteration starts past {dim}, or the other loops cover {dim} without it",
                    self.dims[d],
                    dim = Dim::ALL[d],
                ),
            },
            Illegal::UnevenWindow(l, d) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some("inputs".into()),
                key: format!("factors.{}", Dim::ALL[d]),
                message: format!(
                    "the factors of {dim} multiply to more than the layer's {dim} = {}: uneven tiling of P, Q, R or S (the input window) is not supported; their factors must multiply to the layer's size",
                    self.dims[d],
                    dim = Dim::ALL[d],
                ),
            },
            Illegal::Fit(l, ax) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: None,
                key: "spatial".into(),
                message: format!("spatial factors exceed the {} children on {}", self.hw.fanout(l)[ax], ["X", "Y"][ax]),
            },
            Illegal::NoKeeper(ds) => MapperError::Mapping {
                problem,
                level: "-".into(),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: "keep".into(),
                message: "no level keeps it".into(),
            },
            Illegal::PartialSumsEscape(l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some("accum".into()),
                key: "keep".into(),
                message: "the partial sums of the outermost level that keeps them are not complete when they leave it: a reduction loop (C, R or S) above it is spatial or lies outside the loops that leave its tile in place".into(),
            },
            Illegal::BelowFinal(ds, l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: "keep".into(),
                message: "kept below the level where partial sums are final; the epilogue cannot reach it".into(),
            },
            Illegal::SpatialT(l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some("membrane".into()),
                key: "spatial".into(),
                message: "T is unrolled across instances above the level that keeps membranes: a neuron's steps are sequential".into(),
            },
            Illegal::Unbacked(ds, l) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: "keep".into(),
                message: "a loop over a dimension of this data space lies at this level, above every level that keeps it: its tiles would come from (or go to) nowhere".into(),
            },
            Illegal::Boundary(l, ds, why) => MapperError::Mapping {
                problem,
                level: lname(l),
                data_space: Some(DataSpace::ALL[ds].name().into()),
                key: format!("spans_above.{}", DataSpace::ALL[ds].name()),
                message: match why {
                    Boundary::Space => "a boundary of its own is counted for weights, inputs and partial sums (accum) only".into(),
                    Boundary::TooHigh => "more loops asked for than the temporal loops (of factor > 1) above this level".into(),
                    Boundary::AboveParent => "the boundary sits above the boundary of the next level out that keeps this data space: the tile would outlive its parent's".into(),
                    Boundary::Systolic => "the level is fed by a systolic network, whose fill and drain per fold is timed on the tiles its PEs keep at their own boundary".into(),
                    Boundary::Strided(d) => format!(
                        "the tile would take in a temporal loop over {d} that lies outside a spatial loop over {d} (at that level or between it and this one): its input window would be strided, which is not counted",
                        d = Dim::ALL[d as usize]
                    ),
                },
            },
            Illegal::Capacity(l, ds, need, have) => MapperError::Capacity {
                problem,
                level: lname(l),
                data_space: DataSpace::ALL[ds].name().into(),
                need_bits: need,
                have_bits: have,
            },
        }
    }
}
