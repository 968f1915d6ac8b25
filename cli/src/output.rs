//! Where the commands' text goes: how wide it may be and whether it may be coloured, and the
//! report as the commands print it.
//!
//! On a terminal the width is the terminal's and colour is allowed (unless `NO_COLOR` is set
//! or `TERM=dumb`); anywhere else (a pipe, a file) the text is plain and `COLUMNS` wide, or
//! [`PIPE_WIDTH`] without it, so the same run prints the same bytes wherever it goes.

use std::io::IsTerminal as _;
use std::path::Path;

use snnergy::core::Report;
use snnergy::report::terminal::{View, render};
use snnergy::report::text::Screen;

/// Columns of text written to a pipe or a file when `COLUMNS` does not say.
pub(crate) const PIPE_WIDTH: usize = 100;

/// The screen standard output goes to.
pub(crate) fn stdout_screen() -> Screen {
    let out = std::io::stdout();
    screen(out.is_terminal(), terminal_width(Stream::Stdout))
}

/// The screen standard error goes to.
pub(crate) fn stderr_screen() -> Screen {
    let err = std::io::stderr();
    screen(err.is_terminal(), terminal_width(Stream::Stderr))
}

fn screen(terminal: bool, measured: Option<usize>) -> Screen {
    let env_width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w > 0);
    let width = if terminal {
        measured.or(env_width).unwrap_or(80)
    } else {
        env_width.unwrap_or(PIPE_WIDTH)
    };
    let colour = terminal
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb");
    Screen::new(width, colour)
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// The terminal's width in columns, if the stream is one that says.
#[cfg(unix)]
fn terminal_width(stream: Stream) -> Option<usize> {
    let fd = match stream {
        Stream::Stdout => libc::STDOUT_FILENO,
        Stream::Stderr => libc::STDERR_FILENO,
    };
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; on a descriptor that is
    // not a terminal it fails and writes nothing.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_width(_stream: Stream) -> Option<usize> {
    None
}

/// The report as a command prints it: the answer first, then the tables of the headline T
/// (every table with `wide`, or when no files were written), fitted to stdout; `report_dir`
/// is where its files went.
pub(crate) fn print_report(report: &Report, wide: bool, report_dir: Option<&Path>) {
    let text = render(report, &stdout_screen(), &View { wide, report_dir });
    out!("{text}");
}

/// One line on stderr (wrapped to its width) saying which files a command wrote where: the
/// text files by name, the figures counted.
pub(crate) fn say_written(what: &str, dir: &Path, written: &[std::path::PathBuf]) {
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
        .collect();
    let figures = names.iter().filter(|n| n.ends_with(".svg")).count();
    let mut listed: Vec<String> = names.into_iter().filter(|n| !n.ends_with(".svg")).collect();
    match figures {
        0 => {}
        1 => listed.push("1 figure (SVG)".into()),
        n => listed.push(format!("{n} figures (SVG)")),
    }
    let files = match listed.as_slice() {
        [init @ .., last] if !init.is_empty() => format!("{} and {last}", init.join(", ")),
        _ => listed.concat(),
    };
    let text = format!("{what} written to {}: {files}", dir.display());
    eprint!("{}", stderr_screen().paragraph(&text));
}
