//! The epilogue: once per finished sum and neuron step, the finished sum is read where it
//! is final; a QNN requantizes it (a compare, and a multiply if the chip scales), an SNN adds
//! it to the membrane, compares with the threshold, subtracts on a spike and leaks (LIF).
//! The membrane and output accesses of the step are counted with their chains.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::{A_, Ctx};
use crate::pricing::ComputeOp;
use crate::problem::{Kind, Neuron};

impl Ctx<'_> {
    pub(super) fn epilogue(&self, keepers: &Keepers, out: &mut Counts) {
        let steps = self.epilogue_steps();
        out.epilogue_steps = steps;
        out.access(
            keepers.fin,
            A_,
            Action::Read,
            steps,
            Why::plain(Purpose::Epilogue),
        );
        let pr = self.problem;
        match pr.kind {
            Kind::Qnn => {
                let sums = self.finished_sums();
                let compare = ComputeOp::Compare {
                    bits: pr.accum_bits,
                };
                out.op(compare, sums, Scale::One, "requantization compare");
                if self.hw.compute.requantize_mul {
                    let scale = ComputeOp::Mul {
                        a_bits: pr.accum_bits,
                        b_bits: self.hw.compute.mac_bits,
                    };
                    out.op(scale, sums, Scale::One, "requantization scale");
                }
            }
            Kind::Snn => {
                let add = ComputeOp::Add {
                    bits: pr.membrane_bits,
                };
                let compare = ComputeOp::Compare {
                    bits: pr.membrane_bits,
                };
                out.op(add, steps, Scale::One, "input current into the membrane");
                out.op(compare, steps, Scale::One, "threshold compare");
                out.op(add, steps, Scale::Output, "reset by subtraction");
                if matches!(pr.neuron, Neuron::Lif | Neuron::CubaLif) {
                    out.op(add, steps, Scale::One, "leak (shift and subtract)");
                }
                if pr.neuron == Neuron::CubaLif {
                    out.op(add, steps, Scale::One, "synaptic current decay");
                    out.op(add, steps, Scale::One, "synaptic current into the membrane");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    /// The crate documentation's worked example (K2 at DRAM, P4 at the buffer, R3 in the
    /// register), with outputs kept at the levels given.
    fn worked(p: &crate::Problem, hw: &crate::Hardware, outputs: &[DataSpace]) -> Compact {
        let mut dram = vec![Weights, Inputs, Accum, Membrane, Outputs];
        dram.retain(|ds| p.spaces().any(|s| s == *ds));
        compact(
            p,
            hw,
            vec![
                level("DRAM", &[(D::K, 2)], &[], &dram),
                level(
                    "buffer",
                    &[(D::P, 4)],
                    &[],
                    &[&[Weights, Inputs][..], outputs].concat(),
                ),
                level("reg", &[(D::R, 3)], &[], &[Accum]),
            ],
        )
    }

    fn ops(c: &Counts) -> Vec<(&'static str, f64, Scale)> {
        c.ops.iter().map(|o| (o.what, o.count, o.scale)).collect()
    }

    #[test]
    fn a_qnn_requantizes_each_finished_sum_once() {
        let (p, mut hw) = (qnn(2, 1, 4, 1, 3, 1), chip([1, 1], true, false));
        hw.compute.requantize_mul = true;
        let ctx = ctx(&p, &hw);
        let m = worked(&p, &hw, &[]);
        let (_, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.epilogue(&keepers, &mut out);
        // 8 finished sums, read in the register where they finish.
        assert_eq!(out.epilogue_steps, 8.0);
        assert_eq!(
            accesses(&out, 2, Accum, Action::Read, Purpose::Epilogue),
            8.0
        );
        assert_eq!(
            ops(&out),
            vec![
                ("requantization compare", 8.0, Scale::One),
                ("requantization scale", 8.0, Scale::One),
            ]
        );
    }

    #[test]
    fn an_snn_neuron_step_integrates_compares_resets_on_a_spike_and_leaks() {
        let (mut p, hw) = (
            qnn(2, 1, 4, 1, 3, 1).into_snn(3, 16),
            chip([1, 1], true, false),
        );
        p.neuron = crate::Neuron::Lif;
        let ctx = ctx(&p, &hw);
        let m = compact(
            &p,
            &hw,
            vec![
                level(
                    "DRAM",
                    &[(D::T, 3), (D::K, 2)],
                    &[],
                    &[Weights, Inputs, Accum, Membrane, Outputs],
                ),
                level("buffer", &[(D::P, 4)], &[], &[Weights, Inputs]),
                level("reg", &[(D::R, 3)], &[], &[Accum]),
            ],
        );
        let (_, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.epilogue(&keepers, &mut out);
        // 8 neurons × 3 steps; the reset happens only on a spike.
        assert_eq!(out.epilogue_steps, 24.0);
        assert_eq!(
            ops(&out),
            vec![
                ("input current into the membrane", 24.0, Scale::One),
                ("threshold compare", 24.0, Scale::One),
                ("reset by subtraction", 24.0, Scale::Output),
                ("leak (shift and subtract)", 24.0, Scale::One),
            ]
        );
        // A direct-coded layer accumulates its current once and runs 3 steps on it.
        let (mut d, hw) = (p.clone(), chip([1, 1], true, false));
        (d.t, d.input_bits, d.neuron_steps_per_accum) = (1, 8, 3);
        let ctx = super::super::fixtures::ctx(&d, &hw);
        let m = worked(&d, &hw, &[]);
        let (_, keepers) = setup(&ctx, &m);
        let mut out = Counts::default();
        ctx.epilogue(&keepers, &mut out);
        assert_eq!(out.epilogue_steps, 24.0);
        assert_eq!(
            accesses(&out, 2, Accum, Action::Read, Purpose::Epilogue),
            24.0
        );
    }
}
