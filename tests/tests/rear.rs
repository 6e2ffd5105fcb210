//! REAR between hub processes over mutual TLS: a consumer solves and buys a partition of a
//! provider's agent Flavor; discovery survives dead and garbage peers; a provider killed
//! between reserve and purchase still sells exactly once; a consumer killed mid-solve finishes;
//! identities are enforced.

use std::time::{Duration, Instant};

use fluidos_protocol::Quantity;
use fluidos_protocol::node::WireNodeIdentity;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::rear::{
    PATH_FLAVORS, PATH_RESERVATIONS, PurchaseRequest, ReserveRequest, WireContract, WireFlavor,
    WireTransaction, purchase_path,
};
use fluidos_protocol::reservation::Contract;
use fluidos_protocol::solver::Solver;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::process::Scratch;
use fluidos_tests::rear::{DOMAIN, client_as, objects, rear_config};
use fluidos_tests::{Binaries, bins, eventually, samples};

const HEARTBEAT: Duration = Duration::from_secs(1);

/// A provider hub with one agent board (4 CPUs, 8 GiB: offers 3500m and 7Gi) whose Flavor is
/// up, trusting `consumers` (not yet initialised hubs are added later by restarting).
async fn provider_with_board(
    bins: &Binaries,
    scratch: &Scratch,
    trusted: &[&TestHub],
) -> (TestHub, TestAgent) {
    let mut provider = TestHub::init_named(bins, scratch.path(), "provider", HEARTBEAT);
    provider.set_config(&rear_config(trusted, &[], ""));
    provider.start().await;
    let mut agent = TestAgent::enrolled(
        bins,
        scratch.path(),
        &provider,
        "pi-a",
        &samples::board("pi-a", "arm64", 4, 8),
    );
    agent.start();
    eventually(Duration::from_secs(30), "the board's Flavor", || {
        let found = provider.flavor_of("pi-a").is_some();
        async move { found.then_some(()) }
    })
    .await;
    (provider, agent)
}

fn rear_addr(hub: &TestHub) -> String {
    hub.addrs.expect("started").rear.to_string()
}

async fn remote_flavors(from: &TestHub, to: &TestHub) -> Vec<WireFlavor> {
    let client = client_as(from, &[to]);
    let r = client
        .get(&rear_addr(to), PATH_FLAVORS)
        .await
        .expect("LIST");
    if r.status == 204 {
        return Vec::new();
    }
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).expect("flavor array")
}

fn cpu_of(f: &WireFlavor) -> Quantity {
    let cpu = &f.flavor_type.data["charateristics"]["cpu"];
    serde_json::from_value(cpu.clone()).expect("cpu quantity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_solves_and_buys_a_partition_and_the_provider_shows_the_remainder() {
    let scratch = Scratch::new("rear-trade");
    let bins = bins!();
    let mut consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let (provider, _agent) = provider_with_board(&bins, &scratch, &[&consumer]).await;
    consumer.set_config(&rear_config(&[&provider], &[rear_addr(&provider)], ""));
    consumer.start().await;
    let started = Instant::now();
    let (ok, out, err) = consumer.cli(&["solve", "--cpu", "1", "--memory", "1Gi", "--pods", "10"]);
    assert!(ok, "solve failed:\n{out}\n{err}");
    assert!(out.contains("contract "), "{out}");
    eprintln!("solve took {:?}:\n{out}", started.elapsed());
    let sold: Vec<Contract> = objects(&provider).await;
    let bought: Vec<Contract> = objects(&consumer).await;
    assert_eq!(sold.len(), 1, "one contract on the provider");
    assert_eq!(bought.len(), 1, "one contract on the consumer");
    assert_eq!(sold[0].metadata.name, bought[0].metadata.name);
    assert_eq!(sold[0].spec.buyer.node_id, consumer.node_id());
    assert_eq!(bought[0].spec.seller.node_id, provider.node_id());
    let flavors = remote_flavors(&consumer, &provider).await;
    assert_eq!(flavors.len(), 1);
    assert_eq!(
        cpu_of(&flavors[0]),
        Quantity::parse("2500m").unwrap(),
        "3500m - 1"
    );
    let solvers: Vec<Solver> = objects(&consumer).await;
    let phase = solvers[0].status.as_ref().map(|s| s.solver_phase.phase);
    assert_eq!(phase, Some(Phase::Solved));
}

fn reserve_body(as_hub: &TestHub, flavor: &str) -> ReserveRequest {
    ReserveRequest {
        flavor_id: flavor.to_owned(),
        buyer: WireNodeIdentity {
            id: as_hub.node_id(),
            ip: "127.0.0.1:1".into(),
            domain: DOMAIN.into(),
            additional_information: None,
        },
        configuration: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_killed_between_reserve_and_purchase_sells_exactly_once() {
    let scratch = Scratch::new("rear-kill-provider");
    let bins = bins!();
    let consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let (mut provider, _agent) = provider_with_board(&bins, &scratch, &[&consumer]).await;
    let flavor = remote_flavors(&consumer, &provider).await[0]
        .flavor_id
        .clone();
    let client = client_as(&consumer, &[&provider]);
    // Someone else's identity in buyerID: refused.
    let mut forged = reserve_body(&consumer, &flavor);
    forged.buyer.id = "someoneelse".into();
    let r = client
        .post_json(&rear_addr(&provider), PATH_RESERVATIONS, &forged)
        .await
        .unwrap();
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    let r = client
        .post_json(
            &rear_addr(&provider),
            PATH_RESERVATIONS,
            &reserve_body(&consumer, &flavor),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let tx: WireTransaction = serde_json::from_slice(&r.body).unwrap();
    assert!(
        remote_flavors(&consumer, &provider).await.is_empty(),
        "held whole"
    );
    provider.kill9();
    provider.start().await;
    assert!(
        remote_flavors(&consumer, &provider).await.is_empty(),
        "still held after kill -9"
    );
    let path = purchase_path(&tx.transaction_id);
    let first = client
        .post_json(&rear_addr(&provider), &path, &PurchaseRequest::default())
        .await
        .unwrap();
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let again = client
        .post_json(&rear_addr(&provider), &path, &PurchaseRequest::default())
        .await
        .unwrap();
    let (a, b): (WireContract, WireContract) = (
        serde_json::from_slice(&first.body).unwrap(),
        serde_json::from_slice(&again.body).unwrap(),
    );
    assert_eq!(a, b, "a retried purchase answers the same contract");
    let sold: Vec<Contract> = objects(&provider).await;
    assert_eq!(sold.len(), 1, "sold exactly once");
    // A second buyer cannot buy what is sold.
    let r = client
        .post_json(
            &rear_addr(&provider),
            PATH_RESERVATIONS,
            &reserve_body(&consumer, &flavor),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_keeps_the_healthy_peer_when_one_is_down_and_one_speaks_garbage() {
    let scratch = Scratch::new("rear-discovery");
    let bins = bins!();
    let mut consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let (provider, _agent) = provider_with_board(&bins, &scratch, &[&consumer]).await;
    let mut down = TestHub::init_named(&bins, scratch.path(), "down", HEARTBEAT);
    down.start().await;
    let down_addr = rear_addr(&down);
    down.kill9();
    let garbage = garbage_peer().await;
    let peers = [rear_addr(&provider), down_addr, garbage];
    consumer.set_config(&rear_config(
        &[&provider],
        &peers,
        "discovery_timeout = \"2s\"",
    ));
    consumer.start().await;
    let started = Instant::now();
    let (ok, out, err) = consumer.cli(&["solve", "--cpu", "1", "--memory", "1Gi", "--no-purchase"]);
    assert!(ok, "solve failed:\n{out}\n{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let candidates: Vec<fluidos_protocol::discovery::PeeringCandidate> = objects(&consumer).await;
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(
        candidates[0].spec.flavor.spec.owner.node_id,
        provider.node_id()
    );
}

/// A TCP server that answers every connection with junk bytes.
async fn garbage_peer() -> String {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp
                .write_all(b"\x16\x03\x01garbage garbage garbage\r\n\r\n")
                .await;
        }
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_mid_solve_completes_after_restart() {
    let scratch = Scratch::new("rear-kill-consumer");
    let bins = bins!();
    let mut consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let (provider, _agent) = provider_with_board(&bins, &scratch, &[&consumer]).await;
    // First the only peer is a black hole (accepts TCP, never answers): discovery is in flight
    // for its whole 5 s deadline when the consumer is killed.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_addr = hole.local_addr().unwrap().to_string();
    let slow = "discovery_timeout = \"5s\"";
    consumer.set_config(&rear_config(&[&provider], &[hole_addr], slow));
    consumer.start().await;
    let cli = {
        let state = consumer.state.to_string_lossy().into_owned();
        let config = consumer
            .config
            .clone()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let args = [
            "--state-dir",
            &state,
            "--config",
            &config,
            "solve",
            "--cpu",
            "1",
            "--memory",
            "1Gi",
            "--pods",
            "10",
            "--timeout",
            "60s",
        ];
        fluidos_tests::process::Daemon::spawn(&bins.hub, &args, &scratch.path().join("solve-log"))
    };
    eventually(Duration::from_secs(20), "the solver running", || {
        let hub = &consumer;
        async move {
            let solvers: Vec<Solver> = objects(hub).await;
            let phase = solvers.first()?.status.as_ref()?.solver_phase.phase;
            (phase == Phase::Running).then_some(())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    consumer.kill9();
    drop(cli);
    // Restarted, now with the real provider as its peer: the solve resumes where it was.
    consumer.set_config(&rear_config(&[&provider], &[rear_addr(&provider)], slow));
    consumer.start().await;
    let solved = eventually(Duration::from_secs(60), "the solver finished", || {
        let hub = &consumer;
        async move {
            let solvers: Vec<Solver> = objects(hub).await;
            let phase = solvers.first()?.status.as_ref()?.solver_phase.phase;
            phase.is_terminal().then_some(phase)
        }
    })
    .await;
    assert_eq!(solved, Phase::Solved);
    let sold: Vec<Contract> = objects(&provider).await;
    assert_eq!(sold.len(), 1, "bought exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rear_requests_get_clear_errors_and_store_nothing() {
    let scratch = Scratch::new("rear-bad-input");
    let bins = bins!();
    let consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let (provider, _agent) = provider_with_board(&bins, &scratch, &[&consumer]).await;
    let client = client_as(&consumer, &[&provider]);
    let addr = rear_addr(&provider);
    let garbage = serde_json::json!({"flavorID": 7, "buyerID": "not an identity"});
    let r = client
        .post_json(&addr, PATH_RESERVATIONS, &garbage)
        .await
        .unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let huge = serde_json::json!({"padding": "x".repeat(2 << 20)});
    let r = client
        .post_json(&addr, PATH_RESERVATIONS, &huge)
        .await
        .unwrap();
    assert_eq!(r.status, 413);
    let r = client
        .get(&addr, "/api/v2/flavors/k8slice?filter[cpu][range]=1")
        .await
        .unwrap();
    assert_eq!(
        r.status, 400,
        "range without min/max is refused, not a panic"
    );
    let r = client
        .get(&addr, "/api/v2/flavors/k8slice?page=2")
        .await
        .unwrap();
    assert_eq!(r.status, 400, "unknown query keys are refused");
    let r = client.get(&addr, "/api/v2/flavors/vm").await.unwrap();
    assert_eq!(r.status, 404);
    let r = client
        .post_json(
            &addr,
            &purchase_path("no-such-tx"),
            &PurchaseRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("no-such-tx"),
        "{body}"
    );
    let transactions: Vec<fluidos_protocol::reservation::Transaction> = objects(&provider).await;
    assert!(transactions.is_empty(), "nothing stored: {transactions:?}");
    // The gateway still serves the real flavor afterwards.
    assert_eq!(remote_flavors(&consumer, &provider).await.len(), 1);
}
