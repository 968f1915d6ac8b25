//! Map once, evaluate cheaply: an architecture maps a network in one format for the activity
//! it will mostly be asked about ([`Architecture::map`]), and the resulting [`Mapped`] network
//! is what sweeps and root finding evaluate at every spike rate.
//!
//! Mapping may be expensive (a loop-nest search per layer); evaluating a mapped network must
//! not be. Architectures whose per-layer evaluation is its own mapping (closed forms, plugins
//! speaking the per-layer interface) need not implement anything:
//! [`map_network`](crate::map_network) wraps them in an adapter whose mapping is trivial.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::action::Actions;
use crate::activity::LayerActivity;
use crate::energy::EnergyModel;
use crate::error::ArchError;
use crate::format::Format;
use crate::network::Network;

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
    /// Further activities (each one entry per layer) the mapped network must be at its best
    /// at: an architecture that searches mappings keeps, per layer, the best mapping for each
    /// and evaluates every activity with the best of those (empty: `activity` alone). An
    /// analysis that walks a range of spike rates passes anchors spread over the range, so
    /// that every rate is priced at each format's best, whichever rates a pipeline lists.
    pub anchors: &'a [Vec<LayerActivity>],
    /// A network mapped before for a related request (other prices, other parameters of the
    /// same chip): its mappings that keep this request's pins are the search's starting
    /// points, which it proves locally optimal or improves, instead of searching from scratch
    /// (from scratch when none does). `None`: search from scratch.
    pub warm: Option<&'a dyn Mapped>,
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

    /// The mapping of each layer that [`Mapped::evaluate`] uses at `activity` (one entry per
    /// layer): where a layer keeps several mappings (one per anchor of its request), the one
    /// best there.
    fn layers_at(&self, activity: &[LayerActivity]) -> Vec<LayerMapping> {
        let _ = activity;
        self.layers()
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
