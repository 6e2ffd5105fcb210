//! Provider rules on a real SQLite store: holds, partitions, idempotent purchase, 403s,
//! expiry, restart, and 50 concurrent buyers.

use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::Quantity;
use fluidos_protocol::configuration::{Configuration, K8SliceConfiguration};
use fluidos_protocol::flavor::{
    Characteristics, Flavor, FlavorSpec, FlavorType, K8SliceTypeData, Partitionability, Policies,
};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::{NodeIdentity, WireNodeIdentity};
use fluidos_protocol::rear::{PurchaseRequest, ReserveRequest};
use fluidos_protocol::selector::{K8SliceFilters, Matcher, QuantityRule};

use super::*;
use crate::rear::peering::EmbeddedDriver;
use crate::rear::trust::NodePeer;
use crate::store::{SqliteStore, create_typed};

const NS: &str = "fluidos";

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

fn me() -> NodeIdentity {
    NodeIdentity {
        domain: "test.fluidos".into(),
        node_id: "provider01".into(),
        ip: "127.0.0.1:3004".into(),
        additional_information: None,
    }
}

fn flavor(name: &str, cpu: &str) -> Flavor {
    let data = K8SliceTypeData {
        characteristics: Characteristics {
            architecture: "arm64".into(),
            cpu: q(cpu),
            memory: q("8Gi"),
            pods: q("110"),
            gpu: None,
            storage: None,
        },
        policies: Policies {
            partitionability: Partitionability {
                cpu_step: q("1"),
                memory_step: q("100Mi"),
                ..Partitionability::default()
            },
        },
        ..K8SliceTypeData::default()
    };
    let meta = ObjectMeta {
        name: name.into(),
        namespace: NS.into(),
        ..ObjectMeta::default()
    };
    Flavor::new(
        meta,
        FlavorSpec {
            provider_id: me().node_id,
            flavor_type: FlavorType::from_k8slice(&data).unwrap(),
            owner: me(),
            availability: true,
            ..FlavorSpec::default()
        },
    )
}

async fn provider(dir: &std::path::Path, ttl: Duration) -> Arc<Provider> {
    let store: Arc<dyn crate::store::Store> = SqliteStore::open(&dir.join("hub.db")).unwrap();
    if crate::store::get_typed::<Flavor>(store.as_ref(), NS, "f1")
        .await
        .unwrap()
        .is_none()
    {
        create_typed(store.as_ref(), &flavor("f1", "4"))
            .await
            .unwrap();
    }
    let settings = ProviderSettings {
        namespace: NS.into(),
        transaction_ttl: ttl,
        contract_duration: Duration::from_secs(3600),
    };
    let driver = Arc::new(EmbeddedDriver {
        node_id: me().node_id,
    });
    Provider::load(store, me(), settings, driver)
        .await
        .unwrap()
        .0
}

fn buyer(id: &str) -> (NodePeer, WireNodeIdentity) {
    let peer = NodePeer {
        domain: "test.fluidos".into(),
        node_id: id.into(),
    };
    let wire = WireNodeIdentity {
        id: id.into(),
        ip: "127.0.0.1:1".into(),
        domain: "test.fluidos".into(),
        additional_information: None,
    };
    (peer, wire)
}

fn reserve_req(buyer: WireNodeIdentity, cpu: Option<&str>) -> ReserveRequest {
    ReserveRequest {
        flavor_id: "f1".into(),
        buyer,
        configuration: cpu.map(|cpu| {
            Configuration::k8slice(&K8SliceConfiguration {
                cpu: q(cpu),
                memory: q("1Gi"),
                pods: q("10"),
                gpu: None,
                storage: None,
            })
            .unwrap()
            .to_wire()
        }),
    }
}

fn listed_cpu(p: &Provider) -> Option<String> {
    let (body, _) = p.list(&ListKind::All);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v.as_array().unwrap().first().map(|f| {
        f["type"]["data"]["charateristics"]["cpu"]
            .as_str()
            .unwrap()
            .to_owned()
    })
}

#[tokio::test]
async fn a_partition_is_held_sold_once_and_listed_as_the_remainder() {
    let dir = tempfile::tempdir().unwrap();
    let p = provider(dir.path(), Duration::from_secs(60)).await;
    let (peer, wire) = buyer("buyer0001");
    let tx = p
        .reserve(Some(&peer), reserve_req(wire.clone(), Some("1")))
        .await
        .unwrap();
    assert_eq!(
        listed_cpu(&p).as_deref(),
        Some("3"),
        "the hold is not offered"
    );
    let c1 = p
        .purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
        .await
        .unwrap();
    let c2 = p
        .purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
        .await
        .unwrap();
    assert_eq!(c1, c2, "purchase is idempotent");
    assert_eq!(c1.seller.id, "provider01");
    assert_eq!(c1.flavor.flavor_id, "f1");
    assert_eq!(
        listed_cpu(&p).as_deref(),
        Some("3"),
        "sold capacity is not offered"
    );
    let k8s = K8SliceFilters {
        cpu: Some(QuantityRule::at_least(q("4"))),
        ..K8SliceFilters::default()
    };
    let (body, n) = p.list(&ListKind::K8Slice(Matcher::k8slice(&k8s).unwrap()));
    assert_eq!((n, &body[..]), (0, &b"[]"[..]), "filters see the remainder");

    // The stored Flavor shows the partition in its status; the spec keeps the capacity.
    p.publish_remainders().await;
    let stored = crate::store::get_typed::<Flavor>(p.store.as_ref(), NS, "f1")
        .await
        .unwrap()
        .unwrap();
    let remaining = stored
        .status
        .and_then(|s| s.remaining)
        .expect("status.remaining");
    assert_eq!(remaining.cpu, q("3"));
    assert_eq!(
        stored
            .spec
            .flavor_type
            .k8slice()
            .unwrap()
            .unwrap()
            .characteristics
            .cpu,
        q("4")
    );
}

#[tokio::test]
async fn other_identities_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = provider(dir.path(), Duration::from_secs(60)).await;
    let (mallory, _) = buyer("mallory01");
    let (peer, wire) = buyer("buyer0001");
    let err = p
        .reserve(Some(&mallory), reserve_req(wire.clone(), None))
        .await
        .unwrap_err();
    assert_eq!(err.status(), http::StatusCode::FORBIDDEN);
    let tx = p
        .reserve(Some(&peer), reserve_req(wire, None))
        .await
        .unwrap();
    let err = p
        .purchase(
            Some(&mallory),
            &tx.transaction_id,
            PurchaseRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), http::StatusCode::FORBIDDEN);
    let err = p
        .purchase(Some(&peer), "nope-1", PurchaseRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    let mut unknown = reserve_req(buyer("buyer0001").1, None);
    unknown.flavor_id = "missing".into();
    let err = p.reserve(Some(&peer), unknown).await.unwrap_err();
    assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_hold_gives_408_and_frees_the_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let p = provider(dir.path(), Duration::from_secs(1)).await;
    let (peer, wire) = buyer("buyer0001");
    let tx = p
        .reserve(Some(&peer), reserve_req(wire, None))
        .await
        .unwrap();
    assert_eq!(listed_cpu(&p), None, "held as a whole");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = p
        .purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), http::StatusCode::REQUEST_TIMEOUT);
    assert_eq!(listed_cpu(&p).as_deref(), Some("4"));
}

#[tokio::test]
async fn holds_and_sales_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (peer, wire) = buyer("buyer0001");
    let tx = {
        let p = provider(dir.path(), Duration::from_secs(60)).await;
        p.reserve(Some(&peer), reserve_req(wire.clone(), Some("2")))
            .await
            .unwrap()
    };
    let p = provider(dir.path(), Duration::from_secs(60)).await;
    assert_eq!(listed_cpu(&p).as_deref(), Some("2"), "the hold survived");
    p.purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
        .await
        .unwrap();
    drop(p);
    let p = provider(dir.path(), Duration::from_secs(60)).await;
    assert_eq!(listed_cpu(&p).as_deref(), Some("2"), "the sale survived");
    let again = p
        .purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
        .await
        .unwrap();
    assert_eq!(again.transaction_id, tx.transaction_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_buyers_never_oversell() {
    let dir = tempfile::tempdir().unwrap();
    let p = provider(dir.path(), Duration::from_secs(60)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let p = Arc::clone(&p);
        tasks.spawn(async move {
            let (peer, wire) = buyer(&format!("buyer{i:04}"));
            // Half ask for the whole flavor, half for one CPU.
            let cpu = (i % 2 == 0).then_some("1");
            let tx = p.reserve(Some(&peer), reserve_req(wire, cpu)).await.ok()?;
            p.purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
                .await
                .ok()
        });
    }
    let mut sold = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Some(contract) = done.unwrap() {
            sold.push(contract);
        }
    }
    let whole = sold.iter().filter(|c| c.configuration.is_none()).count();
    let cpus: i128 = sold
        .iter()
        .filter_map(|c| c.configuration.as_ref()?.k8slice_data()?.ok())
        .map(|part| part.cpu.as_milli())
        .sum();
    assert!(!sold.is_empty());
    if whole > 0 {
        assert_eq!(
            (whole, sold.len()),
            (1, 1),
            "a whole sale excludes every other"
        );
    } else {
        assert!(cpus <= 4000, "partitions sum to {cpus}m, capacity 4000m");
        assert_eq!(cpus, 4000, "all four CPUs sold");
    }
}

/// A second replica of the provider: its own handle on the shared store, following it.
async fn running_replica(dir: &std::path::Path) -> (Arc<Provider>, tokio_util::sync::DropGuard) {
    let store: Arc<dyn crate::store::Store> = SqliteStore::open(&dir.join("hub.db")).unwrap();
    let settings = ProviderSettings {
        namespace: NS.into(),
        transaction_ttl: Duration::from_secs(60),
        contract_duration: Duration::from_secs(3600),
    };
    let driver = Arc::new(EmbeddedDriver {
        node_id: me().node_id,
    });
    let (p, events) = Provider::load(store, me(), settings, driver).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(Arc::clone(&p).run(events, stop.clone()));
    (p, stop.drop_guard())
}

async fn until_listed(p: &Provider, cpu: &str) {
    for _ in 0..100 {
        if listed_cpu(p).as_deref() == Some(cpu) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the replica never listed cpu {cpu}: {:?}", listed_cpu(p));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_a_store_offer_the_same_remainder() {
    let dir = tempfile::tempdir().unwrap();
    drop(provider(dir.path(), Duration::from_secs(60)).await); // creates the Flavor
    let (a, _a_running) = running_replica(dir.path()).await;
    let (b, _b_running) = running_replica(dir.path()).await;
    until_listed(&b, "4").await;
    let (peer, wire) = buyer("buyer0001");
    let tx = a
        .reserve(Some(&peer), reserve_req(wire.clone(), Some("1")))
        .await
        .unwrap();
    until_listed(&b, "3").await;
    a.purchase(Some(&peer), &tx.transaction_id, PurchaseRequest::default())
        .await
        .unwrap();
    // B holds the rest; A's next buyer is refused instead of overselling.
    let (peer2, wire2) = buyer("buyer0002");
    let held = b.reserve(Some(&peer2), reserve_req(wire2, Some("3"))).await;
    assert!(held.is_ok(), "B can sell what A has not: {held:?}");
    let (peer3, wire3) = buyer("buyer0003");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let over = a.reserve(Some(&peer3), reserve_req(wire3, Some("1"))).await;
    assert!(over.is_err(), "A must see B's hold and refuse: {over:?}");
    drop(peer);
}
