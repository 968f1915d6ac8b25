//! The integration tests of `archs`, one binary: each module is one area.

mod conformance;
mod dataflows;
mod hardware;
mod mapped;
mod neurons;
mod products;
mod search;
mod silicon;
