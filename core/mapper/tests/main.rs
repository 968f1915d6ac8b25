//! The integration tests of `core/mapper`, one binary: each module is one area.

mod boundaries;
mod calibration;
mod common;
mod errors;
mod extensions;
mod hand_counts;
mod hardware;
mod mapper;
mod padding;
mod simulator;
mod snn;
mod timeloop;
mod uneven;
mod zigzag;
