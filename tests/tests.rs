//! Integration tests of snnergy used as a library, the way a user's program or pipeline does.
//! One test binary with a module per topic keeps link time down.

mod bad_input;
mod embedding;
mod examples;
mod figures;
mod honest;
mod invariants;
mod paper_v1;
mod pipelines;
mod plugins;
mod profiles;
mod properties;
mod util;
