//! A mapped layer's dataflow family in words: how it treats zeros and spikes, where time sits,
//! and which operand stays longest where it is used.

use snnergy_mapper::{Action, DataSpace, Dim, Kind, MappedLayer, Purpose, ZeroHandling};

/// E.g. "event-driven scatter, time-batched (T×3 in PE), weights stationary in PE (×64)".
pub(crate) fn family(ml: &MappedLayer) -> String {
    let p = &ml.problem;
    let hw = &ml.hardware;
    let zero = hw.compute.zero_handling;
    let mut parts: Vec<String> = Vec::new();
    let spiking = p.kind == Kind::Snn && p.input_bits == 1;
    let scatter = ml.counts.accesses.iter().any(|a| a.scatter);
    parts.push(
        match (spiking, zero) {
            (true, ZeroHandling::Skip) if scatter => "event-driven scatter",
            (true, ZeroHandling::Skip) => "event-driven",
            (true, ZeroHandling::Gate) => "dense binary, zeros gated",
            (true, ZeroHandling::None) => "dense binary",
            (false, ZeroHandling::Skip) => "zeros skipped",
            (false, ZeroHandling::Gate) => "zeros gated",
            (false, ZeroHandling::None) => "dense",
        }
        .to_string(),
    );
    if p.kind == Kind::Snn {
        let steps = p.t * p.neuron_steps_per_accum;
        let mut inner = Vec::new();
        let mut outer = 1;
        for (l, lm) in ml.mapping.levels.iter().enumerate() {
            for lp in &lm.temporal {
                if lp.dim == Dim::T {
                    if l == 0 {
                        outer *= lp.factor;
                    } else {
                        inner.push(format!("T×{} in {}", lp.factor, lm.level));
                    }
                }
            }
        }
        if p.t == 1 && steps > 1 {
            parts.push(format!("current accumulated once, {steps} neuron steps"));
        } else if inner.is_empty() && outer > 1 {
            parts.push("time-step-major".into());
        } else if !inner.is_empty() {
            parts.push(format!("time-batched ({})", inner.join(", ")));
        }
    }
    if let Some(s) = stationary(ml) {
        parts.push(s);
    }
    parts.join(", ")
}

/// The operand reused most where it is used: "<data space> stationary in <level> (×reuse)".
fn stationary(ml: &MappedLayer) -> Option<String> {
    let ops = ml.problem.ops() as f64;
    let mut best: Option<(f64, DataSpace, usize)> = None;
    for ds in [DataSpace::Weights, DataSpace::Inputs, DataSpace::Accum] {
        let Some(l) = (0..ml.mapping.levels.len())
            .rev()
            .find(|&l| ml.mapping.levels[l].keep.contains(&ds))
        else {
            continue;
        };
        // How many operations each element brought to (or started at) that level serves.
        let arrivals: f64 = ml
            .counts
            .accesses
            .iter()
            .filter(|a| a.level == l && a.data_space == ds)
            .map(|a| match (ds, a.action, a.purpose) {
                (DataSpace::Accum, Action::Update, _) => a.elements,
                (DataSpace::Accum, Action::Read, Purpose::Accumulate) => -a.elements,
                (_, Action::Fill, _) => a.elements,
                _ => 0.0,
            })
            .sum();
        if arrivals <= 0.0 {
            continue;
        }
        let reuse = ops / arrivals;
        if best.is_none_or(|(r, _, _)| reuse > r) {
            best = Some((reuse, ds, l));
        }
    }
    let (reuse, ds, l) = best?;
    let what = match ds {
        DataSpace::Weights => "weights",
        DataSpace::Inputs => "inputs",
        _ => "partial sums",
    };
    Some(format!(
        "{what} stationary in {} (×{})",
        ml.mapping.levels[l].level,
        fmt_reuse(reuse)
    ))
}

fn fmt_reuse(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
