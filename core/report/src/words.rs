//! The words every rendering of a report shares: what one break-even row says (its table cells
//! and the clause a verdict ends with) and the verdict on one comparison. The Markdown report,
//! the terminal and the Python package speak through [`breakeven_words`] and
//! [`verdict_words`], so a new reading of a break-even row changes the text in one place.

use snnergy_core::Category;
use snnergy_core::report::{
    BreakEven, BreakEvenStatus, Comparison, Keyed, RateInterval, Report, Verdict, wins_phrase,
};
use snnergy_core::settings::TwinMode;

use crate::text::{num, ratio};
use crate::text::{pct, sig};

/// What one break-even row says, as table cells and as the clause of a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakEvenWords {
    /// The break-even spike rate cell: `6.649 %`, `never wins`, `wins above 42.92 %`,
    /// `wins up to 100 %`.
    pub rate: String,
    /// The sparsity the SNN must exceed (`93.35 %`), `—` without a crossing.
    pub sparsity: String,
    /// The break-even mean level L̄* at the activity's rate: `1.88`, `> T`, `< 1: no twin`.
    pub level: String,
    /// The break-even in energy × latency, in the words of `rate`; `—` where the architecture
    /// models no time.
    pub edp: String,
    /// Where the SNN wins, as a verdict says it: "it wins below a spike rate of 6.649 % (…)",
    /// "no spike rate makes it win …; at 5 % it loses even to the densest twin (…)".
    pub clause: String,
}

/// A break-even search's outcome as a table cell: one rate where one crossing describes
/// where the SNN wins, else every interval.
fn status_cell(status: BreakEvenStatus, rate: Option<f64>, wins: &[RateInterval]) -> String {
    match status {
        BreakEvenStatus::Crossing => pct(rate.unwrap_or(0.0)),
        BreakEvenStatus::SnnNeverWins => "never wins".into(),
        BreakEvenStatus::SnnWinsAbove => format!("wins above {}", pct(rate.unwrap_or(0.0))),
        BreakEvenStatus::SnnAlwaysWins => format!("wins up to {}", pct(rate.unwrap_or(1.0))),
        BreakEvenStatus::SnnWinsWithin => format!("wins {}", wins_phrase(wins, pct)),
    }
}

/// The words of break-even row `b`.
pub fn breakeven_words(b: &BreakEven) -> BreakEvenWords {
    let r = b.spike_rate;
    let rate = status_cell(b.status, r, &b.wins);
    let sparsity = match (b.status, r) {
        (BreakEvenStatus::Crossing, Some(r)) => pct(1.0 - r),
        _ => "—".into(),
    };
    let (level, level_clause) = match (b.level_status, b.level_breakeven) {
        (BreakEvenStatus::Crossing, Some(l)) => (
            sig(l),
            format!(
                "at {} it would win against a twin whose non-zero activations average fewer than {} spikes",
                pct(b.level_rate),
                sig(l)
            ),
        ),
        (BreakEvenStatus::SnnAlwaysWins, _) => (
            "> T".into(),
            format!("at {} it wins against any twin", pct(b.level_rate)),
        ),
        _ => (
            "< 1: no twin".into(),
            format!(
                "at {} it loses even to the densest twin (every non-zero activation one spike)",
                pct(b.level_rate)
            ),
        ),
    };
    let clause = match b.status {
        BreakEvenStatus::Crossing => format!(
            "it wins below a spike rate of {} (sparsity above {}{})",
            pct(r.unwrap_or(0.0)),
            sparsity,
            match (b.nonzero, b.mean_level) {
                (Some(nz), Some(l)) => format!("; twin ρ = {}, L̄ = {} there", sig(nz), sig(l)),
                _ => String::new(),
            }
        ),
        BreakEvenStatus::SnnNeverWins => format!(
            "no spike rate makes it win {}; {level_clause}",
            if b.twin == TwinMode::Consistent.name() {
                "against a twin of the same mean level"
            } else {
                "at this ρ"
            }
        ),
        BreakEvenStatus::SnnWinsAbove => format!(
            "it wins only above a spike rate of {}",
            pct(r.unwrap_or(0.0))
        ),
        BreakEvenStatus::SnnAlwaysWins => format!(
            "it wins at every spike rate up to {}",
            pct(r.unwrap_or(1.0))
        ),
        BreakEvenStatus::SnnWinsWithin => format!(
            "it wins only at spike rates {} (the energies cross more than once)",
            wins_phrase(&b.wins, pct)
        ),
    };
    let m = &b.mapped;
    BreakEvenWords {
        rate,
        sparsity,
        level,
        edp: m.edp_status.map_or_else(
            || "—".into(),
            |s| status_cell(s, m.edp_spike_rate, &m.edp_wins),
        ),
        clause,
    }
}

/// The verdict on one comparison, in parts a rendering can set apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictWords {
    /// Architecture label.
    pub architecture: String,
    /// Where the verdict holds: "vgg16-cifar10 at T = 6, spike rate 5 %, ρ = 0.1".
    pub point: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict's first words: "the SNN loses", "no twin exists at this point".
    pub outcome: String,
    /// The rest of the sentence: by how much, where it breaks even, what decides it and what
    /// would flip it.
    pub detail: String,
}

impl VerdictWords {
    /// The verdict as one sentence after its architecture and point.
    pub fn sentence(&self) -> String {
        format!("{}{}", self.outcome, self.detail)
    }
}

/// The verdict on comparison `c` of `report`: who wins and by how much, where it breaks even
/// (from its break-even row, through [`breakeven_words`]), what decides it, and which inputs of
/// the sensitivity study flip it.
pub fn verdict_words(report: &Report, c: &Comparison) -> VerdictWords {
    let clause = report
        .breakeven_at(c.key())
        .map(|b| format!("; {}", breakeven_words(b).clause))
        .unwrap_or_default();
    // Structural choices are told by the band sentence; prices and parameters here.
    let flips: Vec<String> = report
        .tornadoes_at(c.key())
        .flat_map(|t| {
            t.rows
                .iter()
                .filter(|r| r.flips && r.kind != "choice")
                .map(move |r| format!("{} (±{:.0} %)", r.name, 100.0 * t.range))
        })
        .collect();
    let band: String = report
        .tornadoes_at(c.key())
        .map(|t| format!(" {}", structural_band(t)))
        .collect();
    let flip_text = if flips.is_empty() {
        String::new()
    } else {
        format!(
            " The verdict is fragile: it flips when one of these changes within its range: {}.",
            flips.join(", ")
        )
    };
    let (outcome, detail) = match c.verdict {
        Verdict::NoTwin => (
            "no twin exists at this point".to_string(),
            format!(
                " (ρ is outside r ≤ ρ ≤ min(1, r·T)), so the energies ({}× the {}) decide nothing{clause}.{flip_text}",
                ratio(c.ratio),
                c.baseline
            ),
        ),
        v => (
            format!(
                "the SNN {}",
                if v == Verdict::SnnWins {
                    "wins"
                } else {
                    "loses"
                }
            ),
            format!(
                " ({}× the energy of the {}){clause}.{}{band}{flip_text}",
                ratio(c.ratio),
                c.baseline,
                decisive(c)
            ),
        ),
    };
    VerdictWords {
        architecture: c.architecture.clone(),
        point: format!(
            "{} at T = {}, spike rate {}, ρ = {}",
            c.workload,
            c.timesteps,
            pct(c.spike_rate),
            sig(c.nonzero)
        ),
        verdict: c.verdict,
        outcome,
        detail,
    }
}

/// What decides a comparison: the categories whose energy differs most between the SNN and its
/// baseline in the direction of the verdict (the second only where the first makes less than
/// three quarters of the difference), the largest one pulling the other way where it is at least
/// a quarter of the difference, and the whole difference: " What decides it: weights
/// (+348.3 µJ of +426.6 µJ in all)."
fn decisive(c: &Comparison) -> String {
    let total = c.snn_pj - c.baseline_pj;
    if total == 0.0 || !total.is_finite() {
        return String::new();
    }
    let mut parts: Vec<(Category, f64)> = Category::ALL
        .iter()
        .map(|k| (*k, c.snn_breakdown.get(*k) - c.baseline_breakdown.get(*k)))
        .filter(|(_, d)| *d != 0.0)
        .collect();
    parts.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let (with, against): (Vec<_>, Vec<_>) = parts.into_iter().partition(|(_, d)| d * total > 0.0);
    let signed = |pj: f64| format!("{}{} µJ", if pj > 0.0 { "+" } else { "" }, num(pj * 1e-6));
    let part =
        |(k, d): &(Category, f64)| format!("{} ({})", k.name().replace('-', " "), signed(*d));
    let lead = match with.as_slice() {
        [] => return String::new(),
        [first, second, ..] if first.1 / total < 0.75 => {
            format!("{} and {}", part(first), part(second))
        }
        [first, ..] => part(first),
    };
    let pull = against
        .first()
        .filter(|(_, d)| (d / total).abs() >= 0.25)
        .map(|a| format!(" against {}", part(a)))
        .unwrap_or_default();
    format!(" What decides it: {lead}{pull}, {} in all.", signed(total))
}

/// What the structural choices do to a study's verdict, in one sentence: the SNN/twin ratio's
/// band over them and the choices that flip the verdict.
pub fn structural_band(t: &snnergy_core::report::Tornado) -> String {
    let d = &t.decisive;
    let band = format!(
        "Over the structural choices (zero handling, formats, residency, dataflow, batch 1–256, the twin's mean level 1–T) the ratio spans {}×–{}×",
        ratio(d.ratio_low),
        ratio(d.ratio_high)
    );
    if d.flipped_by.is_empty() {
        format!("{band}; no single choice flips the verdict.")
    } else {
        format!(
            "{band}; the verdict flips with {}.",
            d.flipped_by.join(", ")
        )
    }
}
