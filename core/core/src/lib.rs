//! snnergy-core: the small, stable heart of snnergy.
//!
//! snnergy asks whether a spiking network really spends less energy than the quantized
//! network it replaces, on a given piece of hardware. This crate holds what every part of
//! that answer shares, and nothing that reads or writes files:
//!
//! - the data flowing one way through an analysis — [`Network`] (layers with N, F, S, W, A),
//!   [`Format`], [`LayerActivity`], [`Action`]s, priced energy, the `[analysis]`
//!   [`AnalysisSettings`] and the [`Report`] they end in;
//! - the extension traits — [`Workload`], [`Architecture`], [`EnergyModel`],
//!   [`ActivitySource`] and [`Regularizer`];
//! - the [`Registry`] that maps `type = "…"` names to factories (built-ins via `inventory`,
//!   embedders at run time, shared-library plugins through `snnergy-plugin-host`).
//!
//! Architectures count actions and energy models price them (Timeloop's and Accelergy's split).
//! Keeping the two apart is what lets a user swap a 45 nm price table for a 22 nm one without
//! touching a hardware model, and lets a sensitivity study scale one price class at a time.
//!
//! The analysis that runs these pieces is `snnergy-analysis`; rendering is `snnergy-report`.

#![warn(missing_docs)]

pub mod action;
pub mod activity;
pub mod energy;
pub mod error;
pub mod format;
pub mod mapping;
pub mod network;
pub mod registry;
pub mod report;
pub mod settings;
pub mod traits;

#[doc(hidden)]
pub use inventory;

pub use action::{
    Access, AccessKey, Action, ActionKind, Actions, Category, CompositeName, ComputeOp,
    Interconnect, Memory, NCATEGORIES, Place, PriceClass,
};
pub use activity::{LayerActivity, LayerRates, MeasuredInput, OperatingPoint};
pub use energy::{Derivation, EnergyModel, Price, PriceSource, ScaledModel};
pub use error::{
    ActivityError, ArchError, ConfigError, Error, PriceError, RegistryError, WorkloadError,
};
pub use format::{Format, Neuron, QnnFormat, Reset, SnnFormat, capacity_matched_bits};
pub use mapping::{LayerMapping, MapRequest, Mapped, MappingCost, Objective};
pub use network::{
    InputCoding, Layer, LayerKind, LayerNeuron, MAX_COUNT, MAX_LAYERS, Network, NetworkBuilder,
    Shape, Source,
};
pub use registry::{BuildContext, Component, ComponentInfo, Interface, Kind, Origin, Registry};
pub use report::Report;
pub use settings::{
    AnalysisSettings, Baseline, Budget, MAX_TIMESTEPS, MeanLevel, NeuronModel, SensitivitySettings,
    TwinMode,
};
pub use traits::{
    ActivityContext, ActivitySource, Architecture, Assumption, MappedArchitecture,
    RegularizedLayer, Regularizer, Workload, map_network,
};
