//! What the plugin boundary costs: the built-in `paper-v1` evaluated directly and through the
//! full plugin C ABI (JSON both ways, handles, plugin-allocated buffers, caught panics) in
//! the same run, per layer-evaluation, one call per network and one call per layer; then
//! every architecture loaded from the libraries `SNNERGY_PLUGIN_PATH` names.
//!
//! ```sh
//! cargo bench -p snnergy-cli --bench boundary            # -- --seconds 2
//! ```
//!
//! The boundary copy is linked into this program ([`snnergy_plugin_sdk::linked_table`])
//! rather than loaded from a library: calling a function pointer into a loaded library costs
//! the same as into this binary, and only this way is the very same model on both sides.

use std::path::Path;
use std::time::{Duration, Instant};

use snnergy::analysis::Evaluator;
use snnergy::archs::{PaperV1, PaperV1Config, PaperVariant, paper_v1::Quantity};
use snnergy::core::activity::{OperatingPoint, layer_activities};
use snnergy::core::{
    Actions, AnalysisSettings, Architecture, Assumption, BuildContext, Component, ConfigError,
    EnergyModel, Kind, LayerActivity, Network, Origin, Registry, Workload,
};
use snnergy::plugin_host::PluginRegistry as _;
use snnergy_plugin_sdk::Exported;

/// `paper-v1`, exported through the plugin ABI.
#[derive(Debug)]
struct PaperV1ThroughAbi(PaperV1);

impl Architecture for PaperV1ThroughAbi {
    fn check(
        &self,
        n: &Network,
        f: &snnergy::core::Format,
    ) -> Result<(), snnergy::core::ArchError> {
        self.0.check(n, f)
    }
    fn evaluate(
        &self,
        n: &Network,
        l: usize,
        f: &snnergy::core::Format,
        a: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), snnergy::core::ArchError> {
        self.0.evaluate(n, l, f, a, out)
    }
    fn assumptions(&self) -> Vec<Assumption> {
        self.0.assumptions()
    }
}

impl Component for PaperV1ThroughAbi {
    type Interface = dyn Architecture;
    type Config = PaperV1Config;
    const NAME: &'static str = "paper-v1-through-abi";
    const SUMMARY: &'static str = "the built-in paper-v1, called through the plugin ABI";
    fn build(c: PaperV1Config, _: &BuildContext<'_>) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Self(PaperV1::new(c).map_err(ConfigError::new)?)))
    }
}

static THROUGH_ABI: &[Exported] = &[Exported::of::<PaperV1ThroughAbi>()];

fn config() -> PaperV1Config {
    PaperV1Config {
        variant: PaperVariant::Classical,
        fanin: Quantity::Value(2395.0),
        reuse: Quantity::Value(216.0),
        rho: Some(0.45),
        ..PaperV1Config::default()
    }
}

/// Nanoseconds per layer-evaluation over `budget`, evaluating whole networks through
/// `evaluate_network` (what analyses do), alternating SNN and baseline and varying the rate.
fn per_network(
    arch: &dyn Architecture,
    energy: &dyn EnergyModel,
    net: &Network,
    budget: Duration,
) -> anyhow::Result<(f64, f64)> {
    let settings = AnalysisSettings::default();
    let (snn, base) = (settings.snn_format(6), settings.baseline_format(6));
    let points: Vec<OperatingPoint> = (0..64)
        .map(|i| OperatingPoint::uniform(net, i as f64 / 63.0, 0.45))
        .collect();
    let mut ev = Evaluator::new("bench", arch, energy, net, settings.input_coding);
    let (start, mut sink, mut i) = (Instant::now(), 0.0, 0usize);
    while start.elapsed() < budget {
        for _ in 0..16 {
            let f = if i % 2 == 0 { &snn } else { &base };
            sink += ev.total(f, &points[i % points.len()])?;
            i += 1;
        }
    }
    Ok((
        start.elapsed().as_nanos() as f64 / ev.evaluations() as f64,
        sink,
    ))
}

/// Nanoseconds per layer-evaluation with one `evaluate` call per layer.
fn per_layer(
    arch: &dyn Architecture,
    net: &Network,
    budget: Duration,
) -> anyhow::Result<(f64, f64)> {
    let settings = AnalysisSettings::default();
    let (snn, base) = (settings.snn_format(6), settings.baseline_format(6));
    let acts: Vec<Vec<LayerActivity>> = (0..16)
        .map(|i| {
            layer_activities(
                net,
                &OperatingPoint::uniform(net, i as f64 / 15.0, 0.45),
                settings.input_coding,
            )
        })
        .collect();
    let mut out = Actions::new();
    let (start, mut sink, mut calls, mut i) = (Instant::now(), 0.0, 0u64, 0usize);
    while start.elapsed() < budget {
        let f = if i % 2 == 0 { &snn } else { &base };
        for (l, a) in acts[i % acts.len()].iter().enumerate() {
            out.clear();
            arch.evaluate(net, l, f, a, &mut out)?;
            sink += out.as_slice().iter().map(|a| a.count).sum::<f64>();
            calls += 1;
        }
        i += 1;
    }
    Ok((start.elapsed().as_nanos() as f64 / calls as f64, sink))
}

/// The two copies must agree exactly before their speed means anything.
fn same_numbers(
    a: &dyn Architecture,
    b: &dyn Architecture,
    energy: &dyn EnergyModel,
    net: &Network,
) -> anyhow::Result<()> {
    let settings = AnalysisSettings::default();
    let mut x = Evaluator::new("direct", a, energy, net, settings.input_coding);
    let mut y = Evaluator::new("through the ABI", b, energy, net, settings.input_coding);
    for r in [0.0, 0.05, 0.5] {
        let p = OperatingPoint::uniform(net, r, 0.45);
        for f in [settings.snn_format(6), settings.baseline_format(6)] {
            let (e1, e2) = (x.total(&f, &p)?, y.total(&f, &p)?);
            if e1 != e2 {
                anyhow::bail!("paper-v1 gives {e1} pJ directly but {e2} pJ through the plugin ABI");
            }
        }
    }
    Ok(())
}

fn networks(registry: &Registry) -> anyhow::Result<Vec<Network>> {
    ["vgg16", "resnet20"]
        .iter()
        .map(|name| {
            let mut p = toml::Table::new();
            p.insert("input".into(), "cifar10".into());
            let w: Box<dyn Workload> = registry
                .build(name, p)
                .map_err(|e| anyhow::anyhow!("workload {name}: {e}"))?;
            Ok(w.network()?)
        })
        .collect()
}

/// `--seconds S`: a positive time of at most a day. Anything else (negative, NaN, 1e308,
/// which `Duration` cannot hold) is refused rather than replaced by the default, so a typo is
/// not mistaken for a measurement of the default length.
fn seconds(text: &str) -> anyhow::Result<f64> {
    text.parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .ok_or_else(|| {
            anyhow::anyhow!("--seconds {text}: expected a number of seconds in (0, 86400]")
        })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = match args.windows(2).find(|w| w[0] == "--seconds") {
        Some(w) => seconds(&w[1])?,
        None => 2.0,
    };
    let mut registry = snnergy::registry()?;
    registry.load_search_path()?;
    let registry = &registry;
    println!("plugin boundary (ns per layer-evaluation; µs = ns / 1000):");
    let budget = Duration::from_secs_f64((seconds / 8.0).max(0.05));
    let table =
        snnergy_plugin_sdk::linked_table("snnergy-bench", env!("CARGO_PKG_VERSION"), THROUGH_ABI);
    // SAFETY: the SDK's table satisfies the ABI and lives for the process.
    let lib = unsafe {
        snnergy::plugin_host::open_linked(
            Path::new("<linked paper-v1 through the plugin ABI>"),
            table,
        )
    }?;
    let mut with_abi = registry.clone();
    with_abi.register_library(&lib)?;
    let params = toml::Table::try_from(config())?;
    let through: Box<dyn Architecture> = with_abi
        .build("paper-v1-through-abi", params)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let direct = PaperV1::new(config()).map_err(|e| anyhow::anyhow!(e))?;
    let energy: Box<dyn EnergyModel> = registry
        .build("paper-v1", toml::Table::new())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let horowitz: Box<dyn EnergyModel> = registry
        .build("horowitz-45nm", toml::Table::new())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for net in networks(registry)? {
        same_numbers(&direct, through.as_ref(), energy.as_ref(), &net)?;
        let (d, _) = per_network(&direct, energy.as_ref(), &net, budget)?;
        let (b, _) = per_network(through.as_ref(), energy.as_ref(), &net, budget)?;
        let (dl, _) = per_layer(&direct, &net, budget)?;
        let (bl, _) = per_layer(through.as_ref(), &net, budget)?;
        println!(
            "  paper-v1 on {:<18} built in {:>8.0}   through the ABI, one call per network {:>8.0} (+{:.0})   one call per layer {:>8.0} (+{:.0})",
            format!("{} ({} layers)", net.name, net.layers.len()),
            d,
            b,
            b - d,
            bl,
            bl - dl
        );
    }
    // Architectures loaded from libraries, as they come.
    for info in registry.infos(Kind::Architecture) {
        let Origin::Plugin(path) = &info.origin else {
            continue;
        };
        let arch: Box<dyn Architecture> = registry
            .build(&info.name, info.example.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for net in networks(registry)? {
            let (b, _) = per_network(arch.as_ref(), horowitz.as_ref(), &net, budget)?;
            let (bl, _) = per_layer(arch.as_ref(), &net, budget)?;
            println!(
                "  {} on {:<18} from {}: one call per network {:>8.0}   one call per layer {:>8.0}",
                info.name,
                format!("{} ({} layers)", net.name, net.layers.len()),
                path.display(),
                b,
                bl
            );
        }
    }
    Ok(())
}
