//! Map once, evaluate cheaply: an architecture maps a network in one format for the activity
//! it will mostly be asked about ([`Architecture::map`]), and the resulting [`Mapped`] network
//! is what sweeps and root finding evaluate at every spike rate.
//!
//! Mapping may be expensive (a loop-nest search per layer); evaluating a mapped network must
//! not be. Architectures whose per-layer evaluation is its own mapping (closed forms, plugins
//! speaking the per-layer interface) need not implement anything: [`map_network`] wraps them
//! in an adapter whose mapping is trivial.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::action::Actions;
use crate::activity::LayerActivity;
use crate::energy::EnergyModel;
use crate::error::ArchError;
use crate::format::Format;
use crate::network::Network;
use crate::traits::Architecture;

/// What a mapper minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Energy per inference (dynamic plus leakage).
    #[default]
    Energy,
    /// Latency per inference.
    Latency,
    /// Energy × latency.
    Edp,
}

impl Objective {
    /// Kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Energy => "energy",
            Objective::Latency => "latency",
            Objective::Edp => "edp",
        }
    }
}

/// What an architecture maps a network for.
#[derive(Clone, Copy, Debug)]
pub struct MapRequest<'a> {
    /// The network.
    pub network: &'a Network,
    /// The format every layer runs in.
    pub format: &'a Format,
    /// Per layer, the activity the mapping is chosen for (the operating point, or a
    /// break-even crossing): a mapping good at 5 % spikes may be poor at 50 %.
    pub activity: &'a [LayerActivity],
    /// The prices that will price the result, so the search minimizes what is reported.
    pub energy: &'a dyn EnergyModel,
    /// What to minimize.
    pub objective: Objective,
}

/// A network mapped in one format: cheap to evaluate at any activity.
pub trait Mapped: Send + Sync + fmt::Debug {
    /// Appends the actions of every layer at `activity` to `out[layer]` and sets each layer's
    /// latency where the architecture models time. `activity` and `out` have one entry per
    /// layer.
    fn evaluate(&self, activity: &[LayerActivity], out: &mut [Actions]) -> Result<(), ArchError>;

    /// The mapping of each layer, for reports; empty when the architecture's rules are its
    /// mapping.
    fn layers(&self) -> Vec<LayerMapping> {
        Vec::new()
    }

    /// The mapped network as its own type, for tools that read an architecture's mapping
    /// records beyond [`Mapped::layers`] (`snnergy map` exports them); `None` when the
    /// architecture keeps no such records.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// One layer's mapping as reports show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerMapping {
    /// Layer name.
    pub layer: String,
    /// The dataflow family in words ("event-driven scatter, time-batched, weights stationary
    /// in the PE registers").
    pub dataflow: String,
    /// Every choice of the mapping in words: what stays where across which loops, multicast,
    /// formats, utilization.
    pub summary: String,
    /// The loop nest, one loop per line (Timeloop's notation, with T).
    pub loop_nest: String,
    /// The hardware the layer was mapped on (a chip, or the region of it a rule gave the
    /// layer).
    pub hardware: String,
    /// Input and output densities the mapping was chosen for.
    pub mapped_for: [f64; 2],
    /// Mappings evaluated to choose it (1 for a pinned one).
    pub evaluated: u64,
}

/// Maps `request.network` on `arch`: the architecture's own mapping, or, for architectures
/// that evaluate layer by layer, an adapter that calls [`Architecture::evaluate_network`].
pub fn map_network<'a>(
    arch: &'a dyn Architecture,
    request: &MapRequest<'_>,
) -> Result<Box<dyn Mapped + 'a>, ArchError> {
    match arch.map(request)? {
        Some(m) => Ok(m),
        None => Ok(Box::new(PerLayer {
            arch,
            network: request.network.clone(),
            format: *request.format,
        })),
    }
}

/// The trivial mapping: every evaluation is the architecture's per-layer evaluation.
struct PerLayer<'a> {
    arch: &'a dyn Architecture,
    network: Network,
    format: Format,
}

impl fmt::Debug for PerLayer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerLayer")
            .field("arch", &self.arch)
            .field("network", &self.network.name)
            .finish()
    }
}

impl Mapped for PerLayer<'_> {
    fn evaluate(&self, activity: &[LayerActivity], out: &mut [Actions]) -> Result<(), ArchError> {
        self.arch
            .evaluate_network(&self.network, &self.format, activity, out)
    }
}

/// What mapping a network costs beyond the counting, for a run's budget.
#[derive(Clone, Debug, PartialEq)]
pub struct MappingCost {
    /// Peak memory of the mapping (a mapper's search state), bytes.
    pub memory_bytes: f64,
    /// What holds it: the layer, the chip and the arrays that set its size.
    pub what: String,
    /// Storage levels the mappings have (each a line of every layer's loop nest in reports).
    pub levels: usize,
}
