//! The Kubernetes object envelope shared by every FLUIDOS resource: `apiVersion`, `kind` and a
//! subset of `metadata` (what the hub's stores read and write). Unknown metadata keys are ignored
//! on input, so objects written by Kubernetes or by the upstream Go node still decode.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `metadata` of a Kubernetes object (the fields FLUIDOS uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name, unique per kind and namespace.
    #[serde(default)]
    pub name: String,
    /// Namespace (FLUIDOS keeps everything in `fluidos` by default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Opaque version for optimistic concurrency; set by the store on every write.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Unique id assigned by the store at creation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Incremented by the store when the spec changes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: i64,
    /// RFC 3339 creation time, set by the store.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub creation_timestamp: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Owner references (upstream names the Kubernetes node of a Flavor here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// One entry of `metadata.ownerReferences`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner (empty when the owner is not a Kubernetes object, e.g. an agent board).
    #[serde(default)]
    pub uid: String,
}
