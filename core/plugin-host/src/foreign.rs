//! The components of a plugin as the host sees them: ordinary architectures and energy
//! models whose calls cross the C boundary.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use snnergy_core::action::{ActionKind, Actions};
use snnergy_core::activity::LayerActivity;
use snnergy_core::energy::{EnergyModel, Price, PriceSource};
use snnergy_core::error::{ArchError, ConfigError, PriceError};
use snnergy_core::format::Format;
use snnergy_core::network::Network;
use snnergy_core::traits::{Architecture, Assumption};

use crate::abi::{self, StrRef};
use crate::library::{CallError, Handle, Library, parse_answer};
use crate::wire;

/// An architecture implemented by a plugin.
pub struct ForeignArchitecture {
    lib: Arc<Library>,
    handle: Handle,
    name: String,
    assumptions: Vec<Assumption>,
    // The last network serialized, with its JSON and number: analyses evaluate one network
    // many times.
    network_cache: Mutex<Option<(Network, Arc<str>, u64)>>,
    // Number of the network last sent in full to this handle (0: none).
    sent: AtomicU64,
}

/// Numbers networks sent to plugins; never reused within a process.
static NEXT_NETWORK_ID: AtomicU64 = AtomicU64::new(1);

impl fmt::Debug for ForeignArchitecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignArchitecture")
            .field("name", &self.name)
            .field("plugin", &self.lib.path)
            .finish()
    }
}

impl ForeignArchitecture {
    /// Builds architecture `name` of `lib` from its configuration.
    pub fn create(
        lib: &Arc<Library>,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Self, ConfigError> {
        let (handle, created) = lib.create(abi::KIND_ARCHITECTURE, name, config)?;
        Ok(Self {
            lib: lib.clone(),
            handle,
            name: name.to_string(),
            assumptions: created.assumptions,
            network_cache: Mutex::new(None),
            sent: AtomicU64::new(0),
        })
    }

    /// The library it comes from.
    pub fn library(&self) -> &Arc<Library> {
        &self.lib
    }

    fn network_json(&self, network: &Network) -> Result<(Arc<str>, u64), ArchError> {
        let mut cache = self.network_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, json, id)) = cache.as_ref()
            && n == network
        {
            return Ok((json.clone(), *id));
        }
        let json: Arc<str> = serde_json::to_string(network)
            .map_err(|e| self.config_error(format!("cannot serialize the network: {e}")))?
            .into();
        let id = NEXT_NETWORK_ID.fetch_add(1, Ordering::Relaxed);
        *cache = Some((network.clone(), json.clone(), id));
        Ok((json, id))
    }

    /// Sends a request about `network` through `function`: by number when this handle was
    /// sent the network before, in full otherwise (and again in full if the plugin asks).
    /// `rest` is the request's JSON after the network, starting with a comma.
    fn send(
        &self,
        function: abi::CallFn,
        network: &Network,
        rest: &str,
    ) -> Result<String, CallError> {
        let (net, id) = self.network_json(network).map_err(|e| CallError {
            panicked: false,
            need_network: false,
            message: e.to_string(),
            key: None,
        })?;
        let text = |full: bool| {
            let mut t = String::with_capacity(rest.len() + if full { net.len() } else { 0 } + 64);
            t.push_str(&format!("{{\"schema\":{},\"network_id\":{id}", abi::SCHEMA));
            if full {
                t.push_str(",\"network\":");
                t.push_str(&net);
            }
            t.push_str(rest);
            t.push('}');
            t
        };
        let call = |text: &str| {
            self.lib.call(|buf| {
                // SAFETY: live handle of this table; the request outlives the call.
                unsafe { function(self.handle.0, StrRef::new(text), buf) }
            })
        };
        let lean = self.sent.load(Ordering::Relaxed) == id;
        let answer = match call(&text(!lean)) {
            Err(e) if e.need_network && lean => call(&text(true)),
            other => other,
        };
        if answer.is_ok() {
            self.sent.store(id, Ordering::Relaxed);
        }
        answer
    }

    fn config_error(&self, message: String) -> ArchError {
        ArchError::Config {
            architecture: self.name.clone(),
            message: format!("plugin {}: {message}", self.lib.path.display()),
        }
    }

    fn layer_error(&self, network: &Network, layer: usize, message: String) -> ArchError {
        ArchError::Layer {
            architecture: self.name.clone(),
            layer: network
                .layers
                .get(layer)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("#{layer}")),
            message: format!("plugin {}: {message}", self.lib.path.display()),
        }
    }

    fn request(
        &self,
        network: &Network,
        format: &Format,
        layers: Vec<wire::LayerRequest>,
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        let format_json = serde_json::to_string(format)
            .map_err(|e| self.config_error(format!("cannot serialize the format: {e}")))?;
        let layers_json = serde_json::to_string(&layers)
            .map_err(|e| self.config_error(format!("cannot serialize the activity: {e}")))?;
        let single = (layers.len() == 1).then(|| layers[0].index);
        let count = layers.len();
        let fail = |message: String| match single {
            Some(i) => self.layer_error(network, i, message),
            None => self.config_error(message),
        };
        // The shape is wire::EvaluateRequest.
        let rest = format!(",\"format\":{format_json},\"layers\":{layers_json}");
        let answer = self
            .send(self.lib.table.evaluate, network, &rest)
            .map_err(|e| fail(e.describe("evaluate")))?;
        let response: wire::EvaluateResponse = parse_answer("evaluate", &answer).map_err(&fail)?;
        if response.layers.len() != count {
            return Err(fail(format!(
                "`evaluate` answered {} layers for {count} requested",
                response.layers.len()
            )));
        }
        for (actions, slot) in response.layers.into_iter().zip(out.iter_mut()) {
            for (k, category, count) in actions {
                let Some(kind) = response.kinds.get(k) else {
                    return Err(fail(format!(
                        "`evaluate` refers to action kind #{k} of {}",
                        response.kinds.len()
                    )));
                };
                let count = count.unwrap_or(f64::NAN);
                if !(count.is_finite() && count >= 0.0) {
                    return Err(fail(format!(
                        "`evaluate` counted {count} × `{kind}` ({}): counts must be finite and non-negative",
                        category.name()
                    )));
                }
                slot.push(*kind, category, count);
            }
        }
        Ok(())
    }
}

impl Drop for ForeignArchitecture {
    fn drop(&mut self) {
        // SAFETY: the handle came from this table's `create` and is released once.
        unsafe { (self.lib.table.destroy)(self.handle.0) }
    }
}

impl Architecture for ForeignArchitecture {
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        let format_json = serde_json::to_string(format)
            .map_err(|e| self.config_error(format!("cannot serialize the format: {e}")))?;
        let answer = self
            .send(
                self.lib.table.check,
                network,
                &format!(",\"format\":{format_json}"),
            )
            .map_err(|e| {
                if e.panicked || e.need_network {
                    self.config_error(e.describe("check"))
                } else {
                    // The plugin's own message already names the layer and the limit.
                    self.config_error(e.message)
                }
            })?;
        parse_answer::<wire::Done>("check", &answer).map_err(|m| self.config_error(m))?;
        Ok(())
    }

    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.request(
            network,
            format,
            vec![wire::LayerRequest {
                index: layer,
                activity: *activity,
            }],
            std::slice::from_mut(out),
        )
    }

    fn evaluate_network(
        &self,
        network: &Network,
        format: &Format,
        activity: &[LayerActivity],
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        let layers = activity
            .iter()
            .enumerate()
            .map(|(index, a)| wire::LayerRequest {
                index,
                activity: *a,
            })
            .collect();
        self.request(network, format, layers, out)
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let mut a = self.assumptions.clone();
        a.push(Assumption::new(
            "plugin",
            self.lib.path.display(),
            format!(
                "{} {}, built with snnergy-plugin-sdk {} ({})",
                self.lib.plugin().name,
                self.lib.plugin().version,
                self.lib.sdk_version,
                self.lib.rustc_version
            ),
        ));
        a
    }
}

/// An energy model implemented by a plugin.
pub struct ForeignEnergyModel {
    lib: Arc<Library>,
    handle: Handle,
    name: String,
    sources: Vec<PriceSource>,
}

impl fmt::Debug for ForeignEnergyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignEnergyModel")
            .field("name", &self.name)
            .field("plugin", &self.lib.path)
            .finish()
    }
}

impl ForeignEnergyModel {
    /// Builds energy model `name` of `lib` from its configuration.
    pub fn create(
        lib: &Arc<Library>,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Self, ConfigError> {
        let (handle, created) = lib.create(abi::KIND_ENERGY_MODEL, name, config)?;
        Ok(Self {
            lib: lib.clone(),
            handle,
            name: created.name.unwrap_or_else(|| name.to_string()),
            sources: created.sources,
        })
    }
}

impl Drop for ForeignEnergyModel {
    fn drop(&mut self) {
        // SAFETY: the handle came from this table's `create` and is released once.
        unsafe { (self.lib.table.destroy)(self.handle.0) }
    }
}

impl EnergyModel for ForeignEnergyModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        let fail = |reason: String| PriceError {
            model: self.name.clone(),
            action: action.to_string(),
            reason: format!("plugin {}: {reason}", self.lib.path.display()),
        };
        let text = serde_json::to_string(&wire::PriceRequest {
            schema: abi::SCHEMA,
            action: *action,
        })
        .map_err(|e| fail(format!("cannot serialize the request: {e}")))?;
        let answer = self
            .lib
            .call(|buf| {
                // SAFETY: live handle of this table; the request outlives the call.
                unsafe { (self.lib.table.price)(self.handle.0, StrRef::new(&text), buf) }
            })
            .map_err(|e| {
                if e.panicked {
                    fail(e.describe("price"))
                } else {
                    // Not priceable: the plugin's reason, as a built-in table would give it.
                    fail(e.message)
                }
            })?;
        let p: wire::PriceResponse = parse_answer("price", &answer).map_err(fail)?;
        if !(p.pj.is_finite() && p.pj >= 0.0) {
            return Err(fail(format!(
                "`price` answered {} pJ: prices must be finite and non-negative",
                p.pj
            )));
        }
        if p.source >= self.sources.len() {
            return Err(fail(format!(
                "`price` cites source #{} but the model lists {} sources",
                p.source,
                self.sources.len()
            )));
        }
        Ok(Price {
            pj: p.pj,
            source: p.source,
            derivation: p.derivation,
        })
    }

    fn sources(&self) -> Vec<PriceSource> {
        self.sources.clone()
    }
}
