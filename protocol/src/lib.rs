//! `fluidos-protocol`: the data exchanged by FLUIDOS programs, with no IO.
//!
//! * [`quantity`]: the Kubernetes `resource.Quantity` (parse, compare, add, format).
//! * [`meta`]: the Kubernetes object envelope (`apiVersion`, `kind`, `metadata`).
//! * [`node`]: node identities, in the CR form and in REAR's wire form.
//! * [`flavor`]: the `Flavor` custom resource and its K8Slice type data.
//! * [`agent`]: the agent ↔ hub messages (enrollment, certificate renewal, reports).
//! * [`identity`]: the URI SANs that name agents and nodes in certificates.
//! * [`token`]: the bootstrap token format (`<id>.<secret>@sha256:<ca hash>`).
//! * [`configuration`], [`phase`]: what a buyer asks for; the shared status vocabulary.
//! * [`rear`]: the REAR v2 wire messages (flavors, reserve, transaction, purchase, contract).
//! * [`partition`], [`service`]: partition arithmetic under a partitionability policy; Service flavor data.
//! * [`selector`]: selectors and filters, their evaluation, and the `filter[...]` query grammar.
//! * [`solver`], [`discovery`], [`reservation`], [`allocation`], [`network`], [`blueprint`]:
//!   the FLUIDOS custom resources of the consumer and provider flows (CR form).
//! * `schema` (feature `schema`): the JSON Schemas of those resources, for the hub's CRDs.
//!
//! This crate must not depend on tokio, hyper, rustls, kube, rusqlite or sysinfo: both the
//! edge agent and the hub link it, and the agent binary has a size budget. `schemars` is an
//! optional dependency behind the `schema` feature, which only the hub turns on.

pub mod agent;
pub mod allocation;
pub mod blueprint;
pub mod configuration;
pub mod discovery;
pub mod flavor;
pub mod identity;
pub mod meta;
pub mod network;
pub mod node;
pub mod partition;
pub mod phase;
pub mod quantity;
pub mod rear;
pub mod reservation;
#[cfg(feature = "schema")]
pub mod schema;
pub mod selector;
pub mod service;
pub mod solver;
pub mod token;

pub use quantity::Quantity;

/// Version prefix of the agent ↔ hub API; every agent path starts with it.
pub const AGENT_API_PREFIX: &str = "/v1";
/// `GET`: the hub CA certificate (PEM), served on the enrollment ALPN without a client certificate.
pub const PATH_CA: &str = "/v1/ca";
/// `POST` [`agent::EnrollRequest`] → [`agent::CertificateResponse`], on the enrollment ALPN.
pub const PATH_ENROLL: &str = "/v1/enroll";
/// `POST` [`agent::RenewRequest`] → [`agent::CertificateResponse`], over mutual TLS.
pub const PATH_RENEW: &str = "/v1/renew";
/// `POST` [`agent::ReportBatch`] → [`agent::ReportAck`], over mutual TLS.
pub const PATH_REPORTS: &str = "/v1/reports";

/// ALPN protocol an agent offers when it has no client certificate yet (enrollment only).
///
/// The agent API listener requires a client certificate for every other ALPN (`h2`,
/// `http/1.1`), so a client without a certificate is refused during the TLS handshake.
pub const ALPN_ENROLL: &[u8] = b"fluidos-enroll/1";

/// Largest request body the agent API accepts (bytes); larger bodies get 413.
pub const MAX_AGENT_BODY_BYTES: usize = 1024 * 1024;

/// Kubernetes API group of `Flavor`, `Solver`, `Allocation`, `ServiceBlueprint`.
pub const GROUP_NODECORE: &str = "nodecore.fluidos.eu";
/// The one CRD version upstream serves.
pub const VERSION_V1ALPHA1: &str = "v1alpha1";
/// Namespace upstream keeps every FLUIDOS object in.
pub const DEFAULT_NAMESPACE: &str = "fluidos";
