//! snnergy-plugin-host: hardware models loaded at run time from shared libraries.
//!
//! A plugin is a `cdylib` built with `snnergy-plugin-sdk`. It exports one C function whose
//! name carries the ABI major version ([`abi::ENTRY_NAME`]) and returns a table of C functions
//! ([`abi::PluginV1`]); everything else crosses as JSON ([`wire`]). The components it
//! describes are registered in an ordinary [`Registry`](snnergy_core::Registry) next to the built-ins, under the names
//! they advertise, with factories that wrap the table: [`ForeignArchitecture`] and
//! [`ForeignEnergyModel`] implement the usual traits, so pipelines, sweeps, break-even,
//! reports and the conformance suite treat them like any other component.
//!
//! What the loader guarantees:
//! - a file that is not a library, a library without the entry symbol, a table of another
//!   ABI major or smaller than ABI 1.0's, a malformed description, a name already taken: each
//!   is a [`PluginError`] naming the library and the problem, before anything is registered;
//! - a panic inside the plugin, invalid JSON, a negative or non-finite count or price: each is
//!   an error naming the library, never an abort and never a number from elsewhere;
//! - a library is loaded once per canonical path and never unloaded (pointers into it stay
//!   valid for the process; unloading Rust libraries is unsound in general);
//! - the plugin's `tracing` events reach the host's subscriber through a callback (a plugin
//!   links its own copy of `tracing`, whose global dispatcher the host cannot see).
//!
//! Loading a library runs its initialisation code: plugins are trusted code, like any other
//! program the user runs.

#![warn(missing_docs)]

pub mod abi;
mod foreign;
mod library;
mod loader;
mod registration;
mod validate;
pub mod wire;

pub use foreign::{ForeignArchitecture, ForeignEnergyModel};
pub use library::{Library, PluginError, PluginErrorKind, json_to_toml_table};
pub use loader::{SEARCH_PATH_VAR, open, open_linked, search_path};
pub use registration::PluginRegistry;
