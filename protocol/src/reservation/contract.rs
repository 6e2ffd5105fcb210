//! The `Contract` custom resource: what a buyer bought (the Flavor as it was before the sale,
//! the partition, both parties, and the credentials to peer with the provider).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CONTRACT_KIND, RESERVATION_API_VERSION, TelemetryServer};
use crate::configuration::Configuration;
use crate::flavor::Flavor;
use crate::meta::ObjectMeta;
use crate::node::NodeIdentity;
use crate::phase::PhaseStatus;

/// A Contract object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// Always [`RESERVATION_API_VERSION`].
    pub api_version: String,
    /// Always [`CONTRACT_KIND`].
    pub kind: String,
    /// Object metadata; the name is the wire `contractID`.
    pub metadata: ObjectMeta,
    /// The terms.
    pub spec: ContractSpec,
    /// Phase (upstream's attempt to set `Active` is dropped by the status subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ContractStatus>,
}

impl Contract {
    /// A Contract with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: ContractSpec) -> Self {
        Self {
            api_version: RESERVATION_API_VERSION.to_owned(),
            kind: CONTRACT_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["flavor", "transactionID", "buyer", "seller", "buyerClusterID", "peeringTargetCredentials"]))
)]
#[serde(rename_all = "camelCase")]
pub struct ContractSpec {
    /// The Flavor bought, in its pre-sale state (embedded).
    pub flavor: Flavor,
    /// The transaction the purchase closed.
    #[serde(rename = "transactionID", alias = "transactionId", default)]
    pub transaction_id: String,
    /// The partition bought; absent means the whole flavor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// The consumer (with `additionalInformation.liqoID`).
    #[serde(default)]
    pub buyer: NodeIdentity,
    /// The provider (with `additionalInformation.liqoID`).
    #[serde(default)]
    pub seller: NodeIdentity,
    /// The buyer's Liqo cluster id.
    #[serde(rename = "buyerClusterID", alias = "buyerClusterId", default)]
    pub buyer_cluster_id: String,
    /// How the buyer peers with the provider.
    #[serde(default)]
    pub peering_target_credentials: LiqoCredentials,
    /// RFC 3339 expiry (informational; upstream: now + 365 d).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expiration_time: String,
    /// Free-form extra information.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_information: BTreeMap<String, String>,
    /// Network requests (unused upstream).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_requests: String,
    /// Where the buyer wants telemetry sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_telemetry_endpoint: Option<TelemetryServer>,
}

/// Liqo peering credentials, CR form (`{liqoID, kubeconfig}`; both keys always emitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["liqoID", "kubeconfig"]))
)]
pub struct LiqoCredentials {
    /// Liqo cluster id of the peering target.
    #[serde(rename = "liqoID", alias = "liqoId", alias = "liqoid", default)]
    pub liqo_id: String,
    /// Base64 kubeconfig.
    #[serde(default)]
    pub kubeconfig: String,
}

/// `status` of a Contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["phase"]))
)]
pub struct ContractStatus {
    /// Phase.
    #[serde(default)]
    pub phase: PhaseStatus,
}
