//! Nodes → Flavors (the Kubernetes-mode LRM, `fluidos_hub::k8s::nodes::run`, in-process)
//! against a real kube-apiserver, writing through `KubeStore` into the committed CRDs (so the
//! API server accepts every Flavor it writes). A Node labelled
//! `node-role.fluidos.eu/resources=true` is offered with its allocatable minus the requests of
//! the pods bound to it; deleting a pod gives the capacity back; removing the label withdraws
//! the offer (`availability: false`); an unlabelled node is not offered until it is labelled.
//! Nodes are cluster-scoped, so every test uses unique node names and looks only at its own.

use std::sync::Arc;
use std::time::Duration;

use fluidos_hub::k8s::nodes::flavor::K8S_NODE_LABEL;
use fluidos_hub::k8s::nodes::{self, NodeFlavorSettings};
use fluidos_hub::k8s::store::KubeStore;
use fluidos_hub::lrm::FlavorSettings;
use fluidos_hub::store::{Store, list_typed};
use fluidos_protocol::Quantity;
use fluidos_protocol::flavor::{Characteristics, Flavor};
use fluidos_protocol::node::NodeIdentity;
use fluidos_tests::eventually;
use fluidos_tests::kube::{ControlPlane, skipped, unique_name};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;

const LABEL: &str = "node-role.fluidos.eu/resources";
const WAIT: Duration = Duration::from_secs(20);

/// The LRM running in-process against a fresh namespace of the shared control plane.
struct Lrm {
    admin: Client,
    namespace: String,
    store: Arc<KubeStore>,
    stop: Box<dyn FnOnce() + Send>,
    task: JoinHandle<Result<(), nodes::NodeFlavorsError>>,
}

impl Lrm {
    /// Install the CRDs, open a `KubeStore` on a new namespace and start `nodes::run` on it.
    async fn start(prefix: &str) -> Lrm {
        let plane = ControlPlane::shared("nodes");
        plane.install_crds().expect("install CRDs");
        let namespace = unique_name(prefix);
        plane.create_namespace(&namespace).expect("namespace");
        let admin = plane.client().await.expect("admin client");
        let store = KubeStore::open(admin.clone(), &namespace);
        // The token's type (tokio-util's CancellationToken) is inferred from `run`'s signature.
        let shutdown = Default::default();
        let task = tokio::spawn(nodes::run(
            admin.clone(),
            Arc::clone(&store) as Arc<dyn Store>,
            settings(&namespace),
            Clone::clone(&shutdown),
        ));
        let stop = Box::new(move || shutdown.cancel());
        Lrm {
            admin,
            namespace,
            store,
            stop,
            task,
        }
    }

    /// Cancel the LRM and check it returns cleanly.
    async fn stop(self) {
        (self.stop)();
        let finished = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        let result = finished.expect("run stops on shutdown").expect("no panic");
        result.expect("run ends without error");
    }

    /// The Flavor of node `node` once `check` accepts it.
    async fn flavor_when(&self, node: &str, what: &str, check: impl Fn(&Flavor) -> bool) -> Flavor {
        let what = format!("{what} (node {node})");
        eventually(WAIT, &what, || async {
            self.flavor_of(node).await.filter(|f| check(f))
        })
        .await
    }

    /// The Flavor carrying `fluidos.eu/k8s-node=<node>`, if any (at most one).
    async fn flavor_of(&self, node: &str) -> Option<Flavor> {
        let all = list_typed::<Flavor>(self.store.as_ref(), Some(&self.namespace))
            .await
            .expect("list flavors");
        let mut mine: Vec<Flavor> = all
            .into_iter()
            .filter(|f| f.metadata.labels.get(K8S_NODE_LABEL).map(String::as_str) == Some(node))
            .collect();
        assert!(mine.len() <= 1, "one Flavor per node: {mine:#?}");
        mine.pop()
    }
}

fn settings(namespace: &str) -> NodeFlavorSettings {
    NodeFlavorSettings {
        label: LABEL.to_owned(),
        namespace: namespace.to_owned(),
        hub: NodeIdentity {
            domain: "fluidos.eu".into(),
            node_id: "hub-nodes-test".into(),
            ip: "10.0.0.1:3004".into(),
            ..NodeIdentity::default()
        },
        flavor: FlavorSettings::default(),
        threshold: 0.05,
    }
}

/// Create Node `name` (labelled when `labelled`), then set its status — 4 cpu, 8Gi, 110 pods,
/// Ready — through the status subresource (create ignores status). Returns its uid.
async fn create_node(admin: &Client, name: &str, labelled: bool) -> String {
    let labels = if labelled {
        json!({ LABEL: "true", "kubernetes.io/hostname": name })
    } else {
        json!({ "kubernetes.io/hostname": name })
    };
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
    }))
    .expect("a Node");
    let nodes: Api<Node> = Api::all(admin.clone());
    let created = nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("create node");
    let status = json!({"status": {
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "test node", "lastHeartbeatTime": null,
                        "lastTransitionTime": null}],
        "nodeInfo": {"architecture": "amd64", "bootID": "", "containerRuntimeVersion": "",
                     "kernelVersion": "", "kubeProxyVersion": "", "kubeletVersion": "",
                     "machineID": "", "operatingSystem": "linux", "osImage": "",
                     "systemUUID": ""},
    }});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("set node status");
    created.metadata.uid.expect("a uid")
}

async fn set_label(admin: &Client, node: &str, value: Option<&str>) {
    let patch = json!({"metadata": {"labels": {LABEL: value}}});
    Api::<Node>::all(admin.clone())
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("label node");
}

async fn delete_node(admin: &Client, node: &str) {
    Api::<Node>::all(admin.clone())
        .delete(node, &DeleteParams::default())
        .await
        .expect("delete node");
}

/// A pod in `namespace` bound to `node` (spec.nodeName set directly: there is no scheduler)
/// requesting `cpu` and `memory`.
fn bound_pod(name: &str, node: &str, cpu: &str, memory: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "main", "image": "busybox",
                            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]
        }
    }))
    .expect("a Pod")
}

fn characteristics(flavor: &Flavor) -> Characteristics {
    let data = flavor.spec.flavor_type.k8slice().expect("a K8Slice flavor");
    data.expect("valid K8Slice data").characteristics
}

fn offers(flavor: &Flavor, cpu: &str, memory: &str) -> bool {
    let c = characteristics(flavor);
    let q = |s: &str| Quantity::parse(s).expect("a quantity");
    flavor.spec.availability && c.cpu == q(cpu) && c.memory == q(memory)
}

#[tokio::test]
async fn labelled_node_flavor_follows_pod_requests_and_its_label() {
    if skipped("labelled_node_flavor_follows_pod_requests_and_its_label") {
        return;
    }
    let lrm = Lrm::start("nodes-follow").await;
    let node = unique_name("worker");
    let uid = create_node(&lrm.admin, &node, true).await;
    let offered = lrm
        .flavor_when(&node, "4 cpu, 8Gi", |f| offers(f, "4", "8Gi"))
        .await;
    let owner = &offered.metadata.owner_references;
    assert_eq!(owner.len(), 1, "{owner:?}");
    assert_eq!(
        (owner[0].kind.as_str(), owner[0].name.as_str()),
        ("Node", node.as_str())
    );
    assert_eq!(owner[0].uid, uid, "owned by the Node object");
    assert_eq!(
        characteristics(&offered).pods,
        Quantity::parse("110").expect("q")
    );

    let pods: Api<Pod> = Api::namespaced(lrm.admin.clone(), &lrm.namespace);
    let pod = bound_pod("web", &node, "1", "1Gi");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
    let loaded = lrm
        .flavor_when(&node, "3 cpu, 7Gi", |f| offers(f, "3", "7Gi"))
        .await;
    assert_eq!(
        loaded.metadata.name, offered.metadata.name,
        "the same Flavor, updated"
    );

    pods.delete("web", &DeleteParams::default().grace_period(0))
        .await
        .expect("delete pod");
    lrm.flavor_when(&node, "back to 4 cpu, 8Gi", |f| offers(f, "4", "8Gi"))
        .await;

    set_label(&lrm.admin, &node, None).await;
    let withdrawn = lrm
        .flavor_when(&node, "unavailable", |f| !f.spec.availability)
        .await;
    assert_eq!(
        withdrawn.metadata.name, offered.metadata.name,
        "kept, not deleted"
    );

    let admin = lrm.admin.clone();
    lrm.stop().await;
    delete_node(&admin, &node).await;
}

#[tokio::test]
async fn unlabelled_node_gets_no_flavor_until_labelled() {
    if skipped("unlabelled_node_gets_no_flavor_until_labelled") {
        return;
    }
    let lrm = Lrm::start("nodes-unlabelled").await;
    let plain = unique_name("plain");
    let control = unique_name("control");
    create_node(&lrm.admin, &plain, false).await;
    create_node(&lrm.admin, &control, true).await;
    // The LRM is up and has reconciled a node created after the unlabelled one.
    lrm.flavor_when(&control, "the labelled node offered", |f| {
        offers(f, "4", "8Gi")
    })
    .await;
    tokio::time::sleep(nodes::DEBOUNCE * 3).await;
    assert!(
        lrm.flavor_of(&plain).await.is_none(),
        "unlabelled: no Flavor"
    );

    set_label(&lrm.admin, &plain, Some("true")).await;
    lrm.flavor_when(&plain, "offered once labelled", |f| offers(f, "4", "8Gi"))
        .await;

    let admin = lrm.admin.clone();
    lrm.stop().await;
    delete_node(&admin, &plain).await;
    delete_node(&admin, &control).await;
}
