//! snnergy-core: the small, stable heart of snnergy.
//!
//! snnergy asks whether a spiking network really spends less energy than the quantized
//! network it replaces, on a given piece of hardware. This crate holds what every part of
//! that answer shares:
//!
//! - the data flowing one way through an analysis — [`Network`] (layers with N, F, S, W, A),
//!   [`Format`], [`LayerActivity`], [`Action`]s, priced energy and the [`Report`];
//! - the extension traits — [`Workload`], [`Architecture`], [`EnergyModel`],
//!   [`ActivitySource`] and [`Regularizer`];
//! - the [`Registry`] that maps `type = "…"` names to factories (built-ins via `inventory`,
//!   embedders at run time, shared-library plugins through the [`plugin`] loader);
//! - [`Pipeline`]s read from TOML, and the [`analysis`] that compares an SNN with its baseline
//!   and solves for the break-even spike rate.
//!
//! Architectures count actions and energy models price them (Timeloop's and Accelergy's split).
//! Keeping the two apart is what lets a user swap a 45 nm price table for a 22 nm one without
//! touching a hardware model, and lets a sensitivity study scale one price class at a time.
//!
//! The crate depends on no tensor or plotting library: the analytic path stays light.

#![warn(missing_docs)]

pub mod action;
pub mod activity;
pub mod analysis;
pub mod conformance;
pub mod energy;
pub mod error;
pub mod format;
pub mod metrics;
pub mod network;
pub mod pipeline;
pub mod plugin;
pub mod registry;
pub mod report;
pub mod sensitivity;
pub mod traits;

#[doc(hidden)]
pub use inventory;

pub use action::{
    Access, Action, ActionKind, Actions, Category, CompositeName, ComputeOp, Interconnect, Memory,
    PriceClass,
};
pub use activity::{LayerActivity, LayerRates, OperatingPoint, Profile, ProfileFile, Uniform};
pub use analysis::{AnalysisSettings, ArchSlot, Baseline, Evaluator, WorkloadSlot};
pub use energy::{Derivation, EnergyModel, Price, PriceSource, ScaledModel};
pub use error::{
    ActivityError, ArchError, ConfigError, Error, PriceError, RegistryError, WorkloadError,
};
pub use format::{Format, Neuron, QnnFormat, SnnFormat, capacity_matched_bits};
pub use network::{InputCoding, Layer, LayerKind, Network, NetworkBuilder, Shape, Source};
pub use pipeline::{Pipeline, PipelineBuilder};
pub use plugin::{PluginError, PluginErrorKind};
pub use registry::{ComponentInfo, Kind, Origin, Registry, Spec};
pub use report::Report;
pub use traits::{
    ActivityContext, ActivitySource, Architecture, Assumption, RegularizedLayer, Regularizer,
    Workload,
};

fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.register::<dyn ActivitySource, Uniform, _>(
        Spec {
            name: "uniform",
            summary: "the same spike rate at every layer, for each rate listed; baseline non-zero fraction held fixed",
            params: &[
                (
                    "spike_rates",
                    "spike rates to analyse, spikes per neuron per time step, each in [0, 1] (give this or `sparsity`)",
                ),
                (
                    "sparsity",
                    "sparsities to analyse, 1 − spike rate, each in [0, 1] (give this or `spike_rates`)",
                ),
                (
                    "nonzero",
                    "fraction ρ of the baseline's activations that are non-zero; default 0.45, the paper's optimized ANN",
                ),
            ],
        },
        |c| {
            c.checked_rates()?;
            Ok(Box::new(c))
        },
    )?;
    r.register::<dyn ActivitySource, Profile, _>(
        Spec {
            name: "profile",
            summary: "per-layer spike rates and non-zero fractions from a JSON or CSV file (e.g. exported by the engine)",
            params: &[
                (
                    "path",
                    "profile file, relative to the pipeline file; .json {\"layers\": [{\"name\", \"spike_rate\", \"nonzero\"}]} or .csv with columns layer,spike_rate[,nonzero]",
                ),
                (
                    "nonzero",
                    "non-zero fraction for layers whose entry has none (optional; without it every entry needs one)",
                ),
            ],
        },
        |c| Ok(Box::new(c)),
    )?;
    Ok(())
}

register_builtins!(register);
