//! The `Flavor` custom resource (`nodecore.fluidos.eu/v1alpha1`) with K8Slice type data, in the
//! CR form upstream stores and in the REAR wire form (`charateristics`, `altitude`, lowercase type
//! names: upstream's spellings, kept on purpose for compatibility).
//!
//! `typeData` stays a JSON value in the envelope (it is preserve-unknown in the CRD); the typed
//! K8Slice view is [`K8SliceTypeData`], obtained with [`FlavorType::k8slice`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::node::NodeIdentity;
use crate::quantity::Quantity;

/// `apiVersion` of Flavor objects.
pub const FLAVOR_API_VERSION: &str = "nodecore.fluidos.eu/v1alpha1";
/// `kind` of Flavor objects.
pub const FLAVOR_KIND: &str = "Flavor";
/// CR type identifier of Kubernetes slices.
pub const TYPE_K8SLICE: &str = "K8Slice";
/// Wire type name of Kubernetes slices.
pub const WIRE_TYPE_K8SLICE: &str = "k8slice";
/// `networkPropertyType` upstream's Local Resource Manager always sets.
pub const NETWORK_PROPERTY: &str = "networkProperty";

/// A Flavor object (CR form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
// Its schema is used only where it is embedded in a PeeringCandidate or a Contract, and there upstream
// requires none of its keys.
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = []))
)]
#[serde(rename_all = "camelCase")]
pub struct Flavor {
    /// [`FLAVOR_API_VERSION`]; empty (and then omitted) when embedded in a PeeringCandidate or
    /// a Contract, as Go writes those.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// [`FLAVOR_KIND`]; empty (and then omitted) when embedded, like `api_version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata; the name is the REAR `flavorID`.
    pub metadata: ObjectMeta,
    /// What is offered.
    pub spec: FlavorSpec,
    /// Times (never written upstream; emitted with empty strings when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FlavorStatus>,
}

impl Flavor {
    /// A Flavor with the right `apiVersion`/`kind` around `metadata` and `spec`.
    pub fn new(metadata: ObjectMeta, spec: FlavorSpec) -> Self {
        Self {
            api_version: FLAVOR_API_VERSION.to_owned(),
            kind: FLAVOR_KIND.to_owned(),
            metadata,
            spec,
            status: None,
        }
    }
}

/// `spec` of a Flavor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["providerID", "flavorType", "owner", "price", "availability"]))
)]
#[serde(rename_all = "camelCase")]
pub struct FlavorSpec {
    /// Node id of the provider.
    #[serde(rename = "providerID", alias = "providerId")]
    pub provider_id: String,
    /// Type identifier and type data.
    pub flavor_type: FlavorType,
    /// The node that sells it.
    pub owner: NodeIdentity,
    /// Price (strings; empty by default).
    pub price: Price,
    /// `true` when it can be sold.
    pub availability: bool,
    /// Upstream always sets `networkProperty`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_property_type: Option<String>,
    /// Where the resources are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// `spec.flavorType`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["typeIdentifier", "typeData"]))
)]
#[serde(rename_all = "camelCase")]
pub struct FlavorType {
    /// `K8Slice`, `VM`, `Service` or `Sensor`.
    pub type_identifier: String,
    /// Type-specific data (preserve-unknown JSON).
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::free_form_object")
    )]
    #[serde(default)]
    pub type_data: serde_json::Value,
}

impl FlavorType {
    /// A K8Slice flavor type.
    pub fn from_k8slice(data: &K8SliceTypeData) -> Result<Self, serde_json::Error> {
        Ok(Self {
            type_identifier: TYPE_K8SLICE.to_owned(),
            type_data: serde_json::to_value(data)?,
        })
    }

    /// The typed K8Slice data, or `None` when this is another type.
    pub fn k8slice(&self) -> Option<Result<K8SliceTypeData, serde_json::Error>> {
        (self.type_identifier == TYPE_K8SLICE)
            .then(|| serde_json::from_value(self.type_data.clone()))
    }
}

/// `spec.price`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["amount", "currency", "period"]))
)]
pub struct Price {
    /// Amount, free text.
    #[serde(default)]
    pub amount: String,
    /// Currency, free text.
    #[serde(default)]
    pub currency: String,
    /// Billing period, free text.
    #[serde(default)]
    pub period: String,
}

/// `spec.location` (CR form: the country is under `country`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Latitude, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<String>,
    /// Longitude, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Free notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_notes: Option<String>,
}

/// `status` of a Flavor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("required" = ["creationTime", "expirationTime", "lastUpdateTime"]))
)]
#[serde(rename_all = "camelCase")]
pub struct FlavorStatus {
    /// Expiration time (RFC 3339 or empty).
    #[serde(default)]
    pub expiration_time: String,
    /// Creation time (RFC 3339 or empty).
    #[serde(default)]
    pub creation_time: String,
    /// Last update time (RFC 3339 or empty).
    #[serde(default)]
    pub last_update_time: String,
    /// What is still for sale after the live holds and sales (fluidos-rs extension, written by
    /// the provider): absent while nothing is committed; all zero when nothing is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Remaining>,
}

/// What a K8Slice Flavor still offers (see [`FlavorStatus::remaining`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Remaining {
    /// CPU.
    pub cpu: Quantity,
    /// Memory.
    pub memory: Quantity,
    /// Pods.
    pub pods: Quantity,
    /// GPU cores, when the Flavor has GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Quantity>,
    /// Storage, when the Flavor offers storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
}

impl Remaining {
    /// The remainder of `left` (`None`: nothing is left, all zero with `capacity`'s shape).
    pub fn of(left: Option<&Characteristics>, capacity: &Characteristics) -> Self {
        match left {
            Some(c) => Self {
                cpu: c.cpu,
                memory: c.memory,
                pods: c.pods,
                gpu: c.gpu.as_ref().map(|g| g.cores),
                storage: c.storage,
            },
            None => Self {
                gpu: capacity.gpu.as_ref().map(|_| Quantity::default()),
                storage: capacity.storage.map(|_| Quantity::default()),
                ..Self::default()
            },
        }
    }
}

/// K8Slice `typeData` (CR form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct K8SliceTypeData {
    /// Capacity offered.
    pub characteristics: Characteristics,
    /// Optional properties.
    #[serde(default)]
    pub properties: Properties,
    /// Policies (partitionability).
    #[serde(default)]
    pub policies: Policies,
}

/// What a K8Slice offers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Characteristics {
    /// Kubernetes architecture name (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// CPU.
    pub cpu: Quantity,
    /// Memory.
    pub memory: Quantity,
    /// Pods.
    pub pods: Quantity,
    /// GPU, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Gpu>,
    /// Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
}

/// A GPU offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gpu {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// Cores (upstream: a quantity).
    #[serde(default)]
    pub cores: Quantity,
    /// Memory.
    #[serde(default)]
    pub memory: Quantity,
}

/// Optional K8Slice properties (CR form: `carbon-footprint`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Properties {
    /// Latency (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<i64>,
    /// Security standards met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_standards: Option<Vec<String>>,
    /// Carbon footprint.
    #[serde(
        rename = "carbon-footprint",
        alias = "carbonFootprint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub carbon_footprint: Option<CarbonFootprint>,
    /// Network authorizations (kept as JSON; see the REAR issue for the typed form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_authorizations: Option<serde_json::Value>,
    /// Free-form additional properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<BTreeMap<String, serde_json::Value>>,
}

/// Carbon footprint figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarbonFootprint {
    /// Embodied emissions.
    #[serde(default)]
    pub embodied: i64,
    /// Operational emissions.
    #[serde(default)]
    pub operational: Vec<i64>,
}

/// `policies`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policies {
    /// How the flavor may be split.
    #[serde(default)]
    pub partitionability: Partitionability,
}

/// Minimum and step of each partitionable resource (CR form includes GPU).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partitionability {
    /// Smallest CPU partition.
    #[serde(default)]
    pub cpu_min: Quantity,
    /// Smallest memory partition.
    #[serde(default)]
    pub memory_min: Quantity,
    /// Smallest pods partition.
    #[serde(default)]
    pub pods_min: Quantity,
    /// Smallest GPU partition (CR form only).
    #[serde(default)]
    pub gpu_min: Quantity,
    /// CPU step.
    #[serde(default)]
    pub cpu_step: Quantity,
    /// Memory step.
    #[serde(default)]
    pub memory_step: Quantity,
    /// Pods step.
    #[serde(default)]
    pub pods_step: Quantity,
    /// GPU step (CR form only).
    #[serde(default)]
    pub gpu_step: Quantity,
}

#[cfg(test)]
#[path = "flavor/tests.rs"]
mod tests;
