//! Node and Pod objects as the API server serves them, and settings, for the tests of the
//! Kubernetes-mode LRM.

use fluidos_protocol::node::NodeIdentity;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

use super::NodeFlavorSettings;
use crate::lrm::FlavorSettings;

/// The label the tests select nodes by.
pub(super) const LABEL: &str = "node-role.fluidos.eu/resources";

pub(super) fn settings() -> NodeFlavorSettings {
    NodeFlavorSettings {
        label: LABEL.to_owned(),
        namespace: "fluidos".to_owned(),
        hub: NodeIdentity {
            domain: "fluidos.eu".into(),
            node_id: "hubid".into(),
            ip: "10.0.0.1:3004".into(),
            ..NodeIdentity::default()
        },
        flavor: FlavorSettings::default(),
        threshold: 0.05,
    }
}

/// A `Ready` amd64 node `name` (uid `uid-<name>`) with 4 cpu, 8Gi, 110 pods, 100Gi storage,
/// labelled `LABEL=true` when `labelled`.
pub(super) fn node(name: &str, labelled: bool) -> Node {
    let labels = if labelled {
        json!({ LABEL: "true", "kubernetes.io/hostname": name })
    } else {
        json!({ "kubernetes.io/hostname": name })
    };
    serde_json::from_value(json!({
        "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": labels},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110",
                            "ephemeral-storage": "100Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {
                "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "",
                "kernelVersion": "", "kubeProxyVersion": "", "kubeletVersion": "",
                "machineID": "", "operatingSystem": "linux", "osImage": "", "systemUUID": ""
            }
        }
    }))
    .expect("a valid Node")
}

/// A `Running` pod `namespace/name` bound to `node` with one container requesting `cpu`
/// and `memory`.
pub(super) fn pod(namespace: &str, name: &str, node: &str, cpu: &str, memory: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]
        },
        "status": {"phase": "Running"}
    }))
    .expect("a valid Pod")
}
