//! Errors. Each names what is wrong and where: file and line for configuration, layer for
//! workloads and architectures, the action for prices.

use std::fmt;
use std::path::PathBuf;

/// A problem in a configuration file or table, with as much location as is known.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// File the configuration came from.
    pub file: Option<PathBuf>,
    /// 1-based line.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `architecture[1].buffer_kib`.
    pub key: Option<String>,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl ConfigError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            key: None,
            message: message.into(),
        }
    }

    /// Sets the key if none is set yet.
    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        if self.key.is_none() {
            self.key = Some(key.into());
        }
        self
    }

    /// Sets the line if none is set yet.
    pub fn at_line(mut self, line: Option<usize>) -> Self {
        if self.line.is_none() {
            self.line = line;
        }
        self
    }

    /// Sets the file if none is set yet.
    pub fn in_file(mut self, file: Option<PathBuf>) -> Self {
        if self.file.is_none() {
            self.file = file;
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A workload that cannot produce a valid network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    /// A layer is malformed.
    #[error("network `{network}`, layer `{layer}`: {message}")]
    Layer {
        /// Network name.
        network: String,
        /// Layer name.
        layer: String,
        /// What is wrong.
        message: String,
    },
    /// The network has no layers.
    #[error("network `{network}` has no layers")]
    Empty {
        /// Network name.
        network: String,
    },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// An architecture that cannot evaluate a layer (a layer that fits nowhere, a bad parameter).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArchError {
    /// A problem with one layer.
    #[error("architecture `{architecture}`, layer `{layer}`: {message}")]
    Layer {
        /// Architecture name.
        architecture: String,
        /// Layer name.
        layer: String,
        /// What is wrong.
        message: String,
    },
    /// A problem with the architecture's parameters.
    #[error("architecture `{architecture}`: {message}")]
    Config {
        /// Architecture name.
        architecture: String,
        /// What is wrong.
        message: String,
    },
}

/// An action an energy model cannot price.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("energy model `{model}` cannot price `{action}`: {reason}")]
pub struct PriceError {
    /// Model name.
    pub model: String,
    /// The action, as displayed.
    pub action: String,
    /// Why, and what would make it priceable.
    pub reason: String,
}

/// A problem producing spike activity.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActivityError {
    /// A profile file is unreadable or malformed.
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    File {
        /// The file.
        file: PathBuf,
        /// 1-based line, where known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A rate outside its range or a layer mismatch.
    #[error("{0}")]
    Invalid(String),
}

/// A problem with the registry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// Two components claim the same name.
    #[error(
        "{kind} `{name}` is already registered (by {existing}); {new} cannot register it again"
    )]
    Duplicate {
        /// Component kind.
        kind: String,
        /// The contested name.
        name: String,
        /// Who registered it first.
        existing: String,
        /// Who tried again.
        new: String,
    },
}

/// Every error snnergy's library reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Workload.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// Architecture.
    #[error(transparent)]
    Arch(#[from] ArchError),
    /// Prices.
    #[error(transparent)]
    Price(#[from] PriceError),
    /// Activity.
    #[error(transparent)]
    Activity(#[from] ActivityError),
    /// Registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A result that must not reach a report (NaN, negative or zero energy).
    #[error("{0}")]
    InvalidResult(String),
    /// Anything else, from extensions.
    #[error("{0}")]
    Other(String),
}
