//! Kubernetes-mode Local Resource Manager: every Node labelled `<label>=true` is offered as
//! one K8Slice Flavor (upstream reference §5.1, §3.3), kept up to date.
//!
//! Unlike upstream, the capacity offered is the node's `status.allocatable` **minus the
//! requests of the non-terminal pods bound to it** ([`capacity`]), not allocatable minus
//! instantaneous usage, and it is refreshed whenever the node or its pods change (upstream
//! writes a Flavor once and never again). The Flavor carries the label
//! `fluidos.eu/k8s-node=<node>` and a correct ownerReference (`v1`/`Node`, name, uid);
//! it is available while the node is labelled, `Ready` and not cordoned. A node that loses the
//! label or is deleted keeps its Flavor with `availability: false` (contracts may name it).
//!
//! Layers: [`capacity`] and [`flavor`] are pure; [`NodeFlavors`] reconciles one node from
//! plain Node/Pod objects against the [`Store`](crate::store::Store) (backend-neutral, written
//! only when [`crate::lrm::flavor::needs_write`] says the change is meaningful); `mirror`
//! keeps the watched Nodes and a per-node index of Pods; [`run`] is the thin watcher loop
//! that feeds the mirror and reconciles the touched nodes after a short debounce.
//!
//! Interaction with the REAR provider: the provider deducts capacity held or sold in memory
//! from whatever the Flavor says (`crate::rear::ledger`). Once a buyer runs pods on this
//! cluster (in its contract namespace), their requests lower the capacity written here **and**
//! the ledger still deducts the sold claim: the sold part is counted twice until the contract
//! ends. This module does not try to correct for that.

pub mod capacity;
pub mod flavor;
mod mirror;
mod pending;
mod reconcile;
#[cfg(test)]
mod test_objects;
mod watch;

use fluidos_protocol::node::NodeIdentity;

use crate::lrm::FlavorSettings;
use crate::store::StoreError;

pub use crate::lrm::Action;
pub use reconcile::NodeFlavors;
pub use watch::{DEBOUNCE, POD_FIELD_SELECTOR, RETRY_AFTER, run};

/// Settings of the Kubernetes-mode LRM.
#[derive(Debug, Clone)]
pub struct NodeFlavorSettings {
    /// Node label that must be `"true"` for the node to be offered.
    pub label: String,
    /// Namespace the Flavors live in.
    pub namespace: String,
    /// The hub's node identity (`providerID`, `owner`).
    pub hub: NodeIdentity,
    /// Price, partitionability and location.
    pub flavor: FlavorSettings,
    /// Relative cpu/memory/storage change that triggers a write.
    pub threshold: f64,
}

/// Why a node's Flavor could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum NodeFlavorsError {
    /// The store failed.
    #[error("flavor store operation failed")]
    Store(#[from] StoreError),
    /// The K8Slice data could not be encoded.
    #[error("cannot encode flavor type data")]
    Encode(#[from] serde_json::Error),
    /// Every generated name was taken.
    #[error("no free flavor name")]
    NoFreeName,
}
