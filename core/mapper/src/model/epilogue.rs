//! The epilogue: once per finished sum and neuron step, the finished sum is read where it
//! is final; a QNN requantizes it (a compare, and a multiply if the chip scales), an SNN adds
//! it to the membrane, compares with the threshold, subtracts on a spike and leaks (LIF).
//! The membrane and output accesses of the step are counted with their chains.

use super::counts::{Action, Counts, Purpose, Scale, Why};
use super::keepers::Keepers;
use super::{A_, Ctx};
use crate::price::ComputeOp;
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
                if pr.neuron == Neuron::Lif {
                    out.op(add, steps, Scale::One, "leak (shift and subtract)");
                }
            }
        }
    }
}
