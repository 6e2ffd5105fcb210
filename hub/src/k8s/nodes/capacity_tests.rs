//! Unit tests of the node capacity computation, on Node and Pod objects as the API server
//! serves them.

use serde_json::json;

use super::*;

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

fn node(allocatable: serde_json::Value) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": "worker-1", "uid": "u-1"},
        "status": {
            "allocatable": allocatable,
            "nodeInfo": {
                "architecture": "arm64", "bootID": "", "containerRuntimeVersion": "",
                "kernelVersion": "", "kubeProxyVersion": "", "kubeletVersion": "",
                "machineID": "", "operatingSystem": "linux", "osImage": "", "systemUUID": ""
            }
        }
    }))
    .unwrap()
}

fn standard_node() -> Node {
    node(json!({
        "cpu": "3920m", "memory": "8Gi", "pods": "110", "ephemeral-storage": "50Gi"
    }))
}

fn container(name: &str, requests: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "resources": {"requests": requests}})
}

fn pod(name: &str, node: &str, phase: &str, spec: serde_json::Value) -> Pod {
    let mut spec = spec;
    spec["nodeName"] = json!(node);
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
        "status": {"phase": phase}
    }))
    .unwrap()
}

fn simple_pod(name: &str, cpu: &str, memory: &str) -> Pod {
    pod(
        name,
        "worker-1",
        "Running",
        json!({"containers": [container("main", json!({"cpu": cpu, "memory": memory}))]}),
    )
}

#[test]
fn an_empty_node_offers_its_allocatable() {
    let cap = node_capacity(&standard_node(), &[]).unwrap();
    assert_eq!(cap.architecture, "arm64");
    assert_eq!(cap.cpu, q("3920m"));
    assert_eq!(cap.memory, q("8Gi"));
    assert_eq!(cap.pods, q("110"));
    assert_eq!(cap.ephemeral_storage, q("50Gi"));
    assert_eq!(cap.gpu, None);
}

#[test]
fn bound_pods_requests_are_subtracted_in_milli_cpu_and_binary_memory() {
    let a = simple_pod("a", "500m", "512Mi");
    let b = simple_pod("b", "1", "1Gi");
    let cap = node_capacity(&standard_node(), &[&a, &b]).unwrap();
    assert_eq!(cap.cpu, q("2420m"));
    assert_eq!(cap.memory, q("6656Mi"));
    assert_eq!(cap.pods, q("108"));
}

#[test]
fn containers_sum_and_storage_and_gpu_are_counted() {
    let gpu_node = node(json!({
        "cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi",
        "nvidia.com/gpu": "4"
    }));
    let p = pod(
        "p",
        "worker-1",
        "Running",
        json!({"containers": [
            container("a", json!({"cpu": "250m", "memory": "100Mi", "ephemeral-storage": "1Gi"})),
            container("b", json!({"cpu": "250m", "nvidia.com/gpu": "1"})),
        ]}),
    );
    let cap = node_capacity(&gpu_node, &[&p]).unwrap();
    assert_eq!(cap.cpu, q("7500m"));
    assert_eq!(cap.memory, q("32668Mi"));
    assert_eq!(cap.ephemeral_storage, q("99Gi"));
    assert_eq!(cap.gpu, Some(q("3")));
}

#[test]
fn an_init_container_larger_than_the_containers_sets_the_request() {
    let p = pod(
        "p",
        "worker-1",
        "Running",
        json!({
            "initContainers": [container("init", json!({"cpu": "2", "memory": "64Mi"}))],
            "containers": [container("main", json!({"cpu": "500m", "memory": "1Gi"}))],
        }),
    );
    let r = pod_requests(&p);
    assert_eq!(r.cpu, q("2"));
    assert_eq!(r.memory, q("1Gi"));
}

#[test]
fn sidecar_init_containers_count_in_the_sum_and_during_later_inits() {
    let p = pod(
        "p",
        "worker-1",
        "Running",
        json!({
            "initContainers": [
                {"name": "proxy", "restartPolicy": "Always",
                 "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}},
                container("migrate", json!({"cpu": "1", "memory": "10Mi"})),
            ],
            "containers": [container("main", json!({"cpu": "300m", "memory": "200Mi"}))],
        }),
    );
    let r = pod_requests(&p);
    // Running: 300m + 100m sidecar = 400m; during `migrate`: 1 + 100m = 1100m.
    assert_eq!(r.cpu, q("1100m"));
    // Running: 200Mi + 50Mi = 250Mi; during `migrate`: 10Mi + 50Mi.
    assert_eq!(r.memory, q("250Mi"));
}

#[test]
fn overhead_is_added_and_pod_level_requests_replace_the_containers_total() {
    let p = pod(
        "p",
        "worker-1",
        "Running",
        json!({
            "containers": [container("main", json!({"cpu": "300m", "memory": "200Mi"}))],
            "resources": {"requests": {"cpu": "1"}},
            "overhead": {"cpu": "50m", "memory": "20Mi"},
        }),
    );
    let r = pod_requests(&p);
    assert_eq!(r.cpu, q("1050m"));
    assert_eq!(r.memory, q("220Mi"));
}

#[test]
fn terminal_pods_and_pods_of_other_nodes_are_ignored() {
    let done = pod(
        "done",
        "worker-1",
        "Succeeded",
        json!({"containers": [container("c", json!({"cpu": "1"}))]}),
    );
    let failed = pod(
        "failed",
        "worker-1",
        "Failed",
        json!({"containers": [container("c", json!({"cpu": "1"}))]}),
    );
    let elsewhere = pod(
        "elsewhere",
        "worker-2",
        "Running",
        json!({"containers": [container("c", json!({"cpu": "1"}))]}),
    );
    let pending = pod(
        "pending",
        "worker-1",
        "Pending",
        json!({"containers": [container("c", json!({"cpu": "1"}))]}),
    );
    let cap = node_capacity(&standard_node(), &[&done, &failed, &elsewhere, &pending]).unwrap();
    assert_eq!(cap.cpu, q("2920m"));
    assert_eq!(cap.pods, q("109"));
}

#[test]
fn an_over_committed_node_offers_zero_not_a_negative_amount() {
    let small = node(json!({"cpu": "1", "memory": "1Gi", "pods": "1", "nvidia.com/gpu": "1"}));
    let big = pod(
        "big",
        "worker-1",
        "Running",
        json!({"containers": [container("c", json!({"cpu": "2", "memory": "2Gi",
            "nvidia.com/gpu": "2", "ephemeral-storage": "1Gi"}))]}),
    );
    let other = simple_pod("other", "1", "1Gi");
    let cap = node_capacity(&small, &[&big, &other]).unwrap();
    for value in [cap.cpu, cap.memory, cap.pods, cap.ephemeral_storage] {
        assert!(value.is_zero(), "{value} is not zero");
    }
    assert_eq!(cap.gpu, Some(Quantity::zero()));
}

#[test]
fn a_node_without_allocatable_cpu_or_memory_has_no_capacity() {
    let mut bare = standard_node();
    bare.status.as_mut().unwrap().allocatable = None;
    assert_eq!(node_capacity(&bare, &[]), None);
    assert_eq!(node_capacity(&node(json!({"memory": "1Gi"})), &[]), None);
    assert_eq!(node_capacity(&node(json!({"cpu": "1"})), &[]), None);
    let no_status: Node = serde_json::from_value(json!({"metadata": {"name": "n"}})).unwrap();
    assert_eq!(node_capacity(&no_status, &[]), None);
}

#[test]
fn a_node_without_pods_or_storage_entries_offers_zero_of_them() {
    let cap = node_capacity(&node(json!({"cpu": "1", "memory": "1Gi"})), &[]).unwrap();
    assert!(cap.pods.is_zero());
    assert!(cap.ephemeral_storage.is_zero());
}

#[test]
fn slimming_a_pod_keeps_its_requests_binding_and_phase() {
    let mut p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"},
                     "annotations": {"big": "x".repeat(1000)}},
        "spec": {
            "nodeName": "worker-1",
            "initContainers": [{"name": "s", "image": "img", "restartPolicy": "Always",
                                "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}],
            "containers": [{"name": "c", "image": "img", "env": [{"name": "A", "value": "B"}],
                            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}],
            "overhead": {"cpu": "10m"},
        },
        "status": {"phase": "Running", "podIP": "10.0.0.1"}
    }))
    .unwrap();
    let before = pod_requests(&p);
    slim_pod(&mut p);
    assert_eq!(pod_requests(&p), before);
    assert_eq!(before.cpu, q("1110m"));
    assert_eq!(bound_node(&p), Some("worker-1"));
    assert!(is_active(&p));
    assert_eq!(p.metadata.name.as_deref(), Some("p"));
    assert!(p.metadata.annotations.is_none());
    let spec = p.spec.unwrap();
    assert!(spec.containers[0].image.is_none());
    assert_eq!(p.status.unwrap().pod_ip, None);
}

#[test]
fn an_unbound_pod_has_no_node() {
    let mut p = simple_pod("p", "1", "1Gi");
    p.spec.as_mut().unwrap().node_name = Some(String::new());
    assert_eq!(bound_node(&p), None);
}
