//! snnergy-nir: NIR graphs (the Neuromorphic Intermediate Representation that snnTorch,
//! SpikingJelly, Norse, Sinabs, Lava, Rockpool and Spyx exchange networks in) turned into what
//! snnergy runs, and back.
//!
//! - [`graph`]: NIR files (HDF5, as the `nir` package writes them) read and written in pure
//!   Rust with `hdf5-pure`, so neither libhdf5 nor Python is needed; sizes are checked before
//!   anything is allocated.
//! - [`import`]: a graph becomes a `custom` workload (layer names = node names), engine
//!   weights under those names, and each layer's own neuron (IF, LIF, CubaLIF, or the
//!   readout's LI or I) with its threshold, reset, decay and input gain. Nothing is folded
//!   into the weights; what has no counterpart (recurrence, delays, stateless thresholds,
//!   parameters that differ between the neurons of a layer, non-zero leak or reset
//!   potentials) is an error naming the node and the key.
//! - [`spelling`]: how the graph spelled the network (names, types, shapes, stored types), kept
//!   beside the weights so that an export writes an imported network back as it came.
//! - [`export`]: a network with trained weights becomes a graph other tools load.
//!
//! Time: NIR neurons are continuous-time (τ dv/dt = v_leak − v + R·I). The engine steps them
//! with forward Euler at a time step `dt` the graph does not record: v ← (1 − dt/τ)·v +
//! (dt/τ)·R·I. `dt` defaults to 1e-4 s, what snnTorch exports with (its β = 1 − dt/τ, R = τ/dt).
//! IF and I nodes add R·I per step, as snnTorch, Norse and Sinabs export them.

#![warn(missing_docs)]

use std::path::PathBuf;

pub mod export;
pub mod graph;
pub mod import;
pub mod spelling;

pub use export::{ExportOptions, Exported, canonical, export};
pub use graph::{Dtype, Graph, Node, Value};
pub use import::{EngineData, ImportOptions, Imported, Readout, import, load_model};
pub use spelling::Spelling;

/// The step NIR neurons are discretized with unless told otherwise (snnTorch's export step).
pub const DEFAULT_DT: f64 = 1e-4;

/// Why a graph cannot be imported or exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NirError {
    /// A node snnergy cannot represent.
    #[error("node `{node}` ({kind}): {message}")]
    Node {
        /// Node name.
        node: String,
        /// Its NIR type.
        kind: String,
        /// What is wrong.
        message: String,
    },
    /// A layer of a network that NIR cannot express.
    #[error("layer `{layer}`: {message}")]
    Layer {
        /// Layer name.
        layer: String,
        /// What is wrong.
        message: String,
    },
    /// The file.
    #[error("{}: {message}", file.display())]
    File {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Anything else about the graph as a whole.
    #[error("{0}")]
    Graph(String),
}

impl NirError {
    pub(crate) fn node(node: &str, kind: &str, message: impl Into<String>) -> Self {
        NirError::Node {
            node: node.to_string(),
            kind: kind.to_string(),
            message: message.into(),
        }
    }
}

/// The node types [`import`] understands.
pub const SUPPORTED: &[&str] = &[
    "Input",
    "Output",
    "Conv2d",
    "Conv1d (kernel 1)",
    "Affine",
    "Linear",
    "IF",
    "LIF",
    "CubaLIF",
    "LI",
    "I",
    "Scale (of ones)",
    "SumPool2d",
    "AvgPool2d",
    "Flatten",
];
