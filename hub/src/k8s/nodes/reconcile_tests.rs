//! Tests of the node Flavor reconciler on in-memory Node/Pod objects against a real SQLite
//! store.

use fluidos_protocol::Quantity;
use fluidos_protocol::flavor::Characteristics;

use super::super::flavor::K8S_NODE_LABEL;
use super::super::test_objects::{LABEL, node, pod, settings};
use super::*;
use crate::store::{DB_FILE, SqliteStore, delete_typed};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = SqliteStore::open(&dir.path().join(DB_FILE)).unwrap();
    Fixture { _dir: dir, store }
}

async fn loaded(f: &Fixture) -> NodeFlavors {
    NodeFlavors::load(Arc::clone(&f.store), settings())
        .await
        .unwrap()
}

async fn flavors(f: &Fixture) -> Vec<Flavor> {
    list_typed::<Flavor>(f.store.as_ref(), Some("fluidos"))
        .await
        .unwrap()
}

async fn only_flavor(f: &Fixture) -> Flavor {
    let mut all = flavors(f).await;
    assert_eq!(all.len(), 1, "expected exactly one Flavor");
    all.remove(0)
}

fn characteristics(flavor: &Flavor) -> Characteristics {
    flavor
        .spec
        .flavor_type
        .k8slice()
        .unwrap()
        .unwrap()
        .characteristics
}

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap()
}

#[tokio::test]
async fn a_labelled_node_gets_a_flavor_that_follows_its_pods_and_label() {
    let f = fixture();
    let mut lrm = loaded(&f).await;
    let mut worker = node("worker-1", true);

    let Action::Created(name) = lrm.reconcile("worker-1", Some(&worker), &[]).await.unwrap() else {
        panic!("expected a created Flavor");
    };
    let created = only_flavor(&f).await;
    assert_eq!(created.metadata.name, name);
    assert!(name.starts_with("fluidos.eu-k8slice-"));
    assert_eq!(created.metadata.labels[K8S_NODE_LABEL], "worker-1");
    assert_eq!(created.metadata.owner_references[0].uid, "uid-worker-1");
    assert!(created.spec.availability);
    assert_eq!(characteristics(&created).cpu, q("4"));

    let writes = f.store.writes_total();
    let same = lrm.reconcile("worker-1", Some(&worker), &[]).await.unwrap();
    assert_eq!(same, Action::Unchanged);
    assert_eq!(f.store.writes_total(), writes);

    let web = pod("shop", "web", "worker-1", "1", "2Gi");
    let elsewhere = pod("shop", "db", "worker-2", "2", "2Gi");
    let action = lrm
        .reconcile("worker-1", Some(&worker), &[&web, &elsewhere])
        .await;
    assert_eq!(action.unwrap(), Action::Updated(name.clone()));
    let updated = only_flavor(&f).await;
    assert_eq!(characteristics(&updated).cpu, q("3"));
    assert_eq!(characteristics(&updated).memory, q("6Gi"));
    assert_eq!(characteristics(&updated).pods, q("109"));

    // 10m more is within the 5% threshold: nothing written (a pod more or less would be).
    let bigger = pod("shop", "web", "worker-1", "1010m", "2049Mi");
    let action = lrm.reconcile("worker-1", Some(&worker), &[&bigger]).await;
    assert_eq!(action.unwrap(), Action::Unchanged);
    assert_eq!(characteristics(&only_flavor(&f).await).cpu, q("3"));

    worker.metadata.labels.as_mut().unwrap().remove(LABEL);
    let action = lrm.reconcile("worker-1", Some(&worker), &[&web]).await;
    assert_eq!(action.unwrap(), Action::Updated(name.clone()));
    let withdrawn = only_flavor(&f).await;
    assert!(!withdrawn.spec.availability);
    assert_eq!(characteristics(&withdrawn).cpu, q("3"), "the rest is kept");

    let again = lrm.reconcile("worker-1", None, &[]).await.unwrap();
    assert_eq!(again, Action::Unchanged);
}

#[tokio::test]
async fn a_deleted_node_keeps_its_flavor_unavailable_and_unknown_nodes_get_none() {
    let f = fixture();
    let mut lrm = loaded(&f).await;
    let worker = node("worker-1", true);
    lrm.reconcile("worker-1", Some(&worker), &[]).await.unwrap();
    let action = lrm.reconcile("worker-1", None, &[]).await.unwrap();
    assert!(matches!(action, Action::Updated(_)));
    assert!(!only_flavor(&f).await.spec.availability);

    let stranger = node("worker-2", false);
    let action = lrm.reconcile("worker-2", Some(&stranger), &[]).await;
    assert_eq!(action.unwrap(), Action::Skipped);
    assert_eq!(
        lrm.reconcile("ghost", None, &[]).await.unwrap(),
        Action::Skipped
    );
    assert_eq!(flavors(&f).await.len(), 1);
}

#[tokio::test]
async fn a_restarted_reconciler_finds_its_flavors_and_ignores_agent_flavors() {
    let f = fixture();
    let worker = node("worker-1", true);
    loaded(&f)
        .await
        .reconcile("worker-1", Some(&worker), &[])
        .await
        .unwrap();
    let spec = only_flavor(&f).await.spec;
    let agent = crate::lrm::flavor::new_flavor("fluidos.eu-k8slice-a9e7".into(), "pi-1", spec);
    create_typed(f.store.as_ref(), &agent).await.unwrap();

    let mut restarted = loaded(&f).await;
    assert_eq!(restarted.nodes(), vec!["worker-1".to_owned()]);
    let action = restarted.reconcile("worker-1", Some(&worker), &[]).await;
    assert_eq!(action.unwrap(), Action::Unchanged);
    assert_eq!(flavors(&f).await.len(), 2);
}

#[tokio::test]
async fn a_flavor_deleted_behind_its_back_is_recreated_while_the_node_exists() {
    let f = fixture();
    let mut lrm = loaded(&f).await;
    let worker = node("worker-1", true);
    lrm.reconcile("worker-1", Some(&worker), &[]).await.unwrap();
    delete_typed(f.store.as_ref(), &only_flavor(&f).await)
        .await
        .unwrap();

    let web = pod("shop", "web", "worker-1", "1", "1Gi");
    let action = lrm.reconcile("worker-1", Some(&worker), &[&web]).await;
    assert!(matches!(action.unwrap(), Action::Created(_)));
    assert_eq!(characteristics(&only_flavor(&f).await).cpu, q("3"));

    delete_typed(f.store.as_ref(), &only_flavor(&f).await)
        .await
        .unwrap();
    assert_eq!(
        lrm.reconcile("worker-1", None, &[]).await.unwrap(),
        Action::Skipped
    );
    assert!(flavors(&f).await.is_empty());
    assert!(lrm.nodes().is_empty());
}

#[tokio::test]
async fn a_node_recreated_under_the_same_name_is_owned_by_its_new_uid() {
    let f = fixture();
    let mut lrm = loaded(&f).await;
    let mut worker = node("worker-1", true);
    lrm.reconcile("worker-1", Some(&worker), &[]).await.unwrap();
    worker.metadata.uid = Some("uid-new".into());
    let action = lrm.reconcile("worker-1", Some(&worker), &[]).await;
    assert!(matches!(action.unwrap(), Action::Updated(_)));
    let flavor = only_flavor(&f).await;
    assert_eq!(flavor.metadata.owner_references.len(), 1);
    assert_eq!(flavor.metadata.owner_references[0].uid, "uid-new");
}

#[tokio::test]
async fn changes_made_by_others_to_the_flavor_are_kept() {
    let f = fixture();
    let mut lrm = loaded(&f).await;
    let worker = node("worker-1", true);
    lrm.reconcile("worker-1", Some(&worker), &[]).await.unwrap();
    let mut edited = only_flavor(&f).await;
    edited
        .metadata
        .annotations
        .insert("note".into(), "kept".into());
    update_typed(f.store.as_ref(), &edited).await.unwrap();

    let web = pod("shop", "web", "worker-1", "2", "1Gi");
    let action = lrm.reconcile("worker-1", Some(&worker), &[&web]).await;
    assert!(matches!(action.unwrap(), Action::Updated(_)));
    let flavor = only_flavor(&f).await;
    assert_eq!(flavor.metadata.annotations["note"], "kept");
    assert_eq!(characteristics(&flavor).cpu, q("2"));
}
