//! REAR between two hubs in Kubernetes mode, each with its own real kube-apiserver: the consumer
//! knows the provider from a KnownCluster made with kubectl; a Solver
//! applied with kubectl on the consumer's cluster goes Discovery → PeeringCandidates →
//! Reservation → Contract (on both clusters) → Allocation, and the provider sells a partition
//! of its board's Flavor.

use std::time::{Duration, Instant};

use base64::Engine;
use fluidos_hub::k8s::peering::peer_cluster_role;
use fluidos_protocol::allocation::Allocation;
use fluidos_protocol::discovery::{Discovery, PeeringCandidate};
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::{Contract, Reservation};
use fluidos_protocol::solver::Solver;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::kube::{ControlPlane, skipped, unique_name};
use fluidos_tests::kube_mode::{kube_config, kube_objects, kube_store, solver_yaml};
use fluidos_tests::process::Scratch;
use fluidos_tests::rear::rear_config;
use fluidos_tests::{bins, eventually, samples};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::Api;
use kube::api::PostParams;

const HEARTBEAT: Duration = Duration::from_secs(1);

/// The ClusterRole buyers are bound to in their contract namespace (the deploy manifests'
/// `fluidos-peer`, built by the same code).
async fn install_peer_role(plane: &ControlPlane) {
    let client = plane.client().await.expect("client");
    let roles: Api<ClusterRole> = Api::all(client);
    let role = peer_cluster_role("fluidos-peer");
    match roles.create(&PostParams::default(), &role).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("cannot create the peer ClusterRole: {error}"),
    }
}

/// The kubeconfig the buyer got works in its contract namespace only, and stops working once
/// the seller terminates the contract.
async fn check_peering_credentials(
    provider_plane: &ControlPlane,
    scratch: &Scratch,
    bought: &Contract,
    sold: &Contract,
    ns: &str,
) {
    let encoded = &bought.spec.peering_target_credentials.kubeconfig;
    let yaml = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("the kubeconfig is base64");
    let path = scratch.path().join("buyer.kubeconfig");
    std::fs::write(&path, &yaml).expect("write kubeconfig");
    let kubeconfig = path.to_string_lossy().into_owned();
    let kubectl = |args: &[&str]| {
        let out = provider_plane_kubectl(&kubeconfig, args);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = kubectl(&["create", "configmap", "bought-it"]);
    assert!(ok, "the buyer can create in its contract namespace: {err}");
    let (ok, err) = kubectl(&["get", "pods", "-n", ns]);
    assert!(
        !ok && err.contains("Forbidden"),
        "the buyer is forbidden in the FLUIDOS namespace: {err}"
    );
    let (ok, err) = kubectl(&["get", "nodes"]);
    assert!(
        !ok && err.contains("Forbidden"),
        "the buyer has nothing cluster-wide: {err}"
    );

    provider_plane
        .kubectl_ok(&[
            "patch",
            "contracts.reservation.fluidos.eu",
            &sold.metadata.name,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":{"phase":"Inactive","message":"terminated by the test"}}}"#,
        ])
        .expect("terminate the contract");
    eventually(
        Duration::from_secs(30),
        "the buyer's credentials to stop working",
        || {
            let (ok, _) = kubectl(&["get", "configmaps"]);
            async move { (!ok).then_some(()) }
        },
    )
    .await;
    let _ = provider_plane;
}

fn provider_plane_kubectl(kubeconfig: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs")
}

/// A provider hub with one agent board whose Flavor is on its cluster, and a consumer hub
/// that trusts and queries it, both in Kubernetes mode on their own clusters.
async fn provider_and_consumer(
    provider_plane: &ControlPlane,
    consumer_plane: &ControlPlane,
    scratch: &Scratch,
    ns: &str,
) -> (TestHub, TestHub, TestAgent, Flavor) {
    let ns = ns.to_owned();
    let bins = bins!();
    let mut consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let mut provider = TestHub::init_named(&bins, scratch.path(), "provider", HEARTBEAT);
    install_peer_role(provider_plane).await;
    let provider_config =
        kube_config(provider_plane, &ns, "") + &rear_config(&[&consumer], &[], "");
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
    // No static peers: the consumer learns the provider from a KnownCluster made with kubectl.
    let rear = provider.addrs.expect("started").rear.to_string();
    consumer
        .set_config(&(kube_config(consumer_plane, &ns, "") + &rear_config(&[&provider], &[], "")));
    consumer_plane.apply_yaml(
        &format!(
            "apiVersion: network.fluidos.eu/v1alpha1\nkind: KnownCluster\nmetadata:\n  name: knowncluster-provider\n  namespace: {ns}\nspec:\n  address: \"{rear}\"\n"
        ),
    )
    .expect("kubectl apply the KnownCluster");
    consumer.start().await;

    (provider, consumer, agent, flavor)
}

/// The provider's Flavor shows the partition: capacity in spec, the remainder in status.
async fn check_partitioned(
    provider_store: &std::sync::Arc<fluidos_hub::k8s::store::KubeStore>,
    ns: &str,
    flavor: &Flavor,
    bought: &Contract,
) {
    let ns = ns.to_owned();
    let capacity = flavor
        .spec
        .flavor_type
        .k8slice()
        .expect("K8Slice")
        .expect("typeData");
    let remaining = eventually(
        Duration::from_secs(10),
        "the Flavor's status.remaining",
        || {
            let store = provider_store.clone();
            let (ns, name) = (ns.clone(), flavor.metadata.name.clone());
            async move {
                kube_objects::<Flavor>(&store, &ns)
                    .await
                    .into_iter()
                    .find(|f| f.metadata.name == name)
                    .and_then(|f| f.status)
                    .and_then(|s| s.remaining)
            }
        },
    )
    .await;
    let bought_cpu = bought
        .spec
        .configuration
        .as_ref()
        .and_then(|c| c.k8slice_data()?.ok())
        .expect("a K8Slice configuration")
        .cpu;
    assert_eq!(
        remaining.cpu.as_milli() + bought_cpu.as_milli(),
        capacity.characteristics.cpu.as_milli(),
        "remainder + bought = capacity"
    );
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
    let scratch = Scratch::new("kube-flow");
    let (mut provider, mut consumer, mut agent, flavor) =
        provider_and_consumer(provider_plane, consumer_plane, &scratch, &ns).await;

    let started = Instant::now();
    consumer_plane
        .apply_yaml(&solver_yaml("solver-k8s", &ns, Some("arm64")))
        .expect("kubectl apply the Solver");
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
    let provider_store = kube_store(provider_plane, &ns).await;
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

    check_partitioned(&provider_store, &ns, &flavor, &bought[0]).await;
    // The CLI reads the same objects from the API server in Kubernetes mode.
    let (ok, out, err) = consumer.cli(&["contracts"]);
    assert!(
        ok && out.contains(&bought[0].metadata.name),
        "contracts: {out}{err}"
    );
    check_peering_credentials(provider_plane, &scratch, &bought[0], &sold[0], &ns).await;

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
