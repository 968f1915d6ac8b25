//! snnergy-archs: the hardware snnergy ships with, and the prices it ships with.
//!
//! Architectures count the actions a layer performs ([`Architecture`]); price tables say what
//! each action costs ([`EnergyModel`]). This crate holds:
//!
//! - `classical`, `neuromorphic` and `spatial`: the three hardware families of the README's
//!   "The hardware", each a hardware description (`archs/hardware/*.toml`) plus the rule that
//!   says which part of the chip a layer runs on, mapped layer by layer by `snnergy-mapper`
//!   with each format at its own best (see [`hw`], [`classical`], [`neuromorphic`],
//!   [`spatial`]);
//! - `hardware`: any chip described as data, the shipped accelerators `eyeriss-like`,
//!   `tpu-like` and `output-stationary` or a TOML file of the user's (see [`chip`]);
//! - `paper-v1`: the v1 closed forms of Yan et al. for the classical and spatial hardware,
//!   reproduced exactly as actions (see [`paper_v1`]);
//! - the price tables `horowitz-45nm`, `paper-v1`, `yan-22nm` and the user's own `table`
//!   (see [`tables`]).

#![warn(missing_docs)]

pub mod chip;
pub mod classical;
mod common;
pub mod hw;
pub mod neuromorphic;
pub mod paper_v1;
pub mod spatial;
pub mod tables;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{Registry, RegistryError};

pub use chip::{Chip, ChipConfig};
pub use classical::{ActivationFormat, Classical, ClassicalConfig, Zeros};
pub use common::DirectInput;
pub use hw::{
    Dataflow, Effort, HardwareArchitecture, LayerOnChip, OwnPricesFirst, TimeOrder, layers_on_chip,
};
pub use neuromorphic::{Calibration, Neuromorphic, NeuromorphicConfig};
pub use paper_v1::{PaperV1, PaperV1Config, PaperVariant};
pub use spatial::{PeMemory, Spatial, SpatialConfig};
pub use tables::{Horowitz45nm, PaperV1Prices, PriceTable, Yan22nm};

/// Configuration of a component without parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NoParams {}

/// An example table of string values.
pub(crate) fn example(keys: &[(&str, &str)]) -> toml::Table {
    keys.iter()
        .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
        .collect()
}

/// Every built-in architecture and price table: adding one is one line here.
fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add::<Classical>()?;
    r.add::<Neuromorphic>()?;
    r.add::<Spatial>()?;
    r.add::<Chip>()?;
    r.add::<PaperV1>()?;
    r.add::<Horowitz45nm>()?;
    r.add::<PaperV1Prices>()?;
    r.add::<Yan22nm>()?;
    r.add::<PriceTable>()?;
    Ok(())
}

snnergy_core::register_builtins!(register);
