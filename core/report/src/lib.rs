//! snnergy-report: what a person or a script reads of a [`Report`](snnergy_core::Report).
//!
//! - [`render`]: JSON, CSV tables and the Markdown report, with the verdicts;
//! - [`plot`]: the SVG figures (energy against spike rate, break-even against T, breakdowns,
//!   tornados, the training trade-off).
//!
//! Rendering reads the report's data model only; it knows nothing of how the analysis got
//! its numbers. Plotting lives here so the analytic crates stay free of plotters.

#![warn(missing_docs)]

pub mod plot;
pub mod render;

use std::path::PathBuf;

pub use plot::write_figures;
pub use render::{Render, pct, sig};

/// A report or figure that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Drawing a figure.
    #[error("drawing figure `{figure}`: {message}")]
    Figure {
        /// The figure.
        figure: String,
        /// What plotters said.
        message: String,
    },
}
