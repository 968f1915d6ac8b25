//! Actions: what an architecture says a layer does (Timeloop's half of the split), before an
//! energy model prices it (Accelergy's half). Counts are plain `f64` so averages over spike
//! rates stay exact; every action is tagged with the data it moves so reports can say where
//! the energy goes.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

/// Arithmetic operations, priced by bit width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComputeOp {
    /// Integer addition or accumulation (also subtraction).
    Add,
    /// Integer multiplication.
    Mul,
    /// Comparison (threshold check).
    Compare,
}

/// Storage levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Memory {
    /// Register file inside a PE.
    Register,
    /// On-chip SRAM (buffer, core memory); its price may depend on its capacity.
    Sram,
    /// Off-chip DRAM.
    Dram,
}

/// Interconnects that move data between places.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interconnect {
    /// Dense (synchronous, graded-value) on-chip network, priced per bit per hop.
    NocDense,
    /// Event-driven (packet) on-chip network, priced per bit per hop.
    NocEvent,
    /// A short point-to-point link between neighbouring PEs, priced per transfer of `bits`.
    Link,
}

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read.
    Read,
    /// Write.
    Write,
}

/// One kind of action, with everything that decides its price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum ActionKind {
    /// An arithmetic operation of `bits` width. Counted per operation.
    Compute {
        /// Operation.
        op: ComputeOp,
        /// Operand width in bits.
        bits: u32,
    },
    /// A memory access moving `bits` bits. Counted per access.
    Memory {
        /// Level.
        level: Memory,
        /// Read or write.
        access: Access,
        /// Bits moved by one access.
        bits: u32,
        /// Capacity of the memory in bytes (0 when not applicable, e.g. DRAM).
        capacity_bytes: u64,
    },
    /// A message of `bits` bits crossing one hop (NoC) or one link. Counted per hop.
    Transfer {
        /// Which interconnect.
        net: Interconnect,
        /// Bits in the message.
        bits: u32,
    },
    /// An aggregate published as one number that its source never broke down (for instance
    /// the per-event constant of the paper's v1 plotting code). Only a table that lists the
    /// name can price it.
    Composite {
        /// Name of the aggregate.
        name: CompositeName,
    },
    /// Static power of the place it is counted at, for one nanosecond: counted in ns of
    /// latency, priced in pJ/ns (= mW). Only a hardware description that states the place's
    /// static power can price it.
    Leakage,
}

/// An interned composite-action name, so [`ActionKind`] stays `Copy` and cheap to hash.
#[derive(Clone, Copy, Debug, Eq, PartialOrd, Ord)]
pub struct CompositeName(pub &'static str);

/// Interned names are equal when they are the same pointer; the text is compared only for a
/// name that was not interned. Price lookups compare these per action of every evaluation.
fn same_name(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

impl PartialEq for CompositeName {
    fn eq(&self, other: &Self) -> bool {
        same_name(self.0, other.0)
    }
}

// By the text, as equality falls back to it.
impl std::hash::Hash for CompositeName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl CompositeName {
    /// Interns `name`.
    pub fn new(name: &str) -> Self {
        Self(intern(name))
    }

    /// The name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl Serialize for CompositeName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CompositeName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::new(&s))
    }
}

/// Where an action happens: the name of a storage level, network or unit of a hardware
/// description ("DRAM", "GLB", "spad", "GLB network", "compute"), interned so [`Action`]
/// stays `Copy`. Architectures that describe no places leave it empty, and reports then name
/// the action's price class instead.
#[derive(Clone, Copy, Debug, Eq, PartialOrd, Ord, Default)]
pub struct Place(pub &'static str);

impl PartialEq for Place {
    fn eq(&self, other: &Self) -> bool {
        same_name(self.0, other.0)
    }
}

impl std::hash::Hash for Place {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Place {
    /// No named place.
    pub const NONE: Place = Place("");

    /// Interns `name`.
    pub fn new(name: &str) -> Self {
        if name.is_empty() {
            Place::NONE
        } else {
            Self(intern(name))
        }
    }

    /// The name ("" for none).
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Whether no place is named.
    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Place {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Place {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::new(&s))
    }
}

/// Interns composite-action names so [`ActionKind`] stays `Copy`; the set of names is small
/// and lives for the process.
pub fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = set.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

impl ActionKind {
    /// A compute action.
    pub const fn compute(op: ComputeOp, bits: u32) -> Self {
        ActionKind::Compute { op, bits }
    }

    /// A memory read.
    pub const fn read(level: Memory, bits: u32, capacity_bytes: u64) -> Self {
        ActionKind::Memory {
            level,
            access: Access::Read,
            bits,
            capacity_bytes,
        }
    }

    /// A memory write.
    pub const fn write(level: Memory, bits: u32, capacity_bytes: u64) -> Self {
        ActionKind::Memory {
            level,
            access: Access::Write,
            bits,
            capacity_bytes,
        }
    }

    /// The price class this action belongs to, used to scale prices in sensitivity studies.
    pub fn class(&self) -> PriceClass {
        match self {
            ActionKind::Compute { op, .. } => match op {
                ComputeOp::Add => PriceClass::Add,
                ComputeOp::Mul => PriceClass::Mul,
                ComputeOp::Compare => PriceClass::Compare,
            },
            ActionKind::Memory { level, .. } => match level {
                Memory::Register => PriceClass::Register,
                Memory::Sram => PriceClass::Sram,
                Memory::Dram => PriceClass::Dram,
            },
            ActionKind::Transfer { net, .. } => match net {
                Interconnect::NocDense => PriceClass::NocDense,
                Interconnect::NocEvent => PriceClass::NocEvent,
                Interconnect::Link => PriceClass::Link,
            },
            ActionKind::Composite { .. } => PriceClass::Composite,
            ActionKind::Leakage => PriceClass::Leakage,
        }
    }

    /// What one counted unit of this action is.
    pub fn unit(&self) -> &'static str {
        match self {
            ActionKind::Compute { .. } => "pJ/op",
            ActionKind::Memory { .. } => "pJ/access",
            ActionKind::Transfer { net, .. } => match net {
                Interconnect::Link => "pJ/transfer",
                _ => "pJ/hop",
            },
            ActionKind::Composite { .. } => "pJ/event",
            ActionKind::Leakage => "pJ/ns",
        }
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionKind::Compute { op, bits } => {
                let op = match op {
                    ComputeOp::Add => "add",
                    ComputeOp::Mul => "mul",
                    ComputeOp::Compare => "compare",
                };
                write!(f, "{op} {bits}-bit")
            }
            ActionKind::Memory {
                level,
                access,
                bits,
                capacity_bytes,
            } => {
                let level = match level {
                    Memory::Register => "register",
                    Memory::Sram => "sram",
                    Memory::Dram => "dram",
                };
                let access = match access {
                    Access::Read => "read",
                    Access::Write => "write",
                };
                write!(f, "{level} {access} {bits}-bit")?;
                if *capacity_bytes > 0 {
                    write!(f, " @ {}", format_bytes(*capacity_bytes))?;
                }
                Ok(())
            }
            ActionKind::Transfer { net, bits } => {
                let net = match net {
                    Interconnect::NocDense => "noc-dense hop",
                    Interconnect::NocEvent => "noc-event hop",
                    Interconnect::Link => "link transfer",
                };
                write!(f, "{net} {bits}-bit")
            }
            ActionKind::Composite { name } => write!(f, "composite `{}`", name.0),
            ActionKind::Leakage => write!(f, "static power"),
        }
    }
}

/// What a memory access or a transfer is, for counting: its level and direction, or its
/// interconnect. Widths and capacities are left out so counts from different architectures
/// line up by level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessKey {
    /// A read or write at a memory level.
    Memory(Memory, Access),
    /// A hop (NoC) or transfer (link) on an interconnect.
    Transfer(Interconnect),
}

impl AccessKey {
    /// Every key, in name order.
    pub const ALL: [AccessKey; 9] = [
        AccessKey::Memory(Memory::Dram, Access::Read),
        AccessKey::Memory(Memory::Dram, Access::Write),
        AccessKey::Transfer(Interconnect::Link),
        AccessKey::Transfer(Interconnect::NocDense),
        AccessKey::Transfer(Interconnect::NocEvent),
        AccessKey::Memory(Memory::Register, Access::Read),
        AccessKey::Memory(Memory::Register, Access::Write),
        AccessKey::Memory(Memory::Sram, Access::Read),
        AccessKey::Memory(Memory::Sram, Access::Write),
    ];

    /// The key of `kind`, if it is a memory access or a transfer.
    pub fn of(kind: &ActionKind) -> Option<Self> {
        match *kind {
            ActionKind::Memory { level, access, .. } => Some(AccessKey::Memory(level, access)),
            ActionKind::Transfer { net, .. } => Some(AccessKey::Transfer(net)),
            ActionKind::Compute { .. } | ActionKind::Composite { .. } | ActionKind::Leakage => None,
        }
    }

    /// `<level>.<read|write>` or `<interconnect>.<hop|transfer>`, as in reports.
    pub fn name(&self) -> &'static str {
        match self {
            AccessKey::Memory(Memory::Register, Access::Read) => "register.read",
            AccessKey::Memory(Memory::Register, Access::Write) => "register.write",
            AccessKey::Memory(Memory::Sram, Access::Read) => "sram.read",
            AccessKey::Memory(Memory::Sram, Access::Write) => "sram.write",
            AccessKey::Memory(Memory::Dram, Access::Read) => "dram.read",
            AccessKey::Memory(Memory::Dram, Access::Write) => "dram.write",
            AccessKey::Transfer(Interconnect::NocDense) => "noc-dense.hop",
            AccessKey::Transfer(Interconnect::NocEvent) => "noc-event.hop",
            AccessKey::Transfer(Interconnect::Link) => "link.transfer",
        }
    }
}

/// Formats a byte count with a binary unit (KiB, MiB).
pub fn format_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    if bytes >= KIB * KIB && bytes.is_multiple_of(KIB * KIB) {
        format!("{} MiB", bytes / (KIB * KIB))
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// Groups of prices that sensitivity studies scale together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriceClass {
    /// Additions.
    Add,
    /// Multiplications.
    Mul,
    /// Comparisons.
    Compare,
    /// Register-file accesses.
    Register,
    /// SRAM accesses.
    Sram,
    /// DRAM accesses.
    Dram,
    /// Dense NoC hops.
    NocDense,
    /// Event NoC hops.
    NocEvent,
    /// Point-to-point links.
    Link,
    /// Published aggregates.
    Composite,
    /// Static power over the latency.
    Leakage,
}

impl PriceClass {
    /// Every class, in report order.
    pub const ALL: [PriceClass; 11] = [
        PriceClass::Add,
        PriceClass::Mul,
        PriceClass::Compare,
        PriceClass::Register,
        PriceClass::Sram,
        PriceClass::Dram,
        PriceClass::NocDense,
        PriceClass::NocEvent,
        PriceClass::Link,
        PriceClass::Composite,
        PriceClass::Leakage,
    ];

    /// Kebab-case name.
    pub fn name(&self) -> &'static str {
        match self {
            PriceClass::Add => "add",
            PriceClass::Mul => "mul",
            PriceClass::Compare => "compare",
            PriceClass::Register => "register",
            PriceClass::Sram => "sram",
            PriceClass::Dram => "dram",
            PriceClass::NocDense => "noc-dense",
            PriceClass::NocEvent => "noc-event",
            PriceClass::Link => "link",
            PriceClass::Composite => "composite",
            PriceClass::Leakage => "leakage",
        }
    }
}

/// What moved (or what the operation served): the axis of the energy breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Arithmetic: multiplications, accumulations, threshold checks.
    Compute,
    /// Weight traffic.
    Weights,
    /// Input activations (QNN) or spikes (SNN) moving to where they are consumed.
    Activations,
    /// Membrane-potential reads and writes.
    Membrane,
    /// Partial-sum reads and writes.
    PartialSums,
    /// Output activations or spikes written back.
    Outputs,
    /// Static power over the latency: not data, but energy the chip spends while it runs.
    Leakage,
}

/// Number of categories.
pub const NCATEGORIES: usize = Category::ALL.len();

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 7] = [
        Category::Compute,
        Category::Weights,
        Category::Activations,
        Category::Membrane,
        Category::PartialSums,
        Category::Outputs,
        Category::Leakage,
    ];

    /// Position in [`Category::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Kebab-case name.
    pub fn name(&self) -> &'static str {
        match self {
            Category::Compute => "compute",
            Category::Weights => "weights",
            Category::Activations => "activations",
            Category::Membrane => "membrane",
            Category::PartialSums => "partial-sums",
            Category::Outputs => "outputs",
            Category::Leakage => "leakage",
        }
    }
}

/// A counted action.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What is done.
    pub kind: ActionKind,
    /// What it served.
    pub category: Category,
    /// How many times, per inference (may be fractional: averages over spike rates).
    pub count: f64,
    /// Where (a level of a hardware description); empty when the architecture names none.
    #[serde(default, skip_serializing_if = "Place::is_none")]
    pub place: Place,
}

/// The actions of one layer evaluation. Reused across evaluations so the hot path does not
/// allocate.
#[derive(Clone, Debug, Default)]
pub struct Actions {
    items: Vec<Action>,
    latency_ns: f64,
}

impl Actions {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `count` actions of `kind` serving `category`.
    #[inline]
    pub fn push(&mut self, kind: ActionKind, category: Category, count: f64) {
        self.items.push(Action {
            kind,
            category,
            count,
            place: Place::NONE,
        });
    }

    /// Records `count` actions of `kind` serving `category` at `place`.
    #[inline]
    pub fn push_at(&mut self, place: Place, kind: ActionKind, category: Category, count: f64) {
        self.items.push(Action {
            kind,
            category,
            count,
            place,
        });
    }

    /// Clears the list and the latency, keeping the capacity.
    pub fn clear(&mut self) {
        self.items.clear();
        self.latency_ns = 0.0;
    }

    /// Sets the layer's latency per inference, ns (architectures that model time).
    pub fn set_latency_ns(&mut self, ns: f64) {
        self.latency_ns = ns;
    }

    /// The layer's latency per inference, ns; 0 when the architecture does not model time.
    pub fn latency_ns(&self) -> f64 {
        self.latency_ns
    }

    /// The recorded actions.
    pub fn as_slice(&self) -> &[Action] {
        &self.items
    }

    /// Number of recorded actions.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_returns_the_same_pointer_for_equal_names() {
        let a = intern("paper-v1/classical-snn-synaptic-event");
        let b = intern(&String::from("paper-v1/classical-snn-synaptic-event"));
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn action_kinds_round_trip_through_json() {
        let kinds = [
            ActionKind::compute(ComputeOp::Mul, 8),
            ActionKind::read(Memory::Sram, 64, 32 * 1024),
            ActionKind::Transfer {
                net: Interconnect::NocEvent,
                bits: 32,
            },
            ActionKind::Composite {
                name: CompositeName::new("x/y"),
            },
        ];
        for k in kinds {
            let json = serde_json::to_string(&k).unwrap();
            let back: ActionKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, k, "{json}");
        }
    }

    #[test]
    fn access_keys_are_listed_once_each_in_name_order() {
        let names: Vec<&str> = AccessKey::ALL.iter().map(AccessKey::name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
