//! Hub + agents as separate processes over mutual TLS: agents become Flavors with the sampled
//! capacity, and an agent that stops makes its Flavor unavailable (then available again).

use std::time::{Duration, Instant};

use fluidos_protocol::Quantity;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::process::Scratch;
use fluidos_tests::{bins, eventually, samples};

const HEARTBEAT: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_become_three_flavors_with_their_sampled_capacity() {
    let scratch = Scratch::new("three-agents");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    hub.start().await;
    let boards = [
        ("pi-a", "arm64", 4, 8),
        ("pi-b", "arm", 4, 2),
        ("nuc-c", "amd64", 8, 16),
    ];
    let mut agents = Vec::new();
    for (node, arch, cpus, mem) in boards {
        let agent = TestAgent::enrolled(
            &bins,
            scratch.path(),
            &hub,
            node,
            &samples::board(node, arch, cpus, mem),
        );
        agents.push(agent);
    }
    for agent in &mut agents {
        agent.start();
    }
    let flavors = eventually(Duration::from_secs(30), "three flavors", || {
        let f = hub.flavors();
        async move { (f.len() == 3).then_some(f) }
    })
    .await;
    for (node, arch, cpus, mem) in boards {
        let flavor = flavors
            .iter()
            .find(|f| {
                f.metadata
                    .labels
                    .get("fluidos.eu/agent-node")
                    .map(String::as_str)
                    == Some(node)
            })
            .unwrap_or_else(|| panic!("no flavor for {node}"));
        assert!(
            flavor.metadata.name.starts_with("test.fluidos-k8slice-"),
            "{}",
            flavor.metadata.name
        );
        assert_eq!(
            flavor.metadata.name.len(),
            "test.fluidos-k8slice-".len() + 8
        );
        assert!(flavor.spec.availability);
        let k8s = flavor
            .spec
            .flavor_type
            .k8slice()
            .expect("K8Slice")
            .expect("typed data");
        let offered = samples::board(node, arch, cpus, mem).offered;
        assert_eq!(k8s.characteristics.architecture, arch);
        assert_eq!(
            k8s.characteristics.cpu,
            Quantity::from_milli(i64::try_from(offered.cpu_millis).unwrap())
        );
        assert_eq!(
            k8s.characteristics.memory,
            Quantity::from_bytes_binary(offered.memory_bytes)
        );
        assert_eq!(k8s.characteristics.pods, Quantity::from_int(110));
        assert_eq!(flavor.spec.owner.domain, "test.fluidos");
        assert_eq!(flavor.spec.provider_id, flavor.spec.owner.node_id);
    }
    for agent in &mut agents {
        agent.stop();
    }
    hub.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_agent_becomes_unavailable_within_three_intervals_and_comes_back() {
    let scratch = Scratch::new("liveness");
    let bins = bins!();
    let mut hub = TestHub::init(&bins, scratch.path(), HEARTBEAT);
    hub.start().await;
    let mut agent = TestAgent::enrolled(
        &bins,
        scratch.path(),
        &hub,
        "edge-1",
        &samples::board("edge-1", "arm64", 4, 4),
    );
    agent.start();
    let available = |want: bool| {
        let f = hub.flavor_of("edge-1");
        async move { f.filter(|f| f.spec.availability == want).map(|_| ()) }
    };
    eventually(Duration::from_secs(20), "an available flavor", || {
        available(true)
    })
    .await;
    let flavor_name = hub.flavor_of("edge-1").unwrap().metadata.name;

    agent.kill9();
    let stopped = Instant::now();
    eventually(
        Duration::from_secs(15),
        "the flavor to become unavailable",
        || available(false),
    )
    .await;
    // Three intervals plus one sweep period and the CLI round trip.
    let took = stopped.elapsed();
    assert!(
        took <= HEARTBEAT * 3 + Duration::from_secs(3),
        "lost detection took {took:?}"
    );
    let lost = hub.agent("edge-1").expect("agent listed");
    assert_eq!(lost["state"], "lost");

    agent.start();
    eventually(Duration::from_secs(15), "the flavor to come back", || {
        available(true)
    })
    .await;
    let back = hub.flavor_of("edge-1").unwrap();
    assert_eq!(
        back.metadata.name, flavor_name,
        "the same flavor comes back, never a new one"
    );
    assert_eq!(hub.flavors().len(), 1);
    agent.stop();
    hub.stop();
}
