//! The Kubernetes store backend honours the same contract as the SQLite one: the same
//! assertions run against `SqliteStore` (a real file) and `KubeStore` (a real kube-apiserver
//! with the committed CRDs): create/get/list, optimistic updates with conflicts on a stale
//! resourceVersion, status only through `update_status`, no-op updates write nothing,
//! preconditioned deletes, typed errors, and watch events for every change.

use std::sync::Arc;
use std::time::Duration;

use fluidos_hub::k8s::store::KubeStore;
use fluidos_hub::store::{SqliteStore, Store, StoreError, StoredObject, WatchEvent};
use fluidos_tests::kube::{ControlPlane, skipped, unique_name};
use serde_json::json;
use tokio::sync::broadcast::Receiver;

const KIND: &str = "Solver";

fn solver(intent: &str) -> serde_json::Value {
    json!({
        "apiVersion": "nodecore.fluidos.eu/v1alpha1",
        "kind": "Solver",
        "metadata": {"labels": {"app": "conformance"}},
        "spec": {"intentID": intent, "findCandidate": true, "reserveAndBuy": false,
                 "establishPeering": false},
    })
}

async fn next_event(events: &mut Receiver<WatchEvent>, name: &str) -> WatchEvent {
    let wait = async {
        loop {
            let event = events.recv().await.expect("watch channel open");
            if event.object().name == name {
                return event;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no watch event for {name} within 10 s"))
}

/// The store contract, against any backend.
async fn conformance(store: Arc<dyn Store>, ns: &str) {
    let mut events = store.watch();
    let name = "solver-a";
    let created = store
        .create(KIND, ns, name, solver("intent-1"))
        .await
        .expect("create");
    assert_eq!(
        (created.namespace.as_str(), created.name.as_str()),
        (ns, name)
    );
    assert!(
        created.json["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    assert!(matches!(
        next_event(&mut events, name).await,
        WatchEvent::Applied(_)
    ));
    let again = store.create(KIND, ns, name, solver("x")).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );

    let got = store
        .get(KIND, ns, name)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.resource_version, created.resource_version);
    assert_eq!(got.json["spec"]["intentID"], "intent-1");
    assert!(store.get(KIND, ns, "missing").await.expect("get").is_none());

    // Status goes through update_status; update keeps it.
    let mut with_status = got.clone();
    with_status.json["status"] = json!({"solverPhase": {"phase": "Running"}});
    let statused = store
        .update_status(with_status)
        .await
        .expect("update_status");
    assert!(statused.resource_version > got.resource_version);
    let mut spec_change = statused.clone();
    spec_change.json["spec"]["intentID"] = json!("intent-2");
    spec_change.json["status"] = json!({"solverPhase": {"phase": "Failed"}});
    let updated = store.update(spec_change).await.expect("update");
    assert_eq!(updated.json["spec"]["intentID"], "intent-2");
    assert_eq!(
        updated.json["status"]["solverPhase"]["phase"], "Running",
        "update must not write status"
    );

    // A no-op update writes nothing.
    let writes = store.writes_total();
    let same = store.update(updated.clone()).await.expect("no-op update");
    assert_eq!(same.resource_version, updated.resource_version);
    assert_eq!(store.writes_total(), writes);

    conflicts_lists_and_deletes(store.as_ref(), ns, &mut events, &got, &updated).await;
}

/// Stale versions conflict, lists are ordered, deletes honour preconditions, creating with a
/// status keeps it.
async fn conflicts_lists_and_deletes(
    store: &dyn Store,
    ns: &str,
    events: &mut Receiver<WatchEvent>,
    got: &StoredObject,
    updated: &StoredObject,
) {
    let created = got;
    // A stale resourceVersion is a conflict that names the current one.
    let stale = store.update(got.clone()).await;
    match stale {
        Err(StoreError::Conflict {
            expected, actual, ..
        }) => {
            assert_eq!(expected, got.resource_version);
            assert_eq!(actual, updated.resource_version);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    let second = store
        .create(KIND, ns, "solver-b", solver("b"))
        .await
        .expect("create b");
    let listed = store.list(KIND, Some(ns)).await.expect("list");
    let names: Vec<_> = listed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["solver-a", "solver-b"]);

    // Deletes: a stale precondition conflicts, a current one deletes, a second is NotFound.
    let bad = store
        .delete(KIND, ns, "solver-b", Some(created.resource_version))
        .await;
    assert!(matches!(bad, Err(StoreError::Conflict { .. })), "{bad:?}");
    store
        .delete(KIND, ns, "solver-b", Some(second.resource_version))
        .await
        .expect("delete");
    let gone = store.delete(KIND, ns, "solver-b", None).await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
    let deleted = loop {
        if let WatchEvent::Deleted(o) = next_event(events, "solver-b").await {
            break o;
        }
    };
    assert_eq!(deleted.name, "solver-b");

    // Creating with a status keeps the status (the API server needs a second write for it).
    let mut born = solver("c");
    born["status"] = json!({"solverPhase": {"phase": "Idle"}});
    let c = store
        .create(KIND, ns, "solver-c", born)
        .await
        .expect("create with status");
    assert_eq!(c.json["status"]["solverPhase"]["phase"], "Idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_meets_the_store_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("hub.db")).expect("hub.db");
    conformance(store, "fluidos").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_store_meets_the_store_contract_on_a_real_api_server() {
    if skipped("kube_store_meets_the_store_contract_on_a_real_api_server") {
        return;
    }
    let plane = ControlPlane::shared("store");
    plane.install_crds().expect("CRDs");
    let ns = unique_name("store");
    plane.create_namespace(&ns).expect("namespace");
    let client = plane.client().await.expect("client");
    let store = KubeStore::open(client, &ns);
    conformance(store, &ns).await;
}
