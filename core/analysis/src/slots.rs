//! What an analysis is run on: the workloads' networks and the architectures with the price
//! tables that price them, each with the label reports show.

use std::sync::Arc;

use snnergy_core::energy::EnergyModel;
use snnergy_core::network::Network;
use snnergy_core::traits::Architecture;

/// An architecture with the energy model that prices it.
#[derive(Debug, Clone)]
pub struct ArchSlot {
    /// Label in reports (the `name` key, or the type name).
    pub label: String,
    /// Registered type name.
    pub type_name: String,
    /// The architecture.
    pub arch: Arc<dyn Architecture>,
    /// Its energy model.
    pub energy: Arc<dyn EnergyModel>,
    /// The parameter table it was built from (without `type`, `name`, `energy`), so studies
    /// can rebuild it with one parameter changed; `None` when it was built in code.
    pub params: Option<toml::Table>,
}

/// A workload's network with its label.
#[derive(Debug, Clone)]
pub struct WorkloadSlot {
    /// Label in reports.
    pub label: String,
    /// The network.
    pub network: Network,
}
