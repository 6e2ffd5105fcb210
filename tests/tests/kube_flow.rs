//! REAR between two hubs in Kubernetes mode, each with its own real kube-apiserver: a Solver
//! applied with kubectl on the consumer's cluster goes Discovery → PeeringCandidates →
//! Reservation → Contract (on both clusters) → Allocation, and the provider sells a partition
//! of its board's Flavor.

use std::time::{Duration, Instant};

use fluidos_protocol::allocation::Allocation;
use fluidos_protocol::discovery::{Discovery, PeeringCandidate};
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::{Contract, Reservation};
use fluidos_protocol::solver::Solver;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::kube::{ControlPlane, skipped, unique_name};
use fluidos_tests::kube_mode::{kube_config, kube_objects, kube_store};
use fluidos_tests::process::Scratch;
use fluidos_tests::rear::rear_config;
use fluidos_tests::{bins, eventually, samples};

const HEARTBEAT: Duration = Duration::from_secs(1);

/// An upstream-shaped Solver (as in upstream's samples): 1 CPU, 1 GiB, arm64, buy it.
fn solver_yaml(name: &str, namespace: &str) -> String {
    format!(
        r#"apiVersion: nodecore.fluidos.eu/v1alpha1
kind: Solver
metadata:
  name: {name}
  namespace: {namespace}
spec:
  selector:
    flavorType: K8Slice
    filters:
      architectureFilter:
        name: Match
        data:
          value: arm64
      cpuFilter:
        name: Range
        data:
          min: "1"
      memoryFilter:
        name: Range
        data:
          min: 1Gi
  intentID: intent-{name}
  findCandidate: true
  reserveAndBuy: true
  establishPeering: true
"#
    )
}

fn apply(plane: &ControlPlane, yaml: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("object.yaml");
    std::fs::write(&file, yaml).expect("write yaml");
    plane
        .kubectl_ok(&["apply", "-f", &file.to_string_lossy()])
        .expect("kubectl apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solver_applied_with_kubectl_buys_from_a_peer_hub_on_another_cluster() {
    if skipped("solver_applied_with_kubectl_buys_from_a_peer_hub_on_another_cluster") {
        return;
    }
    let (provider_plane, consumer_plane) = (
        ControlPlane::shared("provider"),
        ControlPlane::shared("consumer"),
    );
    let ns = unique_name("flow");
    for plane in [provider_plane, consumer_plane] {
        plane.install_crds().expect("CRDs");
        plane.create_namespace(&ns).expect("namespace");
    }
    let bins = bins!();
    let scratch = Scratch::new("kube-flow");
    let mut consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let mut provider = TestHub::init_named(&bins, scratch.path(), "provider", HEARTBEAT);
    let provider_config =
        kube_config(provider_plane, &ns, "peering = false") + &rear_config(&[&consumer], &[], "");
    provider.set_config(&provider_config);
    provider.start().await;
    let mut agent = TestAgent::enrolled(
        &bins,
        scratch.path(),
        &provider,
        "pi-a",
        &samples::board("pi-a", "arm64", 4, 8),
    );
    agent.start();
    let provider_store = kube_store(provider_plane, &ns).await;
    let flavor = eventually(
        Duration::from_secs(30),
        "the board's Flavor on the provider's cluster",
        || {
            let store = provider_store.clone();
            let ns = ns.clone();
            async move { kube_objects::<Flavor>(&store, &ns).await.into_iter().next() }
        },
    )
    .await;
    let rear = provider.addrs.expect("started").rear.to_string();
    consumer.set_config(
        &(kube_config(consumer_plane, &ns, "") + &rear_config(&[&provider], &[rear], "")),
    );
    consumer.start().await;

    let started = Instant::now();
    apply(consumer_plane, &solver_yaml("solver-k8s", &ns));
    let consumer_store = kube_store(consumer_plane, &ns).await;
    let solver = eventually(Duration::from_secs(60), "the Solver Solved", || {
        let store = consumer_store.clone();
        let ns = ns.clone();
        async move {
            kube_objects::<Solver>(&store, &ns)
                .await
                .into_iter()
                .find(|s| {
                    s.status
                        .as_ref()
                        .is_some_and(|st| st.solver_phase.phase == Phase::Solved)
                })
        }
    })
    .await;
    eprintln!(
        "Solver → Solved in {:?} (kubectl apply to status)",
        started.elapsed()
    );
    assert_eq!(solver.metadata.name, "solver-k8s");

    let discoveries = kube_objects::<Discovery>(&consumer_store, &ns).await;
    assert_eq!(discoveries.len(), 1, "one Discovery for the Solver");
    let candidates = kube_objects::<PeeringCandidate>(&consumer_store, &ns).await;
    assert!(
        candidates
            .iter()
            .any(|pc| pc.spec.flavor.metadata.name == flavor.metadata.name)
    );
    let reservations = kube_objects::<Reservation>(&consumer_store, &ns).await;
    assert_eq!(reservations.len(), 1);
    let bought = kube_objects::<Contract>(&consumer_store, &ns).await;
    let sold = kube_objects::<Contract>(&provider_store, &ns).await;
    assert_eq!(bought.len(), 1, "the consumer's cluster has the Contract");
    assert_eq!(sold.len(), 1, "the provider's cluster has the Contract");
    assert_eq!(bought[0].spec.transaction_id, sold[0].spec.transaction_id);
    assert_eq!(sold[0].spec.flavor.metadata.name, flavor.metadata.name);
    let allocations = kube_objects::<Allocation>(&consumer_store, &ns).await;
    assert_eq!(
        allocations.len(),
        1,
        "the consumer allocates what it bought"
    );

    // kubectl shows the upstream printer columns with our values.
    let table = consumer_plane
        .kubectl_ok(&["get", "solvers", "-n", &ns])
        .expect("kubectl get solvers");
    assert!(
        table.contains("INTENT ID") && table.contains("Solved"),
        "{table}"
    );

    agent.stop();
    consumer.stop();
    provider.stop();
}
