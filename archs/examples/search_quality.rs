//! Search quality per chip: every weighted layer of VGG16 (CIFAR-10) and ResNet18 (ImageNet)
//! mapped at `effort = "default"` and at `effort = "thorough"`, as a QNN (the capacity-matched
//! twin of T = 6, 3-bit activations, 45 % non-zero) and as an SNN (T = 6, 5 % spikes), on the
//! built architectures (classical, spatial, neuromorphic), on every shipped chip and on a chip
//! with ZigZag's Eyeriss-like example hierarchy, whose register files and buffers each keep
//! one or two operands and are stacked as levels of their own. Prints, per chip, network and
//! format, the best energy found at default effort over the best found at thorough effort: the
//! worst layer and the whole network.
//!
//! ```text
//! cargo run --release -p snnergy-archs --example search_quality [-- CHIP ...]
//! ```
//!
//! Then every layer whose default result is more than 2 % above the thorough one.
//! `SEARCH_QUALITY_SHOW=<layer>` also prints that layer's mappings at both efforts (stderr).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use snnergy_archs::{
    Chip, ChipConfig, Classical, ClassicalConfig, Effort, HardwareArchitecture, Neuromorphic,
    NeuromorphicConfig, PeMemory, Spatial, SpatialConfig, tables,
};
use snnergy_core::activity::layer_activities;
use snnergy_core::{
    AnalysisSettings, Architecture, EnergyModel, Format, InputCoding, MapRequest, Network,
    Objective, OperatingPoint, Workload,
};
use snnergy_mapper::{Hardware, MappedLayer};
use snnergy_models::{InputSpec, ModelConfig, ResNet, ResNetDepth, Vgg, VggDepth};

/// ZigZag 3.9.1's `eyeriss_like` example as stacked levels: 14 × 12 PEs each with an input
/// register file (64 B), a weight register file (64 B) and an output register file (16 B);
/// above the array an 8 KB output buffer, a 64 KB weight buffer and a 1 MB input and output
/// buffer; DRAM. Prices per access of each level's port width, as ZigZag's description gives
/// them.
const STACKED: &str = r#"
name = "stacked-rf"
[[levels]]
name = "dram"
class = "dram"
word_bits = 64
holds = ["weights", "inputs", "accum", "outputs", "membrane"]
energy = { read_pj = 1000.0, write_pj = 1000.0 }
network = { multicast = false, hop_pj_per_bit = 0.0 }
[[levels]]
name = "sram_1M"
class = "sram"
capacity = "1 MiB"
word_bits = 384
holds = ["inputs", "outputs", "accum", "membrane"]
energy = { read_pj = 100.0, write_pj = 130.0 }
network = { multicast = false, hop_pj_per_bit = 0.0 }
[[levels]]
name = "sram_64KB"
class = "sram"
capacity = "64 KiB"
word_bits = 128
holds = ["weights"]
energy = { read_pj = 20.0, write_pj = 25.0 }
network = { multicast = false, hop_pj_per_bit = 0.0 }
[[levels]]
name = "sram_8KB"
class = "sram"
capacity = "8 KiB"
word_bits = 128
holds = ["accum", "outputs", "membrane"]
energy = { read_pj = 10.0, write_pj = 15.0 }
network = { multicast = true, reduction = true, topology = "bus", hop_pj_per_bit = 0.0 }
[[levels]]
name = "rf_16B"
class = "register"
capacity = "16 B"
word_bits = 24
mesh = [14, 12]
holds = ["accum", "membrane"]
energy = { read_pj = 1.5, write_pj = 2.0 }
network = { multicast = false, hop_pj_per_bit = 0.0 }
[[levels]]
name = "rf_64B_W"
class = "register"
capacity = "64 B"
word_bits = 8
holds = ["weights"]
energy = { read_pj = 1.0, write_pj = 1.5 }
network = { multicast = false, hop_pj_per_bit = 0.0 }
[[levels]]
name = "rf_64B_A"
class = "register"
capacity = "64 B"
word_bits = 8
holds = ["inputs"]
energy = { read_pj = 1.0, write_pj = 1.5 }
network = { multicast = false, hop_pj_per_bit = 0.0 }
[compute]
units = [1, 1]
clock_mhz = 200.0
mac_bits = 8
add_bits = 24
zero_handling = "gate"
energy = { mac_pj = 0.5, add_pj = 0.05 }
"#;

type Build = Box<dyn Fn(Effort) -> HardwareArchitecture>;

/// The chips under their names, each built at a given effort, with the table that prices it.
fn chips() -> Vec<(String, Build, Arc<dyn EnergyModel>)> {
    let horowitz: Arc<dyn EnergyModel> = Arc::new(tables::horowitz_45nm());
    let mut v: Vec<(String, Build, Arc<dyn EnergyModel>)> = vec![
        (
            "classical".into(),
            Box::new(|effort| {
                Classical::new(ClassicalConfig {
                    effort,
                    ..ClassicalConfig::default()
                })
                .expect("classical")
                .hardware()
                .clone()
            }),
            horowitz.clone(),
        ),
        (
            "spatial".into(),
            Box::new(|effort| {
                // Wired weights and SRAM state: ResNet18 on ImageNet fits the array so.
                Spatial::new(SpatialConfig {
                    effort,
                    weight_memory: PeMemory::Wired,
                    state_memory: PeMemory::Sram,
                    ..SpatialConfig::default()
                })
                .expect("spatial")
                .hardware()
                .clone()
            }),
            Arc::new(tables::paper_v1()),
        ),
        (
            "neuromorphic".into(),
            Box::new(|effort| {
                Neuromorphic::new(NeuromorphicConfig {
                    effort,
                    ..NeuromorphicConfig::default()
                })
                .expect("neuromorphic")
                .hardware()
                .clone()
            }),
            Arc::new(tables::yan_22nm()),
        ),
    ];
    for (name, _) in snnergy_archs::chip::shipped() {
        // The built architectures are the shipped descriptions of the same names.
        if v.iter().any(|c| c.0 == name) {
            continue;
        }
        v.push((
            name.into(),
            Box::new(move |effort| {
                let config = ChipConfig {
                    chip: name.into(),
                    effort,
                    ..ChipConfig::default()
                };
                Chip::new(config, Path::new("."))
                    .expect("shipped chip")
                    .hardware()
                    .clone()
            }),
            horowitz.clone(),
        ));
    }
    v.push((
        "stacked-rf".into(),
        Box::new(|effort| {
            let hw = Hardware::from_toml(STACKED).expect("stacked chip");
            let config = ChipConfig {
                effort,
                ..ChipConfig::default()
            };
            Chip::with_hardware(config, hw)
                .expect("stacked chip")
                .hardware()
                .clone()
        }),
        horowitz,
    ));
    v
}

fn networks() -> Vec<Network> {
    let vgg = Vgg::new(VggDepth::Vgg16, ModelConfig::default());
    let resnet = ResNet::new(
        ResNetDepth::ResNet18,
        ModelConfig {
            input: InputSpec::Dataset("imagenet".into()),
            ..ModelConfig::default()
        },
    );
    vec![
        vgg.network().expect("vgg16"),
        resnet.network().expect("resnet18"),
    ]
}

/// Per weighted layer, the energy (dynamic and leakage, pJ) of the best mapping found at
/// `effort`, at the densities it was mapped for.
fn layer_energies(
    build: &Build,
    table: &dyn EnergyModel,
    net: &Network,
    format: &Format,
    effort: Effort,
) -> Vec<(String, f64)> {
    let arch = build(effort);
    let energy = arch.priced_by(table);
    let point = OperatingPoint::uniform(net, 0.05, 0.45);
    let acts = layer_activities(net, &point, InputCoding::Direct);
    let request = MapRequest {
        network: net,
        format,
        activity: &acts,
        anchors: &[],
        warm: None,
        energy: energy.as_ref(),
        objective: Objective::Energy,
    };
    let layers = arch.map_layers(&request).expect("maps");
    net.layers
        .iter()
        .zip(layers)
        .filter_map(|(l, m)| m.map(|m| {
            if std::env::var("SEARCH_QUALITY_SHOW").is_ok_and(|v| v == l.name) {
                eprintln!(
                    "{} at {effort:?} effort ({} mappings evaluated, exhaustive: {}), {:.1} pJ:\n{}",
                    l.name,
                    m.evaluated,
                    m.exhaustive,
                    best_energy(&m),
                    m.loop_nest()
                );
            }
            (l.name.clone(), best_energy(&m))
        }))
        .collect()
}

fn best_energy(m: &MappedLayer) -> f64 {
    m.objective_at(m.mapped_for, snnergy_mapper::Objective::Energy)
        .expect("evaluates")
}

fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let settings = AnalysisSettings::default();
    let formats = [
        ("qnn3", settings.baseline_format(6)),
        ("snn6", settings.snn_format(6)),
    ];
    let nets = networks();
    println!(
        "| chip | network | format | layers | default µJ | thorough µJ | worst layer | default / thorough (worst) | default / thorough (total) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut overall: f64 = 1.0;
    let mut seconds = [0.0; 2];
    let mut misses: Vec<String> = Vec::new();
    for (name, build, table) in chips() {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        for net in &nets {
            for (fname, format) in &formats {
                let t0 = Instant::now();
                let a = layer_energies(&build, table.as_ref(), net, format, Effort::Default);
                let t1 = Instant::now();
                let b = layer_energies(&build, table.as_ref(), net, format, Effort::Thorough);
                let t2 = Instant::now();
                seconds[0] += (t1 - t0).as_secs_f64();
                seconds[1] += (t2 - t1).as_secs_f64();
                let (mut worst, mut worst_at) = (0.0f64, String::new());
                for ((la, ea), (_, eb)) in a.iter().zip(&b) {
                    let r = ea / eb;
                    if r > 1.02 {
                        misses.push(format!("{name} {} {fname} {la}: {r:.4}", net.name));
                    }
                    if r > worst {
                        (worst, worst_at) = (r, la.clone());
                    }
                }
                let (sa, sb) = (
                    a.iter().map(|x| x.1).sum::<f64>(),
                    b.iter().map(|x| x.1).sum::<f64>(),
                );
                let total = sa / sb;
                overall = overall.max(worst);
                println!(
                    "| {name} | {} | {fname} | {} | {:.2} | {:.2} | {worst_at} | {worst:.4} | {total:.4} |",
                    net.name,
                    a.len(),
                    sa / 1e6,
                    sb / 1e6
                );
            }
        }
    }
    println!("\nworst default / thorough over every layer: {overall:.4}");
    println!("layers over 1.02: {}", misses.len());
    for m in &misses {
        println!("- {m}");
    }
    println!(
        "wall time mapping: default {:.1} s, thorough {:.1} s",
        seconds[0], seconds[1]
    );
}
