//! The JSON messages of the plugin ABI (schema 1). Host and SDK both use these types, so the
//! two sides cannot drift apart; a plugin written without the SDK follows the same shapes.
//!
//! Requests that carry a network borrow it as raw JSON ([`RawValue`]) so the host can
//! serialize a network once and reuse the text; the host numbers its networks, so a request
//! about a network the plugin already holds names it by number and does not carry it.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use snnergy_core::action::{ActionKind, Category};
use snnergy_core::activity::LayerActivity;
use snnergy_core::energy::{Derivation, PriceSource};
use snnergy_core::traits::Assumption;

/// A message that carries its schema version.
pub trait Versioned {
    /// The `schema` field.
    fn schema(&self) -> u32;
}

macro_rules! versioned {
    ($($t:ty),*) => {
        $(impl Versioned for $t {
            fn schema(&self) -> u32 {
                self.schema
            }
        })*
    };
}

versioned!(
    Describe,
    Created,
    EvaluateResponse,
    PriceResponse,
    Done,
    ErrorMessage
);

/// Kind of a component, as named in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// An [`Architecture`](snnergy_core::Architecture).
    Architecture,
    /// An [`EnergyModel`](snnergy_core::EnergyModel).
    EnergyModel,
}

/// A documented parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamDoc {
    /// Key in the TOML table.
    pub name: String,
    /// What it means, its unit, and where its default comes from.
    pub doc: String,
}

/// One component a plugin provides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentDoc {
    /// Architecture or energy model.
    pub kind: ComponentKind,
    /// Type name used as `type = "…"`.
    pub name: String,
    /// One line.
    pub summary: String,
    /// Documented parameters (the only keys a pipeline may set). Kept beside
    /// `config_schema` for hosts that predate it.
    pub params: Vec<ParamDoc>,
    /// JSON schema of the configuration, from which the host takes the keys and their docs
    /// (absent from plugins built before it; older hosts ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<serde_json::Value>,
    /// Every parameter with a default, with that default (a JSON object).
    pub defaults: serde_json::Value,
    /// A complete configuration that builds (a JSON object, without `type`).
    pub example: serde_json::Value,
}

/// Who the plugin is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PluginDoc {
    /// Crate name.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// Answer of `describe`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Describe {
    /// [`SCHEMA`](super::abi::SCHEMA).
    pub schema: u32,
    /// Who the plugin is.
    pub plugin: PluginDoc,
    /// What it provides.
    pub components: Vec<ComponentDoc>,
}

/// Answer of `create`: what the host needs to know about the instance without calling back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Created {
    /// Schema.
    pub schema: u32,
    /// Architectures: the parameters used, for reports.
    #[serde(default)]
    pub assumptions: Vec<Assumption>,
    /// Energy models: the name reports show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Energy models: the sources prices refer to by index.
    #[serde(default)]
    pub sources: Vec<PriceSource>,
}

/// Request of `check`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckRequest<'a> {
    /// Schema.
    pub schema: u32,
    /// The host's number for the network (0: none), the same for the same network.
    #[serde(default)]
    pub network_id: u64,
    /// The network (a [`Network`](snnergy_core::Network)); left out when the host sent network
    /// `network_id` to this handle before.
    #[serde(default, borrow)]
    pub network: Option<&'a RawValue>,
    /// The format (a [`Format`](snnergy_core::Format)).
    #[serde(borrow)]
    pub format: &'a RawValue,
}

/// One layer to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerRequest {
    /// Index of the layer in the network.
    pub index: usize,
    /// Its activity.
    pub activity: LayerActivity,
}

/// Request of `evaluate`.
#[derive(Debug, Serialize, Deserialize)]
pub struct EvaluateRequest<'a> {
    /// Schema.
    pub schema: u32,
    /// The host's number for the network (0: none), the same for the same network.
    #[serde(default)]
    pub network_id: u64,
    /// The network (a [`Network`](snnergy_core::Network)); left out when the host sent network
    /// `network_id` to this handle before.
    #[serde(default, borrow)]
    pub network: Option<&'a RawValue>,
    /// The format (a [`Format`](snnergy_core::Format)).
    #[serde(borrow)]
    pub format: &'a RawValue,
    /// The layers to evaluate, in the order answers are expected.
    pub layers: Vec<LayerRequest>,
}

/// One counted action in an [`EvaluateResponse`]: index into `kinds`, what it served, how many
/// (`null` stands for a count JSON cannot hold: NaN or infinite, which the host rejects).
pub type WireAction = (usize, Category, Option<f64>);

/// Answer of `evaluate`: the actions of each requested layer, in request order. Each distinct
/// action kind is written once in `kinds` and referred to by index, so a network's answer
/// stays small and quick to parse:
///
/// ```json
/// {"schema": 1,
///  "kinds": [{"action": "memory", "level": "dram", "access": "read", "bits": 8, "capacity_bytes": 0}],
///  "layers": [[[0, "weights", 1728.0]], []]}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluateResponse {
    /// Schema.
    pub schema: u32,
    /// Distinct action kinds.
    pub kinds: Vec<ActionKind>,
    /// Actions per requested layer.
    pub layers: Vec<Vec<WireAction>>,
}

/// Request of `price`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceRequest {
    /// Schema.
    pub schema: u32,
    /// The action to price.
    pub action: ActionKind,
}

/// Answer of `price`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceResponse {
    /// Schema.
    pub schema: u32,
    /// Picojoules per counted unit.
    pub pj: f64,
    /// Index into the sources returned by `create`.
    pub source: usize,
    /// How the price follows from its source.
    pub derivation: Derivation,
}

/// An answer without content (`check`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// Schema.
    pub schema: u32,
}

/// The payload of any failed call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// Schema.
    pub schema: u32,
    /// What went wrong, and what would be right.
    pub message: String,
    /// The configuration key at fault (`create` only), dotted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}
