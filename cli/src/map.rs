//! `snnergy map PIPELINE`: the loop nest each format gets on one architecture at one operating
//! point, layer by layer, with its counts, energies and latency, and its export to Timeloop and
//! ZigZag.
//!
//! The operating point, the formats, the mapping and the energies are those of `snnergy run`
//! (its evaluator, mapped at the point as a run maps each operating point); the per-level
//! counts are the mapper's record of the same mapping at the same densities.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use snnergy::analysis::analysis::{operating_points, percent, round_sig};
use snnergy::analysis::breakeven::layer_mapped;
use snnergy::analysis::twin::Family;
use snnergy::analysis::{ArchSlot, Evaluator, NetworkEnergy, Pipeline, Uniform, WorkloadSlot};
use snnergy::archs::{LayerOnChip, layers_on_chip};
use snnergy::core::activity::{OperatingPoint, layer_activities};
use snnergy::core::report::LayerMapped;
use snnergy::core::{AnalysisSettings, Format, LayerActivity, LayerMapping, Network};
use snnergy::mapper::{Densities, Evaluation, to_timeloop_at, to_zigzag_at};

use snnergy::core::report::LevelEnergy;
use snnergy::report::render::level_names;
use snnergy::report::text::{Col, Screen, TextTable, num, share, uj};

#[derive(Args, Debug)]
pub struct MapArgs {
    /// The pipeline file (TOML).
    pipeline: PathBuf,
    /// The architecture: its `name` in the pipeline, or its type (may be left out when the
    /// pipeline has one).
    #[arg(long)]
    arch: Option<String>,
    /// The layer to show in full (default: every layer, one row per format).
    #[arg(long)]
    layer: Option<String>,
    /// SNN time steps (default: the pipeline's headline T).
    #[arg(short = 'T', long = "timesteps")]
    timesteps: Option<u32>,
    /// Spike rate of every layer (default: the pipeline's activity, its first operating
    /// point); the twin's non-zero fraction ρ follows the pipeline's twin rule.
    #[arg(long)]
    rate: Option<f64>,
    /// The workload, by its label (default: the pipeline's first).
    #[arg(long)]
    workload: Option<String>,
    /// Which format to show and export: the SNN, its QNN twin, or both.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    format: Which,
    /// Write the Timeloop v0.4 documents (architecture, problem, mapping, ERT YAML) and our
    /// counts table of the chosen layers into DIR.
    #[arg(long, value_name = "DIR")]
    export_timeloop: Option<PathBuf>,
    /// Write the ZigZag documents (accelerator, workload, mapping YAML) and our counts of the
    /// chosen layers into DIR; with ZigZag installed for SNNERGY_PYTHON (else python3), print
    /// its cost model's result on them beside ours.
    #[arg(long, value_name = "DIR")]
    export_zigzag: Option<PathBuf>,
    /// Print the mappings as JSON on stdout instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    Snn,
    Qnn,
    Both,
}

/// One format of the comparison: its name in files and keys, in text, and the format.
#[derive(Clone, Copy, Debug)]
struct Side {
    key: &'static str,
    title: &'static str,
    format: Format,
}

/// One layer as the command shows it in one format.
#[derive(Debug, Serialize)]
struct FormatOut {
    /// The report's energy of the layer, pJ per inference.
    energy_pj: f64,
    /// The report's latency of the layer, µs per inference.
    latency_us: Option<f64>,
    /// The densities the layer is evaluated at (input, output).
    densities: [f64; 2],
    /// Inferences sharing each weight fetch: `evaluation` is per batch.
    batch: f64,
    /// The mapping in words and as a loop nest.
    mapping: Option<LayerMapping>,
    /// The mapper's evaluation at `densities`: counts and energy per level and data space,
    /// cycles, latency and what bounds it.
    evaluation: Option<Evaluation>,
}

#[derive(Debug, Serialize)]
struct LayerOut {
    layer: String,
    op: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    snn: Option<FormatOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qnn: Option<FormatOut>,
    /// The layer's record in the report (both formats).
    report: LayerMapped,
}

#[derive(Debug, Serialize)]
struct MapOut {
    architecture: String,
    workload: String,
    timesteps: u32,
    operating_point: String,
    spike_rate: f64,
    nonzero: f64,
    layers: Vec<LayerOut>,
}

pub fn map(args: MapArgs) -> anyhow::Result<()> {
    refuse_one_folder_for_both_exports(&args)?;
    let registry = crate::registry()?;
    let pipeline = Pipeline::from_file(&args.pipeline, &registry)?;
    // An export folder that may not be written (a link, a file, a device) fails before the
    // mapping work; the file names are checked when they are known.
    for dir in [&args.export_timeloop, &args.export_zigzag]
        .into_iter()
        .flatten()
    {
        snnergy::files::check_output_dir(dir, &[])?;
    }
    if pipeline.settings.overwrite {
        snnergy::files::set_overwrite(true);
    }
    let settings = &pipeline.settings;
    let w = pick_workload(&pipeline, args.workload.as_deref())?;
    let slot = pick_arch(&pipeline, args.arch.as_deref())?;
    let net = &w.network;
    let chosen = chosen_layer(w, args.layer.as_deref())?;
    let t = args
        .timesteps
        .unwrap_or_else(|| settings.headline_timesteps());
    if t == 0 {
        bail!("-T 0: an SNN runs at least one time step");
    }
    let point = operating_point(&pipeline, w, t, args.rate)?;
    let snn = Side {
        key: "snn",
        title: "SNN",
        format: settings.snn_format(t),
    };
    let qnn = Side {
        key: "qnn",
        title: "QNN twin",
        format: settings.baseline_format(t),
    };
    for s in [&snn, &qnn] {
        check_side(settings, slot, net, t, s)?;
    }
    let sides: Vec<Side> = match args.format {
        Which::Snn => vec![snn],
        Which::Qnn => vec![qnn],
        Which::Both => vec![snn, qnn],
    };

    // As `snnergy run` judges an operating point: both formats mapped at their best over the
    // anchors of the point's family, then evaluated with the best of those at the point.
    let energy = slot.arch.priced_by(slot.energy.as_ref());
    let family = Family::new(settings, net, &point, t, 1.0);
    let mut ev = Evaluator::new(
        &slot.label,
        slot.arch.as_ref(),
        energy.as_ref(),
        net,
        settings.input_coding,
    )
    .with_anchors(&family.anchors());
    let acts = layer_activities(net, &point, settings.input_coding);
    let results = evaluate_sides(&mut ev, slot, &point, &acts, [&snn, &qnn])?;

    let indices: Vec<usize> = match chosen {
        Some(i) => vec![i],
        None => (0..net.layers.len()).collect(),
    };
    let out = MapOut {
        architecture: slot.label.clone(),
        workload: w.label.clone(),
        timesteps: t,
        operating_point: point.label.clone(),
        spike_rate: point.mean_spike_rate(net),
        nonzero: point.mean_nonzero(net),
        layers: layer_outs(net, &indices, &sides, &results)?,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else if chosen.is_some() {
        print_layer(&out, &sides, &slot.type_name);
    } else {
        print_compact(&out, &sides, &slot.type_name);
    }
    export_all(&args, net, &slot.label, &indices, &sides, &results)
}

/// Both exports write `<layer>-<format>.mapping.yaml`: one folder cannot hold both.
fn refuse_one_folder_for_both_exports(args: &MapArgs) -> anyhow::Result<()> {
    if let (Some(a), Some(b)) = (&args.export_timeloop, &args.export_zigzag) {
        let same = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if same(a) == same(b) {
            bail!(
                "--export-timeloop and --export-zigzag both name {}: both exports write `<layer>-<format>.mapping.yaml`, so give each its own folder",
                a.display()
            );
        }
    }
    Ok(())
}

/// The index of the layer `--layer` names, if it names one; a layer without weights has no
/// loop nest to show.
fn chosen_layer(w: &WorkloadSlot, layer: Option<&str>) -> anyhow::Result<Option<usize>> {
    let net = &w.network;
    let Some(name) = layer else {
        return Ok(None);
    };
    let i = net.layer_index(name).ok_or_else(|| {
        let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
        anyhow!(
            "workload `{}` has no layer `{name}`; its layers: {}",
            w.label,
            names.join(", ")
        )
    })?;
    if net.layers[i].weights() == 0 {
        bail!(
            "layer `{}` ({}) has no weights and no loop nest: weightless layers are counted by a fixed rule at the level that keeps activations; weighted layers: {}",
            net.layers[i].name,
            net.layers[i].kind.op_name(),
            net.layers
                .iter()
                .filter(|l| l.weights() > 0)
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(Some(i))
}

/// One format checked as `snnergy run` checks it: a valid format the architecture takes, and
/// a mapper search within the memory budget.
fn check_side(
    settings: &AnalysisSettings,
    slot: &ArchSlot,
    net: &Network,
    t: u32,
    s: &Side,
) -> anyhow::Result<()> {
    s.format
        .validate()
        .map_err(|m| anyhow!("[analysis] at T = {t}: {m}"))?;
    slot.arch.check(net, &s.format)?;
    if let Some(c) = slot.arch.mapping_cost(net, &s.format) {
        let budget = settings.budget.memory_mib * 1024.0 * 1024.0;
        if c.memory_bytes > budget {
            bail!(
                "mapping would need about {:.0} MiB of memory for {}, over the budget of {} MiB; raise `memory_mib` in [analysis.budget]",
                c.memory_bytes / (1024.0 * 1024.0),
                c.what,
                settings.budget.memory_mib
            );
        }
    }
    Ok(())
}

/// One format's results on the architecture: the report's energies and mappings, and the
/// mapper's view of each layer (none for a layer it does not map).
struct Results<'e> {
    energy: NetworkEnergy,
    maps: Vec<LayerMapping>,
    views: Vec<Option<LayerOnChip<'e>>>,
}

/// The SNN's and the twin's results at `point`, in that order; an architecture the mapper
/// does not map has nothing to show.
fn evaluate_sides<'e>(
    ev: &'e mut Evaluator<'_>,
    slot: &ArchSlot,
    point: &OperatingPoint,
    acts: &[LayerActivity],
    [snn, qnn]: [&Side; 2],
) -> anyhow::Result<[Results<'e>; 2]> {
    ev.total(&snn.format, point)?;
    let not_mapped = ev
        .mapped(&snn.format)
        .is_none_or(|m| layers_on_chip(m, &[]).is_none());
    if not_mapped {
        bail!(
            "architecture `{}` (type `{}`) has no loop-nest mapping to show: its per-layer rules are its mapping (closed forms, or a plugin without a mapper); `snnergy map` shows the architectures mapped by snnergy's mapper (classical, spatial, neuromorphic, hardware)",
            slot.label,
            slot.type_name
        );
    }
    let s_energy = ev.detailed(&snn.format, point)?;
    let b_energy = ev.detailed(&qnn.format, point)?;
    let ev: &'e Evaluator<'_> = ev;
    let snn_maps = ev.layer_mappings(&snn.format, point);
    let base_maps = ev.layer_mappings(&qnn.format, point);
    let views = |f: &Format| -> anyhow::Result<Vec<Option<LayerOnChip<'e>>>> {
        ev.mapped(f)
            .and_then(|m| layers_on_chip(m, acts))
            .ok_or_else(|| anyhow!("architecture `{}` lost its mapping", slot.label))
    };
    Ok([
        Results {
            energy: s_energy,
            maps: snn_maps,
            views: views(&snn.format)?,
        },
        Results {
            energy: b_energy,
            maps: base_maps,
            views: views(&qnn.format)?,
        },
    ])
}

/// The layers at `indices` in the formats of `sides`, from the SNN's and the twin's
/// `results`.
fn layer_outs(
    net: &Network,
    indices: &[usize],
    sides: &[Side],
    [snn, base]: &[Results<'_>; 2],
) -> anyhow::Result<Vec<LayerOut>> {
    let shown = |key: &str| sides.iter().any(|s| s.key == key);
    let mut layers = Vec::with_capacity(indices.len());
    for &i in indices {
        let l = &net.layers[i];
        let report = layer_mapped(i, &l.name, &snn.energy, &base.energy, &snn.maps, &base.maps);
        let snn_out = match shown("snn") {
            true => Some(format_out(
                snn,
                i,
                &l.name,
                &report.snn_mapping,
                report.snn_latency_us,
            )?),
            false => None,
        };
        let qnn_out = match shown("qnn") {
            true => Some(format_out(
                base,
                i,
                &l.name,
                &report.baseline_mapping,
                report.baseline_latency_us,
            )?),
            false => None,
        };
        layers.push(LayerOut {
            layer: l.name.clone(),
            op: l.kind.op_name().to_string(),
            snn: snn_out,
            qnn: qnn_out,
            report,
        });
    }
    Ok(layers)
}

/// Layer `i` (named `name`) in one format: the report's energy, mapping and latency, and the
/// mapper's evaluation of the mapping at the layer's densities.
fn format_out(
    r: &Results<'_>,
    i: usize,
    name: &str,
    mapping: &Option<LayerMapping>,
    latency: Option<f64>,
) -> anyhow::Result<FormatOut> {
    let view = r.views.get(i).and_then(Option::as_ref);
    let evaluation = match view {
        Some(v) => Some(
            v.layer
                .evaluate(v.densities)
                .with_context(|| format!("evaluating the mapping of layer `{name}`"))?,
        ),
        None => None,
    };
    let d = view.map_or(Densities::default(), |v| v.densities);
    Ok(FormatOut {
        energy_pj: r.energy.per_layer[i],
        latency_us: latency,
        densities: [d.input, d.output],
        batch: view.map_or(1.0, |v| v.batch),
        mapping: mapping.clone(),
        evaluation,
    })
}

/// Writes the asked-for exports of the layers at `indices` in the formats of `sides`. A layer
/// one tool cannot take does not stop the others: every refusal is said, the last as the
/// error.
fn export_all(
    args: &MapArgs,
    net: &Network,
    arch: &str,
    indices: &[usize],
    sides: &[Side],
    [snn, base]: &[Results<'_>; 2],
) -> anyhow::Result<()> {
    let mut refused: Vec<String> = Vec::new();
    for (dir, tool) in [
        (&args.export_timeloop, Tool::Timeloop),
        (&args.export_zigzag, Tool::Zigzag),
    ] {
        let Some(dir) = dir else { continue };
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for &i in indices {
            for s in sides {
                let views = if s.key == "snn" {
                    &snn.views
                } else {
                    &base.views
                };
                let Some(v) = views.get(i).and_then(Option::as_ref) else {
                    continue;
                };
                match export(tool, v, &net.layers[i].name, s.key) {
                    Ok(f) => files.extend(f),
                    Err(e) => refused.push(format!(
                        "{} export of layer `{}` ({}) on `{arch}`: {e}",
                        tool.name(),
                        net.layers[i].name,
                        s.title,
                    )),
                }
            }
        }
        if !files.is_empty() {
            write_files(dir, &files)?;
            // With --json, standard output holds the mappings' JSON alone.
            if let (Tool::Zigzag, false) = (tool, args.json) {
                crate::zigzag_beside::print_beside(dir, &files)?;
            }
        }
    }
    if !refused.is_empty() {
        for r in &refused[..refused.len() - 1] {
            eprintln!("error: {r}");
        }
        bail!("{}", refused[refused.len() - 1]);
    }
    Ok(())
}

fn pick_workload<'p>(p: &'p Pipeline, name: Option<&str>) -> anyhow::Result<&'p WorkloadSlot> {
    let labels = || {
        p.workloads
            .iter()
            .map(|w| w.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        None => p
            .workloads
            .first()
            .ok_or_else(|| anyhow!("the pipeline has no workload")),
        Some(n) => p.workloads.iter().find(|w| w.label == n).ok_or_else(|| {
            anyhow!(
                "the pipeline has no workload `{n}`; its workloads: {}",
                labels()
            )
        }),
    }
}

fn pick_arch<'p>(p: &'p Pipeline, name: Option<&str>) -> anyhow::Result<&'p ArchSlot> {
    let labels = p
        .architectures
        .iter()
        .map(|a| a.label.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    match name {
        None if p.architectures.len() == 1 => Ok(&p.architectures[0]),
        None => bail!("the pipeline has several architectures: choose one with --arch ({labels})"),
        Some(n) => {
            if let Some(a) = p.architectures.iter().find(|a| a.label == n) {
                return Ok(a);
            }
            let by_type: Vec<&ArchSlot> = p
                .architectures
                .iter()
                .filter(|a| a.type_name == n)
                .collect();
            match by_type.as_slice() {
                [one] => Ok(one),
                [] => bail!("the pipeline has no architecture `{n}`; its architectures: {labels}"),
                _ => bail!(
                    "the pipeline has several architectures of type `{n}`: choose one by name ({labels})"
                ),
            }
        }
    }
}

/// The pipeline's first operating point at `t`, or a uniform spike rate `rate` through the
/// same source `[activity] type = "uniform"` is (ρ from the pipeline's twin rule).
fn operating_point(
    p: &Pipeline,
    w: &WorkloadSlot,
    t: u32,
    rate: Option<f64>,
) -> anyhow::Result<OperatingPoint> {
    let points = match rate {
        Some(r) => {
            let uniform = Uniform {
                spike_rates: vec![r],
                sparsity: Vec::new(),
                nonzero: None,
            };
            uniform
                .checked_rates()
                .map_err(|e| anyhow!("--rate {r}: {e}"))?;
            operating_points(&p.settings, &uniform, w, t, &p.base_dir)?
        }
        None => operating_points(&p.settings, p.activity.as_ref(), w, t, &p.base_dir)?,
    };
    points
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the activity gives no operating point"))
}

fn header(out: &MapOut, type_name: &str, screen: &Screen) -> String {
    let mut s = screen.paragraph(&format!(
        "`{}` on `{}` (type {}), T = {}, operating point `{}`: mean spike rate {}, twin non-zero fraction ρ = {}",
        out.workload,
        out.architecture,
        type_name,
        out.timesteps,
        out.operating_point,
        percent(out.spike_rate),
        round_sig(out.nonzero)
    ));
    s.push('\n');
    s
}

fn side<'o>(l: &'o LayerOut, s: &Side) -> Option<&'o FormatOut> {
    if s.key == "snn" {
        l.snn.as_ref()
    } else {
        l.qnn.as_ref()
    }
}

fn us(v: Option<f64>) -> String {
    v.map_or("—".into(), num)
}

/// A count with four significant digits and an SI prefix: `512`, `1.234 k`, `56.78 M`.
fn si(v: f64) -> String {
    let mut v = v;
    for prefix in ["", " k", " M", " G", " T"] {
        if v.abs() < 999.95 || prefix == " T" {
            let s = snnergy::report::sig(v);
            return format!("{s}{prefix}");
        }
        v /= 1000.0;
    }
    unreachable!("the loop returns at its last prefix")
}

/// Every layer, one row per format; the dataflows as numbered notes.
fn print_compact(out: &MapOut, sides: &[Side], type_name: &str) {
    let screen = crate::output::stdout_screen();
    let mut text = header(out, type_name, &screen);
    let mut t = TextTable::new(
        "Each layer, each format at its own best mapping",
        vec![
            Col::text("layer").runs(),
            Col::text("op").runs(),
            Col::text("format"),
            Col::text("dataflow").long(),
            Col::num("energy µJ"),
            Col::num("latency µs"),
            Col::text("bound (units used)"),
        ],
    );
    for l in &out.layers {
        for s in sides {
            let Some(f) = side(l, s) else { continue };
            let ev = f.evaluation.as_ref();
            t.row(vec![
                l.layer.clone(),
                l.op.clone(),
                s.title.to_string(),
                f.mapping
                    .as_ref()
                    .map_or("— (weightless: counted by a fixed rule)", |m| {
                        m.dataflow.as_str()
                    })
                    .to_string(),
                uj(f.energy_pj),
                us(f.latency_us),
                ev.map_or("—".into(), |e| {
                    format!("{} ({:.0} %)", e.bound, 100.0 * e.utilization)
                }),
            ]);
        }
    }
    text.push_str(&t.render(&screen));
    text.push_str(
        &screen.paragraph("One layer in full (loop nest, counts per level): --layer NAME"),
    );
    out!("{text}");
}

/// One layer in full: per format the dataflow, the choices, the loop nest, latency and the
/// counts and energy per level and data space; then the report's energy by level.
fn print_layer(out: &MapOut, sides: &[Side], type_name: &str) {
    let screen = crate::output::stdout_screen();
    let mut text = header(out, type_name, &screen);
    let Some(l) = out.layers.first() else { return };
    for s in sides {
        let Some(f) = side(l, s) else { continue };
        let (Some(m), Some(ev)) = (&f.mapping, &f.evaluation) else {
            continue;
        };
        text.push_str(&screen.paragraph(&format!("{} — {}: {}", l.layer, s.title, m.dataflow)));
        text.push_str(&screen.paragraph(&format!(
            "mapped on {} for densities {} in / {} out ({} mapping{} evaluated); evaluated at {} in / {} out",
            m.hardware,
            round_sig(m.mapped_for[0]),
            round_sig(m.mapped_for[1]),
            m.evaluated,
            if m.evaluated == 1 { "" } else { "s" },
            round_sig(f.densities[0]),
            round_sig(f.densities[1])
        )));
        for part in m.summary.split("; ") {
            text.push_str(&screen.hanging(part, "  - ", "    "));
        }
        text.push_str("\nLoop nest (outermost first):\n");
        for line in m.loop_nest.lines().skip(1) {
            text.push_str(&screen.hanging(line, "  ", "      "));
        }
        text.push('\n');
        text.push_str(&screen.paragraph(&format!(
            "Energy {} µJ per inference; latency {} µs ({:.4e} cycles, bound by {}), {:.0} % of the units used",
            uj(f.energy_pj),
            us(f.latency_us),
            ev.cycles,
            ev.bound,
            100.0 * ev.utilization
        )));
        text.push('\n');
        text.push_str(&counts_table(f, ev).render(&screen));
    }
    let r = &l.report;
    let snn_pj = l.snn.as_ref().map_or(0.0, |f| f.energy_pj);
    let qnn_pj = l.qnn.as_ref().map_or(0.0, |f| f.energy_pj);
    if snn_pj > 0.0 && qnn_pj > 0.0 {
        let mut t = TextTable::new(
            format!(
                "Energy of `{}` by level, as the report gives it (with leakage and compute)",
                l.layer
            ),
            vec![
                Col::text("level"),
                Col::num("SNN µJ"),
                Col::num("share"),
                Col::num("QNN µJ"),
                Col::num("share"),
            ],
        );
        for level in level_names(&r.snn_by_level, &r.baseline_by_level) {
            let find =
                |by: &[LevelEnergy]| by.iter().find(|e| e.level == level).map_or(0.0, |e| e.pj);
            let (a, b) = (find(&r.snn_by_level), find(&r.baseline_by_level));
            t.row(vec![
                level,
                uj(a),
                share(a, snn_pj),
                uj(b),
                share(b, qnn_pj),
            ]);
        }
        text.push_str(&t.render(&screen));
    }
    while text.ends_with("\n\n") {
        text.pop();
    }
    out!("{text}");
}

/// The counts (elements and accesses) and energy per level and data space of one format's
/// mapping of a layer.
fn counts_table(f: &FormatOut, ev: &Evaluation) -> TextTable {
    let per = if f.batch == 1.0 {
        String::new()
    } else {
        format!(", per batch of {}", f.batch)
    };
    let mut t = TextTable::new(
        format!("Counts (elements) and energy per level and data space{per}"),
        vec![
            Col::text("level").runs(),
            Col::text("data space"),
            Col::num("reads"),
            Col::num("fills"),
            Col::num("updates"),
            Col::num("read accesses"),
            Col::num("write accesses"),
            Col::num("energy µJ"),
        ],
    );
    for lv in &ev.levels {
        for sp in &lv.spaces {
            t.row(vec![
                lv.level.clone(),
                sp.data_space.to_string(),
                si(sp.reads),
                si(sp.fills),
                si(sp.updates),
                si(sp.read_accesses),
                si(sp.write_accesses),
                uj(sp.energy_pj + sp.metadata_pj),
            ]);
        }
        if lv.network_pj > 0.0 {
            t.row(vec![
                lv.level.clone(),
                "network below".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                uj(lv.network_pj),
            ]);
        }
    }
    t
}

#[derive(Clone, Copy, Debug)]
enum Tool {
    Timeloop,
    Zigzag,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Timeloop => "Timeloop",
            Tool::Zigzag => "ZigZag",
        }
    }
}

/// Our side of a ZigZag comparison, beside its YAML documents.
#[derive(Serialize)]
struct ZigzagOurs<'a> {
    layer: &'a str,
    hardware: &'a str,
    densities: [f64; 2],
    temporal_mapping: &'a std::collections::BTreeMap<String, Vec<Vec<(String, u64)>>>,
    memories: &'a std::collections::BTreeMap<String, Vec<String>>,
    ours: &'a snnergy::mapper::ZigzagCounts,
    changes: &'a [String],
}

/// The file name stem of a layer's export in one format: the layer's name with anything but
/// letters, digits, `.`, `-` and `_` replaced.
fn stem(layer: &str, format: &str) -> String {
    let clean: String = layer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}-{format}")
}

/// The documents of one layer's export in one format, as (file name, bytes).
fn export(
    tool: Tool,
    v: &LayerOnChip<'_>,
    layer: &str,
    format: &str,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let s = stem(layer, format);
    Ok(match tool {
        Tool::Timeloop => {
            let e = to_timeloop_at(v.layer, v.densities)?;
            vec![
                (
                    format!("{s}.architecture.yaml"),
                    e.architecture.into_bytes(),
                ),
                (format!("{s}.problem.yaml"), e.problem.into_bytes()),
                (format!("{s}.mapping.yaml"), e.mapping.into_bytes()),
                (format!("{s}.ert.yaml"), e.ert.into_bytes()),
                (format!("{s}.counts.csv"), e.counts_csv.into_bytes()),
            ]
        }
        Tool::Zigzag => {
            let e = to_zigzag_at(v.layer, v.densities)?;
            let ours = ZigzagOurs {
                layer: &e.layer,
                hardware: &e.hardware,
                densities: [v.densities.input, v.densities.output],
                temporal_mapping: &e.temporal_mapping,
                memories: &e.memories,
                ours: &e.ours,
                changes: &e.changes,
            };
            // Said as the files are made, so that ZigZag's result is read knowing them.
            for c in &e.changes {
                eprintln!("note: ZigZag export of layer `{layer}` ({format}): {c}");
            }
            let json = serde_json::to_string_pretty(&ours)?;
            vec![
                (format!("{s}.accelerator.yaml"), e.accelerator.into_bytes()),
                (
                    format!("{s}.accelerator-words.yaml"),
                    e.accelerator_words.into_bytes(),
                ),
                (format!("{s}.workload.yaml"), e.workload.into_bytes()),
                (format!("{s}.mapping.yaml"), e.mapping.into_bytes()),
                (format!("{s}.counts.json"), json.into_bytes()),
            ]
        }
    })
}

/// Writes an export's files into `dir` through the output layer: only files snnergy wrote
/// there before are replaced, and the others in the folder are kept.
fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    snnergy::files::check_output_dir(dir, &names)?;
    let mut out = snnergy::files::OutputDir::create(dir)?;
    for (name, bytes) in files {
        out.write(name, bytes)?;
    }
    let written = out.commit()?;
    eprintln!(
        "{} file{} written to {}",
        written.len(),
        if written.len() == 1 { "" } else { "s" },
        dir.display()
    );
    Ok(())
}
