//! The watched cluster state the node reconciler reads: labelled Nodes by name, and the
//! non-terminal bound Pods indexed by node. [`Mirror`] applies kube-runtime watcher events and
//! says which nodes each one touched; a re-list (`Init`, `InitApply`…, `InitDone`) replaces
//! the content at once, touching every node before or after it. No IO.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::watcher::Event;

use super::capacity::{bound_node, is_active};

/// Pods by `namespace/name`.
type PodsByKey = HashMap<String, Pod>;
/// Pods by node, then `namespace/name`.
type PodIndex = HashMap<String, PodsByKey>;

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct Mirror {
    nodes: HashMap<String, Node>,
    pods: PodIndex,
    /// The re-list of nodes in progress.
    node_relist: Option<HashMap<String, Node>>,
    /// The re-list of pods in progress.
    pod_relist: Option<PodIndex>,
    nodes_listed: bool,
    pods_listed: bool,
}

fn node_name(node: &Node) -> String {
    node.metadata.name.clone().unwrap_or_default()
}

fn pod_key(pod: &Pod) -> String {
    let meta = &pod.metadata;
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// Index `pod` under its node (or drop it from there when it has terminated).
fn index_pod(index: &mut PodIndex, pod: Pod) -> Option<String> {
    let node = bound_node(&pod)?.to_owned();
    let key = pod_key(&pod);
    if is_active(&pod) {
        index.entry(node.clone()).or_default().insert(key, pod);
    } else {
        unindex_pod(index, &node, &key);
    }
    Some(node)
}

fn unindex_pod(index: &mut PodIndex, node: &str, key: &str) {
    if let Some(pods) = index.get_mut(node) {
        pods.remove(key);
        if pods.is_empty() {
            index.remove(node);
        }
    }
}

/// The keys of `before` and `after`, sorted.
fn union<V>(before: &HashMap<String, V>, after: &HashMap<String, V>) -> Vec<String> {
    let all: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    all.into_iter().cloned().collect()
}

impl Mirror {
    /// Whether both watchers have completed their first list (before that, a node's pods may
    /// be missing and its capacity overstated).
    pub(super) fn synced(&self) -> bool {
        self.nodes_listed && self.pods_listed
    }

    /// The labelled node `name`, if it is watched.
    pub(super) fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The non-terminal pods bound to `name`.
    pub(super) fn pods_on(&self, name: &str) -> Vec<&Pod> {
        self.pods
            .get(name)
            .map(|pods| pods.values().collect())
            .unwrap_or_default()
    }

    /// Apply a Node event; the nodes it touched.
    pub(super) fn apply_node(&mut self, event: Event<Node>) -> Vec<String> {
        match event {
            Event::Apply(node) => {
                let name = node_name(&node);
                self.nodes.insert(name.clone(), node);
                vec![name]
            }
            Event::Delete(node) => {
                let name = node_name(&node);
                self.nodes.remove(&name);
                vec![name]
            }
            Event::Init => {
                self.node_relist = Some(HashMap::new());
                Vec::new()
            }
            Event::InitApply(node) => {
                let relist = self.node_relist.get_or_insert_default();
                relist.insert(node_name(&node), node);
                Vec::new()
            }
            Event::InitDone => {
                let listed = self.node_relist.take().unwrap_or_default();
                let touched = union(&self.nodes, &listed);
                self.nodes = listed;
                self.nodes_listed = true;
                touched
            }
        }
    }

    /// Apply a Pod event; the nodes it touched.
    pub(super) fn apply_pod(&mut self, event: Event<Pod>) -> Vec<String> {
        match event {
            Event::Apply(pod) => index_pod(&mut self.pods, pod).into_iter().collect(),
            Event::Delete(pod) => {
                let Some(node) = bound_node(&pod).map(str::to_owned) else {
                    return Vec::new();
                };
                unindex_pod(&mut self.pods, &node, &pod_key(&pod));
                vec![node]
            }
            Event::Init => {
                self.pod_relist = Some(HashMap::new());
                Vec::new()
            }
            Event::InitApply(pod) => {
                index_pod(self.pod_relist.get_or_insert_default(), pod);
                Vec::new()
            }
            Event::InitDone => {
                let listed = self.pod_relist.take().unwrap_or_default();
                let touched = union(&self.pods, &listed);
                self.pods = listed;
                self.pods_listed = true;
                touched
            }
        }
    }
}

#[cfg(test)]
#[path = "mirror_tests.rs"]
mod tests;
