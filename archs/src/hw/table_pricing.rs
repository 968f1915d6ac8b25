//! The mapper's prices asked of snnergy's energy models: every access, hop and operation the
//! mapper asks about becomes the snnergy action it will be reported as, at the place it
//! happens, and is priced by the same energy model that prices the report, so the search
//! minimizes exactly what the report shows.

use snnergy_core::{ActionKind, EnergyModel, Place, PriceError};
use snnergy_mapper::{
    AccessOp, Capacity, Compute, ComputeOp, DataSpace, Hardware, HopPrice, Level, MapperError,
    Pricing,
};

use super::places::{COMPUTE, access_kind, hop_kind, level_place, network_place, op_kinds};

fn price_error(place: &str, e: PriceError) -> MapperError {
    MapperError::Price {
        level: place.to_string(),
        what: e.action.clone(),
        message: e.to_string(),
    }
}

/// The mapper's prices from an energy model, place by place.
pub(crate) struct TablePricing<'a> {
    pub energy: &'a dyn EnergyModel,
    /// Width of the accumulate inside a MAC.
    pub accum_bits: u32,
}

impl Pricing for TablePricing<'_> {
    fn access_pj(
        &self,
        level: &Level,
        ds: DataSpace,
        op: AccessOp,
        bits: u32,
    ) -> Result<f64, MapperError> {
        let held = level.holds.contains(&ds)
            && match &level.capacity {
                Some(Capacity::Banks(_)) => level.bank_for(ds).is_some(),
                Some(Capacity::Partitioned(p)) => p.contains_key(&ds),
                _ => true,
            };
        if !held {
            // Never accessed here: no price needed.
            return Ok(0.0);
        }
        let place = level_place(level, ds);
        self.energy
            .price_at(place, &access_kind(level, ds, op, bits))
            .map(|p| p.pj)
            .map_err(|e| price_error(place.as_str(), e))
    }

    fn compute_pj(&self, _: &Compute, op: ComputeOp) -> Result<f64, MapperError> {
        let place = Place::new(COMPUTE);
        let mut pj = 0.0;
        for (kind, share) in op_kinds(op, self.accum_bits).into_iter().flatten() {
            pj += share
                * self
                    .energy
                    .price_at(place, &kind)
                    .map_err(|e| price_error(COMPUTE, e))?
                    .pj;
        }
        Ok(pj)
    }

    /// Priced as the report prices it (the description's static power unless the table
    /// answers for the place, scaled as every other price is), so the search minimizes the
    /// leakage the report shows.
    fn static_mw(&self, hw: &Hardware, level: Option<usize>) -> Result<f64, MapperError> {
        let (stated, name) = match level {
            Some(l) => (hw.levels[l].leakage_mw, hw.levels[l].name.as_str()),
            None => (hw.compute.leakage_mw, COMPUTE),
        };
        // The report charges only the places that state a static power.
        if stated <= 0.0 {
            return Ok(0.0);
        }
        self.energy
            .price_at(Place::new(name), &ActionKind::Leakage)
            .map(|p| p.pj)
            .map_err(|e| price_error(name, e))
    }

    fn hop_pj(&self, level: &Level, bits: u32) -> Result<f64, MapperError> {
        if let HopPrice::Pj(v) = level.network.hop_pj_per_bit
            && v == 0.0
        {
            // A free network needs no price from anyone.
            return Ok(0.0);
        }
        let place = network_place(level);
        self.energy
            .price_at(place, &hop_kind(level, bits))
            .map(|p| p.pj)
            .map_err(|e| price_error(place.as_str(), e))
    }
}
