//! Tests of the LRM writer against a real SQLite store and ingestor.

use std::sync::Arc;

use fluidos_protocol::agent::{NodeReport, OfferedResources, ReportBatch, ResourceSample};
use time::OffsetDateTime;

use super::*;
use crate::registry::Registry;
use crate::store::{DB_FILE, SqliteStore};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    ingestor: Arc<Ingestor>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    let registry = Arc::new(Registry::open(&db).unwrap());
    let store: Arc<dyn Store> = SqliteStore::open(&db).unwrap();
    let ingestor = Arc::new(Ingestor::load(registry).await.unwrap());
    Fixture {
        _dir: dir,
        store,
        ingestor,
    }
}

fn config() -> LrmConfig {
    let hub = NodeIdentity {
        domain: "fluidos.eu".into(),
        node_id: "hubid".into(),
        ..NodeIdentity::default()
    };
    LrmConfig {
        hub,
        settings: FlavorSettings::default(),
        threshold: 0.05,
        namespace: fluidos_protocol::DEFAULT_NAMESPACE.to_owned(),
    }
}

fn report(f: &Fixture, node: &str, seq: u64, cpu_millis: u64) {
    let sample = ResourceSample {
        architecture: "arm64".into(),
        offered: OfferedResources {
            cpu_millis,
            memory_bytes: 1 << 30,
            storage_bytes: 1 << 30,
            pods: 110,
        },
        ..ResourceSample::default()
    };
    let reports = vec![NodeReport {
        seq,
        sampled_at: OffsetDateTime::now_utc(),
        sample,
    }];
    let batch = ReportBatch {
        node_name: node.into(),
        resume_from: 1,
        dropped_total: 0,
        reports,
    };
    f.ingestor.ingest(node, batch, OffsetDateTime::now_utc());
}

async fn flavors(f: &Fixture) -> Vec<Flavor> {
    list_typed::<Flavor>(f.store.as_ref(), None).await.unwrap()
}

#[tokio::test]
async fn only_meaningful_changes_are_written() {
    let f = fixture().await;
    let lrm = Lrm::load(Arc::clone(&f.store), Arc::clone(&f.ingestor), config())
        .await
        .unwrap();
    assert_eq!(lrm.reconcile("pi-1").await.unwrap(), Action::Skipped);
    report(&f, "pi-1", 1, 4000);
    let Action::Created(name) = lrm.reconcile("pi-1").await.unwrap() else {
        panic!("expected a create")
    };
    report(&f, "pi-1", 2, 4100);
    assert_eq!(lrm.reconcile("pi-1").await.unwrap(), Action::Unchanged);
    report(&f, "pi-1", 3, 2000);
    assert_eq!(
        lrm.reconcile("pi-1").await.unwrap(),
        Action::Updated(name.clone())
    );
    assert_eq!(f.store.writes_total(), 2);

    f.ingestor.sweep(
        OffsetDateTime::now_utc() + time::Duration::minutes(5),
        std::time::Duration::from_secs(10),
    );
    assert_eq!(lrm.reconcile("pi-1").await.unwrap(), Action::Updated(name));
    let all = flavors(&f).await;
    assert_eq!(all.len(), 1);
    assert!(!all[0].spec.availability);
}

#[tokio::test]
async fn a_restarted_lrm_reuses_the_stored_flavor_and_flips_availability_without_a_sample() {
    let f = fixture().await;
    let lrm = Lrm::load(Arc::clone(&f.store), Arc::clone(&f.ingestor), config())
        .await
        .unwrap();
    report(&f, "pi-1", 1, 4000);
    let Action::Created(name) = lrm.reconcile("pi-1").await.unwrap() else {
        panic!("expected a create")
    };
    f.ingestor.flush().await.unwrap();

    // A new ingestor (no samples in memory) and LRM, as after a hub restart.
    let registry = Arc::new(Registry::open(&f._dir.path().join(DB_FILE)).unwrap());
    let ingestor = Arc::new(Ingestor::load(registry).await.unwrap());
    let lrm = Lrm::load(Arc::clone(&f.store), Arc::clone(&ingestor), config())
        .await
        .unwrap();
    assert_eq!(lrm.reconcile("pi-1").await.unwrap(), Action::Unchanged);
    assert_eq!(lrm.reconcile("never-seen").await.unwrap(), Action::Skipped);

    let lost = ingestor.sweep(
        OffsetDateTime::now_utc() + time::Duration::minutes(5),
        std::time::Duration::from_secs(10),
    );
    assert_eq!(lost.newly_lost, vec!["pi-1".to_owned()]);
    assert_eq!(
        lrm.reconcile("pi-1").await.unwrap(),
        Action::Updated(name.clone())
    );
    assert!(!flavors(&f).await[0].spec.availability);

    // A heartbeat with no new report brings it back.
    let batch = ReportBatch {
        node_name: "pi-1".into(),
        resume_from: 2,
        dropped_total: 0,
        reports: vec![],
    };
    let (_, revived) = ingestor.ingest("pi-1", batch, OffsetDateTime::now_utc());
    assert!(revived);
    assert_eq!(lrm.reconcile("pi-1").await.unwrap(), Action::Updated(name));
    let all = flavors(&f).await;
    assert_eq!(all.len(), 1);
    assert!(all[0].spec.availability);
}

#[tokio::test]
async fn a_conflicting_writer_is_retried_once() {
    let f = fixture().await;
    let lrm = Lrm::load(Arc::clone(&f.store), Arc::clone(&f.ingestor), config())
        .await
        .unwrap();
    report(&f, "pi-1", 1, 4000);
    lrm.reconcile("pi-1").await.unwrap();
    // Someone else edits the Flavor: our cached resourceVersion is now stale.
    let mut other = flavors(&f).await.remove(0);
    other.spec.price.amount = "7".into();
    update_typed(f.store.as_ref(), &other).await.unwrap();
    report(&f, "pi-1", 2, 1000);
    assert!(matches!(
        lrm.reconcile("pi-1").await.unwrap(),
        Action::Updated(_)
    ));
    let stored = flavors(&f).await.remove(0);
    assert_eq!(stored.spec.price.amount, "", "the LRM's desired spec wins");
    let cpu = stored
        .spec
        .flavor_type
        .k8slice()
        .unwrap()
        .unwrap()
        .characteristics
        .cpu;
    assert_eq!(cpu, fluidos_protocol::Quantity::from_int(1));
}

#[tokio::test]
async fn a_create_whose_reply_was_lost_is_adopted_not_duplicated() {
    let f = fixture().await;
    let lrm = Lrm::load(Arc::clone(&f.store), Arc::clone(&f.ingestor), config())
        .await
        .unwrap();
    // The board's Flavor reached the store under its stable name, but the LRM never heard back
    // (what an API-server timeout after the commit looks like).
    let name = flavor::stable_flavor_name("fluidos.eu", "pi-1");
    let spec = FlavorSpec {
        availability: true,
        ..FlavorSpec::default()
    };
    create_typed(
        f.store.as_ref(),
        &flavor::new_flavor(name.clone(), "pi-1", spec),
    )
    .await
    .unwrap();
    report(&f, "pi-1", 1, 4000);
    assert_eq!(
        lrm.reconcile("pi-1").await.unwrap(),
        Action::Updated(name.clone())
    );
    let all = flavors(&f).await;
    assert_eq!(all.len(), 1, "one Flavor per board");
    assert_eq!(all[0].metadata.name, name);
    assert!(
        all[0].spec.flavor_type.k8slice().is_some(),
        "updated to the sample"
    );
}
