//! Mappings in words and as loop-nest listings.

use std::fmt::Write;

use crate::MappedLayer;
use crate::hardware::{Hardware, ZeroHandling};
use crate::mapping::Mapping;
use crate::model::{Action, Purpose};
use crate::problem::{DataSpace, Dim, NDIMS, Problem};

fn dims_list(ds: &[Dim]) -> String {
    match ds.len() {
        0 => String::new(),
        1 => ds[0].to_string(),
        _ => {
            let head: Vec<String> = ds[..ds.len() - 1].iter().map(|d| d.to_string()).collect();
            format!("{} and {}", head.join(", "), ds[ds.len() - 1])
        }
    }
}

/// One sentence per data space and one on time, e.g. "weights stationary in the PE spads
/// across P, Q and T; inputs multicast to 12 children of the glb; ...".
pub(crate) fn describe(m: &MappedLayer) -> String {
    let hw = &m.hardware;
    let mut parts: Vec<String> = m
        .problem
        .spaces()
        .filter_map(|ds| data_space(m, ds))
        .collect();
    let fin = m.counts.finalizing_level;
    parts.push(format!("partial sums final in {}", hw.levels[fin].name));
    if m.problem.carries() {
        parts.push(time(m));
    }
    parts.push(match hw.compute.zero_handling {
        ZeroHandling::Skip => {
            "zero inputs skipped at the compute (no cycle, no weight read, no partial-sum update)"
                .into()
        }
        ZeroHandling::Gate => {
            "zero inputs gated at the compute (no energy, the cycle is spent)".into()
        }
        ZeroHandling::None => "zero inputs computed like any other".into(),
    });
    let util = m.counts.units_used / hw.total_units() as f64;
    parts.push(format!(
        "{:.0} of {} units used ({:.0} %)",
        m.counts.units_used,
        hw.total_units(),
        util * 100.0
    ));
    parts.join("; ")
}

/// Where `ds` lives innermost and what stays it there, how it is multicast or reduced, and
/// where it is stored compressed (None if no level keeps it).
fn data_space(m: &MappedLayer, ds: DataSpace) -> Option<String> {
    let (hw, c) = (&m.hardware, m.compact());
    let n = hw.levels.len();
    let keepers: Vec<usize> = (0..n).filter(|&l| c.keep[l] & ds.bit() != 0).collect();
    let &inner = keepers.last()?;
    // Loops above the innermost keeper that leave its tile in place.
    let rel = ds.relevant_mask();
    let mut still: Vec<Dim> = Vec::new();
    'walk: for j in (0..inner).rev() {
        for &d in c.order[j].iter().rev() {
            let d = d as usize;
            if c.tf[j][d] == 1 || (ds == DataSpace::Membrane && matches!(d, 3 | 6 | 7)) {
                continue;
            }
            if rel & (1 << d) != 0 {
                break 'walk;
            }
            if !still.contains(&Dim::ALL[d]) {
                still.push(Dim::ALL[d]);
            }
        }
    }
    let lname = &hw.levels[inner].name;
    let mut s = if still.is_empty() {
        format!("{ds} in {lname}")
    } else {
        format!("{ds} stationary in {lname} across {}", dims_list(&still))
    };
    for j in 0..n {
        spread_below(m, ds, &keepers, j, &mut s);
    }
    if matches!(ds, DataSpace::Inputs | DataSpace::Outputs) {
        for &l in &keepers {
            let lv = &hw.levels[l];
            let f = if ds == DataSpace::Inputs {
                &lv.formats[c.fin[l] as usize]
            } else {
                &lv.formats[c.fout[l] as usize]
            };
            if f.is_compressed() {
                let _ = write!(s, "; stored as {} in {}", f.name(), hw.levels[l].name);
            }
        }
    }
    Some(s)
}

/// Multicast of `ds` (kept at `keepers`) and reduction of partial sums on the network below
/// level `j`, appended to `s`.
fn spread_below(m: &MappedLayer, ds: DataSpace, keepers: &[usize], j: usize, s: &mut String) {
    let (hw, c) = (&m.hardware, m.compact());
    let rel = ds.relevant_mask();
    let net = &hw.levels[j].network;
    let mut irr: Vec<String> = Vec::new();
    let mut red: Vec<String> = Vec::new();
    for d in 0..NDIMS {
        let f = c.sp(j, d);
        if f <= 1 || rel & (1 << d) != 0 {
            continue;
        }
        if ds == DataSpace::Accum && net.reduction {
            red.push(format!("{}×{f}", Dim::ALL[d]));
        } else if ds != DataSpace::Accum && net.multicast && keepers.iter().any(|&k| k <= j) {
            irr.push(format!("{}×{f}", Dim::ALL[d]));
        }
    }
    if !irr.is_empty() && matches!(ds, DataSpace::Weights | DataSpace::Inputs) {
        let _ = write!(
            s,
            "; multicast below {} to the children spanning {}",
            hw.levels[j].name,
            irr.join(", ")
        );
    }
    if !red.is_empty() {
        let _ = write!(
            s,
            "; partial sums reduced across {} in the network below {}",
            red.join(", "),
            hw.levels[j].name
        );
    }
}

/// Where T is split and whether membranes stay over the steps.
fn time(m: &MappedLayer) -> String {
    let (hw, c, p) = (&m.hardware, m.compact(), &m.problem);
    let n = hw.levels.len();
    let t = Dim::T.index();
    let at: Vec<String> = (0..n)
        .filter(|&l| c.tf[l][t] > 1)
        .map(|l| format!("{} at {}", c.tf[l][t], hw.levels[l].name))
        .collect();
    let moves: f64 = m
        .counts
        .accesses
        .iter()
        .filter(|a| {
            a.data_space == DataSpace::Membrane
                && a.action == Action::Fill
                && a.purpose == Purpose::Fill
        })
        .map(|a| a.elements)
        .sum();
    let dm = (p.n * p.g * p.k * p.p * p.q) as f64;
    let mi = (0..n)
        .rev()
        .find(|&l| c.keep[l] & DataSpace::Membrane.bit() != 0)
        .unwrap_or(0);
    let where_t = if at.is_empty() {
        "T = 1".to_string()
    } else {
        format!("T split {}", at.join(", "))
    };
    if moves == 0.0 {
        format!(
            "{where_t}: membranes stay in {} over all steps",
            hw.levels[mi].name
        )
    } else {
        format!(
            "{where_t}: membranes leave {} and come back {:.3} times per neuron",
            hw.levels[mi].name,
            moves / dm
        )
    }
}

/// Timeloop-style loop nest.
pub(crate) fn loop_nest(problem: &Problem, hw: &Hardware, mapping: &Mapping) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} on {}", problem.name, hw.name);
    let mut indent = 0;
    for lm in &mapping.levels {
        let keep: Vec<&str> = lm.keep.iter().map(|d| d.name()).collect();
        let raised: String = lm
            .spans_above
            .iter()
            .map(|(ds, b)| format!(" ({} spans {b} loops above)", ds.name()))
            .collect();
        let _ = writeln!(
            s,
            "{}{} [ {} ]{raised}",
            "  ".repeat(indent),
            lm.level,
            keep.join(" ")
        );
        for lp in &lm.temporal {
            let _ = writeln!(
                s,
                "{}| for {} in [0:{})",
                "  ".repeat(indent),
                lp.dim,
                lp.factor
            );
            indent += 1;
        }
        for sl in &lm.spatial {
            let _ = writeln!(
                s,
                "{}| for {} in [0:{}) (Spatial-{:?})",
                "  ".repeat(indent),
                sl.dim,
                sl.factor,
                sl.axis
            );
            indent += 1;
        }
    }
    let _ = writeln!(s, "{}<< compute >>", "  ".repeat(indent));
    s
}
