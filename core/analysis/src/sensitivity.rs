//! Sensitivity of the verdict: for one operating point (architecture, workload, T), how far
//! the break-even spike rate moves when each price class and each numeric parameter of the
//! architecture is changed one at a time by ±`range`, and when each structural choice of the
//! architecture (an enumerated parameter: dataflow, time order, zero handling, spike format,
//! weight residency; or a boolean: multicast) takes each of its other values (a tornado);
//! and whether the verdict at the operating point's activity flips, naming the value that
//! flips it.
//!
//! Prices are scaled with [`ScaledModel::class`]; parameters by rebuilding the architecture
//! through the registry from its TOML table with one key scaled (integers are rounded), so
//! every rule a parameter drives — residency, passes, mapping — is re-derived, not
//! extrapolated. A scaled value the architecture rejects (a bit width beyond its range) is
//! reported as such, not silently dropped. The twin enters too: the mean level L̄ under twin
//! consistency, the held non-zero fraction ρ otherwise.

use std::path::Path;

use rayon::prelude::*;

use snnergy_core::action::PriceClass;
use snnergy_core::activity::OperatingPoint;
use snnergy_core::settings::{AnalysisSettings, SensitivitySettings};

use crate::analysis::operating_points;
use crate::breakeven::{energy_wins, rate_intervals, status_of};
use crate::evaluator::Evaluator;
use crate::slots::{ArchSlot, WorkloadSlot};
use crate::twin::{Family, twin_exists};
use snnergy_core::energy::{EnergyModel, ScaledModel};
use snnergy_core::error::Error;
use snnergy_core::network::Network;
use snnergy_core::registry::{BuildContext, Registry};
use snnergy_core::report::{Decisive, Side, Tornado, TornadoRow, Verdict};
use snnergy_core::settings::{Baseline, MeanLevel, TwinMode};
use snnergy_core::traits::{ActivitySource, Architecture};

/// The T a study uses: its own, else the report's headline T.
pub fn study_timesteps(settings: &AnalysisSettings, s: &SensitivitySettings) -> u32 {
    s.timesteps.unwrap_or_else(|| settings.headline_timesteps())
}

#[derive(Clone, Copy)]
struct Point<'a> {
    net: &'a Network,
    settings: &'a AnalysisSettings,
    t: u32,
    point: &'a OperatingPoint,
    family: &'a Family,
}

/// A study's evaluation of one variant: its evaluator (kept, for the nominal, as the warm
/// start of every other variant) and its side of a row.
struct Variant<'a> {
    ev: Evaluator<'a>,
    side: Side,
}

/// One variant priced as the analysis prices it: both formats mapped at their best over the
/// family's anchors (starting from `warm`'s mappings when given), the verdict at the point and
/// every winning interval from the same evaluator, so a row's verdict and its break-even
/// never disagree.
fn variant<'a>(
    p: &Point<'a>,
    label: &'a str,
    arch: &'a dyn Architecture,
    energy: &'a dyn EnergyModel,
    value: String,
    warm: Option<&'a Evaluator<'_>>,
) -> Result<Variant<'a>, Error> {
    let snn = p.settings.snn_format(p.t);
    let base = p.settings.baseline_format(p.t);
    arch.check(p.net, &snn)?;
    arch.check(p.net, &base)?;
    let mut ev = Evaluator::new(label, arch, energy, p.net, p.settings.input_coding)
        .with_anchors(&p.family.anchors());
    if let Some(w) = warm {
        ev = ev.with_warm_starts(w);
    }
    let (e_snn, e_base) = (ev.total(&snn, p.point)?, ev.total(&base, p.point)?);
    let twin = p.settings.baseline != Baseline::CapacityMatched
        || twin_exists(
            p.point.mean_spike_rate(p.net),
            p.point.mean_nonzero(p.net),
            p.t,
        );
    let verdict = Verdict::of(e_snn, e_base, twin);
    let wins = energy_wins(&mut ev, p.family, &snn, &base)?;
    let (status, alpha) = status_of(&wins, p.family.alpha_max());
    let side = Side {
        value,
        breakeven: alpha.map(|a| p.family.at(a).mean_spike_rate(p.net)),
        status,
        wins: rate_intervals(&wins, p.family, p.net),
        ratio: e_snn / e_base,
        verdict,
    };
    Ok(Variant { ev, side })
}

fn side<'a>(
    p: &Point<'a>,
    label: &'a str,
    arch: &'a dyn Architecture,
    energy: &'a dyn EnergyModel,
    value: String,
    warm: &'a Evaluator<'_>,
) -> Result<Side, Error> {
    Ok(variant(p, label, arch, energy, value, Some(warm))?.side)
}

/// The twin row: ±range on L̄ (consistent: ρ = r·T/L̄ moves, at the operating point too when
/// the activity states rather than measures ρ) or on ρ (fixed-nonzero).
#[allow(clippy::too_many_arguments)]
fn twin_row(
    p: &Point<'_>,
    w: &WorkloadSlot,
    slot: &ArchSlot,
    nominal: &Variant<'_>,
    activity: &dyn ActivitySource,
    base_dir: &Path,
    factors: [f64; 2],
) -> Result<TornadoRow, Error> {
    let mut sides = Vec::new();
    for f in factors {
        let (settings, point, family, value);
        match p.settings.twin {
            TwinMode::Consistent => {
                let mut s = p.settings.clone();
                s.mean_level = match s.mean_level {
                    MeanLevel::Fixed(l) => MeanLevel::Fixed((l * f).max(1.0)),
                    MeanLevel::PerStep(x) => MeanLevel::PerStep((x * f).min(1.0)),
                };
                let points = operating_points(&s, activity, w, p.t, base_dir)?;
                family = Family::new(&s, p.net, &points[0], p.t, f);
                value = format!("L̄ ×{f}");
                point = points.into_iter().next().expect("checked non-empty");
                settings = s;
            }
            TwinMode::FixedNonzero => {
                let mut pt = p.point.clone();
                for r in &mut pt.layers {
                    r.nonzero = (r.nonzero * f).min(1.0);
                }
                pt.input.nonzero = (pt.input.nonzero * f).min(1.0);
                family = Family::new(p.settings, p.net, &pt, p.t, 1.0);
                value = format!("ρ ×{f}");
                point = pt;
                settings = p.settings.clone();
            }
        }
        let q = Point {
            net: p.net,
            settings: &settings,
            t: p.t,
            point: &point,
            family: &family,
        };
        let priced = slot.arch.priced_by(slot.energy.as_ref());
        sides.push(Some(side(
            &q,
            &slot.label,
            slot.arch.as_ref(),
            priced.as_ref(),
            value,
            &nominal.ev,
        )?));
    }
    let high = sides.pop().flatten();
    let low = sides.pop().flatten();
    let name = match p.settings.twin {
        TwinMode::Consistent => "mean level L̄",
        TwinMode::FixedNonzero => "non-zero fraction ρ",
    };
    Ok(row("twin", name, &nominal.side, low, high))
}

fn row(
    kind: &str,
    name: &str,
    nominal: &Side,
    low: Option<Side>,
    high: Option<Side>,
) -> TornadoRow {
    let eff = |s: &Option<Side>| {
        s.as_ref()
            .map(Side::effective)
            .unwrap_or(nominal.effective())
    };
    let flips = [&low, &high]
        .iter()
        .any(|s| s.as_ref().is_some_and(|s| s.verdict != nominal.verdict));
    TornadoRow {
        kind: kind.into(),
        name: name.into(),
        swing: (eff(&high) - eff(&low)).abs(),
        low,
        high,
        flips,
    }
}

/// Scales a numeric TOML value; `None` for anything that is not a number.
fn scaled(v: &toml::Value, f: f64) -> Option<toml::Value> {
    match v {
        toml::Value::Integer(i) => {
            let x = (*i as f64 * f).round() as i64;
            Some(toml::Value::Integer(if *i >= 1 { x.max(1) } else { x }))
        }
        toml::Value::Float(x) => Some(toml::Value::Float(x * f)),
        _ => None,
    }
}

/// The values a structural parameter may take instead of `current`: the other variants of a
/// string enumeration (read from the configuration's JSON schema) or the other boolean.
/// Numbers are scaled instead, and free-form strings (file names, chip names) are not
/// choices the study can enumerate.
fn alternatives(schema: &serde_json::Value, key: &str, current: &toml::Value) -> Vec<toml::Value> {
    // How hard the mapper searches is not a property of the hardware, and a thorough search
    // of every layer is the slowest thing a study could do.
    if key == "effort" {
        return Vec::new();
    }
    match current {
        toml::Value::Boolean(b) => return vec![toml::Value::Boolean(!b)],
        toml::Value::String(_) => {}
        _ => return Vec::new(),
    }
    let Some(prop) = schema.pointer(&format!("/properties/{key}")) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    collect_enum(schema, prop, &mut names, 0);
    names
        .into_iter()
        .filter(|n| Some(n.as_str()) != current.as_str())
        .map(toml::Value::String)
        .collect()
}

fn collect_enum(
    root: &serde_json::Value,
    v: &serde_json::Value,
    out: &mut Vec<String>,
    depth: u32,
) {
    if depth > 8 {
        return;
    }
    if let Some(r) = v.get("$ref").and_then(|r| r.as_str())
        && let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p))
    {
        collect_enum(root, target, out, depth + 1);
    }
    if let Some(c) = v.get("const").and_then(|c| c.as_str())
        && !out.iter().any(|o| o == c)
    {
        out.push(c.into());
    }
    if let Some(list) = v.get("enum").and_then(|e| e.as_array()) {
        for c in list.iter().filter_map(|c| c.as_str()) {
            if !out.iter().any(|o| o == c) {
                out.push(c.into());
            }
        }
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = v.get(k).and_then(|e| e.as_array()) {
            for x in list {
                collect_enum(root, x, out, depth + 1);
            }
        }
    }
}

/// Integer parameters whose meaningful range is a list of values rather than ±range: a
/// batch of 1 varied by ±50 % only reaches 2.
const SWEPT_INTEGERS: [(&str, &[i64]); 1] = [("batch", &[1, 8, 64, 256])];

/// Runs the study for every workload and architecture.
pub fn analyze(
    settings: &AnalysisSettings,
    study: &SensitivitySettings,
    workloads: &[WorkloadSlot],
    architectures: &[ArchSlot],
    activity: &dyn ActivitySource,
    base_dir: &Path,
    registry: Option<&Registry>,
) -> Result<Vec<Tornado>, Error> {
    study.validate()?;
    let t = study_timesteps(settings, study);
    let mut out = Vec::new();
    for w in workloads {
        let net = &w.network;
        let points = operating_points(settings, activity, w, t, base_dir)?;
        let point = &points[0];
        let family = Family::new(settings, net, point, t, 1.0);
        let p = Point {
            net,
            settings,
            t,
            point,
            family: &family,
        };
        let ctx = Study {
            study,
            activity,
            base_dir,
            registry,
        };
        // Architectures are independent: studied in parallel, reported in pipeline order.
        let studies: Vec<Result<Tornado, Error>> = architectures
            .par_iter()
            .map(|slot| study_architecture(&p, w, slot, &ctx))
            .collect();
        for s in studies {
            out.push(s?);
        }
    }
    Ok(out)
}

/// What every row of a study needs besides the point.
struct Study<'a> {
    study: &'a SensitivitySettings,
    activity: &'a dyn ActivitySource,
    base_dir: &'a Path,
    registry: Option<&'a Registry>,
}

fn study_architecture(
    p: &Point<'_>,
    w: &WorkloadSlot,
    slot: &ArchSlot,
    ctx: &Study<'_>,
) -> Result<Tornado, Error> {
    let factors = [1.0 - ctx.study.range, 1.0 + ctx.study.range];
    let priced = slot.arch.priced_by(slot.energy.as_ref());
    let energy = priced.as_ref();
    let mut nominal = variant(
        p,
        &slot.label,
        slot.arch.as_ref(),
        energy,
        "nominal".into(),
        None,
    )?;
    let mut rows = vec![twin_row(
        p,
        w,
        slot,
        &nominal,
        ctx.activity,
        ctx.base_dir,
        factors,
    )?];
    let mut notes = Vec::new();
    let levels = level_extremes(p, &mut nominal.ev)?;
    if ctx.study.prices {
        rows.extend(price_rows(p, slot, energy, &mut nominal, factors)?);
    }
    if ctx.study.parameters {
        parameter_rows(p, slot, &nominal, ctx, factors, &mut rows, &mut notes)?;
    }
    rows.sort_by(|a, b| b.swing.total_cmp(&a.swing).then(a.name.cmp(&b.name)));
    let decisive = decisive(&nominal.side, &rows, levels);
    Ok(Tornado {
        architecture: slot.label.clone(),
        workload: w.label.clone(),
        timesteps: p.t,
        baseline: p.settings.baseline_name(p.t),
        operating_point: p.point.label.clone(),
        spike_rate: p.point.mean_spike_rate(p.net),
        range: ctx.study.range,
        nominal: nominal.side,
        rows,
        decisive,
        notes,
    })
}

/// SNN/twin energy ratios at the point with every twin layer at the densest mean level
/// (L̄ = 1) and the sparsest (L̄ = T), on the nominal mappings' best.
fn level_extremes(p: &Point<'_>, ev: &mut Evaluator<'_>) -> Result<Option<[f64; 2]>, Error> {
    if p.settings.twin != TwinMode::Consistent {
        return Ok(None);
    }
    let snn = p.settings.snn_format(p.t);
    let base = p.settings.baseline_format(p.t);
    let e_snn = ev.total(&snn, p.point)?;
    let mut out = [0.0; 2];
    for (slot, level) in out.iter_mut().zip([1.0, p.t as f64]) {
        *slot = e_snn / ev.total(&base, &crate::twin::at_level(p.point, level, p.t))?;
    }
    Ok(Some(out))
}

/// What decides the verdict: the SNN/twin ratio at the point over the structural choices
/// (every other value of each choice, integer sweeps, the twin's mean level from 1 to T) and
/// the choices that flip the verdict.
fn decisive(nominal: &Side, rows: &[TornadoRow], levels: Option<[f64; 2]>) -> Decisive {
    let mut lo = nominal.ratio;
    let mut hi = nominal.ratio;
    let mut flipped_by = Vec::new();
    for r in rows.iter().filter(|r| r.kind == "choice") {
        for s in [&r.low, &r.high].into_iter().flatten() {
            lo = lo.min(s.ratio);
            hi = hi.max(s.ratio);
            if s.verdict != nominal.verdict {
                flipped_by.push(r.name.clone());
            }
        }
    }
    if let Some([dense, sparse]) = levels {
        for (ratio, name) in [(dense, "mean level L̄ = 1"), (sparse, "mean level L̄ = T")] {
            lo = lo.min(ratio);
            hi = hi.max(ratio);
            if (ratio < 1.0) != (nominal.ratio < 1.0) && nominal.verdict != Verdict::NoTwin {
                flipped_by.push(name.into());
            }
        }
    }
    flipped_by.dedup();
    Decisive {
        ratio_low: lo,
        ratio_high: hi,
        flipped_by,
    }
}

fn price_rows(
    p: &Point<'_>,
    slot: &ArchSlot,
    energy: &dyn EnergyModel,
    nominal: &mut Variant<'_>,
    factors: [f64; 2],
) -> Result<Vec<TornadoRow>, Error> {
    // Only classes that carry energy here can move anything.
    let s = nominal.ev.detailed(&p.settings.snn_format(p.t), p.point)?;
    let b = nominal
        .ev
        .detailed(&p.settings.baseline_format(p.t), p.point)?;
    let used = |class: &PriceClass| {
        let on = |m: &std::collections::BTreeMap<PriceClass, f64>| {
            m.get(class).is_some_and(|e| *e > 0.0)
        };
        on(&s.by_class) || on(&b.by_class)
    };
    let classes: Vec<PriceClass> = PriceClass::ALL.into_iter().filter(used).collect();
    let nominal: &Variant<'_> = nominal;
    classes
        .par_iter()
        .map(|class| {
            let mut sides = Vec::new();
            for f in factors {
                let m = ScaledModel::class(energy, *class, f);
                sides.push(Some(side(
                    p,
                    &slot.label,
                    slot.arch.as_ref(),
                    &m,
                    format!("×{f}"),
                    &nominal.ev,
                )?));
            }
            let high = sides.pop().flatten();
            let low = sides.pop().flatten();
            Ok(row("price", class.name(), &nominal.side, low, high))
        })
        .collect()
}

/// Numeric parameters scaled by ±range (or swept over their list), structural choices set
/// to each other value: the architecture rebuilt through the registry from its table with
/// one key changed, on the same operating point.
#[allow(clippy::too_many_arguments)]
fn parameter_rows(
    p: &Point<'_>,
    slot: &ArchSlot,
    nominal: &Variant<'_>,
    ctx: &Study<'_>,
    factors: [f64; 2],
    rows: &mut Vec<TornadoRow>,
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    let (reg, params) = match (ctx.registry, &slot.params) {
        (None, _) => {
            notes.push(
                "architecture parameters not varied: no registry to rebuild the architecture with"
                    .into(),
            );
            return Ok(());
        }
        (_, None) => {
            notes.push("architecture parameters not varied: the architecture was built in code, without a parameter table".into());
            return Ok(());
        }
        (Some(reg), Some(params)) => (reg, params),
    };
    let Some(entry) = reg.entry::<dyn Architecture>(&slot.type_name) else {
        notes.push(format!(
            "architecture parameters not varied: type `{}` is not in the registry",
            slot.type_name
        ));
        return Ok(());
    };
    let mut table = entry.info.defaults.clone();
    for (k, v) in params {
        table.insert(k.clone(), v.clone());
    }
    let with = |key: &str, v: &toml::Value, shown: String| -> Result<Side, Error> {
        let mut t2 = table.clone();
        t2.insert(key.to_owned(), v.clone());
        let build = BuildContext {
            registry: reg,
            base_dir: ctx.base_dir,
        };
        let arch = reg.build_in::<dyn Architecture>(&slot.type_name, t2, &build)?;
        side(
            p,
            &slot.label,
            arch.as_ref(),
            arch.priced_by(slot.energy.as_ref()).as_ref(),
            shown,
            &nominal.ev,
        )
    };
    let specs = variations(&table, &entry.info.schema, factors);
    // Each variation rebuilds and maps the architecture on its own: in parallel, reported in
    // the order of the table. A value the architecture rejects is a note, not a failure.
    let done: Vec<(Option<TornadoRow>, Vec<String>)> = specs
        .par_iter()
        .map(|v| {
            let mut notes = Vec::new();
            let mut sides: Vec<Option<Side>> = v
                .values
                .iter()
                .map(|value| {
                    let shown = match value {
                        toml::Value::String(s) => s.clone(),
                        x => x.to_string(),
                    };
                    with(&v.key, value, shown.clone())
                        .map_err(|e| notes.push(format!("`{}` = {shown}: {e}", v.key)))
                        .ok()
                })
                .collect();
            let row = if v.kind == "parameter" {
                let high = sides.pop().flatten();
                let low = sides.pop().flatten();
                Some(row("parameter", &v.key, &nominal.side, low, high))
            } else {
                sides.pop().flatten().map(|s| {
                    let name = format!("{} = {}", v.key, s.value);
                    row("choice", &name, &nominal.side, Some(s), None)
                })
            };
            (row, notes)
        })
        .collect();
    for (r, n) in done {
        rows.extend(r);
        notes.extend(n);
    }
    Ok(())
}

/// One input a study varies: a numeric parameter (two values, ±range) or one other value of
/// a choice (an enumeration, a boolean, or a swept integer).
struct Variation {
    kind: &'static str,
    key: String,
    values: Vec<toml::Value>,
}

/// Every variation of an architecture's parameter table, in its order: swept integers and
/// numeric parameters first, then the structural choices.
fn variations(
    table: &toml::Table,
    schema: &serde_json::Value,
    factors: [f64; 2],
) -> Vec<Variation> {
    let mut out = Vec::new();
    for (key, value) in table {
        if let Some((_, values)) = SWEPT_INTEGERS.iter().find(|(k, _)| k == key) {
            for v in values.iter().filter(|v| Some(**v) != value.as_integer()) {
                out.push(Variation {
                    kind: "choice",
                    key: key.clone(),
                    values: vec![toml::Value::Integer(*v)],
                });
            }
        } else if scaled(value, 1.0).is_some() {
            out.push(Variation {
                kind: "parameter",
                key: key.clone(),
                values: factors
                    .iter()
                    .map(|f| scaled(value, *f).expect("numeric"))
                    .collect(),
            });
        }
    }
    for (key, value) in table {
        for alt in alternatives(schema, key, value) {
            out.push(Variation {
                kind: "choice",
                key: key.clone(),
                values: vec![alt],
            });
        }
    }
    out
}
