use std::sync::Arc;

use fluidos_protocol::flavor::{Flavor, FlavorSpec};
use fluidos_protocol::meta::ObjectMeta;
use serde_json::json;

use super::*;

const KIND: &str = "Widget";
const NS: &str = "fluidos";

fn open() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(DB_FILE)).unwrap();
    (dir, store)
}

#[test]
fn shared_handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SqliteStore>();
    check::<crate::pki::Pki>();
    check::<crate::registry::Registry>();
}

fn widget(size: u64) -> serde_json::Value {
    json!({"apiVersion": "test/v1", "kind": KIND, "spec": {"size": size}})
}

#[tokio::test]
async fn crud_round_trip_sets_store_metadata() {
    let (_dir, store) = open();
    let created = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    let meta = &created.json["metadata"];
    assert_eq!(
        (meta["name"].as_str(), meta["namespace"].as_str()),
        (Some("a"), Some(NS))
    );
    assert_eq!(
        meta["resourceVersion"],
        created.resource_version.to_string()
    );
    assert_eq!(meta["generation"], 1);
    assert_eq!(meta["uid"].as_str().unwrap().len(), 36);
    time::OffsetDateTime::parse(
        meta["creationTimestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        store.get(KIND, NS, "a").await.unwrap(),
        Some(created.clone())
    );
    assert!(matches!(
        store.create(KIND, NS, "a", widget(2)).await,
        Err(StoreError::AlreadyExists { .. })
    ));

    store.create(KIND, "other", "b", widget(2)).await.unwrap();
    store.create("Gadget", NS, "c", widget(3)).await.unwrap();
    assert_eq!(store.list(KIND, None).await.unwrap().len(), 2);
    assert_eq!(
        store.list(KIND, Some(NS)).await.unwrap(),
        vec![created.clone()]
    );

    let mut next = created.clone();
    next.json["spec"]["size"] = json!(10);
    let updated = store.update(next).await.unwrap();
    assert!(updated.resource_version > created.resource_version);
    assert_eq!(
        updated.json["metadata"]["uid"],
        created.json["metadata"]["uid"]
    );

    store
        .delete(KIND, NS, "a", Some(updated.resource_version))
        .await
        .unwrap();
    assert_eq!(store.get(KIND, NS, "a").await.unwrap(), None);
    assert!(matches!(
        store.delete(KIND, NS, "a", None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.update(updated).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.create(KIND, NS, "", widget(1)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.create(KIND, NS, "x", json!([1, 2])).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.writes_total(), 5);
}

#[tokio::test]
async fn resource_versions_only_grow_across_deletes_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let store = SqliteStore::open(&path).unwrap();
    let a = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    let b = store.create(KIND, NS, "b", widget(1)).await.unwrap();
    assert!(b.resource_version > a.resource_version);
    store.delete(KIND, NS, "b", None).await.unwrap();
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    let c = store.create(KIND, NS, "c", widget(1)).await.unwrap();
    assert!(
        c.resource_version > b.resource_version + 1,
        "the delete consumed a version too"
    );
    assert_eq!(store.get(KIND, NS, "a").await.unwrap(), Some(a));
}

#[tokio::test]
async fn stale_resource_versions_conflict() {
    let (_dir, store) = open();
    let v1 = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    let mut v2 = v1.clone();
    v2.json["spec"]["size"] = json!(2);
    let v2 = store.update(v2).await.unwrap();
    let mut stale = v1.clone();
    stale.json["spec"]["size"] = json!(3);
    match store.update(stale).await {
        Err(StoreError::Conflict {
            expected, actual, ..
        }) => {
            assert_eq!(
                (expected, actual),
                (v1.resource_version, v2.resource_version)
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        store.update_status(v1.clone()).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.delete(KIND, NS, "a", Some(v1.resource_version)).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.get(KIND, NS, "a").await.unwrap(), Some(v2));
}

#[tokio::test]
async fn status_and_spec_are_written_separately() {
    let (_dir, store) = open();
    let v1 = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    // update_status ignores the spec it is given.
    let mut with_status = v1.clone();
    with_status.json["spec"]["size"] = json!(99);
    with_status.json["status"] = json!({"ready": true});
    let v2 = store.update_status(with_status).await.unwrap();
    assert_eq!(v2.json["spec"]["size"], 1);
    assert_eq!(v2.json["status"], json!({"ready": true}));
    assert_eq!(v2.json["metadata"]["generation"], 1);
    // update ignores the status it is given.
    let mut with_spec = v2.clone();
    with_spec.json["spec"]["size"] = json!(2);
    with_spec.json["status"] = json!({"ready": false});
    let v3 = store.update(with_spec).await.unwrap();
    assert_eq!(v3.json["spec"]["size"], 2);
    assert_eq!(v3.json["status"], json!({"ready": true}));
    // Removing the status.
    let mut cleared = v3.clone();
    cleared.json.as_object_mut().unwrap().remove("status");
    let v4 = store.update_status(cleared).await.unwrap();
    assert!(v4.json.get("status").is_none());
    assert_eq!(v4.json["spec"]["size"], 2);
}

#[tokio::test]
async fn generation_grows_only_when_the_spec_changes_and_no_op_updates_write_nothing() {
    let (_dir, store) = open();
    let v1 = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    let mut labelled = v1.clone();
    labelled.json["metadata"]["labels"] = json!({"fluidos.eu/agent-node": "pi-1"});
    let v2 = store.update(labelled).await.unwrap();
    assert_eq!(v2.json["metadata"]["generation"], 1);
    let mut resized = v2.clone();
    resized.json["spec"]["size"] = json!(2);
    let v3 = store.update(resized).await.unwrap();
    assert_eq!(v3.json["metadata"]["generation"], 2);

    let writes = store.writes_total();
    let mut events = store.watch();
    let same = store.update(v3.clone()).await.unwrap();
    assert_eq!(same, v3);
    assert_eq!(store.writes_total(), writes);
    assert!(events.try_recv().is_err());
    // The client cannot move the store-owned metadata.
    let mut forged = v3.clone();
    forged.json["metadata"]["uid"] = json!("forged");
    forged.json["metadata"]["generation"] = json!(42);
    assert_eq!(store.update(forged).await.unwrap(), v3);
}

#[tokio::test]
async fn watch_delivers_committed_events_in_order() {
    let (_dir, store) = open();
    let mut events = store.watch();
    let a = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    let mut a2 = a.clone();
    a2.json["spec"]["size"] = json!(2);
    let a2 = store.update(a2).await.unwrap();
    let b = store.create(KIND, NS, "b", widget(1)).await.unwrap();
    store.delete(KIND, NS, "a", None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = events.recv().await.unwrap();
        let kind = if matches!(event, WatchEvent::Applied(_)) {
            "applied"
        } else {
            "deleted"
        };
        seen.push((
            kind,
            event.object().name.clone(),
            event.object().resource_version,
        ));
    }
    let deleted_rv = b.resource_version + 1;
    assert_eq!(
        seen,
        [
            ("applied", "a".to_owned(), a.resource_version),
            ("applied", "a".to_owned(), a2.resource_version),
            ("applied", "b".to_owned(), b.resource_version),
            ("deleted", "a".to_owned(), deleted_rv),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_version_have_exactly_one_winner() {
    let (_dir, store) = open();
    let base = store.create(KIND, NS, "a", widget(0)).await.unwrap();
    let tasks: Vec<_> = (1..=16)
        .map(|i| {
            let (store, mut obj) = (Arc::clone(&store), base.clone());
            obj.json["spec"]["size"] = json!(i);
            tokio::spawn(async move { store.update(obj).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict { expected, .. }) => {
                assert_eq!(expected, base.resource_version)
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);

    // With re-read and retry, no update is lost.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                loop {
                    let mut obj = store.get(KIND, NS, "a").await.unwrap().unwrap();
                    obj.json["spec"]["count"] =
                        json!(obj.json["spec"]["count"].as_u64().unwrap_or(0) + 1);
                    match store.update(obj).await {
                        Ok(_) => return,
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        store.get(KIND, NS, "a").await.unwrap().unwrap().json["spec"]["count"],
        8
    );
}

#[tokio::test]
async fn corrupted_rows_are_invalid_not_panics() {
    let (dir, store) = open();
    let a = store.create(KIND, NS, "a", widget(1)).await.unwrap();
    store
        .create(
            <Flavor as Resource>::KIND,
            NS,
            "f",
            json!({"spec": "not a flavor"}),
        )
        .await
        .unwrap();
    let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    raw.execute("UPDATE objects SET json = '{not json' WHERE name = 'a'", [])
        .unwrap();
    assert!(matches!(
        store.get(KIND, NS, "a").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.list(KIND, None).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(store.update(a).await, Err(StoreError::Invalid(_))));
    assert!(matches!(
        get_typed::<Flavor>(&*store, NS, "f").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        list_typed::<Flavor>(&*store, None).await,
        Err(StoreError::Invalid(_))
    ));
}

fn flavor(name: &str) -> Flavor {
    let meta = ObjectMeta {
        name: name.into(),
        namespace: NS.into(),
        ..ObjectMeta::default()
    };
    Flavor::new(
        meta,
        FlavorSpec {
            provider_id: "hub".into(),
            availability: true,
            ..FlavorSpec::default()
        },
    )
}

#[tokio::test]
async fn typed_flavors_round_trip_with_optimistic_concurrency() {
    let (_dir, store) = open();
    let flavors: TypedStore<Flavor> = TypedStore::new(store.clone());
    let created = flavors.create(&flavor("f1")).await.unwrap();
    assert_eq!(created.metadata.generation, 1);
    assert!(!created.metadata.uid.is_empty());
    assert_eq!(
        get_typed::<Flavor>(&*store, NS, "f1").await.unwrap(),
        Some(created.clone())
    );

    let mut lost = created.clone();
    lost.spec.availability = false;
    let updated = update_typed(&*store, &lost).await.unwrap();
    assert!(!updated.spec.availability);
    assert_eq!(updated.metadata.generation, 2);
    assert!(matches!(
        update_typed(&*store, &lost).await,
        Err(StoreError::Conflict { .. })
    ));

    let mut unversioned = updated.clone();
    unversioned.metadata.resource_version.clear();
    assert!(matches!(
        update_typed(&*store, &unversioned).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(flavors.list(Some(NS)).await.unwrap(), vec![updated.clone()]);
    flavors.delete(&updated).await.unwrap();
    assert!(flavors.get(NS, "f1").await.unwrap().is_none());
}

#[tokio::test]
async fn two_handles_on_one_file_share_versions_and_read_only_handles_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let hub = SqliteStore::open(&path).unwrap();
    let cli = SqliteStore::open(&path).unwrap();
    let a = hub.create(KIND, NS, "a", widget(1)).await.unwrap();
    let b = cli.create(KIND, NS, "b", widget(1)).await.unwrap();
    assert!(b.resource_version > a.resource_version);
    assert_eq!(cli.get(KIND, NS, "a").await.unwrap(), Some(a));

    let reader = SqliteStore::open_read_only(&path).unwrap();
    assert_eq!(reader.list(KIND, None).await.unwrap().len(), 2);
    assert!(matches!(
        reader.create(KIND, NS, "c", widget(1)).await,
        Err(StoreError::Backend(_))
    ));
    drop((hub, cli, reader));
    assert!(SqliteStore::open_read_only(&dir.path().join("missing.db")).is_err());
}
