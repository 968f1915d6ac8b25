//! Constraints (pins) resolved against the chip: per level, the fixed temporal and spatial
//! factors, the loop order's fixed innermost and outermost dimensions, the dimensions each
//! array axis may unroll, bypass and formats; every name checked against the chip.

use super::orders::orders;
use crate::error::MapperError;
use crate::mapping::{Compact, Constraints, LevelConstraint, MAX_LEVELS};
use crate::model::Ctx;
use crate::problem::{DataSpace, Dim, NDIMS, NSPACES};

/// Constraints resolved against the chip.
#[derive(Clone, Debug)]
pub(super) struct Resolved {
    pub tf: [[Option<u32>; NDIMS]; MAX_LEVELS],
    pub prefix: Vec<Vec<u8>>,
    /// Dimensions that must be outermost at a level, outermost first.
    pub outer: Vec<Vec<u8>>,
    pub allow_x: [u16; MAX_LEVELS],
    pub allow_y: [u16; MAX_LEVELS],
    pub sx: [[Option<u32>; NDIMS]; MAX_LEVELS],
    pub sy: [[Option<u32>; NDIMS]; MAX_LEVELS],
    pub keep: [Option<u8>; MAX_LEVELS],
    pub fin: [Option<u8>; MAX_LEVELS],
    pub fout: [Option<u8>; MAX_LEVELS],
    /// Per-operand boundaries, as [`crate::mapping::Compact::raise`].
    pub raise: [[u8; NSPACES]; MAX_LEVELS],
}

fn mapping_error(ctx: &Ctx, level: &str, key: &str, message: String) -> MapperError {
    MapperError::Mapping {
        problem: ctx.problem.name.clone(),
        level: level.into(),
        data_space: None,
        key: key.into(),
        message,
    }
}

pub(super) fn resolve(ctx: &Ctx, cons: &Constraints) -> Result<Resolved, MapperError> {
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
        raise: [[0; NSPACES]; MAX_LEVELS],
    };
    for lc in &cons.levels {
        let l = ctx.hw.level_index(&lc.level).ok_or_else(|| {
            mapping_error(
                ctx,
                &lc.level,
                "level",
                format!("`{}` has no level of this name", ctx.hw.name),
            )
        })?;
        r.factors_and_order(ctx, l, lc)?;
        r.unrolling(l, lc);
        r.keep_and_formats(ctx, l, lc)?;
        r.boundaries(ctx, l, lc)?;
    }
    r.check_fixed_factors(ctx)?;
    Ok(r)
}

impl Resolved {
    /// A level's fixed temporal factors, innermost (`permutation`) and outermost loops.
    fn factors_and_order(
        &mut self,
        ctx: &Ctx,
        l: usize,
        lc: &LevelConstraint,
    ) -> Result<(), MapperError> {
        let err = |key: &str, message: String| mapping_error(ctx, &lc.level, key, message);
        for (d, f) in &lc.temporal_factors {
            if *f == 0 || *f > u32::MAX as u64 {
                return Err(err(
                    "temporal_factors",
                    format!("{d}: factor {f} out of range"),
                ));
            }
            self.tf[l][d.index()] = Some(*f as u32);
        }
        if let Some(p) = &lc.permutation {
            for ch in p.chars() {
                let d = Dim::from_letter(ch)
                    .ok_or_else(|| err("permutation", format!("`{ch}` is not a dimension")))?;
                self.prefix[l].push(d.index() as u8);
            }
        }
        if let Some(p) = &lc.outermost {
            for ch in p.chars() {
                let d = Dim::from_letter(ch)
                    .ok_or_else(|| err("outermost", format!("`{ch}` is not a dimension")))?;
                if self.prefix[l].contains(&(d.index() as u8)) {
                    return Err(err("outermost", format!("{d} is also in `permutation`")));
                }
                self.outer[l].push(d.index() as u8);
            }
        }
        Ok(())
    }

    /// The dimensions each axis of a level may unroll, and its fixed spatial factors.
    fn unrolling(&mut self, l: usize, lc: &LevelConstraint) {
        let mask =
            |v: &Option<Vec<Dim>>| v.as_ref().map(|v| v.iter().fold(0u16, |m, d| m | d.bit()));
        if let Some(m) = mask(&lc.spatial_x) {
            self.allow_x[l] = m;
        }
        if let Some(m) = mask(&lc.spatial_y) {
            self.allow_y[l] = m;
        }
        for (d, f) in &lc.spatial_x_factors {
            self.sx[l][d.index()] = Some(*f as u32);
            self.allow_x[l] |= d.bit();
        }
        for (d, f) in &lc.spatial_y_factors {
            self.sy[l][d.index()] = Some(*f as u32);
            self.allow_y[l] |= d.bit();
        }
    }

    /// What a level keeps, and the formats its inputs and outputs are stored in.
    fn keep_and_formats(
        &mut self,
        ctx: &Ctx,
        l: usize,
        lc: &LevelConstraint,
    ) -> Result<(), MapperError> {
        let hw = ctx.hw;
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
            self.keep[l] = Some(m & ctx.spaces);
        }
        let lvl = &hw.levels[l];
        for (f, slot, key) in [
            (&lc.input_format, &mut self.fin[l], "input_format"),
            (&lc.output_format, &mut self.fout[l], "output_format"),
        ] {
            if let Some(f) = f {
                let i = lvl.formats.iter().position(|x| x == f).ok_or_else(|| {
                    mapping_error(
                        ctx,
                        &lc.level,
                        key,
                        format!("format `{}` is not allowed at this level", f.name()),
                    )
                })?;
                *slot = Some(i as u8);
            }
        }
        Ok(())
    }

    /// A level's per-operand boundaries: for weights, inputs or partial sums the level is
    /// pinned to keep, past at most the loops a chip's levels can hold. Whether that many
    /// loops lie above the level is the counter's check, on the factors the search chooses.
    fn boundaries(&mut self, ctx: &Ctx, l: usize, lc: &LevelConstraint) -> Result<(), MapperError> {
        for (&ds, &b) in &lc.spans_above {
            let refuse = |message: &str| MapperError::Mapping {
                problem: ctx.problem.name.clone(),
                level: lc.level.clone(),
                data_space: Some(ds.name().into()),
                key: format!("spans_above.{}", ds.name()),
                message: message.into(),
            };
            if !matches!(
                ds,
                DataSpace::Weights | DataSpace::Inputs | DataSpace::Accum
            ) {
                return Err(refuse(
                    "a boundary of its own is counted for weights, inputs and partial sums (accum) only",
                ));
            }
            if !lc.keep.as_ref().is_some_and(|k| k.contains(&ds)) {
                return Err(refuse(
                    "a per-operand boundary needs the level's `keep` pinned and listing this data space",
                ));
            }
            if b > (l * NDIMS) as u64 {
                return Err(refuse(&format!(
                    "{b} loops asked for, but at most {} temporal loops lie above this level",
                    l * NDIMS
                )));
            }
            self.raise[l][ds.index()] = b as u8;
        }
        Ok(())
    }

    /// Whether `m` keeps every pin: fixed factors, unrollable dimensions, kept data spaces
    /// (partial sums may be dropped below where they finish, as every scored mapping's are),
    /// formats, per-operand boundaries (free ones only when `free_boundaries`), and the loop
    /// orders a level's `permutation` and `outermost` allow. A warm start from a search under
    /// other pins (a sensitivity study's dataflow or loop order) is not a start of this one.
    pub fn admits(&self, ctx: &Ctx, m: &Compact, free_boundaries: bool) -> bool {
        let accum = DataSpace::Accum.bit();
        (0..ctx.nlev).all(|l| {
            let factors = (0..NDIMS).all(|d| {
                self.tf[l][d].is_none_or(|f| m.tf[l][d] == f)
                    && self.sx[l][d].is_none_or(|f| m.sx[l][d] == f)
                    && self.sy[l][d].is_none_or(|f| m.sy[l][d] == f)
                    && (m.sx[l][d] <= 1 || self.allow_x[l] & (1 << d) != 0)
                    && (m.sy[l][d] <= 1 || self.allow_y[l] & (1 << d) != 0)
            });
            let keep = self.keep[l].is_none_or(|k| {
                m.keep[l] & !accum == k & !accum && (m.keep[l] & accum == 0 || k & accum != 0)
            });
            let formats = self.fin[l].is_none_or(|f| m.fin[l] == f)
                && self.fout[l].is_none_or(|f| m.fout[l] == f);
            let boundaries = (0..NSPACES).all(|ds| {
                m.raise[l][ds] == self.raise[l][ds] || (free_boundaries && self.raise[l][ds] == 0)
            });
            factors && keep && formats && boundaries && self.order_allowed(ctx, m, l)
        })
    }

    /// Whether level `l`'s order of `m` is one its `permutation` and `outermost` allow:
    /// one of the generated orders, compared on the loops that run (factor above 1).
    fn order_allowed(&self, ctx: &Ctx, m: &Compact, l: usize) -> bool {
        if self.prefix[l].is_empty() && self.outer[l].is_empty() {
            return true;
        }
        let mask = (0..NDIMS)
            .filter(|&d| m.tf[l][d] > 1)
            .fold(0u16, |a, d| a | (1 << d));
        let running = |o: &[u8; NDIMS]| -> Vec<u8> {
            o.iter()
                .copied()
                .filter(|&d| mask & (1 << d) != 0)
                .collect()
        };
        let mine = running(&m.order[l]);
        orders(
            mask,
            &self.prefix[l],
            &self.outer[l],
            ctx.problem.searched_as(),
        )
        .iter()
        .any(|o| running(o) == mine)
    }

    /// Fixed factors must be able to multiply to the dimensions.
    fn check_fixed_factors(&self, ctx: &Ctx) -> Result<(), MapperError> {
        let dims = ctx.dims;
        for d in 0..NDIMS {
            let mut fixed: u128 = 1;
            for l in 0..ctx.nlev {
                for f in [self.tf[l][d], self.sx[l][d], self.sy[l][d]]
                    .into_iter()
                    .flatten()
                {
                    fixed = fixed.saturating_mul(f as u128);
                }
            }
            // Fixed factors covering the whole dimension may split it unevenly (the last
            // iteration partial, the counter refusing a wasteful loop by name); fewer must
            // divide it, for the free factors to fill the rest.
            if !(dims[d] as u128).is_multiple_of(fixed) && fixed < dims[d] as u128 {
                return Err(mapping_error(
                    ctx,
                    "-",
                    &format!("factors.{}", Dim::ALL[d]),
                    format!(
                        "the fixed factors of {} multiply to {fixed}, which neither divides the layer's {} nor covers it (an uneven split is pinned whole)",
                        Dim::ALL[d],
                        dims[d]
                    ),
                ));
            }
        }
        Ok(())
    }
}
