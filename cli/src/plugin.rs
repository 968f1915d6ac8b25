//! `snnergy plugin check PATH`, and the plugins every command loads (`--plugin PATH`,
//! `SNNERGY_PLUGIN_PATH`).

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use snnergy::analysis::conformance::check_architecture;
use snnergy::core::{
    ActionKind, AnalysisSettings, Architecture, ComputeOp, EnergyModel, Kind, Memory, Network,
    Origin, Registry, Workload,
};
use snnergy::plugin_host::{PluginRegistry, SEARCH_PATH_VAR, search_path};

static REQUESTED: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Records the `--plugin` paths of the command line.
pub fn set_requested(paths: Vec<PathBuf>) {
    let _ = REQUESTED.set(paths);
}

/// Loads the libraries of `SNNERGY_PLUGIN_PATH`, then those given with `--plugin`.
pub fn load_requested(registry: &mut Registry) -> anyhow::Result<()> {
    if let Some(value) = std::env::var_os(SEARCH_PATH_VAR) {
        let libs = search_path(&value).with_context(|| format!("reading {SEARCH_PATH_VAR}"))?;
        for lib in libs {
            registry
                .load_plugin(&lib)
                .with_context(|| format!("loading {} from {SEARCH_PATH_VAR}", lib.display()))?;
        }
    }
    for path in REQUESTED.get().map(Vec::as_slice).unwrap_or_default() {
        registry.load_plugin(path)?;
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Load a plugin, show what it provides, and run the conformance suite on its architectures.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// The plugin's shared library.
    path: PathBuf,
    /// Energy model that prices the architectures (default: the plugin's first energy model,
    /// else horowitz-45nm).
    #[arg(long)]
    energy: Option<String>,
    /// Time steps the suite runs at.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,6,8,16")]
    timesteps: Vec<u32>,
}

pub fn plugin(args: PluginArgs) -> anyhow::Result<()> {
    match args.command {
        PluginCommand::Check(a) => check(a),
    }
}

/// Actions an energy model is probed with: the arithmetic and memory every digital model
/// needs.
fn probes() -> Vec<ActionKind> {
    vec![
        ActionKind::compute(ComputeOp::Add, 8),
        ActionKind::compute(ComputeOp::Add, 16),
        ActionKind::compute(ComputeOp::Mul, 8),
        ActionKind::compute(ComputeOp::Compare, 16),
        ActionKind::read(Memory::Register, 16, 0),
        ActionKind::read(Memory::Sram, 64, 32 * 1024),
        ActionKind::write(Memory::Sram, 16, 256 * 1024),
        ActionKind::read(Memory::Dram, 64, 0),
    ]
}

fn networks(registry: &Registry) -> anyhow::Result<Vec<Network>> {
    let mut out = Vec::new();
    for name in ["vgg16", "resnet20"] {
        let mut params = toml::Table::new();
        params.insert("input".into(), toml::Value::String("cifar10".into()));
        let w: Box<dyn Workload> = registry
            .build(name, params)
            .map_err(|e| anyhow::anyhow!("building workload `{name}`: {e}"))?;
        out.push(w.network()?);
    }
    Ok(out)
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let mut registry = crate::registry()?;
    let lib = registry.load_plugin(&args.path)?;
    let (major, minor) = lib.abi_version();
    outln!("plugin     {}", lib.path().display());
    outln!("crate      {} {}", lib.plugin().name, lib.plugin().version);
    outln!(
        "built with snnergy-plugin-sdk {}, {}; plugin ABI {major}.{minor}",
        lib.sdk_version(),
        lib.rustc_version()
    );
    let origin = Origin::Plugin(lib.path().to_path_buf());
    let mine = |kind: Kind| -> Vec<String> {
        registry
            .infos(kind)
            .into_iter()
            .filter(|i| i.origin == origin)
            .map(|i| i.name.clone())
            .collect()
    };
    let (archs, models) = (mine(Kind::Architecture), mine(Kind::EnergyModel));
    print_provides(&registry, &origin);
    if archs.is_empty() && models.is_empty() {
        bail!(
            "plugin {} provides no architecture and no energy model",
            lib.path().display()
        );
    }

    let mut tally = Tally::default();
    for name in &models {
        check_energy_model(&registry, name, &mut tally);
    }
    let energy_name = match (&args.energy, models.first()) {
        (Some(e), _) => e.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => "horowitz-45nm".to_string(),
    };
    let settings = AnalysisSettings {
        timesteps: args.timesteps.clone(),
        ..AnalysisSettings::default()
    };
    settings.validate()?;
    let nets = if archs.is_empty() {
        Vec::new()
    } else {
        networks(&registry)?
    };
    for name in &archs {
        check_plugin_architecture(&registry, name, &energy_name, &nets, &settings, &mut tally)?;
    }
    let Tally { passed, failed } = tally;
    outln!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        bail!(
            "plugin {} fails {failed} check{}",
            lib.path().display(),
            if failed == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// The architectures and energy models the plugin at `origin` provides.
fn print_provides(registry: &Registry, origin: &Origin) {
    outln!("\nprovides:");
    for kind in [Kind::Architecture, Kind::EnergyModel] {
        for info in registry
            .infos(kind)
            .into_iter()
            .filter(|i| i.origin == *origin)
        {
            outln!(
                "  {kind:<12} {:<20} {} ({} parameters)",
                info.name,
                info.summary,
                info.params.len()
            );
        }
    }
}

/// The checks passed and failed so far.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    /// Counts one check and prints it with `detail` (if any).
    fn verdict(&mut self, ok: bool, what: &str, detail: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        outln!(
            "  {}  {what}{}",
            if ok { "pass" } else { "FAIL" },
            if detail.is_empty() {
                String::new()
            } else {
                format!(" — {detail}")
            }
        );
    }
}

/// Energy model `name` builds from its example and prices common actions.
fn check_energy_model(registry: &Registry, name: &str, tally: &mut Tally) {
    outln!("\nenergy model `{name}`:");
    let info = registry
        .entry::<dyn EnergyModel>(name)
        .map(|e| e.info.clone());
    let example = info.map(|i| i.example).unwrap_or_default();
    let model = match registry.build::<dyn EnergyModel>(name, example) {
        Err(e) => {
            tally.verdict(
                false,
                "builds from its example configuration",
                &e.to_string(),
            );
            return;
        }
        Ok(model) => model,
    };
    tally.verdict(true, "builds from its example configuration", "");
    let mut priced = 0;
    for action in probes() {
        match model.price(&action) {
            Ok(p) => {
                priced += 1;
                outln!(
                    "        {:<30} {:>10.4} {}",
                    action.to_string(),
                    p.pj,
                    action.unit()
                );
            }
            Err(e) => outln!(
                "        {:<30} not priced: {}",
                action.to_string(),
                e.reason
            ),
        }
    }
    tally.verdict(
        priced > 0,
        "prices common actions with finite, non-negative prices",
        &format!("{priced} of {} probes priced", probes().len()),
    );
}

/// Architecture `name` builds from its example and, priced by `energy_name`, passes the
/// architecture checks on each of `nets` at every T of `settings`.
fn check_plugin_architecture(
    registry: &Registry,
    name: &str,
    energy_name: &str,
    nets: &[Network],
    settings: &AnalysisSettings,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    outln!("\narchitecture `{name}` priced by `{energy_name}`:");
    let example = registry
        .entry::<dyn Architecture>(name)
        .map(|e| e.info.example.clone())
        .unwrap_or_default();
    let arch: Box<dyn Architecture> = match registry.build(name, example) {
        Ok(a) => {
            tally.verdict(true, "builds from its example configuration", "");
            a
        }
        Err(e) => {
            tally.verdict(
                false,
                "builds from its example configuration",
                &e.to_string(),
            );
            return Ok(());
        }
    };
    let energy: Box<dyn EnergyModel> = registry
        .build(energy_name, toml::Table::new())
        .map_err(|e| anyhow::anyhow!("energy model `{energy_name}`: {e}"))?;
    for net in nets {
        outln!("  on {}:", net.name);
        let mut mapped = true;
        for &t in &settings.timesteps {
            for f in [settings.snn_format(t), settings.baseline_format(t)] {
                if let Err(e) = arch.check(net, &f) {
                    tally.verdict(false, "maps the network", &e.to_string());
                    mapped = false;
                }
            }
        }
        if !mapped {
            continue;
        }
        let report = check_architecture(name, arch.as_ref(), energy.as_ref(), net, settings);
        for c in &report.checks {
            tally.verdict(c.passed, c.name, &c.detail);
        }
    }
    Ok(())
}
