//! `spatial`: a spatial dataflow in which every layer is mapped onto its own PEs, weights stay
//! stationary in the PEs, and activations or spikes stream between PEs over short links.
//!
//! Per layer:
//!
//! - **QNN**: per MAC (ρ·S with zero-skipping) the input value is delivered over `link_hops`
//!   links, the PE reads its stationary weight (unless it is wired to the multiplier) and does
//!   a MUL and an ADD into its accumulator; per output one quantization compare.
//! - **SNN**: per synaptic event (r·T·S) the spike is delivered over the links, the PE reads
//!   its weight and ADDs into its accumulator; per neuron per step the membrane is read from
//!   and written back to the PE's state memory and compared with the threshold (plus a leak
//!   multiply for LIF); per output spike a reset subtraction.
//! - Partial sums and per-step accumulations live in the PE's accumulator (part of the ADD);
//!   membranes must outlive a step, so they sit in `state_memory`.
//! - **Residency is computed**: the chip holds `weight_capacity_mib` of stationary weights.
//!   A network that fits is loaded once and costs no weight traffic per inference; one that
//!   does not is reconfigured layer by layer from DRAM every inference (layer-major) or, in
//!   time-step-major order, every step. A layer that alone exceeds the capacity fits nowhere.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, Assumption, BuildContext, Category, Component,
    ComputeOp, ConfigError, Format, Interconnect, LayerActivity, MappedArchitecture, Memory,
    Network, QnnFormat, SnnFormat,
};

use crate::common::{
    Dims, DirectInput, LoopOrder, Op, QnnWork, SnnWork, bits_param, check_format, layer_error,
    mul_bits, network_sum, neuron_arithmetic, positive, put, qnn_arithmetic,
};

/// Where a PE keeps a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PeMemory {
    /// Nowhere that costs a read: one weight per PE, wired to its multiplier (weights only).
    Wired,
    /// A register file in the PE.
    Register,
    /// A small SRAM in the PE, of `pe_sram_kib`.
    Sram,
}

impl PeMemory {
    fn name(self) -> &'static str {
        match self {
            PeMemory::Wired => "wired",
            PeMemory::Register => "register",
            PeMemory::Sram => "sram",
        }
    }
}

/// `[[architecture]] type = "spatial"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SpatialConfig {
    /// where a PE keeps its stationary weights: "register" (default: a PE holds several and
    /// reads the one it needs per operation), "sram" (a PE-local SRAM of `pe_sram_kib`) or
    /// "wired" (one weight per PE wired to its multiplier, no read: the v1 paper's reading)
    pub weight_memory: PeMemory,
    /// where a PE keeps membranes between steps: "register" (default: a register file beside
    /// the adder) or "sram" (a PE-local SRAM; the v1 paper's 40.06 pJ per neuron step is an
    /// SRAM read and write)
    pub state_memory: PeMemory,
    /// capacity of a PE-local SRAM, KiB; default 2 (a few hundred 16-bit words per PE); prices
    /// capacity-dependent tables
    pub pe_sram_kib: f64,
    /// stationary-weight storage of the whole chip, MiB; default 64 (VGG16-CIFAR and ResNet18
    /// fit at 8 bits, VGG16-ImageNet does not). A network that fits costs no weight traffic per
    /// inference; one that does not is reloaded from DRAM per inference (per step in
    /// time-step-major order)
    pub weight_capacity_mib: f64,
    /// links a value crosses from producer to consumer PE; default 1 (neighbouring PEs, the v1
    /// paper's one move per synapse)
    pub link_hops: f64,
    /// bits of a spike on a link; default 1 (a dedicated wire per spike)
    pub spike_bits: u32,
    /// bits one DRAM access moves when weights are reloaded; default 64
    pub dram_word_bits: u32,
    /// "layer-major" (default) or "timestep-major"; matters only when the weights do not fit:
    /// then every step reloads them
    pub loop_order: LoopOrder,
    /// whether the baseline skips zero activations (no transfer, no MAC); default true (the
    /// paper's ρ·20.23)
    pub zero_skipping: bool,
    /// direct-coded first layer: "once" (default: MACs once, the stored current added every
    /// step) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
}

impl Default for SpatialConfig {
    fn default() -> Self {
        Self {
            weight_memory: PeMemory::Register,
            state_memory: PeMemory::Register,
            pe_sram_kib: 2.0,
            weight_capacity_mib: 64.0,
            link_hops: 1.0,
            spike_bits: 1,
            dram_word_bits: 64,
            loop_order: LoopOrder::default(),
            zero_skipping: true,
            direct_input: DirectInput::default(),
            input_bits: 8,
        }
    }
}

/// The spatial architecture.
#[derive(Clone, Debug, PartialEq)]
pub struct Spatial {
    config: SpatialConfig,
    pe_sram: u64,
    capacity: f64,
}

const NAME: &str = "spatial";

impl Spatial {
    /// Validates the configuration.
    pub fn new(config: SpatialConfig) -> Result<Self, ConfigError> {
        let kib = positive("pe_sram_kib", config.pe_sram_kib, "the PE SRAM")?;
        let mib = positive(
            "weight_capacity_mib",
            config.weight_capacity_mib,
            "the on-chip weight storage",
        )?;
        if !(config.link_hops.is_finite() && config.link_hops >= 0.0) {
            return Err(ConfigError::new(format!(
                "{}: must be a non-negative number",
                config.link_hops
            ))
            .at_key("link_hops"));
        }
        if config.state_memory == PeMemory::Wired {
            return Err(ConfigError::new(
                "\"wired\": membranes change every step and need a register or an SRAM",
            )
            .at_key("state_memory"));
        }
        bits_param("spike_bits", config.spike_bits)?;
        bits_param("dram_word_bits", config.dram_word_bits)?;
        bits_param("input_bits", config.input_bits)?;
        Ok(Self {
            pe_sram: (kib * 1024.0).round().max(1.0) as u64,
            capacity: mib * 1024.0 * 1024.0,
            config,
        })
    }

    fn read(&self, m: PeMemory, bits: u32) -> Option<ActionKind> {
        match m {
            PeMemory::Wired => None,
            PeMemory::Register => Some(ActionKind::read(Memory::Register, bits, 0)),
            PeMemory::Sram => Some(ActionKind::read(Memory::Sram, bits, self.pe_sram)),
        }
    }

    fn write(&self, m: PeMemory, bits: u32) -> ActionKind {
        match m {
            // Loading a wired weight still writes the PE's operand register.
            PeMemory::Wired | PeMemory::Register => ActionKind::write(Memory::Register, bits, 0),
            PeMemory::Sram => ActionKind::write(Memory::Sram, bits, self.pe_sram),
        }
    }

    fn resident(&self, network: &Network, format: &Format) -> bool {
        let wb = format.weight_bits() as f64;
        network_sum(network, |l| l.weights() as f64 * wb / 8.0) <= self.capacity
    }

    fn link(&self, bits: u32) -> ActionKind {
        ActionKind::Transfer {
            net: Interconnect::Link,
            bits,
        }
    }

    fn emit(
        &self,
        network: &Network,
        i: usize,
        format: &Format,
        act: &LayerActivity,
        resident: bool,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.check_layer(network, i, format)?;
        let d = Dims::of(&network.layers[i]);
        let reloads = match format {
            Format::Snn(s) => self.snn(&d, s, act, out),
            Format::Qnn(q) => {
                self.qnn(&d, q, act, out);
                1.0
            }
        };
        if !resident && d.w > 0.0 {
            let wb = format.weight_bits();
            let word = self.config.dram_word_bits;
            let n = reloads * d.w * wb as f64 / word as f64;
            put(
                out,
                ActionKind::read(Memory::Dram, word, 0),
                Category::Weights,
                n,
            );
            put(
                out,
                self.write(self.config.weight_memory, word),
                Category::Weights,
                n,
            );
        }
        Ok(())
    }

    /// Returns how often the layer's weights would be reloaded if they are not resident.
    fn snn(&self, d: &Dims, s: &SnnFormat, act: &LayerActivity, out: &mut Actions) -> f64 {
        let c = &self.config;
        let t = s.timesteps as f64;
        let (wb, mb) = (s.weight_bits, s.membrane_bits);
        let w = SnnWork::of(d, t, act, c.direct_input);
        let add = ActionKind::compute(ComputeOp::Add, mb);

        put(
            out,
            self.link(c.spike_bits),
            Category::Activations,
            w.events * c.link_hops,
        );
        match d.op {
            Op::MaxPool => put(
                out,
                ActionKind::compute(ComputeOp::Compare, mb),
                Category::Compute,
                w.events,
            ),
            _ => put(out, add, Category::Compute, w.events),
        }
        let weight_read = if d.weighted() {
            self.read(c.weight_memory, wb)
        } else {
            None
        };
        if let Some(r) = weight_read {
            put(out, r, Category::Weights, w.events + w.analog_macs);
        }

        if w.analog_macs > 0.0 {
            put(
                out,
                self.link(c.input_bits),
                Category::Activations,
                w.analog_macs * c.link_hops,
            );
            if d.weighted() {
                put(
                    out,
                    ActionKind::compute(ComputeOp::Mul, mul_bits(wb, c.input_bits)),
                    Category::Compute,
                    w.analog_macs,
                );
            }
            put(out, add, Category::Compute, w.analog_macs);
            if let Some(r) = self.read(c.state_memory, mb) {
                put(out, r, Category::Activations, w.current_adds);
            }
            put(out, add, Category::Compute, w.current_adds);
        }

        if let Some(r) = self.read(c.state_memory, mb) {
            put(out, r, Category::Membrane, w.neuron_steps);
        }
        put(
            out,
            self.write(c.state_memory, mb),
            Category::Membrane,
            w.neuron_steps,
        );
        neuron_arithmetic(out, s.neuron, mb, &w);
        match c.loop_order {
            LoopOrder::LayerMajor => 1.0,
            LoopOrder::TimestepMajor => t,
        }
    }

    fn qnn(&self, d: &Dims, q: &QnnFormat, act: &LayerActivity, out: &mut Actions) {
        let c = &self.config;
        let (wb, accb) = (q.weight_bits, q.accumulator_bits);
        let w = QnnWork::of(d, q, act, c.zero_skipping, c.input_bits);
        put(
            out,
            self.link(w.input_bits),
            Category::Activations,
            w.ops * c.link_hops,
        );
        if let Some(r) = self.read(c.weight_memory, wb).filter(|_| d.weighted()) {
            put(out, r, Category::Weights, w.ops);
        }
        qnn_arithmetic(out, d.op, q, &w);
        put(
            out,
            ActionKind::compute(ComputeOp::Compare, accb),
            Category::Compute,
            w.quantize,
        );
    }
}

impl Component for Spatial {
    type Interface = dyn Architecture;
    type Config = SpatialConfig;
    const NAME: &'static str = "spatial";
    const SUMMARY: &'static str = "every layer on its own PEs, weights stationary, activations and spikes streamed over short links";

    fn build(
        config: SpatialConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Spatial::new(config)?))
    }

    fn example() -> toml::Table {
        // Priced with the table it is meant for, and with the memories that table can price (the
        // paper's reading: weights wired into the PEs, membranes in SRAM), so the example runs
        // as printed.
        crate::example(&[
            ("energy", "paper-v1"),
            ("weight_memory", "wired"),
            ("state_memory", "sram"),
        ])
    }
}

impl MappedArchitecture for Spatial {
    /// Whether the network's weights stay on chip.
    type Mapping = bool;

    fn map(&self, network: &Network, format: &Format) -> Result<bool, ArchError> {
        check_format(NAME, format)?;
        Ok(self.resident(network, format))
    }

    fn count(
        &self,
        network: &Network,
        resident: &bool,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.emit(network, layer, format, activity, *resident, out)
    }

    fn check_layer(&self, network: &Network, i: usize, format: &Format) -> Result<(), ArchError> {
        let l = &network.layers[i];
        let bytes = l.weights() as f64 * format.weight_bits() as f64 / 8.0;
        if bytes > self.capacity {
            return Err(layer_error(
                NAME,
                l,
                format!(
                    "fits nowhere: its weights need {:.1} MiB, the chip holds {} MiB (`weight_capacity_mib`)",
                    bytes / (1024.0 * 1024.0),
                    self.config.weight_capacity_mib
                ),
            ));
        }
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let c = &self.config;
        vec![
            Assumption::new(
                "weight memory",
                c.weight_memory.name(),
                match c.weight_memory {
                    PeMemory::Wired => {
                        "one weight per PE, wired to the multiplier: reading it costs nothing beyond the operation (v1)"
                    }
                    PeMemory::Register => {
                        "a PE reads its stationary weight from its register file per operation"
                    }
                    PeMemory::Sram => {
                        "a PE reads its stationary weight from its local SRAM per operation"
                    }
                },
            ),
            Assumption::new(
                "state memory",
                c.state_memory.name(),
                "membranes are read and written once per neuron per step; per-event accumulation happens in the PE's accumulator (part of the ADD)",
            ),
            Assumption::new(
                "PE SRAM",
                format!("{} KiB", c.pe_sram_kib),
                "capacity used to price PE-local SRAM accesses",
            ),
            Assumption::new(
                "on-chip weight capacity",
                format!("{} MiB", c.weight_capacity_mib),
                "networks that fit are loaded once and cost no weight traffic per inference; otherwise reloaded from DRAM per inference (per step in time-step-major order)",
            ),
            Assumption::new(
                "link hops",
                c.link_hops,
                "links crossed per delivered value (one per synapse, as in v1)",
            ),
            Assumption::new(
                "spike width",
                format!("{} bits", c.spike_bits),
                "per spike on a link",
            ),
            Assumption::new(
                "loop order",
                c.loop_order.name(),
                "only matters when weights do not fit",
            ),
            Assumption::new(
                "zero-skipping (baseline)",
                c.zero_skipping,
                "a zero activation is neither sent nor multiplied when true",
            ),
            Assumption::new(
                "direct-coded first layer",
                c.direct_input.name(),
                match c.direct_input {
                    DirectInput::Once => {
                        "the image's MACs are done once and the stored current is read and added every step"
                    }
                    DirectInput::EveryStep => "the image's MACs are repeated every step",
                },
            ),
            Assumption::new(
                "analog input width",
                format!("{} bits", c.input_bits),
                "pixels of the direct-coded image",
            ),
            Assumption::new(
                "multiplier width",
                "√(weight bits × activation bits)",
                "an array multiplier's energy grows with its partial products; tables scale MUL with width²",
            ),
        ]
    }
}
