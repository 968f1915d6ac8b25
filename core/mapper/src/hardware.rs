//! Hardware as data: storage levels from DRAM down to the PE registers, the networks between
//! them, and the compute units. Read from TOML; every field below is documented for users.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::MapperError;
use crate::problem::{DataSpace, Problem};

/// A chip: storage levels outermost (DRAM) first, then the compute units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Hardware {
    /// Name used in messages and reports.
    pub name: String,
    /// One paragraph on what the chip is and what was simplified.
    pub description: String,
    /// Technology node and status of the stated numbers (e.g. "14 nm, pre-silicon"), shown
    /// beside the sources in reports.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// Where each number comes from.
    pub sources: Vec<Source>,
    /// Storage levels, outermost (DRAM) first.
    pub levels: Vec<Level>,
    /// The compute units under each instance of the innermost level.
    pub compute: Compute,
}

/// A cited source of numbers in a hardware description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Source {
    /// Short key used in comments (e.g. `chen-isca-2016`).
    pub key: String,
    /// Full citation: authors, title, venue, year, table or figure.
    pub citation: String,
    /// What was taken from it.
    pub used_for: String,
}

/// What a price table prices a level as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LevelClass {
    /// Off-chip DRAM.
    Dram,
    /// On-chip SRAM (buffers, scratchpads of some KB).
    #[default]
    Sram,
    /// Register files and single registers in a PE.
    Register,
}

/// A size: a string with a unit (`"108 KiB"`, `"224 words"`, `"512 bits"`, `"64 B"`) or a
/// plain number of bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Size {
    /// A number of bits.
    Bits(u64),
    /// A number with a unit: bits, B/bytes, KB/KiB, MB/MiB (KB means 1024 bytes), words.
    Text(String),
}

impl Size {
    /// The size in bits, with `word_bits` for a size given in words.
    pub fn bits(&self, word_bits: u32) -> Result<u128, String> {
        match self {
            Size::Bits(b) => Ok(*b as u128),
            Size::Text(s) => {
                let s = s.trim();
                let split = s
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(s.len());
                let (num, unit) = s.split_at(split);
                let v: f64 = num
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{s}`: expected a number and a unit"))?;
                let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
                    "" | "b" | "bit" | "bits" => 1.0,
                    "byte" | "bytes" => 8.0,
                    "kb" | "kib" | "kbyte" | "kbytes" => 8.0 * 1024.0,
                    "mb" | "mib" => 8.0 * 1024.0 * 1024.0,
                    "gb" | "gib" => 8.0 * 1024.0 * 1024.0 * 1024.0,
                    "word" | "words" => word_bits as f64,
                    other => {
                        return Err(format!(
                            "`{s}`: unknown unit `{other}` (bits, B, KiB, MiB, GiB, words)"
                        ));
                    }
                };
                // A capital B is bytes, a lower-case b bits (as in "64 B" against "64 b").
                let mult = if unit.trim() == "B" { 8.0 } else { mult };
                let bits = v * mult;
                if !(bits.is_finite() && (0.0..1e30).contains(&bits)) {
                    return Err(format!("`{s}`: not a usable size"));
                }
                Ok(bits.round() as u128)
            }
        }
    }
}

/// A level's capacity: one pool shared by the data spaces it keeps, or one partition per
/// data space (Eyeriss' three scratchpads in one PE are one level with three partitions,
/// which says more than Timeloop's three levels with bypass).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Capacity {
    /// One pool.
    Shared(Size),
    /// A partition per data space; a data space without a partition cannot be kept here.
    Partitioned(BTreeMap<DataSpace, Size>),
    /// Banks, each shared by the data spaces it lists (a weight bank and an activation bank);
    /// a data space in no bank cannot be kept here.
    Banks(Vec<Bank>),
}

/// One bank of a level: its own array, possibly of another kind than the level's (a PE's
/// weight registers beside its membrane SRAM).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    /// Name in reports (default: the level's); a bank of its own class or energy is worth
    /// naming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Data spaces sharing it.
    pub holds: Vec<DataSpace>,
    /// Its size.
    pub size: Size,
    /// What a price table prices it as (default: the level's class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<LevelClass>,
    /// Energy per access (default: the level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<AccessEnergy>,
}

impl Level {
    /// The smallest block one access moves, in bits (the word unless stated).
    pub fn access_bits(&self) -> u32 {
        self.access_bits
            .unwrap_or(self.word_bits)
            .max(self.word_bits)
    }

    /// Elements of `bits` bits in one access block (at least one).
    pub fn per_block(&self, bits: u32) -> f64 {
        (self.access_bits() / bits.max(1)).max(1) as f64
    }

    /// The pools a level's capacity is checked against: (data spaces as a mask of
    /// `DataSpace::bit`, bits); empty when unbounded.
    pub fn pools(&self) -> Vec<(u8, Option<u128>)> {
        match &self.capacity {
            None => Vec::new(),
            Some(Capacity::Shared(s)) => vec![(0x1f, s.bits(self.word_bits).ok())],
            Some(Capacity::Partitioned(p)) => p
                .iter()
                .map(|(ds, s)| (ds.bit(), s.bits(self.word_bits).ok()))
                .collect(),
            Some(Capacity::Banks(b)) => b
                .iter()
                .map(|b| {
                    (
                        b.holds.iter().fold(0u8, |m, d| m | d.bit()),
                        b.size.bits(self.word_bits).ok(),
                    )
                })
                .collect(),
        }
    }

    /// The bank that keeps `ds` here, if the level is banked.
    pub fn bank_for(&self, ds: DataSpace) -> Option<&Bank> {
        match &self.capacity {
            Some(Capacity::Banks(b)) => b.iter().find(|b| b.holds.contains(&ds)),
            _ => None,
        }
    }

    /// What a price table prices accesses to `ds` here as.
    pub fn class_for(&self, ds: DataSpace) -> LevelClass {
        self.bank_for(ds)
            .and_then(|b| b.class)
            .unwrap_or(self.class)
    }

    /// The energy of accesses to `ds` here.
    pub fn energy_for(&self, ds: DataSpace) -> &AccessEnergy {
        self.bank_for(ds)
            .and_then(|b| b.energy.as_ref())
            .unwrap_or(&self.energy)
    }

    /// The capacity in bits of the pool that keeps `ds` here (the level's whole capacity
    /// when shared; `None` when unbounded or when no pool keeps it).
    pub fn capacity_for(&self, ds: DataSpace) -> Option<u128> {
        self.pools()
            .into_iter()
            .find(|(m, _)| m & ds.bit() != 0)
            .and_then(|(_, b)| b)
    }
}

fn class_name(c: LevelClass) -> &'static str {
    match c {
        LevelClass::Dram => "dram",
        LevelClass::Sram => "sram",
        LevelClass::Register => "register",
    }
}

/// The keyword `"table"`: the price comes from the caller's price tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TableKeyword {
    /// Priced by the caller's tables (class, bits, capacity).
    Table,
}

/// Energy of one access to a level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AccessEnergy {
    /// `"table"`: priced through the caller's price tables by class, bits and capacity.
    Table(TableKeyword),
    /// Fixed energies per full-word access.
    PerWord {
        /// pJ per read of one word.
        read_pj: f64,
        /// pJ per write of one word.
        write_pj: f64,
    },
    /// A CACTI-like form: a fixed part that grows with capacity,
    /// `fixed_pj · (capacity / reference_capacity)^capacity_exponent`, plus `per_bit_pj` for
    /// every bit actually moved (so a 1-bit read is neither free nor a full word).
    Cacti {
        /// Fixed pJ per access at the reference capacity.
        fixed_pj: f64,
        /// pJ per bit moved.
        per_bit_pj: f64,
        /// How the fixed part grows with capacity.
        #[serde(default)]
        capacity_exponent: f64,
        /// The capacity at which `fixed_pj` holds (same units as `capacity`; default: this
        /// level's own capacity).
        #[serde(default)]
        reference_capacity: Option<Size>,
        /// Writes cost this many times a read (default 1).
        #[serde(default = "one")]
        write_factor: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl Default for AccessEnergy {
    fn default() -> Self {
        AccessEnergy::Table(TableKeyword::Table)
    }
}

/// A per-bit-hop price: a number of pJ or `"table"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HopPrice {
    /// pJ per bit per hop.
    Pj(f64),
    /// Priced by the caller's tables.
    Table(TableKeyword),
}

impl Default for HopPrice {
    fn default() -> Self {
        HopPrice::Pj(0.0)
    }
}

/// Shape of a network between a level and its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// One hop to any child.
    #[default]
    Bus,
    /// A 2-D mesh fed from an edge: (X + Y) / 2 hops to a child on average.
    Mesh,
    /// Neighbour-to-neighbour forwarding: one hop per transfer.
    Systolic,
}

/// What a price table prices a network as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkClass {
    /// A dense (synchronous, graded-value) on-chip network or bus, priced per bit per hop.
    #[default]
    NocDense,
    /// An event-driven packet network, priced per bit per hop.
    NocEvent,
    /// Point-to-point links between neighbouring units, priced per transfer of a value.
    Link,
}

/// The network from a level to its children (the next level's instances or the compute units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Network {
    /// What a price table prices it as (used when `hop_pj_per_bit = "table"`).
    pub class: NetworkClass,
    /// Data spaces whose transfers cost energy here (default: all). A stream whose trip is
    /// paid elsewhere (outputs that leave as the next layer's inputs, paid on that layer's
    /// network) is left out.
    pub carries: Option<Vec<DataSpace>>,
    /// One read can be delivered to several children that need the same data.
    pub multicast: bool,
    /// Partial sums of children reducing over C, R, S are added in the network (adder tree or
    /// PE forwarding) before they reach this level.
    pub reduction: bool,
    /// Energy per bit per hop (pJ), or `"table"`.
    pub hop_pj_per_bit: HopPrice,
    /// Network shape (sets the default unicast hop count).
    pub topology: Topology,
    /// Hops of one unicast transfer; default: (X+Y)/2 for a mesh, 1 for a bus or systolic link.
    pub unicast_hops: Option<f64>,
    /// Extra hops per extra destination of a multicast:
    /// `unicast_hops + (m − 1) · hops_per_extra_destination`.
    pub hops_per_extra_destination: f64,
}

impl Network {
    /// Whether transfers of `ds` cost energy on this network.
    pub fn carries(&self, ds: DataSpace) -> bool {
        self.carries.as_ref().is_none_or(|c| c.contains(&ds))
    }
}

impl Default for Network {
    fn default() -> Self {
        Network {
            class: NetworkClass::NocDense,
            carries: None,
            multicast: true,
            reduction: false,
            hop_pj_per_bit: HopPrice::default(),
            topology: Topology::Bus,
            unicast_hops: None,
            hops_per_extra_destination: 1.0,
        }
    }
}

/// A storage format for inputs or outputs at a level (Sparseloop-style), with its metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SparseFormat {
    /// Every element stored; spikes as a dense 1-bit map.
    #[default]
    Dense,
    /// One bit per element plus the value bits of each non-zero (for spikes the 1-bit map is
    /// the bitmap, there are no values).
    Bitmap,
    /// Run-length: per non-zero its value and `run_bits` of zero-run length, plus the padding
    /// entries that runs longer than 2^run_bits − 1 need, in expectation under independent zeros.
    Rle {
        /// Bits of a run length.
        run_bits: u32,
    },
    /// Coordinates: per non-zero its value, ⌈log2(tile elements)⌉ address bits (or
    /// `address_bits`) and `header_bits`.
    Coo {
        /// Extra bits per non-zero (e.g. a timestamp).
        #[serde(default)]
        header_bits: f64,
        /// Fixed address bits per non-zero (default: ⌈log2(tile elements)⌉).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address_bits: Option<u32>,
    },
    /// Address events: as coordinates; a spike is its address (no value bits).
    Aer {
        /// Packet header / timestamp bits per event.
        #[serde(default)]
        header_bits: f64,
        /// Fixed address bits per event (a chip's packet format; default: ⌈log2(tile
        /// elements)⌉).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address_bits: Option<u32>,
    },
    /// Non-zero values only, their positions known for free: an idealization (what an
    /// accounting that charges only non-zero operands assumes), not a format a chip can
    /// store. Spikes cost nothing to store or move in it.
    Values,
}

impl SparseFormat {
    /// Short name.
    pub fn name(&self) -> &'static str {
        match self {
            SparseFormat::Dense => "dense",
            SparseFormat::Bitmap => "bitmap",
            SparseFormat::Rle { .. } => "rle",
            SparseFormat::Coo { .. } => "coo",
            SparseFormat::Aer { .. } => "aer",
            SparseFormat::Values => "values",
        }
    }

    /// True unless dense.
    pub fn is_compressed(&self) -> bool {
        !matches!(self, SparseFormat::Dense)
    }

    /// Average stored bits per element (data and metadata) at density `d`, for elements of
    /// `bits` value bits (`binary`: spikes, whose value is implied) in tiles of `tile` elements.
    /// Returns (data bits, metadata bits).
    pub fn bits_per_element(&self, bits: f64, binary: bool, d: f64, tile: f64) -> (f64, f64) {
        let s = self.stored(bits, binary, d, tile);
        (s.data, s.meta)
    }

    /// The same stream as messages, for networks priced per transfer: (messages per
    /// element, bits per message) at density `d`. A dense or bitmap stream is one message per
    /// element of its average bits; the others send one message per stored entry.
    pub fn messages_per_element(&self, bits: f64, binary: bool, d: f64, tile: f64) -> (f64, f64) {
        self.stored(bits, binary, d, tile).messages()
    }

    /// Average data bits, metadata bits and stored entries per element at density `d`.
    pub(crate) fn stored(&self, bits: f64, binary: bool, d: f64, tile: f64) -> Stored {
        let value = if binary { 0.0 } else { bits };
        match self {
            SparseFormat::Dense => Stored::new(bits, 0.0, 1.0),
            SparseFormat::Bitmap => Stored::new(d * value, 1.0, 1.0),
            SparseFormat::Rle { run_bits } => {
                let z = (1.0 - d).clamp(0.0, 1.0);
                let span = 2f64.powi(*run_bits as i32); // runs of length ≥ span need padding
                let zs = z.powf(span);
                let pad = if zs >= 1.0 { 0.0 } else { zs / (1.0 - zs) };
                let entries = d * (1.0 + pad);
                // A padding entry carries a (zero) value even for spikes.
                Stored::new(
                    d * value + d * pad * bits.max(1.0),
                    entries * *run_bits as f64,
                    entries,
                )
            }
            SparseFormat::Coo {
                header_bits,
                address_bits,
            }
            | SparseFormat::Aer {
                header_bits,
                address_bits,
            } => {
                let addr = match address_bits {
                    Some(a) => *a as f64,
                    None => tile.max(1.0).log2().ceil().max(1.0),
                };
                Stored::new(d * value, d * (addr + header_bits), d)
            }
            SparseFormat::Values => Stored::new(d * value, 0.0, d),
        }
    }
}

/// A format's average cost per element at some density.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Stored {
    /// Data bits.
    pub data: f64,
    /// Metadata bits.
    pub meta: f64,
    /// Stored entries (messages on a network priced per transfer).
    pub entries: f64,
}

impl Stored {
    fn new(data: f64, meta: f64, entries: f64) -> Stored {
        Stored {
            data,
            meta,
            entries,
        }
    }

    /// (messages per element, bits per message).
    pub fn messages(self) -> (f64, f64) {
        if self.entries <= 0.0 {
            (0.0, 0.0)
        } else {
            (self.entries, (self.data + self.meta) / self.entries)
        }
    }
}

/// Whether the mapper may let data spaces a level holds bypass it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Bypass {
    /// The level keeps every data space in `holds` that the problem has.
    #[default]
    Fixed,
    /// The mapper chooses, per data space in `holds`, whether to keep it here.
    Auto,
}

/// One storage level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Level {
    /// Unique name.
    pub name: String,
    /// What a price table prices it as.
    pub class: LevelClass,
    /// Capacity per instance; absent = unbounded (DRAM).
    pub capacity: Option<Capacity>,
    /// Access width in bits.
    pub word_bits: u32,
    /// The smallest block one access moves, in bits: a DRAM burst, an SRAM word. An access
    /// that zero operands would make unneeded is saved only when every element of its block
    /// is unneeded. Absent: the word (`word_bits`); a DRAM whose burst is wider than its
    /// word (64 bytes for a DDR4 ×64 burst of 8) states it here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_bits: Option<u32>,
    /// Words read per cycle per instance; absent = unbounded.
    pub read_bandwidth: Option<f64>,
    /// Words written per cycle per instance; absent = unbounded.
    pub write_bandwidth: Option<f64>,
    /// Data spaces this level may keep; the others bypass it.
    pub holds: Vec<DataSpace>,
    /// Whether the mapper may also bypass held data spaces.
    pub bypass: Bypass,
    /// Instances of this level under one instance of the level above, as an X × Y array
    /// (the PE array is the mesh of the per-PE level). The outermost level has [1, 1].
    #[serde(deserialize_with = "pair")]
    pub mesh: [u64; 2],
    /// Energy per access.
    pub energy: AccessEnergy,
    /// Static power per instance, mW.
    pub leakage_mw: f64,
    /// The network from this level to its children.
    pub network: Network,
    /// When the tile of inputs moves along P or Q, only the new rows or columns are fetched
    /// (the overlap of the sliding window stays).
    pub sliding_window: bool,
    /// Formats inputs and outputs may take here (the mapper picks one; default dense only).
    pub formats: Vec<SparseFormat>,
}

impl Default for Level {
    fn default() -> Self {
        Level {
            name: String::new(),
            class: LevelClass::Sram,
            capacity: None,
            word_bits: 16,
            access_bits: None,
            read_bandwidth: None,
            write_bandwidth: None,
            holds: DataSpace::ALL.to_vec(),
            bypass: Bypass::Fixed,
            mesh: [1, 1],
            energy: AccessEnergy::default(),
            leakage_mw: 0.0,
            network: Network::default(),
            sliding_window: true,
            formats: vec![SparseFormat::Dense],
        }
    }
}

/// What a compute unit does with a zero input operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ZeroHandling {
    /// No energy, no cycle; the innermost weight read and accumulator update it would have
    /// caused are not done.
    Skip,
    /// No compute, weight-read or accumulator-update energy, but the cycle is spent.
    Gate,
    /// Zeros cost like anything else.
    #[default]
    None,
}

/// Energies of the compute unit's operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ComputeEnergy {
    /// `"table"`: priced by the caller's tables by operation and bits.
    Table(TableKeyword),
    /// Explicit energies at the unit's widths; narrower operations scale (multiplies with the
    /// product of operand bits over mac_bits², adds and compares linearly with bits).
    Explicit {
        /// pJ per MAC at mac_bits × mac_bits.
        mac_pj: f64,
        /// pJ per ADD at add_bits.
        add_pj: f64,
        /// pJ per MUL at mac_bits × mac_bits (default: mac_pj − add_pj).
        #[serde(default)]
        mul_pj: Option<f64>,
        /// pJ per compare at add_bits (default: add_pj).
        #[serde(default)]
        compare_pj: Option<f64>,
    },
}

impl Default for ComputeEnergy {
    fn default() -> Self {
        ComputeEnergy::Table(TableKeyword::Table)
    }
}

/// The compute units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Compute {
    /// Units under one instance of the innermost level, as an X × Y array.
    #[serde(deserialize_with = "pair")]
    pub units: [u64; 2],
    /// Clock, MHz.
    pub clock_mhz: f64,
    /// Widest multiplier operand, bits (QNN MACs).
    pub mac_bits: u32,
    /// Adder width, bits (SNN accumulation, partial sums).
    pub add_bits: u32,
    /// What a zero input operand costs.
    pub zero_handling: ZeroHandling,
    /// Energies per operation.
    pub energy: ComputeEnergy,
    /// The QNN epilogue multiplies by a scale before comparing (requantization).
    pub requantize_mul: bool,
    /// Static power per unit, mW.
    pub leakage_mw: f64,
}

impl Default for Compute {
    fn default() -> Self {
        Compute {
            units: [1, 1],
            clock_mhz: 200.0,
            mac_bits: 16,
            add_bits: 32,
            zero_handling: ZeroHandling::None,
            energy: ComputeEnergy::default(),
            requantize_mul: false,
            leakage_mw: 0.0,
        }
    }
}

/// One step of a key path in a description: a table key or an array index.
#[derive(Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The 1-based line of the key at `path` in `text`, or of the nearest enclosing table that
/// exists (the first line for a key missing at the top).
fn line_of_key(text: &str, path: &[Seg]) -> Option<usize> {
    let parsed = toml::de::DeTable::parse(text).ok()?;
    let line = |pos: usize| text[..pos.min(text.len())].matches('\n').count() + 1;
    let mut best = 1;
    let mut table = Some(parsed.get_ref());
    let mut current: Option<&toml::de::DeValue<'_>> = None;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let Some((key, value)) = table.and_then(|t| {
                    t.iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                }) else {
                    break;
                };
                best = line(key.span().start);
                current = Some(value.get_ref());
            }
            Seg::Index(n) => {
                let Some(item) = current.and_then(|v| v.as_array()).and_then(|a| a.get(*n)) else {
                    break;
                };
                // An array of tables has no span worth pointing at; its first key is on (or
                // just after) its header.
                best = item
                    .get_ref()
                    .as_table()
                    .and_then(|t| t.iter().map(|(k, _)| k.span().start).min())
                    .map_or_else(|| line(item.span().start), line);
                current = Some(item.get_ref());
            }
        }
        table = current.and_then(|v| v.as_table());
    }
    Some(best)
}

/// An X × Y array size: exactly two numbers. A third (`mesh = [14, 12, 3]`) is an error, not
/// silently dropped: the chip would have a third of the instances its author meant.
fn pair<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u64; 2], D::Error> {
    let v = Vec::<u64>::deserialize(d)?;
    match v.as_slice() {
        [x, y] => Ok([*x, *y]),
        _ => Err(serde::de::Error::custom(format!(
            "an array size is [x, y], two numbers; {} given ({v:?})",
            v.len()
        ))),
    }
}

/// The shipped chips, by name.
pub const SHIPPED: [(&str, &str); 3] = [
    (
        "eyeriss-like",
        include_str!("../../../archs/hardware/eyeriss-like.toml"),
    ),
    (
        "tpu-like",
        include_str!("../../../archs/hardware/tpu-like.toml"),
    ),
    (
        "output-stationary",
        include_str!("../../../archs/hardware/output-stationary.toml"),
    ),
];

impl Hardware {
    /// Parses and validates a TOML description; a validation error carries the line of the
    /// key it is about.
    pub fn from_toml(text: &str) -> Result<Hardware, MapperError> {
        let hw: Hardware = toml::from_str(text).map_err(|e| MapperError::Parse(e.to_string()))?;
        hw.validate().map_err(|e| hw.located(text, e))?;
        Ok(hw)
    }

    /// `e` with the line in `text` of the level and key it names.
    fn located(&self, text: &str, e: MapperError) -> MapperError {
        let MapperError::Hardware { level, key, .. } = &e else {
            return e;
        };
        let mut path: Vec<Seg> = match level.as_str() {
            "-" => Vec::new(),
            "compute" => vec![Seg::Key("compute".into())],
            l => {
                let index = l
                    .strip_prefix('#')
                    .and_then(|n| n.parse().ok())
                    .or_else(|| self.level_index(l));
                match index {
                    Some(i) => vec![Seg::Key("levels".into()), Seg::Index(i)],
                    None => Vec::new(),
                }
            }
        };
        for part in key.split('.') {
            match part.split_once('[') {
                Some((k, rest)) => {
                    path.push(Seg::Key(k.into()));
                    if let Ok(i) = rest.trim_end_matches(']').parse() {
                        path.push(Seg::Index(i));
                    }
                }
                None => path.push(Seg::Key(part.into())),
            }
        }
        match line_of_key(text, &path) {
            Some(line) => MapperError::At {
                line,
                error: Box::new(e),
            },
            None => e,
        }
    }

    /// One of the shipped chips (`eyeriss-like`, `tpu-like`, `output-stationary`).
    pub fn shipped(name: &str) -> Result<Hardware, MapperError> {
        let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            MapperError::Parse(format!(
                "no shipped hardware `{name}` (shipped: {})",
                SHIPPED.map(|(n, _)| n).join(", ")
            ))
        })?;
        Hardware::from_toml(text)
    }

    fn err(&self, level: &str, key: &str, message: impl Into<String>) -> MapperError {
        MapperError::Hardware {
            hardware: if self.name.trim().is_empty() {
                "(no name)".into()
            } else {
                self.name.clone()
            },
            level: level.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn check_energy(
        &self,
        name: &str,
        key: &str,
        energy: &AccessEnergy,
        word_bits: u32,
    ) -> Result<(), MapperError> {
        match energy {
            AccessEnergy::Table(_) => {}
            AccessEnergy::PerWord { read_pj, write_pj } => {
                for (k, v) in [
                    (format!("{key}.read_pj"), read_pj),
                    (format!("{key}.write_pj"), write_pj),
                ] {
                    if !(v.is_finite() && *v >= 0.0) {
                        return Err(self.err(name, &k, "must be a non-negative number"));
                    }
                }
            }
            AccessEnergy::Cacti {
                fixed_pj,
                per_bit_pj,
                capacity_exponent,
                reference_capacity,
                write_factor,
            } => {
                for (k, v) in [
                    (format!("{key}.fixed_pj"), fixed_pj),
                    (format!("{key}.per_bit_pj"), per_bit_pj),
                    (format!("{key}.write_factor"), write_factor),
                ] {
                    if !(v.is_finite() && *v >= 0.0) {
                        return Err(self.err(name, &k, "must be a non-negative number"));
                    }
                }
                if !capacity_exponent.is_finite() {
                    return Err(self.err(
                        name,
                        &format!("{key}.capacity_exponent"),
                        "must be finite",
                    ));
                }
                if let Some(r) = reference_capacity {
                    let b = r
                        .bits(word_bits)
                        .map_err(|m| self.err(name, &format!("{key}.reference_capacity"), m))?;
                    if b == 0 {
                        return Err(self.err(
                            name,
                            &format!("{key}.reference_capacity"),
                            "must be positive",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks the description, naming the level and key of the first problem found.
    pub fn validate(&self) -> Result<(), MapperError> {
        if self.name.trim().is_empty() {
            return Err(self.err(
                "-",
                "name",
                "the chip has no `name`; give it one (`name = \"my-chip\"`): reports and messages call it by it",
            ));
        }
        if self.levels.is_empty() {
            return Err(self.err("-", "levels", "a chip needs at least one storage level"));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, l) in self.levels.iter().enumerate() {
            let name = l.name.as_str();
            if name.is_empty() {
                return Err(self.err(&format!("#{i}"), "name", "every level needs a name"));
            }
            if !names.insert(name) {
                return Err(self.err(name, "name", "two levels have this name"));
            }
        }
        // Places first: a level listed in the wrong place breaks rules meant for another
        // place (the outermost level's single instance), which would hide the order.
        for i in 0..self.levels.len() {
            self.check_place(i)?;
        }
        for (i, l) in self.levels.iter().enumerate() {
            let name = l.name.as_str();
            if l.word_bits == 0 {
                return Err(self.err(name, "word_bits", "0: a word has at least one bit"));
            }
            if let Some(a) = l.access_bits
                && a < l.word_bits
            {
                return Err(self.err(
                    name,
                    "access_bits",
                    format!(
                        "{a}: an access moves at least a word ({} bits)",
                        l.word_bits
                    ),
                ));
            }
            if l.mesh[0] == 0 || l.mesh[1] == 0 {
                return Err(self.err(
                    name,
                    "mesh",
                    format!(
                        "{:?}: an array needs at least one instance per axis",
                        l.mesh
                    ),
                ));
            }
            if i == 0 && l.mesh != [1, 1] {
                return Err(self.err(name, "mesh", "the outermost level has one instance"));
            }
            for (key, bw) in [
                ("read_bandwidth", l.read_bandwidth),
                ("write_bandwidth", l.write_bandwidth),
            ] {
                if let Some(b) = bw
                    && !(b.is_finite() && b > 0.0)
                {
                    return Err(self.err(
                        name,
                        key,
                        format!("{b}: a bandwidth is a positive number of words per cycle (leave it out for unbounded)"),
                    ));
                }
            }
            if !(l.leakage_mw.is_finite() && l.leakage_mw >= 0.0) {
                return Err(self.err(name, "leakage_mw", "must be a non-negative number"));
            }
            self.check_capacity(name, l)?;
            self.check_energies(name, l)?;
            self.check_network(name, &l.network)?;
            self.check_formats(name, &l.formats)?;
        }
        self.check_compute()?;
        self.check_instances()
    }

    /// A level's capacity: every size at least one word, banks named when priced on their
    /// own and holding each data space once.
    fn check_capacity(&self, name: &str, l: &Level) -> Result<(), MapperError> {
        match &l.capacity {
            None => {}
            Some(Capacity::Shared(s)) => {
                let bits = s
                    .bits(l.word_bits)
                    .map_err(|m| self.err(name, "capacity", m))?;
                if bits < l.word_bits as u128 {
                    return Err(self.err(
                        name,
                        "capacity",
                        format!(
                            "{bits} bits is smaller than one word of {} bits",
                            l.word_bits
                        ),
                    ));
                }
            }
            Some(Capacity::Banks(banks)) => {
                if banks.is_empty() {
                    return Err(self.err(name, "capacity", "no banks"));
                }
                let mut seen = 0u8;
                for (i, b) in banks.iter().enumerate() {
                    let key = format!("capacity[{i}]");
                    let bits = b
                        .size
                        .bits(l.word_bits)
                        .map_err(|m| self.err(name, &format!("{key}.size"), m))?;
                    if bits < l.word_bits as u128 {
                        return Err(self.err(
                            name,
                            &format!("{key}.size"),
                            format!(
                                "{bits} bits is smaller than one word of {} bits",
                                l.word_bits
                            ),
                        ));
                    }
                    if (b.class.is_some() || b.energy.is_some()) && b.name.is_none() {
                        return Err(self.err(
                            name,
                            &format!("{key}.name"),
                            "a bank of its own class or energy needs a name: reports and prices find it by it",
                        ));
                    }
                    for ds in &b.holds {
                        if seen & ds.bit() != 0 {
                            return Err(self.err(
                                name,
                                &format!("{key}.holds"),
                                format!("{ds} is in two banks"),
                            ));
                        }
                        seen |= ds.bit();
                    }
                }
            }
            Some(Capacity::Partitioned(parts)) => {
                if parts.is_empty() {
                    return Err(self.err(name, "capacity", "no partitions"));
                }
                for (ds, s) in parts {
                    let bits = s
                        .bits(l.word_bits)
                        .map_err(|m| self.err(name, &format!("capacity.{ds}"), m))?;
                    if bits < l.word_bits as u128 {
                        return Err(self.err(
                            name,
                            &format!("capacity.{ds}"),
                            format!(
                                "{bits} bits is smaller than one word of {} bits",
                                l.word_bits
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A level's access energies, and those of its banks.
    fn check_energies(&self, name: &str, l: &Level) -> Result<(), MapperError> {
        self.check_energy(name, "energy", &l.energy, l.word_bits)?;
        if let Some(Capacity::Banks(banks)) = &l.capacity {
            for (i, b) in banks.iter().enumerate() {
                if let Some(e) = &b.energy {
                    self.check_energy(name, &format!("capacity[{i}].energy"), e, l.word_bits)?;
                }
            }
        }
        Ok(())
    }

    /// The prices and hop counts of the network below a level.
    fn check_network(&self, name: &str, n: &Network) -> Result<(), MapperError> {
        if let HopPrice::Pj(v) = n.hop_pj_per_bit
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(self.err(
                name,
                "network.hop_pj_per_bit",
                "must be a non-negative number",
            ));
        }
        if let Some(h) = n.unicast_hops
            && !(h.is_finite() && h >= 0.0)
        {
            return Err(self.err(
                name,
                "network.unicast_hops",
                "must be a non-negative number",
            ));
        }
        if !(n.hops_per_extra_destination.is_finite() && n.hops_per_extra_destination >= 0.0) {
            return Err(self.err(
                name,
                "network.hops_per_extra_destination",
                "must be a non-negative number",
            ));
        }
        Ok(())
    }

    /// The formats a level may store inputs and outputs in.
    fn check_formats(&self, name: &str, formats: &[SparseFormat]) -> Result<(), MapperError> {
        if formats.is_empty() {
            return Err(self.err(name, "formats", "at least one format (dense)"));
        }
        for f in formats {
            if let SparseFormat::Rle { run_bits } = f
                && (*run_bits == 0 || *run_bits > 32)
            {
                return Err(self.err(name, "formats.run_bits", "must be in 1..=32"));
            }
            if let SparseFormat::Coo {
                header_bits,
                address_bits,
            }
            | SparseFormat::Aer {
                header_bits,
                address_bits,
            } = f
            {
                if !(header_bits.is_finite() && *header_bits >= 0.0) {
                    return Err(self.err(
                        name,
                        "formats.header_bits",
                        "must be a non-negative number",
                    ));
                }
                if matches!(address_bits, Some(a) if *a == 0 || *a > 64) {
                    return Err(self.err(name, "formats.address_bits", "must be in 1..=64"));
                }
            }
        }
        Ok(())
    }

    /// The compute units: array, clock, widths, leakage and energies.
    fn check_compute(&self) -> Result<(), MapperError> {
        let c = &self.compute;
        if c.units[0] == 0 || c.units[1] == 0 {
            return Err(self.err(
                "compute",
                "units",
                format!("{:?}: an array needs at least one unit per axis", c.units),
            ));
        }
        if !(c.clock_mhz.is_finite() && c.clock_mhz > 0.0) {
            return Err(self.err("compute", "clock_mhz", "must be a positive number"));
        }
        if c.mac_bits == 0 || c.add_bits == 0 {
            return Err(self.err("compute", "mac_bits", "widths must be at least 1"));
        }
        if !(c.leakage_mw.is_finite() && c.leakage_mw >= 0.0) {
            return Err(self.err("compute", "leakage_mw", "must be a non-negative number"));
        }
        if let ComputeEnergy::Explicit {
            mac_pj,
            add_pj,
            mul_pj,
            compare_pj,
        } = &c.energy
        {
            for (k, v) in [
                ("energy.mac_pj", Some(*mac_pj)),
                ("energy.add_pj", Some(*add_pj)),
                ("energy.mul_pj", *mul_pj),
                ("energy.compare_pj", *compare_pj),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(self.err("compute", k, "must be a non-negative number"));
                }
            }
        }
        Ok(())
    }

    /// Instance counts multiply; keep them far from overflow.
    fn check_instances(&self) -> Result<(), MapperError> {
        let mut inst: u128 = 1;
        for l in &self.levels {
            inst = inst
                .checked_mul(l.mesh[0] as u128 * l.mesh[1] as u128)
                .filter(|v| *v < 1 << 48)
                .ok_or_else(|| self.err(&l.name, "mesh", "too many instances in total"))?;
        }
        Ok(())
    }

    /// Checks that level `i` holds something and stands where its kind belongs: levels are
    /// listed outermost first, so DRAM comes first and registers
    /// come after buffers. Out of order, the mapper would read the list as another chip and
    /// fail later with a message about data spaces, not about the order.
    fn check_place(&self, i: usize) -> Result<(), MapperError> {
        let l = &self.levels[i];
        if l.holds.is_empty() {
            return Err(self.err(
                &l.name,
                "holds",
                format!(
                    "holds nothing{}: list the data spaces it keeps ({}), or remove the level",
                    if l.capacity.is_some() {
                        " though it has a capacity"
                    } else {
                        ""
                    },
                    DataSpace::ALL.map(|d| d.name()).join(", ")
                ),
            ));
        }
        let Some(i_above) = i.checked_sub(1) else {
            return Ok(());
        };
        let above = &self.levels[i_above];
        let outermost = &self.levels[0].name;
        if l.class == LevelClass::Dram {
            return Err(self.err(
                &l.name,
                "class",
                format!(
                    "a DRAM level is listed after `{}`: levels go outermost first, so put `{}` first (before `{outermost}`)",
                    above.name, l.name
                ),
            ));
        }
        let rank = |c: LevelClass| match c {
            LevelClass::Dram => 0,
            LevelClass::Sram => 1,
            LevelClass::Register => 2,
        };
        if rank(l.class) < rank(above.class) {
            return Err(self.err(
                &l.name,
                "class",
                format!(
                    "`{}` (class {}) is listed after `{}` (class {}): levels go outermost first (DRAM, then buffers, then PE registers); move `{}` above it",
                    l.name,
                    class_name(l.class),
                    above.name,
                    class_name(above.class),
                    l.name
                ),
            ));
        }
        Ok(())
    }

    /// Checks that this chip can run `problem`: every data space has a level that may hold
    /// it, operand widths fit the units.
    pub fn check_problem(&self, problem: &Problem) -> Result<(), MapperError> {
        problem.validate()?;
        for ds in problem.spaces() {
            if !self.levels.iter().any(|l| self.may_hold(l, ds)) {
                return Err(MapperError::Mapping {
                    problem: problem.name.clone(),
                    level: "-".into(),
                    data_space: Some(ds.name().into()),
                    key: "holds".into(),
                    message: format!("no level of `{}` may hold it", self.name),
                });
            }
        }
        let c = &self.compute;
        // A 1-bit input selects its weight into an adder; a wider one multiplies.
        let wide = if problem.input_bits == 1 {
            problem.weight_bits > c.add_bits
        } else {
            problem.input_bits.max(problem.weight_bits) > c.mac_bits
        };
        if wide {
            return Err(MapperError::Mapping {
                problem: problem.name.clone(),
                level: "compute".into(),
                data_space: None,
                key: "mac_bits".into(),
                message: format!(
                    "operands of {} × {} bits do not fit units of {} bits",
                    problem.weight_bits, problem.input_bits, c.mac_bits
                ),
            });
        }
        if problem.accum_bits > c.add_bits {
            return Err(MapperError::Mapping {
                problem: problem.name.clone(),
                level: "compute".into(),
                data_space: Some("accum".into()),
                key: "add_bits".into(),
                message: format!(
                    "{}-bit accumulators do not fit {}-bit adders",
                    problem.accum_bits, c.add_bits
                ),
            });
        }
        Ok(())
    }

    /// True if `level` may keep `ds` (listed in holds and, when partitioned or banked, with a
    /// partition or bank).
    pub fn may_hold(&self, level: &Level, ds: DataSpace) -> bool {
        level.holds.contains(&ds)
            && match &level.capacity {
                Some(Capacity::Partitioned(p)) => p.contains_key(&ds),
                Some(Capacity::Banks(b)) => b.iter().any(|b| b.holds.contains(&ds)),
                _ => true,
            }
    }

    /// Children of one instance of level `l`: the next level's mesh, or the compute units.
    pub fn fanout(&self, l: usize) -> [u64; 2] {
        if l + 1 < self.levels.len() {
            self.levels[l + 1].mesh
        } else {
            self.compute.units
        }
    }

    /// Instances of level `l` on the chip.
    pub fn instances(&self, l: usize) -> u64 {
        self.levels[1..=l]
            .iter()
            .map(|x| x.mesh[0] * x.mesh[1])
            .product()
    }

    /// Compute units on the chip.
    pub fn total_units(&self) -> u64 {
        self.instances(self.levels.len() - 1) * self.compute.units[0] * self.compute.units[1]
    }

    /// Index of the level called `name`.
    pub fn level_index(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.name == name)
    }
}
