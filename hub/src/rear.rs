//! REAR v2 between FLUIDOS nodes: the provider gateway (list, reserve, purchase) and the
//! consumer-side client.
//!
//! * [`trust`]: mutual-TLS configurations for REAR (node certificate, peer CA bundles, pinned
//!   fingerprints) and the peer node identity of a connection.
//! * [`client`]: an HTTP(S) client for peers with per-request deadlines and bounded bodies.

pub mod calls;
pub mod catalog;
pub mod client;
pub mod gateway;
pub mod ledger;
pub mod node;
pub mod peering;
pub mod provider;
pub mod trust;
