//! `fluidos-hub`: the FLUIDOS node for the edge.
//!
//! Component map:
//! * [`hub_identity`]: the hub's own node identity (domain, nodeID), persisted in the state dir.
//! * [`pki`]: the hub CA, its server certificate, CSR signing, peer-certificate identities.
//! * [`registry`]: bootstrap tokens, issued agent certificates, revocations, ingest counters.
//! * [`store`]: the resource store interface and its embedded SQLite backend.
//! * [`api`]: the agent API (one TLS port: enrollment ALPN, or mutual TLS for reports).
//! * [`ingest`]: pure sequence-number bookkeeping (dedupe, highest contiguous ack).
//! * [`lrm`]: the Local Resource Manager: one K8Slice Flavor per agent node.
//! * [`liveness`]: marks agents lost after three missed heartbeats.
//! * [`admin`]: `/healthz`, `/readyz`, `/metrics` on a plain-HTTP admin port.
//! * [`config`], [`cli`], [`telemetry`], [`shutdown`], [`server`], [`up`]: wiring.

pub mod admin;
pub mod api;
pub mod cli;
pub(crate) mod clock;
pub mod config;
pub mod consumer;
pub mod hub_identity;
pub mod ingest;
pub mod k8s;
pub mod liveness;
pub mod lrm;
pub mod pki;
pub mod rear;
pub mod registry;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod up;
