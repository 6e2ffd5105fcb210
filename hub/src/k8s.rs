//! Kubernetes mode: the FLUIDOS CRDs, the Kubernetes-backed store, Nodes → Flavors, the
//! peering driver that hands buyers namespace-scoped credentials, and leader election.
//!
//! [`resources`] is the one table of where each FLUIDOS kind lives on an API server (group,
//! version, plural); everything else here builds on it.

pub mod connect;
pub mod crds;
pub mod leader;
pub mod nodes;
pub mod peering;
pub mod resources;
pub mod store;
