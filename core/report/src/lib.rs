//! snnergy-report: what a person or a script reads of a [`Report`](snnergy_core::Report).
//!
//! - [`render`]: JSON, CSV tables and the Markdown report, with the verdicts;
//! - [`words`]: the words they share: what a break-even row says, the verdict on a comparison;
//! - [`terminal`]: what a command prints, fitted to a width ([`text`]: wrapping, tables that
//!   fit, numbers with sensible digits);
//! - [`plot`]: the SVG figures (energy against spike rate, break-even against T, breakdowns,
//!   tornados, the training trade-off).
//!
//! Rendering reads the report's data model only; it knows nothing of how the analysis got
//! its numbers. Plotting lives here so the analytic crates stay free of plotters.

#![warn(missing_docs)]

pub mod plot;
pub mod render;
pub mod terminal;
pub mod text;
pub mod words;

use std::path::PathBuf;

pub use plot::{Figure, figures, write_figures};
pub use render::{Render, report_files, stage_report_files};
pub use text::{pct, sig};
pub use words::{BreakEvenWords, VerdictWords, breakeven_words, verdict_words};

/// File names of a report folder that are always written: checked before an analysis starts,
/// so a folder whose files cannot be replaced fails at once.
pub const REPORT_FILES: [&str; 5] = [
    "report.json",
    "comparisons.csv",
    "layers.csv",
    "breakeven.csv",
    "report.md",
];

/// Writes the report's files, its figures and `extra` files (name, contents) into `dir` as
/// one set: the folder holds either the previous report or this whole one, never a mix,
/// whatever happens meanwhile. Returns the paths written.
pub fn write_report(
    report: &snnergy_core::Report,
    dir: &std::path::Path,
    extra: &[(&str, Vec<u8>)],
) -> Result<Vec<PathBuf>, ReportError> {
    let figures = figures(report)?;
    let captions: Vec<(String, String)> = figures
        .iter()
        .map(|f| (f.caption.clone(), f.file.clone()))
        .collect();
    let mut out = snnergy_files::OutputDir::create(dir)?;
    render::stage_report_files(report, &captions, &mut out)?;
    for f in &figures {
        out.write(&f.file, f.svg.as_bytes())?;
    }
    for (name, bytes) in extra {
        out.write(name, bytes)?;
    }
    render::check_output(report, &out)?;
    Ok(out.commit()?)
}

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
    /// An output that may not be written, or failed to.
    #[error(transparent)]
    File(#[from] snnergy_files::FileError),
    /// Drawing a figure.
    #[error("drawing figure `{figure}`: {message}")]
    Figure {
        /// The figure.
        figure: String,
        /// What plotters said.
        message: String,
    },
}
