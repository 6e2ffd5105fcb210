//! Unit tests of the desired Flavor of a Kubernetes Node.

use fluidos_protocol::flavor::Characteristics;
use serde_json::json;

use super::super::test_objects::{LABEL, node, pod, settings};
use super::*;
use crate::lrm::AGENT_NODE_LABEL;

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

fn offer(desired: Desired) -> FlavorSpec {
    match desired {
        Desired::Offer(spec) => spec,
        Desired::Withdraw => panic!("expected an offer"),
    }
}

fn characteristics(spec: &FlavorSpec) -> Characteristics {
    spec.flavor_type.k8slice().unwrap().unwrap().characteristics
}

#[test]
fn a_labelled_ready_node_is_offered_with_its_free_capacity_by_requests() {
    let n = node("worker-1", true);
    let p = pod("shop", "web", "worker-1", "500m", "1Gi");
    let spec = offer(desired(&settings(), Some(&n), &[&p]).unwrap());
    assert!(spec.availability);
    assert_eq!(spec.provider_id, "hubid");
    assert_eq!(spec.owner, settings().hub);
    assert_eq!(
        spec.network_property_type.as_deref(),
        Some("networkProperty")
    );
    assert_eq!(spec.flavor_type.type_identifier, "K8Slice");
    let c = characteristics(&spec);
    assert_eq!(c.architecture, "amd64");
    assert_eq!(c.cpu, q("3500m"));
    assert_eq!(c.memory, q("7Gi"));
    assert_eq!(c.pods, q("109"));
    assert_eq!(c.storage, Some(q("100Gi")));
    assert_eq!(c.gpu, None);
}

#[test]
fn an_unlabelled_deleted_or_capacity_less_node_is_withdrawn() {
    let s = settings();
    assert_eq!(
        desired(&s, Some(&node("w", false)), &[]).unwrap(),
        Desired::Withdraw
    );
    assert_eq!(desired(&s, None, &[]).unwrap(), Desired::Withdraw);
    let mut bare = node("w", true);
    bare.status.as_mut().unwrap().allocatable = None;
    assert_eq!(desired(&s, Some(&bare), &[]).unwrap(), Desired::Withdraw);
    let mut other_value = node("w", true);
    other_value
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(LABEL.into(), "false".into());
    assert_eq!(
        desired(&s, Some(&other_value), &[]).unwrap(),
        Desired::Withdraw
    );
}

#[test]
fn a_not_ready_or_cordoned_node_is_offered_unavailable() {
    let mut not_ready = node("w", true);
    not_ready
        .status
        .as_mut()
        .unwrap()
        .conditions
        .as_mut()
        .unwrap()[0]
        .status = "False".into();
    assert!(!is_ready(&not_ready));
    assert!(!offer(desired(&settings(), Some(&not_ready), &[]).unwrap()).availability);

    let mut cordoned = node("w", true);
    cordoned.spec = Some(serde_json::from_value(json!({"unschedulable": true})).unwrap());
    assert!(!is_ready(&cordoned));
    assert!(!offer(desired(&settings(), Some(&cordoned), &[]).unwrap()).availability);

    let mut unknown = node("w", true);
    unknown.status.as_mut().unwrap().conditions = None;
    assert!(!is_ready(&unknown));
    assert!(is_ready(&node("w", true)));
}

#[test]
fn free_gpus_are_offered_with_the_discovered_model_and_memory() {
    let mut n = node("gpu-1", true);
    let status = n.status.as_mut().unwrap();
    status.allocatable.as_mut().unwrap().insert(
        "nvidia.com/gpu".into(),
        k8s_openapi::apimachinery::pkg::api::resource::Quantity("2".into()),
    );
    let labels = n.metadata.labels.as_mut().unwrap();
    labels.insert(GPU_PRODUCT_LABEL.into(), "Tesla-T4".into());
    labels.insert(GPU_MEMORY_LABEL.into(), "15360".into());
    let mut p = pod("ml", "train", "gpu-1", "1", "1Gi");
    p.spec.as_mut().unwrap().containers[0]
        .resources
        .as_mut()
        .unwrap()
        .requests
        .as_mut()
        .unwrap()
        .insert(
            "nvidia.com/gpu".into(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
        );
    let gpu = characteristics(&offer(desired(&settings(), Some(&n), &[&p]).unwrap()))
        .gpu
        .unwrap();
    assert_eq!(gpu.model, "Tesla-T4");
    assert_eq!(gpu.cores, q("1"));
    assert_eq!(gpu.memory, q("15Gi"));
}

#[test]
fn label_values_are_the_node_name_or_a_hashed_prefix_when_too_long() {
    assert_eq!(label_value("worker-1"), "worker-1");
    let exact = "a".repeat(63);
    assert_eq!(label_value(&exact), exact);
    let long_a = format!("{}.example.internal", "n".repeat(60));
    let long_b = format!("{}.example.interna1", "n".repeat(60));
    let (a, b) = (label_value(&long_a), label_value(&long_b));
    assert_eq!(a.len(), 63);
    assert!(a.starts_with(&"n".repeat(46)));
    assert!(a.ends_with(|c: char| c.is_ascii_alphanumeric()));
    assert_ne!(a, b);
    assert_eq!(a, label_value(&long_a));
}

#[test]
fn a_new_flavor_is_labelled_and_owned_by_the_core_v1_node() {
    let n = node("worker-1", true);
    let owner = owner_reference(&n).unwrap();
    let spec = offer(desired(&settings(), Some(&n), &[]).unwrap());
    let flavor = new_node_flavor("fluidos.eu-k8slice-abcd".into(), "fluidos", owner, spec);
    assert_eq!(flavor.metadata.namespace, "fluidos");
    assert_eq!(flavor.metadata.labels.len(), 1);
    assert_eq!(flavor.metadata.labels[K8S_NODE_LABEL], "worker-1");
    let refs = &flavor.metadata.owner_references;
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (refs[0].api_version.as_str(), refs[0].kind.as_str()),
        ("v1", "Node")
    );
    assert_eq!(
        (refs[0].name.as_str(), refs[0].uid.as_str()),
        ("worker-1", "uid-worker-1")
    );
    assert_eq!(flavor_node(&flavor), Some("worker-1"));
}

#[test]
fn a_node_without_uid_has_no_owner_reference() {
    let mut n = node("worker-1", true);
    n.metadata.uid = None;
    assert_eq!(owner_reference(&n), None);
}

#[test]
fn agent_flavors_are_not_taken_for_node_flavors() {
    let spec = offer(desired(&settings(), Some(&node("pi-1", true)), &[]).unwrap());
    let agent = crate::lrm::flavor::new_flavor("fluidos.eu-k8slice-0001".into(), "pi-1", spec);
    assert!(agent.metadata.labels.contains_key(AGENT_NODE_LABEL));
    assert_eq!(flavor_node(&agent), None);
}

#[test]
fn refreshing_replaces_the_node_owner_and_keeps_everything_else() {
    let n = node("worker-1", true);
    let spec = offer(desired(&settings(), Some(&n), &[]).unwrap());
    let mut stored = new_node_flavor(
        "f".into(),
        "fluidos",
        owner_reference(&n).unwrap(),
        spec.clone(),
    );
    stored.metadata.labels.insert("team".into(), "a".into());
    stored.metadata.owner_references.push(OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "d".into(),
        uid: "d-uid".into(),
    });
    let mut recreated = n;
    recreated.metadata.uid = Some("uid-2".into());
    let withdrawn = FlavorSpec {
        availability: false,
        ..spec
    };
    let owner = owner_reference(&recreated).unwrap();
    let next = refreshed(stored, withdrawn, Some(&owner));
    assert!(!next.spec.availability);
    assert_eq!(next.metadata.labels["team"], "a");
    assert_eq!(node_owner(&next).unwrap().uid, "uid-2");
    assert_eq!(next.metadata.owner_references.len(), 2);
    assert!(
        next.metadata
            .owner_references
            .iter()
            .any(|o| o.kind == "Deployment")
    );
}
