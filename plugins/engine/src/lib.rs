//! snnergy-engine: runs spiking networks and their quantized twins on real data, so the
//! spike rates an energy analysis uses are measured rather than assumed.
//!
//! - [`model`]: a core [`Network`](snnergy_core::Network) with parameters, loaded from and
//!   saved to safetensors under PyTorch's module names, compiled with BatchNorm folded.
//! - [`sim`]: the QNN twin (Q_T after every neuron layer) and the converted SNN stepped in
//!   time (IF or LIF, reset by subtraction or to zero, direct or rate input coding, readout by
//!   membrane or spike count), with per-layer spike counts and the deviation from the twin.
//! - [`ops`]: im2col + GEMM kernels and event-driven kernels that only touch active inputs.
//! - [`inputs`]: what reaches each weighted layer after pooling and reshaping, counted per
//!   step, over the T steps and per synapse, for the SNN and its twin.
//! - [`run`]: data sets in batches, chunks of each batch in parallel (rayon), the
//!   [`Measurement`](run::Measurement) that becomes an activity profile.
//! - [`data`]: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary readers.
//! - [`budget`]: the memory and work of a run, estimated before anything is allocated.
//! - [`activity`]: `[activity] type = "engine"` for pipelines.
//! - [`train`]: QNN training for conversion (Q_T with a straight-through gradient, BatchNorm,
//!   SGD/Adam, schedules, augmentation, regularizers), checkpoints, `[train]` for pipelines.
//!
//! Tensors are f32 in NCHW order. GEMMs use the `gemm` crate ([`matmul`]), single-threaded;
//! parallelism is over chunks of the batch only, never nested.
//!
//! # Speed
//!
//! The SNN runs layer by layer, each layer over all T steps of a few images at once (a
//! layer's spikes at step t depend only on its inputs up to step t, so every neuron computes
//! exactly what a step-by-step run computes): one kernel call per layer instead of T, and each
//! membrane stays in a register through its T steps. Dense layers run im2col (one shifted
//! copy per plane for stride-1 "same" convolutions) + one GEMM per sub-batch (the `gemm`
//! crate with its AVX-512 kernels, single-threaded); layers whose input is sparse run
//! event-driven kernels that touch only the active inputs: the convolution lists each
//! pixel's active channels once per image (from 32-channel bit masks), then every output sums
//! the weight rows of the events under its window in registers, each kernel row's events one
//! contiguous run, and no memory is written per event. Both are built for
//! AVX2/AVX-512 when the CPU has them. `auto` picks per layer and step by measured input
//! density. Under direct coding the first layer's current is computed once, as the image
//! does not change between steps. Chunks of each batch run in parallel on rayon's pool;
//! buffers are reused per thread across chunks.
//! What reaches each weighted layer is counted on the way ([`inputs`]): from the neurons'
//! spike counts where a layer reads spikes straight from neurons (one pass, not T), step by
//! step where pooling or an add comes between, in whole input planes at a time; on the bench
//! network it cost 2–3 % of an event-driven or dense run (alternating runs against the engine
//! without it, 1536 images, T = 6).
//! `cargo run --release -p snnergy-engine --example bench` measures one configuration;
//! `plugins/engine/tools/bench.py` runs it next to the same SNN in PyTorch.
//!
//! # What is exact and what is not
//!
//! - An IF neuron with reset by subtraction driven by a constant current z for T steps fires
//!   ⌊clamp(T·z/θ, 0, T)⌋ times; the QNN twin quantizes with the same θ, so a converted
//!   one-layer network fires exactly T × its twin's outputs. In f32 this holds bit for bit when
//!   the sums are exact (weights on a fixed-point grid, [`Compiled::round_to_grid`]); with
//!   full-precision weights a neuron whose T·z/θ lies within rounding of an integer may differ
//!   by one spike (tested: fewer than 1 in 10⁵ neurons on real images).
//! - With a quantizer shift φ (`shift`; 0.5 is the QCFS quantizer of Bu et al., ICLR 2022) the
//!   membranes start at φ·θ and the twin quantizes ⌊T·z/θ + φ⌋: the same exactness holds for
//!   the first layer, and the spikes of each neuron are centred in the time window instead of
//!   arriving late, which keeps deeper layers close to the twin at small T. The network must
//!   have been trained with the same φ ([`train`]).
//! - Deeper layers of the time-stepped SNN deviate from the twin (spikes arrive over time, not
//!   as a rate); the deviation is measured per layer and reported, never hidden.
//! - The dense and event-driven kernels sum the same terms in a different order: on a weight
//!   grid they give bit-identical membranes and spikes (tested); with full-precision weights
//!   they may differ where a membrane lands within rounding of θ.
//! - The GEMM crate chooses its kernel and blocking from the CPU, so runs with full-precision
//!   weights, and training, can differ in the last bits from one CPU model to another (a few
//!   spikes in millions on the shipped network); [`matmul::set_portable`] or
//!   `SNNERGY_PORTABLE_MATH=1` gives the same bits on every CPU at a few times the cost of the
//!   dense products.

#![warn(missing_docs)]

pub mod activity;
pub mod budget;
pub mod data;
mod dispatch;
pub mod error;
pub mod inputs;
pub mod matmul;
pub mod model;
pub mod ops;
pub mod rng;
pub mod run;
pub mod sim;
pub mod train;

pub use activity::{EngineActivity, EngineActivityConfig, EngineSettings};
pub use data::{Dataset, Split};
pub use error::EngineError;
pub use model::{Compiled, Model};
pub use run::{Measurement, PROGRESS_TARGET, RunOptions, run_dataset, run_images};
pub use sim::SnnConfig;

use snnergy_core::{Registry, RegistryError};

/// The engine's components: adding one is one line here.
fn register(r: &mut Registry) -> Result<(), RegistryError> {
    r.add::<EngineActivity>()
}

snnergy_core::register_builtins!(register);

/// An item of this crate that a binary can name so the linker keeps its registration.
pub fn link() {}
