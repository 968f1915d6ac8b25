//! Text for a terminal or a pipe: paragraphs wrapped to a width, tables that fit it (long texts
//! moved into numbered notes, constant columns folded into the caption, repeated values
//! blanked), and numbers with the digits a reader needs.
//!
//! Nothing here knows whether it writes to a terminal: the caller says how wide the text may
//! be and whether it may be coloured ([`Screen`]), so the same report renders to the same
//! bytes at the same width wherever it goes.

use comfy_table::{
    Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width, presets,
};
use unicode_width::UnicodeWidthStr;

/// Where text goes: how many columns it may take and whether it may carry colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    /// Columns every line fits in.
    pub width: usize,
    /// Whether emphasis and verdict words may be coloured (ANSI escapes).
    pub colour: bool,
}

/// What a coloured word means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// The SNN wins.
    Good,
    /// The SNN loses.
    Bad,
    /// The comparison decides nothing (no twin), or a warning.
    Caution,
}

impl Screen {
    /// Narrower than this, tables of a report cannot fit whatever they drop; widths below it
    /// are raised to it.
    pub const MIN_WIDTH: usize = 40;

    /// A screen of `width` columns (at least [`Self::MIN_WIDTH`]).
    pub fn new(width: usize, colour: bool) -> Self {
        Self {
            width: width.max(Self::MIN_WIDTH),
            colour,
        }
    }

    /// `text` in bold where colour is allowed.
    pub fn bold(&self, text: &str) -> String {
        self.ansi(text, "1")
    }

    /// `text` coloured by what it means, where colour is allowed.
    pub fn tone(&self, text: &str, tone: Tone) -> String {
        let code = match tone {
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Caution => "33",
        };
        self.ansi(text, code)
    }

    fn ansi(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A paragraph wrapped to the width, each line ending in a line break.
    pub fn paragraph(&self, text: &str) -> String {
        self.hanging(text, "", "")
    }

    /// A list item: `- ` and the text, continuation lines indented under it.
    pub fn bullet(&self, text: &str) -> String {
        self.hanging(text, "- ", "  ")
    }

    /// `text` wrapped with `first` before its first line and `rest` before the others.
    pub fn hanging(&self, text: &str, first: &str, rest: &str) -> String {
        let mut out = String::new();
        for line in wrap(text, self.width, first, rest) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// Columns `s` takes on a terminal: combining marks take none, wide characters two, colour
/// escapes none.
pub fn width(s: &str) -> usize {
    if !s.contains('\x1b') {
        return s.width();
    }
    let mut plain = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-letter.
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.width()
}

/// Whether a line may not break between `prev` and `next`: a unit or a percent sign stays with
/// its number, the digit groups of one number stay together (`3 720 µJ`), and so does an
/// equation (`ρ = 0.1`).
fn glued(prev: &str, next: &str) -> bool {
    if prev == "=" || next == "=" {
        return true;
    }
    let next_plain = next.trim_matches(|c: char| !c.is_alphanumeric() && c != '%');
    let unit = ["%", "µJ", "pJ", "nJ", "mJ", "µs", "ms", "pp", "×"];
    if unit.contains(&next_plain) || next.starts_with('%') {
        return prev.chars().last().is_some_and(|c| c.is_ascii_digit());
    }
    let prev_digits = prev.trim_start_matches(['+', '−', '-', '(']);
    let group = next.len() >= 3 && next.as_bytes()[..3].iter().all(u8::is_ascii_digit);
    let group_ends = next.as_bytes().get(3).is_none_or(|b| !b.is_ascii_digit());
    !prev_digits.is_empty()
        && prev_digits.len() <= 3
        && prev_digits.bytes().all(|b| b.is_ascii_digit())
        && group
        && group_ends
}

/// `text` in lines of at most `width` columns, `first` before the first and `rest` before the
/// others; breaks at spaces (never inside a number or between a number and its unit), and
/// inside a word only when it alone is wider than the line. Line breaks in `text` are kept.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, para) in text.split('\n').enumerate() {
        let lead = if i == 0 { first } else { rest };
        fill(&atoms(para, false), width, lead, rest, &mut lines);
    }
    lines
}

/// A table cell's text in lines of at most `width` columns: like [`wrap`], and also after a
/// hyphen or a slash (`vgg16-` / `cifar10`).
fn wrap_cell(text: &str, width: usize) -> String {
    if self::width(text) <= width {
        return text.to_string();
    }
    let mut lines = Vec::new();
    fill(&atoms(text, true), width, "", "", &mut lines);
    lines.join("\n")
}

/// The pieces a line may break between, each with whether a space precedes it: words, with
/// the words glued to the one before them (see [`glued`]), and with `hyphens`, the parts of a
/// word after each `-` or `/`.
fn atoms(text: &str, hyphens: bool) -> Vec<(String, bool)> {
    let mut units: Vec<String> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        match units.last_mut() {
            Some(last) if glued(last.rsplit(' ').next().unwrap_or(""), word) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => units.push(word.to_string()),
        }
    }
    let mut out = Vec::new();
    for unit in units {
        if !hyphens || unit.contains(' ') {
            out.push((unit, true));
            continue;
        }
        let mut spaced = true;
        let mut piece = String::new();
        for c in unit.chars() {
            piece.push(c);
            if matches!(c, '-' | '/') {
                out.push((std::mem::take(&mut piece), spaced));
                spaced = false;
            }
        }
        if !piece.is_empty() {
            out.push((piece, spaced));
        }
    }
    out
}

/// The longest piece of `text` a line cannot break inside (see [`atoms`]).
fn longest_atom(text: &str, hyphens: bool) -> usize {
    atoms(text, hyphens)
        .iter()
        .map(|(a, _)| width(a))
        .max()
        .unwrap_or(0)
}

/// Greedy filling of lines of at most `max` columns with `atoms`.
fn fill(atoms: &[(String, bool)], max: usize, first: &str, rest: &str, lines: &mut Vec<String>) {
    let mut line = first.to_string();
    let mut empty = true;
    for (atom, spaced) in atoms {
        let sep = usize::from(*spaced && !empty);
        if !empty && width(&line) + sep + width(atom) > max {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if empty && width(&line) + width(atom) > max {
            // A piece wider than a line: cut it where it must be cut.
            for c in atom.chars() {
                if !empty && width(&line) + width_of_char(c) > max {
                    lines.push(std::mem::replace(&mut line, rest.to_string()));
                }
                line.push(c);
                empty = false;
            }
            continue;
        }
        if !empty && *spaced {
            line.push(' ');
        }
        line.push_str(atom);
        empty = false;
    }
    lines.push(line.trim_end().to_string());
}

fn width_of_char(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// `v` with four significant digits, whole numbers never rounded, thousands grouped by a
/// space: 3720.0231 reads `3 720`, 103.29 `103.3`, 0.62463 `0.6246`; below 0.001, in
/// scientific notation (`1.25e-5`).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a < 1e-3 {
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return format!("{m}e{e}");
    }
    let s = if a >= 1000.0 {
        format!("{v:.0}")
    } else {
        sig(v)
    };
    group(&s)
}

/// The integer digits of a formatted number grouped in threes by spaces.
fn group(s: &str) -> String {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => ("−", b),
        None => ("", s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if int.len() < 4 {
        return format!("{sign}{body}");
    }
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// Energy in pJ as µJ with [`num`]'s digits, without the unit.
pub fn uj(pj: f64) -> String {
    num(pj * 1e-6)
}

/// A ratio with three significant digits (`1.13`, `17.4`, `0.987`), more where three would
/// read as exactly 1 (`1.003`, `0.9996`).
pub fn ratio(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let lead = v.abs().log10().floor() as i32;
    let mut s = String::new();
    for sig in 3..=6 {
        let digits = (sig - 1 - lead).max(0) as usize;
        s = format!("{v:.digits$}");
        if v == 1.0 || s.parse::<f64>() != Ok(1.0) {
            break;
        }
    }
    s
}

/// A share of a whole as a percentage: `97 %`, `0.8 %`, `< 0.1 %`, `0`.
pub fn share(part: f64, whole: f64) -> String {
    if whole == 0.0 || part == 0.0 {
        return "0".into();
    }
    let p = 100.0 * part / whole;
    if p.abs() >= 9.95 {
        format!("{p:.0} %")
    } else if p.abs() >= 0.05 {
        format!("{p:.1} %")
    } else {
        "< 0.1 %".into()
    }
}

/// A column of a [`TextTable`]: its header and how its cells are treated.
#[derive(Clone, Debug)]
pub struct Col {
    name: String,
    right: bool,
    breaks: bool,
    fold: Option<String>,
    runs: bool,
    long: bool,
}

impl Col {
    /// A left-aligned text column.
    pub fn text(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            right: false,
            breaks: true,
            fold: None,
            runs: false,
            long: false,
        }
    }

    /// A right-aligned column of numbers.
    pub fn num(name: impl Into<String>) -> Self {
        Self {
            right: true,
            breaks: false,
            ..Self::text(name)
        }
    }

    /// Cells may break between words, as text does, though aligned right: for columns that
    /// hold a number or a sentence about numbers (a break-even or its intervals).
    pub fn breaking(mut self) -> Self {
        self.breaks = true;
        self
    }

    /// When every row holds the same value, the column is left out and the value said once
    /// in the caption, after `prefix` (`"T = "` gives `T = 6`).
    pub fn fold(mut self, prefix: impl Into<String>) -> Self {
        self.fold = Some(prefix.into());
        self
    }

    /// A value equal to the one in the row above is left blank.
    pub fn runs(mut self) -> Self {
        self.runs = true;
        self
    }

    /// Texts longer than [`LONG`] are moved under the table as numbered notes, the cell
    /// keeping the note's number; equal texts share a note.
    pub fn long(mut self) -> Self {
        self.long = true;
        self
    }
}

/// Texts longer than this many columns leave a [`Col::long`] cell for a note.
pub const LONG: usize = 16;

/// A table for a terminal: a caption, columns, rows and notes, rendered to fit a width.
#[derive(Clone, Debug)]
pub struct TextTable {
    caption: String,
    cols: Vec<Col>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl TextTable {
    /// An empty table under `caption`.
    pub fn new(caption: impl Into<String>, cols: Vec<Col>) -> Self {
        Self {
            caption: caption.into(),
            cols,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row, one cell per column (missing cells are empty).
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.cols.len(), String::new());
        self.rows.push(cells);
    }

    /// Adds a line under the table (after the numbered notes).
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The caption, the table and its notes, every line at most `screen.width` wide, ending
    /// in a blank line.
    pub fn render(&self, screen: &Screen) -> String {
        let mut rows = self.rows.clone();
        let mut cols: Vec<&Col> = self.cols.iter().collect();
        let mut folded: Vec<String> = Vec::new();
        // Constant columns go into the caption, keeping at least one column.
        let mut i = 0;
        while i < cols.len() {
            let constant = !rows.is_empty() && rows.iter().all(|r| r[i] == rows[0][i]);
            if let Some(prefix) = cols[i].fold.as_ref().filter(|_| constant && cols.len() > 1) {
                if !rows[0][i].is_empty() {
                    folded.push(format!("{prefix}{}", rows[0][i]));
                }
                cols.remove(i);
                for r in &mut rows {
                    r.remove(i);
                }
            } else {
                i += 1;
            }
        }
        let mut notes: Vec<String> = Vec::new();
        for (c, col) in cols.iter().enumerate() {
            if col.long {
                for r in &mut rows {
                    if width(&r[c]) > LONG {
                        let text = std::mem::take(&mut r[c]);
                        let n = match notes.iter().position(|t| *t == text) {
                            Some(k) => k + 1,
                            None => {
                                notes.push(text);
                                notes.len()
                            }
                        };
                        r[c] = format!("[{n}]");
                    }
                }
            }
        }
        for (c, col) in cols.iter().enumerate() {
            if col.runs {
                for k in (1..rows.len()).rev() {
                    if rows[k][c] == rows[k - 1][c] && (c == 0 || rows[k][c - 1].is_empty()) {
                        rows[k][c].clear();
                    }
                }
            }
        }
        let mut out = String::new();
        let mut caption = self.caption.clone();
        if !folded.is_empty() {
            caption = format!("{caption} ({})", folded.join(", "));
        }
        out.push_str(&screen.hanging(&screen.bold(&caption), "", "  "));
        out.push_str(&self.grid(&cols, &rows, screen.width));
        for (k, text) in notes.iter().enumerate() {
            let mark = format!("[{}] ", k + 1);
            let pad = " ".repeat(width(&mark));
            out.push_str(&screen.hanging(text, &mark, &pad));
        }
        for text in &self.notes {
            out.push_str(&screen.paragraph(text));
        }
        out.push('\n');
        out
    }

    /// The grid itself, fitted to `width` by wrapping cells where they must wrap.
    fn grid(&self, cols: &[&Col], rows: &[Vec<String>], width: usize) -> String {
        let widths = fit(cols, rows, width);
        let mut t = Table::new();
        t.load_style(presets::UTF8_BORDERS_ONLY);
        t.set_content_arrangement(ContentArrangement::Disabled);
        t.set_header(
            cols.iter()
                .zip(&widths)
                .map(|(c, w)| Cell::new(wrap_cell(&c.name, *w))),
        );
        for r in rows {
            t.add_row(
                r.iter()
                    .zip(&widths)
                    .map(|(s, w)| Cell::new(wrap_cell(s, *w))),
            );
        }
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            if let Some(col) = t.column_mut(i) {
                if c.right {
                    col.set_cell_alignment(CellAlignment::Right);
                }
                // The width counts the padding (one space each side).
                let w = (w + 2).min(u16::MAX as usize) as u16;
                col.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
            }
        }
        let mut out = String::new();
        for line in t.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Column widths (content only) that fit `width` with the grid's borders and padding (three
/// columns per column, one more for the closing border): every cell on one line and headers
/// broken between words where that fits; else text broken between words (and after hyphens),
/// the columns with most room to give first; else words cut, text before numbers, the widest
/// first.
fn fit(cols: &[&Col], rows: &[Vec<String>], width: usize) -> Vec<usize> {
    let avail = width.saturating_sub(3 * cols.len() + 1).max(cols.len());
    // Per column, the widths it may shrink to, stage by stage: headers on one line, headers
    // broken between words, text broken between words and after hyphens.
    let mut w: Vec<usize> = Vec::with_capacity(cols.len());
    let mut stages: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
    for (i, c) in cols.iter().enumerate() {
        let widest = rows.iter().map(|r| self::width(&r[i])).max().unwrap_or(0);
        // Numbers never break.
        let cells = if !c.breaks {
            widest
        } else {
            rows.iter()
                .map(|r| longest_atom(&r[i], true))
                .max()
                .unwrap_or(0)
        };
        w.push(widest.max(self::width(&c.name)).max(1));
        stages[0].push(widest.max(longest_atom(&c.name, false)).max(1));
        stages[1].push(cells.max(longest_atom(&c.name, true)).max(1));
    }
    // A header shrinks to its next stage in one step (a width between two stages wraps as
    // the narrower one does); text broken between words gives only what is still missing, so
    // a long sentence keeps the room the others leave. The one giving most goes first.
    for (k, stage) in stages.iter().enumerate() {
        loop {
            let total = w.iter().sum::<usize>();
            if total <= avail {
                break;
            }
            let Some(i) = (0..w.len())
                .filter(|&i| w[i] > stage[i])
                .max_by_key(|&i| (w[i] - stage[i], usize::MAX - i))
            else {
                break;
            };
            w[i] = if k == 1 {
                stage[i].max(w[i].saturating_sub(total - avail))
            } else {
                stage[i]
            };
        }
    }
    // Still too wide: words are cut, text before numbers, the widest first.
    while w.iter().sum::<usize>() > avail {
        let Some(i) = (0..w.len())
            .filter(|&i| w[i] > 1)
            .max_by_key(|&i| (cols[i].breaks, w[i], usize::MAX - i))
        else {
            break;
        };
        w[i] -= 1;
    }
    w
}

/// `v` with four significant digits and no binary noise: 0.05000000000000001 reads 0.05,
/// 313.20166 reads 313.2.
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A fraction as a percentage with four significant digits (`5 %`, `7.331 %`).
pub fn pct(v: f64) -> String {
    format!("{} %", sig(100.0 * v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits_and_group_thousands() {
        assert_eq!(num(3720.0231), "3 720");
        assert_eq!(num(123456.7), "123 457");
        assert_eq!(num(103.2992), "103.3");
        assert_eq!(num(0.62463), "0.6246");
        assert_eq!(num(-2029.4), "−2 029");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.25e-5), "1.25e-5");
        assert_eq!(ratio(1.12951), "1.13");
        assert_eq!(ratio(17.423), "17.4");
        assert_eq!(ratio(0.98712), "0.987");
        assert_eq!(ratio(1.0031), "1.003");
        assert_eq!(ratio(0.99962), "0.9996");
        assert_eq!(ratio(1.0), "1.00");
        assert_eq!(share(0.97, 1.0), "97 %");
        assert_eq!(share(0.008, 1.0), "0.8 %");
        assert_eq!(share(0.0001, 1.0), "< 0.1 %");
    }

    #[test]
    fn wrapping_fits_the_width_and_keeps_numbers_with_their_units() {
        let text = "the SNN loses (1.13× the energy of its twin): +348 µJ of the +3 720 µJ difference, at 5 % spikes";
        for w in 10..60 {
            for line in wrap(text, w, "- ", "  ") {
                assert!(width(&line) <= w.max(8), "{w}: {line:?}");
            }
        }
        let lines = wrap(text, 30, "", "");
        assert!(
            lines
                .iter()
                .all(|l| !l.ends_with("3") && !l.starts_with("720"))
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with("µJ") && !l.starts_with('%'))
        );
        assert_eq!(wrap("a\nb", 10, "> ", "  "), ["> a", "  b"]);
    }

    #[test]
    fn width_ignores_colour_and_combining_marks() {
        assert_eq!(width("L̄*"), 2);
        assert_eq!(width("\x1b[31mloses\x1b[0m"), 5);
    }

    fn table() -> TextTable {
        let mut t = TextTable::new(
            "Energy",
            vec![
                Col::text("architecture").runs(),
                Col::text("workload").fold(""),
                Col::text("dataflow").long(),
                Col::num("µJ"),
            ],
        );
        let long = "event-driven scatter, time-batched (T×6 in PE), partial sums stationary in PE";
        t.row(vec![
            "classical".into(),
            "vgg16".into(),
            long.into(),
            num(3720.02),
        ]);
        t.row(vec![
            "classical".into(),
            "vgg16".into(),
            "dense".into(),
            num(12.5),
        ]);
        t.row(vec![
            "spatial".into(),
            "vgg16".into(),
            long.into(),
            num(0.5),
        ]);
        t
    }

    #[test]
    fn a_table_folds_constant_columns_notes_long_texts_and_blanks_repeats() {
        let s = table().render(&Screen::new(80, false));
        assert!(s.starts_with("Energy (vgg16)\n"), "{s}");
        assert_eq!(s.matches("[1]").count(), 3, "{s}");
        assert!(!s.contains("[2]"), "{s}");
        assert_eq!(s.matches("classical").count(), 1, "{s}");
        assert!(s.contains("3 720"), "{s}");
    }

    #[test]
    fn a_table_fits_every_width_from_the_minimum_up() {
        for w in Screen::MIN_WIDTH..140 {
            let s = table().render(&Screen::new(w, false));
            for line in s.lines() {
                assert!(width(line) <= w, "{w}: {line:?}\n{s}");
            }
        }
    }

    #[test]
    fn a_sentence_in_a_number_column_wraps_before_a_text_column_is_cut() {
        // A break-even column holding its winning intervals, beside a short name column: the
        // sentence wraps between words and the name keeps its width.
        let mut t = TextTable::new(
            "break-even",
            vec![
                Col::num("T"),
                Col::text("baseline"),
                Col::num("classical").breaking(),
            ],
        );
        for b in ["qnn-1bit", "qnn-2bit"] {
            t.row(vec![
                "1".into(),
                b.into(),
                "wins between 0.001564 % and 6.604 % and above 53.74 %".into(),
            ]);
        }
        for w in Screen::MIN_WIDTH..100 {
            let s = t.render(&Screen::new(w, false));
            assert!(s.contains("qnn-1bit") && s.contains("qnn-2bit"), "{s}");
            for line in s.lines() {
                assert!(width(line) <= w, "{line:?}\n{s}");
            }
        }
    }
}
