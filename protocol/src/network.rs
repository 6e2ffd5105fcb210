//! The `network.fluidos.eu` custom resources: `KnownCluster` (a remote node heard on the LAN or
//! through a broker, with its REAR address) and `Broker` (a RabbitMQ broker to exchange
//! advertisements with).

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

/// Kubernetes API group of `KnownCluster` and `Broker`.
pub const GROUP_NETWORK: &str = "network.fluidos.eu";
/// `apiVersion` of every `network.fluidos.eu` object.
pub const NETWORK_API_VERSION: &str = "network.fluidos.eu/v1alpha1";
/// `kind` of KnownCluster objects.
pub const KNOWN_CLUSTER_KIND: &str = "KnownCluster";
/// Plural resource name of KnownClusters.
pub const KNOWN_CLUSTER_PLURAL: &str = "knownclusters";
/// Short names of KnownClusters.
pub const KNOWN_CLUSTER_SHORT_NAMES: &[&str] = &["kclust", "kclusts"];
/// `kind` of Broker objects.
pub const BROKER_KIND: &str = "Broker";
/// Plural resource name of Brokers.
pub const BROKER_PLURAL: &str = "brokers";
/// Short names of Brokers.
pub const BROKER_SHORT_NAMES: &[&str] = &["broker", "brokers"];

/// Name of the KnownCluster of a remote node: `knowncluster-<nodeID>`.
pub fn known_cluster_name(node_id: &str) -> String {
    format!("knowncluster-{node_id}")
}

/// A KnownCluster object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownCluster {
    /// Always [`NETWORK_API_VERSION`].
    pub api_version: String,
    /// Always [`KNOWN_CLUSTER_KIND`].
    pub kind: String,
    /// Object metadata; the name is [`known_cluster_name`] of the remote node.
    pub metadata: ObjectMeta,
    /// Where the remote node listens.
    pub spec: KnownClusterSpec,
    /// Liveness times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NetworkTimes>,
}

impl KnownCluster {
    /// A KnownCluster with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: KnownClusterSpec) -> Self {
        Self {
            api_version: NETWORK_API_VERSION.to_owned(),
            kind: KNOWN_CLUSTER_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a KnownCluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["address"]))
)]
pub struct KnownClusterSpec {
    /// REAR address of the remote node, `host:port`.
    #[serde(default)]
    pub address: String,
}

/// `status` of a KnownCluster or a Broker (both keys always emitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["expirationTime", "lastUpdateTime"]))
)]
#[serde(rename_all = "camelCase")]
pub struct NetworkTimes {
    /// RFC 3339 time after which the entry is stale (or empty).
    #[serde(default)]
    pub expiration_time: String,
    /// RFC 3339 time of the last beacon (or empty).
    #[serde(default)]
    pub last_update_time: String,
}

/// A Broker object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Broker {
    /// Always [`NETWORK_API_VERSION`].
    pub api_version: String,
    /// Always [`BROKER_KIND`].
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// How to reach the broker.
    pub spec: BrokerSpec,
    /// Times (never written upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NetworkTimes>,
}

impl Broker {
    /// A Broker with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: BrokerSpec) -> Self {
        Self {
            api_version: NETWORK_API_VERSION.to_owned(),
            kind: BROKER_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Broker (every key required, all strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["address", "name", "clcert", "cacert", "role", "rule", "metric"]))
)]
pub struct BrokerSpec {
    /// Broker address.
    #[serde(default)]
    pub address: String,
    /// Broker name.
    #[serde(default)]
    pub name: String,
    /// Name of the Secret (namespace `fluidos`) holding the client `tls.crt`/`tls.key`.
    #[serde(default)]
    pub clcert: String,
    /// Name of the Secret (namespace `fluidos`) holding `CA_cert.pem`.
    #[serde(default)]
    pub cacert: String,
    /// `publisher`, `subscriber`, or anything else for both.
    #[serde(default)]
    pub role: String,
    /// Routing rule (a JSON document as a string).
    #[serde(default)]
    pub rule: String,
    /// Metric (a JSON document as a string).
    #[serde(default)]
    pub metric: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_cluster_round_trips() {
        let doc = json!({
            "apiVersion": "network.fluidos.eu/v1alpha1",
            "kind": "KnownCluster",
            "metadata": {"name": "knowncluster-46ltws9per", "namespace": "fluidos"},
            "spec": {"address": "172.18.0.7:30001"},
            "status": {"expirationTime": "2025-01-01T00:00:10Z", "lastUpdateTime": "2025-01-01T00:00:00Z"}
        });
        let k: KnownCluster = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(k.metadata.name, known_cluster_name("46ltws9per"));
        assert_eq!(k.spec.address, "172.18.0.7:30001");
        assert_eq!(serde_json::to_value(&k).unwrap(), doc);
    }

    #[test]
    fn broker_emits_every_required_key() {
        let b = Broker::new(
            ObjectMeta {
                name: "b".into(),
                ..ObjectMeta::default()
            },
            BrokerSpec::default(),
        );
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(
            v["spec"],
            json!({"address": "", "name": "", "clcert": "", "cacert": "", "role": "", "rule": "", "metric": ""})
        );
        assert_eq!(v["apiVersion"], NETWORK_API_VERSION);
        assert_eq!(v["kind"], BROKER_KIND);
        let again: Broker = serde_json::from_value(v).unwrap();
        assert_eq!(again, b);
    }
}
