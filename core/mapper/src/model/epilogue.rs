//! The epilogue: once per finished sum and neuron step, the finished sum is read where it
//! is final; a QNN requantizes it (a compare, and a multiply if the chip scales a multi-bit
//! output: a 1-bit output's scale folds into its threshold), an SNN compares its membrane
//! with the threshold. Only where a step follows another does an SNN add the current to a
//! carried membrane and leak it (the first step's membrane is the current itself), and only
//! where a next step follows does a spike reset it: with one step an SNN neuron is its 1-bit
//! twin's activation. The membrane and output accesses of the step are counted with their
//! chains.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::{A_, Ctx};
use crate::pricing::ComputeOp;
use crate::problem::{Handoff, Kind, Neuron};

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
            Kind::Qnn | Kind::Snn if pr.handoff == Handoff::Sums => {}
            Kind::Qnn if pr.handoff != Handoff::Fires => {}
            Kind::Qnn => {
                let sums = self.finished_sums();
                let compare = ComputeOp::Compare {
                    bits: pr.accum_bits,
                };
                out.op(compare, sums, Scale::One, "requantization compare");
                if self.hw.compute.requantize_mul && pr.output_bits > 1 {
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
                let carries = self.carries();
                out.op(add, carries, Scale::One, "input current into the membrane");
                if pr.handoff == Handoff::Fires {
                    out.op(compare, steps, Scale::One, "threshold compare");
                    out.op(add, carries, Scale::Output, "reset by subtraction");
                }
                if matches!(pr.neuron, Neuron::Lif | Neuron::CubaLif) {
                    out.op(add, carries, Scale::One, "leak (shift and subtract)");
                }
                if pr.neuron == Neuron::CubaLif {
                    out.op(add, carries, Scale::One, "synaptic current decay");
                    out.op(
                        add,
                        carries,
                        Scale::One,
                        "synaptic current into the membrane",
                    );
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
        // 8 neurons × 3 steps compare; the membrane is added to, leaked and reset (on a
        // spike) only where a step follows another: 8 × 2.
        assert_eq!(out.epilogue_steps, 24.0);
        assert_eq!(
            ops(&out),
            vec![
                ("input current into the membrane", 16.0, Scale::One),
                ("threshold compare", 24.0, Scale::One),
                ("reset by subtraction", 16.0, Scale::Output),
                ("leak (shift and subtract)", 16.0, Scale::One),
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

    #[test]
    fn a_one_step_snn_is_counted_and_priced_as_its_one_bit_twin() {
        // Nothing carries past a single step: no membrane, no add into it, no reset, the
        // same addition per input and the same compare per output as the 1-bit QNN.
        let hw = chip([1, 1], true, false);
        let snn = qnn(2, 1, 4, 1, 3, 1).into_snn(1, 16);
        let mut twin = qnn(2, 1, 4, 1, 3, 1);
        (twin.input_bits, twin.output_bits, twin.accum_bits) = (1, 1, 16);
        let (cs, ct) = (ctx(&snn, &hw), ctx(&twin, &hw));
        let (ms, mt) = (
            worked(&snn, &hw, &[Outputs]),
            worked(&twin, &hw, &[Outputs]),
        );
        let (mut a, mut b) = (Counts::default(), Counts::default());
        cs.count(&ms, &mut a).unwrap();
        ct.count(&mt, &mut b).unwrap();
        assert!(!snn.spaces().any(|d| d == Membrane));
        assert_eq!(
            ops(&a).iter().map(|o| (o.1, o.2)).collect::<Vec<_>>(),
            ops(&b).iter().map(|o| (o.1, o.2)).collect::<Vec<_>>()
        );
        for d in [0.0, 0.3, 1.0] {
            let dens = crate::problem::Densities::uniform(d);
            assert_eq!(
                cs.quick(&ms, &a, &dens),
                ct.quick(&mt, &b, &dens),
                "density {d}"
            );
        }
    }
}
