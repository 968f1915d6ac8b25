//! The SVG figures a run writes: each file is an SVG whose text carries the expected series and
//! axis labels, and the Markdown report embeds them.

use crate::util as common;
use snnergy::report::Render as _;

use snnergy::report::plot;

/// The text nodes of an SVG document, unescaped.
fn texts(svg: &str) -> Vec<String> {
    assert!(svg.trim_start().starts_with("<svg"), "not an SVG document");
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "SVG document not closed"
    );
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let open_end = rest.find('>').expect("unterminated <text> tag");
        let close = rest.find("</text>").expect("<text> without </text>");
        out.push(
            rest[open_end + 1..close]
                .trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&"),
        );
        rest = &rest[close + 7..];
    }
    out
}

fn assert_has(texts: &[String], wanted: &[&str], figure: &str) {
    for w in wanted {
        assert!(
            texts.iter().any(|t| t.contains(w)),
            "{figure}: no text containing `{w}` among {texts:?}"
        );
    }
}

/// Texts that must stand in the figures of the VGG16 pipeline, by the figure's place among
/// the files written: energy against spike rate, break-even against T, energy by level, the
/// classical chip's breakdown and the spatial chip's tornado.
const WANTED: [(usize, &[&str]); 5] = [
    (
        0,
        &[
            "spike rate (% of neurons per step)",
            "energy per inference (µJ)",
            "SNN, T = 6",
            "qnn-3bit baseline",
            "break-even",
            "classical — vgg16-cifar10, T = 6",
            "spatial — vgg16-cifar10, T = 6",
            "neuromorphic — vgg16-cifar10, T = 6",
        ],
    ),
    (
        1,
        &[
            "time steps T",
            "break-even spike rate (%)",
            "classical",
            "spatial",
            "neuromorphic",
        ],
    ),
    (
        2,
        &[
            "Energy per inference by level, vgg16-cifar10, T = 6",
            "energy (µJ)",
            "classical: SNN",
            "classical: qnn-3bit",
            "DRAM",
        ],
    ),
    (
        3,
        &[
            "energy (µJ)",
            "layer",
            "features.0",
            "classifier",
            "compute",
            "weights",
            "activations",
            "membrane",
            "partial-sums",
            "outputs",
            "SNN, T = 6",
            "qnn-3bit baseline",
        ],
    ),
    (
        7,
        &[
            "break-even spike rate (%)",
            "varied input",
            "link (price)",
            "link_hops (parameter)",
            // "nominal break-even x %" or "nominal: no spike rate makes the SNN win".
            "nominal",
            "low value",
            "high value",
        ],
    ),
];

#[test]
fn a_run_writes_every_figure_with_its_series_and_axis_labels() {
    let p = common::shipped("vgg16-cifar10.toml", &[2, 4, 6], 21);
    let report = p.run().unwrap();
    let dir = common::temp_dir("figures");
    let figures = plot::write_figures(&report, &dir).unwrap();
    let names: Vec<&str> = figures.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "energy-vs-spike-rate-vgg16-cifar10.svg",
            "breakeven-vs-timesteps-vgg16-cifar10.svg",
            "energy-by-level-vgg16-cifar10.svg",
            "breakdown-vgg16-cifar10-classical.svg",
            "breakdown-vgg16-cifar10-spatial.svg",
            "breakdown-vgg16-cifar10-neuromorphic.svg",
            "tornado-vgg16-cifar10-classical.svg",
            "tornado-vgg16-cifar10-spatial.svg",
            "tornado-vgg16-cifar10-neuromorphic.svg",
        ]
    );
    for (i, wanted) in WANTED {
        let svg = std::fs::read_to_string(dir.join(names[i])).unwrap();
        assert_has(&texts(&svg), wanted, names[i]);
    }

    // The Markdown report embeds every figure by its relative path.
    report.write_to(&dir, &figures).unwrap();
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for (caption, name) in &figures {
        assert!(
            md.contains(&format!("![{caption}]({name})")),
            "{name} not embedded"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_report_without_sweeps_or_sensitivity_draws_only_what_it_has() {
    let mut p = common::shipped("vgg16-cifar10.toml", &[6], 0);
    p.settings.sensitivity = None;
    let report = p.run().unwrap();
    let dir = common::temp_dir("figures-partial");
    let figures = plot::write_figures(&report, &dir).unwrap();
    assert!(figures.iter().all(|(_, n)| !n.starts_with("energy-vs")));
    assert!(figures.iter().all(|(_, n)| !n.starts_with("tornado")));
    assert!(figures.iter().any(|(_, n)| n.starts_with("breakeven-vs")));
    let _ = std::fs::remove_dir_all(&dir);
}
