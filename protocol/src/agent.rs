//! Messages between `fluidos-agent` and `fluidos-hub` (paths in the crate root).
//!
//! Enrollment and renewal return a [`CertificateResponse`]; reports travel in a
//! [`ReportBatch`] of sequenced [`NodeReport`]s and are answered with a [`ReportAck`].
//! Unknown keys are ignored on input so that an older hub accepts a newer agent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::flavor::Location;
use crate::node::NodeIdentity;

/// `POST /v1/enroll`: a bootstrap token and a CSR for a locally generated key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRequest {
    /// `<id>.<secret>` part of the bootstrap token (the CA hash stays on the agent).
    pub token: String,
    /// Requested node name (DNS-1123 label; see [`crate::identity::valid_node_name`]).
    pub node_name: String,
    /// PKCS#10 certificate signing request, PEM.
    pub csr_pem: String,
}

/// `POST /v1/renew`: a CSR signed by the agent's (possibly new) key, sent over mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewRequest {
    /// PKCS#10 certificate signing request, PEM.
    pub csr_pem: String,
}

/// A client certificate issued by the hub (enrollment or renewal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateResponse {
    /// Node name the certificate names (URI SAN `fluidos://<domain>/agents/<node>`).
    pub node_name: String,
    /// The client certificate, PEM.
    pub certificate_pem: String,
    /// The hub CA certificate, PEM.
    pub ca_pem: String,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Interval at which the hub expects reports, seconds.
    pub heartbeat_seconds: u64,
    /// The hub's own node identity.
    pub hub: NodeIdentity,
}

/// `GET /v1/ca`: the hub CA, fetched before the agent trusts the hub (checked against the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaBundle {
    /// The hub CA certificate, PEM.
    pub ca_pem: String,
}

/// `POST /v1/reports`: reports in sequence order, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportBatch {
    /// The reporting node (must equal the node of the client certificate).
    pub node_name: String,
    /// Lowest sequence number the agent still holds: anything below it was acknowledged or
    /// dropped by the outbox bounds, so the hub may skip a gap below this number.
    pub resume_from: u64,
    /// Reports the outbox dropped (oldest first) because of its age or size bound, in total.
    pub dropped_total: u64,
    /// The reports, ascending `seq`.
    pub reports: Vec<NodeReport>,
}

/// One report: a sample taken at a time, with its sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    /// Monotonically increasing per agent, starting at 1, never reused.
    pub seq: u64,
    /// When the sample was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub sampled_at: OffsetDateTime,
    /// The sample.
    pub sample: ResourceSample,
}

/// The hub's answer to a [`ReportBatch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportAck {
    /// Highest contiguous sequence number the hub has; the agent prunes up to it.
    pub acked_seq: u64,
    /// Reports of this batch the hub accepted as new.
    pub accepted: u32,
    /// Reports of this batch the hub had already (ignored).
    pub duplicates: u32,
    /// Interval at which the hub expects reports, seconds.
    pub heartbeat_seconds: u64,
}

/// What an agent measured on its board, plus what it offers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSample {
    /// Host name.
    pub hostname: String,
    /// Kubernetes architecture name: `amd64`, `arm64`, `arm`, or the raw name otherwise.
    pub architecture: String,
    /// OS name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// Boot time, Unix seconds.
    pub boot_time: u64,
    /// CPU.
    pub cpu: CpuSample,
    /// Memory.
    pub memory: MemorySample,
    /// Root filesystem.
    pub storage: StorageSample,
    /// GPUs detected without vendor daemons.
    #[serde(default)]
    pub gpus: Vec<GpuSample>,
    /// Capacity offered: measured capacity minus the configured system reserve.
    pub offered: OfferedResources,
    /// Static labels from the agent config.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Location from the agent config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// CPU figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuSample {
    /// Logical CPUs.
    pub logical_cpus: u32,
    /// Global usage, percent (0–100).
    pub usage_percent: f32,
    /// Load averages (1, 5, 15 minutes).
    pub load: [f64; 3],
}

/// Memory figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemorySample {
    /// Total bytes.
    pub total_bytes: u64,
    /// Available bytes.
    pub available_bytes: u64,
}

/// Root filesystem figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSample {
    /// Capacity bytes.
    pub capacity_bytes: u64,
    /// Available bytes.
    pub available_bytes: u64,
}

/// A GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuSample {
    /// Vendor, e.g. `nvidia`.
    pub vendor: String,
    /// Model name.
    pub model: String,
    /// Cores, when known (0 otherwise).
    #[serde(default)]
    pub cores: u64,
    /// Memory bytes, when known (0 otherwise; Jetson GPUs share system memory).
    #[serde(default)]
    pub memory_bytes: u64,
}

/// Capacity the board offers to FLUIDOS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferedResources {
    /// CPU, millicores.
    pub cpu_millis: u64,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// Storage, bytes.
    pub storage_bytes: u64,
    /// Pods.
    pub pods: u64,
}

/// The JSON error body of every 4xx/5xx answer of the agent API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// Stable machine-readable code, e.g. `bad_json`, `forbidden`, `token_invalid`.
    pub code: String,
}

#[cfg(test)]
#[path = "agent/tests.rs"]
mod tests;
