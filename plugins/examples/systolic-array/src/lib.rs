//! An example snnergy plugin: a weight-stationary systolic-array accelerator that runs both
//! the SNN and its quantized twin, and a price table normalized the Eyeriss way.
//!
//! # `systolic-array`
//!
//! A `rows × cols` array of processing elements (PEs) between a weight buffer, two activation
//! buffers (ping-pong: one layer's output buffer is the next layer's input buffer) and DRAM.
//! A weighted layer is mapped as a matrix product, as SCALE-Sim maps it (Samajdar et al.,
//! "A Systematic Methodology for Characterizing Scalability of DNN Accelerators using
//! SCALE-Sim", ISPASS 2020): M output positions (H_out·W_out; 1 for a linear layer), K = fan-in
//! and N = output channels. The array holds a `rows × cols` tile of the K × N weights (weight
//! stationary); inputs enter at the left edge and hop right through the PEs of their row,
//! partial sums hop down the columns and leave at the bottom. A layer takes
//! F_k = ⌈K / rows⌉ · F_n = ⌈N / cols⌉ tiles; each tile is loaded once per inference and the
//! whole input stream flows through it, so the input stream is read F_n times and partial sums
//! are accumulated over F_k row folds in the output buffer.
//!
//! The SNN runs with its time steps streamed through the stationary tile, as in SATA
//! (Yin et al., "SATA: Sparsity-Aware Training Accelerator for Spiking Neural Networks",
//! IEEE TCAD 2022, arXiv 2204.05422): for each tile, the T binary input vectors of every
//! output position enter one after another, so weights are fetched once per inference, not
//! once per step, at the price of keeping T partial sums per output until the last row fold.
//! Sparsity is used as SATA does: a PE whose input spike is 0 neither adds nor toggles its
//! input register; spikes are stored as address events (⌈log2 size⌉ bits each), so silent
//! inputs are never read; with `skip_empty_rows` a stream row whose spikes within a row fold
//! are all zero is not injected at all, so its partial sums do not move.
//!
//! Per weighted layer, with S = M·K·N synapses, W weights, input rate r, output rate r_out,
//! baseline non-zero fraction ρ:
//!
//! | what | QNN | SNN (T steps) |
//! |---|---|---|
//! | weights | W DRAM reads (unless `weights_on_chip`), W buffer writes, W buffer reads, W PE-register writes | same, once per inference |
//! | inputs | M·K·F_n buffer reads | M·K·T·r·F_n event reads |
//! | input hops | S | S·T·r (1 bit) |
//! | arithmetic | S·ρ MUL + ADD | S·T·r ADD |
//! | partial-sum hops | S | M·T·N·Σ_f k_f·p_f (p_f = 1 − (1 − r)^k_f with skipping, else 1) |
//! | row-fold accumulation | M·N·F_k writes, M·N·(F_k − 1) read+add | the same in expectation over non-empty folds, per step |
//! | neurons | M·N requantize compares | per step: membrane read, add, compare, write (+ leak multiply for LIF); an add per output spike (reset) |
//! | outputs | M·N writes | M·N·T·r_out event writes |
//!
//! A PE-to-PE hop is priced as a register write of the moved bits (the pipeline flip-flops of
//! a systolic array, as Eyeriss counts inter-PE traffic at register level; Chen et al., ISCA
//! 2016), or as a link transfer (`pe_hop = "link"`) for tables that list one. Data that does
//! not fit its buffer goes to DRAM: an input larger than an activation buffer is read from
//! DRAM, an output larger than it is written to DRAM, and partial sums of one column fold
//! (M·cols values, times T for the SNN) or SNN membranes (one per neuron) that exceed it are
//! kept in DRAM. Pooling and residual additions run on a vector unit beside the activation
//! buffers. Grouped convolutions are mapped over their per-group fan-in. Leakage and idle PEs
//! are not modelled (like every snnergy model, energies are dynamic).
//!
//! # `eyeriss-relative`
//!
//! Prices from the normalized data-movement costs of Eyeriss (Chen, Emer, Sze, ISCA 2016;
//! Sze et al., Proc. IEEE 2017, measured in 65 nm): a 16-bit access costs 1× at a register
//! file, 2× between PEs, 6× at the global buffer and 200× at DRAM, where 1× is one MAC.
//! Arithmetic and the value of 1× come from Horowitz (ISSCC 2014, 45 nm): ADD 0.03 pJ and
//! MUL 0.2 pJ at 8 bits, adders scaling linearly and multipliers quadratically with width,
//! and 1× = 0.23 pJ (an 8-bit MUL + ADD), the anchor snnergy's `horowitz-45nm` table also uses
//! for register files.

#![warn(missing_docs)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_plugin_sdk::snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, Assumption, BuildContext, Category, Component,
    ComputeOp, ConfigError, Derivation, EnergyModel, Format, Interconnect, Layer, LayerActivity,
    LayerKind, Memory, Network, Neuron, Price, PriceError, PriceSource, QnnFormat, SnnFormat,
    Source,
};

/// Width of the analog image a direct-coded first layer reads every step (8-bit pixels).
const IMAGE_BITS: u32 = 8;

/// A weighted layer as the array folds it: M output positions per channel, N output
/// channels, K the fan-in.
struct Folding {
    mf: f64,
    nf: f64,
    kf: f64,
    /// Column folds over N.
    f_n: u64,
    /// Row folds over K.
    f_k: u64,
    /// Synapses.
    s: f64,
    /// The activation buffer's capacity in bits.
    act_cap: f64,
    /// Partial sums a column fold holds per output position: one per column in use.
    psum_cols: f64,
    /// Rows each row fold uses.
    folds: Vec<f64>,
}

/// How a PE-to-PE hop is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PeHop {
    /// A register write of the moved bits (any table with register prices).
    #[default]
    Register,
    /// A link transfer of the moved bits (tables with a PE-to-PE link price).
    Link,
}

/// `[[architecture]] type = "systolic-array"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SystolicConfig {
    /// PE rows, along the fan-in K (default 128: a mid-size edge array; Google's TPU v1 has
    /// 256, Jouppi et al. ISCA 2017)
    pub rows: u32,
    /// PE columns, along the output channels N (default 128)
    pub cols: u32,
    /// weight buffer, KiB; must hold one rows × cols tile (default 256)
    pub weight_sram_kib: f64,
    /// each of the two ping-pong activation buffers, KiB; inputs, outputs and partial sums that
    /// do not fit go to DRAM (default 256)
    pub act_sram_kib: f64,
    /// all weights stay in the weight buffer across inferences, so no DRAM weight traffic; the
    /// network must fit (default false)
    pub weights_on_chip: bool,
    /// SNN: a stream row whose spikes within a row fold are all zero is not injected, so its
    /// partial sums do not move (SATA's sparsity-aware streaming; default true)
    pub skip_empty_rows: bool,
    /// how a PE-to-PE hop is priced: "register" (a register write of the moved bits; default)
    /// or "link" (a link transfer, for tables with link prices such as yan-22nm)
    pub pe_hop: PeHop,
}

impl Default for SystolicConfig {
    fn default() -> Self {
        Self {
            rows: 128,
            cols: 128,
            weight_sram_kib: 256.0,
            act_sram_kib: 256.0,
            weights_on_chip: false,
            skip_empty_rows: true,
            pe_hop: PeHop::Register,
        }
    }
}

/// The weight-stationary systolic array.
#[derive(Clone, Debug, PartialEq)]
pub struct SystolicArray {
    config: SystolicConfig,
}

fn kib_bits(kib: f64) -> f64 {
    kib * 1024.0 * 8.0
}

fn address_bits(n: u64) -> u32 {
    let mut bits = 1;
    while bits < 64 && (1u64 << bits) < n {
        bits += 1;
    }
    bits
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

impl SystolicArray {
    /// Validates a configuration.
    pub fn new(config: SystolicConfig) -> Result<Self, ConfigError> {
        for (key, v) in [("rows", config.rows), ("cols", config.cols)] {
            if v == 0 {
                return Err(
                    ConfigError::new(format!("{key} = 0: the array needs at least one"))
                        .at_key(key),
                );
            }
        }
        for (key, v) in [
            ("weight_sram_kib", config.weight_sram_kib),
            ("act_sram_kib", config.act_sram_kib),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ConfigError::new(format!(
                    "{key} = {v}: a buffer needs a positive capacity"
                ))
                .at_key(key));
            }
        }
        Ok(Self { config })
    }

    fn capacity(&self, kib: f64) -> u64 {
        (kib * 1024.0) as u64
    }

    fn hop(&self, bits: u32) -> ActionKind {
        match self.config.pe_hop {
            PeHop::Register => ActionKind::write(Memory::Register, bits, 0),
            PeHop::Link => ActionKind::Transfer {
                net: Interconnect::Link,
                bits,
            },
        }
    }

    /// A read of `bits` from an activation buffer, or from DRAM when the data did not fit.
    fn act_read(&self, fits: bool, bits: u32) -> ActionKind {
        if fits {
            ActionKind::read(Memory::Sram, bits, self.capacity(self.config.act_sram_kib))
        } else {
            ActionKind::read(Memory::Dram, bits, 0)
        }
    }

    fn act_write(&self, fits: bool, bits: u32) -> ActionKind {
        if fits {
            ActionKind::write(Memory::Sram, bits, self.capacity(self.config.act_sram_kib))
        } else {
            ActionKind::write(Memory::Dram, bits, 0)
        }
    }

    fn weights(&self, w: u64, bits: u32, out: &mut Actions) {
        let w = w as f64;
        let buf = self.capacity(self.config.weight_sram_kib);
        if !self.config.weights_on_chip {
            out.push(
                ActionKind::read(Memory::Dram, bits, 0),
                Category::Weights,
                w,
            );
            out.push(
                ActionKind::write(Memory::Sram, bits, buf),
                Category::Weights,
                w,
            );
        }
        out.push(
            ActionKind::read(Memory::Sram, bits, buf),
            Category::Weights,
            w,
        );
        out.push(
            ActionKind::write(Memory::Register, bits, 0),
            Category::Weights,
            w,
        );
    }

    fn weighted(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        a: &LayerActivity,
        out: &mut Actions,
    ) {
        let l = &network.layers[layer];
        let g = self.folding(l);
        self.weights(l.weights(), format.weight_bits(), out);
        match format {
            Format::Qnn(q) => self.qnn_weighted(l, q, a, &g, out),
            Format::Snn(snn) => {
                if a.analog_input {
                    self.snn_image_input(l, snn, &g, out);
                } else {
                    self.snn_spike_input(l, snn, a, &g, out);
                }
                self.neurons(l.neurons() as f64, snn, snn.timesteps as f64, out);
                self.snn_outputs(l, snn, a, g.act_cap, out);
            }
        }
    }

    /// How the array folds layer `l`: its fan-in over the rows, its output channels over the
    /// columns.
    fn folding(&self, l: &Layer) -> Folding {
        let n = l.output.c as u64;
        let m = l.neurons() / n.max(1);
        let k = l.fan_in();
        let (rows, cols) = (self.config.rows as u64, self.config.cols as u64);
        let f_k = ceil_div(k, rows);
        Folding {
            mf: m as f64,
            nf: n as f64,
            kf: k as f64,
            f_n: ceil_div(n, cols),
            f_k,
            s: l.synapses() as f64,
            act_cap: kib_bits(self.config.act_sram_kib),
            psum_cols: cols.min(n) as f64,
            // All full except possibly the last.
            folds: (0..f_k).map(|i| (k - i * rows).min(rows) as f64).collect(),
        }
    }

    /// A QNN layer: its activations stream in once per column fold, every synapse multiplies
    /// and adds, partial sums are kept per row fold and each output is compared and written.
    fn qnn_weighted(
        &self,
        l: &Layer,
        q: &QnnFormat,
        a: &LayerActivity,
        g: &Folding,
        out: &mut Actions,
    ) {
        let Folding { mf, nf, kf, s, .. } = *g;
        let a_in = if a.analog_input {
            IMAGE_BITS
        } else {
            q.activation_bits
        };
        let p = q.accumulator_bits;
        let input_fits = l.input_size() as f64 * a_in as f64 <= g.act_cap;
        out.push(
            self.act_read(input_fits, a_in),
            Category::Activations,
            mf * kf * g.f_n as f64,
        );
        out.push(self.hop(a_in), Category::Activations, s);
        let macs = s * a.input_nonzero;
        out.push(
            ActionKind::compute(ComputeOp::Mul, a_in.max(q.weight_bits)),
            Category::Compute,
            macs,
        );
        out.push(
            ActionKind::compute(ComputeOp::Add, p),
            Category::Compute,
            macs,
        );
        out.push(self.hop(p), Category::PartialSums, s);
        let psum_fits = mf * g.psum_cols * p as f64 <= g.act_cap;
        out.push(
            self.act_write(psum_fits, p),
            Category::PartialSums,
            mf * nf * g.f_k as f64,
        );
        let extra = mf * nf * (g.f_k - 1) as f64;
        out.push(self.act_read(psum_fits, p), Category::PartialSums, extra);
        out.push(
            ActionKind::compute(ComputeOp::Add, p),
            Category::Compute,
            extra,
        );
        out.push(
            ActionKind::compute(ComputeOp::Compare, p),
            Category::Compute,
            mf * nf,
        );
        let output_fits = l.neurons() as f64 * q.activation_bits as f64 <= g.act_cap;
        out.push(
            self.act_write(output_fits, q.activation_bits),
            Category::Outputs,
            mf * nf,
        );
    }

    /// An SNN layer under direct coding: the dense image enters every step as multi-bit
    /// values, multiplied and added into the membranes' partial sums.
    fn snn_image_input(&self, l: &Layer, snn: &SnnFormat, g: &Folding, out: &mut Actions) {
        let Folding { mf, nf, kf, s, .. } = *g;
        let t = snn.timesteps as f64;
        let v = snn.membrane_bits;
        let input_fits = l.input_size() as f64 * IMAGE_BITS as f64 <= g.act_cap;
        out.push(
            self.act_read(input_fits, IMAGE_BITS),
            Category::Activations,
            mf * kf * g.f_n as f64 * t,
        );
        out.push(self.hop(IMAGE_BITS), Category::Activations, s * t);
        out.push(
            ActionKind::compute(ComputeOp::Mul, IMAGE_BITS.max(snn.weight_bits)),
            Category::Compute,
            s * t,
        );
        out.push(
            ActionKind::compute(ComputeOp::Add, v),
            Category::Compute,
            s * t,
        );
        out.push(self.hop(v), Category::PartialSums, s * t);
        self.accumulate(
            &vec![1.0; g.folds.len()],
            mf * nf * t,
            mf * g.psum_cols * t * v as f64 <= g.act_cap,
            v,
            out,
        );
    }

    /// An SNN layer fed spikes: each spike is an address event that adds its weights, and a
    /// row fold without a spike skips its partial sum when the array skips empty rows.
    fn snn_spike_input(
        &self,
        l: &Layer,
        snn: &SnnFormat,
        a: &LayerActivity,
        g: &Folding,
        out: &mut Actions,
    ) {
        let Folding { mf, nf, kf, s, .. } = *g;
        let t = snn.timesteps as f64;
        let v = snn.membrane_bits;
        let r = a.input_rate;
        let event = address_bits(l.input.numel());
        let input_fits = l.input_size() as f64 * t * r * event as f64 <= g.act_cap;
        out.push(
            self.act_read(input_fits, event),
            Category::Activations,
            mf * kf * t * r * g.f_n as f64,
        );
        out.push(self.hop(1), Category::Activations, s * t * r);
        out.push(
            ActionKind::compute(ComputeOp::Add, v),
            Category::Compute,
            s * t * r,
        );
        // Probability that a stream row carries a spike within each row fold. An input after
        // an average pool forwards several events per step (r > 1): it is then always live.
        let p = r.min(1.0);
        let live: Vec<f64> = g
            .folds
            .iter()
            .map(|kf| {
                if self.config.skip_empty_rows {
                    1.0 - (1.0 - p).powf(*kf)
                } else {
                    1.0
                }
            })
            .collect();
        let hops: f64 = g.folds.iter().zip(&live).map(|(k, p)| k * p).sum();
        out.push(self.hop(v), Category::PartialSums, mf * t * nf * hops);
        self.accumulate(
            &live,
            mf * nf * t,
            mf * g.psum_cols * t * v as f64 <= g.act_cap,
            v,
            out,
        );
    }

    /// An SNN layer's output spikes: each counted into its neuron and written as an address
    /// event.
    fn snn_outputs(
        &self,
        l: &Layer,
        snn: &SnnFormat,
        a: &LayerActivity,
        act_cap: f64,
        out: &mut Actions,
    ) {
        let t = snn.timesteps as f64;
        let v = snn.membrane_bits;
        let neurons = l.neurons() as f64;
        let r_out = a.output_rate;
        out.push(
            ActionKind::compute(ComputeOp::Add, v),
            Category::Compute,
            neurons * t * r_out,
        );
        let event = address_bits(l.neurons());
        let output_fits = neurons * t * r_out * event as f64 <= act_cap;
        out.push(
            self.act_write(output_fits, event),
            Category::Outputs,
            neurons * t * r_out,
        );
    }

    /// Accumulation of partial sums over row folds in the output buffer: `live[f]` is the
    /// probability that fold f produces a partial sum for a given output and step.
    fn accumulate(&self, live: &[f64], outputs: f64, fits: bool, bits: u32, out: &mut Actions) {
        let writes: f64 = live.iter().sum();
        let any = 1.0 - live.iter().map(|p| 1.0 - p).product::<f64>();
        // The first non-empty fold writes; every later one reads, adds and writes.
        let rmw = (writes - any).max(0.0);
        out.push(
            self.act_write(fits, bits),
            Category::PartialSums,
            outputs * writes,
        );
        out.push(
            self.act_read(fits, bits),
            Category::PartialSums,
            outputs * rmw,
        );
        out.push(
            ActionKind::compute(ComputeOp::Add, bits),
            Category::Compute,
            outputs * rmw,
        );
    }

    /// Per neuron per step: membrane read, add of the input, threshold compare, write (and the
    /// leak multiply of a LIF neuron).
    fn neurons(
        &self,
        neurons: f64,
        snn: &snnergy_plugin_sdk::snnergy_core::SnnFormat,
        t: f64,
        out: &mut Actions,
    ) {
        let v = snn.membrane_bits;
        let updates = neurons * t;
        // Membranes live in the output buffer beside the partial sums; a layer whose
        // membranes do not fit keeps them in DRAM.
        let fits = neurons * v as f64 <= kib_bits(self.config.act_sram_kib);
        out.push(self.act_read(fits, v), Category::Membrane, updates);
        out.push(
            ActionKind::compute(ComputeOp::Add, v),
            Category::Compute,
            updates,
        );
        out.push(
            ActionKind::compute(ComputeOp::Compare, v),
            Category::Compute,
            updates,
        );
        if let Neuron::Lif { .. } = snn.neuron {
            out.push(
                ActionKind::compute(ComputeOp::Mul, v),
                Category::Compute,
                updates,
            );
        }
        out.push(self.act_write(fits, v), Category::Membrane, updates);
    }

    /// Pooling and residual additions on the vector unit.
    fn vector(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        a: &LayerActivity,
        out: &mut Actions,
    ) {
        let l = &network.layers[layer];
        let act_cap = kib_bits(self.config.act_sram_kib);
        // Inputs combined per output: window size for pooling, number of sources for an add.
        let reads = match l.kind {
            LayerKind::Add => l.input_size() as f64,
            _ => l.synapses() as f64,
        };
        let combine = match l.kind {
            LayerKind::MaxPool { .. } => ComputeOp::Compare,
            _ => ComputeOp::Add,
        };
        let n = l.neurons() as f64;
        match format {
            Format::Qnn(q) => {
                let bits = if a.analog_input {
                    IMAGE_BITS
                } else {
                    q.activation_bits
                };
                let fits = l.input_size() as f64 * bits as f64 <= act_cap;
                out.push(self.act_read(fits, bits), Category::Activations, reads);
                let acc = if combine == ComputeOp::Add {
                    q.accumulator_bits
                } else {
                    bits
                };
                out.push(ActionKind::compute(combine, acc), Category::Compute, reads);
                if l.neuron {
                    out.push(
                        ActionKind::compute(ComputeOp::Compare, q.accumulator_bits),
                        Category::Compute,
                        n,
                    );
                }
                let fits = n * q.activation_bits as f64 <= act_cap;
                out.push(
                    self.act_write(fits, q.activation_bits),
                    Category::Outputs,
                    n,
                );
            }
            Format::Snn(snn) => {
                let t = snn.timesteps as f64;
                let v = snn.membrane_bits;
                let event = address_bits(l.input.numel());
                let (per_input_bits, events) = if a.analog_input {
                    (IMAGE_BITS, reads * t)
                } else {
                    (event, reads * t * a.input_rate)
                };
                let fits =
                    l.input_size() as f64 * t * a.input_rate * per_input_bits as f64 <= act_cap;
                out.push(
                    self.act_read(fits, per_input_bits),
                    Category::Activations,
                    events,
                );
                let acc = if combine == ComputeOp::Add { v } else { 1 };
                out.push(ActionKind::compute(combine, acc), Category::Compute, events);
                if l.neuron {
                    self.neurons(n, snn, t, out);
                    out.push(
                        ActionKind::compute(ComputeOp::Add, v),
                        Category::Compute,
                        n * t * a.output_rate,
                    );
                }
                let event = address_bits(l.neurons());
                let fits = n * t * a.output_rate * event as f64 <= act_cap;
                out.push(
                    self.act_write(fits, event),
                    Category::Outputs,
                    n * t * a.output_rate,
                );
            }
        }
    }
}

impl Architecture for SystolicArray {
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        let w = format.weight_bits() as f64;
        let buffer = kib_bits(self.config.weight_sram_kib);
        let tile = self.config.rows as f64 * self.config.cols as f64 * w;
        if tile > buffer {
            return Err(ArchError::Config {
                architecture: "systolic-array".into(),
                message: format!(
                    "one {} × {} tile of {}-bit weights needs {} KiB, the weight buffer holds {} KiB: raise weight_sram_kib or shrink the array",
                    self.config.rows,
                    self.config.cols,
                    format.weight_bits(),
                    tile / 8192.0,
                    self.config.weight_sram_kib
                ),
            });
        }
        if self.config.weights_on_chip {
            let mut total = 0.0;
            for l in &network.layers {
                total += l.weights() as f64 * w;
                if total > buffer {
                    return Err(ArchError::Layer {
                        architecture: "systolic-array".into(),
                        layer: l.name.clone(),
                        message: format!(
                            "weights_on_chip: the weights up to this layer need {:.0} KiB, the weight buffer holds {} KiB",
                            total / 8192.0,
                            self.config.weight_sram_kib
                        ),
                    });
                }
            }
        }
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
        let l = network.layers.get(layer).ok_or_else(|| ArchError::Config {
            architecture: "systolic-array".into(),
            message: format!("no layer #{layer} in network `{}`", network.name),
        })?;
        if l.sources
            .iter()
            .any(|s| matches!(s, Source::Layer(j) if *j >= layer))
        {
            return Err(ArchError::Layer {
                architecture: "systolic-array".into(),
                layer: l.name.clone(),
                message: "reads from a layer that runs after it".into(),
            });
        }
        if l.is_weighted() {
            self.weighted(network, layer, format, activity, out);
        } else {
            self.vector(network, layer, format, activity, out);
        }
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let c = &self.config;
        vec![
            Assumption::new(
                "array",
                format!("{} × {} PEs", c.rows, c.cols),
                "weight stationary; layers mapped as M×K by K×N products (SCALE-Sim)",
            ),
            Assumption::new(
                "weight buffer",
                format!("{} KiB", c.weight_sram_kib),
                "one tile at a time",
            ),
            Assumption::new(
                "activation buffers",
                format!("2 × {} KiB", c.act_sram_kib),
                "ping-pong; what does not fit goes to DRAM",
            ),
            Assumption::new(
                "weights",
                if c.weights_on_chip {
                    "resident on chip"
                } else {
                    "from DRAM once per inference"
                },
                "each tile is loaded once and the whole stream flows through it",
            ),
            Assumption::new(
                "SNN time steps",
                "streamed through the stationary tile (SATA)",
                "weights fetched once per inference; T partial sums per output held until the last row fold",
            ),
            Assumption::new(
                "skip empty rows",
                c.skip_empty_rows,
                "SNN stream rows without spikes in a row fold are not injected",
            ),
            Assumption::new(
                "PE-to-PE hop",
                match c.pe_hop {
                    PeHop::Register => "register write",
                    PeHop::Link => "link transfer",
                },
                "price of moving an input or partial sum to the neighbouring PE",
            ),
        ]
    }
}

impl Component for SystolicArray {
    type Interface = dyn Architecture;
    type Config = SystolicConfig;
    const NAME: &'static str = "systolic-array";
    const SUMMARY: &'static str = "weight-stationary systolic array (SCALE-Sim mapping) running SNN time steps streamed through stationary tiles (SATA)";

    fn build(
        config: SystolicConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Self::new(config)?))
    }
}

/// `[energy] type = "eyeriss-relative"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EyerissConfig {
    /// energy of 1×, pJ per word access at the register file (default 0.23: Horowitz's 8-bit
    /// MUL + ADD at 45 nm, the anchor of horowitz-45nm's register price)
    pub unit_pj: f64,
    /// width the relative costs refer to, bits; other widths scale per bit (default 16,
    /// Eyeriss's word)
    pub word_bits: u32,
    /// 8-bit ADD, pJ; scaled linearly with width (default 0.03, Horowitz)
    pub add_pj: f64,
    /// 8-bit MUL, pJ; scaled quadratically with width (default 0.2, Horowitz)
    pub mul_pj: f64,
}

impl Default for EyerissConfig {
    fn default() -> Self {
        Self {
            unit_pj: 0.23,
            word_bits: 16,
            add_pj: 0.03,
            mul_pj: 0.2,
        }
    }
}

/// Eyeriss-normalized prices.
#[derive(Clone, Debug, PartialEq)]
pub struct EyerissRelative {
    config: EyerissConfig,
}

/// Relative cost of a register-file access (Sze et al. 2017).
pub const REGISTER_X: f64 = 1.0;
/// Relative cost of a move between PEs.
pub const INTER_PE_X: f64 = 2.0;
/// Relative cost of a global-buffer access.
pub const BUFFER_X: f64 = 6.0;
/// Relative cost of a DRAM access.
pub const DRAM_X: f64 = 200.0;

impl EyerissRelative {
    /// Validates a configuration.
    pub fn new(config: EyerissConfig) -> Result<Self, ConfigError> {
        for (key, v) in [
            ("unit_pj", config.unit_pj),
            ("add_pj", config.add_pj),
            ("mul_pj", config.mul_pj),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(
                    ConfigError::new(format!("{key} = {v} pJ must be positive")).at_key(key)
                );
            }
        }
        if config.word_bits == 0 {
            return Err(ConfigError::new("word_bits = 0").at_key("word_bits"));
        }
        Ok(Self { config })
    }

    fn data(&self, times: f64, bits: u32) -> Price {
        Price {
            pj: times * self.config.unit_pj * bits as f64 / self.config.word_bits as f64,
            source: 0,
            derivation: Derivation::Other {
                note: format!(
                    "{times}× the {}-bit MAC unit per {}-bit word, per bit",
                    8, self.config.word_bits
                ),
            },
        }
    }
}

impl EnergyModel for EyerissRelative {
    fn name(&self) -> &str {
        "eyeriss-relative"
    }

    fn price(&self, action: &ActionKind) -> Result<Price, PriceError> {
        let c = &self.config;
        Ok(match *action {
            ActionKind::Compute { op, bits } => {
                let (base, exponent) = match op {
                    ComputeOp::Add | ComputeOp::Compare => (c.add_pj, 1.0),
                    ComputeOp::Mul => (c.mul_pj, 2.0),
                };
                Price {
                    pj: base * (bits as f64 / 8.0).powf(exponent),
                    source: 1,
                    derivation: if bits == 8 {
                        Derivation::Exact
                    } else {
                        Derivation::WidthScaled {
                            from_bits: 8,
                            exponent,
                        }
                    },
                }
            }
            ActionKind::Memory { level, bits, .. } => self.data(
                match level {
                    Memory::Register => REGISTER_X,
                    Memory::Sram => BUFFER_X,
                    Memory::Dram => DRAM_X,
                },
                bits,
            ),
            ActionKind::Transfer { bits, .. } => self.data(INTER_PE_X, bits),
            ActionKind::Leakage => {
                return Err(PriceError {
                    model: self.name().into(),
                    action: action.to_string(),
                    reason: "Eyeriss's normalization is of dynamic energy; static power comes from a hardware description (`leakage_mw`)".into(),
                });
            }
            ActionKind::Composite { name } => {
                return Err(PriceError {
                    model: self.name().into(),
                    action: action.to_string(),
                    reason: format!(
                        "`{}` is a published aggregate of another model; Eyeriss's normalization has no such entry",
                        name.as_str()
                    ),
                });
            }
        })
    }

    fn sources(&self) -> Vec<PriceSource> {
        vec![
            PriceSource {
                key: "eyeriss-normalized".into(),
                citation: "Chen, Emer, Sze, \"Eyeriss: a spatial architecture for energy-efficient dataflow for CNNs\", ISCA 2016; Sze et al., Proc. IEEE 2017 (RF 1×, inter-PE 2×, buffer 6×, DRAM 200×)".into(),
                node: "65 nm (ratios)".into(),
                third_party: false,
            },
            PriceSource {
                key: "horowitz-isscc14".into(),
                citation: "M. Horowitz, \"Computing's energy problem (and what we can do about it)\", ISSCC 2014".into(),
                node: "45 nm, 0.9 V".into(),
                third_party: false,
            },
        ]
    }
}

impl Component for EyerissRelative {
    type Interface = dyn EnergyModel;
    type Config = EyerissConfig;
    const NAME: &'static str = "eyeriss-relative";
    const SUMMARY: &'static str = "Eyeriss-normalized data movement (RF 1×, inter-PE 2×, buffer 6×, DRAM 200× of a MAC) with Horowitz 45 nm arithmetic";
    fn build(
        config: EyerissConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn EnergyModel>, ConfigError> {
        Ok(Box::new(Self::new(config)?))
    }
}

snnergy_plugin_sdk::export_plugin!(SystolicArray, EyerissRelative);
