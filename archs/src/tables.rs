//! Price tables: `horowitz-45nm`, `paper-v1`, `yan-22nm`, and `table` for a user's own.
//!
//! A table lists prices by operation and width, SRAM prices by capacity, and per-bit or
//! per-access prices for DRAM, registers and interconnect. Widths and capacities between
//! listed points are derived by stated rules (adders scale linearly with width, multipliers
//! quadratically; SRAM interpolates log-log in capacity and follows √capacity outside the
//! table), and every derived price says how it was derived. Anything a table does not list is
//! an error naming the action, never a zero.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    ActionKind, BuildContext, Component, ComputeOp, ConfigError, Derivation, EnergyModel,
    Interconnect, Memory, Price, PriceError, PriceSource,
};

/// A price at one operand width. `bits = 0` means the source gives no width and the price
/// applies at every width.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WidthPrice {
    /// Operand width, bits (0: any width).
    pub bits: u32,
    /// Price, pJ per operation.
    pub pj: f64,
}

/// How an access narrower or wider than the published word is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scaling {
    /// Proportional to the bits moved (data packed into words).
    #[default]
    PerBit,
    /// One price per access of up to `bits`; wider accesses take ⌈bits / word⌉ accesses.
    PerAccess,
}

/// A price per access of `bits` bits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessPrice {
    /// Width of the published access, bits.
    pub bits: u32,
    /// Price, pJ per access of `bits`.
    pub pj: f64,
    /// How other widths are priced.
    #[serde(default)]
    pub scaling: Scaling,
}

/// An SRAM price at one capacity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SramPrice {
    /// Capacity, KiB (0: one price for every capacity).
    pub capacity_kib: f64,
    /// Width of the published access, bits.
    pub bits: u32,
    /// Price, pJ per access of `bits`.
    pub pj: f64,
}

/// A price per bit per hop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HopPrice {
    /// Price, pJ per bit per hop.
    pub pj_per_bit: f64,
}

/// A full price table. As `type = "table"` every field the pipeline leaves out takes the
/// default `snnergy describe table` prints (Horowitz's 45 nm numbers, renamed), so a user
/// replaces only what they know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PriceTable {
    /// name of the table in reports
    pub name: String,
    /// technology node, e.g. "28 nm"
    pub node: String,
    /// where the numbers come from
    pub citation: String,
    /// true if the numbers are reported by others and unverified
    pub third_party: bool,
    /// integer addition: [{ bits, pj }] (bits = 0: any width)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<WidthPrice>,
    /// integer multiplication: [{ bits, pj }]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mul: Vec<WidthPrice>,
    /// comparison: [{ bits, pj }]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<WidthPrice>,
    /// width scaling exponent of add and compare (default 1)
    pub add_exponent: f64,
    /// width scaling exponent of mul (default 2)
    pub mul_exponent: f64,
    /// register-file access: { bits, pj, scaling = "per-bit" | "per-access" }
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<AccessPrice>,
    /// SRAM access by capacity: [{ capacity_kib, bits, pj }] (capacity_kib = 0: any capacity)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sram: Vec<SramPrice>,
    /// "per-bit" (default) or "per-access"
    pub sram_scaling: Scaling,
    /// DRAM access: { bits, pj, scaling }
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dram: Option<AccessPrice>,
    /// dense NoC: { pj_per_bit } per hop
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noc_dense: Option<HopPrice>,
    /// event NoC: { pj_per_bit } per hop
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noc_event: Option<HopPrice>,
    /// PE-to-PE link: { bits, pj, scaling }
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<AccessPrice>,
    /// published aggregates by name: { "name" = pj }
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub composite: BTreeMap<String, f64>,
    /// notes on derived entries, keyed like the entries
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

impl Default for PriceTable {
    /// The example a user starts from: Horowitz's 45 nm numbers, renamed.
    fn default() -> Self {
        let mut t = horowitz_45nm();
        t.name = "my-table".into();
        t.citation = "start from Horowitz ISSCC 2014 (45 nm) and replace with your own".into();
        t
    }
}

impl PriceTable {
    /// A table that kept the default notes but replaced an entry they explain would carry a
    /// derivation that is no longer true (e.g. "the midpoint 1.95 nJ" beside the user's own
    /// DRAM price): those notes go, the rest stay.
    fn drop_stale_default_notes(&mut self) {
        let default = Self::default();
        if self.notes != default.notes {
            return;
        }
        let kept = |key: &str, t: &Self| match key {
            "add" => t.add == default.add,
            "mul" => t.mul == default.mul && t.mul_exponent == default.mul_exponent,
            "compare" => t.compare == default.compare,
            "register" => t.register == default.register,
            "sram" => t.sram == default.sram && t.sram_scaling == default.sram_scaling,
            "dram" => t.dram == default.dram,
            "link" => t.link == default.link,
            _ => true,
        };
        let stale: Vec<String> = self
            .notes
            .keys()
            .filter(|k| !kept(k, self))
            .cloned()
            .collect();
        for k in stale {
            self.notes.remove(&k);
        }
    }

    /// Checks every price is finite and non-negative and every width and capacity sensible;
    /// errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let price = |key: String, pj: f64| -> Result<(), ConfigError> {
            if pj.is_finite() && pj >= 0.0 {
                Ok(())
            } else {
                Err(ConfigError::new(format!(
                    "price {pj} pJ: prices must be finite and non-negative"
                ))
                .at_key(key))
            }
        };
        let bits = |key: String, b: u32, zero_ok: bool| -> Result<(), ConfigError> {
            if (zero_ok && b == 0) || (1..=1024).contains(&b) {
                Ok(())
            } else {
                Err(ConfigError::new(format!("{b} bits is outside 1..=1024")).at_key(key))
            }
        };
        for (name, list) in [
            ("add", &self.add),
            ("mul", &self.mul),
            ("compare", &self.compare),
        ] {
            for (i, w) in list.iter().enumerate() {
                price(format!("{name}[{i}].pj"), w.pj)?;
                bits(format!("{name}[{i}].bits"), w.bits, true)?;
            }
            if list.iter().any(|w| w.bits == 0) && list.len() > 1 {
                return Err(ConfigError::new(
                    "a width-independent price (bits = 0) must be the only entry",
                )
                .at_key(name));
            }
        }
        for (key, e) in [
            ("add_exponent", self.add_exponent),
            ("mul_exponent", self.mul_exponent),
        ] {
            if !(e.is_finite() && (0.0..=4.0).contains(&e)) {
                return Err(ConfigError::new(format!("{e} is outside 0..=4")).at_key(key));
            }
        }
        for (key, a) in [
            ("register", &self.register),
            ("dram", &self.dram),
            ("link", &self.link),
        ] {
            if let Some(a) = a {
                price(format!("{key}.pj"), a.pj)?;
                bits(format!("{key}.bits"), a.bits, false)?;
            }
        }
        for (i, s) in self.sram.iter().enumerate() {
            price(format!("sram[{i}].pj"), s.pj)?;
            bits(format!("sram[{i}].bits"), s.bits, false)?;
            if !(s.capacity_kib.is_finite() && s.capacity_kib >= 0.0) {
                return Err(ConfigError::new(format!(
                    "capacity {} KiB must be non-negative",
                    s.capacity_kib
                ))
                .at_key(format!("sram[{i}].capacity_kib")));
            }
        }
        if self.sram.iter().any(|s| s.capacity_kib == 0.0) && self.sram.len() > 1 {
            return Err(ConfigError::new(
                "a capacity-independent SRAM price (capacity_kib = 0) must be the only entry",
            )
            .at_key("sram"));
        }
        for (key, h) in [
            ("noc_dense", &self.noc_dense),
            ("noc_event", &self.noc_event),
        ] {
            if let Some(h) = h {
                price(format!("{key}.pj_per_bit"), h.pj_per_bit)?;
            }
        }
        for (k, v) in &self.composite {
            price(format!("composite.{k}"), *v)?;
        }
        Ok(())
    }

    fn err(&self, action: &ActionKind, reason: impl Into<String>) -> PriceError {
        PriceError {
            model: self.name.clone(),
            action: action.to_string(),
            reason: reason.into(),
        }
    }

    fn derived(&self, key: &str, rule: Derivation) -> Derivation {
        match self.notes.get(key) {
            Some(note) => Derivation::Other {
                note: format!("{note}; {rule}"),
            },
            None => rule,
        }
    }

    fn width_price(
        &self,
        action: &ActionKind,
        key: &str,
        list: &[WidthPrice],
        exponent: f64,
        bits: u32,
    ) -> Result<Price, PriceError> {
        if list.is_empty() {
            return Err(self.err(
                action,
                format!(
                    "the table lists no `{key}` prices; add `{key} = [{{ bits = …, pj = … }}]`"
                ),
            ));
        }
        if let [w] = list
            && w.bits == 0
        {
            return Ok(Price {
                pj: w.pj,
                source: 0,
                derivation: self.derived(
                    key,
                    Derivation::Other {
                        note: "published without a width; applied at every width".into(),
                    },
                ),
            });
        }
        if let Some(w) = list.iter().find(|w| w.bits == bits) {
            return Ok(Price {
                pj: w.pj,
                source: 0,
                derivation: self.derived(key, Derivation::Exact),
            });
        }
        // Scale from the narrowest listed width at least as wide, else from the widest.
        let from = list
            .iter()
            .filter(|w| w.bits >= bits)
            .min_by_key(|w| w.bits)
            .or_else(|| list.iter().max_by_key(|w| w.bits))
            .expect("list is not empty");
        Ok(Price {
            pj: from.pj * (bits as f64 / from.bits as f64).powf(exponent),
            source: 0,
            derivation: self.derived(
                key,
                Derivation::WidthScaled {
                    from_bits: from.bits,
                    exponent,
                },
            ),
        })
    }

    fn access_price(
        &self,
        action: &ActionKind,
        key: &str,
        price: &Option<AccessPrice>,
        bits: u32,
    ) -> Result<Price, PriceError> {
        let Some(p) = price else {
            return Err(self.err(
                action,
                format!(
                    "the table has no `{key}` price; add `{key} = {{ bits = …, pj = …, scaling = \"per-bit\" }}`"
                ),
            ));
        };
        let (pj, rule) = scale_access(p.pj, p.bits, bits, p.scaling);
        Ok(Price {
            pj,
            source: 0,
            derivation: self.derived(key, rule),
        })
    }

    fn sram_price(
        &self,
        action: &ActionKind,
        bits: u32,
        capacity: u64,
    ) -> Result<Price, PriceError> {
        if self.sram.is_empty() {
            return Err(self.err(
                action,
                "the table has no `sram` prices; add `sram = [{ capacity_kib = …, bits = …, pj = … }]`",
            ));
        }
        let (base_pj, word, cap_rule) = if let [s] = self.sram.as_slice()
            && s.capacity_kib == 0.0
        {
            (s.pj, s.bits, None)
        } else {
            if capacity == 0 {
                return Err(self.err(
                    action,
                    "this table prices SRAM by capacity, and the architecture gave none",
                ));
            }
            let kib = capacity as f64 / 1024.0;
            let mut pts: Vec<&SramPrice> = self.sram.iter().collect();
            pts.sort_by(|a, b| a.capacity_kib.total_cmp(&b.capacity_kib));
            // Prices are per access of each entry's own width; normalise to the first's width.
            let word = pts[0].bits;
            let per = |s: &SramPrice| s.pj * word as f64 / s.bits as f64;
            let pj = if let Some(exact) = pts.iter().find(|s| s.capacity_kib == kib) {
                per(exact)
            } else if kib < pts[0].capacity_kib {
                per(pts[0]) * (kib / pts[0].capacity_kib).sqrt()
            } else if kib > pts[pts.len() - 1].capacity_kib {
                let last = pts[pts.len() - 1];
                per(last) * (kib / last.capacity_kib).sqrt()
            } else {
                let i = pts
                    .iter()
                    .position(|s| s.capacity_kib > kib)
                    .expect("bracketed");
                let (a, b) = (pts[i - 1], pts[i]);
                let t =
                    (kib.ln() - a.capacity_kib.ln()) / (b.capacity_kib.ln() - a.capacity_kib.ln());
                (per(a).ln() + t * (per(b).ln() - per(a).ln())).exp()
            };
            let exact = pts.iter().any(|s| s.capacity_kib == kib);
            (pj, word, (!exact).then_some(capacity))
        };
        let (pj, width_rule) = scale_access(base_pj, word, bits, self.sram_scaling);
        let rule = match cap_rule {
            None => width_rule,
            Some(capacity_bytes) => Derivation::Other {
                note: format!(
                    "{}; {}",
                    Derivation::Capacity { capacity_bytes },
                    width_rule
                ),
            },
        };
        Ok(Price {
            pj,
            source: 0,
            derivation: self.derived("sram", rule),
        })
    }
}

fn scale_access(pj: f64, word: u32, bits: u32, scaling: Scaling) -> (f64, Derivation) {
    match scaling {
        Scaling::PerBit => (
            pj * bits as f64 / word as f64,
            if bits == word {
                Derivation::Exact
            } else {
                Derivation::PerBit { word_bits: word }
            },
        ),
        Scaling::PerAccess => (
            pj * bits.div_ceil(word).max(1) as f64,
            Derivation::PerWord { word_bits: word },
        ),
    }
}

impl EnergyModel for PriceTable {
    fn name(&self) -> &str {
        &self.name
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        match *action {
            ActionKind::Compute { op, bits } => {
                if bits == 0 {
                    return Err(self.err(action, "zero-width operation"));
                }
                match op {
                    ComputeOp::Add => self.width_price(action, "add", &self.add, self.add_exponent, bits),
                    ComputeOp::Mul => self.width_price(action, "mul", &self.mul, self.mul_exponent, bits),
                    ComputeOp::Compare => {
                        self.width_price(action, "compare", &self.compare, self.add_exponent, bits)
                    }
                }
            }
            // Reads and writes share a price in every table snnergy ships (the sources give one
            // number per access); a model that needs them apart can be a plugin.
            ActionKind::Memory {
                level,
                bits,
                capacity_bytes,
                access: _,
            } => {
                if bits == 0 {
                    return Err(self.err(action, "zero-width access"));
                }
                match level {
                    Memory::Register => self.access_price(action, "register", &self.register, bits),
                    Memory::Sram => self.sram_price(action, bits, capacity_bytes),
                    Memory::Dram => self.access_price(action, "dram", &self.dram, bits),
                }
            }
            ActionKind::Transfer { net, bits } => {
                let (key, hop) = match net {
                    Interconnect::NocDense => ("noc_dense", &self.noc_dense),
                    Interconnect::NocEvent => ("noc_event", &self.noc_event),
                    Interconnect::Link => return self.access_price(action, "link", &self.link, bits),
                };
                let Some(h) = hop else {
                    return Err(self.err(
                        action,
                        format!("the table has no `{key}` price; add `{key} = {{ pj_per_bit = … }}`"),
                    ));
                };
                Ok(Price {
                    pj: h.pj_per_bit * bits as f64,
                    source: 0,
                    derivation: self.derived(
                        key,
                        Derivation::Other {
                            note: format!("{} pJ/bit/hop × {bits} bits", h.pj_per_bit),
                        },
                    ),
                })
            }
            ActionKind::Leakage => Err(self.err(
                action,
                "a price table states no static power; a hardware description gives it per level (`leakage_mw`)",
            )),
            ActionKind::Composite { name } => match self.composite.get(name.as_str()) {
                Some(pj) => Ok(Price {
                    pj: *pj,
                    source: 0,
                    derivation: self.derived(
                        &format!("composite.{}", name.as_str()),
                        Derivation::Other {
                            note: "published aggregate, not broken down by its source".into(),
                        },
                    ),
                }),
                None => Err(self.err(
                    action,
                    format!(
                        "this aggregate has no breakdown into primitive actions; price it with the table that publishes it (`paper-v1`) or list it under `composite` (listed here: {})",
                        if self.composite.is_empty() {
                            "none".to_string()
                        } else {
                            self.composite.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                )),
            },
        }
    }

    fn sources(&self) -> Vec<PriceSource> {
        vec![PriceSource {
            key: self.name.clone(),
            citation: self.citation.clone(),
            node: self.node.clone(),
            third_party: self.third_party,
        }]
    }
}

impl Component for PriceTable {
    type Interface = dyn EnergyModel;
    type Config = PriceTable;
    const NAME: &'static str = "table";
    const SUMMARY: &'static str =
        "your own prices: add/mul/compare by width, SRAM by capacity, DRAM, registers, NoC, links";

    fn build(
        mut table: PriceTable,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn EnergyModel>, ConfigError> {
        table.drop_stale_default_notes();
        table.validate()?;
        Ok(Box::new(table))
    }
}

/// A built-in price table, registered under its own name and taking no parameters.
macro_rules! builtin_table {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $table:ident, $summary:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty;

        impl Component for $ty {
            type Interface = dyn EnergyModel;
            type Config = crate::NoParams;
            const NAME: &'static str = $name;
            const SUMMARY: &'static str = $summary;

            fn build(_: crate::NoParams, _: &BuildContext<'_>) -> Result<Box<dyn EnergyModel>, ConfigError> {
                Ok(Box::new($table()))
            }
        }
    };
}

builtin_table!(
    /// `horowitz-45nm`.
    Horowitz45nm,
    "horowitz-45nm",
    horowitz_45nm,
    "Horowitz ISSCC 2014, 45 nm: add/mul by width, SRAM by capacity (8 KB–1 MB), DRAM"
);
builtin_table!(
    /// `paper-v1` prices.
    PaperV1Prices,
    "paper-v1",
    paper_v1,
    "constants of the v1 paper: ADD 0.03, MUL 0.2, SRAM 20, DRAM 2000 pJ per access, and its two published aggregates"
);
builtin_table!(
    /// `yan-22nm`.
    Yan22nm,
    "yan-22nm",
    yan_22nm,
    "22 nm constants of the paper's v2+ (reported by third parties, unverified): ACC/CMP 0.05448 pJ, DRAM 1.3 nJ/64 b, NoC 0.25 (dense) / 3.0 (event) pJ/bit/hop"
);

fn w(bits: u32, pj: f64) -> WidthPrice {
    WidthPrice { bits, pj }
}

/// Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm,
/// 0.9 V: the table most SNN energy papers cite.
pub fn horowitz_45nm() -> PriceTable {
    PriceTable {
        name: "horowitz-45nm".into(),
        node: "45 nm, 0.9 V".into(),
        citation: "M. Horowitz, \"Computing's energy problem (and what we can do about it)\", ISSCC 2014".into(),
        third_party: false,
        add: vec![w(8, 0.03), w(16, 0.05), w(32, 0.1)],
        mul: vec![w(8, 0.2), w(32, 3.1)],
        compare: vec![w(8, 0.03), w(16, 0.05), w(32, 0.1)],
        add_exponent: 1.0,
        mul_exponent: 2.0,
        register: Some(AccessPrice {
            bits: 16,
            pj: 0.23,
            scaling: Scaling::PerBit,
        }),
        sram: vec![
            SramPrice { capacity_kib: 8.0, bits: 64, pj: 10.0 },
            SramPrice { capacity_kib: 32.0, bits: 64, pj: 20.0 },
            SramPrice { capacity_kib: 1024.0, bits: 64, pj: 100.0 },
        ],
        sram_scaling: Scaling::PerBit,
        dram: Some(AccessPrice {
            bits: 64,
            pj: 1950.0,
            scaling: Scaling::PerBit,
        }),
        noc_dense: None,
        noc_event: None,
        link: Some(AccessPrice {
            bits: 16,
            pj: 0.46,
            scaling: Scaling::PerBit,
        }),
        composite: BTreeMap::new(),
        notes: BTreeMap::from([
            (
                "compare".into(),
                "not in the table: a comparator is priced as an adder of the same width (snnergy's assumption)".into(),
            ),
            (
                "link".into(),
                "not in the table: a 16-bit move to a neighbouring PE priced as two 8-bit MACs (2 × 0.23 pJ), Eyeriss's normalisation of inter-PE transfers (Chen et al., ISCA 2016; snnergy's derivation)".into(),
            ),
            (
                "register".into(),
                "not in the table: one 16-bit register-file access priced as one 8-bit MAC (0.2 + 0.03 pJ), Eyeriss's normalisation (Chen et al., ISCA 2016; snnergy's derivation)".into(),
            ),
            (
                "dram".into(),
                "the table gives 1.3–2.6 nJ per 64 bits; snnergy uses the midpoint 1.95 nJ".into(),
            ),
        ]),
    }
}

/// The constants of the v1 paper (Yan et al., arXiv 2409.08290v1): every operand access
/// costs the same whatever its width, and two aggregates of its classical SNN model are
/// published only as totals.
pub fn paper_v1() -> PriceTable {
    PriceTable {
        name: "paper-v1".into(),
        node: "45 nm".into(),
        citation: "Yan, Bai, Wong, \"Reconsidering the energy efficiency of spiking neural networks\", arXiv 2409.08290v1 (2024), constants of its plotting code".into(),
        third_party: false,
        add: vec![w(8, 0.03)],
        mul: vec![w(8, 0.2)],
        compare: vec![w(8, 0.03)],
        add_exponent: 1.0,
        mul_exponent: 2.0,
        register: Some(AccessPrice {
            bits: 16,
            pj: 0.23,
            scaling: Scaling::PerBit,
        }),
        sram: vec![SramPrice { capacity_kib: 0.0, bits: 64, pj: 20.0 }],
        sram_scaling: Scaling::PerAccess,
        dram: Some(AccessPrice {
            bits: 64,
            pj: 2000.0,
            scaling: Scaling::PerAccess,
        }),
        noc_dense: None,
        noc_event: None,
        link: Some(AccessPrice {
            bits: 64,
            pj: 20.0,
            scaling: Scaling::PerAccess,
        }),
        composite: BTreeMap::from([
            (crate::paper_v1::CLASSICAL_SNN_EVENT.into(), 64.32),
            (crate::paper_v1::CLASSICAL_SNN_NEURON_STEP.into(), 64.35),
        ]),
        notes: BTreeMap::from([
            (
                "link".into(),
                "one operand move between PEs, priced like an SRAM access as in the paper".into(),
            ),
            (
                "register".into(),
                "not in the paper: one 16-bit register-file access priced as one of its MACs (0.2 + 0.03 pJ), Eyeriss's normalisation (Chen et al., ISCA 2016; snnergy's derivation)".into(),
            ),
        ]),
    }
}

/// The 22 nm constants of the paper's v2+ versions, as reported by third parties (not checked
/// against the paper). Prices the paper does not give are derived and say so.
pub fn yan_22nm() -> PriceTable {
    PriceTable {
        name: "yan-22nm".into(),
        node: "22 nm".into(),
        citation: "Yan et al., arXiv 2409.08290v2+ (\"… Inference from Analytical Perspectives\"), 22 nm constants as reported by third parties".into(),
        third_party: true,
        add: vec![w(0, 0.05448)],
        mul: Vec::new(),
        compare: vec![w(0, 0.05448)],
        add_exponent: 1.0,
        mul_exponent: 1.0,
        register: None,
        sram: vec![SramPrice { capacity_kib: 0.0, bits: 1, pj: 0.25 }],
        sram_scaling: Scaling::PerBit,
        dram: Some(AccessPrice {
            bits: 64,
            pj: 1300.0,
            scaling: Scaling::PerBit,
        }),
        noc_dense: Some(HopPrice { pj_per_bit: 0.25 }),
        noc_event: Some(HopPrice { pj_per_bit: 3.0 }),
        link: Some(AccessPrice {
            bits: 1,
            pj: 0.25,
            scaling: Scaling::PerBit,
        }),
        composite: BTreeMap::new(),
        notes: BTreeMap::from([
            (
                "add".into(),
                "ACC = SUB reported without a width".into(),
            ),
            (
                "compare".into(),
                "CMP reported without a width".into(),
            ),
            (
                "sram".into(),
                "not reported: a local memory access is priced as one dense on-chip move of its bits (0.25 pJ/bit, snnergy's reading)".into(),
            ),
            (
                "link".into(),
                "one dense hop of the transferred bits".into(),
            ),
        ]),
    }
    .with_shift_add_mul()
}

impl PriceTable {
    /// Derives multiplication as shift-and-add for tables that publish only accumulation:
    /// a b-bit multiply is b accumulations.
    fn with_shift_add_mul(mut self) -> Self {
        if self.mul.is_empty()
            && let [acc] = self.add.as_slice()
        {
            self.mul = vec![w(1, acc.pj)];
            self.mul_exponent = 1.0;
            self.notes.insert(
                "mul".into(),
                "not reported: a b-bit multiply is priced as b accumulations (shift-and-add, snnergy's derivation)".into(),
            );
        }
        self
    }
}

/// The built-in table registered under `name`, if any.
pub fn builtin(name: &str) -> Option<PriceTable> {
    match name {
        "horowitz-45nm" => Some(horowitz_45nm()),
        "paper-v1" => Some(paper_v1()),
        "yan-22nm" => Some(yan_22nm()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnergy_core::{ActionKind, ComputeOp, Memory};

    #[test]
    fn horowitz_sram_prices_hit_the_published_capacities_exactly() {
        let t = horowitz_45nm();
        for (kib, pj) in [(8, 10.0), (32, 20.0), (1024, 100.0)] {
            let p = t
                .price(&ActionKind::read(Memory::Sram, 64, kib * 1024))
                .unwrap();
            assert!((p.pj - pj).abs() < 1e-12, "{kib} KiB: {}", p.pj);
        }
    }

    #[test]
    fn sram_price_grows_with_capacity_between_and_beyond_the_table() {
        let t = horowitz_45nm();
        let price = |kib: u64| {
            t.price(&ActionKind::read(Memory::Sram, 64, kib * 1024))
                .unwrap()
                .pj
        };
        let caps = [1, 4, 8, 16, 32, 64, 512, 1024, 4096];
        for pair in caps.windows(2) {
            assert!(price(pair[0]) < price(pair[1]), "{pair:?}");
        }
        // √capacity outside the table: 4 MiB costs twice 1 MiB.
        assert!((price(4096) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn multiplier_price_scales_quadratically_and_adder_linearly_between_widths() {
        let t = horowitz_45nm();
        let mul4 = t.price(&ActionKind::compute(ComputeOp::Mul, 4)).unwrap().pj;
        assert!((mul4 - 0.05).abs() < 1e-12, "{mul4}");
        let add4 = t.price(&ActionKind::compute(ComputeOp::Add, 4)).unwrap().pj;
        assert!((add4 - 0.015).abs() < 1e-12, "{add4}");
    }

    #[test]
    fn an_unlisted_price_is_an_error_that_names_the_action() {
        let t = horowitz_45nm();
        let err = t
            .price(&ActionKind::Transfer {
                net: Interconnect::NocEvent,
                bits: 32,
            })
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("horowitz-45nm") && msg.contains("noc-event"),
            "{msg}"
        );
    }

    #[test]
    fn negative_prices_are_rejected_with_their_key() {
        let mut t = horowitz_45nm();
        t.mul[1].pj = -3.1;
        let err = t.validate().unwrap_err();
        assert_eq!(err.key.as_deref(), Some("mul[1].pj"));
    }

    #[test]
    fn an_inline_table_takes_the_documented_defaults_for_what_it_leaves_out() {
        let mut t: PriceTable = toml::from_str("name = \"mine\"\ndram = { bits = 64, pj = 640.0 }")
            .expect("a table with two keys parses");
        t.drop_stale_default_notes();
        t.validate().unwrap();
        // SRAM from the defaults, DRAM the user's, and the default DRAM note gone with it.
        let sram = t
            .price(&ActionKind::read(Memory::Sram, 64, 32 * 1024))
            .unwrap();
        assert!((sram.pj - 20.0).abs() < 1e-9, "{sram:?}");
        let dram = t.price(&ActionKind::read(Memory::Dram, 64, 0)).unwrap();
        assert!((dram.pj - 640.0).abs() < 1e-9, "{dram:?}");
        assert!(!t.notes.contains_key("dram") && t.notes.contains_key("register"));
        assert_eq!(t.node, "45 nm, 0.9 V");
    }

    #[test]
    fn builtin_tables_are_valid() {
        for name in ["horowitz-45nm", "paper-v1", "yan-22nm"] {
            builtin(name).unwrap().validate().unwrap();
        }
    }
}
