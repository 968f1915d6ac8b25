//! The integration tests of `cli`, one binary: each module is one area (`support` holds what
//! they share).

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
mod support;
mod terminal;
mod train;
