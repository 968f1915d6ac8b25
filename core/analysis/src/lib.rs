//! snnergy-analysis: runs snnergy's question on the pieces of `snnergy-core`.
//!
//! - [`pipeline`]: TOML pipelines (and pipelines built in code), with errors that carry the
//!   file, the line and the key, and the `[plugins]` they load;
//! - [`analysis`]: the SNN against its baseline on each architecture, per layer and in total,
//!   the break-even per T, and sweeps;
//! - [`evaluator`]: one network priced in one format at an operating point, each format
//!   mapped at its best over anchors spread across the range of activity;
//! - [`breakeven`]: every interval of spike rate in which the SNN wins;
//! - [`slots`]: the workloads and architectures an analysis runs on;
//! - [`metrics`]: the operation counts and activation sparsity NeuroBench defines, next to
//!   the energy;
//! - [`sensitivity`]: the one-at-a-time ±range study of the break-even spike rate;
//! - [`sources`]: the `uniform` and `profile` activity sources (profiles are files);
//! - [`twin`]: which baseline non-zero fraction belongs to a spike rate, and the family of
//!   operating points sweeps and break-even searches walk along;
//! - [`conformance`]: the properties every architecture, built-in or plugin, must have.
//!
//! Everything here is deterministic: same inputs, same bytes out.

#![warn(missing_docs)]

pub mod analysis;
pub mod breakeven;
pub mod budget;
pub mod conformance;
pub mod evaluator;
pub mod metrics;
pub mod pipeline;
pub mod sensitivity;
pub mod slots;
pub mod sources;
pub mod twin;

pub use evaluator::{Evaluator, NetworkEnergy};
pub use pipeline::{Pipeline, PipelineBuilder};
pub use slots::{ArchSlot, WorkloadSlot};
pub use sources::{Profile, ProfileEntry, ProfileFile, Uniform, expand_timesteps, resolve};

use snnergy_core::{Registry, RegistryError};

/// The built-in activity sources: adding one is one line here.
fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add::<Uniform>()?;
    r.add::<Profile>()?;
    Ok(())
}

snnergy_core::register_builtins!(register);
