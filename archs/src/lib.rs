//! snnergy-archs: the hardware snnergy ships with, and the prices it ships with.
//!
//! Architectures count the actions a layer performs ([`Architecture`]); price tables say what
//! each action costs ([`EnergyModel`]). This crate holds:
//!
//! - `classical`, `neuromorphic` and `spatial`: the three hardware families of DESIGN §4,
//!   counted from first principles on each layer's real shape, with every rule a documented
//!   parameter (see [`classical`], [`neuromorphic`], [`spatial`]);
//! - `paper-v1`: the v1 closed forms of Yan et al. for the classical and spatial hardware,
//!   reproduced exactly as actions (see [`paper_v1`]);
//! - the price tables `horowitz-45nm`, `paper-v1`, `yan-22nm` and the user's own `table`
//!   (see [`tables`]).

#![warn(missing_docs)]

pub mod classical;
mod common;
pub mod neuromorphic;
pub mod paper_v1;
pub mod spatial;
pub mod tables;

use serde::{Deserialize, Serialize};
use snnergy_core::registry::Spec;
use snnergy_core::{Architecture, ConfigError, EnergyModel, Registry, RegistryError};

pub use classical::{Classical, ClassicalConfig};
pub use common::{DirectInput, LoopOrder};
pub use neuromorphic::{Neuromorphic, NeuromorphicConfig};
pub use paper_v1::{PaperV1, PaperV1Config, PaperVariant};
pub use spatial::{PeMemory, Spatial, SpatialConfig};
pub use tables::PriceTable;

/// Configuration of a component without parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.register::<dyn Architecture, ClassicalConfig, _>(
        Spec {
            name: "classical",
            summary: "DRAM → on-chip buffer (weight and activation banks) → PE array; weight residency and loop order computed per layer",
            params: classical::PARAMS,
        },
        |c| {
            Classical::new(c).map(|a| Box::new(a) as Box<dyn Architecture>)
        },
    )?;
    r.register::<dyn Architecture, NeuromorphicConfig, _>(
        Spec {
            name: "neuromorphic",
            summary: "cores with local synapse and neuron memory on a 2-D mesh; spikes routed as (multicast) packets over the mapped layers",
            params: neuromorphic::PARAMS,
        },
        |c| {
            Neuromorphic::new(c).map(|a| Box::new(a) as Box<dyn Architecture>)
        },
    )?;
    r.register::<dyn Architecture, SpatialConfig, _>(
        Spec {
            name: "spatial",
            summary: "every layer on its own PEs, weights stationary, activations and spikes streamed over short links",
            params: spatial::PARAMS,
        },
        |c| {
            Spatial::new(c).map(|a| Box::new(a) as Box<dyn Architecture>)
        },
    )?;
    r.register::<dyn Architecture, PaperV1Config, _>(
        Spec {
            name: "paper-v1",
            summary: "the v1 closed forms of Yan et al. (classical or spatial), exactly, as actions",
            params: paper_v1::PARAMS,
        },
        |c| {
            PaperV1::new(c)
                .map(|a| Box::new(a) as Box<dyn Architecture>)
                .map_err(ConfigError::new)
        },
    )?;
    for (name, summary) in [
        (
            "horowitz-45nm",
            "Horowitz ISSCC 2014, 45 nm: add/mul by width, SRAM by capacity (8 KB–1 MB), DRAM",
        ),
        (
            "paper-v1",
            "constants of the v1 paper: ADD 0.03, MUL 0.2, SRAM 20, DRAM 2000 pJ per access, and its two published aggregates",
        ),
        (
            "yan-22nm",
            "22 nm constants of the paper's v2+ (reported by third parties, unverified): ACC/CMP 0.05448 pJ, DRAM 1.3 nJ/64 b, NoC 0.25 (dense) / 3.0 (event) pJ/bit/hop",
        ),
    ] {
        r.register::<dyn EnergyModel, NoParams, _>(
            Spec {
                name,
                summary,
                params: &[],
            },
            move |_| {
                Ok(Box::new(
                    tables::builtin(name).expect("every registered table is built in"),
                ))
            },
        )?;
    }
    r.register::<dyn EnergyModel, PriceTable, _>(
        Spec {
            name: "table",
            summary: "your own prices: add/mul/compare by width, SRAM by capacity, DRAM, registers, NoC, links",
            params: &[
                ("name", "name of the table in reports"),
                ("node", "technology node, e.g. \"28 nm\""),
                ("citation", "where the numbers come from"),
                ("third_party", "true if the numbers are reported by others and unverified"),
                ("add", "integer addition: [{ bits, pj }] (bits = 0: any width)"),
                ("mul", "integer multiplication: [{ bits, pj }]"),
                ("compare", "comparison: [{ bits, pj }]"),
                ("add_exponent", "width scaling exponent of add and compare (default 1)"),
                ("mul_exponent", "width scaling exponent of mul (default 2)"),
                ("register", "register-file access: { bits, pj, scaling = \"per-bit\" | \"per-access\" }"),
                ("sram", "SRAM access by capacity: [{ capacity_kib, bits, pj }] (capacity_kib = 0: any capacity)"),
                ("sram_scaling", "\"per-bit\" (default) or \"per-access\""),
                ("dram", "DRAM access: { bits, pj, scaling }"),
                ("noc_dense", "dense NoC: { pj_per_bit } per hop"),
                ("noc_event", "event NoC: { pj_per_bit } per hop"),
                ("link", "PE-to-PE link: { bits, pj, scaling }"),
                ("composite", "published aggregates by name: { \"name\" = pj }"),
                ("notes", "notes on derived entries, keyed like the entries"),
            ],
        },
        |t| {
            t.validate()?;
            Ok(Box::new(t))
        },
    )?;
    // Each architecture's example names the table it is meant to be priced with, and the
    // spatial one the memories that table can price (the paper's reading: weights wired into
    // the PEs, membranes in SRAM), so every example runs as printed.
    let examples: [(&str, &[(&str, &str)]); 4] = [
        ("paper-v1", &[("energy", "paper-v1")]),
        ("classical", &[("energy", "horowitz-45nm")]),
        ("neuromorphic", &[("energy", "yan-22nm")]),
        (
            "spatial",
            &[
                ("energy", "paper-v1"),
                ("weight_memory", "wired"),
                ("state_memory", "sram"),
            ],
        ),
    ];
    for (name, overrides) in examples {
        let table: toml::Table = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
            .collect();
        r.set_example::<dyn Architecture>(name, table);
    }
    Ok(())
}

snnergy_core::register_builtins!(register);
