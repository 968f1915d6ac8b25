//! SVG figures of a report: what a person looks at first.
//!
//! - energy against spike rate, SNN and baseline, one panel per architecture, with the
//!   break-even point marked (from the report's sweeps at the headline T);
//! - the break-even spike rate against T for every architecture;
//! - the energy of each layer stacked by category, SNN above baseline, per architecture;
//! - energy by level of the hardware, SNN and baseline side by side, per architecture;
//! - a tornado of the sensitivity study, when the report has one.
//!
//! Every figure is a self-contained SVG string; [`figures`] gives them with their captions
//! and file names, [`crate::write_report`] writes them with the report's other files.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use snnergy_core::Report;
use snnergy_core::action::Category;
use snnergy_core::report::{
    BreakEven, BreakEvenStatus, Comparison, Keyed, ResultKey, Tornado, TornadoRow, wins_phrase,
};

use crate::ReportError as Error;

const FONT: &str = "sans-serif";

fn plot_err(figure: &str) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Figure {
        figure: figure.to_string(),
        message,
    }
}

/// Runs drawing code, turning any plotters error into an [`Error`] naming the figure.
fn draw(
    figure: &str,
    size: (u32, u32),
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(figure)(e.to_string()))?;
        f(&root).map_err(plot_err(figure))?;
        root.present()
            .map_err(|e| plot_err(figure)(e.to_string()))?;
    }
    Ok(svg)
}

/// Shortens plotters' error types to a message.
trait Msg<T> {
    fn msg(self) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Msg<T> for Result<T, E> {
    fn msg(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// The legend every figure uses: boxed, on a translucent white ground.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
    font_size: u32,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, font_size))
        .draw()
        .msg()
}

/// A chart with numbers along both axes.
type Xy<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Colour of series `i`.
fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

fn workloads(report: &Report) -> Vec<String> {
    let mut w: Vec<String> = Vec::new();
    for s in &report.workloads {
        if !w.contains(&s.name) {
            w.push(s.name.clone());
        }
    }
    w
}

fn architectures(report: &Report) -> Vec<String> {
    report
        .architectures
        .iter()
        .map(|a| a.name.clone())
        .collect()
}

/// Energy per inference (µJ) against spike rate for `workload` at the headline T: one panel
/// per architecture with the SNN curve, the baseline and the break-even point. `None` when the
/// report has no sweep for it.
pub fn energy_vs_spike_rate(report: &Report, workload: &str) -> Result<Option<String>, Error> {
    let t = report.headline_timesteps();
    let sweeps: Vec<_> = report
        .sweeps
        .iter()
        .filter(|s| s.workload == workload && s.timesteps == t)
        .collect();
    if sweeps.is_empty() {
        return Ok(None);
    }
    let cols = sweeps.len().min(3);
    let rows = sweeps.len().div_ceil(cols);
    let size = (480 * cols as u32, 600 * rows as u32);
    let svg = draw("energy vs spike rate", size, |root| {
        let panels = root.split_evenly((rows, cols));
        for (s, area) in sweeps.iter().zip(panels.iter()) {
            // Energies above, their ratio over the low rates below: the same points the
            // verdicts were computed from.
            let (top, bottom) = area.split_vertically(360);
            energy_panel(report, s, &top)?;
            ratio_panel(report, s, &bottom)?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// Both formats' energy against the spike rate, the break-even marked.
fn energy_panel(
    report: &Report,
    s: &snnergy_core::report::Sweep,
    area: &DrawingArea<SVGBackend<'_>, Shift>,
) -> Result<(), String> {
    let be = report
        .breakeven_at(s.key())
        .filter(|b| b.status == BreakEvenStatus::Crossing);
    // Show the region around the crossing: up to three times the break-even rate
    // (at least 20 %), not the whole sweep, so the crossing is not squeezed.
    let full = s.spike_rates.iter().cloned().fold(0.0, f64::max).max(1e-6);
    let xmax = match be.and_then(|b| b.spike_rate) {
        Some(r) => (3.0 * r).max(0.2).min(full),
        None => full,
    };
    let within = |r: &f64| *r <= xmax * (1.0 + 1e-9);
    let curve = |e: &[f64]| -> Vec<(f64, f64)> {
        s.spike_rates
            .iter()
            .zip(e)
            .filter(|(r, _)| within(r))
            .map(|(r, e)| (r * 100.0, e * 1e-6))
            .collect()
    };
    let shown = curve(&s.snn_pj);
    // Under twin consistency the baseline's ρ follows the spike rate: a curve too.
    let baseline = curve(&s.baseline_pj);
    let ymax = shown
        .iter()
        .chain(&baseline)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} — {}, T = {}", s.architecture, s.workload, s.timesteps),
            (FONT, 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..xmax * 100.0, 0.0..ymax)
        .msg()?;
    chart
        .configure_mesh()
        .x_desc("spike rate (% of neurons per step)")
        .y_desc("energy per inference (µJ)")
        .y_label_formatter(&|v| number(*v))
        .draw()
        .msg()?;
    let snn = colour(0);
    chart
        .draw_series(LineSeries::new(shown, snn.stroke_width(2)))
        .msg()?
        .label(format!("SNN, T = {}", s.timesteps))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], snn));
    let base = colour(1);
    chart
        .draw_series(LineSeries::new(baseline.clone(), base.stroke_width(2)))
        .msg()?
        .label(format!("{} baseline", s.baseline))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], base));
    if let Some(r) = be.and_then(|b| b.spike_rate) {
        draw_crossing(&mut chart, r * 100.0, &baseline, ymax)?;
    }
    if let Some(b) = report
        .breakeven_at(s.key())
        .filter(|b| b.status != BreakEvenStatus::Crossing)
    {
        // Say so rather than leave the reader looking for a crossing that is not there.
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .msg()?
            .label(no_crossing_words(b))
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, BLACK.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
    Ok(())
}

/// The break-even at spike rate `x` (%): a dashed line up to `ymax` and a dot on the
/// `baseline` curve.
fn draw_crossing<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    x: f64,
    baseline: &[(f64, f64)],
    ymax: f64,
) -> Result<(), String> {
    // The baseline's energy at the crossing, read off its curve.
    let y = baseline
        .windows(2)
        .find(|w| w[0].0 <= x && x <= w[1].0)
        .map(|w| {
            let f = if w[1].0 > w[0].0 {
                (x - w[0].0) / (w[1].0 - w[0].0)
            } else {
                0.0
            };
            w[0].1 + f * (w[1].1 - w[0].1)
        })
        .unwrap_or_else(|| baseline.first().map(|p| p.1).unwrap_or(0.0));
    let mark = BLACK;
    chart
        .draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, ymax)],
            6,
            4,
            mark.stroke_width(1),
        ))
        .msg()?
        .label(format!("break-even {:.2} %", x))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], mark));
    chart
        .draw_series(std::iter::once(Circle::new((x, y), 5, mark.filled())))
        .msg()?;
    Ok(())
}

/// What a break-even that is not one crossing says instead.
fn no_crossing_words(b: &BreakEven) -> String {
    match b.status {
        BreakEvenStatus::SnnNeverWins => "no break-even: the SNN never wins".into(),
        BreakEvenStatus::SnnAlwaysWins => "no break-even: the SNN always wins".into(),
        BreakEvenStatus::SnnWinsWithin => format!(
            "the SNN wins {}",
            wins_phrase(&b.wins, |r| format!("{:.2} %", 100.0 * r))
        ),
        _ => format!(
            "break-even {:.2} %: the SNN wins above it",
            100.0 * b.spike_rate.unwrap_or(0.0)
        ),
    }
}

/// SNN energy over its baseline's against the spike rate up to 20 % (or the sweep's top),
/// with the line of equal energy and the intervals in which the SNN wins shaded.
fn ratio_panel(
    report: &Report,
    s: &snnergy_core::report::Sweep,
    area: &DrawingArea<SVGBackend<'_>, Shift>,
) -> Result<(), String> {
    let full = s.spike_rates.iter().cloned().fold(0.0, f64::max).max(1e-6);
    let xmax = full.min(0.2) * 100.0;
    let pts: Vec<(f64, f64)> = s
        .spike_rates
        .iter()
        .zip(s.snn_pj.iter().zip(&s.baseline_pj))
        .filter(|(r, (_, b))| **r * 100.0 <= xmax * (1.0 + 1e-9) && **b > 0.0)
        .map(|(r, (e, b))| (r * 100.0, e / b))
        .collect();
    let (mut lo, mut hi) = pts
        .iter()
        .fold((1.0f64, 1.0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let pad = ((hi - lo) * 0.08).max(0.02);
    lo = (lo - pad).max(0.0);
    hi += pad;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..xmax, lo..hi)
        .msg()?;
    chart
        .configure_mesh()
        .x_desc("spike rate (% of neurons per step)")
        .y_desc("SNN / baseline energy")
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .msg()?;
    let win = colour(2);
    if let Some(b) = report.breakeven_at(s.key()) {
        let bands = b.wins.iter().filter_map(|w| {
            let (a, z) = (w.from * 100.0, (w.to * 100.0).min(xmax));
            (a < xmax).then(|| Rectangle::new([(a, lo), (z, hi)], win.mix(0.18).filled()))
        });
        chart
            .draw_series(bands)
            .msg()?
            .label("the SNN wins")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], win.mix(0.3).filled())
            });
    }
    let even = BLACK;
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, 1.0), (xmax, 1.0)],
            6,
            4,
            even.stroke_width(1),
        ))
        .msg()?
        .label("equal energy")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], even));
    let c = colour(0);
    chart
        .draw_series(LineSeries::new(pts, c.stroke_width(2)))
        .msg()?
        .label(format!("SNN / {}", s.baseline))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
    legend(&mut chart, SeriesLabelPosition::UpperRight, 12)?;
    Ok(())
}

/// Break-even spike rate (%) against T for every architecture on `workload`. `None` when the
/// report has no break-even rows for it.
pub fn breakeven_vs_timesteps(report: &Report, workload: &str) -> Result<Option<String>, Error> {
    let rows: Vec<&BreakEven> = report
        .breakeven
        .iter()
        .filter(|b| b.workload == workload)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let svg = draw("break-even vs T", (1240, 480), |root| {
        let (left, right) = root.split_horizontally(620);
        // The rate at which the energies cross along the twin family, and the same
        // break-even read as the twin's mean level at the activity's rate: under twin
        // consistency the first often does not exist while the second always says how far
        // the SNN is from winning.
        vs_timesteps(
            &left,
            report,
            &rows,
            &format!("Break-even spike rate vs T — {workload}"),
            "break-even spike rate (%)",
            |b| {
                (b.status == BreakEvenStatus::Crossing)
                    .then_some(b.spike_rate)
                    .flatten()
                    .map(|r| 100.0 * r)
            },
        )?;
        vs_timesteps(
            &right,
            report,
            &rows,
            &format!("Break-even mean level L̄* vs T — {workload}"),
            "L̄* at the activity's spike rate (spikes)",
            |b| {
                (b.level_status == BreakEvenStatus::Crossing)
                    .then_some(b.level_breakeven)
                    .flatten()
            },
        )
    })?;
    Ok(Some(svg))
}

/// One panel of a quantity of the break-even rows against T, a line per architecture.
fn vs_timesteps(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    report: &Report,
    rows: &[&BreakEven],
    caption: &str,
    y_desc: &str,
    value: impl Fn(&BreakEven) -> Option<f64>,
) -> Result<(), String> {
    let tmax = rows.iter().map(|b| b.timesteps).max().unwrap_or(1);
    let tmin = rows.iter().map(|b| b.timesteps).min().unwrap_or(1);
    let ymax = rows
        .iter()
        .filter_map(|b| value(b))
        .fold(0.0, f64::max)
        .max(1e-6)
        * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 16))
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(tmin as f64 - 0.3..tmax as f64 + 0.3, 0.0..ymax)
        .msg()?;
    chart
        .configure_mesh()
        .x_desc("time steps T")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .msg()?;
    for (i, arch) in architectures(report).iter().enumerate() {
        let pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|b| &b.architecture == arch)
            .filter_map(|b| value(b).map(|v| (b.timesteps as f64, v)))
            .collect();
        let c = colour(i);
        let label = if pts.is_empty() {
            format!("{arch}: none")
        } else {
            arch.clone()
        };
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .msg()?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
            .msg()?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 13)
}

/// Energy of each layer stacked by category, SNN (top) and baseline (bottom), for one
/// comparison.
pub fn layer_breakdown(c: &Comparison) -> Result<String, Error> {
    let n = c.layers.len();
    let names: Vec<String> = c.layers.iter().map(|l| l.layer.clone()).collect();
    let ymax = c
        .layers
        .iter()
        .map(|l| l.snn_pj.max(l.baseline_pj))
        .fold(0.0, f64::max)
        * 1e-6
        * 1.08;
    let ymax = if ymax > 0.0 { ymax } else { 1.0 };
    let width = (260 + 26 * n as u32).max(760);
    let svg = draw("layer breakdown", (width, 820), |root| {
        let (top, bottom) = root.split_vertically(410);
        for (area, snn) in [(&top, true), (&bottom, false)] {
            let title = if snn {
                format!(
                    "SNN, T = {} (spike rate {:.2} %) per layer — {} on {}",
                    c.timesteps,
                    100.0 * c.spike_rate,
                    c.architecture,
                    c.workload
                )
            } else {
                format!(
                    "{} baseline (ρ = {:.2}) per layer — {} on {}",
                    c.baseline, c.nonzero, c.architecture, c.workload
                )
            };
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 16))
                .margin(10)
                .x_label_area_size(if snn { 20 } else { 120 })
                .y_label_area_size(64)
                .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..ymax)
                .msg()?;
            let fmt = |v: &f64| match index_at(*v) {
                Some(i) if !snn => names.get(i).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&fmt)
                .y_label_formatter(&|v| number(*v))
                .x_label_style((FONT, 11).into_font().transform(FontTransform::Rotate90))
                // No axis title: plotters would rotate it with the labels; the captions say
                // the bars are layers.
                .y_desc("energy (µJ)")
                .draw()
                .msg()?;
            for (k, cat) in Category::ALL.iter().enumerate() {
                let col = colour(k);
                let mut bars = Vec::new();
                for (i, l) in c.layers.iter().enumerate() {
                    let by = if snn {
                        &l.snn_breakdown
                    } else {
                        &l.baseline_breakdown
                    };
                    let below: f64 = Category::ALL[..k].iter().map(|p| by.get(*p)).sum();
                    let v = by.get(*cat);
                    if v > 0.0 {
                        let x = i as f64;
                        bars.push(Rectangle::new(
                            [(x - 0.38, below * 1e-6), (x + 0.38, (below + v) * 1e-6)],
                            col.filled(),
                        ));
                    }
                }
                let series = chart.draw_series(bars).msg()?;
                if snn {
                    series.label(cat.name()).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled())
                    });
                }
            }
            if snn {
                legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
            }
        }
        Ok(())
    })?;
    // plotters centres mesh labels whatever their rotation, which hides the first half of a
    // rotated layer name behind the axis; anchor rotated labels at their start instead.
    Ok(svg
        .lines()
        .map(|l| {
            if l.starts_with("<text") && l.contains("transform=\"rotate(90,") {
                l.replacen("text-anchor=\"middle\"", "text-anchor=\"start\"", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Energy per inference by level of the hardware at the headline T for `workload`: per
/// architecture two stacked bars, SNN and baseline, one colour per level. `None` when no
/// architecture reports places.
pub fn energy_by_level(report: &Report, workload: &str) -> Result<Option<String>, Error> {
    let t = report.headline_timesteps();
    let mut bars: Vec<(String, &Comparison)> = Vec::new();
    for a in architectures(report) {
        let found = report
            .comparisons
            .iter()
            .find(|c| c.architecture == a && c.workload == workload && c.timesteps == t);
        if let Some(c) = found
            && !c.mapped.snn_by_level.is_empty()
        {
            bars.push((a, c));
        }
    }
    if bars.is_empty() {
        return Ok(None);
    }
    let levels = levels_of(&bars);
    let n = 2 * bars.len();
    let ymax = bars
        .iter()
        .map(|(_, c)| c.snn_pj.max(c.baseline_pj))
        .fold(0.0, f64::max)
        * 1e-6
        * 1.25;
    let ymax = if ymax > 0.0 { ymax } else { 1.0 };
    let names: Vec<String> = bars
        .iter()
        .flat_map(|(a, c)| [format!("{a}: SNN"), format!("{a}: {}", c.baseline)])
        .collect();
    let svg = draw(
        "energy by level",
        ((200 + 110 * n as u32).max(760), 560),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(
                    format!("Energy per inference by level, {workload}, T = {t}"),
                    (FONT, 16),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..ymax)
                .msg()?;
            let fmt = |v: &f64| {
                index_at(*v)
                    .and_then(|i| names.get(i).cloned())
                    .unwrap_or_default()
            };
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&fmt)
                .y_label_formatter(&|v| number(*v))
                .y_desc("energy (µJ)")
                .draw()
                .msg()?;
            draw_level_stacks(&mut chart, &levels, &bars)?;
            legend(&mut chart, SeriesLabelPosition::UpperRight, 12)
        },
    )?;
    Ok(Some(svg))
}

/// Every level any of the `bars` reports, in the order they name them.
fn levels_of(bars: &[(String, &Comparison)]) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for (_, c) in bars {
        for l in crate::render::level_names(&c.mapped.snn_by_level, &c.mapped.baseline_by_level) {
            if !levels.contains(&l) {
                levels.push(l);
            }
        }
    }
    levels
}

/// Per comparison of `bars` two stacks, SNN and baseline, one colour per level of `levels`.
fn draw_level_stacks<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    levels: &[String],
    bars: &[(String, &Comparison)],
) -> Result<(), String> {
    for (k, level) in levels.iter().enumerate() {
        let col = colour(k);
        let mut rects = Vec::new();
        for (i, (_, c)) in bars.iter().enumerate() {
            for (j, by) in [&c.mapped.snn_by_level, &c.mapped.baseline_by_level]
                .into_iter()
                .enumerate()
            {
                let below: f64 = by
                    .iter()
                    .take_while(|l| &l.level != level)
                    .map(|l| l.pj)
                    .sum();
                let Some(v) = by.iter().find(|l| &l.level == level).map(|l| l.pj) else {
                    continue;
                };
                if v > 0.0 {
                    let x = (2 * i + j) as f64;
                    rects.push(Rectangle::new(
                        [(x - 0.38, below * 1e-6), (x + 0.38, (below + v) * 1e-6)],
                        col.filled(),
                    ));
                }
            }
        }
        chart
            .draw_series(rects)
            .msg()?
            .label(level.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()));
    }
    Ok(())
}

/// The tornado of one sensitivity study: per input, the break-even spike rate at −range and
/// +range around the nominal one, largest swing on top; the operating point's spike rate is
/// marked, and inputs that flip the verdict are flagged in their label.
pub fn tornado(t: &Tornado) -> Result<String, Error> {
    let rows: Vec<&TornadoRow> = t.rows.iter().collect();
    let n = rows.len().max(1);
    let nominal = t.nominal.effective() * 100.0;
    let (lo, hi) = tornado_range(t);
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} ({}){}",
                r.name,
                r.kind,
                if r.flips { " — FLIPS" } else { "" }
            )
        })
        .collect();
    draw("tornado", (860, 120 + 34 * n as u32), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Sensitivity of the break-even spike rate (±{:.0} %) — {} on {}, T = {}",
                    100.0 * t.range,
                    t.architecture,
                    t.workload,
                    t.timesteps
                ),
                (FONT, 16),
            )
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(230)
            .build_cartesian_2d(lo..hi, -0.5..n as f64 - 0.5)
            .msg()?;
        // Row i (largest swing first) is drawn at y = n − 1 − i, so it ends up on top.
        let fmt = |v: &f64| match index_at(*v) {
            Some(y) if y < n => labels.get(n - 1 - y).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&fmt)
            .x_desc("break-even spike rate (%)")
            .y_desc("varied input")
            .draw()
            .msg()?;
        draw_swings(&mut chart, &rows, nominal)?;
        draw_never_wins(&mut chart, &rows, lo + (hi - lo) * 0.015)?;
        draw_tornado_marks(&mut chart, t, nominal, n)?;
        legend(&mut chart, SeriesLabelPosition::LowerRight, 12)?;
        Ok(())
    })
}

/// The tornado's axis in percent: every break-even it shows and the activity's spike rate,
/// with a margin.
fn tornado_range(t: &Tornado) -> (f64, f64) {
    let nominal = t.nominal.effective() * 100.0;
    let mut lo = nominal.min(t.spike_rate * 100.0);
    let mut hi = nominal.max(t.spike_rate * 100.0);
    for r in &t.rows {
        for s in [&r.low, &r.high].into_iter().flatten() {
            lo = lo.min(s.effective() * 100.0);
            hi = hi.max(s.effective() * 100.0);
        }
    }
    let pad = ((hi - lo) * 0.1).max(0.05);
    ((lo - pad).max(0.0), hi + pad)
}

/// Each row's bars from the nominal break-even to the one at its low and at its high value.
fn draw_swings<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    rows: &[&TornadoRow],
    nominal: f64,
) -> Result<(), String> {
    let n = rows.len().max(1);
    for (side, col, name) in [
        (0, colour(0), "low value (−)"),
        (1, colour(1), "high value (+)"),
    ] {
        let bars = rows.iter().enumerate().filter_map(|(i, r)| {
            let s = if side == 0 { &r.low } else { &r.high };
            // A side on which no rate makes the SNN win has no break-even to draw a bar
            // to: it gets the never-wins mark instead.
            let s = s.as_ref().filter(|s| !s.never_wins())?;
            let v = s.effective() * 100.0;
            let y = (n - 1 - i) as f64;
            let (a, b) = if v < nominal {
                (v, nominal)
            } else {
                (nominal, v)
            };
            Some(Rectangle::new(
                [(a, y - 0.35), (b.max(a + 1e-9), y + 0.35)],
                col.mix(0.8).filled(),
            ))
        });
        chart
            .draw_series(bars)
            .msg()?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()));
    }
    Ok(())
}

/// Never wins: a cross at `x0`, the axis' left end, in the side's colour, for each side of
/// each row on which no spike rate makes the SNN win.
fn draw_never_wins<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    rows: &[&TornadoRow],
    x0: f64,
) -> Result<(), String> {
    let n = rows.len().max(1);
    let (low_c, high_c) = (colour(0), colour(1));
    let never: Vec<(f64, f64, RGBColor)> = rows
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let y = (n - 1 - i) as f64;
            [(&r.low, low_c, -0.15), (&r.high, high_c, 0.15)]
                .into_iter()
                .filter(|(s, _, _)| s.as_ref().is_some_and(|s| s.never_wins()))
                .map(move |(_, c, dy)| (y + dy, 0.0, c))
        })
        .collect();
    if never.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(
            never
                .iter()
                .map(|(y, _, c)| Cross::new((x0, *y), 6, c.stroke_width(2))),
        )
        .msg()?
        .label("× no spike rate makes the SNN win")
        .legend(move |(x, y)| Cross::new((x + 6, y), 5, BLACK.stroke_width(2)));
    Ok(())
}

/// The nominal break-even as a line across the `n` rows, and the activity's spike rate as a
/// dashed one.
fn draw_tornado_marks<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    t: &Tornado,
    nominal: f64,
    n: usize,
) -> Result<(), String> {
    let black = BLACK;
    let nominal_label = if t.nominal.never_wins() {
        "nominal: no spike rate makes the SNN win".to_string()
    } else {
        format!("nominal break-even {nominal:.2} %")
    };
    chart
        .draw_series(LineSeries::new(
            [(nominal, -0.5), (nominal, n as f64 - 0.5)],
            black.stroke_width(2),
        ))
        .msg()?
        .label(nominal_label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], black));
    let act = colour(2);
    let x = t.spike_rate * 100.0;
    chart
        .draw_series(DashedLineSeries::new(
            [(x, -0.5), (x, n as f64 - 0.5)],
            6,
            4,
            act.stroke_width(2),
        ))
        .msg()?
        .label(format!("activity ({}) {x:.2} %", t.operating_point))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], act));
    Ok(())
}

/// The category index a tick at `v` stands for, if it sits on one.
fn index_at(v: f64) -> Option<usize> {
    let r = v.round();
    ((v - r).abs() < 1e-6 && r >= 0.0).then_some(r as usize)
}

/// An axis number without spurious decimals.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// A file-name-safe version of a label.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// One SVG figure of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Caption for the Markdown report.
    pub caption: String,
    /// File name, unique within the report.
    pub file: String,
    /// The SVG document.
    pub svg: String,
}

/// Every figure of `report`. Labels that differ only in case or punctuation slug to the same
/// file name; later ones get `-2`, `-3`, … so no figure replaces another.
pub fn figures(report: &Report) -> Result<Vec<Figure>, Error> {
    let mut figures: Vec<(String, String, String)> = Vec::new();
    let t = report.headline_timesteps();
    for w in workloads(report) {
        if let Some(svg) = energy_vs_spike_rate(report, &w)? {
            figures.push((
                format!("Energy per inference against spike rate, {w}, T = {t}"),
                format!("energy-vs-spike-rate-{}", slug(&w)),
                svg,
            ));
        }
        if let Some(svg) = breakeven_vs_timesteps(report, &w)? {
            figures.push((
                format!("Break-even spike rate against T, {w}"),
                format!("breakeven-vs-timesteps-{}", slug(&w)),
                svg,
            ));
        }
        if let Some(svg) = energy_by_level(report, &w)? {
            figures.push((
                format!(
                    "Energy per inference by level of the hardware, SNN and baseline, {w}, T = {t}"
                ),
                format!("energy-by-level-{}", slug(&w)),
                svg,
            ));
        }
        for a in architectures(report) {
            let key = ResultKey {
                workload: &w,
                architecture: &a,
                timesteps: t,
            };
            if let Some(c) = report.comparisons_at(key).next() {
                figures.push((
                    format!("Energy per layer by category, {a} on {w}, T = {t}"),
                    format!("breakdown-{}-{}", slug(&w), slug(&a)),
                    layer_breakdown(c)?,
                ));
            }
        }
    }
    for s in &report.sensitivity {
        figures.push((
            format!(
                "Sensitivity of the break-even spike rate, {} on {}, T = {}",
                s.architecture, s.workload, s.timesteps
            ),
            format!("tornado-{}-{}", slug(&s.workload), slug(&s.architecture)),
            tornado(s)?,
        ));
    }
    let mut taken = std::collections::HashSet::new();
    Ok(figures
        .into_iter()
        .map(|(caption, stem, svg)| {
            let mut file = format!("{stem}.svg");
            let mut n = 1;
            while !taken.insert(file.clone()) {
                n += 1;
                file = format!("{stem}-{n}.svg");
            }
            Figure { caption, file, svg }
        })
        .collect())
}

/// Writes every figure of `report` as SVG into `dir` (one set, see [`snnergy_files`]) and
/// returns `(caption, file name)` pairs to embed in the Markdown report.
pub fn write_figures(report: &Report, dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let figures = figures(report)?;
    let mut out = snnergy_files::OutputDir::create(dir)?;
    for f in &figures {
        out.write(&f.file, f.svg.as_bytes())?;
    }
    out.commit()?;
    Ok(figures.into_iter().map(|f| (f.caption, f.file)).collect())
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("VGG16 (CIFAR-10)/x"), "vgg16-cifar-10-x");
        assert_eq!(slug("neuromorphic"), "neuromorphic");
    }
}

/// One trained network in a training trade-off figure.
#[derive(Clone, Debug, PartialEq)]
pub struct TradeoffPoint {
    /// Run name.
    pub name: String,
    /// Series it belongs to (e.g. the regularizer).
    pub family: String,
    /// Accuracy of the converted SNN, in [0, 1].
    pub accuracy: f64,
    /// Mean spike rate of the converted SNN, in [0, 1].
    pub spike_rate: f64,
    /// SNN / QNN energy per architecture, in the order of the architectures given.
    pub ratios: Vec<f64>,
}

/// The accuracy–sparsity–energy trade-off of trained networks: SNN accuracy against spike
/// rate, then for every architecture the SNN/QNN energy ratio against accuracy (below 1 the
/// SNN wins), one series per family, points in order of increasing spike rate.
pub fn training_tradeoff(
    points: &[TradeoffPoint],
    architectures: &[String],
) -> Result<String, Error> {
    let mut families: Vec<&str> = Vec::new();
    for p in points {
        if !families.contains(&p.family.as_str()) {
            families.push(&p.family);
        }
    }
    let panels = 1 + architectures.len();
    let cols = panels.min(2);
    let rows = panels.div_ceil(cols);
    let (alo, ahi) = padded_range(points.iter().map(|p| 100.0 * p.accuracy));
    let (_, shi) = padded_range(points.iter().map(|p| 100.0 * p.spike_rate));
    draw(
        "training trade-off",
        (560 * cols as u32, 420 * rows as u32),
        |root| {
            let areas = root.split_evenly((rows, cols));
            for (k, area) in areas.iter().enumerate().take(panels) {
                // Panel 0: accuracy against spike rate; panel k: energy ratio on architecture k−1.
                let xy: Vec<(f64, f64, usize)> = points
                    .iter()
                    .filter_map(|p| {
                        let f = families.iter().position(|f| *f == p.family)?;
                        if k == 0 {
                            Some((100.0 * p.spike_rate, 100.0 * p.accuracy, f))
                        } else {
                            let r = *p.ratios.get(k - 1)?;
                            r.is_finite().then_some((100.0 * p.accuracy, r, f))
                        }
                    })
                    .collect();
                let (x_range, y_range, caption, x_desc, y_desc) = if k == 0 {
                    (
                        0.0..shi,
                        alo..ahi,
                        "SNN accuracy against spike rate".to_string(),
                        "mean spike rate (%)",
                        "SNN accuracy (%)",
                    )
                } else {
                    let (lo, hi) = padded_range(xy.iter().map(|p| p.1));
                    (
                        alo..ahi,
                        lo.min(0.95)..hi.max(1.05),
                        format!("SNN/QNN energy on {}", architectures[k - 1]),
                        "SNN accuracy (%)",
                        "SNN energy / QNN energy",
                    )
                };
                let mut chart = ChartBuilder::on(area)
                    .caption(caption, (FONT, 16))
                    .margin(12)
                    .x_label_area_size(40)
                    .y_label_area_size(60)
                    .build_cartesian_2d(x_range.clone(), y_range)
                    .msg()?;
                chart
                    .configure_mesh()
                    .x_desc(x_desc)
                    .y_desc(y_desc)
                    .draw()
                    .msg()?;
                if k > 0 {
                    draw_ratio_one(&mut chart, x_range.start, x_range.end)?;
                }
                draw_families(&mut chart, &families, &xy)?;
                // Lower right is high accuracy at few spikes, or at a low energy ratio: the
                // corner trained networks rarely reach.
                legend(&mut chart, SeriesLabelPosition::LowerRight, 12)?;
            }
            Ok(())
        },
    )
}

/// The range of `v` with 8 % to spare at each end ((0, 1) when `v` is empty).
fn padded_range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if lo.is_finite() {
        let pad = ((hi - lo) * 0.08).max(1e-3);
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    }
}

/// The line of equal energy (ratio 1) from `x0` to `x1`.
fn draw_ratio_one<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    x0: f64,
    x1: f64,
) -> Result<(), String> {
    chart
        .draw_series(DashedLineSeries::new(
            [(x0, 1.0), (x1, 1.0)],
            6,
            4,
            BLACK.stroke_width(1),
        ))
        .msg()?
        .label("break-even (ratio 1)")
        .legend(|(x, y)| {
            plotters::element::DashedPathElement::new(vec![(x, y), (x + 20, y)], 6, 4, BLACK)
        });
    Ok(())
}

/// One series per family of the points `xy` (x, y, family index), joined in order of x.
fn draw_families<'a, DB: DrawingBackend + 'a>(
    chart: &mut Xy<'a, DB>,
    families: &[&str],
    xy: &[(f64, f64, usize)],
) -> Result<(), String> {
    for (f, family) in families.iter().enumerate() {
        let c = colour(f);
        let mut series: Vec<(f64, f64)> =
            xy.iter().filter(|p| p.2 == f).map(|p| (p.0, p.1)).collect();
        series.sort_by(|a, b| a.0.total_cmp(&b.0));
        if series.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(series.clone(), c.stroke_width(1)))
            .msg()?;
        chart
            .draw_series(series.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .msg()?
            .label(family.to_string())
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
    }
    Ok(())
}
