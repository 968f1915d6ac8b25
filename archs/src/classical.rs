//! `classical`: a multi-level memory hierarchy — DRAM, an on-chip SRAM buffer split into a
//! weight bank and an activation bank, and a PE array — counted from first principles.
//!
//! Per layer (S synapses, N neurons, W weights, A inputs; r input spike rate, T steps,
//! ρ baseline non-zero fraction):
//!
//! - **QNN**: per MAC (ρ·S with zero-skipping) a weight read (weight bank), an input read and a
//!   partial-sum read and write (activation bank), a MUL and an ADD; per output one
//!   quantization compare and one write.
//! - **SNN**: per synaptic event (r·T·S) a weight read, a membrane read and write, an ADD; per
//!   arriving spike one read of its bit; per neuron per step a membrane read and write and a
//!   threshold compare (and a leak multiply for LIF); per output spike a reset subtraction and a
//!   write of its bit.
//! - **Residency is computed**: a layer's weights are fetched from DRAM once per inference if
//!   they fit the weight bank; otherwise they stream through it in tiles, and every tile must
//!   meet every input it multiplies. The number of passes over the weights is how many times
//!   the activation bank must be refilled to hold the layer's working set (inputs and partial
//!   sums for the QNN; the input spikes of *all* T steps and the membranes for the SNN in
//!   layer-major order). In time-step-major order the weights of the whole network must stay
//!   on chip across steps; if they do not, the cyclic access pattern evicts every layer before
//!   its reuse (LRU) and every layer's weights are fetched again every step, and the membranes
//!   of every layer spill to DRAM when they do not all fit the activation bank.
//! - Outputs that do not fit the activation bank go to DRAM and are read back by the next
//!   layer. DRAM moves whole words (`dram_word_bits`), as bursts do; every word fetched is
//!   written into the buffer once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, Assumption, BuildContext, Category, Component,
    ComputeOp, ConfigError, Format, LayerActivity, MappedArchitecture, Memory, Network, QnnFormat,
    SnnFormat,
};

use crate::common::{
    Dims, DirectInput, LoopOrder, QnnWork, SnnWork, bits_param, check_format, layer_error,
    mul_bits, network_sum, neuron_arithmetic, positive, put, qnn_arithmetic,
};

/// `[[architecture]] type = "classical"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClassicalConfig {
    /// weight bank of the on-chip SRAM buffer, KiB; default 256 (half of a 512 KiB buffer, e.g.
    /// NVDLA's convolution buffer split between weights and data). A layer whose weights fit is
    /// fetched from DRAM once per inference; weight reads are priced at this capacity
    pub weight_buffer_kib: f64,
    /// activation bank (inputs, outputs, membranes, partial sums), KiB; default 256 (the other
    /// half). Decides how many passes non-resident weights need and whether outputs and
    /// (time-step-major) membranes spill to DRAM; its accesses are priced at this capacity
    pub activation_buffer_kib: f64,
    /// bits one DRAM access moves; default 64 (the width Horowitz's DRAM figure is given for);
    /// DRAM traffic is counted in whole words, as bursts move it
    pub dram_word_bits: u32,
    /// "layer-major" (default: a layer runs all T steps, so a fetched weight serves every step)
    /// or "timestep-major" (every layer advances one step at a time; weights that do not all
    /// stay on chip are fetched every step — the T-fold traffic of the paper)
    pub loop_order: LoopOrder,
    /// whether the baseline skips MACs, reads and writes of zero activations; default true (the
    /// paper's ρ·80.23 assumes it)
    pub zero_skipping: bool,
    /// direct-coded first layer: "once" (default: the image is the same every step, so its MACs
    /// are done once and the stored current is added every step) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
}

impl Default for ClassicalConfig {
    fn default() -> Self {
        Self {
            weight_buffer_kib: 256.0,
            activation_buffer_kib: 256.0,
            dram_word_bits: 64,
            loop_order: LoopOrder::default(),
            zero_skipping: true,
            direct_input: DirectInput::default(),
            input_bits: 8,
        }
    }
}

/// The classical architecture.
#[derive(Clone, Debug, PartialEq)]
pub struct Classical {
    config: ClassicalConfig,
    wcap: u64,
    acap: u64,
}

impl Classical {
    /// Validates the configuration.
    pub fn new(config: ClassicalConfig) -> Result<Self, ConfigError> {
        let w = positive(
            "weight_buffer_kib",
            config.weight_buffer_kib,
            "the weight bank",
        )?;
        let a = positive(
            "activation_buffer_kib",
            config.activation_buffer_kib,
            "the activation bank",
        )?;
        bits_param("dram_word_bits", config.dram_word_bits)?;
        bits_param("input_bits", config.input_bits)?;
        let wcap = (w * 1024.0).round() as u64;
        let acap = (a * 1024.0).round() as u64;
        if wcap == 0 || acap == 0 {
            return Err(ConfigError::new(
                "a buffer bank smaller than one byte cannot hold anything",
            ));
        }
        Ok(Self { config, wcap, acap })
    }

    /// The configuration.
    pub fn config(&self) -> &ClassicalConfig {
        &self.config
    }
}

const NAME: &str = "classical";

/// What the whole network needs, for rules that look beyond one layer.
/// What the classical architecture decides for a whole network: what stays on chip.
#[derive(Clone, Copy, Debug)]
pub struct NetPlan {
    /// Every layer's weights fit the weight bank at once.
    weights_resident: bool,
    /// Every stateful layer's membranes fit the activation bank at once.
    membranes_resident: bool,
}

impl Classical {
    fn plan(&self, network: &Network, format: &Format) -> NetPlan {
        let wb = format.weight_bits() as f64;
        let weights = network_sum(network, |l| l.weights() as f64 * wb / 8.0);
        let membranes = match format {
            Format::Snn(s) => network_sum(network, |l| {
                let d = Dims::of(l);
                if d.stateful() {
                    d.n * s.membrane_bits as f64 / 8.0
                } else {
                    0.0
                }
            }),
            Format::Qnn(_) => 0.0,
        };
        NetPlan {
            weights_resident: weights <= self.wcap as f64,
            membranes_resident: membranes <= self.acap as f64,
        }
    }

    fn emit(
        &self,
        network: &Network,
        i: usize,
        format: &Format,
        act: &LayerActivity,
        plan: &NetPlan,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.check_layer(network, i, format)?;
        let d = Dims::of(&network.layers[i]);
        match format {
            Format::Snn(s) => self.snn(&d, s, act, plan, out),
            Format::Qnn(q) => self.qnn(&d, q, act, out),
        }
        Ok(())
    }

    /// DRAM words for `bits` bits.
    fn words(&self, bits: f64) -> f64 {
        bits / self.config.dram_word_bits as f64
    }

    fn weight_fetch(&self, d: &Dims, wb: u32, passes: f64, out: &mut Actions) {
        if d.w == 0.0 || passes == 0.0 {
            return;
        }
        let word = self.config.dram_word_bits;
        let n = passes * self.words(d.w * wb as f64);
        put(
            out,
            ActionKind::read(Memory::Dram, word, 0),
            Category::Weights,
            n,
        );
        put(
            out,
            ActionKind::write(Memory::Sram, word, self.wcap),
            Category::Weights,
            n,
        );
    }

    fn spill(&self, values: f64, bits: u32, out: &mut Actions) {
        let word = self.config.dram_word_bits;
        let n = self.words(values * bits as f64);
        if n > 0.0 {
            put(
                out,
                ActionKind::write(Memory::Dram, word, 0),
                Category::Outputs,
                n,
            );
            put(
                out,
                ActionKind::read(Memory::Dram, word, 0),
                Category::Outputs,
                n,
            );
        }
    }

    fn snn(&self, d: &Dims, s: &SnnFormat, act: &LayerActivity, plan: &NetPlan, out: &mut Actions) {
        let t = s.timesteps as f64;
        let (wb, mb) = (s.weight_bits, s.membrane_bits);
        let (wcap, acap) = (self.wcap, self.acap);
        let w = SnnWork::of(d, t, act, self.config.direct_input);
        let add = ActionKind::compute(ComputeOp::Add, mb);
        let acc_read = ActionKind::read(Memory::Sram, mb, acap);
        let acc_write = ActionKind::write(Memory::Sram, mb, acap);

        // Spike-driven work.
        put(
            out,
            ActionKind::read(Memory::Sram, 1, acap),
            Category::Activations,
            w.input_spikes,
        );
        match d.op {
            crate::common::Op::Weighted | crate::common::Op::Add => {
                if d.weighted() {
                    put(
                        out,
                        ActionKind::read(Memory::Sram, wb, wcap),
                        Category::Weights,
                        w.events,
                    );
                }
                put(out, acc_read, Category::Membrane, w.events);
                put(out, acc_write, Category::Membrane, w.events);
                put(out, add, Category::Compute, w.events);
            }
            crate::common::Op::AvgPool => put(out, add, Category::Compute, w.events),
            crate::common::Op::MaxPool => put(
                out,
                ActionKind::compute(ComputeOp::Compare, mb),
                Category::Compute,
                w.events,
            ),
        }

        // A direct-coded first layer multiplies the analog image.
        if w.analog_macs > 0.0 {
            let ib = self.config.input_bits;
            if d.weighted() {
                put(
                    out,
                    ActionKind::read(Memory::Sram, wb, wcap),
                    Category::Weights,
                    w.analog_macs,
                );
                put(
                    out,
                    ActionKind::compute(ComputeOp::Mul, mul_bits(wb, ib)),
                    Category::Compute,
                    w.analog_macs,
                );
            }
            put(
                out,
                ActionKind::read(Memory::Sram, ib, acap),
                Category::Activations,
                w.analog_inputs,
            );
            put(out, acc_read, Category::PartialSums, w.analog_macs);
            put(out, acc_write, Category::PartialSums, w.analog_macs);
            put(out, add, Category::Compute, w.analog_macs);
            // The stored input current, added to the membrane every step.
            put(out, acc_read, Category::Activations, w.current_adds);
            put(out, add, Category::Compute, w.current_adds);
        }

        // Time-driven work: every neuron every step.
        put(out, acc_read, Category::Membrane, w.neuron_steps);
        put(out, acc_write, Category::Membrane, w.neuron_steps);
        neuron_arithmetic(out, s.neuron, mb, &w);
        put(
            out,
            ActionKind::write(Memory::Sram, 1, acap),
            Category::Outputs,
            w.out_spikes,
        );

        let layer_major = self.config.loop_order == LoopOrder::LayerMajor;
        // Weights from DRAM.
        let passes = if layer_major {
            if d.w * wb as f64 / 8.0 <= wcap as f64 {
                1.0
            } else {
                let ws = (d.a * t + d.n * mb as f64) / 8.0;
                (ws / acap as f64).ceil().max(1.0)
            }
        } else if plan.weights_resident {
            1.0
        } else {
            let ws = (d.a + d.n * mb as f64) / 8.0;
            t * (ws / acap as f64).ceil().max(1.0)
        };
        self.weight_fetch(d, wb, passes, out);

        // Membranes that cannot stay on chip between steps (time-step-major only: in
        // layer-major order a tile of neurons runs all its steps before the next tile).
        if !layer_major && !plan.membranes_resident && d.stateful() {
            let word = self.config.dram_word_bits;
            let n = self.words(w.neuron_steps * mb as f64);
            put(
                out,
                ActionKind::read(Memory::Dram, word, 0),
                Category::Membrane,
                n,
            );
            put(
                out,
                ActionKind::write(Memory::Dram, word, 0),
                Category::Membrane,
                n,
            );
        }

        // Output spikes that do not fit the activation bank (as bitmaps of the steps kept).
        let kept_steps = if layer_major { t } else { 1.0 };
        if d.n * kept_steps / 8.0 > acap as f64 {
            self.spill(w.out_spikes, 1, out);
        }
    }

    fn qnn(&self, d: &Dims, q: &QnnFormat, act: &LayerActivity, out: &mut Actions) {
        let (wb, ab, accb) = (q.weight_bits, q.activation_bits, q.accumulator_bits);
        let (wcap, acap) = (self.wcap, self.acap);
        let w = QnnWork::of(d, q, act, self.config.zero_skipping, self.config.input_bits);
        let ib = w.input_bits;
        if d.weighted() {
            put(
                out,
                ActionKind::read(Memory::Sram, wb, wcap),
                Category::Weights,
                w.ops,
            );
        }
        put(
            out,
            ActionKind::read(Memory::Sram, ib, acap),
            Category::Activations,
            w.ops,
        );
        if d.weighted() {
            put(
                out,
                ActionKind::read(Memory::Sram, accb, acap),
                Category::PartialSums,
                w.ops,
            );
            put(
                out,
                ActionKind::write(Memory::Sram, accb, acap),
                Category::PartialSums,
                w.ops,
            );
        }
        qnn_arithmetic(out, d.op, q, &w);
        put(
            out,
            ActionKind::compute(ComputeOp::Compare, accb),
            Category::Compute,
            w.quantize,
        );
        put(
            out,
            ActionKind::write(Memory::Sram, ab, acap),
            Category::Outputs,
            w.outputs,
        );
        let passes = if d.w * wb as f64 / 8.0 <= wcap as f64 {
            1.0
        } else {
            let ws = (d.a * ib as f64 + d.n * accb as f64) / 8.0;
            (ws / acap as f64).ceil().max(1.0)
        };
        self.weight_fetch(d, wb, passes, out);
        if d.n * ab as f64 / 8.0 > acap as f64 {
            self.spill(w.outputs, ab, out);
        }
    }
}

impl Component for Classical {
    type Interface = dyn Architecture;
    type Config = ClassicalConfig;
    const NAME: &'static str = "classical";
    const SUMMARY: &'static str = "DRAM → on-chip buffer (weight and activation banks) → PE array; weight residency and loop order computed per layer";

    fn build(
        config: ClassicalConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Classical::new(config)?))
    }

    fn example() -> toml::Table {
        // Priced with the table it is meant for, so the example runs as printed.
        crate::example(&[("energy", "horowitz-45nm")])
    }
}

impl MappedArchitecture for Classical {
    type Mapping = NetPlan;

    fn map(&self, network: &Network, format: &Format) -> Result<NetPlan, ArchError> {
        check_format(NAME, format)?;
        Ok(self.plan(network, format))
    }

    fn count(
        &self,
        network: &Network,
        plan: &NetPlan,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.emit(network, layer, format, activity, plan, out)
    }

    /// A layer none of whose tiles fits: one output neuron's filter must fit the weight bank.
    fn check_layer(&self, network: &Network, i: usize, format: &Format) -> Result<(), ArchError> {
        let l = &network.layers[i];
        let d = Dims::of(l);
        if d.weighted() {
            let filter = d.f * format.weight_bits() as f64 / 8.0;
            if filter > self.wcap as f64 {
                return Err(layer_error(
                    NAME,
                    l,
                    format!(
                        "fits nowhere: one output neuron's {} weights need {:.1} KiB, the weight bank holds {} KiB (`weight_buffer_kib`)",
                        d.f,
                        filter / 1024.0,
                        self.config.weight_buffer_kib
                    ),
                ));
            }
        }
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let c = &self.config;
        vec![
            Assumption::new(
                "weight buffer",
                format!("{} KiB", c.weight_buffer_kib),
                "weight bank of the on-chip SRAM; a layer whose weights fit is fetched from DRAM once per inference, else once per pass of its working set through the activation bank",
            ),
            Assumption::new(
                "activation buffer",
                format!("{} KiB", c.activation_buffer_kib),
                "inputs, outputs, membranes and partial sums; outputs that do not fit spill to DRAM and are read back",
            ),
            Assumption::new(
                "DRAM word",
                format!("{} bits", c.dram_word_bits),
                "DRAM traffic counted in whole words; each fetched word is written into the buffer once",
            ),
            Assumption::new(
                "loop order",
                c.loop_order.name(),
                match c.loop_order {
                    LoopOrder::LayerMajor => {
                        "a layer runs all T steps before the next: weights that fit are fetched once, streamed weights once per pass over the inputs of all steps and the membranes"
                    }
                    LoopOrder::TimestepMajor => {
                        "every layer advances one step at a time: unless the whole network's weights fit the weight bank, every layer's weights are fetched every step (cyclic access evicts them, LRU), and membranes spill to DRAM unless all fit the activation bank"
                    }
                },
            ),
            Assumption::new(
                "zero-skipping (baseline)",
                c.zero_skipping,
                "a zero activation costs no MAC, read or write when true",
            ),
            Assumption::new(
                "direct-coded first layer",
                c.direct_input.name(),
                match c.direct_input {
                    DirectInput::Once => {
                        "the image is the same at every step: its MACs are done once and the stored current is read and added every step"
                    }
                    DirectInput::EveryStep => "the image's MACs are repeated at every step",
                },
            ),
            Assumption::new(
                "analog input width",
                format!("{} bits", c.input_bits),
                "pixels of the direct-coded image",
            ),
            Assumption::new(
                "buffer accesses per MAC (baseline)",
                "weight read, input read, partial-sum read and write",
                "no register-level reuse inside the PE (the v1 paper's 80.23 pJ)",
            ),
            Assumption::new(
                "SNN accesses per synaptic event",
                "weight read, membrane read and write, ADD",
                "plus per arriving spike one 1-bit read, per neuron per step a membrane read and write and a compare, per output spike a reset and a 1-bit write",
            ),
            Assumption::new(
                "multiplier width",
                "√(weight bits × activation bits)",
                "an array multiplier's energy grows with its partial products; tables scale MUL with width²",
            ),
        ]
    }
}
