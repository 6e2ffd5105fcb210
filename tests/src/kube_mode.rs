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
