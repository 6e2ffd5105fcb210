//! Pure: the Flavor a labelled Kubernetes Node should have. The K8Slice spec itself comes from
//! the agent LRM's builder ([`crate::lrm::flavor::desired_spec`]), fed with the node's free
//! capacity by requests ([`super::capacity`]); this module adds what is specific to Nodes:
//! whether the node is offered at all, its GPUs, the `fluidos.eu/k8s-node` label and the
//! ownerReference to the core `v1` Node.

use fluidos_protocol::Quantity;
use fluidos_protocol::agent::{GpuSample, OfferedResources};
use fluidos_protocol::flavor::{Flavor, FlavorSpec};
use fluidos_protocol::meta::OwnerReference;
use k8s_openapi::api::core::v1::{Node, Pod};
use sha2::{Digest, Sha256};

use super::NodeFlavorSettings;
use super::capacity::{NodeCapacity, node_capacity};
use crate::lrm::flavor::{FlavorInputs, desired_spec, new_flavor};

/// Label naming the Kubernetes Node a Flavor describes (see [`label_value`]).
pub const K8S_NODE_LABEL: &str = "fluidos.eu/k8s-node";
/// GPU feature discovery's label with the GPU model.
pub const GPU_PRODUCT_LABEL: &str = "nvidia.com/gpu.product";
/// GPU feature discovery's label with the memory of one GPU, in MiB.
pub const GPU_MEMORY_LABEL: &str = "nvidia.com/gpu.memory";
/// Longest Kubernetes label value.
const LABEL_VALUE_MAX: usize = 63;
/// Hex digits of the hash that ends a shortened label value.
const LABEL_HASH_HEX: usize = 16;

/// What a node's Flavor should become.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per reconcile; boxing buys nothing"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    /// Offer this spec.
    Offer(FlavorSpec),
    /// Not offered (unlabelled, deleted, or no allocatable): an existing Flavor is kept with
    /// `availability: false`; none is created.
    Withdraw,
}

/// The value of [`K8S_NODE_LABEL`] for `node`: the name itself, or, when it is longer than a
/// label value may be, its first characters followed by a hash of the whole name.
pub fn label_value(node: &str) -> String {
    if node.len() <= LABEL_VALUE_MAX {
        return node.to_owned();
    }
    let hash = hex::encode(Sha256::digest(node.as_bytes()));
    let keep = LABEL_VALUE_MAX - LABEL_HASH_HEX - 1;
    // Node names are ASCII (DNS subdomains); fall back to the hash alone otherwise.
    match (node.get(..keep), hash.get(..LABEL_HASH_HEX)) {
        (Some(head), Some(tail)) => format!("{head}-{tail}"),
        _ => hash.chars().take(LABEL_VALUE_MAX).collect(),
    }
}

/// Whether `node` carries `label` = `"true"`.
pub fn is_labelled(node: &Node, label: &str) -> bool {
    node.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(label))
        .is_some_and(|v| v == "true")
}

/// Whether `node` can take new pods: its `Ready` condition is `True` and it is not cordoned.
pub fn is_ready(node: &Node) -> bool {
    let cordoned = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    ready && !cordoned
}

/// `q / unit` rounded down, clamped to `u64`.
fn floor_u64(q: Quantity, nanos_per_unit: i128) -> u64 {
    u64::try_from((q.as_nanos() / nanos_per_unit).max(0)).unwrap_or(u64::MAX)
}

/// The capacity in the agent LRM's units (millicores, bytes, pods), rounded down.
pub fn offered(capacity: &NodeCapacity) -> OfferedResources {
    const MILLI: i128 = 1_000_000;
    const UNIT: i128 = 1_000_000_000;
    OfferedResources {
        cpu_millis: floor_u64(capacity.cpu, MILLI),
        memory_bytes: floor_u64(capacity.memory, UNIT),
        storage_bytes: floor_u64(capacity.ephemeral_storage, UNIT),
        pods: floor_u64(capacity.pods, UNIT),
    }
}

/// The free GPUs of a node that has `nvidia.com/gpu`: `cores` is the number of free GPUs,
/// the model and (total free) memory come from GPU feature discovery's labels when present.
pub fn gpu(node: &Node, capacity: &NodeCapacity) -> Option<GpuSample> {
    let free = floor_u64(capacity.gpu?, 1_000_000_000);
    let labels = node.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key));
    let per_gpu_mib: u64 = label(GPU_MEMORY_LABEL)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(GpuSample {
        vendor: "nvidia".to_owned(),
        model: label(GPU_PRODUCT_LABEL).cloned().unwrap_or_default(),
        cores: free,
        memory_bytes: per_gpu_mib.saturating_mul(free).saturating_mul(1 << 20),
    })
}

/// What the Flavor of `node` should be, given the pods (bound to it or not) in `pods`.
/// `node` is `None` when the node is gone or no longer matches the label selector.
///
/// # Errors
/// Only if the K8Slice type data cannot be turned into JSON (it always can).
pub fn desired(
    settings: &NodeFlavorSettings,
    node: Option<&Node>,
    pods: &[&Pod],
) -> Result<Desired, serde_json::Error> {
    let Some(node) = node.filter(|n| is_labelled(n, &settings.label)) else {
        return Ok(Desired::Withdraw);
    };
    let Some(capacity) = node_capacity(node, pods) else {
        return Ok(Desired::Withdraw);
    };
    let offered = offered(&capacity);
    let gpu = gpu(node, &capacity);
    let inputs = FlavorInputs {
        architecture: &capacity.architecture,
        offered: &offered,
        gpu: gpu.as_ref(),
        location: None,
    };
    let spec = desired_spec(&settings.hub, &settings.flavor, inputs, is_ready(node))?;
    Ok(Desired::Offer(spec))
}

/// The ownerReference of a Flavor to its core `v1` Node (`None` without name or uid).
pub fn owner_reference(node: &Node) -> Option<OwnerReference> {
    let name = node.metadata.name.clone()?;
    let uid = node.metadata.uid.clone().filter(|u| !u.is_empty())?;
    Some(OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Node".to_owned(),
        name,
        uid,
    })
}

/// A new Flavor named `name` in `namespace` for the node `owner` refers to.
pub fn new_node_flavor(
    name: String,
    namespace: &str,
    owner: OwnerReference,
    spec: FlavorSpec,
) -> Flavor {
    let mut flavor = new_flavor(name, &owner.name, spec);
    flavor.metadata.namespace = namespace.to_owned();
    flavor.metadata.labels.clear();
    flavor
        .metadata
        .labels
        .insert(K8S_NODE_LABEL.to_owned(), label_value(&owner.name));
    flavor.metadata.owner_references = vec![owner];
    flavor
}

/// The ownerReference of a stored Flavor to the Kubernetes Node it describes: the `v1` Node
/// whose name matches the Flavor's [`K8S_NODE_LABEL`].
pub fn node_owner(flavor: &Flavor) -> Option<&OwnerReference> {
    let label = flavor.metadata.labels.get(K8S_NODE_LABEL)?;
    flavor
        .metadata
        .owner_references
        .iter()
        .find(|o| is_node_reference(o) && label_value(&o.name) == *label)
}

/// The name of the Kubernetes Node a stored Flavor describes (see [`node_owner`]).
pub fn flavor_node(flavor: &Flavor) -> Option<&str> {
    node_owner(flavor).map(|o| o.name.as_str())
}

fn is_node_reference(owner: &OwnerReference) -> bool {
    owner.api_version == "v1" && owner.kind == "Node"
}

/// `flavor` (as stored) with `spec`, and, when given, `owner` as its only Node ownerReference
/// and the matching label (a node recreated under the same name has a new uid). Everything
/// else in the object is kept.
pub fn refreshed(mut flavor: Flavor, spec: FlavorSpec, owner: Option<&OwnerReference>) -> Flavor {
    flavor.spec = spec;
    if let Some(owner) = owner {
        let meta = &mut flavor.metadata;
        meta.owner_references.retain(|o| !is_node_reference(o));
        meta.owner_references.push(owner.clone());
        meta.labels
            .insert(K8S_NODE_LABEL.to_owned(), label_value(&owner.name));
    }
    flavor
}

#[cfg(test)]
#[path = "flavor_tests.rs"]
mod tests;
