//! The accuracy / spike rate / energy table and plot of several training runs
//! (`snnergy train compare`), with energy-aware regularization set against activation-l1 at
//! matched accuracy.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use snnergy::engine::Measurement;
use snnergy::report::plot::TradeoffPoint;
use snnergy::workflow::{EnergyRow, TrainSummary as Summary};

/// The files a comparison writes into its folder.
pub(crate) const FILES: [&str; 3] = ["tradeoff.md", "tradeoff.csv", "tradeoff.svg"];

/// The series a run belongs to: its regularizers (energy-aware with the architecture it
/// prices spikes on).
fn family(s: &Summary) -> String {
    if s.regularizers.is_empty() {
        return "no regularizer".into();
    }
    s.regularizers
        .iter()
        .map(|r| {
            let ty = r.get("type").and_then(|v| v.as_str()).unwrap_or("?");
            if ty == "energy-aware" {
                let arch = r
                    .get("architecture")
                    .and_then(|a| a.get("type"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("?");
                format!("energy-aware ({arch})")
            } else {
                ty.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The regularizers' strengths, e.g. `λ = 3e-7`.
fn strengths(s: &Summary) -> String {
    if s.regularizers.is_empty() {
        return "–".into();
    }
    s.regularizers
        .iter()
        .map(|r| match r.get("weight") {
            // 2e-6, not 0.000002: strengths span decades.
            Some(toml::Value::Float(w)) if *w != 0.0 && w.abs() < 1e-2 => format!("{w:e}"),
            Some(v) => format!("{v}"),
            None => "?".into(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The energy ratio of `runs` on `arch` interpolated linearly in SNN accuracy at `accuracy`;
/// `None` outside the accuracies the runs span (no extrapolation).
fn ratio_at(runs: &[(f64, f64)], accuracy: f64) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = runs.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in pts.windows(2) {
        let ((a0, r0), (a1, r1)) = (w[0], w[1]);
        if (a0..=a1).contains(&accuracy) {
            return Some(if a1 > a0 {
                r0 + (r1 - r0) * (accuracy - a0) / (a1 - a0)
            } else {
                r0.min(r1)
            });
        }
    }
    pts.iter()
        .find(|p| (p.0 - accuracy).abs() < 1e-12)
        .map(|p| p.1)
}

fn energy<'a>(r: &'a Summary, architecture: &str) -> Option<&'a EnergyRow> {
    r.energy.iter().find(|e| e.architecture == architecture)
}

/// The run's measurement; `compare` admits only runs that have one.
fn m(r: &Summary) -> &Measurement {
    r.measurement.as_ref().expect("checked by the caller")
}

pub fn write(runs: &[Summary], out: &Path) -> anyhow::Result<()> {
    let archs = architectures(runs);
    let ratio = |r: &Summary, a: &str| energy(r, a).map_or(f64::NAN, |e| e.ratio);
    let mut md = runs_markdown(runs, &archs)?;
    md.push_str(&matched_accuracy_markdown(runs, &archs)?);
    let csv = runs_csv(runs, &archs)?;
    let points: Vec<TradeoffPoint> = runs
        .iter()
        .map(|r| TradeoffPoint {
            name: r.name.clone(),
            family: family(r),
            accuracy: m(r).snn_accuracy,
            spike_rate: m(r).mean_spike_rate(),
            ratios: archs.iter().map(|a| ratio(r, a)).collect(),
        })
        .collect();
    let svg = snnergy::report::plot::training_tradeoff(&points, &archs)?;
    let mut dir = snnergy::files::OutputDir::create(out)?;
    for (name, body) in FILES
        .into_iter()
        .zip([md.as_str(), csv.as_str(), svg.as_str()])
    {
        dir.write(name, body.as_bytes())?;
    }
    dir.commit()
        .with_context(|| format!("writing the comparison to {}", out.display()))?;
    out!("{md}");
    eprintln!(
        "table and plot written to {} (tradeoff.md, tradeoff.csv, tradeoff.svg)",
        out.display()
    );
    Ok(())
}

/// Every architecture some run was priced on, in the order the runs name them.
fn architectures(runs: &[Summary]) -> Vec<String> {
    let mut archs: Vec<String> = Vec::new();
    for r in runs {
        for e in &r.energy {
            if !archs.contains(&e.architecture) {
                archs.push(e.architecture.clone());
            }
        }
    }
    archs
}

/// One row per run: its regularizer, accuracies, activity and energy on each of `archs`.
fn runs_markdown(runs: &[Summary], archs: &[String]) -> anyhow::Result<String> {
    let mut md = String::new();
    writeln!(
        md,
        "| run | regularizer | λ | QNN accuracy | SNN accuracy | SNN − QNN | spike rate | QNN non-zero |{}",
        archs
            .iter()
            .map(|a| format!(" {a}: SNN / QNN µJ (ratio) |"))
            .collect::<String>()
    )?;
    writeln!(
        md,
        "|---|---|---|---:|---:|---:|---:|---:|{}",
        "---:|".repeat(archs.len())
    )?;
    for r in runs {
        let me = m(r);
        write!(
            md,
            "| {} | {} | {} | {:.2} % | {:.2} % | {:+.2} | {:.2} % | {:.2} % |",
            r.name,
            family(r),
            strengths(r),
            100.0 * me.twin_accuracy,
            100.0 * me.snn_accuracy,
            100.0 * (me.snn_accuracy - me.twin_accuracy),
            100.0 * me.mean_spike_rate(),
            100.0 * me.mean_twin_nonzero()
        )?;
        for a in archs {
            match energy(r, a) {
                Some(e) => write!(
                    md,
                    " {:.1} / {:.1} ({:.3}) |",
                    e.snn_pj * 1e-6,
                    e.baseline_pj * 1e-6,
                    e.ratio
                )?,
                None => md.push_str(" – |"),
            }
        }
        md.push('\n');
    }
    Ok(md)
}

/// The runs' table as CSV, at full precision.
fn runs_csv(runs: &[Summary], archs: &[String]) -> anyhow::Result<String> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "run",
        "regularizers",
        "strength",
        "qnn_accuracy",
        "snn_accuracy",
        "top1_agreement",
        "spike_rate",
        "qnn_nonzero",
        "epochs",
    ]
    .map(String::from)
    .to_vec();
    for a in archs {
        header.extend([
            format!("snn_uj_{a}"),
            format!("qnn_uj_{a}"),
            format!("ratio_{a}"),
        ]);
    }
    csv.write_record(&header)?;
    for r in runs {
        let me = m(r);
        let mut row = vec![
            r.name.clone(),
            family(r).replace(',', ";"),
            strengths(r).replace(", ", ";"),
            format!("{:.6}", me.twin_accuracy),
            format!("{:.6}", me.snn_accuracy),
            format!("{:.6}", me.top1_agreement),
            format!("{:.6}", me.mean_spike_rate()),
            format!("{:.6}", me.mean_twin_nonzero()),
            r.epochs.to_string(),
        ];
        for a in archs {
            match energy(r, a) {
                Some(e) => row.extend([
                    format!("{:.4}", e.snn_pj * 1e-6),
                    format!("{:.4}", e.baseline_pj * 1e-6),
                    format!("{:.6}", e.ratio),
                ]),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        csv.write_record(&row)?;
    }
    Ok(String::from_utf8(csv.into_inner()?)?)
}

/// Energy-aware against activation-l1 at matched accuracy, on the architecture each
/// energy-aware run priced its spikes on (nothing without such pairs). Both the SNN's own
/// energy and its ratio to the QNN are compared: activation penalties sparsify the QNN twin
/// too, so the two can disagree.
fn matched_accuracy_markdown(runs: &[Summary], archs: &[String]) -> anyhow::Result<String> {
    let ratio = |r: &Summary, a: &str| energy(r, a).map_or(f64::NAN, |e| e.ratio);
    let snn_pj = |r: &Summary, a: &str| energy(r, a).map_or(f64::NAN, |e| e.snn_pj);
    let l1: Vec<&Summary> = runs
        .iter()
        .filter(|r| family(r) == "activation-l1")
        .collect();
    let mut cmp = String::new();
    for a in archs {
        let ratios: Vec<(f64, f64)> = l1
            .iter()
            .map(|r| (m(r).snn_accuracy, ratio(r, a)))
            .collect();
        let energies: Vec<(f64, f64)> = l1
            .iter()
            .map(|r| (m(r).snn_accuracy, snn_pj(r, a)))
            .collect();
        for r in runs
            .iter()
            .filter(|r| family(r) == format!("energy-aware ({a})"))
        {
            let acc = m(r).snn_accuracy;
            let (ours_pj, ours) = (snn_pj(r, a), ratio(r, a));
            write!(
                cmp,
                "| {a} | {} (λ = {}) | {:.2} % | {:.2} % |",
                r.name,
                strengths(r),
                100.0 * acc,
                100.0 * m(r).mean_spike_rate()
            )?;
            match (ratio_at(&energies, acc), ratio_at(&ratios, acc)) {
                (Some(theirs_pj), Some(theirs)) => writeln!(
                    cmp,
                    " {:.2} | {:.2} | {:+.1} % | {:.3} | {:.3} | {:+.1} % |",
                    ours_pj * 1e-6,
                    theirs_pj * 1e-6,
                    100.0 * (ours_pj / theirs_pj - 1.0),
                    ours,
                    theirs,
                    100.0 * (ours / theirs - 1.0)
                )?,
                _ => writeln!(
                    cmp,
                    " {:.2} | outside the accuracies of the activation-l1 runs | – | {:.3} | – | – |",
                    ours_pj * 1e-6,
                    ours
                )?,
            }
        }
    }
    if cmp.is_empty() {
        return Ok(cmp);
    }
    let mut md = String::new();
    writeln!(
        md,
        "\nEnergy-aware against activation-l1 at matched SNN accuracy (activation-l1's energies interpolated linearly in accuracy between its runs; energy per inference in µJ):\n"
    )?;
    writeln!(
        md,
        "| architecture | energy-aware run | SNN accuracy | spike rate | SNN energy, energy-aware | SNN energy, activation-l1 | difference | SNN/QNN, energy-aware | SNN/QNN, activation-l1 | difference |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    md.push_str(&cmp);
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::ratio_at;

    #[test]
    fn matched_accuracy_interpolates_between_runs_and_never_extrapolates() {
        let curve = [(0.90, 0.8), (0.88, 0.6), (0.92, 1.0)];
        assert!((ratio_at(&curve, 0.89).unwrap() - 0.7).abs() < 1e-12);
        assert!((ratio_at(&curve, 0.92).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(ratio_at(&curve, 0.93), None);
        assert_eq!(ratio_at(&curve, 0.87), None);
    }
}
