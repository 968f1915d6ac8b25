//! `my-chip`: the template of a snnergy hardware plugin. Copy this crate, rename the
//! architecture, and replace the counting rules with your chip's.
//!
//! The chip modelled here is deliberately simple, but every number it reports follows from a
//! stated rule: an event-driven core that keeps all weights in one on-chip SRAM and every
//! membrane potential (or partial sum) in a register file next to its adder.
//!
//! - SNN, per input spike: one read of the spike's address from the SRAM; per synaptic event
//!   (S·T·r): one weight read from the SRAM and one accumulation into the membrane register;
//!   per neuron and step: a threshold compare; per output spike: one address written back.
//! - QNN, per input value: one SRAM read; per multiply-accumulate with a non-zero input
//!   (S·ρ): one weight read, one multiply, one accumulation into the partial-sum register;
//!   per output: one compare (requantize) and one SRAM write.
//! - Pooling and residual additions are not counted: next to the synapses of the weighted
//!   layers they are small, and this template keeps to what it states.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_plugin_sdk::snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, Assumption, BuildContext, Category, Component,
    ComputeOp, ConfigError, Format, LayerActivity, Memory, Network,
};

/// Bits of a spike's address (up to 64 Ki neurons per layer).
const ADDRESS_BITS: u32 = 16;

/// The keys of `[[architecture]] type = "my-chip"`, with their defaults. The doc comment of
/// each field is what `snnergy describe my-chip` says about the key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MyChipConfig {
    /// on-chip SRAM for weights and activations, KiB (default 16384: VGG16's 15 M 8-bit
    /// weights fit)
    pub sram_kib: f64,
}

impl Default for MyChipConfig {
    fn default() -> Self {
        Self { sram_kib: 16384.0 }
    }
}

/// The architecture.
#[derive(Clone, Debug)]
pub struct MyChip {
    sram_bytes: u64,
}

impl Architecture for MyChip {
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        let bits: u64 =
            network.layers.iter().map(|l| l.weights()).sum::<u64>() * format.weight_bits() as u64;
        if bits / 8 > self.sram_bytes {
            return Err(ArchError::Config {
                architecture: "my-chip".into(),
                message: format!(
                    "the weights need {} KiB, the SRAM holds {} KiB: raise sram_kib",
                    bits / 8 / 1024,
                    self.sram_bytes / 1024
                ),
            });
        }
        Ok(())
    }

    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        let l = &network.layers[layer];
        if !l.is_weighted() {
            return Ok(());
        }
        let synapses = l.synapses() as f64;
        let inputs = l.input_size() as f64;
        let neurons = l.neurons() as f64;
        let w = format.weight_bits();
        let sram = |bits| ActionKind::read(Memory::Sram, bits, self.sram_bytes);
        let sram_write = |bits| ActionKind::write(Memory::Sram, bits, self.sram_bytes);
        match format {
            Format::Snn(snn) => {
                let t = snn.timesteps as f64;
                let v = snn.membrane_bits;
                // A direct-coded first layer sees the dense image every step.
                let rate = if activity.analog_input {
                    1.0
                } else {
                    activity.input_rate
                };
                out.push(sram(ADDRESS_BITS), Category::Activations, inputs * t * rate);
                out.push(sram(w), Category::Weights, synapses * t * rate);
                out.push(
                    ActionKind::compute(ComputeOp::Add, v),
                    Category::Compute,
                    synapses * t * rate,
                );
                out.push(
                    ActionKind::write(Memory::Register, v, 0),
                    Category::Membrane,
                    synapses * t * rate,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Compare, v),
                    Category::Compute,
                    neurons * t,
                );
                let spikes = neurons * t * activity.output_rate;
                out.push(sram_write(ADDRESS_BITS), Category::Outputs, spikes);
            }
            Format::Qnn(q) => {
                let macs = synapses * activity.input_nonzero;
                out.push(sram(q.activation_bits), Category::Activations, inputs);
                out.push(sram(w), Category::Weights, macs);
                out.push(
                    ActionKind::compute(ComputeOp::Mul, w.max(q.activation_bits)),
                    Category::Compute,
                    macs,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Add, q.accumulator_bits),
                    Category::Compute,
                    macs,
                );
                out.push(
                    ActionKind::write(Memory::Register, q.accumulator_bits, 0),
                    Category::PartialSums,
                    macs,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Compare, q.accumulator_bits),
                    Category::Compute,
                    neurons,
                );
                out.push(sram_write(q.activation_bits), Category::Outputs, neurons);
            }
        }
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        vec![Assumption::new(
            "SRAM",
            format!("{} KiB", self.sram_bytes / 1024),
            "all weights and activations on chip",
        )]
    }
}

impl Component for MyChip {
    type Interface = dyn Architecture;
    type Config = MyChipConfig;
    const NAME: &'static str = "my-chip";
    const SUMMARY: &'static str = "template: an event-driven core with all weights in one SRAM";

    fn build(
        config: MyChipConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        if !(config.sram_kib.is_finite() && config.sram_kib > 0.0) {
            return Err(ConfigError::new(format!(
                "sram_kib = {} must be positive",
                config.sram_kib
            ))
            .at_key("sram_kib"));
        }
        Ok(Box::new(MyChip {
            sram_bytes: (config.sram_kib * 1024.0) as u64,
        }))
    }
}

snnergy_plugin_sdk::export_plugin!(MyChip);
