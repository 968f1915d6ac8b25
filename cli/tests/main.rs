//! The integration tests of `cli`, one binary: each module is one area.

mod cli;
mod engine;
mod golden;
mod map;
mod nir;
mod plugins;
mod readme;
mod reliability;
mod terminal;
mod train;
