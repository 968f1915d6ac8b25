//! Registering a library's components, with factories that hand their configuration to the
//! plugin.

use std::path::Path;
use std::sync::Arc;

use snnergy_core::energy::EnergyModel;
use snnergy_core::error::ConfigError;
use snnergy_core::registry::{
    ComponentInfo, Factory, Interface, Origin, Param, Registry, params_of,
};
use snnergy_core::traits::Architecture;

use crate::foreign::{ForeignArchitecture, ForeignEnergyModel};
use crate::library::{Library, PluginError, PluginErrorKind, json_to_toml_table, kind_of};
use crate::loader::{SEARCH_PATH_VAR, open, search_path};
use crate::wire;

/// What plugins add to a [`Registry`].
pub trait PluginRegistry {
    /// Loads the plugin at `path` and registers every component it provides, all or nothing.
    /// Loading the same library into the same registry again changes nothing. A name already
    /// registered by anyone else is an error naming both.
    fn load_plugin(&mut self, path: &Path) -> Result<Arc<Library>, PluginError>;

    /// Registers every component of an opened library, all or nothing (see
    /// [`PluginRegistry::load_plugin`]).
    fn register_library(&mut self, lib: &Arc<Library>) -> Result<(), PluginError>;

    /// Loads every library [`SEARCH_PATH_VAR`] names (see there for what it means).
    fn load_search_path(&mut self) -> Result<Vec<Arc<Library>>, PluginError>;
}

impl PluginRegistry for Registry {
    fn load_plugin(&mut self, path: &Path) -> Result<Arc<Library>, PluginError> {
        let lib = open(path)?;
        self.register_library(&lib)?;
        Ok(lib)
    }

    fn register_library(&mut self, lib: &Arc<Library>) -> Result<(), PluginError> {
        let origin = Origin::Plugin(lib.path.clone());
        let mut new = Vec::new();
        for c in lib.components() {
            let kind = kind_of(c.kind);
            match self.infos(kind).into_iter().find(|i| i.name == c.name) {
                Some(existing) if existing.origin == origin => {}
                Some(existing) => {
                    return Err(lib.error(
                        PluginErrorKind::Duplicate,
                        format!(
                            "provides {kind} `{}`, which is already registered ({}); rename the plugin's component or load only one of the two",
                            c.name, existing.origin
                        ),
                    ));
                }
                None => new.push(c),
            }
        }
        for c in new {
            // A plugin built before configurations carried their schema lists its keys.
            let (schema, params) = match &c.config_schema {
                Some(schema) => (schema.clone(), params_of(schema)),
                None => (
                    serde_json::Value::Null,
                    c.params
                        .iter()
                        .map(|p| Param {
                            name: p.name.clone(),
                            doc: p.doc.clone(),
                            required: false,
                        })
                        .collect(),
                ),
            };
            let info = ComponentInfo {
                kind: kind_of(c.kind),
                name: c.name.clone(),
                summary: c.summary.clone(),
                params,
                schema,
                defaults: json_to_toml_table(&c.defaults).unwrap_or_default(),
                example: json_to_toml_table(&c.example).unwrap_or_default(),
                origin: origin.clone(),
            };
            let result = match c.kind {
                wire::ComponentKind::Architecture => self.insert(
                    info,
                    foreign::<dyn Architecture>(lib, &c.name, |lib, name, config| {
                        Ok(Box::new(ForeignArchitecture::create(lib, name, config)?))
                    }),
                ),
                wire::ComponentKind::EnergyModel => self.insert(
                    info,
                    foreign::<dyn EnergyModel>(lib, &c.name, |lib, name, config| {
                        Ok(Box::new(ForeignEnergyModel::create(lib, name, config)?))
                    }),
                ),
            };
            // Checked above; kept as an error rather than a panic.
            result.map_err(|e| lib.error(PluginErrorKind::Duplicate, e.to_string()))?;
        }
        Ok(())
    }

    fn load_search_path(&mut self) -> Result<Vec<Arc<Library>>, PluginError> {
        let Some(value) = std::env::var_os(SEARCH_PATH_VAR) else {
            return Ok(Vec::new());
        };
        search_path(&value)?
            .iter()
            .map(|p| self.load_plugin(p))
            .collect()
    }
}

/// Creates a foreign component from its library, name and JSON configuration.
type Create<I> = fn(&Arc<Library>, &str, &serde_json::Value) -> Result<Box<I>, ConfigError>;

/// A factory that hands the configuration to the plugin as JSON. The context stays on this
/// side: no registry crosses the C boundary.
fn foreign<I: Interface + ?Sized>(lib: &Arc<Library>, name: &str, create: Create<I>) -> Factory<I> {
    let (lib, name) = (lib.clone(), name.to_string());
    Arc::new(move |de, _| create(&lib, &name, &config_json(de)?))
}

fn config_json(
    de: &mut dyn erased_serde::Deserializer<'_>,
) -> Result<serde_json::Value, ConfigError> {
    erased_serde::deserialize::<serde_json::Value>(de)
        .map_err(|e| ConfigError::new(format!("configuration cannot be passed to the plugin: {e}")))
}
