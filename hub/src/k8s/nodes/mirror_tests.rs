//! Unit tests of the watched-state mirror: watcher events in, touched nodes out.

use super::super::test_objects::{node, pod};
use super::*;

fn listed_nodes(mirror: &mut Mirror, nodes: &[&str]) -> Vec<String> {
    mirror.apply_node(Event::Init);
    for name in nodes {
        mirror.apply_node(Event::InitApply(node(name, true)));
    }
    mirror.apply_node(Event::InitDone)
}

fn names(pods: &[&Pod]) -> Vec<String> {
    let mut names: Vec<String> = pods
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn it_is_synced_only_once_both_watchers_listed_everything() {
    let mut mirror = Mirror::default();
    assert!(!mirror.synced());
    assert_eq!(listed_nodes(&mut mirror, &["a", "b"]), vec!["a", "b"]);
    assert!(!mirror.synced());
    mirror.apply_pod(Event::Init);
    mirror.apply_pod(Event::InitApply(pod("ns", "p", "a", "1", "1Gi")));
    assert!(!mirror.synced());
    assert!(
        mirror.pods_on("a").is_empty(),
        "a re-list is applied only when done"
    );
    assert_eq!(mirror.apply_pod(Event::InitDone), vec!["a"]);
    assert!(mirror.synced());
    assert_eq!(names(&mirror.pods_on("a")), vec!["p"]);
}

#[test]
fn a_relist_touches_and_forgets_nodes_that_vanished() {
    let mut mirror = Mirror::default();
    listed_nodes(&mut mirror, &["a", "b"]);
    assert_eq!(listed_nodes(&mut mirror, &["b", "c"]), vec!["a", "b", "c"]);
    assert!(mirror.node("a").is_none());
    assert!(mirror.node("c").is_some());
}

#[test]
fn node_events_touch_their_node() {
    let mut mirror = Mirror::default();
    assert_eq!(mirror.apply_node(Event::Apply(node("a", true))), vec!["a"]);
    assert!(mirror.node("a").is_some());
    assert_eq!(mirror.apply_node(Event::Delete(node("a", true))), vec!["a"]);
    assert!(mirror.node("a").is_none());
}

#[test]
fn pods_are_indexed_by_node_until_deleted_or_terminated() {
    let mut mirror = Mirror::default();
    let web = pod("shop", "web", "a", "1", "1Gi");
    assert_eq!(mirror.apply_pod(Event::Apply(web.clone())), vec!["a"]);
    assert_eq!(
        mirror.apply_pod(Event::Apply(pod("shop", "db", "a", "1", "1Gi"))),
        vec!["a"]
    );
    // Same name in another namespace is another pod.
    mirror.apply_pod(Event::Apply(pod("other", "web", "a", "1", "1Gi")));
    assert_eq!(mirror.pods_on("a").len(), 3);

    let mut done = pod("shop", "db", "a", "1", "1Gi");
    done.status.as_mut().unwrap().phase = Some("Succeeded".into());
    assert_eq!(mirror.apply_pod(Event::Apply(done)), vec!["a"]);
    assert_eq!(names(&mirror.pods_on("a")), vec!["web", "web"]);

    assert_eq!(mirror.apply_pod(Event::Delete(web)), vec!["a"]);
    assert_eq!(mirror.pods_on("a").len(), 1);
}

#[test]
fn an_unbound_pod_touches_nothing() {
    let mut mirror = Mirror::default();
    let mut pending = pod("shop", "web", "a", "1", "1Gi");
    pending.spec.as_mut().unwrap().node_name = None;
    assert!(mirror.apply_pod(Event::Apply(pending.clone())).is_empty());
    assert!(mirror.apply_pod(Event::Delete(pending)).is_empty());
}

#[test]
fn a_pod_relist_touches_nodes_whose_pods_all_went_away() {
    let mut mirror = Mirror::default();
    mirror.apply_pod(Event::Apply(pod("ns", "p", "a", "1", "1Gi")));
    mirror.apply_pod(Event::Init);
    mirror.apply_pod(Event::InitApply(pod("ns", "q", "b", "1", "1Gi")));
    assert_eq!(mirror.apply_pod(Event::InitDone), vec!["a", "b"]);
    assert!(mirror.pods_on("a").is_empty());
    assert_eq!(names(&mirror.pods_on("b")), vec!["q"]);
}
