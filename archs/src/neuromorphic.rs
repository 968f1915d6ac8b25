//! `neuromorphic`: cores with local synapse memory, neuron memory and dendritic accumulators
//! on a 2-D mesh — described as data (`archs/hardware/neuromorphic.toml`, calibrated on
//! Loihi's published per-event energies) plus the rule that gives each layer its own cores,
//! places them on the mesh and derives each packet's hops from that placement.
//!
//! The mapper chooses how a layer's neurons are split over its cores (by channel: every spike
//! multicast to every core; by position: kernels duplicated, spikes to the cores whose windows
//! they touch) and what each core keeps; time is the outermost loop by construction (all
//! cores advance one step together). The QNN twin runs on the same cores with graded
//! messages: packets carrying the non-zero values with their address, or dense.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{Assumption, ConfigError};
use snnergy_mapper::{
    AccessEnergy, Capacity, ComputeEnergy, DataSpace, Hardware, HopPrice, LevelClass, Size,
    SparseFormat, TableKeyword,
};

use crate::classical::{Zeros, count};
use crate::common::{DirectInput, bits_param, positive};
use crate::hw::{
    Dataflow, Effort, HardwareArchitecture, LayerRules, MapOptions, Rules, TimeOrder, rules::Cores,
};

/// The description this architecture starts from.
pub const DESCRIPTION: &str = include_str!("../hardware/neuromorphic.toml");

/// Where the chip's per-event energies come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    /// Loihi's published energies per synaptic operation, neuron update and hop (14 nm),
    /// stated in the description; the pipeline's table prices nothing else.
    #[default]
    Loihi,
    /// Every access, operation and hop priced by the pipeline's table (with `yan-22nm`: the
    /// paper's 22 nm variant).
    Table,
}

/// `[[architecture]] type = "neuromorphic"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NeuromorphicConfig {
    /// neurons (compartments) one core's neuron memory and accumulators hold; default 1024,
    /// Loihi's (Davies et al., IEEE Micro 2018)
    pub neurons_per_core: u32,
    /// synapse (weight) memory per core, KiB; default 128, Loihi's 16 MB over 128 cores. A
    /// neuron whose F weights exceed it fits nowhere
    pub synapse_kib: f64,
    /// bits of a spike packet (address event); default 32. A baseline packet carries its
    /// activation bits on top
    pub packet_bits: u32,
    /// whether routers replicate a packet along one tree to all destination cores (default
    /// true) or the source sends one packet per destination core
    pub multicast: bool,
    /// [rows, cols] of the core mesh; default: the smallest square holding every layer's cores.
    /// A network needing more cores is an error
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesh: Option<[u32; 2]>,
    /// "loihi" (default: Loihi's per-event energies, 14 nm) or "table" (every access and hop
    /// priced by the pipeline's table, e.g. `yan-22nm`: the paper's variant)
    pub calibration: Calibration,
    /// clock, MHz (one synaptic event per core per cycle); default 285 (Loihi's 3.5 ns per
    /// synaptic operation)
    pub clock_mhz: f64,
    /// what a core does with a zero input: "skip" (default: event-driven), "gate" or "none"
    pub zero_handling: Zeros,
    /// "auto" (default) or "reuse-free" (no multicast)
    pub dataflow: Dataflow,
    /// direct-coded first layer: "once" (default: the image enters once, its MACs are done
    /// once and the stored current is re-read every step) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
    /// how hard the mapper searches each layer: "quick", "default" or "thorough"
    pub effort: Effort,
    /// replaced by `zero_handling`
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub zero_skipping: Option<bool>,
    /// convolutions are loop nests: a core stores each kernel it serves once
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub weight_sharing: Option<bool>,
}

impl Default for NeuromorphicConfig {
    fn default() -> Self {
        Self {
            neurons_per_core: 1024,
            synapse_kib: 128.0,
            packet_bits: 32,
            multicast: true,
            mesh: None,
            calibration: Calibration::Loihi,
            clock_mhz: 285.0,
            zero_handling: Zeros::Skip,
            dataflow: Dataflow::Auto,
            direct_input: DirectInput::Once,
            input_bits: 8,
            effort: Effort::Default,
            zero_skipping: None,
            weight_sharing: None,
        }
    }
}

/// The neuromorphic architecture.
#[derive(Clone, Debug)]
pub struct Neuromorphic {
    config: NeuromorphicConfig,
    inner: HardwareArchitecture,
}

impl Neuromorphic {
    /// Validates the configuration and builds the description it states.
    pub fn new(config: NeuromorphicConfig) -> Result<Self, ConfigError> {
        let c = &config;
        let kib = check(c)?;
        let hw = describe(c, kib)?;
        let notes = assumptions(c);
        let inner = HardwareArchitecture::new(
            "neuromorphic",
            hw,
            Rules::Cores(Cores {
                neurons_per_core: c.neurons_per_core as u64,
                mesh: c.mesh.map(|[r, k]| [r as u64, k as u64]),
            }),
            LayerRules {
                batch: 1,
                direct_input: c.direct_input,
                input_bits: c.input_bits,
            },
            MapOptions {
                time_order: TimeOrder::TimestepMajor,
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

/// Checks the parameters; returns the synapse memory's KiB.
fn check(c: &NeuromorphicConfig) -> Result<f64, ConfigError> {
    if c.zero_skipping.is_some() {
        return Err(ConfigError::new(
            "replaced by `zero_handling` (\"skip\", \"gate\" or \"none\"): the cores treat zeros the same way on both formats",
        )
        .at_key("zero_skipping"));
    }
    if c.weight_sharing.is_some() {
        return Err(ConfigError::new(
            "layers are mapped as loop nests, so a core stores each kernel it serves once (a split by position duplicates kernels across cores); remove the key, and size cores with `neurons_per_core` and `synapse_kib`",
        )
        .at_key("weight_sharing"));
    }
    count(
        "neurons_per_core",
        c.neurons_per_core as u64,
        "a core's neurons",
    )
    .map_err(|_| {
        ConfigError::new("0: a core must hold at least one neuron").at_key("neurons_per_core")
    })?;
    let kib = positive("synapse_kib", c.synapse_kib, "the synapse memory")?;
    positive("clock_mhz", c.clock_mhz, "the clock")?;
    bits_param("packet_bits", c.packet_bits)?;
    bits_param("input_bits", c.input_bits)?;
    if let Some([r, k]) = c.mesh
        && (r == 0 || k == 0)
    {
        return Err(ConfigError::new(format!(
            "[{r}, {k}]: a mesh of zero cores cannot hold a network"
        ))
        .at_key("mesh"));
    }
    if (kib * 1024.0).round() < 1.0 {
        return Err(ConfigError::new("smaller than one byte").at_key("synapse_kib"));
    }
    Ok(kib)
}

/// The shipped description with the parameters' packets, memories and calibration.
fn describe(c: &NeuromorphicConfig, kib: f64) -> Result<Hardware, ConfigError> {
    let mut hw = Hardware::from_toml(DESCRIPTION)
        .map_err(|e| ConfigError::new(format!("the shipped description: {e}")))?;
    hw.compute.clock_mhz = c.clock_mhz;
    hw.compute.zero_handling = c.zero_handling.mapper();
    let mesh = &mut hw.levels[0];
    mesh.network.multicast = c.multicast;
    for f in mesh.formats.iter_mut() {
        match f {
            SparseFormat::Aer { address_bits, .. } | SparseFormat::Coo { address_bits, .. } => {
                *address_bits = Some(c.packet_bits)
            }
            _ => {}
        }
    }
    let table = AccessEnergy::Table(TableKeyword::Table);
    if c.calibration == Calibration::Table {
        mesh.network.hop_pj_per_bit = HopPrice::Table(TableKeyword::Table);
        hw.compute.energy = ComputeEnergy::Table(TableKeyword::Table);
    }
    let core = &mut hw.levels[1];
    for f in core.formats.iter_mut() {
        match f {
            SparseFormat::Aer { address_bits, .. } | SparseFormat::Coo { address_bits, .. } => {
                *address_bits = Some(c.packet_bits)
            }
            _ => {}
        }
    }
    if let Some(Capacity::Banks(banks)) = &mut core.capacity {
        for b in banks.iter_mut() {
            if b.holds.contains(&DataSpace::Weights) {
                b.size = Size::Text(format!("{} B", (kib * 1024.0).round()));
            }
            if b.holds.contains(&DataSpace::Membrane) || b.holds.contains(&DataSpace::Accum) {
                b.size = Size::Text(format!("{} words", c.neurons_per_core));
            }
            // Reading a spike from the queue is never priced apart: Loihi's per-event
            // energies include reading the spike that drives them. Writing it there is
            // Loihi's within-tile spike energy, which a table does not have: with the table
            // the spike costs its hops only, as in the paper's variant.
            if c.calibration == Calibration::Table {
                if b.holds.contains(&DataSpace::Inputs) {
                    b.energy = Some(AccessEnergy::PerWord {
                        read_pj: 0.0,
                        write_pj: 0.0,
                    });
                } else {
                    b.energy = Some(table.clone());
                    b.class = Some(LevelClass::Sram);
                }
            }
        }
    }
    Ok(hw)
}

/// The parameters in force, with their reasons, for reports.
fn assumptions(c: &NeuromorphicConfig) -> Vec<Assumption> {
    vec![
        Assumption::new(
            "calibration",
            match c.calibration {
                Calibration::Loihi => "loihi",
                Calibration::Table => "table",
            },
            match c.calibration {
                Calibration::Loihi => {
                    "Loihi's pre-silicon energies at 14 nm per synaptic operation (23.6 pJ), active neuron update (81 pJ), spike within a tile (1.7 pJ) and packet hop between cores (3.5 pJ), Davies et al., IEEE Micro 2018"
                }
                Calibration::Table => {
                    "every access, operation and hop priced by the pipeline's table"
                }
            },
        ),
        Assumption::new(
            "core",
            format!(
                "{} neurons, {} KiB synapse memory",
                c.neurons_per_core, c.synapse_kib
            ),
            "a layer gets at least the cores its neurons and weights need",
        ),
        Assumption::new(
            "packet",
            format!("{} bits", c.packet_bits),
            "one address event per spike; a baseline packet adds its value",
        ),
        Assumption::new(
            "routing",
            if c.multicast { "multicast" } else { "unicast" },
            "mean Manhattan distance between producer and consumer cores, plus one hop per further destination core (multicast) or a packet per destination (unicast)",
        ),
        Assumption::new(
            "mesh",
            match c.mesh {
                Some([r, k]) => format!("{r}×{k}"),
                None => "smallest square holding every layer's cores".into(),
            },
            "a network needing more cores than the mesh has is an error",
        ),
        Assumption::new(
            "zero inputs",
            c.zero_handling.name(),
            "event-driven cores do nothing for a zero",
        ),
        Assumption::new(
            "direct-coded first layer",
            c.direct_input.name(),
            "the image enters once, its MACs are done once and the stored current is re-read every step (or every step)",
        ),
        Assumption::new(
            "DRAM",
            "none per inference",
            "all weights stay in the cores' synapse memories",
        ),
    ]
}

// Priced with the table it is meant for, so the example runs as printed.
crate::hw::component!(
    Neuromorphic,
    NeuromorphicConfig,
    "neuromorphic",
    "cores with synapse memory, neuron memory and dendritic accumulators on a 2-D mesh, spikes as multicast packets over placed cores; Loihi-calibrated",
    &[("energy", "yan-22nm")]
);

crate::hw::delegate!(Neuromorphic, NeuromorphicConfig);
