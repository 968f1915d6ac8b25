//! snnergy-plugin-sdk: write a hardware model for snnergy in safe Rust and ship it as a
//! shared library that snnergy loads at run time.
//!
//! You implement the ordinary traits of `snnergy-core` —
//! [`Architecture`](snnergy_core::Architecture) to count what a layer does on your chip,
//! [`EnergyModel`](snnergy_core::EnergyModel) to price actions — plus
//! [`Component`](snnergy_core::Component), the shape every built-in has too: a name, a
//! summary, a typed configuration (whose doc comments and JSON schema document its keys) and
//! `build`. Then one line exports them:
//!
//! ```ignore
//! snnergy_plugin_sdk::export_plugin!(MyChip, MyPrices);
//! ```
//!
//! Build the crate with `crate-type = ["cdylib", "rlib"]` and point snnergy at the library
//! (`[plugins] load = [...]` in a pipeline, `--plugin PATH`, or `SNNERGY_PLUGIN_PATH`).
//! `snnergy plugin check PATH` loads it and runs the conformance suite on it.
//!
//! The macro generates the C entry point of [`snnergy_plugin_host::abi`]. Every call into the
//! plugin is wrapped in `catch_unwind`, so a panic in your code becomes an error message in
//! snnergy, never an abort; every payload is JSON ([`snnergy_plugin_host::wire`]); buffers
//! the plugin allocates are freed by the plugin. Your `tracing` events are forwarded to
//! snnergy's log (the plugin links its own `tracing`, whose global dispatcher snnergy cannot
//! see otherwise).
//!
//! The `rlib` crate type lets tests and embedders link the same model statically:
//! [`register`] adds the exported components to a [`Registry`](snnergy_core::Registry)
//! directly, which is how snnergy checks that a loaded plugin gives the very numbers its
//! statically linked twin gives. The entry point is an unmangled symbol, so one program can
//! link at most one plugin crate statically (two would define `snnergy_plugin_v1` twice);
//! loading any number of them as libraries is fine.

#![warn(missing_docs)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use snnergy_core::registry::{params_of, schema_of};
use snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, BuildContext, Component, ConfigError,
    EnergyModel, Format, Interface, Network, Origin, Registry, RegistryError,
};
use snnergy_plugin_host::abi::{self, Buf, HostV1, PluginV1, Status, StrRef};
use snnergy_plugin_host::wire;

pub mod testing;

pub use schemars;
pub use snnergy_core;
pub use snnergy_plugin_host::abi as c_abi;

/// Version of this SDK, reported to snnergy for diagnostics.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Compiler that built this SDK (and so the plugin), for diagnostics.
pub const RUSTC_VERSION: &str = env!("SNNERGY_SDK_RUSTC");

/// A live component behind a handle.
#[doc(hidden)]
#[derive(Debug)]
pub enum Instance {
    Architecture {
        arch: Box<dyn Architecture>,
        // The last network received, by the host's number for it: an analysis evaluates one
        // network many times, and parsing it would be most of the cost of a call.
        network: Mutex<Option<(u64, Arc<Network>)>>,
    },
    EnergyModel(Box<dyn EnergyModel>),
}

type CreateResult = Result<(Instance, wire::Created), wire::ErrorMessage>;

/// The interfaces a plugin can export: what crosses the boundary about an instance.
pub trait Exportable: Interface {
    /// Kind as named in JSON.
    const WIRE_KIND: wire::ComponentKind;
    /// The instance behind a handle, and what the host learns about it at creation.
    #[doc(hidden)]
    fn instance(built: Box<Self>) -> (Instance, wire::Created);
}

impl Exportable for dyn Architecture {
    const WIRE_KIND: wire::ComponentKind = wire::ComponentKind::Architecture;
    fn instance(arch: Box<Self>) -> (Instance, wire::Created) {
        let created = wire::Created {
            schema: abi::SCHEMA,
            assumptions: arch.assumptions(),
            ..Default::default()
        };
        let instance = Instance::Architecture {
            arch,
            network: Mutex::new(None),
        };
        (instance, created)
    }
}

impl Exportable for dyn EnergyModel {
    const WIRE_KIND: wire::ComponentKind = wire::ComponentKind::EnergyModel;
    fn instance(model: Box<Self>) -> (Instance, wire::Created) {
        let created = wire::Created {
            schema: abi::SCHEMA,
            name: Some(model.name().to_string()),
            sources: model.sources(),
            ..Default::default()
        };
        (Instance::EnergyModel(model), created)
    }
}

/// One exported component, type-erased so a static list can hold architectures and energy
/// models together. Made by [`Exported::of`] (the [`export_plugin!`] macro does it for you).
#[derive(Clone, Copy)]
pub struct Exported {
    kind: wire::ComponentKind,
    name: &'static str,
    describe: fn() -> wire::ComponentDoc,
    create: fn(&str) -> CreateResult,
    register: fn(&mut Registry, Origin) -> Result<(), RegistryError>,
}

impl fmt::Debug for Exported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exported")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish()
    }
}

fn to_json<C: Serialize>(c: &C) -> serde_json::Value {
    serde_json::to_value(c).unwrap_or_else(|e| {
        tracing::error!("a configuration does not serialize to JSON: {e}");
        serde_json::Value::Object(Default::default())
    })
}

fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, wire::ErrorMessage> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        wire::ErrorMessage {
            schema: abi::SCHEMA,
            message: e.into_inner().to_string(),
            key: (path != ".").then_some(path),
        }
    })
}

fn config_error(e: ConfigError) -> wire::ErrorMessage {
    wire::ErrorMessage {
        schema: abi::SCHEMA,
        message: e.message,
        key: e.key,
    }
}

/// The registry a plugin's components are built with: the plugin's own components (the
/// host's cannot cross the C boundary).
fn own_registry() -> &'static Registry {
    static OWN: OnceLock<Registry> = OnceLock::new();
    OWN.get_or_init(|| {
        let mut r = Registry::empty();
        if let Some(p) = PLUGIN.get() {
            let _ = register(&mut r, p.components);
        }
        r
    })
}

impl Exported {
    /// The exported form of component `C`.
    pub const fn of<C: Component>() -> Self
    where
        C::Interface: Exportable,
    {
        fn describe<C: Component>() -> wire::ComponentDoc
        where
            C::Interface: Exportable,
        {
            let schema = schema_of::<C::Config>();
            let defaults = to_json(&C::Config::default());
            let mut example = defaults.clone();
            if let serde_json::Value::Object(e) = &mut example {
                for (k, v) in C::example() {
                    e.insert(k, to_json(&v));
                }
            }
            wire::ComponentDoc {
                kind: C::Interface::WIRE_KIND,
                name: C::NAME.to_string(),
                summary: C::SUMMARY.to_string(),
                params: params_of(&schema)
                    .into_iter()
                    .map(|p| wire::ParamDoc {
                        name: p.name,
                        doc: p.doc,
                    })
                    .collect(),
                config_schema: Some(schema),
                example,
                defaults,
            }
        }
        fn create<C: Component>(json: &str) -> CreateResult
        where
            C::Interface: Exportable,
        {
            let ctx = BuildContext::new(own_registry());
            let built = C::build(parse_config(json)?, &ctx).map_err(config_error)?;
            Ok(C::Interface::instance(built))
        }
        fn register<C: Component>(r: &mut Registry, origin: Origin) -> Result<(), RegistryError> {
            r.add_with_origin::<C>(origin)
        }
        Self {
            kind: C::Interface::WIRE_KIND,
            name: C::NAME,
            describe: describe::<C>,
            create: create::<C>,
            register: register::<C>,
        }
    }

    /// Type name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Registers `components` in `registry` directly, without the C boundary (statically linked
/// plugins: tests comparing against the loaded library, embedders). They are recorded as
/// registered at run time.
pub fn register(registry: &mut Registry, components: &[Exported]) -> Result<(), RegistryError> {
    for c in components {
        (c.register)(registry, Origin::Runtime)?;
    }
    Ok(())
}

/// The plugin table for `components` linked into the running program, for
/// [`snnergy_plugin_host::open_linked`]: the full C boundary (JSON, handles, buffers,
/// caught panics) without a shared library. Benchmarks use it to measure what the boundary
/// costs against the same model called directly. A program has one such table; the first
/// call decides its components.
pub fn linked_table(
    name: &'static str,
    version: &'static str,
    components: &'static [Exported],
) -> *const PluginV1 {
    let _ = PLUGIN.set(Plugin {
        name,
        version,
        components,
        library_path: None,
    });
    &TABLE.0
}

/// Exports components (architectures and energy models) as a snnergy plugin: generates the
/// C entry point `snnergy_plugin_v1` and a `pub static SNNERGY_COMPONENTS` listing them (for
/// [`register`]).
///
/// ```ignore
/// snnergy_plugin_sdk::export_plugin!(SystolicArray, MyTable);
/// ```
///
/// The form of earlier SDKs, `export_plugin!(architectures: [A], energy_models: [E])`, is
/// still understood.
#[macro_export]
macro_rules! export_plugin {
    (architectures: [$($a:ty),* $(,)?] $(,)?) => {
        $crate::export_plugin!($($a),*);
    };
    (energy_models: [$($e:ty),* $(,)?] $(,)?) => {
        $crate::export_plugin!($($e),*);
    };
    (architectures: [$($a:ty),* $(,)?], energy_models: [$($e:ty),* $(,)?] $(,)?) => {
        $crate::export_plugin!($($a,)* $($e),*);
    };
    ($($c:ty),* $(,)?) => {
        /// The components this plugin exports (for `snnergy_plugin_sdk::register`).
        pub static SNNERGY_COMPONENTS: &[$crate::Exported] = &[
            $($crate::Exported::of::<$c>(),)*
        ];

        /// The plugin's entry point (snnergy plugin ABI 1).
        ///
        /// # Safety
        /// Called by snnergy's loader with a valid host description.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn snnergy_plugin_v1(
            host: *const $crate::c_abi::HostV1,
        ) -> *const $crate::c_abi::PluginV1 {
            // SAFETY: forwarded from the loader.
            unsafe {
                $crate::__private::entry(
                    host,
                    env!("CARGO_PKG_NAME"),
                    env!("CARGO_PKG_VERSION"),
                    SNNERGY_COMPONENTS,
                )
            }
        }
    };
}

// ---------------------------------------------------------------------------------------
// The C side. Everything below runs inside the plugin, called by the host.

struct Plugin {
    name: &'static str,
    version: &'static str,
    components: &'static [Exported],
    library_path: Option<String>,
}

static PLUGIN: OnceLock<Plugin> = OnceLock::new();

struct Table(PluginV1);
// SAFETY: the table holds function pointers and pointers to 'static strings only.
unsafe impl Sync for Table {}
// SAFETY: as above.
unsafe impl Send for Table {}

static TABLE: Table = Table(PluginV1 {
    abi_major: abi::ABI_MAJOR,
    abi_minor: abi::ABI_MINOR,
    struct_size: std::mem::size_of::<PluginV1>() as u32,
    sdk_version: StrRef::new(SDK_VERSION),
    rustc_version: StrRef::new(RUSTC_VERSION),
    describe: describe_shim,
    create: create_shim,
    check: check_shim,
    evaluate: evaluate_shim,
    price: price_shim,
    destroy: destroy_shim,
    free_buf: free_buf_shim,
});

/// The canonical path snnergy loaded this plugin from, once loaded (to find files shipped
/// beside the library).
pub fn library_path() -> Option<&'static str> {
    PLUGIN.get().and_then(|p| p.library_path.as_deref())
}

thread_local! {
    // Message and location of the last panic on this thread, captured by the panic hook so
    // the error snnergy shows says where the plugin panicked.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-text panic payload)".into());
        let text = match info.location() {
            Some(l) => format!("{message} (at {}:{})", l.file(), l.line()),
            None => message,
        };
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-text panic payload)".into())
}

/// Forwards the plugin's `tracing` events to the host.
struct HostLogger {
    log: extern "C" fn(u32, StrRef, StrRef),
    max_level: u32,
}

fn level_code(level: &tracing::Level) -> u32 {
    match *level {
        tracing::Level::ERROR => abi::LEVEL_ERROR,
        tracing::Level::WARN => abi::LEVEL_WARN,
        tracing::Level::INFO => abi::LEVEL_INFO,
        tracing::Level::DEBUG => abi::LEVEL_DEBUG,
        tracing::Level::TRACE => abi::LEVEL_TRACE,
    }
}

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

impl tracing::Subscriber for HostLogger {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        level_code(metadata.level()) <= self.max_level
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(match self.max_level {
            0 => tracing::level_filters::LevelFilter::OFF,
            abi::LEVEL_ERROR => tracing::level_filters::LevelFilter::ERROR,
            abi::LEVEL_WARN => tracing::level_filters::LevelFilter::WARN,
            abi::LEVEL_INFO => tracing::level_filters::LevelFilter::INFO,
            abi::LEVEL_DEBUG => tracing::level_filters::LevelFilter::DEBUG,
            _ => tracing::level_filters::LevelFilter::TRACE,
        })
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        // Spans are not forwarded; events are.
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let meta = event.metadata();
        (self.log)(
            level_code(meta.level()),
            StrRef::new(meta.target()),
            StrRef::new(&v.0),
        );
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Implementation details of [`export_plugin!`], public so the macro (and plugins that need
/// to adjust their table) can reach them. Not a stable API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// Starts the plugin: records the host, installs the log forwarder and the panic hook,
    /// and returns the table.
    ///
    /// # Safety
    /// `host` is null or points to a valid [`HostV1`] that outlives the call.
    pub unsafe fn entry(
        host: *const HostV1,
        name: &'static str,
        version: &'static str,
        components: &'static [Exported],
    ) -> *const PluginV1 {
        let started = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: guaranteed by the caller.
            let host = unsafe { host.as_ref() };
            let library_path = host.map(|h| {
                // SAFETY: the host keeps the path alive for the process.
                String::from_utf8_lossy(unsafe { h.library_path.as_bytes() }).into_owned()
            });
            let _ = PLUGIN.set(Plugin {
                name,
                version,
                components,
                library_path,
            });
            if let Some(h) = host
                && h.abi_major == abi::ABI_MAJOR
            {
                let _ = tracing::subscriber::set_global_default(HostLogger {
                    log: h.log,
                    max_level: h.max_level,
                });
            }
            install_panic_hook();
        }));
        match started {
            Ok(()) => &TABLE.0,
            Err(_) => std::ptr::null(),
        }
    }

    /// Hands `bytes` to the host as a buffer it returns through `free_buf`.
    ///
    /// # Safety
    /// `out` is null or points to a writable [`Buf`].
    pub unsafe fn write_buf(out: *mut Buf, bytes: Vec<u8>) {
        // SAFETY: guaranteed by the caller.
        if let Some(out) = unsafe { out.as_mut() } {
            let mut bytes = std::mem::ManuallyDrop::new(bytes);
            *out = Buf {
                ptr: bytes.as_mut_ptr(),
                len: bytes.len(),
                cap: bytes.capacity(),
            };
        }
    }
}

/// A failed call: its status and message.
struct Failure {
    status: Status,
    message: wire::ErrorMessage,
}

impl From<wire::ErrorMessage> for Failure {
    fn from(message: wire::ErrorMessage) -> Self {
        Self {
            status: abi::STATUS_ERROR,
            message,
        }
    }
}

/// Runs `f` with panics caught, writing its answer or error to `out`.
///
/// # Safety
/// `out` is null or points to a writable [`Buf`].
unsafe fn guarded(out: *mut Buf, f: impl FnOnce() -> Result<Vec<u8>, Failure>) -> Status {
    let (status, bytes) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(bytes)) => (abi::STATUS_OK, bytes),
        Ok(Err(Failure { status, message })) => (
            status,
            serde_json::to_vec(&message).unwrap_or_else(|_| message.message.into_bytes()),
        ),
        Err(payload) => {
            let e = wire::ErrorMessage {
                schema: abi::SCHEMA,
                message: panic_message(payload),
                key: None,
            };
            (
                abi::STATUS_PANIC,
                serde_json::to_vec(&e).unwrap_or_else(|_| e.message.into_bytes()),
            )
        }
    };
    // SAFETY: guaranteed by the caller.
    unsafe { __private::write_buf(out, bytes) };
    status
}

fn error(message: impl Into<String>) -> wire::ErrorMessage {
    wire::ErrorMessage {
        schema: abi::SCHEMA,
        message: message.into(),
        key: None,
    }
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, wire::ErrorMessage> {
    serde_json::to_vec(value).map_err(|e| error(format!("cannot serialize the answer: {e}")))
}

fn request_text<'a>(request: StrRef) -> Result<&'a str, wire::ErrorMessage> {
    // SAFETY: the host passes a string valid for the call.
    std::str::from_utf8(unsafe { request.as_bytes() })
        .map_err(|e| error(format!("request is not UTF-8: {e}")))
}

fn plugin() -> Result<&'static Plugin, wire::ErrorMessage> {
    PLUGIN
        .get()
        .ok_or_else(|| error("the plugin was called before its entry point"))
}

unsafe extern "C" fn describe_shim(out: *mut Buf) -> Status {
    // SAFETY: `out` comes from the host.
    unsafe {
        guarded(out, || {
            let p = plugin()?;
            Ok(json(&wire::Describe {
                schema: abi::SCHEMA,
                plugin: wire::PluginDoc {
                    name: p.name.to_string(),
                    version: p.version.to_string(),
                },
                components: p.components.iter().map(|c| (c.describe)()).collect(),
            })?)
        })
    }
}

unsafe extern "C" fn create_shim(
    kind: u32,
    name: StrRef,
    config: StrRef,
    handle: *mut *mut c_void,
    out: *mut Buf,
) -> Status {
    // SAFETY: pointers come from the host.
    unsafe {
        guarded(out, || {
            let p = plugin()?;
            let name = request_text(name)?;
            let config = request_text(config)?;
            let kind = match kind {
                abi::KIND_ARCHITECTURE => wire::ComponentKind::Architecture,
                abi::KIND_ENERGY_MODEL => wire::ComponentKind::EnergyModel,
                other => return Err(error(format!("unknown component kind code {other}")).into()),
            };
            let c = p
                .components
                .iter()
                .find(|c| c.kind == kind && c.name == name)
                .ok_or_else(|| error(format!("this plugin provides no {kind:?} `{name}`")))?;
            let (instance, created) = (c.create)(config)?;
            let answer = json(&created)?;
            if handle.is_null() {
                return Err(error("no place to store the handle").into());
            }
            *handle = Box::into_raw(Box::new(instance)) as *mut c_void;
            Ok(answer)
        })
    }
}

/// # Safety
/// `handle` comes from `create_shim` and is live.
unsafe fn instance<'a>(handle: *mut c_void) -> Result<&'a Instance, wire::ErrorMessage> {
    // SAFETY: guaranteed by the caller.
    unsafe { (handle as *const Instance).as_ref() }.ok_or_else(|| error("null handle"))
}

/// The architecture behind `instance` and the request's network: parsed from the request,
/// or the one held under `id` when the request names it by number only.
fn architecture<'a>(
    instance: &'a Instance,
    id: u64,
    network_json: Option<&RawValue>,
) -> Result<(&'a dyn Architecture, Arc<Network>), Failure> {
    let Instance::Architecture { arch, network } = instance else {
        return Err(error("the handle is an energy model, not an architecture").into());
    };
    let mut cache = network.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((held, net)) = cache.as_ref()
        && id != 0
        && *held == id
    {
        return Ok((arch.as_ref(), net.clone()));
    }
    let Some(json) = network_json else {
        return Err(Failure {
            status: abi::STATUS_NEED_NETWORK,
            message: error(format!("network #{id} is not held by this handle")),
        });
    };
    let net: Network = serde_json::from_str(json.get())
        .map_err(|e| error(format!("request carries a malformed network: {e}")))?;
    let net = Arc::new(net);
    *cache = Some((id, net.clone()));
    Ok((arch.as_ref(), net))
}

fn arch_error(e: ArchError) -> wire::ErrorMessage {
    error(e.to_string())
}

unsafe extern "C" fn check_shim(handle: *mut c_void, request: StrRef, out: *mut Buf) -> Status {
    // SAFETY: pointers come from the host.
    unsafe {
        guarded(out, || {
            let req: wire::CheckRequest<'_> = serde_json::from_str(request_text(request)?)
                .map_err(|e| error(format!("malformed check request: {e}")))?;
            let (arch, network) = architecture(instance(handle)?, req.network_id, req.network)?;
            let format: Format = serde_json::from_str(req.format.get())
                .map_err(|e| error(format!("malformed format: {e}")))?;
            arch.check(&network, &format).map_err(arch_error)?;
            Ok(json(&wire::Done {
                schema: abi::SCHEMA,
            })?)
        })
    }
}

unsafe extern "C" fn evaluate_shim(handle: *mut c_void, request: StrRef, out: *mut Buf) -> Status {
    // SAFETY: pointers come from the host.
    unsafe {
        guarded(out, || {
            let req: wire::EvaluateRequest<'_> = serde_json::from_str(request_text(request)?)
                .map_err(|e| error(format!("malformed evaluate request: {e}")))?;
            let (arch, network) = architecture(instance(handle)?, req.network_id, req.network)?;
            let format: Format = serde_json::from_str(req.format.get())
                .map_err(|e| error(format!("malformed format: {e}")))?;
            let n = network.layers.len();
            if let Some(bad) = req.layers.iter().find(|l| l.index >= n) {
                return Err(error(format!(
                    "layer index {} is outside network `{}` of {n} layers",
                    bad.index, network.name
                ))
                .into());
            }
            let mut actions = vec![Actions::new(); req.layers.len()];
            let whole =
                req.layers.len() == n && req.layers.iter().enumerate().all(|(i, l)| l.index == i);
            if whole {
                // The whole network in order: let the architecture batch it.
                let activity: Vec<_> = req.layers.iter().map(|l| l.activity).collect();
                arch.evaluate_network(&network, &format, &activity, &mut actions)
                    .map_err(arch_error)?;
            } else {
                for (l, a) in req.layers.iter().zip(actions.iter_mut()) {
                    arch.evaluate(&network, l.index, &format, &l.activity, a)
                        .map_err(arch_error)?;
                }
            }
            Ok(encode_actions(&actions)?)
        })
    }
}

/// Writes a [`wire::EvaluateResponse`] straight from the actions, each distinct kind once.
fn encode_actions(actions: &[Actions]) -> Result<Vec<u8>, wire::ErrorMessage> {
    use std::io::Write as _;
    let mut kinds: Vec<ActionKind> = Vec::new();
    let mut index: HashMap<ActionKind, usize> = HashMap::new();
    let mut body = Vec::with_capacity(32 * actions.iter().map(Actions::len).sum::<usize>() + 16);
    let io = |e: std::io::Error| error(format!("cannot write the answer: {e}"));
    body.push(b'[');
    for (i, layer) in actions.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.push(b'[');
        for (j, a) in layer.as_slice().iter().enumerate() {
            let k = *index.entry(a.kind).or_insert_with(|| {
                kinds.push(a.kind);
                kinds.len() - 1
            });
            if j > 0 {
                body.push(b',');
            }
            write!(body, "[{k},\"{}\",", a.category.name()).map_err(io)?;
            // serde_json writes NaN and infinities as null, which the host reports.
            serde_json::to_writer(&mut body, &a.count).map_err(|e| error(e.to_string()))?;
            body.push(b']');
        }
        body.push(b']');
    }
    body.push(b']');
    let mut out = Vec::with_capacity(body.len() + 64 * kinds.len() + 32);
    write!(out, "{{\"schema\":{},\"kinds\":", abi::SCHEMA).map_err(io)?;
    serde_json::to_writer(&mut out, &kinds).map_err(|e| error(e.to_string()))?;
    out.extend_from_slice(b",\"layers\":");
    out.extend_from_slice(&body);
    out.push(b'}');
    Ok(out)
}

unsafe extern "C" fn price_shim(handle: *mut c_void, request: StrRef, out: *mut Buf) -> Status {
    // SAFETY: pointers come from the host.
    unsafe {
        guarded(out, || {
            let req: wire::PriceRequest = serde_json::from_str(request_text(request)?)
                .map_err(|e| error(format!("malformed price request: {e}")))?;
            let Instance::EnergyModel(model) = instance(handle)? else {
                return Err(error("the handle is an architecture, not an energy model").into());
            };
            // The host names the model and the action; the reason is what it lacks.
            let p = model.price(&req.action).map_err(|e| error(e.reason))?;
            Ok(json(&wire::PriceResponse {
                schema: abi::SCHEMA,
                pj: p.pj,
                source: p.source,
                derivation: p.derivation,
            })?)
        })
    }
}

unsafe extern "C" fn destroy_shim(handle: *mut c_void) {
    if handle.is_null() {
        return;
    }
    // A panicking Drop must not unwind into the host.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host releases each handle from `create_shim` exactly once.
        drop(unsafe { Box::from_raw(handle as *mut Instance) });
    }));
}

unsafe extern "C" fn free_buf_shim(buf: Buf) {
    if buf.ptr.is_null() {
        return;
    }
    // SAFETY: the buffer was made by `write_buf` from a Vec of this allocator.
    drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
}
