//! The report: every number with its unit, every assumption and price with its source. This
//! is the data model (and the JSON schema scripts rely on); `snnergy-report` renders it.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::action::{AccessKey, Category, PriceClass};
use crate::activity::Provenance;
use crate::energy::PriceSource;
use crate::mapping::LayerMapping;
use crate::network::Network;
use crate::settings::AnalysisSettings;
use crate::traits::Assumption;

/// Version of the JSON schema; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

/// A workload as the report describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Label.
    pub name: String,
    /// Network name.
    pub network: String,
    /// Layers.
    pub layers: usize,
    /// Σ N over weighted layers.
    pub neurons: u64,
    /// Σ S over weighted layers (valid taps, padding excluded).
    pub synapses: u64,
    /// Σ W.
    pub weights: u64,
    /// Trainable parameters.
    pub parameters: u64,
    /// S / N.
    pub mean_fan_in: f64,
    /// S / W.
    pub mean_reuse: f64,
}

impl WorkloadSummary {
    /// Summarizes `network` under `label`.
    pub fn of(label: &str, network: &Network) -> Self {
        let t = network.totals();
        Self {
            name: label.to_string(),
            network: network.name.clone(),
            layers: network.layers.len(),
            neurons: t.neurons,
            synapses: t.synapses,
            weights: t.weights,
            parameters: t.parameters,
            mean_fan_in: t.mean_fan_in(),
            mean_reuse: t.mean_reuse(),
        }
    }
}

/// An architecture as the report describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureSummary {
    /// Label.
    pub name: String,
    /// Registered type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Energy model pricing it.
    pub energy_model: String,
    /// Parameters used, with reasons.
    pub assumptions: Vec<Assumption>,
}

/// A price source used by some energy model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    /// The model.
    pub energy_model: String,
    /// The source.
    #[serde(flatten)]
    pub source: PriceSource,
}

/// A price that was used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    /// The model.
    pub energy_model: String,
    /// The action.
    pub action: String,
    /// Its price class.
    pub class: String,
    /// Price.
    pub pj: f64,
    /// Unit of `pj`.
    pub unit: String,
    /// Source key.
    pub source: String,
    /// How it follows from the source.
    pub derivation: String,
}

/// One layer of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerComparison {
    /// Layer name.
    pub layer: String,
    /// Operation.
    pub op: String,
    /// SNN input spike rate.
    pub input_spike_rate: f64,
    /// Baseline input non-zero fraction.
    pub input_nonzero: f64,
    /// SNN energy, pJ.
    pub snn_pj: f64,
    /// Baseline energy, pJ.
    pub baseline_pj: f64,
    /// SNN energy by category, pJ.
    pub snn_breakdown: ByCategory,
    /// Baseline energy by category, pJ.
    pub baseline_breakdown: ByCategory,
    /// What the layer's time and static power cost, where it was mapped.
    #[serde(flatten)]
    pub mapped: LayerMapped,
}

/// A layer's latency, leakage, energy by level and mappings for both formats (empty for
/// architectures that model neither time nor places).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerMapped {
    /// SNN latency per inference, µs (absent when the architecture does not model time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snn_latency_us: Option<f64>,
    /// Baseline latency per inference, µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_latency_us: Option<f64>,
    /// SNN static energy (static power × latency), pJ; included in `snn_pj`.
    #[serde(default)]
    pub snn_leakage_pj: f64,
    /// Baseline static energy, pJ; included in `baseline_pj`.
    #[serde(default)]
    pub baseline_leakage_pj: f64,
    /// SNN energy by level (storage levels, networks, compute, leakage), pJ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snn_by_level: ByLevel,
    /// Baseline energy by level, pJ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline_by_level: ByLevel,
    /// The SNN layer's mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snn_mapping: Option<LayerMapping>,
    /// The baseline layer's mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_mapping: Option<LayerMapping>,
}

/// Energy at one place of the hardware, pJ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelEnergy {
    /// The level, network or unit (a hardware description's name; the price class for
    /// architectures that name no places).
    pub level: String,
    /// Energy, pJ.
    pub pj: f64,
}

/// Energy by place, outermost level first, as the architecture reported its places.
pub type ByLevel = Vec<LevelEnergy>;

/// The network-level figures of a comparison that come from time and places.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkMapped {
    /// SNN latency per inference (the layers' latencies summed), µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snn_latency_us: Option<f64>,
    /// Baseline latency per inference, µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_latency_us: Option<f64>,
    /// snn_latency_us / baseline_latency_us.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ratio: Option<f64>,
    /// SNN energy × latency over baseline energy × latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edp_ratio: Option<f64>,
    /// SNN static energy, pJ (part of `snn_pj`).
    #[serde(default)]
    pub snn_leakage_pj: f64,
    /// Baseline static energy, pJ (part of `baseline_pj`).
    #[serde(default)]
    pub baseline_leakage_pj: f64,
    /// SNN energy by level, pJ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snn_by_level: ByLevel,
    /// Baseline energy by level, pJ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline_by_level: ByLevel,
    /// The SNN's dataflow in words: the family carrying the most energy, with its share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snn_dataflow: Option<String>,
    /// The baseline's dataflow in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_dataflow: Option<String>,
}

/// SNN against baseline at one operating point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// Operating-point label.
    pub operating_point: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Mean SNN spike rate (spikes per neuron per step, neuron-weighted).
    pub spike_rate: f64,
    /// 1 − spike_rate.
    pub sparsity: f64,
    /// Mean baseline non-zero fraction ρ.
    pub nonzero: f64,
    /// Mean level L̄ of the twin's non-zero activations this point implies, r̄·T/ρ̄ (`None`
    /// when the twin is silent).
    pub mean_level: Option<f64>,
    /// Baseline name (`qnn-3bit`, `ann-8bit`).
    pub baseline: String,
    /// SNN energy per inference, pJ.
    pub snn_pj: f64,
    /// Baseline energy per inference, pJ.
    pub baseline_pj: f64,
    /// snn_pj / baseline_pj.
    pub ratio: f64,
    /// Whether the SNN uses less energy, or that no twin exists at this point.
    pub verdict: Verdict,
    /// SNN energy per synapse (Σ S over weighted layers), pJ.
    pub snn_pj_per_synapse: f64,
    /// Baseline energy per synapse, pJ.
    pub baseline_pj_per_synapse: f64,
    /// For a capacity-matched twin: whether ρ lies within the twin bound r ≤ ρ ≤ min(1, r·T).
    pub twin_consistent: Option<bool>,
    /// SNN energy by category, pJ.
    pub snn_breakdown: ByCategory,
    /// Baseline energy by category, pJ.
    pub baseline_breakdown: ByCategory,
    /// SNN energy by price class (memory level, operation, interconnect), pJ.
    pub snn_by_class: ByClass,
    /// Baseline energy by price class, pJ.
    pub baseline_by_class: ByClass,
    /// Latency, leakage, energy by level and dataflows.
    #[serde(flatten)]
    pub mapped: NetworkMapped,
    /// Per layer.
    pub layers: Vec<LayerComparison>,
}

/// The verdict at one operating point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The SNN uses less energy than its baseline.
    SnnWins,
    /// The SNN uses at least as much energy as its baseline.
    SnnLoses,
    /// The point violates the twin bound r ≤ ρ ≤ min(1, r·T): no capacity-matched twin has
    /// these rates, so the energies compare the SNN with a network that cannot exist.
    NoTwin,
}

impl Verdict {
    /// The verdict from the energies and whether a twin exists.
    pub fn of(snn_pj: f64, baseline_pj: f64, twin_exists: bool) -> Self {
        if !twin_exists {
            Verdict::NoTwin
        } else if snn_pj < baseline_pj {
            Verdict::SnnWins
        } else {
            Verdict::SnnLoses
        }
    }

    /// As people read it: "SNN wins", "SNN loses", "no twin exists at this point".
    pub fn phrase(self) -> &'static str {
        match self {
            Verdict::SnnWins => "SNN wins",
            Verdict::SnnLoses => "SNN loses",
            Verdict::NoTwin => "no twin exists at this point",
        }
    }

    /// Kebab-case name, as in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::SnnWins => "snn-wins",
            Verdict::SnnLoses => "snn-loses",
            Verdict::NoTwin => "no-twin",
        }
    }
}

/// How the break-even search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakEvenStatus {
    /// Energies cross at `spike_rate`.
    Crossing,
    /// The SNN costs more even with no spikes: no spike rate makes it win.
    SnnNeverWins,
    /// The SNN costs less even at the highest rate searched (`spike_rate` holds that rate).
    SnnAlwaysWins,
    /// The SNN costs more up to `spike_rate` and less above it (a baseline whose cost grows
    /// faster with activity than the SNN's).
    SnnWinsAbove,
    /// The SNN wins in an interval that touches neither end of the range, or in several:
    /// no single rate says it; the intervals do.
    SnnWinsWithin,
}

/// An interval of mean spike rate in which the SNN costs less than its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateInterval {
    /// Its lower end (0: from silence on).
    pub from: f64,
    /// Its upper end.
    pub to: f64,
    /// Whether it reaches the highest rate searched (the SNN still wins there).
    #[serde(default)]
    pub reaches_top: bool,
}

impl RateInterval {
    /// The interval as people read it, with `pct` writing a rate: "below 5.05 %", "above
    /// 0.3 %", "between 1.9 % and 2.3 %", "at every spike rate".
    pub fn phrase(&self, pct: impl Fn(f64) -> String) -> String {
        match (self.from == 0.0, self.reaches_top) {
            (true, true) => "at every spike rate".into(),
            (true, false) => format!("below {}", pct(self.to)),
            (false, true) => format!("above {}", pct(self.from)),
            (false, false) => format!("between {} and {}", pct(self.from), pct(self.to)),
        }
    }
}

/// Where the SNN wins, in words: "never", or each interval's [`RateInterval::phrase`] joined
/// with "and".
pub fn wins_phrase(wins: &[RateInterval], pct: impl Fn(f64) -> String) -> String {
    if wins.is_empty() {
        return "never".into();
    }
    let parts: Vec<String> = wins.iter().map(|w| w.phrase(&pct)).collect();
    parts.join(" and ")
}

/// Which result a row belongs to: workload, architecture and T, the key reports join on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResultKey<'a> {
    /// Workload label.
    pub workload: &'a str,
    /// Architecture label.
    pub architecture: &'a str,
    /// Time steps T.
    pub timesteps: u32,
}

/// A row of results that belongs to one workload, architecture and T.
pub trait Keyed {
    /// Its key.
    fn key(&self) -> ResultKey<'_>;
}

macro_rules! keyed {
    ($($t:ty),*) => {
        $(impl Keyed for $t {
            fn key(&self) -> ResultKey<'_> {
                ResultKey {
                    workload: &self.workload,
                    architecture: &self.architecture,
                    timesteps: self.timesteps,
                }
            }
        })*
    };
}

keyed!(Comparison, BreakEven, Sweep, Tornado);

/// What a breakdown attributes amounts to: a [`Category`] (what moved) or a [`PriceClass`]
/// (where, or which operation) for energy, an [`AccessKey`] for access counts.
pub trait BreakdownKey: Copy + Ord + fmt::Debug + 'static {
    /// Every key, in report order.
    const ALL: &'static [Self];
    /// Kebab-case name, as in JSON.
    fn name(&self) -> &'static str;
}

impl BreakdownKey for Category {
    const ALL: &'static [Self] = &Category::ALL;
    fn name(&self) -> &'static str {
        Category::name(self)
    }
}

impl BreakdownKey for PriceClass {
    const ALL: &'static [Self] = &PriceClass::ALL;
    fn name(&self) -> &'static str {
        PriceClass::name(self)
    }
}

impl BreakdownKey for AccessKey {
    const ALL: &'static [Self] = &AccessKey::ALL;
    fn name(&self) -> &'static str {
        AccessKey::name(self)
    }
}

/// Amounts attributed to typed keys: energy in pJ, or counts where the field says so. In JSON
/// an object keyed by name, in name order.
#[derive(Clone, Debug, PartialEq)]
pub struct Breakdown<K>(BTreeMap<K, f64>);

/// Energy by category, pJ.
pub type ByCategory = Breakdown<Category>;
/// Energy by price class, pJ.
pub type ByClass = Breakdown<PriceClass>;
/// Memory accesses and transfers by level, counts per inference.
pub type ByAccess = Breakdown<AccessKey>;

impl<K> Default for Breakdown<K> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: BreakdownKey> Breakdown<K> {
    /// The amount attributed to `key` (0 when none is).
    pub fn get(&self, key: K) -> f64 {
        self.0.get(&key).copied().unwrap_or(0.0)
    }

    /// Attributes `amount` more to `key`.
    pub fn add(&mut self, key: K, amount: f64) {
        *self.0.entry(key).or_insert(0.0) += amount;
    }

    /// The keys with an amount attributed, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (K, f64)> + '_ {
        self.0.iter().map(|(k, v)| (*k, *v))
    }
}

impl<K: BreakdownKey> FromIterator<(K, f64)> for Breakdown<K> {
    fn from_iter<I: IntoIterator<Item = (K, f64)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<K: BreakdownKey> Serialize for Breakdown<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut named: Vec<(&str, f64)> = self.0.iter().map(|(k, v)| (k.name(), *v)).collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        let mut map = s.serialize_map(Some(named.len()))?;
        for (k, v) in named {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

impl<'de, K: BreakdownKey> Deserialize<'de> for Breakdown<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<K>(PhantomData<K>);
        impl<'de, K: BreakdownKey> Visitor<'de> for V<K> {
            type Value = Breakdown<K>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of amounts keyed by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((name, v)) = a.next_entry::<String, f64>()? {
                    let Some(k) = K::ALL.iter().find(|k| k.name() == name) else {
                        return Err(serde::de::Error::custom(format!(
                            "unknown breakdown key `{name}`"
                        )));
                    };
                    out.insert(*k, v);
                }
                Ok(Breakdown(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// The break-even spike rate for one architecture, workload and T.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Baseline name.
    pub baseline: String,
    /// Mean spike rate at which SNN and baseline energies are equal (below it the SNN wins;
    /// with `snn-wins-above`, above it); `None` when the SNN never wins or wins in intervals
    /// no single rate describes (`wins` lists them).
    pub spike_rate: Option<f64>,
    /// 1 − spike_rate: the sparsity the SNN must exceed.
    pub sparsity: Option<f64>,
    /// The baseline's mean non-zero fraction ρ at the crossing.
    pub nonzero: Option<f64>,
    /// The mean level L̄ of the twin's non-zero activations at the crossing, r̄·T/ρ̄: the
    /// break-even read as "the SNN wins while its twin's non-zero activations average fewer
    /// than this many spikes per step window".
    pub mean_level: Option<f64>,
    /// `consistent` (ρ moved with r as ρ = r·T/L̄) or `fixed-nonzero` (ρ held).
    pub twin: String,
    /// Whether the twin bound clamped ρ at the crossing (the stated L̄ cannot hold there).
    pub twin_clamped: bool,
    /// How the search ended.
    pub status: BreakEvenStatus,
    /// Every interval of mean spike rate in which the SNN wins, in increasing order (empty:
    /// never). The single figures above read them when one crossing describes them.
    #[serde(default)]
    pub wins: Vec<RateInterval>,
    /// The operating point's mean spike rate, at which the break-even mean level is sought.
    pub level_rate: f64,
    /// How the search over the twin's mean level at `level_rate` ended: a crossing, the SNN
    /// losing even to the densest twin (L̄ = 1, ρ = min(1, r·T): `snn-never-wins`) or winning
    /// even against the sparsest (L̄ = T, ρ = r: `snn-always-wins`).
    pub level_status: BreakEvenStatus,
    /// The break-even mean level L̄* at `level_rate`: the SNN wins while its twin's non-zero
    /// activations average fewer than L̄* spikes (every layer at that level).
    pub level_breakeven: Option<f64>,
    /// The twin's mean non-zero fraction ρ at L̄*.
    pub level_nonzero: Option<f64>,
    /// The break-even in energy × latency, and what the crossing rests on.
    #[serde(flatten)]
    pub mapped: BreakEvenMapped,
}

/// What a break-even rests on when the architecture maps: the crossing in energy × latency,
/// the anchors the formats were mapped at, and the two formats' mappings at the crossing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakEvenMapped {
    /// Spike rate at which SNN and baseline energy × latency are equal (below it the SNN
    /// wins in EDP); absent when the architecture does not model time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edp_spike_rate: Option<f64>,
    /// How the EDP search ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edp_status: Option<BreakEvenStatus>,
    /// Every interval in which the SNN wins in energy × latency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edp_wins: Vec<RateInterval>,
    /// Activities each format's layers were mapped at their best for (the anchors spread
    /// over the searched range); 0 when the architecture's rules are its mapping.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub anchors: u32,
    /// The figures at the crossing, with the mappings the crossing was found with.
    #[serde(flatten)]
    pub at_crossing: NetworkMapped,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Energy against spike rate for one architecture, workload and T.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Baseline name.
    pub baseline: String,
    /// Baseline energy at each rate, pJ (constant when ρ is held fixed).
    pub baseline_pj: Vec<f64>,
    /// Mean spike rates.
    pub spike_rates: Vec<f64>,
    /// The baseline's mean non-zero fraction ρ at each rate.
    pub nonzero: Vec<f64>,
    /// SNN energy at each rate, pJ.
    pub snn_pj: Vec<f64>,
}

/// Everything an analysis produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// JSON schema version.
    pub schema: u32,
    /// Title.
    pub title: String,
    /// Units of the numeric fields.
    pub units: BTreeMap<String, String>,
    /// Analysis settings.
    pub settings: AnalysisSettings,
    /// Workloads.
    pub workloads: Vec<WorkloadSummary>,
    /// Architectures.
    pub architectures: Vec<ArchitectureSummary>,
    /// Assumptions of the analysis and of the activity source.
    pub assumptions: Vec<Assumption>,
    /// Price sources used.
    pub sources: Vec<SourceRow>,
    /// Prices used.
    pub prices: Vec<PriceRow>,
    /// SNN against baseline at each operating point.
    pub comparisons: Vec<Comparison>,
    /// Break-even spike rates.
    pub breakeven: Vec<BreakEven>,
    /// Energy against spike rate.
    pub sweeps: Vec<Sweep>,
    /// What the analysis could not do as asked or had to assume on the way (a clamp that
    /// bound, a measurement taken at another T): said here and in report.md, never only on a
    /// terminal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// One-at-a-time sensitivity of the break-even spike rate (tornado), if configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitivity: Vec<Tornado>,
    /// Operation counts, activation sparsity and accesses per level, per workload, T and
    /// operating point.
    #[serde(default)]
    pub metrics: Vec<Metrics>,
    /// What measured activity sources recorded, per workload and T; not part of the files.
    #[serde(skip)]
    pub measured: Vec<Measured>,
}

/// A measured operating point's provenance, with where it was used.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// Workload label.
    pub workload: String,
    /// Time steps T.
    pub timesteps: u32,
    /// Operating-point label.
    pub operating_point: String,
    /// The source's record.
    pub provenance: Arc<Provenance>,
}

impl Report {
    /// An empty report for `settings`.
    pub fn new(settings: &AnalysisSettings) -> Self {
        let units = [
            ("snn_pj", "pJ per inference"),
            ("baseline_pj", "pJ per inference"),
            ("snn_pj_per_synapse", "pJ per synapse per inference"),
            ("baseline_pj_per_synapse", "pJ per synapse per inference"),
            ("spike_rate", "spikes per neuron per time step"),
            (
                "nonzero",
                "fraction of baseline activations that are non-zero",
            ),
            ("ratio", "snn_pj / baseline_pj"),
            ("snn_latency_us", "µs per inference"),
            ("baseline_latency_us", "µs per inference"),
            ("snn_leakage_pj", "pJ per inference"),
            ("baseline_leakage_pj", "pJ per inference"),
            ("latency_ratio", "snn_latency_us / baseline_latency_us"),
            (
                "edp_ratio",
                "(snn_pj × snn_latency_us) / (baseline_pj × baseline_latency_us)",
            ),
            ("edp_spike_rate", "spikes per neuron per time step"),
            (
                "mean_level",
                "spikes per non-zero twin activation (mean level L̄, 1..T)",
            ),
            ("pj", "see each price's unit"),
            ("dense_synops", "weight × activation products per inference"),
            ("effective_macs", "multiply-accumulates per inference"),
            ("effective_acs", "accumulates per inference"),
            ("synops", "effective operations per inference"),
            (
                "activation_sparsity",
                "fraction of neuron outputs that are zero",
            ),
            ("accesses", "accesses or transfers per inference"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            schema: SCHEMA_VERSION,
            title: settings
                .title
                .clone()
                .unwrap_or_else(|| "snnergy analysis".into()),
            units,
            settings: settings.clone(),
            workloads: Vec::new(),
            architectures: Vec::new(),
            assumptions: Vec::new(),
            sources: Vec::new(),
            prices: Vec::new(),
            comparisons: Vec::new(),
            breakeven: Vec::new(),
            sweeps: Vec::new(),
            warnings: Vec::new(),
            sensitivity: Vec::new(),
            metrics: Vec::new(),
            measured: Vec::new(),
        }
    }

    /// Sorts the order-free lists so output is byte-for-byte reproducible.
    pub fn finish(&mut self) {
        self.prices.sort_by(|a, b| {
            (&a.energy_model, &a.class, &a.action).cmp(&(&b.energy_model, &b.class, &b.action))
        });
    }

    /// Records a warning once.
    pub fn warn(&mut self, message: impl Into<String>) {
        let m = message.into();
        if !self.warnings.contains(&m) {
            self.warnings.push(m);
        }
    }

    /// The T verdicts are stated at (see [`AnalysisSettings::headline_timesteps`]).
    pub fn headline_timesteps(&self) -> u32 {
        self.settings.headline_timesteps()
    }

    /// The break-even row of `key`.
    pub fn breakeven_at(&self, key: ResultKey<'_>) -> Option<&BreakEven> {
        self.breakeven.iter().find(|b| b.key() == key)
    }

    /// The sweep of `key`.
    pub fn sweep_at(&self, key: ResultKey<'_>) -> Option<&Sweep> {
        self.sweeps.iter().find(|s| s.key() == key)
    }

    /// The comparisons of `key`, one per operating point.
    pub fn comparisons_at<'a>(
        &'a self,
        key: ResultKey<'a>,
    ) -> impl Iterator<Item = &'a Comparison> + 'a {
        self.comparisons.iter().filter(move |c| c.key() == key)
    }

    /// The sensitivity studies of `key`.
    pub fn tornadoes_at<'a>(
        &'a self,
        key: ResultKey<'a>,
    ) -> impl Iterator<Item = &'a Tornado> + 'a {
        self.sensitivity.iter().filter(move |t| t.key() == key)
    }
}

/// One side (−range or +range) of a tornado row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// The value used, as shown to the reader (`×0.5`, `128`).
    pub value: String,
    /// Break-even spike rate (mean over neuron layers), if the energies cross or the SNN
    /// always wins (then the highest rate searched).
    pub breakeven: Option<f64>,
    /// How the break-even search ended.
    pub status: BreakEvenStatus,
    /// Every interval of mean spike rate in which the SNN wins.
    #[serde(default)]
    pub wins: Vec<RateInterval>,
    /// SNN energy over its baseline's at the operating point.
    pub ratio: f64,
    /// The verdict at the operating point's activity.
    pub verdict: Verdict,
}

impl Side {
    /// The break-even spike rate as a number for charts and swings: the single crossing, or
    /// where the first winning interval ends when several describe the side; 0 when the SNN
    /// never wins (charts draw that case with a mark of its own, see [`Side::never_wins`]).
    pub fn effective(&self) -> f64 {
        match (self.breakeven, self.wins.first()) {
            (Some(r), _) => r,
            (None, Some(w)) => w.to,
            (None, None) => 0.0,
        }
    }

    /// Whether no spike rate makes the SNN win on this side.
    pub fn never_wins(&self) -> bool {
        self.wins.is_empty()
    }
}

/// One varied input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TornadoRow {
    /// `price` (a price class scaled, mappings held), `parameter` (a numeric parameter
    /// scaled, the network mapped again), `choice` (another value of a structural choice:
    /// dataflow, loop order, format; mapped again) or `activity` (the baseline's non-zero
    /// fraction ρ scaled).
    pub kind: String,
    /// Price class (`sram`, `dram`, …) or parameter key.
    pub name: String,
    /// At −range, or `None` when the architecture rejects the value (see `notes`).
    pub low: Option<Side>,
    /// At +range, or `None` when rejected.
    pub high: Option<Side>,
    /// |break-even(high) − break-even(low)|, spike rate.
    pub swing: f64,
    /// Whether the verdict at the operating point differs from the nominal one on either side.
    pub flips: bool,
}

/// The study of one architecture on one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tornado {
    /// Architecture label.
    pub architecture: String,
    /// Workload label.
    pub workload: String,
    /// T.
    pub timesteps: u32,
    /// Baseline name.
    pub baseline: String,
    /// Operating-point label.
    pub operating_point: String,
    /// Mean spike rate of the operating point.
    pub spike_rate: f64,
    /// Relative change each way.
    pub range: f64,
    /// Nominal result.
    pub nominal: Side,
    /// Rows, largest swing first.
    pub rows: Vec<TornadoRow>,
    /// What decides the verdict: the ratio's band over the structural choices.
    pub decisive: Decisive,
    /// What could not be varied, and why.
    pub notes: Vec<String>,
}

/// The SNN/twin energy ratio at a study's operating point over its structural choices (every
/// other value of each choice: zero handling on both formats, spike format, membrane
/// residency, dataflow; batch 1…256; the twin's mean level from 1 to T), and the choices that
/// flip the verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decisive {
    /// The lowest ratio any structural choice gives.
    pub ratio_low: f64,
    /// The highest.
    pub ratio_high: f64,
    /// The choices (as `key = value`) whose value makes the verdict differ from the nominal
    /// one.
    pub flipped_by: Vec<String>,
}

impl Tornado {
    /// Whether any input flips the verdict within the range.
    pub fn flips(&self) -> bool {
        self.rows.iter().any(|r| r.flips)
    }
}

/// NeuroBench's operation counts and activation sparsity of one format, per inference (the
/// SNN's summed over its T steps).
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct FormatMetrics {
    /// Every weight × activation product, zeros included (padding taps excluded).
    pub dense_synops: f64,
    /// Products with a non-zero, non-binary activation.
    pub effective_macs: f64,
    /// Products with a spike (binary activation).
    pub effective_acs: f64,
    /// `effective_macs + effective_acs`.
    pub synops: f64,
    /// Fraction of neuron outputs that are zero.
    pub activation_sparsity: f64,
}

/// One weighted layer's share of the operation counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerMetrics {
    /// Layer name.
    pub layer: String,
    /// Weight × activation connections of one pass (valid taps, padding excluded).
    pub connections: f64,
    /// Whether the SNN layer receives spikes (its effective operations are ACs).
    pub snn_binary_input: bool,
    /// Non-zero fraction of the SNN layer's input values per step.
    pub snn_input_density: f64,
    /// Non-zero fraction of the baseline layer's input values.
    pub baseline_input_density: f64,
    /// SNN effective SynOps of the layer (all steps).
    pub snn_synops: f64,
    /// Baseline effective SynOps of the layer.
    pub baseline_synops: f64,
    /// Whether the input densities were measured (otherwise estimated from the rates of the
    /// layers feeding it, pooled values taken as independent).
    #[serde(default)]
    pub measured_input: bool,
}

/// Memory accesses and transfers one architecture counted, per level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessCounts {
    /// Architecture label.
    pub architecture: String,
    /// The SNN's accesses (`dram.read`, `sram.write`, …) and transfers (`noc-event.hop`, …).
    pub snn: ByAccess,
    /// The baseline's, keyed the same way.
    pub baseline: ByAccess,
}

/// The metrics the field reports (NeuroBench's definitions) of one workload at one T and
/// operating point, so numbers can be checked against tools and papers that count
/// operations rather than picojoules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Workload label.
    pub workload: String,
    /// Operating-point label.
    pub operating_point: String,
    /// Time steps T.
    pub timesteps: u32,
    /// The SNN's counts.
    pub snn: FormatMetrics,
    /// The baseline's counts.
    pub baseline: FormatMetrics,
    /// Per weighted layer.
    pub layers: Vec<LayerMetrics>,
    /// Per architecture, in the order of the report's architectures.
    pub accesses: Vec<AccessCounts>,
}
