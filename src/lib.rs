//! snnergy: is this spiking network really more energy-efficient than the quantized network
//! it replaces, on this hardware?
//!
//! This is the facade for embedding snnergy in a program: one dependency that brings the core
//! ([`core`]: traits, data, registry), the [`analysis`] (pipelines, break-even, sensitivity),
//! the renderings of a [`report`] (Markdown, CSV, JSON, SVG figures), the [`plugin_host`]
//! that loads hardware plugins, the built-in hardware models and price tables ([`archs`]),
//! workloads ([`models`]) and training regularizers ([`regularizers`]), the SNN [`engine`]
//! that measures spike activity, a [`registry`] holding all of them, and the [`workflow`]
//! that trains a network for sparsity and gives its verdict in one call.
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
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Components of your own implement [`Architecture`](core::Architecture),
//! [`EnergyModel`](core::EnergyModel), [`Workload`](core::Workload) or
//! [`ActivitySource`](core::ActivitySource), and [`Component`](core::Component) to be built
//! from TOML pipelines ([`Registry::add`](core::Registry::add)); or they are passed straight to
//! [`Pipeline::builder`](analysis::Pipeline::builder).

pub mod workflow;

pub use snnergy_analysis as analysis;
pub use snnergy_archs as archs;
pub use snnergy_core as core;
pub use snnergy_engine as engine;
pub use snnergy_files as files;
pub use snnergy_mapper as mapper;
pub use snnergy_models as models;
pub use snnergy_plugin_host as plugin_host;
pub use snnergy_regularizers as regularizers;
pub use snnergy_report as report;

/// The names most programs need.
pub mod prelude {
    pub use snnergy_analysis::{Pipeline, Uniform};
    pub use snnergy_core::{
        ActionKind, Actions, ActivitySource, AnalysisSettings, ArchError, Architecture, Assumption,
        Baseline, BuildContext, Category, Component, ComputeOp, EnergyModel, Format, LayerActivity,
        MappedArchitecture, Memory, Network, Registry, Report, Workload,
    };
    pub use snnergy_report::Render;
}

/// A registry of every built-in component (workloads, activity sources including the engine's,
/// architectures, price tables, regularizers).
pub fn registry() -> Result<snnergy_core::Registry, snnergy_core::RegistryError> {
    // inventory's registrations live in each crate's object code; naming an item of every
    // built-in crate keeps the linker from dropping a crate nothing else refers to.
    let _keep: [*const (); 5] = [
        snnergy_archs::tables::builtin as *const (),
        snnergy_models::InputSpec::resolve as *const (),
        snnergy_regularizers::EnergyAware::new as *const (),
        snnergy_engine::link as *const (),
        snnergy_analysis::resolve as *const (),
    ];
    snnergy_core::Registry::builtin()
}
