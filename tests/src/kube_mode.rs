//! Hubs in Kubernetes mode under test: the config that points a hub at a test control plane
//! and namespace, and a typed view of that namespace through the hub's own `KubeStore`.

use std::sync::Arc;

use fluidos_hub::k8s::store::KubeStore;
use fluidos_hub::store::{Resource, list_typed};

use crate::kube::ControlPlane;

/// Top-level `store = "kubernetes"` and a `[kubernetes]` section for `plane`/`namespace`,
/// plus `extra` lines inside `[kubernetes]`. Append a `[rear]` section after it.
pub fn kube_config(plane: &ControlPlane, namespace: &str, extra: &str) -> String {
    format!(
        "store = \"kubernetes\"\n[kubernetes]\nkubeconfig = {:?}\nnamespace = {namespace:?}\n{extra}\n",
        plane.admin_kubeconfig().to_string_lossy()
    )
}

/// A store on `plane`'s `namespace` (admin credentials).
pub async fn kube_store(plane: &ControlPlane, namespace: &str) -> Arc<KubeStore> {
    let client = plane.client().await.expect("admin client");
    KubeStore::open(client, namespace)
}

/// Every `T` in `namespace` of `store`.
pub async fn kube_objects<T: Resource>(store: &KubeStore, namespace: &str) -> Vec<T> {
    list_typed::<T>(store, Some(namespace)).await.expect("list")
}

/// An upstream-shaped Solver (as upstream's samples write it) for at least 1 CPU, 1 GiB and 10
/// pods (and `arch` when given) that reserves, buys and peers.
pub fn solver_yaml(name: &str, namespace: &str, arch: Option<&str>) -> String {
    let arch = arch.map_or_else(String::new, |arch| {
        format!("      architectureFilter:\n        name: Match\n        data:\n          value: {arch}\n")
    });
    format!(
        "apiVersion: nodecore.fluidos.eu/v1alpha1\nkind: Solver\nmetadata:\n  name: {name}\n  \
         namespace: {namespace}\nspec:\n  selector:\n    flavorType: K8Slice\n    filters:\n{arch}      \
         cpuFilter:\n        name: Range\n        data:\n          min: \"1\"\n      \
         memoryFilter:\n        name: Range\n        data:\n          min: 1Gi\n      \
         podsFilter:\n        name: Range\n        data:\n          min: \"10\"\n  \
         intentID: intent-{name}\n  findCandidate: true\n  reserveAndBuy: true\n  \
         establishPeering: true\n"
    )
}
