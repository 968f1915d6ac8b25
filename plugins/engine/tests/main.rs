//! The integration tests of `plugins/engine`, one binary: each module is one area.

mod common;
mod corrupt;
mod data;
mod inputs;
mod layer_neurons;
mod neuron;
mod pipeline;
mod train;
mod weights;
