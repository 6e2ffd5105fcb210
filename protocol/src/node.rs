//! Node identities: who a FLUIDOS node is and where its REAR gateway listens.
//!
//! Two spellings exist upstream: the CR form (`domain`, `nodeID`, `ip`) stored in custom
//! resources, and the REAR wire form (`ID`, `IP`, `domain`). Both are here, with conversions.
//! Decoding accepts the other common spellings, as Go's case-insensitive decoder would.

use serde::{Deserialize, Serialize};

/// Extra identity data (`additionalInformation`), CR form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AdditionalInformation {
    /// Liqo cluster id of the node, when known.
    #[serde(
        rename = "liqoID",
        alias = "liqoId",
        alias = "liqoid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub liqo_id: Option<String>,
}

/// A node identity as stored in custom resources (`spec.owner` of a Flavor, etc.).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["domain", "nodeID", "ip"]))
)]
pub struct NodeIdentity {
    /// FLUIDOS domain, e.g. `fluidos.eu`.
    #[serde(default)]
    pub domain: String,
    /// Node id (upstream: 10 random lowercase alphanumerics).
    #[serde(rename = "nodeID", alias = "nodeId", alias = "nodeid", default)]
    pub node_id: String,
    /// REAR gateway address, `host:port`.
    #[serde(default)]
    pub ip: String,
    /// Optional extra information.
    #[serde(
        rename = "additionalInformation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub additional_information: Option<AdditionalInformation>,
}

/// Extra identity data on the REAR wire (`additionalInformation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireAdditionalInformation {
    /// Liqo cluster id.
    #[serde(
        rename = "liqoID",
        alias = "liqoId",
        alias = "liqoid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub liqo_id: Option<String>,
    /// Base64 kubeconfig (upstream sends one; we never do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
}

/// A node identity in REAR's wire form (`{"ID","IP","domain"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireNodeIdentity {
    /// Node id.
    #[serde(
        rename = "ID",
        alias = "id",
        alias = "Id",
        alias = "nodeID",
        alias = "nodeId"
    )]
    pub id: String,
    /// REAR gateway address, `host:port`.
    #[serde(rename = "IP", alias = "ip", alias = "Ip")]
    pub ip: String,
    /// FLUIDOS domain.
    #[serde(alias = "Domain")]
    pub domain: String,
    /// Optional extra information.
    #[serde(
        rename = "additionalInformation",
        alias = "AdditionalInformation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub additional_information: Option<WireAdditionalInformation>,
}

impl From<&NodeIdentity> for WireNodeIdentity {
    fn from(n: &NodeIdentity) -> Self {
        Self {
            id: n.node_id.clone(),
            ip: n.ip.clone(),
            domain: n.domain.clone(),
            additional_information: n.additional_information.as_ref().map(|a| {
                WireAdditionalInformation {
                    liqo_id: a.liqo_id.clone(),
                    kubeconfig: None,
                }
            }),
        }
    }
}

impl From<&WireNodeIdentity> for NodeIdentity {
    fn from(n: &WireNodeIdentity) -> Self {
        Self {
            domain: n.domain.clone(),
            node_id: n.id.clone(),
            ip: n.ip.clone(),
            additional_information: n.additional_information.as_ref().map(|a| {
                AdditionalInformation {
                    liqo_id: a.liqo_id.clone(),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_identity_uses_upstream_keys() {
        let n = NodeIdentity {
            domain: "fluidos.eu".into(),
            node_id: "46ltws9per".into(),
            ip: "172.18.0.7:30001".into(),
            additional_information: None,
        };
        let wire = serde_json::to_value(WireNodeIdentity::from(&n)).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"ID": "46ltws9per", "IP": "172.18.0.7:30001", "domain": "fluidos.eu"})
        );
        let cr = serde_json::to_value(&n).unwrap();
        assert_eq!(
            cr,
            serde_json::json!({"domain": "fluidos.eu", "nodeID": "46ltws9per", "ip": "172.18.0.7:30001"})
        );
    }

    #[test]
    fn wire_identity_accepts_other_spellings() {
        let w: WireNodeIdentity = serde_json::from_str(
            r#"{"id":"a","ip":"h:1","domain":"d","additionalInformation":{"liqoId":"x"}}"#,
        )
        .unwrap();
        let n = NodeIdentity::from(&w);
        assert_eq!(n.node_id, "a");
        assert_eq!(
            n.additional_information.unwrap().liqo_id.as_deref(),
            Some("x")
        );
    }
}
