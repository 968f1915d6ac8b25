//! Mappings (loop nests tiled per level, unrolled across instances) and constraints on them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::MapperError;
use crate::hardware::{Hardware, SparseFormat};
use crate::problem::{DataSpace, Dim, NDIMS, NSPACES, Problem};

/// An axis of a level's instance array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
pub enum Axis {
    /// The first mesh coordinate.
    #[default]
    X,
    /// The second mesh coordinate.
    Y,
}

/// A temporal loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Loop {
    /// Dimension.
    pub dim: Dim,
    /// Trip count.
    pub factor: u64,
}

/// A spatial loop: the level's tile distributed over its children along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SpatialLoop {
    /// Dimension.
    pub dim: Dim,
    /// Number of children it spans.
    pub factor: u64,
    /// Axis of the children's array.
    pub axis: Axis,
}

/// The loops and choices at one storage level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LevelMapping {
    /// Name of the hardware level.
    pub level: String,
    /// Temporal loops, outermost first (at most one per dimension).
    pub temporal: Vec<Loop>,
    /// Spatial loops over the children (at most one per dimension and axis).
    pub spatial: Vec<SpatialLoop>,
    /// Data spaces kept at this level (the others bypass it).
    pub keep: Vec<DataSpace>,
    /// Storage format of the inputs here.
    pub input_format: SparseFormat,
    /// Storage format of the outputs here.
    pub output_format: SparseFormat,
    /// Per-operand boundaries: for a data space kept here (weights, inputs or partial sums),
    /// how many of the temporal loops directly above this level (those of factor > 1 at the
    /// levels above, innermost first) its tile takes in. Its boundary sits that many loops
    /// higher: the tile is that much larger and stays in place across them. Unlisted data
    /// spaces end at this level's own loops.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub spans_above: BTreeMap<DataSpace, u64>,
}

/// A mapping of one problem onto one chip: one entry per storage level, outermost first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Per level, outermost first.
    pub levels: Vec<LevelMapping>,
}

/// Most storage levels a chip may have.
pub const MAX_LEVELS: usize = 8;

/// The dense form the counter and the search work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Compact {
    pub nlev: usize,
    /// Temporal factor per level and dimension.
    pub tf: [[u32; NDIMS]; MAX_LEVELS],
    /// Dimension indices, outermost first, per level (all nine; factor-1 ones are no-ops).
    pub order: [[u8; NDIMS]; MAX_LEVELS],
    /// Spatial factors per level, dimension and axis.
    pub sx: [[u32; NDIMS]; MAX_LEVELS],
    pub sy: [[u32; NDIMS]; MAX_LEVELS],
    /// Kept data spaces per level (bit i = DataSpace::ALL[i]).
    pub keep: [u8; MAX_LEVELS],
    /// Format indices into the level's `formats`, for inputs and outputs.
    pub fin: [u8; MAX_LEVELS],
    pub fout: [u8; MAX_LEVELS],
    /// Per level and data space, the temporal loops (factor > 1) directly above the level
    /// that the data space's tile there takes in (its own boundary; 0: the level's).
    pub raise: [[u8; NSPACES]; MAX_LEVELS],
}

impl Compact {
    pub fn new(nlev: usize) -> Self {
        Compact {
            nlev,
            tf: [[1; NDIMS]; MAX_LEVELS],
            order: [[0, 1, 2, 3, 4, 5, 6, 7, 8]; MAX_LEVELS],
            sx: [[1; NDIMS]; MAX_LEVELS],
            sy: [[1; NDIMS]; MAX_LEVELS],
            keep: [0; MAX_LEVELS],
            fin: [0; MAX_LEVELS],
            fout: [0; MAX_LEVELS],
            raise: [[0; NSPACES]; MAX_LEVELS],
        }
    }

    pub fn sp(&self, l: usize, d: usize) -> u64 {
        self.sx[l][d] as u64 * self.sy[l][d] as u64
    }

    /// Whether a partial sum kept at level `l` is complete when its tile leaves: no reduction
    /// loop (C, R, S) above `l` is spatial, and every temporal one lies in the run of loops
    /// irrelevant to partial sums directly above `l`, which leave its tile in place, so the
    /// sum finishes there before the tile changes. Loops a raised boundary of the partial
    /// sums takes in ([`Compact::raise`]) are inside the tile and do not count.
    pub fn sums_finish_at(&self, l: usize) -> bool {
        const REDUCTION: [usize; 3] = [3, 6, 7];
        if (0..l).any(|j| REDUCTION.iter().any(|&d| self.sp(j, d) > 1)) {
            return false;
        }
        let mut past_the_run = false;
        let mut inside = self.raise[l][DataSpace::Accum.index()];
        for j in (0..l).rev() {
            for &d in self.order[j].iter().rev() {
                let d = d as usize;
                if self.tf[j][d] == 1 {
                    continue;
                }
                if inside > 0 {
                    inside -= 1;
                    continue;
                }
                if !REDUCTION.contains(&d) {
                    past_the_run = true;
                } else if past_the_run {
                    return false;
                }
            }
        }
        true
    }

    /// The first dimension whose factors multiply past the layer's size (uneven tiling).
    pub fn uneven_dim(&self, dims: &[u64; NDIMS]) -> Option<Dim> {
        (0..NDIMS)
            .find(|&d| {
                let covered = (0..self.nlev)
                    .map(|l| self.tf[l][d] as u128 * self.sp(l, d) as u128)
                    .fold(1u128, u128::saturating_mul);
                covered != dims[d] as u128
            })
            .map(|d| Dim::ALL[d])
    }

    /// Refuses an uneven mapping for an export whose tool (`tool`) is given factors that
    /// must divide the layer.
    pub fn refuse_uneven(&self, problem: &Problem, tool: &str) -> Result<(), MapperError> {
        match self.uneven_dim(&problem.dims()) {
            None => Ok(()),
            Some(d) => Err(Refusal(problem).at(
                "-",
                None,
                &format!("factors.{d}"),
                format!(
                    "the factors of {d} multiply past the layer's {d} = {} (uneven tiling); the {tool} export writes factors that divide the layer only",
                    problem.dims()[d.index()]
                ),
            )),
        }
    }

    /// Refuses a mapping with per-operand boundaries for an export whose tool (`tool`) is
    /// given one boundary per level.
    pub fn refuse_raised(
        &self,
        hw: &Hardware,
        problem: &Problem,
        tool: &str,
    ) -> Result<(), MapperError> {
        for l in 0..self.nlev {
            if let Some(ds) = DataSpace::ALL
                .into_iter()
                .find(|ds| self.raise[l][ds.index()] > 0)
            {
                return Err(Refusal(problem).at(
                    &hw.levels[l].name,
                    Some(ds.name()),
                    &format!("spans_above.{}", ds.name()),
                    format!(
                        "a per-operand boundary; the {tool} export writes one boundary per level"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Back to the public form.
    pub fn to_mapping(self, hw: &Hardware) -> Mapping {
        let mut levels = Vec::with_capacity(self.nlev);
        for l in 0..self.nlev {
            let lvl = &hw.levels[l];
            let temporal = self.order[l]
                .iter()
                .map(|&d| d as usize)
                .filter(|&d| self.tf[l][d] > 1)
                .map(|d| Loop {
                    dim: Dim::ALL[d],
                    factor: self.tf[l][d] as u64,
                })
                .collect();
            let mut spatial = Vec::new();
            for (axis, s) in [(Axis::X, &self.sx[l]), (Axis::Y, &self.sy[l])] {
                for d in 0..NDIMS {
                    if s[d] > 1 {
                        spatial.push(SpatialLoop {
                            dim: Dim::ALL[d],
                            factor: s[d] as u64,
                            axis,
                        });
                    }
                }
            }
            let keep = DataSpace::ALL
                .into_iter()
                .filter(|ds| self.keep[l] & ds.bit() != 0)
                .collect();
            let spans_above = DataSpace::ALL
                .into_iter()
                .filter(|ds| self.raise[l][ds.index()] > 0)
                .map(|ds| (ds, self.raise[l][ds.index()] as u64))
                .collect();
            levels.push(LevelMapping {
                level: lvl.name.clone(),
                temporal,
                spatial,
                keep,
                input_format: lvl.formats[self.fin[l] as usize].clone(),
                output_format: lvl.formats[self.fout[l] as usize].clone(),
                spans_above,
            });
        }
        Mapping { levels }
    }

    /// From the public form, checking what a loop nest must satisfy (names the level, the
    /// data space and the key of the first problem found).
    pub fn from_mapping(
        m: &Mapping,
        problem: &Problem,
        hw: &Hardware,
    ) -> Result<Compact, MapperError> {
        let err = Refusal(problem);
        if hw.levels.len() > MAX_LEVELS {
            return Err(err.at(
                "-",
                None,
                "levels",
                format!("at most {MAX_LEVELS} storage levels"),
            ));
        }
        if m.levels.len() != hw.levels.len() {
            return Err(err.at(
                "-",
                None,
                "levels",
                format!(
                    "the mapping has {} levels, `{}` has {}",
                    m.levels.len(),
                    hw.name,
                    hw.levels.len()
                ),
            ));
        }
        let mut c = Compact::new(hw.levels.len());
        let mut product = [1u128; NDIMS];
        for (l, (lm, lvl)) in m.levels.iter().zip(&hw.levels).enumerate() {
            if lm.level != lvl.name {
                return Err(err.at(
                    &lm.level,
                    None,
                    "level",
                    format!("level {l} of `{}` is `{}`", hw.name, lvl.name),
                ));
            }
            c.set_temporal(l, lm, &mut product, err)?;
            c.set_spatial(l, lm, hw, &mut product, err)?;
            c.set_keep_and_formats(l, lm, hw, err)?;
            c.set_boundaries(l, lm, err)?;
        }
        let dims = problem.dims();
        for d in 0..NDIMS {
            // Uneven factors may cover a dimension past its size (the last tile partial), but
            // every loop has a factor of at least 2, so a cover needing all of them stays
            // below twice the size; the counter names the loop that is not needed.
            let (dim, covered) = (dims[d] as u128, product[d]);
            if covered < dim || covered >= dim.saturating_mul(2) {
                return Err(err.at(
                    "-",
                    None,
                    &format!("factors.{}", Dim::ALL[d]),
                    format!(
                        "the factors of {dim_name} multiply to {covered} but the layer's {dim_name} is {dim}: they must cover it (uneven factors may multiply past it, by less than the size of their outermost tile)",
                        dim_name = Dim::ALL[d],
                    ),
                ));
            }
        }
        Ok(c)
    }

    /// Level `l`'s temporal loops, outermost first; the unlisted dimensions (factor 1) go
    /// innermost, where they change nothing.
    fn set_temporal(
        &mut self,
        l: usize,
        lm: &LevelMapping,
        product: &mut [u128; NDIMS],
        err: Refusal,
    ) -> Result<(), MapperError> {
        let mut seen = [false; NDIMS];
        let mut order: Vec<u8> = Vec::new();
        for lp in &lm.temporal {
            let d = lp.dim.index();
            if seen[d] {
                return Err(err.at(
                    &lm.level,
                    None,
                    "temporal",
                    format!("two temporal loops over {}", lp.dim),
                ));
            }
            seen[d] = true;
            if lp.factor == 0 || lp.factor > u32::MAX as u64 {
                return Err(err.at(
                    &lm.level,
                    None,
                    "temporal",
                    format!("{}: factor {} out of range", lp.dim, lp.factor),
                ));
            }
            self.tf[l][d] = lp.factor as u32;
            product[d] = product[d].saturating_mul(lp.factor as u128);
            order.push(d as u8);
        }
        for d in 0..NDIMS as u8 {
            if !order.contains(&d) {
                order.push(d);
            }
        }
        self.order[l].copy_from_slice(&order);
        Ok(())
    }

    /// Level `l`'s spatial loops, at most one per dimension and axis, within its fan-out.
    fn set_spatial(
        &mut self,
        l: usize,
        lm: &LevelMapping,
        hw: &Hardware,
        product: &mut [u128; NDIMS],
        err: Refusal,
    ) -> Result<(), MapperError> {
        let fan = hw.fanout(l);
        let mut used = [1u128; 2];
        for sl in &lm.spatial {
            let d = sl.dim.index();
            let (arr, ax) = match sl.axis {
                Axis::X => (&mut self.sx, 0),
                Axis::Y => (&mut self.sy, 1),
            };
            if arr[l][d] != 1 {
                return Err(err.at(
                    &lm.level,
                    None,
                    "spatial",
                    format!("two spatial loops over {} on {:?}", sl.dim, sl.axis),
                ));
            }
            if sl.factor == 0 || sl.factor > u32::MAX as u64 {
                return Err(err.at(
                    &lm.level,
                    None,
                    "spatial",
                    format!("{}: factor {} out of range", sl.dim, sl.factor),
                ));
            }
            arr[l][d] = sl.factor as u32;
            product[d] = product[d].saturating_mul(sl.factor as u128);
            used[ax] = used[ax].saturating_mul(sl.factor as u128);
        }
        for ax in 0..2 {
            if used[ax] > fan[ax] as u128 {
                return Err(err.at(
                    &lm.level,
                    None,
                    "spatial",
                    format!(
                        "spatial factors multiply to {} on {} but the level has {} children on that axis",
                        used[ax],
                        ["X", "Y"][ax],
                        fan[ax]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What level `l` keeps, and the formats of its inputs and outputs.
    fn set_keep_and_formats(
        &mut self,
        l: usize,
        lm: &LevelMapping,
        hw: &Hardware,
        err: Refusal,
    ) -> Result<(), MapperError> {
        let lvl = &hw.levels[l];
        for ds in &lm.keep {
            if !hw.may_hold(lvl, *ds) {
                return Err(err.at(
                    &lvl.name,
                    Some(ds.name()),
                    "keep",
                    "the level may not hold this data space".into(),
                ));
            }
            self.keep[l] |= ds.bit();
        }
        let find = |f: &SparseFormat, key: &str| {
            lvl.formats.iter().position(|x| x == f).ok_or_else(|| {
                err.at(
                    &lvl.name,
                    Some(if key == "input_format" {
                        "inputs"
                    } else {
                        "outputs"
                    }),
                    key,
                    format!("format `{}` is not allowed at this level", f.name()),
                )
            })
        };
        self.fin[l] = find(&lm.input_format, "input_format")? as u8;
        self.fout[l] = find(&lm.output_format, "output_format")? as u8;
        Ok(())
    }
}

impl Compact {
    /// Level `l`'s per-operand boundaries: only for weights, inputs and partial sums kept
    /// here, and at most as many loops as lie above the level.
    fn set_boundaries(
        &mut self,
        l: usize,
        lm: &LevelMapping,
        err: Refusal,
    ) -> Result<(), MapperError> {
        let above = (0..l)
            .map(|j| self.tf[j].iter().filter(|&&f| f > 1).count() as u64)
            .sum::<u64>();
        for (&ds, &b) in &lm.spans_above {
            let key = format!("spans_above.{}", ds.name());
            let refuse = |message: String| Err(err.at(&lm.level, Some(ds.name()), &key, message));
            if !matches!(
                ds,
                DataSpace::Weights | DataSpace::Inputs | DataSpace::Accum
            ) {
                return refuse("a boundary of its own is counted for weights, inputs and partial sums (accum) only".into());
            }
            if !lm.keep.contains(&ds) {
                return refuse(
                    "the level does not keep this data space, so it has no tile to raise".into(),
                );
            }
            if b > above {
                return refuse(format!(
                    "{b} loops above this level asked for, but only {above} temporal loops (of factor > 1) lie above it"
                ));
            }
            self.raise[l][ds.index()] = b as u8;
        }
        Ok(())
    }
}

/// Builds the errors of a mapping of one problem that cannot be counted.
#[derive(Clone, Copy)]
struct Refusal<'p>(&'p Problem);

impl Refusal<'_> {
    fn at(self, level: &str, ds: Option<&str>, key: &str, message: String) -> MapperError {
        MapperError::Mapping {
            problem: self.0.name.clone(),
            level: level.to_string(),
            data_space: ds.map(str::to_string),
            key: key.to_string(),
            message,
        }
    }
}

/// Constraints on one level's loops (Timeloop-like).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LevelConstraint {
    /// Name of the hardware level.
    pub level: String,
    /// Fixed temporal factors (a dimension listed here has exactly this factor at this level).
    pub temporal_factors: BTreeMap<Dim, u64>,
    /// Loop order, innermost first as in Timeloop (e.g. "QRS"); may be partial: the listed
    /// dimensions are innermost in that order, the rest is free.
    pub permutation: Option<String>,
    /// Dimensions that are the outermost loops of this level, outermost first (e.g. "T":
    /// time-step-major at this level); the rest is free.
    pub outermost: Option<String>,
    /// Dimensions allowed on the X axis of the spatial fan-out below this level (absent: any).
    pub spatial_x: Option<Vec<Dim>>,
    /// Dimensions allowed on the Y axis (absent: any).
    pub spatial_y: Option<Vec<Dim>>,
    /// Fixed spatial factors on X.
    pub spatial_x_factors: BTreeMap<Dim, u64>,
    /// Fixed spatial factors on Y.
    pub spatial_y_factors: BTreeMap<Dim, u64>,
    /// Data spaces kept here (absent: what the hardware says).
    pub keep: Option<Vec<DataSpace>>,
    /// Format of the inputs here (absent: the mapper chooses among the level's formats).
    pub input_format: Option<SparseFormat>,
    /// Format of the outputs here (absent: the mapper chooses).
    pub output_format: Option<SparseFormat>,
    /// Per-operand boundaries (e.g. `{ inputs = 2 }`): the tile of a data space kept here
    /// (weights, inputs or accum, listed in `keep`) takes in that many of the temporal loops
    /// directly above this level, innermost first, as ZigZag's per-operand temporal mapping
    /// assigns them (absent: every tile ends at this level's own loops).
    pub spans_above: BTreeMap<DataSpace, u64>,
}

/// Constraints on a mapping: any subset of levels, any subset of choices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Constraints {
    /// Per level.
    pub levels: Vec<LevelConstraint>,
}

impl Constraints {
    /// Constraints that leave exactly the given mapping.
    pub fn pin(mapping: &Mapping) -> Constraints {
        let levels = mapping
            .levels
            .iter()
            .map(|lm| {
                let mut temporal_factors: BTreeMap<Dim, u64> =
                    Dim::ALL.iter().map(|d| (*d, 1)).collect();
                for lp in &lm.temporal {
                    temporal_factors.insert(lp.dim, lp.factor);
                }
                let mut sxf: BTreeMap<Dim, u64> = BTreeMap::new();
                let mut syf: BTreeMap<Dim, u64> = BTreeMap::new();
                for sl in &lm.spatial {
                    match sl.axis {
                        Axis::X => sxf.insert(sl.dim, sl.factor),
                        Axis::Y => syf.insert(sl.dim, sl.factor),
                    };
                }
                let permutation: String =
                    lm.temporal.iter().rev().map(|l| l.dim.letter()).collect();
                LevelConstraint {
                    level: lm.level.clone(),
                    temporal_factors,
                    permutation: Some(permutation),
                    outermost: None,
                    spatial_x: Some(sxf.keys().copied().collect()),
                    spatial_y: Some(syf.keys().copied().collect()),
                    spatial_x_factors: sxf,
                    spatial_y_factors: syf,
                    keep: Some(lm.keep.clone()),
                    input_format: Some(lm.input_format.clone()),
                    output_format: Some(lm.output_format.clone()),
                    spans_above: lm.spans_above.clone(),
                }
            })
            .collect();
        Constraints { levels }
    }
}
