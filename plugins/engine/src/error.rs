//! Engine errors. Each names what is wrong and where: the tensor, the layer, the data file.

use std::path::PathBuf;

/// Everything the engine can refuse.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A weight file is unreadable or is not safetensors.
    #[error("{}: {message}", file.display())]
    WeightsFile {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A tensor the network needs is not in the weight file.
    #[error("{}: missing tensor `{tensor}` (shape {expected:?}) for layer `{layer}`", file.display())]
    MissingTensor {
        /// The file.
        file: PathBuf,
        /// Tensor name.
        tensor: String,
        /// Layer that needs it.
        layer: String,
        /// Shape the layer expects.
        expected: Vec<usize>,
    },
    /// A tensor has the wrong shape.
    #[error("tensor `{tensor}` has shape {found:?}, but layer `{layer}` expects {expected:?}")]
    ShapeMismatch {
        /// Tensor name.
        tensor: String,
        /// Layer.
        layer: String,
        /// Shape the layer expects.
        expected: Vec<usize>,
        /// Shape found.
        found: Vec<usize>,
    },
    /// A tensor holds NaN or infinity.
    #[error("tensor `{tensor}` holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        /// Tensor name.
        tensor: String,
        /// The value.
        value: f32,
        /// Flat index.
        index: usize,
    },
    /// A data file is missing or malformed.
    #[error("{}: {message}", file.display())]
    DataFile {
        /// The file (or folder).
        file: PathBuf,
        /// What is wrong, with the format that was expected.
        message: String,
    },
    /// The network cannot run on this engine (an unsupported layer or shape).
    #[error("network `{network}`, layer `{layer}`: {message}")]
    Unsupported {
        /// Network.
        network: String,
        /// Layer.
        layer: String,
        /// Why.
        message: String,
    },
    /// Bad settings (T = 0, empty data, out-of-range values).
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Results of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
