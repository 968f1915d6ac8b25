//! Energy models price actions. Every price says where it comes from, so a report can list
//! the sources it used, and an action a model cannot price is an error naming the action,
//! never a silent zero.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::action::{ActionKind, Place, PriceClass};
use crate::error::PriceError;

/// Where a price comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSource {
    /// Short key, e.g. `horowitz-isscc14`.
    pub key: String,
    /// Citation a reader can look up.
    pub citation: String,
    /// Technology node, e.g. `45 nm`.
    pub node: String,
    /// True when the numbers were reported by third parties and not checked against the
    /// original publication.
    pub third_party: bool,
}

/// How a price was obtained from its source's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "rule")]
pub enum Derivation {
    /// Taken as published.
    Exact,
    /// Scaled from the published width: price × (bits / from_bits)^exponent.
    WidthScaled {
        /// Published width.
        from_bits: u32,
        /// Scaling exponent (1 for adders, 2 for multipliers).
        exponent: f64,
    },
    /// A per-word price scaled to the access width: price × bits / word_bits.
    PerBit {
        /// Width of the published access.
        word_bits: u32,
    },
    /// One published price per access regardless of width, ⌈bits / word_bits⌉ accesses.
    PerWord {
        /// Width of one access.
        word_bits: u32,
    },
    /// Capacity-dependent SRAM price interpolated (log-log) between published capacities, or
    /// extrapolated with the square-root law outside them.
    Capacity {
        /// Capacity priced, bytes.
        capacity_bytes: u64,
    },
    /// Anything else, explained in words.
    Other {
        /// Explanation.
        note: String,
    },
}

impl fmt::Display for Derivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Derivation::Exact => write!(f, "as published"),
            Derivation::WidthScaled {
                from_bits,
                exponent,
            } => write!(
                f,
                "scaled from {from_bits}-bit by (bits/{from_bits})^{exponent}"
            ),
            Derivation::PerBit { word_bits } => {
                write!(f, "per bit of the published {word_bits}-bit access")
            }
            Derivation::PerWord { word_bits } => {
                write!(f, "per access of up to {word_bits} bits")
            }
            Derivation::Capacity { capacity_bytes } => write!(
                f,
                "interpolated to {} (log-log; √capacity outside the table)",
                crate::action::format_bytes(*capacity_bytes)
            ),
            Derivation::Other { note } => write!(f, "{note}"),
        }
    }
}

/// The price of one action.
#[derive(Clone, Debug, PartialEq)]
pub struct Price {
    /// Picojoules per counted unit of the action.
    pub pj: f64,
    /// Index into the model's [`EnergyModel::sources`].
    pub source: usize,
    /// How the price follows from the source.
    pub derivation: Derivation,
}

/// Prices actions in picojoules (Accelergy's half of the split).
pub trait EnergyModel: Send + Sync + fmt::Debug {
    /// Name as registered, e.g. `horowitz-45nm`.
    fn name(&self) -> &str;

    /// The price of one action, or an error naming the action when this model cannot price it.
    fn price(&self, action: &ActionKind) -> Result<Price, PriceError>;

    /// The sources prices refer to (by index).
    fn sources(&self) -> Vec<PriceSource>;

    /// The price of `action` at a named place. A model that knows a place's own numbers (a
    /// hardware description's per-access energies, static power) answers for that place;
    /// every other answers as [`EnergyModel::price`].
    fn price_at(&self, place: Place, action: &ActionKind) -> Result<Price, PriceError> {
        let _ = place;
        self.price(action)
    }
}

/// Wraps a model and multiplies the prices of chosen classes; used by sensitivity studies and
/// by the "doubling every price doubles every energy" property.
#[derive(Debug)]
pub struct ScaledModel<'a> {
    inner: &'a dyn EnergyModel,
    all: f64,
    per_class: BTreeMap<PriceClass, f64>,
}

impl<'a> ScaledModel<'a> {
    /// Scales every price by `factor`.
    pub fn uniform(inner: &'a dyn EnergyModel, factor: f64) -> Self {
        Self {
            inner,
            all: factor,
            per_class: BTreeMap::new(),
        }
    }

    /// Scales the prices of one class by `factor`.
    pub fn class(inner: &'a dyn EnergyModel, class: PriceClass, factor: f64) -> Self {
        Self {
            inner,
            all: 1.0,
            per_class: BTreeMap::from([(class, factor)]),
        }
    }
}

impl EnergyModel for ScaledModel<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        let mut p = self.inner.price(action)?;
        p.pj *= self.factor(action);
        Ok(p)
    }

    fn sources(&self) -> Vec<PriceSource> {
        self.inner.sources()
    }

    fn price_at(&self, place: Place, action: &ActionKind) -> Result<Price, PriceError> {
        let mut p = self.inner.price_at(place, action)?;
        p.pj *= self.factor(action);
        Ok(p)
    }
}

impl ScaledModel<'_> {
    fn factor(&self, action: &ActionKind) -> f64 {
        self.all * self.per_class.get(&action.class()).copied().unwrap_or(1.0)
    }
}
