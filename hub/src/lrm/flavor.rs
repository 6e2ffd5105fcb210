//! Pure Flavor building for the LRM: the desired K8Slice spec of an agent node
//! ([`desired_flavor`]), whether it differs enough from what was written to write again
//! ([`needs_write`]), and the new object's name and metadata ([`new_flavor`]). No IO.

use std::borrow::Cow;
use std::collections::BTreeMap;

use fluidos_protocol::agent::{GpuSample, OfferedResources, ResourceSample};
use fluidos_protocol::flavor::{
    Characteristics, Flavor, FlavorSpec, FlavorType, Gpu, K8SliceTypeData, Location,
    NETWORK_PROPERTY, Partitionability, Policies, Price, Properties, TYPE_K8SLICE,
};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::{DEFAULT_NAMESPACE, Quantity};
use serde::Deserialize;

use crate::ingest::OfferedSample;

/// Label naming the agent node a Flavor describes.
pub const AGENT_NODE_LABEL: &str = "fluidos.eu/agent-node";
/// Default relative change of cpu/memory/storage that triggers a write.
pub const DEFAULT_CHANGE_THRESHOLD: f64 = 0.05;

/// The hub-configured parts of every Flavor.
#[derive(Debug, Clone, PartialEq)]
pub struct FlavorSettings {
    /// Price (upstream default: empty strings).
    pub price: Price,
    /// Partitionability (upstream Helm defaults).
    pub partitionability: Partitionability,
    /// Location used when the agent reports none.
    pub location: Option<Location>,
}

impl Default for FlavorSettings {
    fn default() -> Self {
        Self {
            price: Price::default(),
            partitionability: default_partitionability(),
            location: None,
        }
    }
}

/// Upstream's Helm defaults: every minimum 0, cpuStep 1, memoryStep 100Mi, pods/gpu step 0.
pub fn default_partitionability() -> Partitionability {
    let zero = Quantity::zero;
    Partitionability {
        cpu_min: zero(),
        memory_min: zero(),
        pods_min: zero(),
        gpu_min: zero(),
        cpu_step: Quantity::from_int(1),
        memory_step: Quantity::from_bytes_binary(100 << 20),
        pods_step: zero(),
        gpu_step: zero(),
    }
}

fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The parts of a sample a Flavor is built from (borrowed from a whole [`ResourceSample`] or
/// from what the ingestor keeps of one).
#[derive(Debug, Clone, Copy)]
pub struct FlavorInputs<'a> {
    /// Kubernetes architecture name.
    pub architecture: &'a str,
    /// Capacity offered.
    pub offered: &'a OfferedResources,
    /// The first GPU, when any.
    pub gpu: Option<&'a GpuSample>,
    /// Agent-reported location.
    pub location: Option<&'a Location>,
}

impl<'a> From<&'a ResourceSample> for FlavorInputs<'a> {
    fn from(sample: &'a ResourceSample) -> Self {
        Self {
            architecture: &sample.architecture,
            offered: &sample.offered,
            gpu: sample.gpus.first(),
            location: sample.location.as_ref(),
        }
    }
}

impl<'a> From<&'a OfferedSample> for FlavorInputs<'a> {
    fn from(sample: &'a OfferedSample) -> Self {
        Self {
            architecture: &sample.architecture,
            offered: &sample.offered,
            gpu: sample.gpu.as_ref(),
            location: sample.location.as_ref(),
        }
    }
}

/// The K8Slice `characteristics` of what a board offers.
pub fn characteristics(sample: &ResourceSample) -> Characteristics {
    characteristics_of(sample.into())
}

/// [`characteristics`] of the inputs of a Flavor.
pub fn characteristics_of(sample: FlavorInputs<'_>) -> Characteristics {
    let offered = sample.offered;
    Characteristics {
        architecture: sample.architecture.to_owned(),
        cpu: Quantity::from_milli(saturating_i64(offered.cpu_millis)),
        memory: Quantity::from_bytes_binary(offered.memory_bytes),
        pods: Quantity::from_int(saturating_i64(offered.pods)),
        gpu: sample.gpu.map(|g| Gpu {
            model: g.model.clone(),
            cores: Quantity::from_int(saturating_i64(g.cores)),
            memory: Quantity::from_bytes_binary(g.memory_bytes),
        }),
        storage: Some(Quantity::from_bytes_binary(offered.storage_bytes)),
    }
}

/// The spec the Flavor of a board reporting `sample` should have.
///
/// # Errors
/// Only if the K8Slice type data cannot be turned into JSON (it always can).
pub fn desired_flavor(
    hub: &NodeIdentity,
    settings: &FlavorSettings,
    sample: &ResourceSample,
    available: bool,
) -> Result<FlavorSpec, serde_json::Error> {
    desired_spec(hub, settings, sample.into(), available)
}

/// [`desired_flavor`] from the inputs of a Flavor.
///
/// # Errors
/// Only if the K8Slice type data cannot be turned into JSON (it always can).
pub fn desired_spec(
    hub: &NodeIdentity,
    settings: &FlavorSettings,
    sample: FlavorInputs<'_>,
    available: bool,
) -> Result<FlavorSpec, serde_json::Error> {
    let data = K8SliceTypeData {
        characteristics: characteristics_of(sample),
        properties: Properties::default(),
        policies: Policies {
            partitionability: settings.partitionability.clone(),
        },
    };
    Ok(FlavorSpec {
        provider_id: hub.node_id.clone(),
        flavor_type: FlavorType::from_k8slice(&data)?,
        owner: hub.clone(),
        price: settings.price.clone(),
        availability: available,
        network_property_type: Some(NETWORK_PROPERTY.to_owned()),
        location: sample
            .location
            .cloned()
            .or_else(|| settings.location.clone()),
    })
}

/// Whether `desired` differs meaningfully from `current` (the last spec written): availability,
/// identity, price, location, policies, architecture, GPU or pods changed, or cpu, memory or
/// storage moved by more than `threshold` (relative to `current`).
pub fn needs_write(current: &FlavorSpec, desired: &FlavorSpec, threshold: f64) -> bool {
    WrittenSpec::new(current.clone()).needs_write(desired, threshold)
}

/// A Flavor spec as the LRM remembers having written it. The K8Slice type data is kept typed
/// (a few hundred bytes) rather than as a JSON tree (kilobytes per agent node), but only when
/// it turns back into exactly the same JSON; anything else is kept as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenSpec {
    /// The spec with `flavorType.typeData` taken out (`null`).
    head: FlavorSpec,
    /// `flavorType.typeData`.
    data: TypeData,
}

#[derive(Debug, Clone, PartialEq)]
enum TypeData {
    /// K8Slice data that serializes back to exactly the JSON it came from.
    K8Slice(Box<K8SliceTypeData>),
    /// Anything else, as it was.
    Raw(serde_json::Value),
}

impl WrittenSpec {
    /// Remember `spec`.
    pub fn new(mut spec: FlavorSpec) -> Self {
        let value = std::mem::take(&mut spec.flavor_type.type_data);
        let data = match typed_k8slice(&spec, &value) {
            Some(Ok(typed)) if serde_json::to_value(&typed).is_ok_and(|v| v == value) => {
                TypeData::K8Slice(Box::new(typed))
            }
            _ => TypeData::Raw(value),
        };
        Self { head: spec, data }
    }

    /// `spec.availability`.
    pub fn availability(&self) -> bool {
        self.head.availability
    }

    /// The spec as it was written.
    pub fn to_spec(&self) -> FlavorSpec {
        let mut spec = self.head.clone();
        spec.flavor_type.type_data = self.type_data();
        spec
    }

    fn type_data(&self) -> serde_json::Value {
        match &self.data {
            // It serialized to this very JSON when it was remembered.
            TypeData::K8Slice(data) => serde_json::to_value(data).unwrap_or_default(),
            TypeData::Raw(value) => value.clone(),
        }
    }

    /// The typed K8Slice data, or `None` when this is another type.
    fn k8slice(&self) -> Option<Result<Cow<'_, K8SliceTypeData>, serde_json::Error>> {
        match &self.data {
            TypeData::K8Slice(data) => (self.head.flavor_type.type_identifier == TYPE_K8SLICE)
                .then_some(Ok(Cow::Borrowed(&**data))),
            TypeData::Raw(value) => typed_k8slice(&self.head, value).map(|r| r.map(Cow::Owned)),
        }
    }

    /// [`needs_write`] with this as the current spec.
    pub fn needs_write(&self, desired: &FlavorSpec, threshold: f64) -> bool {
        let current = &self.head;
        if current.availability != desired.availability
            || current.provider_id != desired.provider_id
            || current.owner != desired.owner
            || current.price != desired.price
            || current.location != desired.location
            || current.network_property_type != desired.network_property_type
            || current.flavor_type.type_identifier != desired.flavor_type.type_identifier
        {
            return true;
        }
        let (Some(Ok(cur)), Some(Ok(want))) = (self.k8slice(), desired.flavor_type.k8slice())
        else {
            // Not K8Slice data we understand: write only when the raw data differs.
            return self.type_data() != desired.flavor_type.type_data;
        };
        let (c, d) = (&cur.characteristics, &want.characteristics);
        cur.policies != want.policies
            || cur.properties != want.properties
            || c.architecture != d.architecture
            || c.gpu != d.gpu
            || c.pods != d.pods
            || moved(c.cpu, d.cpu, threshold)
            || moved(c.memory, d.memory, threshold)
            || moved(
                c.storage.unwrap_or_else(Quantity::zero),
                d.storage.unwrap_or_else(Quantity::zero),
                threshold,
            )
            || c.storage.is_some() != d.storage.is_some()
    }
}

/// `value` as K8Slice data when `spec` says it is K8Slice (like [`FlavorType::k8slice`]).
fn typed_k8slice(
    spec: &FlavorSpec,
    value: &serde_json::Value,
) -> Option<Result<K8SliceTypeData, serde_json::Error>> {
    (spec.flavor_type.type_identifier == TYPE_K8SLICE).then(|| K8SliceTypeData::deserialize(value))
}

/// Whether `desired` is more than `threshold` away from `current`, relatively.
#[expect(
    clippy::cast_precision_loss,
    reason = "a relative threshold needs no exact nanos"
)]
fn moved(current: Quantity, desired: Quantity, threshold: f64) -> bool {
    if current == desired {
        return false;
    }
    let (c, d) = (current.as_nanos() as f64, desired.as_nanos() as f64);
    if c == 0.0 {
        return true;
    }
    ((d - c) / c).abs() > threshold
}

/// `<domain>-k8slice-<8 random hex>`, lowercase: upstream's pattern (Appendix A of the
/// reference note) with a longer suffix (upstream's 4 hex digits collide at a few hundred
/// Flavors; measured: 8 % of creates at 10,000 boards).
pub fn flavor_name(domain: &str) -> String {
    let suffix: [u8; 4] = rand::random();
    format!("{domain}-{}-{}", TYPE_K8SLICE, hex::encode(suffix)).to_lowercase()
}

/// The first name tried for `node`'s Flavor: `<domain>-k8slice-<8 hex of SHA-256(node)>`.
/// Stable, so a create whose reply was lost (a timeout after the server committed it) is
/// found again under the same name instead of leaving a second Flavor for one board.
pub fn stable_flavor_name(domain: &str, node: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(node.as_bytes());
    let suffix = hex::encode(digest.get(..4).unwrap_or_default());
    format!("{domain}-{TYPE_K8SLICE}-{suffix}").to_lowercase()
}

/// A new Flavor object named `name` for agent `node`. The board is named by the
/// [`AGENT_NODE_LABEL`] label, not by an ownerReference: an agent board is no Kubernetes Node,
/// and an API server rejects an ownerReference without the owner's uid (and its garbage
/// collector would delete a Flavor whose owner does not exist).
pub fn new_flavor(name: String, node: &str, spec: FlavorSpec) -> Flavor {
    let metadata = ObjectMeta {
        name,
        namespace: DEFAULT_NAMESPACE.to_owned(),
        labels: BTreeMap::from([(AGENT_NODE_LABEL.to_owned(), node.to_owned())]),
        ..ObjectMeta::default()
    };
    Flavor::new(metadata, spec)
}

/// The agent node a stored Flavor belongs to, from its label.
pub fn agent_node(flavor: &Flavor) -> Option<&str> {
    flavor
        .metadata
        .labels
        .get(AGENT_NODE_LABEL)
        .map(String::as_str)
}

#[cfg(test)]
#[path = "flavor_tests.rs"]
mod tests;
