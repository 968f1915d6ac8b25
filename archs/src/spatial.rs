//! `spatial`: a spatial dataflow in which every layer runs on its own region of a large PE
//! array, weights stay in the PEs, and values move between regions over links — described as
//! data (`archs/hardware/spatial.toml`) plus the rule that cuts one region per layer.
//!
//! A region is a number of neuron units (each with its PEs), in proportion to the layer's MACs
//! and at least what its weights (in the PEs) and neurons (in the units' state memory) need;
//! the mapper chooses how the layer's loops spread over the region, where its membranes and
//! partial sums stay and where its time steps run. `dataflow = "reuse-free"` pins the first
//! version's accounting: each synaptic event or MAC receives its input over one link, reads
//! its weight, and adds into its unit's accumulator.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{Assumption, ConfigError};
use snnergy_mapper::{
    AccessEnergy, Capacity, DataSpace, Hardware, LevelClass, Size, SparseFormat, TableKeyword,
};

use crate::classical::{Zeros, count};
use crate::common::{DirectInput, bits_param, positive};
use crate::hw::{
    Dataflow, Effort, HardwareArchitecture, LayerRules, MapOptions, Rules, TimeOrder,
    rules::Regions,
};

/// The description this architecture starts from.
pub const DESCRIPTION: &str = include_str!("../hardware/spatial.toml");

/// Where a PE or unit keeps a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PeMemory {
    /// Nowhere that costs a read: one weight per PE, wired to its multiplier (weights only).
    Wired,
    /// A register file.
    Register,
    /// A small SRAM, of `pe_sram_kib`.
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
    /// "wired" (wired to its multiplier, no read: the v1 paper's reading)
    pub weight_memory: PeMemory,
    /// where a neuron unit keeps membranes between steps (and outputs): "register" (default)
    /// or "sram" (a unit-local SRAM of `pe_sram_kib`; the v1 paper's 40.06 pJ per neuron step
    /// is an SRAM read and write)
    pub state_memory: PeMemory,
    /// capacity of a PE- or unit-local SRAM, KiB; default 2; prices capacity-dependent tables
    pub pe_sram_kib: f64,
    /// stationary-weight storage of the whole array, MiB; default 64 (VGG16-CIFAR and
    /// ResNet18 fit at 8 bits). Sets the number of PEs (`pe_weight_bytes` each); a network
    /// whose weights do not fit is an error naming the layer
    pub weight_capacity_mib: f64,
    /// weight storage of one PE, bytes; default 128
    pub pe_weight_bytes: u64,
    /// PEs per neuron unit (a column whose partial sums meet at its unit); default 64, so a
    /// unit holds 8 KiB of weights: one neuron's fan-in of up to 8192 8-bit synapses
    pub pes_per_unit: u64,
    /// state (membranes, outputs) one unit's register state memory holds, 16-bit words;
    /// default 512
    pub state_words: u64,
    /// links a value crosses from producer to consumer region; default 1 (neighbouring regions,
    /// the v1 paper's one move per synapse)
    pub link_hops: f64,
    /// bits of a spike on a link; default 1 (a dedicated wire per spike)
    pub spike_bits: u32,
    /// clock, MHz; default 200
    pub clock_mhz: f64,
    /// what the units do with a zero input: "skip" (default), "gate" or "none"
    pub zero_handling: Zeros,
    /// "layer-major" (default), "timestep-major" or "time-batched"
    pub loop_order: TimeOrder,
    /// "auto" (default) or "reuse-free" (every MAC or event receives its input over a link,
    /// reads its weight and adds into its unit's accumulator: the first version's counting)
    pub dataflow: Dataflow,
    /// region sizes in neuron units, one per weighted layer in network order; default: in
    /// proportion to each layer's MACs, at least what its weights and neurons need
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<u64>>,
    /// direct-coded first layer: "once" (default) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
    /// how hard the mapper searches each layer: "quick", "default" or "thorough"
    pub effort: Effort,
    /// replaced by `zero_handling`
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub zero_skipping: Option<bool>,
    /// weights never leave the array now
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub dram_word_bits: Option<u32>,
}

impl Default for SpatialConfig {
    fn default() -> Self {
        Self {
            weight_memory: PeMemory::Register,
            state_memory: PeMemory::Register,
            pe_sram_kib: 2.0,
            weight_capacity_mib: 64.0,
            pe_weight_bytes: 128,
            pes_per_unit: 64,
            state_words: 512,
            link_hops: 1.0,
            spike_bits: 1,
            clock_mhz: 200.0,
            zero_handling: Zeros::Skip,
            loop_order: TimeOrder::LayerMajor,
            dataflow: Dataflow::Auto,
            regions: None,
            direct_input: DirectInput::Once,
            input_bits: 8,
            effort: Effort::Default,
            zero_skipping: None,
            dram_word_bits: None,
        }
    }
}

/// The spatial architecture.
#[derive(Clone, Debug)]
pub struct Spatial {
    config: SpatialConfig,
    inner: HardwareArchitecture,
}

fn memory_bank(
    m: PeMemory,
    sram: &Size,
) -> (Option<LevelClass>, Option<AccessEnergy>, Option<Size>) {
    match m {
        PeMemory::Wired => (
            Some(LevelClass::Register),
            Some(AccessEnergy::PerWord {
                read_pj: 0.0,
                write_pj: 0.0,
            }),
            None,
        ),
        PeMemory::Register => (
            Some(LevelClass::Register),
            Some(AccessEnergy::Table(TableKeyword::Table)),
            None,
        ),
        PeMemory::Sram => (
            Some(LevelClass::Sram),
            Some(AccessEnergy::Table(TableKeyword::Table)),
            Some(sram.clone()),
        ),
    }
}

impl Spatial {
    /// Validates the configuration and builds the description it states.
    pub fn new(config: SpatialConfig) -> Result<Self, ConfigError> {
        let c = &config;
        let (units, kib) = check(c)?;
        let hw = describe(c, units, kib)?;
        let notes = assumptions(c, units);
        let inner = HardwareArchitecture::new(
            "spatial",
            hw,
            Rules::Regions(Regions {
                link_hops: c.link_hops,
                stated: c.regions.clone(),
            }),
            LayerRules {
                batch: 1,
                direct_input: c.direct_input,
                input_bits: c.input_bits,
            },
            MapOptions {
                time_order: c.loop_order,
                dataflow: c.dataflow,
                effort: c.effort,
                uneven: false,
                activations_on_chip: false,
                formats: Vec::new(),
                pins: None,
            },
            notes,
        )?;
        Ok(Self { config, inner })
    }
}

/// Checks the parameters; returns the units the weight storage takes and the PE SRAM's KiB.
fn check(c: &SpatialConfig) -> Result<(f64, f64), ConfigError> {
    if c.zero_skipping.is_some() {
        return Err(ConfigError::new(
            "replaced by `zero_handling` (\"skip\", \"gate\" or \"none\"): the units treat zeros the same way on both formats",
        )
        .at_key("zero_skipping"));
    }
    if c.dram_word_bits.is_some() {
        return Err(ConfigError::new(
            "weights stay in the array and are never reloaded: a network that does not fit is an error; size the array with `weight_capacity_mib`",
        )
        .at_key("dram_word_bits"));
    }
    let kib = positive("pe_sram_kib", c.pe_sram_kib, "the PE SRAM")?;
    let mib = positive(
        "weight_capacity_mib",
        c.weight_capacity_mib,
        "the on-chip weight storage",
    )?;
    positive("clock_mhz", c.clock_mhz, "the clock")?;
    if !(c.link_hops.is_finite() && c.link_hops >= 0.0) {
        return Err(
            ConfigError::new(format!("{}: must be a non-negative number", c.link_hops))
                .at_key("link_hops"),
        );
    }
    if c.state_memory == PeMemory::Wired {
        return Err(ConfigError::new(
            "\"wired\": membranes change every step and need a register or an SRAM",
        )
        .at_key("state_memory"));
    }
    bits_param("spike_bits", c.spike_bits)?;
    bits_param("input_bits", c.input_bits)?;
    count(
        "pe_weight_bytes",
        c.pe_weight_bytes,
        "a PE's weight storage",
    )?;
    count("pes_per_unit", c.pes_per_unit, "PEs per unit")?;
    count("state_words", c.state_words, "state words")?;
    let pes = ((mib * 1024.0 * 1024.0) / c.pe_weight_bytes as f64).ceil();
    let units = (pes / c.pes_per_unit as f64).ceil().max(1.0);
    if units > (1u64 << 32) as f64 {
        return Err(ConfigError::new(format!(
            "{mib} MiB of weights in {} B per PE is more than 2^32 units",
            c.pe_weight_bytes
        ))
        .at_key("weight_capacity_mib"));
    }
    if let Some(r) = &c.regions
        && r.iter().any(|u| *u == 0 || *u as f64 > units)
    {
        return Err(
            ConfigError::new(format!("every region needs 1..={units} units")).at_key("regions"),
        );
    }
    Ok((units, kib))
}

/// The shipped description with the parameters' sizes, memories and links.
fn describe(c: &SpatialConfig, units: f64, kib: f64) -> Result<Hardware, ConfigError> {
    let sram = Size::Text(format!("{} B", (kib * 1024.0).round()));
    let mut hw = Hardware::from_toml(DESCRIPTION)
        .map_err(|e| ConfigError::new(format!("the shipped description: {e}")))?;
    hw.compute.clock_mhz = c.clock_mhz;
    hw.compute.zero_handling = c.zero_handling.mapper();
    hw.levels[0].network.unicast_hops = Some(c.link_hops);
    for f in &mut hw.levels[0].formats {
        if let SparseFormat::Aer { address_bits, .. } = f {
            *address_bits = Some(c.spike_bits);
        }
    }
    hw.levels[1].mesh = [units as u64, 1];
    let pe_level = hw.levels.len() - 1;
    hw.levels[pe_level].mesh = [1, c.pes_per_unit];
    if let Some(Capacity::Banks(banks)) = &mut hw.levels[1].capacity {
        for b in banks.iter_mut() {
            if b.holds.contains(&DataSpace::Membrane) {
                let (class, energy, size) = memory_bank(c.state_memory, &sram);
                b.class = class;
                b.energy = energy;
                b.size = size.unwrap_or(Size::Text(format!("{} words", c.state_words)));
            }
        }
    }
    if let Some(Capacity::Banks(banks)) = &mut hw.levels[pe_level].capacity {
        for b in banks.iter_mut() {
            let wired_latch = b.holds.contains(&DataSpace::Inputs);
            if b.holds.contains(&DataSpace::Weights) {
                let (class, energy, _) = memory_bank(c.weight_memory, &sram);
                b.class = class;
                b.energy = energy;
                b.size = Size::Text(format!("{} B", c.pe_weight_bytes));
            } else if wired_latch && c.weight_memory == PeMemory::Wired {
                // With wired weights the input operand is latched at the multiplier too.
                b.energy = Some(AccessEnergy::PerWord {
                    read_pj: 0.0,
                    write_pj: 0.0,
                });
            }
        }
    }
    Ok(hw)
}

/// The parameters in force, with their reasons, for reports.
fn assumptions(c: &SpatialConfig, units: f64) -> Vec<Assumption> {
    vec![
        Assumption::new(
            "array",
            format!(
                "{units} units × {} PEs, {} B of weights per PE",
                c.pes_per_unit, c.pe_weight_bytes
            ),
            "sized from `weight_capacity_mib`: every weight stays in a PE",
        ),
        Assumption::new(
            "weight memory",
            c.weight_memory.name(),
            match c.weight_memory {
                PeMemory::Wired => {
                    "wired to the multiplier: reading it costs nothing beyond the operation (v1)"
                }
                PeMemory::Register => "a PE reads its stationary weight from registers",
                PeMemory::Sram => "a PE reads its stationary weight from its local SRAM",
            },
        ),
        Assumption::new(
            "state memory",
            c.state_memory.name(),
            "a unit's membranes and outputs; partial sums meet in its accumulator (part of the adders)",
        ),
        Assumption::new(
            "PE SRAM",
            format!("{} KiB", c.pe_sram_kib),
            "capacity of an SRAM weight or state memory (prices capacity-dependent tables)",
        ),
        Assumption::new(
            "links",
            format!("{} hop(s), {}-bit spikes", c.link_hops, c.spike_bits),
            "a value crosses this many links from the producer's region; forwarding to further units of a row costs one more link each",
        ),
        Assumption::new(
            "zero inputs",
            c.zero_handling.name(),
            "the same units run both formats",
        ),
        Assumption::new(
            "direct-coded first layer",
            c.direct_input.name(),
            "the image's MACs once, the stored current re-read every step (or every step)",
        ),
    ]
}

// Priced with the table it is meant for, and with the memories that table can price (the
// paper's reading: weights wired into the PEs, membranes in SRAM), so the example runs
// as printed.
crate::hw::component!(
    Spatial,
    SpatialConfig,
    "spatial",
    "every layer on its own region of a PE array, weights stationary in the PEs, values moved over links; each format mapped at its own best",
    &[
        ("energy", "paper-v1"),
        ("weight_memory", "wired"),
        ("state_memory", "sram"),
    ]
);

crate::hw::delegate!(Spatial, SpatialConfig);
