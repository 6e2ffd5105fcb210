//! A replicated hub in Kubernetes mode: two replicas of one consumer hub share an API server;
//! the controllers run on the Lease holder only. Killing the leader (kill -9, no release)
//! moves them to the other replica within the Lease duration and a Solver completes exactly
//! once; a hub killed in the middle of a flow and restarted finishes it.

use std::time::{Duration, Instant};

use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::Contract;
use fluidos_protocol::solver::Solver;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::kube::{ControlPlane, skipped, unique_name};
use fluidos_tests::kube_mode::{kube_config, kube_objects, kube_store, solver_yaml};
use fluidos_tests::process::Scratch;
use fluidos_tests::rear::{objects, rear_config};
use fluidos_tests::{bins, eventually, samples};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

const HEARTBEAT: Duration = Duration::from_secs(1);

/// The pid in the Lease's holderIdentity (`<host>-<pid>`), once someone holds it.
async fn leader_pid(plane: &ControlPlane, ns: &str) -> u32 {
    let leases: Api<Lease> = Api::namespaced(plane.client().await.expect("client"), ns);
    eventually(Duration::from_secs(30), "a Lease holder", || {
        let leases = leases.clone();
        async move {
            let lease = leases.get_opt("fluidos-hub").await.ok().flatten()?;
            let holder = lease.spec?.holder_identity?;
            holder.rsplit('-').next()?.parse().ok()
        }
    })
    .await
}

async fn solved(plane: &ControlPlane, ns: &str, name: &str, within: Duration) -> Solver {
    let store = kube_store(plane, ns).await;
    let what = format!("Solver {name} Solved");
    eventually(within, &what, || {
        let store = store.clone();
        let (ns, name) = (ns.to_owned(), name.to_owned());
        async move {
            kube_objects::<Solver>(&store, &ns)
                .await
                .into_iter()
                .find(|s| {
                    s.metadata.name == name
                        && s.status
                            .as_ref()
                            .is_some_and(|st| st.solver_phase.phase == Phase::Solved)
                })
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_moves_the_controllers_and_a_killed_hub_resumes() {
    if skipped("killing_the_leader_moves_the_controllers_and_a_killed_hub_resumes") {
        return;
    }
    let plane = ControlPlane::shared("ha");
    plane.install_crds().expect("CRDs");
    let ns = unique_name("ha");
    plane.create_namespace(&ns).expect("namespace");
    let bins = bins!();
    let scratch = Scratch::new("kube-ha");

    // An embedded (SQLite) provider: Kubernetes-mode consumers interoperate with it.
    let mut consumer_a = TestHub::init_named(&bins, scratch.path(), "consumer-a", HEARTBEAT);
    let mut provider = TestHub::init_named(&bins, scratch.path(), "provider", HEARTBEAT);
    provider.set_config(&rear_config(&[&consumer_a], &[], ""));
    provider.start().await;
    let mut agent = TestAgent::enrolled(
        &bins,
        scratch.path(),
        &provider,
        "pi-a",
        &samples::board("pi-a", "arm64", 8, 16),
    );
    agent.start();
    eventually(Duration::from_secs(30), "the board's Flavor", || {
        let found = provider.flavor_of("pi-a").is_some();
        async move { found.then_some(()) }
    })
    .await;

    let rear = provider.addrs.expect("started").rear.to_string();
    consumer_a.set_config(&(kube_config(plane, &ns, "") + &rear_config(&[&provider], &[rear], "")));
    let mut consumer_b = consumer_a.replica("consumer-b");
    consumer_a.start().await;
    consumer_b.start().await;

    // Failover: kill -9 the Lease holder (no release), then ask for a Solver.
    let leader = leader_pid(plane, &ns).await;
    let (mut survivor, victim) = if consumer_a.pid() == Some(leader) {
        (consumer_b, &mut consumer_a)
    } else {
        assert_eq!(
            consumer_b.pid(),
            Some(leader),
            "the Lease holder is one of the replicas"
        );
        (consumer_a, &mut consumer_b)
    };
    let killed_at = Instant::now();
    victim.kill9();
    plane
        .apply_yaml(&solver_yaml("solver-failover", &ns, None))
        .expect("kubectl apply");
    solved(plane, &ns, "solver-failover", Duration::from_secs(40)).await;
    let failover = killed_at.elapsed();
    eprintln!("leader killed → Solver Solved on the other replica in {failover:?}");
    assert!(
        failover < Duration::from_secs(25),
        "failover took {failover:?}"
    );
    assert_eq!(
        leader_pid(plane, &ns).await,
        survivor.pid().expect("running")
    );

    // Restart mid-flow: kill the only replica right after the Solver is applied.
    plane
        .apply_yaml(&solver_yaml("solver-restart", &ns, None))
        .expect("kubectl apply");
    tokio::time::sleep(Duration::from_millis(300)).await;
    survivor.kill9();
    survivor.start().await;
    solved(plane, &ns, "solver-restart", Duration::from_secs(60)).await;

    // Each Solver bought exactly once, on both sides.
    let store = kube_store(plane, &ns).await;
    let bought = kube_objects::<Contract>(&store, &ns).await;
    assert_eq!(
        bought.len(),
        2,
        "one Contract per Solver: {:?}",
        bought.iter().map(|c| &c.metadata.name).collect::<Vec<_>>()
    );
    let sold = objects::<Contract>(&provider).await;
    assert_eq!(sold.len(), 2, "the provider sold exactly twice");

    survivor.stop();
    agent.stop();
    provider.stop();
}
