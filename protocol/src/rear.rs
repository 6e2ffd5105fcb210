//! The REAR v2 wire messages exactly as upstream's Go node emits them (§2.2 of the reference):
//! flavors (`charateristics`, the country under `altitude`, lowercase type names), the reserve
//! request (`buyerID` holding a whole identity), transactions, the purchase request and
//! contracts; with conversions to and from the CR forms.
//!
//! Decoding also accepts the spec spellings (`characteristics`, `flavorId`, `country`, …) and
//! the lowercase forms of upstream's keys, as Go's case-insensitive decoder would.

mod flavor;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::configuration::Configuration;
use crate::node::WireNodeIdentity;

pub use flavor::{
    ConversionError, WireFlavor, WireFlavorType, WireK8SliceData, WireLocation,
    WirePartitionability, WirePolicies, WireProperties,
};

/// `GET`: every available flavor (200 array, 204 none).
pub const PATH_FLAVORS: &str = "/api/v2/flavors";
/// `GET` with `filter[...]` query: K8Slice flavors.
pub const PATH_FLAVORS_K8SLICE: &str = "/api/v2/flavors/k8slice";
/// `GET` with `filter[...]` query: Service flavors.
pub const PATH_FLAVORS_SERVICE: &str = "/api/v2/flavors/service";
/// `POST` a [`ReserveRequest`] → [`WireTransaction`].
pub const PATH_RESERVATIONS: &str = "/api/v2/reservations";
/// Prefix of `POST /api/v2/transactions/{id}/purchase`.
pub const PATH_TRANSACTIONS: &str = "/api/v2/transactions/";
/// Suffix of the purchase path.
pub const PURCHASE_SUFFIX: &str = "/purchase";

/// The purchase path of a transaction.
pub fn purchase_path(transaction_id: &str) -> String {
    format!("{PATH_TRANSACTIONS}{transaction_id}{PURCHASE_SUFFIX}")
}

/// The transaction id in a purchase path, or `None` when `path` is not one.
pub fn purchase_transaction_id(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix(PATH_TRANSACTIONS)?
        .strip_suffix(PURCHASE_SUFFIX)?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// `POST /api/v2/reservations` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReserveRequest {
    /// The flavor to reserve.
    #[serde(
        rename = "flavorID",
        alias = "flavorId",
        alias = "flavorid",
        alias = "FlavorID"
    )]
    pub flavor_id: String,
    /// The buyer (upstream's key holds a whole identity).
    #[serde(
        rename = "buyerID",
        alias = "buyerId",
        alias = "buyer",
        alias = "Buyer"
    )]
    pub buyer: WireNodeIdentity,
    /// What part of the flavor (absent: all of it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "Configuration"
    )]
    pub configuration: Option<Configuration>,
}

/// A reservation as the provider answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireTransaction {
    /// Transaction id (DNS-label safe).
    #[serde(
        rename = "transactionID",
        alias = "transactionId",
        alias = "transactionid"
    )]
    pub transaction_id: String,
    /// The reserved flavor.
    #[serde(rename = "flavorID", alias = "flavorId", alias = "flavorid")]
    pub flavor_id: String,
    /// What part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// The buyer (echoed without any kubeconfig).
    #[serde(alias = "Buyer")]
    pub buyer: WireNodeIdentity,
    /// Buyer cluster id (upstream: the buyer's Liqo id).
    #[serde(
        rename = "clusterID",
        alias = "clusterId",
        alias = "clusterid",
        default
    )]
    pub cluster_id: String,
    /// RFC 3339 expiry of the hold.
    #[serde(rename = "expirationTime", alias = "expirationtime", default)]
    pub expiration_time: String,
}

/// Peering credentials (`{clusterID, kubeconfig}`; kubeconfig is base64 YAML).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLiqoCredentials {
    /// Cluster id.
    #[serde(
        rename = "clusterID",
        alias = "clusterId",
        alias = "clusterid",
        default
    )]
    pub cluster_id: String,
    /// Base64 kubeconfig (empty when the provider grants no cluster access).
    #[serde(default)]
    pub kubeconfig: String,
}

/// Telemetry collector of a contract (`{endpoint, intents}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryEndpoint {
    /// Collector URL.
    #[serde(default)]
    pub endpoint: String,
    /// Intents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intents: Option<Vec<String>>,
}

/// `POST /api/v2/transactions/{id}/purchase` body (both members optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseRequest {
    /// Buyer credentials (Service flavors upstream; ignored by us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liqo_credentials: Option<WireLiqoCredentials>,
    /// Telemetry endpoint to record in the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_telemetry_endpoint: Option<TelemetryEndpoint>,
}

/// A contract as the provider answers a purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireContract {
    /// Contract id (= the Contract CR name on both sides).
    #[serde(rename = "contractID", alias = "contractId", alias = "contractid")]
    pub contract_id: String,
    /// The transaction it concludes.
    #[serde(
        rename = "transactionID",
        alias = "transactionId",
        alias = "transactionid"
    )]
    pub transaction_id: String,
    /// The flavor as sold (pre-sale state).
    pub flavor: WireFlavor,
    /// The buyer.
    #[serde(rename = "buyerID", alias = "buyerId", alias = "buyer")]
    pub buyer: WireNodeIdentity,
    /// Buyer cluster id.
    #[serde(rename = "buyerClusterID", alias = "buyerClusterId", default)]
    pub buyer_cluster_id: String,
    /// The seller.
    pub seller: WireNodeIdentity,
    /// Credentials for the buyer (from the provider's peering driver).
    #[serde(rename = "peeringTargetCredentials", default)]
    pub peering_target_credentials: WireLiqoCredentials,
    /// RFC 3339 end of the contract.
    #[serde(
        rename = "expirationTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expiration_time: Option<String>,
    /// Free-form extra information.
    #[serde(
        rename = "extraInformation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub extra_information: Option<BTreeMap<String, String>>,
    /// The partition bought (absent: the whole flavor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// Upstream's key for the CR field `networkRequests`.
    #[serde(
        rename = "networkAuthorizations",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub network_authorizations: Option<String>,
    /// Telemetry endpoint.
    #[serde(
        rename = "ingressTelemetryEndpoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ingress_telemetry_endpoint: Option<TelemetryEndpoint>,
}

#[cfg(test)]
#[path = "rear/tests.rs"]
mod tests;
