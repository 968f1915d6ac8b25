//! snnergy: is this spiking network really more energy-efficient than the quantized network
//! it replaces, on this hardware?
//!
//! This is the facade for embedding snnergy in a program: one dependency that brings the core
//! ([`core`]), the built-in hardware models and price tables ([`archs`]), workloads
//! ([`models`]) and training regularizers ([`regularizers`]), the SNN engine that measures
//! spike activity ([`engine`]), a [`registry`] holding all of them, and the SVG figures of a
//! report ([`plot`]).
//!
//! ```no_run
//! use snnergy::prelude::*;
//!
//! let registry = snnergy::registry()?;
//! let pipeline = Pipeline::from_file("pipelines/paper-v1.toml".as_ref(), &registry)?;
//! let report = pipeline.run()?;
//! for b in &report.breakeven {
//!     println!("{} T={}: break-even spike rate {:?}", b.architecture, b.timesteps, b.spike_rate);
//! }
//! # Ok::<(), snnergy::core::Error>(())
//! ```
//!
//! Components of your own implement [`Architecture`](core::Architecture),
//! [`EnergyModel`](core::EnergyModel), [`Workload`](core::Workload) or
//! [`ActivitySource`](core::ActivitySource) and are added with
//! [`Registry::register`](core::Registry::register) (for TOML pipelines) or passed straight to
//! [`Pipeline::builder`](core::Pipeline::builder).

pub mod plot;

pub use snnergy_archs as archs;
pub use snnergy_core as core;
pub use snnergy_engine as engine;
pub use snnergy_models as models;
pub use snnergy_regularizers as regularizers;

/// The names most programs need.
pub mod prelude {
    pub use snnergy_core::{
        ActionKind, Actions, ActivitySource, AnalysisSettings, ArchError, Architecture, Assumption,
        Baseline, Category, ComputeOp, EnergyModel, Format, LayerActivity, Memory, Network,
        Pipeline, Registry, Report, Uniform, Workload,
    };
}

/// A registry of every built-in component (workloads, activity sources including the engine's,
/// architectures, price tables).
pub fn registry() -> Result<snnergy_core::Registry, snnergy_core::RegistryError> {
    // inventory's registrations live in each crate's object code; naming an item of every
    // built-in crate keeps the linker from dropping a crate nothing else refers to.
    let _keep: [*const (); 4] = [
        snnergy_archs::tables::builtin as *const (),
        snnergy_models::InputSpec::resolve as *const (),
        snnergy_regularizers::EnergyAware::new as *const (),
        snnergy_engine::link as *const (),
    ];
    snnergy_core::Registry::builtin()
}
