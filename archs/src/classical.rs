//! `classical`: a conventional accelerator — DRAM → global buffer (a weight bank and an
//! activation bank) → PE array with per-PE register files → MAC/ADD units — described as data
//! (`archs/hardware/classical.toml`) and mapped layer by layer, each format at its own best.
//!
//! The configuration's keys rewrite the description: bank sizes, word widths, the array and
//! its register files, the clock, what the units do with zero inputs, the formats activations
//! may be stored in, and the mapping choices (time order, a pinned dataflow, batch, whether
//! activations stay on chip between layers). `dataflow = "reuse-free"` pins the first
//! version's fixed dataflow (every MAC or synaptic event reads its operands from the buffer
//! and read-modify-writes its sum there), which reproduces the numbers this architecture gave
//! before it was rebuilt on the mapper.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{Assumption, ConfigError};
use snnergy_mapper::{Bank, Capacity, Hardware, Size, ZeroHandling};

use crate::common::{DirectInput, bits_param, positive};
use crate::hw::{Dataflow, Effort, HardwareArchitecture, LayerRules, MapOptions, Rules, TimeOrder};

/// The description this architecture starts from.
pub const DESCRIPTION: &str = include_str!("../hardware/classical.toml");

/// What the compute units do with a zero input (spike or activation), on both formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Zeros {
    /// No cycle, no weight read, no accumulation (event-driven for spikes).
    #[default]
    Skip,
    /// No energy for the operation, its weight read and accumulation; the cycle is spent.
    Gate,
    /// Zeros cost like anything else (a dense binary array for spikes).
    None,
}

impl Zeros {
    pub(crate) fn mapper(self) -> ZeroHandling {
        match self {
            Zeros::Skip => ZeroHandling::Skip,
            Zeros::Gate => ZeroHandling::Gate,
            Zeros::None => ZeroHandling::None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Zeros::Skip => "skip",
            Zeros::Gate => "gate",
            Zeros::None => "none",
        }
    }
}

/// How activations (spikes, and the baseline's values) are stored and moved off the PEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ActivationFormat {
    /// The mapper picks, per level, among the formats the description allows.
    #[default]
    Auto,
    /// Every element stored (spikes as a 1-bit map).
    Dense,
    /// A bit per element plus the non-zero values.
    Bitmap,
    /// Non-zero values with the lengths of the zero runs between them.
    Rle,
    /// Non-zero values with their coordinates (address events for spikes).
    Coo,
}

impl ActivationFormat {
    pub(crate) fn formats(self) -> Vec<snnergy_mapper::SparseFormat> {
        use snnergy_mapper::SparseFormat as F;
        match self {
            ActivationFormat::Auto => Vec::new(),
            ActivationFormat::Dense => vec![F::Dense],
            ActivationFormat::Bitmap => vec![F::Bitmap],
            ActivationFormat::Rle => vec![F::Rle { run_bits: 4 }],
            ActivationFormat::Coo => vec![F::Coo {
                header_bits: 0.0,
                address_bits: None,
            }],
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ActivationFormat::Auto => "auto",
            ActivationFormat::Dense => "dense",
            ActivationFormat::Bitmap => "bitmap",
            ActivationFormat::Rle => "rle",
            ActivationFormat::Coo => "coo",
        }
    }
}

/// `[[architecture]] type = "classical"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClassicalConfig {
    /// weight bank of the global buffer, KiB; default 256 (half of a 512 KiB buffer, e.g.
    /// NVDLA's convolution buffer split between weights and data); its accesses are priced at
    /// this capacity
    pub weight_buffer_kib: f64,
    /// activation bank (inputs, outputs, partial sums, membranes), KiB; default 256 (the other
    /// half); its accesses are priced at this capacity
    pub activation_buffer_kib: f64,
    /// bits one DRAM access moves; default 64 (the width Horowitz's DRAM figure is given for)
    pub dram_word_bits: u32,
    /// bits one buffer access moves; default 64 (Horowitz's SRAM figures are per 64 bits)
    pub buffer_word_bits: u32,
    /// PEs, [rows, columns]; default [16, 16]
    pub pe_array: [u64; 2],
    /// register-file words per PE; default 64 (a few hundred bytes, as in Eyeriss' PEs)
    pub register_words: u64,
    /// bits of a register word; default 16
    pub register_word_bits: u32,
    /// clock, MHz; default 500 (sets latency, hence energy × delay)
    pub clock_mhz: f64,
    /// what the units do with a zero input, on both formats: "skip" (default: no cycle, no
    /// weight read, no accumulation — event-driven for spikes), "gate" (no energy, the cycle
    /// spent) or "none" (a dense binary array for spikes)
    pub zero_handling: Zeros,
    /// how activations are stored in DRAM and the buffer: "auto" (default: the mapper picks
    /// among dense, bitmap, run-length and coordinates/address events), or one of them
    pub activation_format: ActivationFormat,
    /// "layer-major" (default: the mapper places T in each layer's loop nest), "timestep-major"
    /// (T outermost: every step streams through the whole layer, refetching what does not stay
    /// on chip) or "time-batched" (all of T inside the chip, so membranes never leave it)
    pub loop_order: TimeOrder,
    /// "auto" (default: each format mapped at its own best) or "reuse-free" (the first
    /// version's fixed dataflow: every MAC or event reads its operands from the buffer and
    /// read-modify-writes its sum there; reproduces the numbers from before the rebuild)
    pub dataflow: Dataflow,
    /// inferences sharing each weight fetch; default 1. Energy and latency are per inference
    pub batch: u64,
    /// whether a layer's inputs and outputs stay in the activation bank between layers when
    /// they fit it (default true) instead of going through DRAM
    pub activations_on_chip: bool,
    /// direct-coded first layer: "once" (default: the image is the same every step, so its
    /// MACs are done once and the stored current re-read every step) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
    /// how hard the mapper searches each layer: "quick", "default" or "thorough"
    pub effort: Effort,
    /// replaced by `zero_handling`: the units treat zeros the same on both formats
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub zero_skipping: Option<bool>,
}

impl Default for ClassicalConfig {
    fn default() -> Self {
        Self {
            weight_buffer_kib: 256.0,
            activation_buffer_kib: 256.0,
            dram_word_bits: 64,
            buffer_word_bits: 64,
            pe_array: [16, 16],
            register_words: 64,
            register_word_bits: 16,
            clock_mhz: 500.0,
            zero_handling: Zeros::Skip,
            activation_format: ActivationFormat::Auto,
            loop_order: TimeOrder::LayerMajor,
            dataflow: Dataflow::Auto,
            batch: 1,
            activations_on_chip: true,
            direct_input: DirectInput::Once,
            input_bits: 8,
            effort: Effort::Default,
            zero_skipping: None,
        }
    }
}

/// A size in KiB as the description's text.
pub(crate) fn kib(v: f64) -> Size {
    Size::Text(format!("{} B", (v * 1024.0).round()))
}

/// Errors naming a key.
pub(crate) fn array(key: &str, a: [u64; 2]) -> Result<(), ConfigError> {
    if a[0] == 0 || a[1] == 0 || a[0].saturating_mul(a[1]) > 1 << 32 {
        return Err(ConfigError::new(format!(
            "{a:?}: an array needs 1..=2^32 elements, at least one per axis"
        ))
        .at_key(key));
    }
    Ok(())
}

pub(crate) fn count(key: &str, v: u64, what: &str) -> Result<u64, ConfigError> {
    if v == 0 || v > u32::MAX as u64 {
        return Err(
            ConfigError::new(format!("{v}: {what} must be in 1..={}", u32::MAX)).at_key(key),
        );
    }
    Ok(v)
}

/// The classical architecture.
#[derive(Clone, Debug)]
pub struct Classical {
    config: ClassicalConfig,
    inner: HardwareArchitecture,
}

impl Classical {
    /// Validates the configuration and builds the description it states.
    pub fn new(config: ClassicalConfig) -> Result<Self, ConfigError> {
        let c = &config;
        check(c)?;
        let hw = describe(c)?;
        let notes = assumptions(c);
        let inner = HardwareArchitecture::new(
            "classical",
            hw,
            Rules::Chip,
            LayerRules {
                batch: c.batch,
                direct_input: c.direct_input,
                input_bits: c.input_bits,
            },
            MapOptions {
                time_order: c.loop_order,
                dataflow: c.dataflow,
                effort: c.effort,
                uneven: false,
                activations_on_chip: c.activations_on_chip,
                formats: c.activation_format.formats(),
                pins: None,
            },
            notes,
        )?;
        Ok(Self { config, inner })
    }
}

/// Checks the parameters.
fn check(c: &ClassicalConfig) -> Result<(), ConfigError> {
    if c.zero_skipping.is_some() {
        return Err(ConfigError::new(
            "replaced by `zero_handling` (\"skip\", \"gate\" or \"none\"): the units treat zeros the same way on both formats",
        )
        .at_key("zero_skipping"));
    }
    positive("weight_buffer_kib", c.weight_buffer_kib, "the weight bank")?;
    positive(
        "activation_buffer_kib",
        c.activation_buffer_kib,
        "the activation bank",
    )?;
    positive("clock_mhz", c.clock_mhz, "the clock")?;
    bits_param("dram_word_bits", c.dram_word_bits)?;
    bits_param("buffer_word_bits", c.buffer_word_bits)?;
    bits_param("register_word_bits", c.register_word_bits)?;
    bits_param("input_bits", c.input_bits)?;
    array("pe_array", c.pe_array)?;
    count("register_words", c.register_words, "register words")?;
    count("batch", c.batch, "the batch")?;
    Ok(())
}

/// The shipped description with the parameters' words, banks and PE array.
fn describe(c: &ClassicalConfig) -> Result<Hardware, ConfigError> {
    let mut hw = Hardware::from_toml(DESCRIPTION)
        .map_err(|e| ConfigError::new(format!("the shipped description: {e}")))?;
    hw.levels[0].word_bits = c.dram_word_bits;
    let glb = &mut hw.levels[1];
    glb.word_bits = c.buffer_word_bits;
    glb.capacity = Some(Capacity::Banks(vec![
        Bank {
            name: None,
            holds: vec![snnergy_mapper::DataSpace::Weights],
            size: kib(c.weight_buffer_kib),
            class: None,
            energy: None,
        },
        Bank {
            name: None,
            holds: vec![
                snnergy_mapper::DataSpace::Inputs,
                snnergy_mapper::DataSpace::Outputs,
                snnergy_mapper::DataSpace::Accum,
                snnergy_mapper::DataSpace::Membrane,
            ],
            size: kib(c.activation_buffer_kib),
            class: None,
            energy: None,
        },
    ]));
    let pe = &mut hw.levels[2];
    pe.mesh = c.pe_array;
    pe.word_bits = c.register_word_bits;
    pe.capacity = Some(Capacity::Shared(Size::Text(format!(
        "{} words",
        c.register_words
    ))));
    hw.compute.clock_mhz = c.clock_mhz;
    hw.compute.zero_handling = c.zero_handling.mapper();
    Ok(hw)
}

/// The parameters in force, with their reasons, for reports.
fn assumptions(c: &ClassicalConfig) -> Vec<Assumption> {
    vec![
        Assumption::new(
            "buffer banks",
            format!(
                "{} KiB weights, {} KiB activations",
                c.weight_buffer_kib, c.activation_buffer_kib
            ),
            "each bank's accesses are priced at its own capacity",
        ),
        Assumption::new(
            "PE array",
            format!(
                "{}×{} PEs, {} × {}-bit register words each",
                c.pe_array[0], c.pe_array[1], c.register_words, c.register_word_bits
            ),
            "registers let a PE reuse an operand or keep a partial sum or membrane across loops",
        ),
        Assumption::new(
            "zero inputs",
            c.zero_handling.name(),
            "the same units run both formats",
        ),
        Assumption::new(
            "activation format",
            c.activation_format.name(),
            "how spikes and the baseline's values are stored in DRAM and the buffer",
        ),
        Assumption::new(
            "direct-coded first layer",
            c.direct_input.name(),
            match c.direct_input {
                DirectInput::Once => {
                    "the image's MACs are done once and the stored current is re-read every step"
                }
                DirectInput::EveryStep => "the image's MACs are repeated every step",
            },
        ),
        Assumption::new(
            "analog input width",
            format!("{} bits", c.input_bits),
            "pixels of the direct-coded image",
        ),
    ]
}

// Priced with the table it is meant for, so the example runs as printed.
crate::hw::component!(
    Classical,
    ClassicalConfig,
    "classical",
    "DRAM → global buffer (weight and activation banks) → PE array with register files; each format mapped at its own best",
    &[("energy", "horowitz-45nm")]
);

crate::hw::delegate!(Classical, ClassicalConfig);
