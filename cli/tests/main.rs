//! The integration tests of `cli`, one binary: each module is one area.

mod budget;
mod cli;
mod descriptions;
mod engine;
mod golden;
mod map;
mod nir;
mod outputs;
mod plugins;
mod readme;
mod reliability;
mod sizes;
mod staging;
mod terminal;
mod train;
