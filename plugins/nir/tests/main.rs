//! snnergy-nir's integration tests: graphs through files, import and export.

mod common;
mod round_trip;
mod validation;
