//! The `Allocation` custom resource (`nodecore.fluidos.eu/v1alpha1`): the use of one bought
//! Contract, on the provider (resources set aside) and on the consumer (peering established).
//!
//! [`AllocationStatus`] decodes any string: an unknown or empty value becomes
//! [`AllocationStatus::Inactive`], which is what upstream's controller turns it into anyway
//! ("status not in the known set → Inactive"), so objects from other writers never fail to load.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::meta::ObjectMeta;
use crate::phase::GenericRef;
use crate::solver::{NODECORE_API_VERSION, is_false};

/// `kind` of Allocation objects.
pub const ALLOCATION_KIND: &str = "Allocation";
/// Plural resource name of Allocations.
pub const ALLOCATION_PLURAL: &str = "allocations";
/// Short names of Allocations.
pub const ALLOCATION_SHORT_NAMES: &[&str] = &["alloc", "allocs"];

/// The first `len` hex digits of the SHA-256 of `s` (at most 64).
pub(crate) fn sha256_hex_prefix(s: &str, len: usize) -> String {
    let mut hex = hex::encode(Sha256::digest(s.as_bytes()));
    hex.truncate(len);
    hex
}

/// Upstream's Allocation name: `allocation-<flavorID>-<sha256hex(flavorID)[0:4]>` (dots kept).
pub fn allocation_name(flavor_id: &str) -> String {
    format!("allocation-{flavor_id}-{}", sha256_hex_prefix(flavor_id, 4))
}

/// Our Allocation name, unique per sale of a partition:
/// `allocation-<flavorID>-<sha256hex(transactionID)[0:8]>` (dots kept).
pub fn allocation_name_for(flavor_id: &str, transaction_id: &str) -> String {
    format!(
        "allocation-{flavor_id}-{}",
        sha256_hex_prefix(transaction_id, 8)
    )
}

/// An Allocation object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    /// Always [`NODECORE_API_VERSION`].
    pub api_version: String,
    /// Always [`ALLOCATION_KIND`].
    pub kind: String,
    /// Object metadata; the name is [`allocation_name`] (or [`allocation_name_for`]).
    pub metadata: ObjectMeta,
    /// Which Contract is being used.
    pub spec: AllocationSpec,
    /// Where the allocation stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AllocationObjectStatus>,
}

impl Allocation {
    /// An Allocation with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: AllocationSpec) -> Self {
        Self {
            api_version: NODECORE_API_VERSION.to_owned(),
            kind: ALLOCATION_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of an Allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AllocationSpec {
    /// Forwarding flag (unused upstream).
    #[serde(default, skip_serializing_if = "is_false")]
    pub forwarding: bool,
    /// The Contract this allocation uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<GenericRef>,
}

/// `status` of an Allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AllocationObjectStatus {
    /// The state (`status.status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AllocationStatus>,
    /// RFC 3339 time of the last change (or empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_update_time: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// What the allocation produced (a ForeignCluster, a credentials Secret, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<GenericRef>,
}

/// The state of an Allocation, as upstream spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AllocationStatus {
    /// In use.
    Active,
    /// Resources reserved, waiting for the peering.
    Provisioning,
    /// Service resources being created.
    ResourceCreation,
    /// Peering in progress.
    Peering,
    /// Released (never set upstream).
    Released,
    /// Not started; also what unknown or empty strings decode as.
    #[default]
    Inactive,
    /// Failed (terminal).
    Error,
}

impl AllocationStatus {
    /// Every state, in upstream's order.
    pub const ALL: [Self; 7] = [
        Self::Active,
        Self::Provisioning,
        Self::ResourceCreation,
        Self::Peering,
        Self::Released,
        Self::Inactive,
        Self::Error,
    ];

    /// Upstream's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Provisioning => "Provisioning",
            Self::ResourceCreation => "ResourceCreation",
            Self::Peering => "Peering",
            Self::Released => "Released",
            Self::Inactive => "Inactive",
            Self::Error => "Error",
        }
    }

    /// The state upstream spells `s`; anything else is [`AllocationStatus::Inactive`].
    pub fn from_name(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .unwrap_or_default()
    }
}

impl std::fmt::Display for AllocationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AllocationStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AllocationStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from_name(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn appendix_b() -> serde_json::Value {
        json!({
            "apiVersion": "nodecore.fluidos.eu/v1alpha1",
            "kind": "Allocation",
            "metadata": {"name": "allocation-fluidos.eu-k8slice-9b1c-c9c6", "namespace": "fluidos"},
            "spec": {"contract": {"name": "contract-fluidos-eu-k8slice-9b1c-c9c6", "namespace": "fluidos"}},
            "status": {
                "status": "Active",
                "message": "Allocation is now Active",
                "lastUpdateTime": "2025-05-18T10:00:20Z",
                "resourceRef": {"name": "fc-40585c34", "kind": "ForeignCluster", "apiVersion": "core.liqo.io/v1beta1"}
            }
        })
    }

    #[test]
    fn appendix_b_allocation_round_trips() {
        let a: Allocation = serde_json::from_value(appendix_b()).unwrap();
        let status = a.status.as_ref().unwrap();
        assert_eq!(status.status, Some(AllocationStatus::Active));
        assert_eq!(status.resource_ref.as_ref().unwrap().kind, "ForeignCluster");
        assert_eq!(
            a.spec.contract.as_ref().unwrap().name,
            "contract-fluidos-eu-k8slice-9b1c-c9c6"
        );
        assert_eq!(a.metadata.name, allocation_name("fluidos.eu-k8slice-9b1c"));
        assert_eq!(serde_json::to_value(&a).unwrap(), appendix_b());
    }

    #[test]
    fn minimal_allocation_decodes() {
        let min = json!({
            "apiVersion": "nodecore.fluidos.eu/v1alpha1",
            "kind": "Allocation",
            "metadata": {"name": "a"},
            "spec": {}
        });
        let a: Allocation = serde_json::from_value(min.clone()).unwrap();
        let meta = ObjectMeta {
            name: "a".into(),
            ..ObjectMeta::default()
        };
        assert_eq!(a, Allocation::new(meta, AllocationSpec::default()));
        assert_eq!(serde_json::to_value(&a).unwrap(), min);
    }

    #[test]
    fn unknown_states_decode_as_inactive() {
        let s: AllocationObjectStatus =
            serde_json::from_value(json!({"status": "Reserved"})).unwrap();
        assert_eq!(s.status, Some(AllocationStatus::Inactive));
        let s: AllocationObjectStatus = serde_json::from_value(json!({"status": ""})).unwrap();
        assert_eq!(s.status, Some(AllocationStatus::Inactive));
        for st in AllocationStatus::ALL {
            let v = serde_json::to_value(st).unwrap();
            assert_eq!(v, json!(st.as_str()));
            assert_eq!(serde_json::from_value::<AllocationStatus>(v).unwrap(), st);
        }
    }

    #[test]
    fn names_hash_the_flavor_or_the_transaction() {
        assert_eq!(
            allocation_name("fluidos.eu-k8slice-9b1c"),
            "allocation-fluidos.eu-k8slice-9b1c-c9c6"
        );
        let tx = "37b53e2ba2b7b6ecb96bd56989baecf2-1700151404800502383";
        let name = allocation_name_for("fluidos.eu-k8slice-9b1c", tx);
        assert_eq!(
            name,
            format!(
                "allocation-fluidos.eu-k8slice-9b1c-{}",
                sha256_hex_prefix(tx, 8)
            )
        );
        assert_eq!(name.len(), "allocation-fluidos.eu-k8slice-9b1c-".len() + 8);
        assert_ne!(
            name,
            allocation_name_for("fluidos.eu-k8slice-9b1c", "other")
        );
    }
}
