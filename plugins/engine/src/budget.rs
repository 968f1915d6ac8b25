//! What a run of the engine will hold in memory and how much it will compute, estimated from
//! the network, the data files' headers and the settings before anything is allocated or
//! decompressed, and held against the run's budget (`[analysis.budget]`, `--budget`): a
//! convolution of 10^5 channels or a data file announcing millions of images is refused in
//! milliseconds with the estimate, not ended by the allocator.
//!
//! The figures are upper bounds of what the code allocates: the parameters in the three
//! copies the engine keeps (as loaded, folded, transposed for the event-driven kernels) and
//! one being built; per image of a batch the twin's outputs and the spike counts of every
//! layer; per thread one layer's values over all T steps and its im2col matrix; the pixels
//! of every kept image.

use snnergy_core::settings::Budget;
use snnergy_core::{LayerKind, Network};

use crate::error::{EngineError, Result};

const MIB: f64 = 1024.0 * 1024.0;

/// Bytes per parameter: f32 as loaded, folded, transposed, and a copy while compiling.
const BYTES_PER_PARAMETER: f64 = 16.0;

/// What a network costs the engine.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Footprint {
    /// Parameters (weights, biases, BatchNorm), all layers.
    pub parameters: f64,
    /// Bytes held per image of a batch: the twin's output and the spike count of every layer,
    /// and the image as f32.
    pub per_image: f64,
    /// Bytes one thread holds for the widest layer over `timesteps` steps, per step: its
    /// inputs, outputs and membranes, and its im2col matrix.
    pub per_step: f64,
    /// Weight × input products per image and time step (N·F of every weighted layer).
    pub synaptic_ops: f64,
}

/// The engine's footprint for `network`, in f64 so that no size wraps.
pub fn footprint(network: &Network) -> Footprint {
    let mut f = Footprint::default();
    let mut widest: f64 = 0.0;
    for l in &network.layers {
        let out = l.output.numel() as f64;
        let inp = l.input_size() as f64;
        f.parameters += l.parameters() as f64;
        f.per_image += 8.0 * out;
        let im2col = match &l.kind {
            LayerKind::Conv2d { .. } => l.fan_in() as f64 * (l.output.h as f64 * l.output.w as f64),
            _ => 0.0,
        };
        widest = widest.max(12.0 * (inp + out) + 4.0 * im2col);
        if l.is_weighted() {
            f.synaptic_ops += l.dense_synapses() as f64;
        }
    }
    f.per_image += 4.0 * network.input.numel() as f64;
    f.per_step = widest;
    f
}

fn over(what: &str, need: f64, have: f64, key: &str, hint: &str) -> EngineError {
    EngineError::Invalid(format!(
        "this run would need about {} {what}, over its budget of {}; {hint}, or raise `{key}` in [analysis.budget] (or `--budget {key}=…`)",
        human(need, key),
        human(have, key),
    ))
}

fn human(v: f64, key: &str) -> String {
    if key == "memory_mib" {
        if v >= 1024.0 * MIB {
            format!("{:.1} GiB", v / (1024.0 * MIB))
        } else {
            format!("{:.0} MiB", v / MIB)
        }
    } else {
        format!("{v:.3e}")
    }
}

/// Refuses a network whose parameters alone exceed the memory budget, naming the layer that
/// holds most of them.
pub fn check_model(network: &Network, budget: &Budget) -> Result<()> {
    let f = footprint(network);
    let need = f.parameters * BYTES_PER_PARAMETER;
    if need > budget.memory_mib * MIB {
        let biggest = network
            .layers
            .iter()
            .max_by(|a, b| a.parameters().cmp(&b.parameters()))
            .map(|l| {
                format!(
                    "layer `{}` has {:.3e} parameters",
                    l.name,
                    l.parameters() as f64
                )
            })
            .unwrap_or_default();
        return Err(over(
            &format!(
                "of memory for the {:.3e} parameters of network `{}` ({biggest})",
                f.parameters, network.name
            ),
            need,
            budget.memory_mib * MIB,
            "memory_mib",
            "make the network smaller",
        ));
    }
    Ok(())
}

/// What a run will simulate: `images` kept images of `image_bytes` pixels each, in batches of
/// `batch`, at `timesteps` steps.
#[derive(Clone, Copy, Debug)]
pub struct RunSize {
    /// Images kept in memory and simulated.
    pub images: f64,
    /// Pixel bytes of one image as stored (one byte per value).
    pub image_bytes: f64,
    /// Images per batch.
    pub batch: f64,
    /// Time steps.
    pub timesteps: f64,
}

/// The memory (bytes) and work (synaptic operations) of a run.
pub fn estimate(network: &Network, size: &RunSize) -> (f64, f64) {
    let f = footprint(network);
    let threads = rayon::current_num_threads().max(1) as f64;
    let memory = f.parameters * BYTES_PER_PARAMETER
        + size.images * (size.image_bytes + 1.0)
        + size.batch.min(size.images.max(1.0)) * f.per_image
        + threads * size.timesteps * f.per_step;
    // The SNN at every step and the twin once.
    let work = size.images * (size.timesteps + 1.0) * f.synaptic_ops;
    (memory, work)
}

/// Refuses a run over `budget`, before its data is read.
pub fn check_run(network: &Network, size: &RunSize, budget: &Budget) -> Result<()> {
    check_model(network, budget)?;
    let (memory, work) = estimate(network, size);
    if memory > budget.memory_mib * MIB {
        return Err(over(
            &format!(
                "of memory ({:.0} images of network `{}` at T = {}, batches of {})",
                size.images, network.name, size.timesteps, size.batch
            ),
            memory,
            budget.memory_mib * MIB,
            "memory_mib",
            "ask for fewer images (`samples`), a smaller batch or fewer time steps",
        ));
    }
    if work > budget.synaptic_ops {
        return Err(over(
            &format!(
                "synaptic operations ({:.0} images of network `{}` at T = {})",
                size.images, network.name, size.timesteps
            ),
            work,
            budget.synaptic_ops,
            "synaptic_ops",
            "ask for fewer images (`samples`) or fewer time steps",
        ));
    }
    Ok(())
}
