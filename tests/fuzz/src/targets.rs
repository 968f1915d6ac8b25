//! The targets: every reader of a file or message a user or a plugin controls.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use snnergy::core::{
    ActionKind, Actions, Architecture, EnergyModel, LayerActivity, Network, NetworkBuilder,
    Registry, Shape, Workload,
};

use crate::{Outcome, Target, repo};

/// Every target, in the order the driver runs them.
pub static ALL: &[Target] = &[
    Target {
        name: "pipeline",
        ext: "toml",
        max_len: 16 * 1024,
        dict: &[
            "[analysis]",
            "[workload]",
            "[[workload]]",
            "[activity]",
            "[energy]",
            "[[architecture]]",
            "[analysis.sensitivity]",
            "[analysis.budget]",
            "timesteps",
            "\"1..16\"",
            "sweep_points",
            "spike_rates",
            "sparsity",
            "nonzero",
            "type",
            "input",
            "layers",
            "padding",
            "kernel",
            "stride",
            "out",
            "op",
            "\"conv\"",
            "\"linear\"",
            "\"add\"",
            "\"avgpool\"",
            "\"custom\"",
            "\"vgg16\"",
            "\"resnet18\"",
            "\"classical\"",
            "\"spatial\"",
            "\"neuromorphic\"",
            "\"paper-v1\"",
            "\"table\"",
            "\"uniform\"",
            "\"profile\"",
            "weight_bits",
            "membrane_bits",
            "mesh",
            "neurons_per_core",
            "weight_buffer_kib",
            "title",
            "<script>",
            "|",
        ],
        seeds: pipeline_seeds,
        run: pipeline,
    },
    Target {
        name: "profile-csv",
        ext: "csv",
        max_len: 8 * 1024,
        dict: &[
            "layer,spike_rate,nonzero",
            "neurons",
            "spikes",
            "timesteps",
            "features.0",
            "input",
            "classifier.6",
        ],
        seeds: profile_csv_seeds,
        run: profile,
    },
    Target {
        name: "profile-json",
        ext: "json",
        max_len: 8 * 1024,
        dict: &[
            "\"layers\"",
            "\"name\"",
            "\"spike_rate\"",
            "\"nonzero\"",
            "\"timesteps\"",
            "\"features.0\"",
            "\"input\"",
            "\"extra\"",
        ],
        seeds: profile_json_seeds,
        run: profile,
    },
    Target {
        name: "safetensors",
        ext: "safetensors",
        max_len: 64 * 1024,
        dict: &[
            "\"dtype\"",
            "\"F32\"",
            "\"F16\"",
            "\"BF16\"",
            "\"I64\"",
            "\"shape\"",
            "\"data_offsets\"",
            "\"__metadata__\"",
            "features.0.weight",
            "num_batches_tracked",
        ],
        seeds: safetensors_seeds,
        run: safetensors,
    },
    Target {
        name: "nir",
        ext: "nir",
        max_len: 96 * 1024,
        dict: &[
            "NIRGraph",
            "Conv2d",
            "Conv1d",
            "Affine",
            "Linear",
            "IF",
            "LIF",
            "CubaLIF",
            "LI",
            "SumPool2d",
            "AvgPool2d",
            "Flatten",
            "Scale",
            "Delay",
            "Input",
            "Output",
            "v_threshold",
            "v_reset",
            "v_leak",
            "tau_mem",
            "tau_syn",
            "w_in",
            "kernel_size",
            "stride",
            "padding",
            "groups",
            "edges",
            "metadata",
            "subtract",
            "\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{7f}",
            "\0\0\0\0\0\0\0\0",
        ],
        seeds: nir_seeds,
        run: nir,
    },
    Target {
        name: "checkpoint",
        ext: "safetensors",
        max_len: 64 * 1024,
        dict: &[
            "snnergy.epoch",
            "snnergy.optimizer_steps",
            "snnergy.optimizer",
            "snnergy.timesteps",
            "snnergy.shift",
            "\"sgd\"",
            "\"adamw\"",
            "optimizer.",
            "exp_avg",
            "momentum_buffer",
        ],
        seeds: checkpoint_seeds,
        run: checkpoint,
    },
    Target {
        name: "idx",
        ext: "idx",
        max_len: 64 * 1024,
        dict: &[
            "\u{0}\u{0}\u{8}\u{3}",
            "\u{0}\u{0}\u{8}\u{1}",
            "\u{1f}\u{8b}",
        ],
        seeds: idx_seeds,
        run: idx,
    },
    Target {
        name: "cifar",
        ext: "bin",
        max_len: 16 * 1024,
        dict: &["\u{9}", "\u{a}", "\u{ff}", "\u{1f}\u{8b}"],
        seeds: cifar_seeds,
        run: cifar,
    },
    Target {
        name: "wire",
        ext: "json",
        max_len: 8 * 1024,
        dict: &[
            "\"schema\"",
            "\"kinds\"",
            "\"layers\"",
            "\"action\"",
            "\"memory\"",
            "\"compute\"",
            "\"transfer\"",
            "\"weights\"",
            "\"pj\"",
            "\"source\"",
            "\"derivation\"",
            "\"message\"",
            "\"key\"",
            "\"dram\"",
            "\"read\"",
        ],
        seeds: wire_seeds,
        run: wire,
    },
];

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| snnergy::registry().expect("the built-in registry builds"))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn read_dir_files(dir: &Path, ext: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == ext));
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

// ---- pipelines ----------------------------------------------------------------------

fn pipeline_seeds(_: &Path) -> Vec<Vec<u8>> {
    read_dir_files(&repo().join("pipelines"), "toml")
}

/// Builds the pipeline and, when it is cheap and loads nothing, runs it and renders the
/// report. Plugins are never loaded: a mutated path could name any library.
fn pipeline(input: &[u8], _: &Path) -> Outcome {
    let text = String::from_utf8_lossy(input);
    if let Ok(doc) = text.parse::<toml::Table>()
        && doc.contains_key("plugins")
    {
        return Ok(());
    }
    let mut p = snnergy::analysis::Pipeline::from_toml(&text, None, registry()).map_err(err)?;
    if text.contains("engine") || text.contains("[train") {
        return Ok(());
    }
    p.settings.budget.evaluations = 5e4;
    p.settings.budget.output_mib = 16.0;
    p.settings.budget.memory_mib = 256.0;
    let report = p.run().map_err(err)?;
    for (_, text) in snnergy::report::report_files(&report, &[]) {
        std::hint::black_box(text);
    }
    if report.comparisons.len() < 16 {
        std::hint::black_box(snnergy::report::figures(&report).map_err(err)?);
    }
    Ok(())
}

// ---- profiles -----------------------------------------------------------------------

fn vgg16() -> &'static Network {
    static N: OnceLock<Network> = OnceLock::new();
    N.get_or_init(|| {
        let mut t = toml::Table::new();
        t.insert("input".into(), "cifar10".into());
        let w: Box<dyn Workload> = registry().build("vgg16", t).expect("vgg16 builds");
        w.network().expect("vgg16 is valid")
    })
}

fn profile_csv_seeds(_: &Path) -> Vec<Vec<u8>> {
    read_dir_files(&repo().join("pipelines/profiles"), "csv")
}

fn profile_json_seeds(_: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    if let Ok(csv) = snnergy::analysis::ProfileFile::read(
        &repo().join("pipelines/profiles/vgg16-cifar10-example.csv"),
    ) {
        seeds.push(serde_json::to_vec_pretty(&csv).unwrap_or_default());
    }
    seeds
}

fn profile(_: &[u8], file: &Path) -> Outcome {
    let p = snnergy::analysis::ProfileFile::read(file).map_err(err)?;
    p.to_point(vgg16(), file, None).map_err(err)?;
    p.to_point(vgg16(), file, Some(0.5)).map_err(err)?;
    Ok(())
}

// ---- weights and checkpoints --------------------------------------------------------

/// A small network with the layer kinds weights are read for: convolution with BatchNorm,
/// pooling, a linear readout with bias.
fn small() -> Network {
    let mut b = NetworkBuilder::new("fuzz-small", Shape::new(1, 8, 8));
    let ok = (|| {
        b.conv(
            "features.0",
            4,
            3,
            1,
            1,
            false,
            Some("features.1".into()),
            true,
        )?;
        b.pool("features.3", false, 2, 2, 0)?;
        b.linear("classifier", 10, true, false);
        b.finish()
    })();
    ok.expect("the small network is valid")
}

fn safetensors_seeds(scratch: &Path) -> Vec<Vec<u8>> {
    let path = scratch.join("seed.safetensors");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(scratch.join(snnergy::files::MANIFEST));
    let mut seeds = Vec::new();
    if let Ok(m) = snnergy::engine::Model::random(small(), 7)
        && m.save(&path).is_ok()
        && let Ok(b) = std::fs::read(&path)
    {
        seeds.push(b);
    }
    seeds
}

fn safetensors(_: &[u8], file: &Path) -> Outcome {
    let m = snnergy::engine::Model::load(small(), file).map_err(err)?;
    m.compile().map_err(err)?;
    Ok(())
}

fn train_config() -> snnergy::engine::train::TrainConfig {
    let mut t = toml::Table::new();
    t.insert("optimizer".into(), "adamw".into());
    t.insert("batch".into(), 4.into());
    t.insert("epochs".into(), 2.into());
    snnergy::engine::train::TrainConfig::from_table(&t).expect("the training table is valid")
}

fn checkpoint_seeds(scratch: &Path) -> Vec<Vec<u8>> {
    use snnergy::engine::train::{Trainer, checkpoint};
    let path = scratch.join("seed-checkpoint.safetensors");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(scratch.join(snnergy::files::MANIFEST));
    let mut seeds = Vec::new();
    if let Ok(m) = snnergy::engine::Model::random(small(), 3)
        && let Ok(t) = Trainer::new(&m, &train_config(), 6, Vec::new())
        && checkpoint::save(&path, &t, false).is_ok()
        && let Ok(b) = std::fs::read(&path)
    {
        seeds.push(b);
    }
    seeds
}

fn checkpoint(_: &[u8], file: &Path) -> Outcome {
    snnergy::engine::train::checkpoint::resume(file, small(), &train_config(), 6, Vec::new())
        .map_err(err)?;
    Ok(())
}

// ---- data sets ----------------------------------------------------------------------

fn idx_seeds(_: &Path) -> Vec<Vec<u8>> {
    let fixture = repo().join("plugins/engine/tests/fixtures/fashion-mnist");
    let mut seeds = Vec::new();
    // A raw file of a few images, and the gzipped labels as shipped.
    let mut raw = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4];
    raw.extend((0..48u8).map(|i| i.wrapping_mul(37)));
    seeds.push(raw);
    seeds.push(vec![0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 9]);
    if let Ok(b) = std::fs::read(fixture.join("t10k-labels-idx1-ubyte.gz")) {
        seeds.push(b);
    }
    seeds
}

fn idx(_: &[u8], file: &Path) -> Outcome {
    let whole = snnergy::engine::data::read_idx(file).map_err(err);
    let some = snnergy::engine::data::read_idx_limited(file, Some(2)).map_err(err);
    std::hint::black_box(&some);
    whole.map(|_| ())
}

fn cifar_seeds(_: &Path) -> Vec<Vec<u8>> {
    let mut rec = Vec::new();
    for label in [3u8, 9] {
        rec.push(label);
        rec.extend((0..3072u32).map(|i| (i % 251) as u8));
    }
    vec![rec]
}

fn cifar(_: &[u8], file: &Path) -> Outcome {
    let d = snnergy::engine::Dataset::cifar10_files(&[file.to_path_buf()]).map_err(err)?;
    std::hint::black_box(d.batch(0..d.len().min(2)));
    let d = snnergy::engine::Dataset::cifar10_files_limited(&[file.to_path_buf()], Some(1))
        .map_err(err)?;
    std::hint::black_box(d.len());
    Ok(())
}

// ---- NIR graphs ---------------------------------------------------------------------

/// A small network with every neuron NIR has, written as snnergy exports it, and the same
/// graph once more as an imported network is written back (in the graph's own spelling).
fn nir_seeds(_: &Path) -> Vec<Vec<u8>> {
    let text = r#"
        network = "fuzz"
        input = [2, 8, 8]
        layers = [
          { op = "conv", name = "c1", out = 4, padding = 1, bias = true, neuron = { model = "lif", leak = 0.9, threshold = 1.0, reset = "zero", name = "lif1" } },
          { op = "sumpool", name = "pool", kernel = 2 },
          { op = "conv", name = "c2", out = 4, padding = 1, neuron = false },
          { op = "add", name = "res", inputs = ["pool", "c2"], neuron = { model = "cuba-lif", leak = 0.9, synaptic_leak = 0.8, threshold = 0.75, name = "cuba" } },
          { op = "linear", name = "fc1", out = 8, bias = true, neuron = { model = "if", threshold = 1.5, reset = "subtract" } },
          { op = "linear", name = "fc2", out = 3, neuron = { model = "li", leak = 0.95 } },
        ]
    "#;
    let Ok(custom) = toml::from_str::<snnergy::models::Custom>(text) else {
        return Vec::new();
    };
    let Ok(net) = snnergy::core::Workload::network(&custom) else {
        return Vec::new();
    };
    let Ok(model) = snnergy::engine::Model::random(net, 7) else {
        return Vec::new();
    };
    let mut seeds = Vec::new();
    if let Ok(g) = snnergy_nir::canonical(&model, &snnergy_nir::ExportOptions::default()) {
        seeds.extend(snnergy_nir::graph::to_bytes(&g));
        if let Ok(imported) = snnergy_nir::import(&g, &snnergy_nir::ImportOptions::default())
            && let Ok(e) =
                snnergy_nir::export(&model, &Default::default(), Some(&imported.spelling))
        {
            seeds.extend(snnergy_nir::graph::to_bytes(&e.graph));
        }
    }
    seeds
}

/// Reads the file, imports it, builds the engine's model and writes the network back.
fn nir(_: &[u8], file: &Path) -> Outcome {
    let g = snnergy_nir::graph::read(file).map_err(err)?;
    let imported = snnergy_nir::import(&g, &snnergy_nir::ImportOptions::default()).map_err(err)?;
    let net = imported.workload.network().map_err(err)?;
    let model =
        snnergy::engine::Model::from_tensors(net, imported.tensors.clone(), file).map_err(err)?;
    let out =
        snnergy_nir::export(&model, &Default::default(), Some(&imported.spelling)).map_err(err)?;
    std::hint::black_box(snnergy_nir::graph::to_bytes(&out.graph).map_err(err)?);
    Ok(())
}

// ---- the plugin wire ----------------------------------------------------------------

use snnergy::plugin_host::abi::{
    Buf, PluginV1, STATUS_ERROR, STATUS_NEED_NETWORK, STATUS_OK, Status, StrRef,
};

/// The answer the shims give instead of the plugin: status and bytes.
static ANSWER: Mutex<Option<(Status, Vec<u8>)>> = Mutex::new(None);
/// A plugin table shared between threads: its pointers are to functions and static strings.
struct Shared(PluginV1);
// SAFETY: the table is never mutated after it is set, and everything it points to is static.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

static ORIGINAL: OnceLock<Shared> = OnceLock::new();
static TABLE: OnceLock<Shared> = OnceLock::new();

fn take_answer() -> Option<(Status, Vec<u8>)> {
    ANSWER.lock().unwrap_or_else(|e| e.into_inner()).take()
}

unsafe extern "C" fn answer_or(
    f: unsafe extern "C" fn(*mut std::ffi::c_void, StrRef, *mut Buf) -> Status,
    handle: *mut std::ffi::c_void,
    request: StrRef,
    out: *mut Buf,
) -> Status {
    match take_answer() {
        // SAFETY: `out` is the host's buffer slot for this call.
        Some((status, bytes)) => unsafe {
            snnergy_plugin_sdk::__private::write_buf(out, bytes);
            status
        },
        // SAFETY: forwarding the host's arguments to the function they were meant for.
        None => unsafe { f(handle, request, out) },
    }
}

unsafe extern "C" fn check_shim(h: *mut std::ffi::c_void, r: StrRef, out: *mut Buf) -> Status {
    // SAFETY: as `answer_or`.
    unsafe { answer_or(ORIGINAL.get().expect("set").0.check, h, r, out) }
}

unsafe extern "C" fn evaluate_shim(h: *mut std::ffi::c_void, r: StrRef, out: *mut Buf) -> Status {
    // SAFETY: as `answer_or`.
    unsafe { answer_or(ORIGINAL.get().expect("set").0.evaluate, h, r, out) }
}

unsafe extern "C" fn price_shim(h: *mut std::ffi::c_void, r: StrRef, out: *mut Buf) -> Status {
    // SAFETY: as `answer_or`.
    unsafe { answer_or(ORIGINAL.get().expect("set").0.price, h, r, out) }
}

struct Wire {
    arch: Box<dyn Architecture>,
    energy: Box<dyn EnergyModel>,
}

/// The systolic-array example linked in through the plugin ABI, with the answers of `check`,
/// `evaluate` and `price` replaced by the fuzz input.
fn wire_components() -> &'static Wire {
    static W: OnceLock<Wire> = OnceLock::new();
    W.get_or_init(|| {
        let sdk = snnergy_plugin_sdk::linked_table(
            "snnergy-fuzz",
            "0",
            snnergy_example_systolic::SNNERGY_COMPONENTS,
        );
        // SAFETY: the SDK's table is valid for the process.
        let original = unsafe { *sdk };
        let _ = ORIGINAL.set(Shared(original));
        let table = &TABLE
            .get_or_init(|| {
                Shared(PluginV1 {
                    check: check_shim,
                    evaluate: evaluate_shim,
                    price: price_shim,
                    ..original
                })
            })
            .0;
        // SAFETY: the table is the SDK's with three functions that keep its contract.
        let lib =
            unsafe { snnergy::plugin_host::open_linked(Path::new("<fuzzed plugin wire>"), table) }
                .expect("the linked plugin opens");
        let mut r = registry().clone();
        use snnergy::plugin_host::PluginRegistry as _;
        r.register_library(&lib)
            .expect("the linked plugin registers");
        Wire {
            arch: r
                .build("systolic-array", toml::Table::new())
                .expect("the architecture builds"),
            energy: r
                .build("eyeriss-relative", toml::Table::new())
                .expect("the energy model builds"),
        }
    })
}

fn wire_seeds(_: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (call, status, body) in [
        (
            "e",
            0,
            r#"{"schema":1,"kinds":[{"action":"memory","level":"dram","access":"read","bits":8,"capacity_bytes":0}],"layers":[[[0,"weights",1728.0]]]}"#,
        ),
        ("c", 0, r#"{"schema":1}"#),
        (
            "p",
            0,
            r#"{"schema":1,"pj":1.5,"source":0,"derivation":"given"}"#,
        ),
        ("e", 1, r#"{"schema":1,"message":"no","key":"a.b"}"#),
        ("e", 3, r#"{"schema":1}"#),
    ] {
        let mut s = format!("{call}{status}").into_bytes();
        s.extend_from_slice(body.as_bytes());
        seeds.push(s);
    }
    seeds
}

/// Input: the call (`e`valuate, `c`heck, `p`rice), the status digit, then the answer.
fn wire(input: &[u8], _: &Path) -> Outcome {
    let w = wire_components();
    if input.len() < 2 {
        return Ok(());
    }
    let status = match input[1] {
        b'0' => STATUS_OK,
        b'1' => STATUS_ERROR,
        b'3' => STATUS_NEED_NETWORK,
        b => b as Status,
    };
    *ANSWER.lock().unwrap_or_else(|e| e.into_inner()) = Some((status, input[2..].to_vec()));
    let net = vgg16();
    let settings = snnergy::core::AnalysisSettings::default();
    let format = settings.snn_format(6);
    let result = match input[0] {
        b'c' => w.arch.check(net, &format).map_err(err),
        b'p' => w
            .energy
            .price(&ActionKind::compute(snnergy::core::ComputeOp::Add, 8))
            .map(|_| ())
            .map_err(err),
        _ => {
            let mut out = Actions::default();
            let activity = LayerActivity {
                input_rate: 0.1,
                input_nonzero: 0.5,
                output_rate: 0.1,
                output_nonzero: 0.5,
                analog_input: false,
                source_rate: 0.1,
                source_nonzero: 0.5,
            };
            w.arch
                .evaluate(net, 0, &format, &activity, &mut out)
                .map_err(err)
        }
    };
    // An answer not asked for (a call the host made without reaching the plugin) is dropped.
    take_answer();
    result
}
