//! A layer of a network in a format, as the mapper's loop-nest problem, and the densities it
//! is evaluated at.

use snnergy_core::{
    ArchError, Format, Layer, LayerActivity, LayerKind, Network, Neuron as CoreNeuron, Source,
};
use snnergy_mapper::{Densities, Handoff, Kind, Neuron, Problem};

use crate::common::DirectInput;

/// How layers become problems: what every hardware-described architecture sets the same way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LayerRules {
    /// Inferences per weight fetch (the batch dimension N); counts are reported per inference.
    pub batch: u64,
    /// How a direct-coded first layer is computed.
    pub direct_input: DirectInput,
    /// Bits of an analog input value (image pixel).
    pub input_bits: u32,
}

/// Whether a layer is a loop nest (mapped: a layer with weights, or a product of two
/// activations) or weightless (counted by a rule).
pub(crate) fn is_mapped(layer: &Layer) -> bool {
    matches!(
        layer.kind,
        LayerKind::Conv2d { .. } | LayerKind::Linear | LayerKind::Product { .. }
    )
}

fn fits_u32(arch: &str, layer: &Layer, what: &str, v: u64) -> Result<u64, ArchError> {
    if v == 0 || v > u32::MAX as u64 {
        return Err(ArchError::Layer {
            architecture: arch.to_string(),
            layer: layer.name.clone(),
            message: format!(
                "{what} = {v} cannot be mapped (must be in 1..={})",
                u32::MAX
            ),
        });
    }
    Ok(v)
}

/// The problem of weighted layer `i` in `format`; `analog` says whether it receives the
/// direct-coded image.
pub(crate) fn problem(
    arch: &str,
    network: &Network,
    i: usize,
    format: &Format,
    analog: bool,
    rules: &LayerRules,
) -> Result<Problem, ArchError> {
    let l = &network.layers[i];
    let (g, k, c, p, q, r, s, sh, sw) = match &l.kind {
        LayerKind::Conv2d {
            kernel,
            stride,
            groups,
            ..
        } => {
            let g = (*groups).max(1) as u64;
            (
                g,
                l.output.c as u64 / g,
                l.input.c as u64 / g,
                l.output.h as u64,
                l.output.w as u64,
                kernel[0] as u64,
                kernel[1] as u64,
                stride[0] as u64,
                stride[1] as u64,
            )
        }
        LayerKind::Linear => (1, l.output.numel(), l.input.numel(), 1, 1, 1, 1, 1, 1),
        LayerKind::Product {
            groups,
            rows,
            columns,
            depth,
        } => {
            let dims = [*groups, *rows, *columns, *depth];
            return product(arch, network, i, format, rules, dims);
        }
        _ => {
            return Err(ArchError::Layer {
                architecture: arch.to_string(),
                layer: l.name.clone(),
                message: "a weightless layer has no loop nest to map".into(),
            });
        }
    };
    let mut pr = Problem {
        name: l.name.clone(),
        n: fits_u32(arch, l, "batch", rules.batch)?,
        g: fits_u32(arch, l, "groups", g)?,
        k: fits_u32(arch, l, "output channels", k)?,
        c: fits_u32(arch, l, "input channels", c)?,
        p: fits_u32(arch, l, "output rows", p)?,
        q: fits_u32(arch, l, "output columns", q)?,
        r: fits_u32(arch, l, "kernel rows", r)?,
        s: fits_u32(arch, l, "kernel columns", s)?,
        stride_h: fits_u32(arch, l, "stride", sh)?,
        stride_w: fits_u32(arch, l, "stride", sw)?,
        ..Problem::default()
    };
    set_format(&mut pr, l, format, analog, rules);
    if !analog {
        // A graded sum (a residual add or a product without neuron) is read at its width in
        // both formats: a multiply where a spike would select its weight.
        pr.input_bits = operand_bits(network, l.sources.first().copied(), format);
    }
    // The taps on padding read zeros: the mapper treats them as zero operands, so it needs
    // the valid taps of every inference and step (the loop nest's N and T).
    pr.valid_ops = Some(l.synapses() as f64 * pr.n as f64 * pr.t as f64);
    if matches!(l.kind, LayerKind::Conv2d { .. }) {
        // Padding is not stored: no input tile is larger than the real map.
        pr.input_h = Some(l.input.h as u64);
        pr.input_w = Some(l.input.w as u64);
    }
    pr.validate().map_err(|e| ArchError::Layer {
        architecture: arch.to_string(),
        layer: l.name.clone(),
        message: e.to_string(),
    })?;
    Ok(pr)
}

/// The problem of product layer `i` (out[g, row, col] = Σ_d A[g, row, d]·B[g, col, d]): G
/// groups, P rows of the first operand (the inputs), K rows of the second (the weights data
/// space, streamed: [`Problem::second_operand`]), C the terms summed. Each inference and step
/// has operands of its own, so the batch and the SNN's steps are folded into G: the counts per
/// inference are those of the product, and a neuron after it updates its membrane once per
/// step as it does unfolded (its storage is counted once per step, an upper bound).
fn product(
    arch: &str,
    network: &Network,
    i: usize,
    format: &Format,
    rules: &LayerRules,
    [groups, rows, columns, depth]: [u32; 4],
) -> Result<Problem, ArchError> {
    let l = &network.layers[i];
    let steps = match format {
        Format::Snn(f) => f.timesteps as u64,
        Format::Qnn(_) => 1,
    };
    let folded = (groups as u64)
        .checked_mul(rules.batch)
        .and_then(|g| g.checked_mul(steps))
        .unwrap_or(u64::MAX);
    let mut pr = Problem {
        name: l.name.clone(),
        g: fits_u32(arch, l, "groups × batch × steps", folded)?,
        k: fits_u32(arch, l, "columns", columns as u64)?,
        c: fits_u32(arch, l, "terms per output", depth as u64)?,
        p: fits_u32(arch, l, "rows", rows as u64)?,
        second_operand: true,
        ..Problem::default()
    };
    set_format(&mut pr, l, format, false, rules);
    pr.t = 1;
    pr.neuron_steps_per_accum = 1;
    let bits = |k: usize| operand_bits(network, l.sources.get(k).copied(), format);
    pr.input_bits = bits(0);
    pr.weight_bits = bits(1);
    pr.valid_ops = None;
    pr.validate().map_err(|e| ArchError::Layer {
        architecture: arch.to_string(),
        layer: l.name.clone(),
        message: e.to_string(),
    })?;
    Ok(pr)
}

/// Bits of a product's operand from `source` in `format`: a spike (1 bit) or the twin's
/// activation where a neuron or quantizer produced it; otherwise the graded value a layer
/// without neuron hands on: a sum of `depth` products or of several sources, as wide as its
/// largest value (within the twin's accumulator). Both formats follow the same rule, so a
/// one-bit twin holds the sums its SNN at one step holds.
fn operand_bits(network: &Network, source: Option<Source>, format: &Format) -> u32 {
    let producer = match source {
        Some(Source::Layer(j)) => network.layers.get(j).filter(|p| !p.neuron),
        _ => None,
    };
    let (activation_bits, ceiling) = match format {
        Format::Snn(_) => (1, u32::MAX),
        Format::Qnn(f) => (f.activation_bits, f.accumulator_bits),
    };
    let largest_activation = (1u64 << activation_bits.min(63)) - 1;
    let largest = producer.and_then(|p| match p.kind {
        LayerKind::Product { depth, .. } => Some(
            (depth as u64)
                .saturating_mul(largest_activation)
                .saturating_mul(largest_activation),
        ),
        LayerKind::Add => Some((p.sources.len() as u64).saturating_mul(largest_activation)),
        _ => None,
    });
    match largest {
        // Values 0..=largest need ⌈log2(largest + 1)⌉ bits.
        Some(n) if n > largest_activation => (64 - n.leading_zeros()).min(ceiling),
        _ => activation_bits,
    }
}

/// The widths and time steps of `format` on layer `l`'s problem; `analog`: it receives the
/// direct-coded image.
fn set_format(pr: &mut Problem, l: &Layer, format: &Format, analog: bool, rules: &LayerRules) {
    match format {
        Format::Qnn(f) => {
            pr.kind = Kind::Qnn;
            pr.weight_bits = f.weight_bits;
            pr.input_bits = if analog {
                rules.input_bits
            } else {
                f.activation_bits
            };
            pr.accum_bits = f.accumulator_bits;
            // A layer without a quantizer (the readout) hands on its sums.
            if !l.neuron {
                pr.handoff = Handoff::Sums;
            }
            pr.output_bits = if l.neuron {
                f.activation_bits
            } else {
                f.accumulator_bits
            };
        }
        Format::Snn(f) => {
            let t = f.timesteps as u64;
            *pr = std::mem::take(pr).into_snn(t, f.membrane_bits);
            pr.weight_bits = f.weight_bits;
            // The per-step input current is as wide as the membrane it is added to.
            pr.accum_bits = f.membrane_bits;
            // A layer without a neuron hands on its sums as its twin does: every step, or,
            // for a readout that integrates (I, LI), its membrane after the last step.
            if !l.neuron {
                pr.output_bits = f.membrane_bits;
                pr.handoff = match l.neuron_model.as_ref().map(|n| n.model) {
                    Some(CoreNeuron::I | CoreNeuron::Li { .. }) => Handoff::Membrane,
                    _ => Handoff::Sums,
                };
            }
            // The layer's own neuron where it has one (a LI readout leaks like a LIF).
            pr.neuron = match l.neuron_model.as_ref().map_or(f.neuron, |n| n.model) {
                CoreNeuron::If | CoreNeuron::I => Neuron::If,
                CoreNeuron::Lif { .. } | CoreNeuron::Li { .. } => Neuron::Lif,
                CoreNeuron::CubaLif { .. } => Neuron::CubaLif,
            };
            if analog {
                pr.input_bits = rules.input_bits;
                match rules.direct_input {
                    // The image is the same every step: accumulate it once, run T neuron
                    // steps on the stored current.
                    DirectInput::Once => {
                        pr.t = 1;
                        pr.neuron_steps_per_accum = t;
                    }
                    DirectInput::EveryStep => {}
                }
            }
        }
    }
}

/// The densities of a layer's inputs and outputs at `act` in `format`; `second_operand`: the
/// layer is a product of two activations, whose weights data space is its second operand. A
/// direct-coded image is as dense as the activity says: its measured share of non-zero pixels,
/// or dense where nothing measured it; both formats read the same image.
pub(crate) fn densities(format: &Format, second_operand: bool, act: &LayerActivity) -> Densities {
    let clamp = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            1.0
        }
    };
    match format {
        Format::Qnn(_) => Densities {
            input: clamp(act.input_nonzero),
            output: clamp(act.output_nonzero),
            weights: if second_operand {
                clamp(act.second_nonzero)
            } else {
                1.0
            },
            ever: None,
        },
        Format::Snn(s) => Densities {
            input: clamp(act.input_rate),
            output: clamp(act.output_rate),
            weights: if second_operand {
                clamp(act.second_rate)
            } else {
                1.0
            },
            // An input is non-zero in some step where its twin's value is non-zero: the
            // twin's non-zero fraction, within what the rate allows (at least one step's
            // spikes, at most every step's spikes on distinct inputs).
            ever: (!act.analog_input).then(|| {
                let most = act.input_rate * f64::from(s.timesteps);
                clamp(act.input_nonzero.min(most).max(act.input_rate))
            }),
        },
    }
}
