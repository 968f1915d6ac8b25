//! The registry maps type names to factories, one table per component kind, and the one
//! shape every component has: [`Component`].
//!
//! A component is a name, a one-line summary, a typed configuration and a `build`. The
//! configuration type is the single description of its keys: the valid keys of a TOML table,
//! the parameter docs of `snnergy describe` (its doc comments), its defaults and its JSON
//! schema all come from it.
//!
//! A factory turns the keys of a TOML table (handed over as an erased deserializer) into a
//! trait object. Built-ins arrive through `inventory` at start-up ([`Registry::builtin`]),
//! embedders call [`Registry::add`] at run time, and the plugin loader registers factories
//! that wrap a foreign library. inventory alone is not enough: its registrations are frozen at
//! link time and never cross a dynamically loaded library.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::energy::EnergyModel;
use crate::error::{ConfigError, RegistryError};
use crate::traits::{ActivitySource, Architecture, Regularizer, Workload};

/// The kinds of components a pipeline is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Produces a network (`[workload]`).
    Workload,
    /// Supplies spike activity (`[activity]`).
    Activity,
    /// Counts actions on hardware (`[[architecture]]`).
    Architecture,
    /// Prices actions (`[energy]`).
    EnergyModel,
    /// Training penalty (`[[train.regularizer]]`).
    Regularizer,
}

impl Kind {
    /// Every kind, in listing order.
    pub const ALL: [Kind; 5] = [
        Kind::Workload,
        Kind::Activity,
        Kind::Architecture,
        Kind::EnergyModel,
        Kind::Regularizer,
    ];

    /// The pipeline section that holds components of this kind.
    pub fn section(&self) -> &'static str {
        match self {
            Kind::Workload => "workload",
            Kind::Activity => "activity",
            Kind::Architecture => "architecture",
            Kind::EnergyModel => "energy",
            Kind::Regularizer => "regularizer",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Workload => "workload",
            Kind::Activity => "activity",
            Kind::Architecture => "architecture",
            Kind::EnergyModel => "energy model",
            Kind::Regularizer => "regularizer",
        })
    }
}

/// One documented parameter of a component, as its configuration type describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    /// Key in the TOML table.
    pub name: String,
    /// What it means, its unit, and why the default is what it is.
    pub doc: String,
    /// Whether a table must set it (it has no default).
    pub required: bool,
}

/// Where a component comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Compiled into snnergy.
    Builtin,
    /// Registered by the embedding program.
    Runtime,
    /// Loaded from a plugin library.
    Plugin(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::Runtime => f.write_str("registered at run time"),
            Origin::Plugin(p) => write!(f, "plugin {}", p.display()),
        }
    }
}

/// What `list` and `describe` show about a component.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentInfo {
    /// Kind.
    pub kind: Kind,
    /// Type name used as `type = "…"`.
    pub name: String,
    /// One line.
    pub summary: String,
    /// Documented parameters: the only keys its table may have.
    pub params: Vec<Param>,
    /// JSON schema of its configuration.
    pub schema: serde_json::Value,
    /// Every parameter with a default, with that default.
    pub defaults: toml::Table,
    /// A complete table (without `type`) that parses and runs.
    pub example: toml::Table,
    /// Where it comes from.
    pub origin: Origin,
}

impl ComponentInfo {
    /// The example as a TOML table with `type` first, ready to paste into a pipeline.
    pub fn example_toml(&self) -> String {
        let mut table = toml::Table::new();
        table.insert("type".into(), toml::Value::String(self.name.clone()));
        for (k, v) in &self.example {
            table.insert(k.clone(), v.clone());
        }
        // Rendering the table inside its section makes nested arrays of tables come out as
        // `[[workload.layers]]`, which parses back into the same component.
        let mut doc = toml::Table::new();
        let table = toml::Value::Table(table);
        match self.kind {
            Kind::Architecture => {
                doc.insert("architecture".into(), toml::Value::Array(vec![table]));
            }
            Kind::Regularizer => {
                let mut train = toml::Table::new();
                train.insert("regularizer".into(), toml::Value::Array(vec![table]));
                doc.insert("train".into(), toml::Value::Table(train));
            }
            k => {
                doc.insert(k.section().into(), table);
            }
        }
        toml::to_string(&doc).unwrap_or_default()
    }
}

/// What a component is built with besides its configuration: the registry the pipeline is
/// built from (plugins included), so a component can build the components it names, and the
/// folder its relative paths mean.
#[derive(Clone, Copy, Debug)]
pub struct BuildContext<'a> {
    /// The pipeline's registry.
    pub registry: &'a Registry,
    /// Folder relative paths are resolved against (the pipeline file's).
    pub base_dir: &'a Path,
}

impl<'a> BuildContext<'a> {
    /// A context with `registry` whose relative paths mean the current folder.
    pub fn new(registry: &'a Registry) -> Self {
        Self {
            registry,
            base_dir: Path::new("."),
        }
    }
}

/// The one shape of every component, built-in, registered by an embedder, or exported by a
/// plugin: a name, a summary, a typed configuration and how to build it.
///
/// `Config` is the whole description of the component's keys. Derive `Serialize`,
/// `Deserialize`, `JsonSchema` and `Default`, put `#[serde(default, deny_unknown_fields)]`
/// on the struct, and document every field: the doc comment is what `snnergy describe` and
/// the JSON schema say about the key, `Default` is the default every key takes.
pub trait Component: 'static {
    /// The trait object it is used through (`dyn Architecture`, `dyn EnergyModel`, …).
    type Interface: Interface + ?Sized;
    /// Its configuration: the keys of its table.
    type Config: Serialize + DeserializeOwned + JsonSchema + Default;
    /// Type name used as `type = "…"`.
    const NAME: &'static str;
    /// One line for `snnergy list`.
    const SUMMARY: &'static str;

    /// Validates a configuration and builds the component; errors name the key.
    fn build(
        config: Self::Config,
        ctx: &BuildContext<'_>,
    ) -> Result<Box<Self::Interface>, ConfigError>;

    /// Keys that make the example of `snnergy describe` run as printed, beyond the defaults
    /// (the price table an architecture is meant for, as `energy = "…"`, which a pipeline
    /// reads from the architecture's table).
    fn example() -> toml::Table {
        toml::Table::new()
    }
}

/// Builds a component from its configuration.
pub type Factory<T> = Arc<
    dyn Fn(
            &mut dyn erased_serde::Deserializer<'_>,
            &BuildContext<'_>,
        ) -> Result<Box<T>, ConfigError>
        + Send
        + Sync,
>;

/// A registered component.
pub struct Entry<T: ?Sized> {
    /// Its documentation.
    pub info: ComponentInfo,
    /// Its factory.
    pub factory: Factory<T>,
}

impl<T: ?Sized> fmt::Debug for Entry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("info", &self.info).finish()
    }
}

impl<T: ?Sized> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Self {
            info: self.info.clone(),
            factory: self.factory.clone(),
        }
    }
}

/// The component tables.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    workloads: BTreeMap<String, Entry<dyn Workload>>,
    activities: BTreeMap<String, Entry<dyn ActivitySource>>,
    architectures: BTreeMap<String, Entry<dyn Architecture>>,
    energy_models: BTreeMap<String, Entry<dyn EnergyModel>>,
    regularizers: BTreeMap<String, Entry<dyn Regularizer>>,
}

/// The trait-object type of a kind of component, linked to its kind and table so that
/// registration and building are generic.
pub trait Interface: 'static {
    /// The kind.
    const KIND: Kind;
    /// Its table.
    fn table(registry: &Registry) -> &BTreeMap<String, Entry<Self>>;
    /// Its table, mutably.
    fn table_mut(registry: &mut Registry) -> &mut BTreeMap<String, Entry<Self>>;
}

macro_rules! interface {
    ($t:ty, $kind:expr, $field:ident) => {
        impl Interface for $t {
            const KIND: Kind = $kind;
            fn table(registry: &Registry) -> &BTreeMap<String, Entry<Self>> {
                &registry.$field
            }
            fn table_mut(registry: &mut Registry) -> &mut BTreeMap<String, Entry<Self>> {
                &mut registry.$field
            }
        }
    };
}

interface!(dyn Workload, Kind::Workload, workloads);
interface!(dyn ActivitySource, Kind::Activity, activities);
interface!(dyn Architecture, Kind::Architecture, architectures);
interface!(dyn EnergyModel, Kind::EnergyModel, energy_models);
interface!(dyn Regularizer, Kind::Regularizer, regularizers);

/// A built-in's registration hook, collected by `inventory` at start-up.
#[derive(Debug)]
pub struct Builtin {
    /// Adds the crate's components to the registry.
    pub register: fn(&mut Registry) -> Result<(), RegistryError>,
}

inventory::collect!(Builtin);

/// Submits a function `fn(&mut Registry) -> Result<(), RegistryError>` to run when a
/// registry of built-ins is created.
#[macro_export]
macro_rules! register_builtins {
    ($f:path) => {
        $crate::inventory::submit! { $crate::registry::Builtin { register: $f } }
    };
}

/// The JSON schema of a configuration type, its descriptions on one line each (doc comments
/// wrap where the source does, readers should not have to).
pub fn schema_of<C: JsonSchema>() -> serde_json::Value {
    fn one_line(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    match v {
                        serde_json::Value::String(s) if k == "description" => {
                            *s = s.split_whitespace().collect::<Vec<_>>().join(" ");
                        }
                        other => one_line(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(one_line),
            _ => {}
        }
    }
    let mut schema = serde_json::Value::from(schemars::schema_for!(C));
    one_line(&mut schema);
    schema
}

/// The parameters a configuration's JSON schema describes, in declaration order: every
/// property with its description, and whether it is required.
pub fn params_of(schema: &serde_json::Value) -> Vec<Param> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| Param {
                    name: name.clone(),
                    doc: p
                        .get("description")
                        .and_then(|d| d.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    required: required.contains(&name.as_str()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Converts a config value to a TOML table (for defaults and examples).
pub fn to_table<C: Serialize>(config: &C) -> toml::Table {
    match toml::Table::try_from(config) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("a component's configuration does not serialize to TOML: {e}");
            toml::Table::new()
        }
    }
}

/// Deserializes a typed configuration from an erased deserializer, keeping the path of the
/// key that failed.
pub fn deserialize_config<C: DeserializeOwned>(
    de: &mut dyn erased_serde::Deserializer<'_>,
) -> Result<C, ConfigError> {
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // toml appends "in `key`" to its messages; the key is reported separately.
        let message = e.into_inner().to_string();
        let message = match message.rsplit_once("\nin `") {
            Some((head, _)) => head.to_string(),
            None => message,
        };
        let err = ConfigError::new(message.trim().to_string());
        if path == "." { err } else { err.at_key(path) }
    })
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry holding every built-in linked into this program.
    pub fn builtin() -> Result<Self, RegistryError> {
        let mut r = Self::empty();
        let mut hooks: Vec<&Builtin> = inventory::iter::<Builtin>.into_iter().collect();
        // inventory's order depends on link order; sort for deterministic listings and errors.
        hooks.sort_by_key(|b| b.register as usize);
        for b in hooks {
            (b.register)(&mut r)?;
        }
        Ok(r)
    }

    /// Registers component `C` as a built-in.
    pub fn add<C: Component>(&mut self) -> Result<(), RegistryError> {
        self.add_with_origin::<C>(Origin::Builtin)
    }

    /// Registers component `C`, recording where it comes from.
    pub fn add_with_origin<C: Component>(&mut self, origin: Origin) -> Result<(), RegistryError> {
        let schema = schema_of::<C::Config>();
        let defaults = to_table(&C::Config::default());
        let mut example = defaults.clone();
        example.extend(C::example());
        let info = ComponentInfo {
            kind: C::Interface::KIND,
            name: C::NAME.to_string(),
            summary: C::SUMMARY.to_string(),
            params: params_of(&schema),
            schema,
            example,
            defaults,
            origin,
        };
        let factory: Factory<C::Interface> =
            Arc::new(|de, ctx| C::build(deserialize_config::<C::Config>(de)?, ctx));
        self.insert(info, factory)
    }

    /// Registers a component from a ready-made description and factory (plugins use this).
    pub fn insert<T: Interface + ?Sized>(
        &mut self,
        info: ComponentInfo,
        factory: Factory<T>,
    ) -> Result<(), RegistryError> {
        let table = T::table_mut(self);
        if let Some(existing) = table.get(&info.name) {
            return Err(RegistryError::Duplicate {
                kind: T::KIND.to_string(),
                name: info.name.clone(),
                existing: existing.info.origin.to_string(),
                new: info.origin.to_string(),
            });
        }
        table.insert(info.name.clone(), Entry { info, factory });
        Ok(())
    }

    /// Whether `name` is registered as a `T`.
    pub fn contains<T: Interface + ?Sized>(&self, name: &str) -> bool {
        T::table(self).contains_key(name)
    }

    /// The entry for `name`, if registered as a `T`.
    pub fn entry<T: Interface + ?Sized>(&self, name: &str) -> Option<&Entry<T>> {
        T::table(self).get(name)
    }

    /// Builds a `T` named `name` from `params` (the table without its `type` key), with this
    /// registry and relative paths meaning the current folder. See [`Registry::build_in`].
    pub fn build<T: Interface + ?Sized>(
        &self,
        name: &str,
        params: toml::Table,
    ) -> Result<Box<T>, ConfigError> {
        self.build_in(name, params, &BuildContext::new(self))
    }

    /// Builds a `T` named `name` from `params` in `ctx`. Unknown keys are rejected with the
    /// closest valid key; unknown names list the valid ones.
    pub fn build_in<T: Interface + ?Sized>(
        &self,
        name: &str,
        params: toml::Table,
        ctx: &BuildContext<'_>,
    ) -> Result<Box<T>, ConfigError> {
        let table = T::table(self);
        let Some(entry) = table.get(name) else {
            return Err(ConfigError::new(unknown_name_message(
                T::KIND,
                name,
                table.keys().map(String::as_str),
            ))
            .at_key("type"));
        };
        check_keys(&entry.info, &params)?;
        let mut de = <dyn erased_serde::Deserializer>::erase(toml::Value::Table(params));
        (entry.factory)(&mut de, ctx)
    }

    /// Descriptions of every component of `kind`, by name.
    pub fn infos(&self, kind: Kind) -> Vec<&ComponentInfo> {
        fn infos<T: Interface + ?Sized>(r: &Registry) -> Vec<&ComponentInfo> {
            T::table(r).values().map(|e| &e.info).collect()
        }
        match kind {
            Kind::Workload => infos::<dyn Workload>(self),
            Kind::Activity => infos::<dyn ActivitySource>(self),
            Kind::Architecture => infos::<dyn Architecture>(self),
            Kind::EnergyModel => infos::<dyn EnergyModel>(self),
            Kind::Regularizer => infos::<dyn Regularizer>(self),
        }
    }

    /// Descriptions of every component named `name`, of any kind.
    pub fn find(&self, name: &str) -> Vec<&ComponentInfo> {
        Kind::ALL
            .iter()
            .flat_map(|k| self.infos(*k))
            .filter(|i| i.name == name)
            .collect()
    }

    /// Every registered name, of any kind.
    pub fn all_names(&self) -> Vec<&str> {
        Kind::ALL
            .iter()
            .flat_map(|k| self.infos(*k))
            .map(|i| i.name.as_str())
            .collect()
    }
}

/// "unknown architecture `x`; did you mean `y`? registered: a, b, c".
pub fn unknown_name_message<'a>(
    kind: Kind,
    name: &str,
    valid: impl Iterator<Item = &'a str> + Clone,
) -> String {
    let mut msg = format!("unknown {kind} type `{name}`");
    if let Some(best) = closest(name, valid.clone()) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    }
    let list: Vec<&str> = valid.collect();
    if list.is_empty() {
        msg.push_str(&format!(" (no {kind} types are registered)"));
    } else {
        msg.push_str(&format!(" (registered {kind} types: {})", list.join(", ")));
    }
    msg
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn check_keys(info: &ComponentInfo, params: &toml::Table) -> Result<(), ConfigError> {
    for key in params.keys() {
        if info.params.iter().any(|p| &p.name == key) {
            continue;
        }
        let valid = info.params.iter().map(|p| p.name.as_str());
        let mut msg = format!("unknown key for {} `{}`", info.kind, info.name);
        if let Some(best) = closest(key, valid.clone()) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
        let list: Vec<&str> = valid.collect();
        if list.is_empty() {
            msg.push_str(" (it takes no parameters)");
        } else {
            msg.push_str(&format!(" (valid keys: {})", list.join(", ")));
        }
        return Err(ConfigError::new(msg).at_key(key.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::action::Actions;
    use crate::activity::LayerActivity;
    use crate::error::ArchError;
    use crate::format::Format;
    use crate::network::Network;

    /// `[[architecture]] type = "probe"`.
    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct ProbeConfig {
        /// buffer, KiB; a doc comment that wraps
        /// over two lines
        #[serde(default = "ProbeConfig::kib")]
        buffer_kib: f64,
        /// the one key without a default
        layers: u32,
    }

    impl ProbeConfig {
        fn kib() -> f64 {
            64.0
        }
    }

    impl Default for ProbeConfig {
        fn default() -> Self {
            Self {
                buffer_kib: Self::kib(),
                layers: 1,
            }
        }
    }

    #[derive(Debug)]
    struct Probe;

    impl Architecture for Probe {
        fn evaluate(
            &self,
            _: &Network,
            _: usize,
            _: &Format,
            _: &LayerActivity,
            _: &mut Actions,
        ) -> Result<(), ArchError> {
            Ok(())
        }
    }

    impl Component for Probe {
        type Interface = dyn Architecture;
        type Config = ProbeConfig;
        const NAME: &'static str = "probe";
        const SUMMARY: &'static str = "a component for the registry's tests";

        fn build(
            _: ProbeConfig,
            _: &BuildContext<'_>,
        ) -> Result<Box<dyn Architecture>, ConfigError> {
            Ok(Box::new(Probe))
        }
    }

    #[test]
    fn parameters_come_from_the_configuration_type_in_declaration_order() {
        let mut r = Registry::empty();
        r.add::<Probe>().unwrap();
        let info = &r.entry::<dyn Architecture>("probe").unwrap().info;
        let names: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["buffer_kib", "layers"]);
        assert_eq!(
            info.params[0].doc,
            "buffer, KiB; a doc comment that wraps over two lines"
        );
        assert!(!info.params[0].required && info.params[1].required);
        assert_eq!(info.defaults["buffer_kib"].as_float(), Some(64.0));
        assert_eq!(info.schema["additionalProperties"], false);
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_the_closest_valid_key() {
        let mut r = Registry::empty();
        r.add::<Probe>().unwrap();
        let mut t = toml::Table::new();
        t.insert("bufer_kib".into(), toml::Value::Float(8.0));
        let e = r.build::<dyn Architecture>("probe", t).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("bufer_kib"));
        assert!(
            e.message.contains("did you mean `buffer_kib`?")
                && e.message.contains("(valid keys: buffer_kib, layers)"),
            "{}",
            e.message
        );
    }
}
