//! Errors: every one names what it is about (hardware level, data space, problem, key).

use thiserror::Error;

/// Everything that can go wrong describing hardware, a problem or a mapping, or searching.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MapperError {
    /// The hardware description is wrong at a level (or at the compute, level = "compute").
    #[error("hardware `{hardware}`, level `{level}`, key `{key}`: {message}")]
    Hardware {
        hardware: String,
        level: String,
        key: String,
        message: String,
    },
    /// The hardware TOML does not parse.
    #[error("hardware description: {0}")]
    Parse(String),
    /// An error of a description read from text, with the line of the key it is about.
    #[error("line {line}: {error}")]
    At {
        /// 1-based line in the description.
        line: usize,
        /// What is wrong there.
        error: Box<MapperError>,
    },
    /// The problem (layer) is wrong.
    #[error("layer `{problem}`, key `{key}`: {message}")]
    Problem {
        problem: String,
        key: String,
        message: String,
    },
    /// A mapping or constraint is not legal for this problem on this hardware.
    #[error("layer `{problem}`, level `{level}`{}, key `{key}`: {message}", data_space.as_ref().map(|d| format!(", data space `{d}`")).unwrap_or_default())]
    Mapping {
        problem: String,
        level: String,
        data_space: Option<String>,
        key: String,
        message: String,
    },
    /// A tile does not fit its level.
    #[error(
        "layer `{problem}`, level `{level}`, data space `{data_space}`, key `capacity`: the tile needs {need_bits} bits, the level has {have_bits}"
    )]
    Capacity {
        problem: String,
        level: String,
        data_space: String,
        need_bits: u128,
        have_bits: u128,
    },
    /// A price could not be given.
    #[error("price for level `{level}`, `{what}`: {message}")]
    Price {
        level: String,
        what: String,
        message: String,
    },
    /// The search found no legal mapping.
    #[error("layer `{problem}` on `{hardware}`: no legal mapping ({message})")]
    NoMapping {
        problem: String,
        hardware: String,
        message: String,
    },
}
