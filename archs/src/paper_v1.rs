//! `paper-v1`: the closed forms of Yan et al. v1 (arXiv 2409.08290v1), exactly, for the
//! classical and spatial variants, expressed as actions so any price table can price them.
//!
//! Energy per synapse (pJ), with ρ the baseline's non-zero fraction, F synapses per neuron and
//! R the DRAM reuse factor:
//!
//! | variant | ANN | SNN |
//! |---|---|---|
//! | classical | ρ·80.23 + 2020/R | T·s_r·(64.32 + 0.03/F) + T·64.35/F + (2·2020/R)·T/(T+1) |
//! | spatial | ρ·20.23 | T·s_r·20.03 + T·40.06/F |
//!
//! With the `paper-v1` prices the actions below add up to these constants: 80.23 = four SRAM
//! accesses (weight, input, psum read and write) + MUL + ADD; 2020 = a DRAM read + an SRAM
//! write; 20.23 = one move between PEs + MUL + ADD; 20.03 = one spike move + ADD; 40.06 = a
//! membrane read and write + two ADDs. The paper's code gives 64.32 (per synaptic event) and
//! 64.35 (per neuron per step) only as totals, so they are composite actions only a table
//! publishing them can price.
//!
//! Each layer's energy is its synapse count S times the per-synapse energy, so totals over a
//! network are S_total times the closed form when F, R and ρ are network-wide.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use snnergy_core::network::NetworkTotals;
use snnergy_core::{
    ActionKind, Actions, ArchError, Architecture, Assumption, BuildContext, Category, Component,
    CompositeName, ComputeOp, ConfigError, Format, Interconnect, LayerActivity, Memory, Network,
};

/// Composite: one synaptic event of the classical SNN (64.32 pJ in v1).
pub const CLASSICAL_SNN_EVENT: &str = "paper-v1/classical-snn-synaptic-event";
/// Composite: one neuron update per time step of the classical SNN (64.35 pJ in v1).
pub const CLASSICAL_SNN_NEURON_STEP: &str = "paper-v1/classical-snn-neuron-step";

/// Which of the paper's hardware models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PaperVariant {
    /// DRAM → SRAM buffer → PE memory hierarchy.
    #[default]
    Classical,
    /// Layer-per-PE spatial dataflow with stationary weights.
    Spatial,
}

/// A network-wide quantity: a number, the network's average, or each layer's own value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Quantity {
    /// A fixed value.
    Value(f64),
    /// `"average"` (over weighted layers) or `"per-layer"`.
    Mode(String),
}

impl Default for Quantity {
    fn default() -> Self {
        Quantity::Mode("average".into())
    }
}

/// `[[architecture]] type = "paper-v1"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PaperV1Config {
    /// `classical` (DRAM → SRAM → PE) or `spatial` (layer-per-PE dataflow)
    pub variant: PaperVariant,
    /// synapses per neuron F: a number (the paper: 2395), "average" (the network's S/N) or
    /// "per-layer"
    pub fanin: Quantity,
    /// DRAM reuse factor R: a number (the paper: 216), "average" (the network's S/W) or
    /// "per-layer"
    pub reuse: Quantity,
    /// baseline non-zero activation fraction ρ (the paper: 0.45); default: the activity's per
    /// layer
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rho: Option<f64>,
    /// on-chip SRAM capacity in KiB for capacity-dependent price tables; default 32 (Horowitz's
    /// 20 pJ point, the paper's SRAM price)
    pub sram_kib: f64,
}

impl Default for PaperV1Config {
    fn default() -> Self {
        Self {
            variant: PaperVariant::Classical,
            fanin: Quantity::default(),
            reuse: Quantity::default(),
            rho: None,
            sram_kib: 32.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Resolved {
    Value(f64),
    Average,
    PerLayer,
}

/// The paper-v1 architecture.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperV1 {
    config: PaperV1Config,
    fanin: Resolved,
    reuse: Resolved,
}

fn resolve(key: &str, q: &Quantity) -> Result<Resolved, String> {
    match q {
        Quantity::Value(v) if v.is_finite() && *v > 0.0 => Ok(Resolved::Value(*v)),
        Quantity::Value(v) => Err(format!("`{key}` = {v} must be a positive number")),
        Quantity::Mode(m) if m == "average" => Ok(Resolved::Average),
        Quantity::Mode(m) if m == "per-layer" => Ok(Resolved::PerLayer),
        Quantity::Mode(m) => Err(format!(
            "`{key}` = \"{m}\": expected a number, \"average\" or \"per-layer\""
        )),
    }
}

impl PaperV1 {
    /// Validates the configuration.
    pub fn new(config: PaperV1Config) -> Result<Self, String> {
        let fanin = resolve("fanin", &config.fanin)?;
        let reuse = resolve("reuse", &config.reuse)?;
        if let Some(rho) = config.rho
            && !(0.0..=1.0).contains(&rho)
        {
            return Err(format!("`rho` = {rho} is outside [0, 1]"));
        }
        if !(config.sram_kib.is_finite() && config.sram_kib > 0.0) {
            return Err(format!(
                "`sram_kib` = {}: the buffer needs a positive capacity",
                config.sram_kib
            ));
        }
        Ok(Self {
            config,
            fanin,
            reuse,
        })
    }

    /// F or R for `layer`; `totals` are the network's (summed once per network evaluation,
    /// not per layer: the averages of a deep network would otherwise cost its depth squared).
    fn quantity(
        &self,
        r: Resolved,
        network: &Network,
        totals: &NetworkTotals,
        layer: usize,
        fanin: bool,
    ) -> f64 {
        let l = &network.layers[layer];
        match r {
            Resolved::Value(v) => v,
            Resolved::Average => {
                let t = totals;
                if fanin {
                    t.mean_fan_in()
                } else {
                    t.mean_reuse()
                }
            }
            Resolved::PerLayer => {
                if fanin {
                    l.fan_in() as f64
                } else {
                    l.weight_reuse()
                }
            }
        }
    }
}

impl Component for PaperV1 {
    type Interface = dyn Architecture;
    type Config = PaperV1Config;
    const NAME: &'static str = "paper-v1";
    const SUMMARY: &'static str =
        "the v1 closed forms of Yan et al. (classical or spatial), exactly, as actions";

    fn build(
        config: PaperV1Config,
        _: &BuildContext<'_>,
    ) -> Result<Box<dyn Architecture>, ConfigError> {
        Ok(Box::new(PaperV1::new(config).map_err(ConfigError::new)?))
    }

    fn example() -> toml::Table {
        // Priced with the table it is meant for, so the example runs as printed.
        crate::example(&[("energy", "paper-v1")])
    }
}

impl Architecture for PaperV1 {
    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        self.count(network, &network.totals(), layer, format, activity, out)
    }

    fn evaluate_network(
        &self,
        network: &Network,
        format: &Format,
        activity: &[LayerActivity],
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        let totals = network.totals();
        for (i, (a, o)) in activity.iter().zip(out.iter_mut()).enumerate() {
            self.count(network, &totals, i, format, a, o)?;
        }
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        self.assumption_list()
    }
}

impl PaperV1 {
    /// The actions of layer `layer`, with the network's `totals`.
    fn count(
        &self,
        network: &Network,
        totals: &NetworkTotals,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        let l = &network.layers[layer];
        if !l.is_weighted() {
            // The closed forms count synapses of weighted layers only.
            return Ok(());
        }
        let s = l.synapses() as f64;
        let f = self.quantity(self.fanin, network, totals, layer, true);
        let r = self.quantity(self.reuse, network, totals, layer, false);
        // The closed forms have no analog input: a direct-coded first layer is priced as if
        // its input fired at the layer's own rate (equal to every other layer's under a
        // uniform assumption).
        // They are written per synapse with the network's spike rate: the rate of the neurons
        // feeding the layer, not the events a pool between them forwards.
        let (rate, nonzero) = if activity.analog_input {
            (activity.output_rate, activity.output_nonzero)
        } else {
            (activity.source_rate, activity.source_nonzero)
        };
        let layer = Synapses {
            s,
            f,
            r,
            rate,
            rho: self.config.rho.unwrap_or(nonzero),
            sram: (self.config.sram_kib * 1024.0) as u64,
        };
        match (self.config.variant, format) {
            (PaperVariant::Classical, Format::Qnn(_)) => layer.classical_qnn(out),
            (PaperVariant::Classical, Format::Snn(snn)) => {
                layer.classical_snn(snn.timesteps as f64, out)
            }
            (PaperVariant::Spatial, Format::Qnn(_)) => layer.spatial_qnn(out),
            (PaperVariant::Spatial, Format::Snn(snn)) => {
                layer.spatial_snn(snn.timesteps as f64, out)
            }
        }
        Ok(())
    }

    fn assumption_list(&self) -> Vec<Assumption> {
        let q = |r: Resolved| match r {
            Resolved::Value(v) => v.to_string(),
            Resolved::Average => "network average".into(),
            Resolved::PerLayer => "per layer".into(),
        };
        vec![
            Assumption::new(
                "variant",
                match self.config.variant {
                    PaperVariant::Classical => "classical",
                    PaperVariant::Spatial => "spatial",
                },
                "the v1 closed forms, as actions",
            ),
            Assumption::new("F (synapses per neuron)", q(self.fanin), "the paper: 2395"),
            Assumption::new("R (DRAM reuse)", q(self.reuse), "the paper: 216"),
            Assumption::new(
                "ρ (baseline non-zero fraction)",
                self.config
                    .rho
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "from the activity".into()),
                "the paper: 0.45",
            ),
            Assumption::new(
                "operand width",
                "8 bits",
                "v1 prices every operation and access at 8 bits, whatever the format's widths",
            ),
            Assumption::new(
                "SRAM capacity",
                format!("{} KiB", self.config.sram_kib),
                "only capacity-dependent tables use it",
            ),
        ]
    }
}

/// One weighted layer as the closed forms see it.
struct Synapses {
    /// Synapses.
    s: f64,
    /// Fan-in F.
    f: f64,
    /// DRAM reuse factor R.
    r: f64,
    /// Spike rate s_r of the neurons feeding the layer.
    rate: f64,
    /// The baseline's non-zero fraction ρ.
    rho: f64,
    /// Capacity of the SRAM the accesses are priced at, bytes.
    sram: u64,
}

const ADD: ActionKind = ActionKind::compute(ComputeOp::Add, 8);
const MUL: ActionKind = ActionKind::compute(ComputeOp::Mul, 8);

impl Synapses {
    /// ρ·80.23 + 2020/R: four SRAM accesses, a multiply and an add per MAC; a DRAM read and
    /// an SRAM write per weight reload.
    fn classical_qnn(&self, out: &mut Actions) {
        let (s, r, sram) = (self.s, self.r, self.sram);
        let macs = s * self.rho;
        out.push(
            ActionKind::read(Memory::Sram, 8, sram),
            Category::Weights,
            macs,
        );
        out.push(
            ActionKind::read(Memory::Sram, 8, sram),
            Category::Activations,
            macs,
        );
        out.push(
            ActionKind::read(Memory::Sram, 8, sram),
            Category::PartialSums,
            macs,
        );
        out.push(
            ActionKind::write(Memory::Sram, 8, sram),
            Category::PartialSums,
            macs,
        );
        out.push(MUL, Category::Compute, macs);
        out.push(ADD, Category::Compute, macs);
        out.push(
            ActionKind::read(Memory::Dram, 8, 0),
            Category::Weights,
            s / r,
        );
        out.push(
            ActionKind::write(Memory::Sram, 8, sram),
            Category::Weights,
            s / r,
        );
    }

    /// T·s_r·(64.32 + 0.03/F) + T·64.35/F + (2·2020/R)·T/(T+1).
    fn classical_snn(&self, t: f64, out: &mut Actions) {
        let (s, f, r, sram) = (self.s, self.f, self.r, self.sram);
        let events = s * t * self.rate;
        out.push(
            ActionKind::Composite {
                name: CompositeName::new(CLASSICAL_SNN_EVENT),
            },
            Category::Membrane,
            events,
        );
        // Reset after each spike: T·s_r·0.03/F per synapse.
        out.push(ADD, Category::Compute, events / f);
        out.push(
            ActionKind::Composite {
                name: CompositeName::new(CLASSICAL_SNN_NEURON_STEP),
            },
            Category::Membrane,
            s * t / f,
        );
        let reload = s * 2.0 / r * t / (t + 1.0);
        out.push(
            ActionKind::read(Memory::Dram, 8, 0),
            Category::Weights,
            reload,
        );
        out.push(
            ActionKind::write(Memory::Sram, 8, sram),
            Category::Weights,
            reload,
        );
    }

    /// ρ·20.23: one move, a multiply and an add per MAC.
    fn spatial_qnn(&self, out: &mut Actions) {
        let macs = self.s * self.rho;
        out.push(
            ActionKind::Transfer {
                net: Interconnect::Link,
                bits: 8,
            },
            Category::Activations,
            macs,
        );
        out.push(MUL, Category::Compute, macs);
        out.push(ADD, Category::Compute, macs);
    }

    /// T·s_r·20.03 + T·40.06/F: a spike move and an add per event, a membrane read and
    /// write and two adds per neuron step.
    fn spatial_snn(&self, t: f64, out: &mut Actions) {
        let (s, f, sram) = (self.s, self.f, self.sram);
        let events = s * t * self.rate;
        out.push(
            ActionKind::Transfer {
                net: Interconnect::Link,
                bits: 1,
            },
            Category::Activations,
            events,
        );
        out.push(ADD, Category::Compute, events);
        let steps = s * t / f;
        out.push(
            ActionKind::read(Memory::Sram, 8, sram),
            Category::Membrane,
            steps,
        );
        out.push(
            ActionKind::write(Memory::Sram, 8, sram),
            Category::Membrane,
            steps,
        );
        out.push(ADD, Category::Compute, 2.0 * steps);
    }
}
