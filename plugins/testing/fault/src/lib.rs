//! A snnergy plugin that misbehaves on purpose, so the loader's tests can check that every
//! fault becomes a clear error naming the library, never an abort or a silent number.
//!
//! One library, many faults: the behaviour is chosen by the file name the library is loaded
//! from (snnergy passes it to the entry point), so a test copies the built library to
//! `fault-<mode>.so` and loads that copy. Each copy is a separate library to the dynamic
//! loader, with its own statics.
//!
//! | file name contains | behaviour |
//! |---|---|
//! | `wrong-major` | the table claims ABI major 2 |
//! | `small-table` | the table claims to be 12 bytes |
//! | `panics` | `fault-arch` panics in `evaluate` |
//! | `invalid-json` | `evaluate` answers truncated JSON |
//! | `negative` | `fault-arch` counts −5 additions, `fault-prices` prices everything at −1 pJ |
//! | `duplicate` | advertises an architecture named `paper-v1`, a built-in's name |
//! | `forgetful` | `evaluate` never holds a network: every request naming one by number only is answered with `STATUS_NEED_NETWORK` |
//! | anything else | a small, healthy architecture and price list |

use std::ffi::c_void;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use snnergy_plugin_sdk::Exported;
use snnergy_plugin_sdk::c_abi::{self, Buf, HostV1, PluginV1, Status, StrRef};
use snnergy_plugin_sdk::snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, BuildContext, Category, Component, ComputeOp,
    ConfigError, Derivation, EnergyModel, Format, LayerActivity, Network, Price, PriceError,
    PriceSource,
};

/// The injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Table claims ABI major 2.
    WrongMajor,
    /// Table claims 12 bytes.
    SmallTable,
    /// `evaluate` panics.
    Panics,
    /// `evaluate` answers invalid JSON.
    InvalidJson,
    /// Negative counts and prices.
    Negative,
    /// A component named like a built-in.
    Duplicate,
    /// Forgets every network.
    Forgetful,
    /// No fault.
    Healthy,
}

impl Mode {
    fn from_path(path: &str) -> Self {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        [
            ("wrong-major", Mode::WrongMajor),
            ("small-table", Mode::SmallTable),
            ("panics", Mode::Panics),
            ("invalid-json", Mode::InvalidJson),
            ("negative", Mode::Negative),
            ("duplicate", Mode::Duplicate),
            ("forgetful", Mode::Forgetful),
        ]
        .into_iter()
        .find(|(k, _)| name.contains(k))
        .map(|(_, m)| m)
        .unwrap_or(Mode::Healthy)
    }
}

static MODE: OnceLock<Mode> = OnceLock::new();

fn mode() -> Mode {
    MODE.get().copied().unwrap_or(Mode::Healthy)
}

/// No parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NoParams {}

/// A small architecture: one accumulation per synaptic event (SNN) or one MAC per non-zero
/// input (QNN), and one threshold check per neuron per step.
#[derive(Clone, Debug, Default)]
pub struct FaultArch;

impl Architecture for FaultArch {
    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        a: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        match mode() {
            Mode::Panics => panic!("fault injected: evaluate panics"),
            Mode::Negative => {
                out.push(
                    ActionKind::compute(ComputeOp::Add, 8),
                    Category::Compute,
                    -5.0,
                );
                return Ok(());
            }
            _ => {}
        }
        let l = &network.layers[layer];
        let s = l.synapses() as f64;
        match format {
            Format::Snn(f) => {
                let t = f.timesteps as f64;
                out.push(
                    ActionKind::compute(ComputeOp::Add, 16),
                    Category::Compute,
                    s * t * a.input_rate,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Compare, 16),
                    Category::Compute,
                    l.neurons() as f64 * t,
                );
            }
            Format::Qnn(_) => {
                let macs = s * a.input_nonzero;
                out.push(
                    ActionKind::compute(ComputeOp::Mul, 8),
                    Category::Compute,
                    macs,
                );
                out.push(
                    ActionKind::compute(ComputeOp::Add, 16),
                    Category::Compute,
                    macs,
                );
            }
        }
        Ok(())
    }
}

impl Component for FaultArch {
    type Interface = dyn Architecture;
    type Config = NoParams;
    const NAME: &'static str = "fault-arch";
    const SUMMARY: &'static str =
        "test architecture whose behaviour depends on the library's file name";

    fn build(_: NoParams, _: &BuildContext<'_>) -> Result<Box<dyn Architecture>, ConfigError> {
        tracing::info!(mode = ?mode(), "fault-arch built");
        Ok(Box::new(FaultArch))
    }
}

/// An architecture advertised under a built-in's name.
#[derive(Clone, Debug, Default)]
pub struct Impostor;

impl Architecture for Impostor {
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

impl Component for Impostor {
    type Interface = dyn Architecture;
    type Config = NoParams;
    const NAME: &'static str = "paper-v1";
    const SUMMARY: &'static str = "claims a built-in's name";

    fn build(_: NoParams, _: &BuildContext<'_>) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Impostor))
    }
}

/// Prices: Horowitz's 8-bit numbers for everything, or −1 pJ in `negative` mode.
#[derive(Clone, Debug, Default)]
pub struct FaultPrices;

impl EnergyModel for FaultPrices {
    fn name(&self) -> &str {
        "fault-prices"
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        let pj = match (mode(), action) {
            (Mode::Negative, _) => -1.0,
            (
                _,
                ActionKind::Compute {
                    op: ComputeOp::Mul, ..
                },
            ) => 0.2,
            (_, ActionKind::Compute { .. }) => 0.03,
            _ => {
                return Err(PriceError {
                    model: self.name().into(),
                    action: action.to_string(),
                    reason: "fault-prices prices arithmetic only".into(),
                });
            }
        };
        Ok(Price {
            pj,
            source: 0,
            derivation: Derivation::Exact,
        })
    }

    fn sources(&self) -> Vec<PriceSource> {
        vec![PriceSource {
            key: "horowitz-isscc14".into(),
            citation: "M. Horowitz, ISSCC 2014".into(),
            node: "45 nm".into(),
            third_party: false,
        }]
    }
}

impl Component for FaultPrices {
    type Interface = dyn EnergyModel;
    type Config = NoParams;
    const NAME: &'static str = "fault-prices";
    const SUMMARY: &'static str = "test prices whose behaviour depends on the library's file name";

    fn build(_: NoParams, _: &BuildContext<'_>) -> Result<Box<dyn EnergyModel>, ConfigError> {
        Ok(Box::new(FaultPrices))
    }
}

static NORMAL: &[Exported] = &[Exported::of::<FaultArch>(), Exported::of::<FaultPrices>()];

static DUPLICATE: &[Exported] = &[Exported::of::<Impostor>()];

unsafe extern "C" fn invalid_json_evaluate(_: *mut c_void, _: StrRef, out: *mut Buf) -> Status {
    // SAFETY: `out` comes from the host.
    unsafe {
        snnergy_plugin_sdk::__private::write_buf(
            out,
            b"{\"schema\":1,\"layers\":[[{\"kind\":".to_vec(),
        )
    };
    c_abi::STATUS_OK
}

/// The SDK's `evaluate`, which the forgetful mode calls when a request carries its network.
static SDK_EVALUATE: OnceLock<c_abi::CallFn> = OnceLock::new();

unsafe extern "C" fn forgetful_evaluate(
    handle: *mut c_void,
    request: StrRef,
    out: *mut Buf,
) -> Status {
    // SAFETY: the host passes a string valid for the call.
    let text = String::from_utf8_lossy(unsafe { request.as_bytes() });
    if !text.contains("\"network\":") {
        // SAFETY: `out` comes from the host.
        unsafe {
            snnergy_plugin_sdk::__private::write_buf(
                out,
                b"{\"schema\":1,\"message\":\"this plugin holds no network\"}".to_vec(),
            )
        };
        return c_abi::STATUS_NEED_NETWORK;
    }
    match SDK_EVALUATE.get() {
        // SAFETY: forwarding the host's arguments to the SDK's own function.
        Some(f) => unsafe { f(handle, request, out) },
        None => c_abi::STATUS_ERROR,
    }
}

/// The entry point, with the table adjusted to the injected fault.
///
/// # Safety
/// Called by snnergy's loader with a valid host description.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn snnergy_plugin_v1(host: *const HostV1) -> *const PluginV1 {
    // SAFETY: the host passes a valid description whose path lives for the process.
    let path = unsafe { host.as_ref() }
        .map(|h| String::from_utf8_lossy(unsafe { h.library_path.as_bytes() }).into_owned())
        .unwrap_or_default();
    let mode = *MODE.get_or_init(|| Mode::from_path(&path));
    let components = if mode == Mode::Duplicate {
        DUPLICATE
    } else {
        NORMAL
    };
    // SAFETY: forwarded from the loader.
    let table = unsafe {
        snnergy_plugin_sdk::__private::entry(
            host,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            components,
        )
    };
    if table.is_null() {
        return table;
    }
    // SAFETY: the SDK's table is a valid, 'static PluginV1.
    let mut adjusted = unsafe { *table };
    match mode {
        Mode::WrongMajor => adjusted.abi_major = 2,
        Mode::SmallTable => adjusted.struct_size = 12,
        Mode::InvalidJson => adjusted.evaluate = invalid_json_evaluate,
        Mode::Forgetful => {
            let _ = SDK_EVALUATE.set(adjusted.evaluate);
            adjusted.evaluate = forgetful_evaluate;
        }
        _ => return table,
    }
    Box::leak(Box::new(adjusted))
}
