//! Pure: what a Kubernetes Node still has room for, by **requests** (what the scheduler
//! reasons with), not by instantaneous usage (what upstream's LRM subtracts).
//!
//! [`pod_requests`] is Kubernetes' effective pod request (`k8s.io/component-helpers`
//! `resource.PodRequests`): the larger of the containers' sum and the init-container peak
//! (restartable sidecar init containers run alongside and count in the sum), pod-level
//! requests where set, plus the pod overhead. [`node_capacity`] subtracts the requests of the
//! non-terminal pods bound to the node from `status.allocatable`, never going below zero.

use std::collections::BTreeMap;

use fluidos_protocol::Quantity;
use k8s_openapi::api::core::v1::{Container, Node, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The extended resource counting NVIDIA GPUs.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
/// CPU resource name.
const CPU: &str = "cpu";
/// Memory resource name.
const MEMORY: &str = "memory";
/// Pod count resource name.
const PODS: &str = "pods";
/// Local ephemeral storage resource name.
const EPHEMERAL_STORAGE: &str = "ephemeral-storage";

/// A Kubernetes resource list (`requests`, `allocatable`, `overhead`).
type ResourceList = BTreeMap<String, KubeQuantity>;

/// The resources a Flavor describes, as requested by a pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// CPU.
    pub cpu: Quantity,
    /// Memory.
    pub memory: Quantity,
    /// Ephemeral storage.
    pub storage: Quantity,
    /// NVIDIA GPUs.
    pub gpu: Quantity,
}

impl Requests {
    /// The tracked resources of `list` (absent or unparsable entries count as zero; the API
    /// server validates quantities, so the latter does not happen with real objects).
    fn of(list: Option<&ResourceList>) -> Self {
        let get = |name: &str| {
            list.and_then(|l| l.get(name))
                .and_then(|q| Quantity::parse(&q.0).ok())
                .unwrap_or_else(Quantity::zero)
        };
        Self {
            cpu: get(CPU),
            memory: get(MEMORY),
            storage: get(EPHEMERAL_STORAGE),
            gpu: get(GPU_RESOURCE),
        }
    }

    fn of_container(container: &Container) -> Self {
        Self::of(
            container
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref()),
        )
    }

    fn plus(self, other: Self) -> Self {
        Self {
            cpu: self.cpu.saturating_add(other.cpu),
            memory: self.memory.saturating_add(other.memory),
            storage: self.storage.saturating_add(other.storage),
            gpu: self.gpu.saturating_add(other.gpu),
        }
    }

    fn max(self, other: Self) -> Self {
        Self {
            cpu: self.cpu.max(other.cpu),
            memory: self.memory.max(other.memory),
            storage: self.storage.max(other.storage),
            gpu: self.gpu.max(other.gpu),
        }
    }
}

/// Whether an init container is a restartable sidecar (`restartPolicy: Always`).
fn is_sidecar(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

/// The effective request of a pod: see the module documentation.
pub fn pod_requests(pod: &Pod) -> Requests {
    let Some(spec) = pod.spec.as_ref() else {
        return Requests::default();
    };
    let mut sum = spec
        .containers
        .iter()
        .map(Requests::of_container)
        .fold(Requests::default(), Requests::plus);
    let mut sidecars = Requests::default();
    let mut init_peak = Requests::default();
    for init in spec.init_containers.iter().flatten() {
        let own = Requests::of_container(init);
        let while_running = if is_sidecar(init) {
            sum = sum.plus(own);
            sidecars = sidecars.plus(own);
            sidecars
        } else {
            own.plus(sidecars)
        };
        init_peak = init_peak.max(while_running);
    }
    let mut requests = sum.max(init_peak);
    apply_pod_level(&mut requests, spec);
    requests.plus(Requests::of(spec.overhead.as_ref()))
}

/// Pod-level `spec.resources.requests` (cpu and memory only) replace the containers' total.
fn apply_pod_level(requests: &mut Requests, spec: &PodSpec) {
    let Some(list) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()) else {
        return;
    };
    let pod_level = Requests::of(Some(list));
    if list.contains_key(CPU) {
        requests.cpu = pod_level.cpu;
    }
    if list.contains_key(MEMORY) {
        requests.memory = pod_level.memory;
    }
}

/// Whether a pod still holds its requests: not `Succeeded` or `Failed`.
pub fn is_active(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// The node a pod is bound to (`spec.nodeName`), when any.
pub fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// What a node can still take, by requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCapacity {
    /// `status.nodeInfo.architecture` (empty when not reported).
    pub architecture: String,
    /// Free CPU.
    pub cpu: Quantity,
    /// Free memory.
    pub memory: Quantity,
    /// Free pod slots.
    pub pods: Quantity,
    /// Free ephemeral storage (zero when not reported).
    pub ephemeral_storage: Quantity,
    /// Free NVIDIA GPUs, when the node has the resource at all.
    pub gpu: Option<Quantity>,
}

/// `allocatable − requested`, never below zero.
fn left(allocatable: Quantity, requested: Quantity) -> Quantity {
    allocatable.saturating_sub(requested).max(Quantity::zero())
}

/// What `node` can still take given every pod in `pods` bound to it (others, and terminal
/// pods, are ignored). `None` when the node reports no allocatable cpu or memory.
pub fn node_capacity(node: &Node, pods: &[&Pod]) -> Option<NodeCapacity> {
    let status = node.status.as_ref()?;
    let allocatable = status.allocatable.as_ref()?;
    let parse = |name: &str| {
        allocatable
            .get(name)
            .and_then(|q| Quantity::parse(&q.0).ok())
    };
    let (cpu, memory) = (parse(CPU)?, parse(MEMORY)?);
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let bound: Vec<&Pod> = pods
        .iter()
        .copied()
        .filter(|p| bound_node(p) == Some(name) && is_active(p))
        .collect();
    let used = bound
        .iter()
        .map(|p| pod_requests(p))
        .fold(Requests::default(), Requests::plus);
    let running = Quantity::from_int(i64::try_from(bound.len()).unwrap_or(i64::MAX));
    Some(NodeCapacity {
        architecture: status
            .node_info
            .as_ref()
            .map(|i| i.architecture.clone())
            .unwrap_or_default(),
        cpu: left(cpu, used.cpu),
        memory: left(memory, used.memory),
        pods: left(parse(PODS).unwrap_or_else(Quantity::zero), running),
        ephemeral_storage: left(
            parse(EPHEMERAL_STORAGE).unwrap_or_else(Quantity::zero),
            used.storage,
        ),
        gpu: parse(GPU_RESOURCE).map(|gpu| left(gpu, used.gpu)),
    })
}

/// `pod` reduced to what [`node_capacity`] reads (name, namespace, node, phase, containers'
/// requests and restart policy, pod-level requests, overhead), so that an index of every
/// bound pod in the cluster stays small.
pub fn slim_pod(pod: &mut Pod) {
    let metadata = ObjectMeta {
        name: pod.metadata.name.take(),
        namespace: pod.metadata.namespace.take(),
        uid: pod.metadata.uid.take(),
        ..ObjectMeta::default()
    };
    let spec = pod.spec.take().map(|spec| PodSpec {
        containers: spec.containers.into_iter().map(slim_container).collect(),
        init_containers: spec
            .init_containers
            .map(|c| c.into_iter().map(slim_container).collect()),
        node_name: spec.node_name,
        overhead: spec.overhead,
        resources: spec.resources,
        ..PodSpec::default()
    });
    let status = pod.status.take().map(|status| PodStatus {
        phase: status.phase,
        ..PodStatus::default()
    });
    *pod = Pod {
        metadata,
        spec,
        status,
    };
}

fn slim_container(container: Container) -> Container {
    Container {
        name: container.name,
        resources: container
            .resources
            .map(|r| k8s_openapi::api::core::v1::ResourceRequirements {
                requests: r.requests,
                ..Default::default()
            }),
        restart_policy: container.restart_policy,
        ..Container::default()
    }
}

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
