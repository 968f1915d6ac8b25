//! The extension points: [`Workload`], [`Architecture`] (and [`map_network`], which maps a
//! network on any of them), [`EnergyModel`](crate::EnergyModel) (in `energy`),
//! [`ActivitySource`] and [`Regularizer`].
//!
//! They are object safe and deal only in plain data from this crate, so the same trait objects
//! come from built-ins, from embedders registering at run time, and from dynamically loaded
//! plugins that wrap a C table of functions.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::action::Actions;
use crate::activity::{LayerActivity, OperatingPoint};
use crate::energy::EnergyModel;
use crate::error::{ActivityError, ArchError, ConfigError, WorkloadError};
use crate::format::Format;
use crate::mapping::{MapRequest, Mapped};
use crate::network::Network;

/// Produces the network to analyse.
pub trait Workload: Send + Sync + fmt::Debug {
    /// Builds the network (validated).
    fn network(&self) -> Result<Network, WorkloadError>;
}

/// A stated assumption: a parameter an architecture or analysis used, with its value and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assumption {
    /// Parameter name.
    pub key: String,
    /// Value as shown to the reader (with unit).
    pub value: String,
    /// Why this value, or what it means.
    pub note: String,
}

impl Assumption {
    /// Builds an assumption.
    pub fn new(key: impl Into<String>, value: impl fmt::Display, note: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.to_string(),
            note: note.into(),
        }
    }
}

/// Counts the actions a layer performs on one piece of hardware (Timeloop's half of the
/// split). Implementations must be pure functions of their inputs: the analysis calls them
/// millions of times during sweeps and root finding.
///
/// The analysis maps a network once per format ([`Architecture::map`], through
/// [`crate::map_network`]) and evaluates the mapping at every spike rate. An architecture that
/// searches mappings implements `map`; one whose per-layer evaluation is its own mapping
/// implements only `evaluate` and is wrapped in an adapter.
pub trait Architecture: Send + Sync + fmt::Debug {
    /// Checks that the network can be mapped with this format (capacity, mesh size, bit
    /// widths) before any layer is evaluated; errors name the layer.
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        let _ = (network, format);
        Ok(())
    }

    /// Appends the actions of layer `layer` of `network` for one inference to `out`.
    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError>;

    /// Evaluates every layer at once, appending each layer's actions to `out[layer]`.
    /// Implementations behind an expensive boundary (plugins) override it to cross once.
    fn evaluate_network(
        &self,
        network: &Network,
        format: &Format,
        activity: &[LayerActivity],
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        for (i, (a, o)) in activity.iter().zip(out.iter_mut()).enumerate() {
            self.evaluate(network, i, format, a, o)?;
        }
        Ok(())
    }

    /// The parameters this architecture used, with reasons, for reports.
    fn assumptions(&self) -> Vec<Assumption> {
        Vec::new()
    }

    /// Maps the network in the request's format for its activity, priced by its energy model.
    /// `None` (the default): the per-layer [`Architecture::evaluate`] is the mapping.
    fn map(&self, request: &MapRequest<'_>) -> Result<Option<Box<dyn Mapped>>, ArchError> {
        let _ = request;
        Ok(None)
    }

    /// What mapping `network` in `format` costs beyond the counting (a mapper's search
    /// state, loop nests in the report), so that a run's budget covers it; `None` (the
    /// default) for an architecture whose per-layer evaluation is its mapping.
    fn mapping_cost(
        &self,
        network: &Network,
        format: &Format,
    ) -> Option<crate::mapping::MappingCost> {
        let _ = (network, format);
        None
    }

    /// The prices this architecture is evaluated with, given the table a pipeline names: the
    /// table itself (the default), or the table with the hardware's own stated numbers
    /// (per-access energies, static power) answering for the places that state them.
    fn priced_by<'a>(&'a self, table: &'a dyn EnergyModel) -> Box<dyn EnergyModel + 'a> {
        Box::new(Forward(table))
    }
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

/// An architecture that decides once per network and format where everything goes (its
/// mapping), then counts each layer against that mapping. Implementing this instead of
/// [`Architecture`] gives `check`, `evaluate` and `evaluate_network` for free, with the
/// mapping made once per network evaluation.
pub trait MappedArchitecture: Send + Sync + fmt::Debug {
    /// What the architecture decides for a whole network in one format.
    type Mapping;

    /// Maps `network` in `format`; errors name the layer or the parameter at fault.
    fn map(&self, network: &Network, format: &Format) -> Result<Self::Mapping, ArchError>;

    /// Appends the actions of layer `layer` under `mapping` to `out`.
    fn count(
        &self,
        network: &Network,
        mapping: &Self::Mapping,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError>;

    /// Whether layer `layer` can be mapped at all (a filter larger than a buffer, say), for
    /// layers that can fail in `count` without failing the mapping.
    fn check_layer(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
    ) -> Result<(), ArchError> {
        let _ = (network, layer, format);
        Ok(())
    }

    /// [`Architecture::assumptions`].
    fn assumptions(&self) -> Vec<Assumption> {
        Vec::new()
    }
}

impl<A: MappedArchitecture> Architecture for A {
    fn check(&self, network: &Network, format: &Format) -> Result<(), ArchError> {
        self.map(network, format)?;
        (0..network.layers.len()).try_for_each(|i| self.check_layer(network, i, format))
    }

    fn evaluate(
        &self,
        network: &Network,
        layer: usize,
        format: &Format,
        activity: &LayerActivity,
        out: &mut Actions,
    ) -> Result<(), ArchError> {
        let mapping = self.map(network, format)?;
        self.count(network, &mapping, layer, format, activity, out)
    }

    fn evaluate_network(
        &self,
        network: &Network,
        format: &Format,
        activity: &[LayerActivity],
        out: &mut [Actions],
    ) -> Result<(), ArchError> {
        let mapping = self.map(network, format)?;
        for (i, (a, o)) in activity.iter().zip(out.iter_mut()).enumerate() {
            self.count(network, &mapping, i, format, a, o)?;
        }
        Ok(())
    }

    fn assumptions(&self) -> Vec<Assumption> {
        MappedArchitecture::assumptions(self)
    }
}

/// Context an activity source may need.
#[derive(Clone, Copy, Debug)]
pub struct ActivityContext<'a> {
    /// Directory relative paths are resolved against (the pipeline file's folder).
    pub base_dir: &'a Path,
    /// Time steps of the SNN being analysed.
    pub timesteps: u32,
    /// How the analysis assumes the input reaches the first layer; a source that measures
    /// activity must measure it the same way.
    pub input_coding: crate::network::InputCoding,
    /// The analysis settings: the neuron model a measurement must match, and how a stated
    /// activity ties the baseline's non-zero fraction to the spike rate (`twin`,
    /// `mean_level`).
    pub settings: &'a crate::settings::AnalysisSettings,
}

/// Supplies spike activity: a uniform assumption, a measured profile, or a live engine run.
pub trait ActivitySource: Send + Sync + fmt::Debug {
    /// The operating points to analyse for `network` at `ctx.timesteps`.
    fn operating_points(
        &self,
        network: &Network,
        ctx: &ActivityContext<'_>,
    ) -> Result<Vec<OperatingPoint>, ActivityError>;

    /// Whether the points depend on the number of time steps (a measured engine run does; a
    /// uniform assumption does not). Lets the analysis avoid recomputing them.
    fn depends_on_timesteps(&self) -> bool {
        false
    }

    /// What this source assumed, for reports.
    fn assumptions(&self) -> Vec<Assumption> {
        Vec::new()
    }

    /// How many operating points [`ActivitySource::operating_points`] will give per network
    /// and T, if known without doing the work: the run's budget is checked with it before
    /// anything runs (unknown counts as one).
    fn point_count(&self) -> Option<usize> {
        None
    }
}

/// Where in a network a regularizer is applied.
#[derive(Clone, Copy, Debug)]
pub struct RegularizedLayer<'a> {
    /// The network being trained.
    pub network: &'a Network,
    /// Index of the layer.
    pub index: usize,
    /// Time steps of the SNN the network will be converted to (the Q_T levels).
    pub timesteps: u32,
}

/// A training penalty that pushes sparsity (or weight structure). Works on flat `f32` slices
/// so the core stays free of any tensor library; gradients are added into `grad`.
pub trait Regularizer: Send + Sync + fmt::Debug {
    /// Called once before training `network` for an SNN of `timesteps` steps (what a
    /// regularizer needs from the registry it took when it was built). Errors name the
    /// offending key.
    fn prepare(&mut self, network: &Network, timesteps: u32) -> Result<(), ConfigError> {
        let _ = (network, timesteps);
        Ok(())
    }

    /// Penalty on a layer's quantized activations `a` (batch-flattened); adds ∂penalty/∂a to
    /// `grad` and returns the penalty.
    fn activation_penalty(&self, layer: &RegularizedLayer<'_>, a: &[f32], grad: &mut [f32]) -> f64 {
        let _ = (layer, a, grad);
        0.0
    }

    /// Penalty on a layer's weights `w` of shape `shape`; adds ∂penalty/∂w to `grad`.
    fn weight_penalty(
        &self,
        layer: &RegularizedLayer<'_>,
        w: &[f32],
        shape: &[usize],
        grad: &mut [f32],
    ) -> f64 {
        let _ = (layer, w, shape, grad);
        0.0
    }

    /// What `prepare` decided that the user should see before training (e.g. per-layer
    /// weights), one line; `None` when there is nothing to say.
    fn summary(&self) -> Option<String> {
        None
    }
}

/// A price table passed through unchanged (what [`Architecture::priced_by`] gives by default).
#[derive(Debug)]
struct Forward<'a>(&'a dyn EnergyModel);

impl EnergyModel for Forward<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn price(
        &self,
        action: &crate::action::ActionKind,
    ) -> Result<crate::energy::Price, crate::error::PriceError> {
        self.0.price(action)
    }

    fn sources(&self) -> Vec<crate::energy::PriceSource> {
        self.0.sources()
    }

    fn price_at(
        &self,
        place: crate::action::Place,
        action: &crate::action::ActionKind,
    ) -> Result<crate::energy::Price, crate::error::PriceError> {
        self.0.price_at(place, action)
    }
}
