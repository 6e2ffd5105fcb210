//! The `Transaction` custom resource: a reserve not yet purchased (consumer-side record; the
//! provider keeps its transactions in memory). Its name is the transaction id.

use serde::{Deserialize, Serialize};

use super::{RESERVATION_API_VERSION, TRANSACTION_KIND};
use crate::configuration::Configuration;
use crate::meta::ObjectMeta;
use crate::node::NodeIdentity;
use crate::phase::PhaseStatus;

/// A Transaction object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Always [`RESERVATION_API_VERSION`].
    pub api_version: String,
    /// Always [`TRANSACTION_KIND`].
    pub kind: String,
    /// Object metadata; the name is the transaction id.
    pub metadata: ObjectMeta,
    /// What was reserved, by whom.
    pub spec: TransactionSpec,
    /// Phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TransactionStatus>,
}

impl Transaction {
    /// A Transaction with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: TransactionSpec) -> Self {
        Self {
            api_version: RESERVATION_API_VERSION.to_owned(),
            kind: TRANSACTION_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["flavorID", "buyer", "clusterID"]))
)]
#[serde(rename_all = "camelCase")]
pub struct TransactionSpec {
    /// The reserved Flavor.
    #[serde(rename = "flavorID", alias = "flavorId", default)]
    pub flavor_id: String,
    /// The consumer.
    #[serde(default)]
    pub buyer: NodeIdentity,
    /// Buyer cluster id (required key; upstream's consumer writes `""`).
    #[serde(rename = "clusterID", alias = "clusterId", default)]
    pub cluster_id: String,
    /// The partition reserved; absent means the whole flavor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// RFC 3339 expiry (or empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expiration_time: String,
}

/// `status` of a Transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["phase"]))
)]
pub struct TransactionStatus {
    /// Phase.
    #[serde(default)]
    pub phase: PhaseStatus,
}
