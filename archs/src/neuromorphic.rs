//! `neuromorphic`: cores with local synapse and neuron memory on a 2-D mesh; every spike is a
//! packet routed over the network-on-chip to the cores that hold its targets.
//!
//! **Mapping (computed, not assumed).** Each layer gets its own cores. A core holds at most
//! `neurons_per_core` neurons, and no more than its synapse memory (`synapse_kib`) can serve:
//! without weight sharing every neuron stores its F weights; with it a core stores each
//! output channel's kernel once. The cores of all layers form the mesh (`mesh`, or the
//! smallest square that holds them), placed layer after layer along a serpentine path. A
//! packet from a layer to its consumer travels the mean Manhattan distance between the two
//! layers' regions, then (multicast) one more hop per further destination core; the
//! destination cores of one packet are the fewest that can hold its fan-out. Without
//! multicast a packet is sent to every destination core separately.
//!
//! Per layer:
//!
//! - **SNN**: per arriving spike one packet of `packet_bits` over its hops (event NoC); per
//!   synaptic event (r·T·S) a weight read from synapse memory, a membrane read and write in
//!   neuron memory and an ADD; per neuron per step a membrane read and write (leak and
//!   threshold update) and a compare (plus a leak multiply for LIF); per spike a reset.
//! - **QNN** on the same chip, one pass: per non-zero input one packet carrying its value
//!   (`packet_bits` + activation bits) over the same routes; per MAC a weight read, a MUL, an
//!   ADD and an accumulator read and write in neuron memory; per output an accumulator read
//!   and a quantization compare.
//! - All weights stay in the cores: no DRAM traffic per inference. A network that needs more
//!   cores than the mesh has, or a neuron whose synapses exceed a core's memory, is an error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, Assumption, BuildContext, Category, Component,
    ComputeOp, ConfigError, Format, Interconnect, LayerActivity, LayerKind, MappedArchitecture,
    Memory, Network, QnnFormat, SnnFormat, Source,
};

use crate::common::{
    Dims, DirectInput, Op, QnnWork, SnnWork, bits_param, check_format, layer_error, mul_bits,
    neuron_arithmetic, positive, put, qnn_arithmetic,
};

/// `[[architecture]] type = "neuromorphic"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NeuromorphicConfig {
    /// neurons (compartments) one core holds; default 1024, Loihi's (Davies et al., IEEE Micro
    /// 2018). Fewer fit when the synapse memory runs out
    pub neurons_per_core: u32,
    /// synapse (weight) memory per core, KiB; default 128, Loihi's 16 MB over 128 cores. A
    /// neuron whose F weights exceed it fits nowhere; weight reads are priced at this capacity
    pub synapse_kib: f64,
    /// whether a core stores each convolution kernel once for all positions it serves; default
    /// false (a crossbar-style core stores every synapse)
    pub weight_sharing: bool,
    /// bits of a spike packet (address event: destination and axon index); default 32. A
    /// baseline message carries its activation bits on top
    pub packet_bits: u32,
    /// whether routers replicate a packet along one tree to all destination cores (default
    /// true) or the source sends one packet per destination core
    pub multicast: bool,
    /// [rows, cols] of the core mesh; default: the smallest square holding every layer's cores.
    /// A network needing more cores is an error
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mesh: Option<[u32; 2]>,
    /// whether the baseline sends and processes only non-zero activations; default true
    /// (event-driven cores do nothing for a zero)
    pub zero_skipping: bool,
    /// direct-coded first layer: "once" (default: the image enters once, its MACs are done once
    /// and the stored current is added every step) or "every-step"
    pub direct_input: DirectInput,
    /// bits of an analog input value (image pixel); default 8
    pub input_bits: u32,
}

impl Default for NeuromorphicConfig {
    fn default() -> Self {
        Self {
            neurons_per_core: 1024,
            synapse_kib: 128.0,
            weight_sharing: false,
            packet_bits: 32,
            multicast: true,
            mesh: None,
            zero_skipping: true,
            direct_input: DirectInput::default(),
            input_bits: 8,
        }
    }
}

/// The neuromorphic architecture.
#[derive(Clone, Debug, PartialEq)]
pub struct Neuromorphic {
    config: NeuromorphicConfig,
    synapse_bits: f64,
    synapse_bytes: u64,
}

const NAME: &str = "neuromorphic";

/// Where one layer sits.
#[derive(Clone, Copy, Debug)]
struct LayerMap {
    /// Neurons per core actually used.
    npc: f64,
    /// Cores.
    cores: f64,
    /// Row span [r0, r1] and column span [c0, c1] of the region (core centres).
    rows: (f64, f64),
    cols: (f64, f64),
}

/// The mapping of a network onto the mesh.
#[derive(Clone, Debug)]
pub struct Plan {
    layers: Vec<LayerMap>,
}

/// E|X − Y| for X uniform on [a, b] and Y uniform on [c, d] (either may be a point).
fn mean_abs_diff(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let m = 0.5 * (c + d);
    let len = d - c;
    // G(x) = E|x − Y| and its antiderivative on each piece.
    let g = |x: f64| -> f64 {
        if len <= 0.0 {
            (x - c).abs()
        } else if x <= c {
            m - x
        } else if x >= d {
            x - m
        } else {
            ((x - c).powi(2) + (d - x).powi(2)) / (2.0 * len)
        }
    };
    if b - a <= 0.0 {
        return g(a);
    }
    // ∫|x − c| dx, for a point-like Y.
    let point = |x: f64| -> f64 {
        let u = x - c;
        0.5 * u * u.abs()
    };
    // Integrate piecewise so each antiderivative is used on its own piece.
    let mut cuts = vec![a];
    for p in [c, d] {
        if p > a && p < b {
            cuts.push(p);
        }
    }
    cuts.push(b);
    cuts.dedup();
    let mut total = 0.0;
    for w in cuts.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let mid = 0.5 * (lo + hi);
        // The piece is decided by its midpoint; evaluate that piece's antiderivative at both
        // ends (continuous pieces make the choice at the boundary immaterial).
        let piece = |x: f64| -> f64 {
            if len <= 0.0 {
                point(x)
            } else if mid <= c {
                m * x - 0.5 * x * x
            } else if mid >= d {
                0.5 * x * x - m * x
            } else {
                ((x - c).powi(3) - (d - x).powi(3)) / (6.0 * len)
            }
        };
        total += piece(hi) - piece(lo);
    }
    total / (b - a)
}

impl Neuromorphic {
    /// Validates the configuration.
    pub fn new(config: NeuromorphicConfig) -> Result<Self, ConfigError> {
        if config.neurons_per_core == 0 {
            return Err(ConfigError::new("0: a core must hold at least one neuron")
                .at_key("neurons_per_core"));
        }
        let kib = positive("synapse_kib", config.synapse_kib, "the synapse memory")?;
        bits_param("packet_bits", config.packet_bits)?;
        bits_param("input_bits", config.input_bits)?;
        if let Some([r, c]) = config.mesh
            && (r == 0 || c == 0)
        {
            return Err(ConfigError::new(format!(
                "[{r}, {c}]: a mesh of zero cores cannot hold a network"
            ))
            .at_key("mesh"));
        }
        let synapse_bytes = (kib * 1024.0).round() as u64;
        if synapse_bytes == 0 {
            return Err(ConfigError::new("smaller than one byte").at_key("synapse_kib"));
        }
        Ok(Self {
            synapse_bits: synapse_bytes as f64 * 8.0,
            synapse_bytes,
            config,
        })
    }

    /// Neurons of layer `l` one core can hold, or an error when not even one fits.
    fn neurons_per_core(
        &self,
        network: &Network,
        i: usize,
        weight_bits: u32,
    ) -> Result<f64, ArchError> {
        let l = &network.layers[i];
        let npc = self.config.neurons_per_core as f64;
        if !l.is_weighted() {
            return Ok(npc);
        }
        let per_kernel = l.fan_in() as f64 * weight_bits as f64;
        let kernels = (self.synapse_bits / per_kernel).floor();
        if kernels < 1.0 {
            return Err(layer_error(
                NAME,
                l,
                format!(
                    "fits nowhere: one neuron's {} synapses need {:.1} KiB of weights, a core's synapse memory holds {} KiB (`synapse_kib`)",
                    l.fan_in(),
                    per_kernel / 8.0 / 1024.0,
                    self.config.synapse_kib
                ),
            ));
        }
        // With sharing, one stored kernel serves every position of its output channel.
        let positions = match l.kind {
            LayerKind::Conv2d { .. } if self.config.weight_sharing => {
                (l.output.h as f64) * (l.output.w as f64)
            }
            _ => 1.0,
        };
        Ok(npc.min(kernels * positions))
    }

    fn plan(&self, network: &Network, format: &Format) -> Result<Plan, ArchError> {
        let wb = format.weight_bits();
        let mut maps = Vec::with_capacity(network.layers.len());
        let mut total = 0.0;
        for (i, l) in network.layers.iter().enumerate() {
            let npc = self.neurons_per_core(network, i, wb)?;
            let cores = (l.neurons() as f64 / npc).ceil().max(1.0);
            maps.push((npc, cores, total));
            total += cores;
        }
        let cols = match self.config.mesh {
            Some([r, c]) => {
                if (r as f64) * (c as f64) < total {
                    return Err(ArchError::Config {
                        architecture: NAME.into(),
                        message: format!(
                            "network `{}` needs {total} cores (weight bits {wb}), the {r}×{c} mesh (`mesh`) has {}",
                            network.name,
                            r as u64 * c as u64
                        ),
                    });
                }
                c as f64
            }
            None => total.sqrt().ceil(),
        };
        let layers = maps
            .into_iter()
            .map(|(npc, cores, start)| {
                let end = start + cores - 1.0;
                let (r0, r1) = ((start / cols).floor(), (end / cols).floor());
                let col_span = if r0 == r1 {
                    // One row: a contiguous run of columns (the serpentine only flips its
                    // direction, not its extent).
                    let (a, b) = (start - r0 * cols, end - r0 * cols);
                    if (r0 as u64).is_multiple_of(2) {
                        (a, b)
                    } else {
                        (cols - 1.0 - b, cols - 1.0 - a)
                    }
                } else {
                    (0.0, cols - 1.0)
                };
                LayerMap {
                    npc,
                    cores,
                    rows: (r0, r1),
                    cols: col_span,
                }
            })
            .collect();
        Ok(Plan { layers })
    }

    /// Mean hops of one packet arriving at layer `i` (from each of its sources, averaged),
    /// including the multicast tree (or the repeated unicasts).
    fn hops(&self, network: &Network, plan: &Plan, i: usize) -> f64 {
        let l = &network.layers[i];
        let me = &plan.layers[i];
        let mut dist = 0.0;
        for s in &l.sources {
            let d = match *s {
                // Input enters through an I/O port at the mesh corner.
                Source::Input => {
                    mean_abs_diff(0.0, 0.0, me.rows.0, me.rows.1)
                        + mean_abs_diff(0.0, 0.0, me.cols.0, me.cols.1)
                }
                Source::Layer(j) => {
                    let p = &plan.layers[j];
                    mean_abs_diff(p.rows.0, p.rows.1, me.rows.0, me.rows.1)
                        + mean_abs_diff(p.cols.0, p.cols.1, me.cols.0, me.cols.1)
                }
            };
            dist += d.max(1.0);
        }
        dist /= l.sources.len().max(1) as f64;
        // Destination cores of one packet: the fewest that can hold its fan-out.
        let a = l.input_size() as f64;
        let fanout = if matches!(l.kind, LayerKind::Add) {
            1.0
        } else {
            l.synapses() as f64 / a
        };
        let dest = (fanout / me.npc).ceil().clamp(1.0, me.cores);
        if self.config.multicast {
            dist + (dest - 1.0)
        } else {
            dest * dist
        }
    }

    fn emit(
        &self,
        network: &Network,
        i: usize,
        format: &Format,
        act: &LayerActivity,
        plan: &Plan,
        out: &mut Actions,
    ) {
        let d = Dims::of(&network.layers[i]);
        let hops = self.hops(network, plan, i);
        match format {
            Format::Snn(s) => self.snn(&d, s, act, hops, out),
            Format::Qnn(q) => self.qnn(&d, q, act, hops, out),
        }
    }

    fn packet(bits: u32) -> ActionKind {
        ActionKind::Transfer {
            net: Interconnect::NocEvent,
            bits,
        }
    }

    fn neuron_memory(&self, bits: u32) -> u64 {
        (self.config.neurons_per_core as u64 * bits as u64).div_ceil(8)
    }

    fn snn(&self, d: &Dims, s: &SnnFormat, act: &LayerActivity, hops: f64, out: &mut Actions) {
        let c = &self.config;
        let t = s.timesteps as f64;
        let (wb, mb) = (s.weight_bits, s.membrane_bits);
        let w = SnnWork::of(d, t, act, c.direct_input);
        let ncap = self.neuron_memory(mb);
        let add = ActionKind::compute(ComputeOp::Add, mb);
        let m_read = ActionKind::read(Memory::Sram, mb, ncap);
        let m_write = ActionKind::write(Memory::Sram, mb, ncap);
        let w_read = ActionKind::read(Memory::Sram, wb, self.synapse_bytes);

        put(
            out,
            Self::packet(c.packet_bits),
            Category::Activations,
            w.input_spikes * hops,
        );
        if d.weighted() {
            put(out, w_read, Category::Weights, w.events);
        }
        put(out, m_read, Category::Membrane, w.events);
        put(out, m_write, Category::Membrane, w.events);
        match d.op {
            Op::MaxPool => put(
                out,
                ActionKind::compute(ComputeOp::Compare, mb),
                Category::Compute,
                w.events,
            ),
            _ => put(out, add, Category::Compute, w.events),
        }

        if w.analog_macs > 0.0 {
            let ib = c.input_bits;
            put(
                out,
                Self::packet(c.packet_bits + ib),
                Category::Activations,
                w.analog_inputs * hops,
            );
            if d.weighted() {
                put(out, w_read, Category::Weights, w.analog_macs);
                put(
                    out,
                    ActionKind::compute(ComputeOp::Mul, mul_bits(wb, ib)),
                    Category::Compute,
                    w.analog_macs,
                );
            }
            put(out, add, Category::Compute, w.analog_macs);
            put(out, m_read, Category::PartialSums, w.analog_macs);
            put(out, m_write, Category::PartialSums, w.analog_macs);
            put(out, m_read, Category::Activations, w.current_adds);
            put(out, add, Category::Compute, w.current_adds);
        }

        put(out, m_read, Category::Membrane, w.neuron_steps);
        put(out, m_write, Category::Membrane, w.neuron_steps);
        neuron_arithmetic(out, s.neuron, mb, &w);
    }

    fn qnn(&self, d: &Dims, q: &QnnFormat, act: &LayerActivity, hops: f64, out: &mut Actions) {
        let c = &self.config;
        let (wb, accb) = (q.weight_bits, q.accumulator_bits);
        let w = QnnWork::of(d, q, act, c.zero_skipping, c.input_bits);
        let ncap = self.neuron_memory(accb);
        let a_read = ActionKind::read(Memory::Sram, accb, ncap);
        let a_write = ActionKind::write(Memory::Sram, accb, ncap);
        put(
            out,
            Self::packet(c.packet_bits + w.input_bits),
            Category::Activations,
            w.inputs * hops,
        );
        if d.weighted() {
            put(
                out,
                ActionKind::read(Memory::Sram, wb, self.synapse_bytes),
                Category::Weights,
                w.ops,
            );
        }
        qnn_arithmetic(out, d.op, q, &w);
        put(out, a_read, Category::PartialSums, w.ops);
        put(out, a_write, Category::PartialSums, w.ops);
        let outputs = if d.stateful() { d.n } else { 0.0 };
        put(out, a_read, Category::PartialSums, outputs);
        put(
            out,
            ActionKind::compute(ComputeOp::Compare, accb),
            Category::Compute,
            w.quantize,
        );
    }

    /// The core count and mesh a network maps to with `format` (for reports and tests).
    pub fn cores(&self, network: &Network, format: &Format) -> Result<f64, ArchError> {
        Ok(self
            .plan(network, format)?
            .layers
            .iter()
            .map(|l| l.cores)
            .sum())
    }
}

impl Component for Neuromorphic {
    type Interface = dyn Architecture;
    type Config = NeuromorphicConfig;
    const NAME: &'static str = "neuromorphic";
    const SUMMARY: &'static str = "cores with local synapse and neuron memory on a 2-D mesh; spikes routed as (multicast) packets over the mapped layers";

    fn build(
        config: NeuromorphicConfig,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(Neuromorphic::new(config)?))
    }

    fn example() -> toml::Table {
        // Priced with the table it is meant for, so the example runs as printed.
        crate::example(&[("energy", "yan-22nm")])
    }
}

impl MappedArchitecture for Neuromorphic {
    type Mapping = Plan;

    fn map(&self, network: &Network, format: &Format) -> Result<Plan, ArchError> {
        check_format(NAME, format)?;
        self.plan(network, format)
    }

    fn count(
        &self,
        network: &Network,
        plan: &Plan,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.emit(network, layer, format, activity, plan, out);
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        let c = &self.config;
        vec![
            Assumption::new(
                "neurons per core",
                c.neurons_per_core,
                "upper bound; fewer when the synapse memory cannot serve more (computed per layer)",
            ),
            Assumption::new(
                "synapse memory per core",
                format!("{} KiB", c.synapse_kib),
                "holds the weights of the core's neurons; weight reads are priced at this capacity",
            ),
            Assumption::new(
                "weight sharing",
                c.weight_sharing,
                if c.weight_sharing {
                    "a convolution kernel is stored once per core for every position it serves"
                } else {
                    "every synapse is stored (crossbar-style core)"
                },
            ),
            Assumption::new(
                "neuron memory per core",
                format!("{} × state bits", c.neurons_per_core),
                "membranes (SNN) or accumulators (baseline); read-modify-written per synaptic event",
            ),
            Assumption::new(
                "packet",
                format!("{} bits", c.packet_bits),
                "one address event per spike; a baseline message adds its activation bits",
            ),
            Assumption::new(
                "routing",
                if c.multicast { "multicast" } else { "unicast" },
                "mean Manhattan distance between the producer's and the consumer's core regions (layers placed in order along a serpentine), plus one hop per further destination core (multicast) or that distance per destination core (unicast)",
            ),
            Assumption::new(
                "mesh",
                match c.mesh {
                    Some([r, k]) => format!("{r}×{k}"),
                    None => "smallest square holding every layer's cores".into(),
                },
                "a network needing more cores than the mesh has is an error",
            ),
            Assumption::new(
                "zero-skipping (baseline)",
                c.zero_skipping,
                "zero activations are neither sent nor processed when true",
            ),
            Assumption::new(
                "direct-coded first layer",
                c.direct_input.name(),
                match c.direct_input {
                    DirectInput::Once => {
                        "the image enters once as graded packets, its MACs are done once, and the stored current is read and added every step"
                    }
                    DirectInput::EveryStep => "the image is sent and multiplied every step",
                },
            ),
            Assumption::new(
                "analog input width",
                format!("{} bits", c.input_bits),
                "pixels of the direct-coded image",
            ),
            Assumption::new(
                "DRAM",
                "none per inference",
                "all weights stay in the cores' synapse memories",
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(a: f64, b: f64, c: f64, d: f64) -> f64 {
        let n = 400;
        let mut s = 0.0;
        for i in 0..n {
            let x = if b > a {
                a + (b - a) * (i as f64 + 0.5) / n as f64
            } else {
                a
            };
            for j in 0..n {
                let y = if d > c {
                    c + (d - c) * (j as f64 + 0.5) / n as f64
                } else {
                    c
                };
                s += (x - y).abs();
            }
        }
        s / (n * n) as f64
    }

    #[test]
    fn mean_distance_between_intervals_matches_brute_force() {
        for (a, b, c, d) in [
            (0.0, 0.0, 3.0, 3.0),
            (0.0, 4.0, 0.0, 4.0),
            (0.0, 2.0, 5.0, 9.0),
            (1.0, 6.0, 3.0, 4.0),
            (0.0, 0.0, 0.0, 10.0),
            (2.0, 8.0, 0.0, 0.0),
            (0.0, 10.0, 4.0, 12.0),
        ] {
            let exact = mean_abs_diff(a, b, c, d);
            let approx = brute(a, b, c, d);
            assert!(
                (exact - approx).abs() < 1e-3 * approx.max(1.0),
                "[{a},{b}] vs [{c},{d}]: {exact} vs {approx}"
            );
        }
    }
}
