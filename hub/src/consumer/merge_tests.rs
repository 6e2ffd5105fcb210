//! Tests of the pure discovery merging.

use super::*;
use crate::consumer::fixtures::{NS, flavor, k8s_selector, pc, wire_flavor};
use serde_json::json;

fn ok(address: &str, flavors: Vec<WireFlavor>, peer: Option<&str>) -> PeerOutcome {
    PeerOutcome {
        address: address.into(),
        result: Ok((
            flavors,
            peer.map(|p| NodePeer {
                domain: "fluidos.eu".into(),
                node_id: p.into(),
            }),
        )),
    }
}

fn failed(address: &str, reason: &str) -> PeerOutcome {
    PeerOutcome {
        address: address.into(),
        result: Err(reason.into()),
    }
}

#[test]
fn peers_are_deduplicated_in_order() {
    let peers = peer_addresses(["a:1", " b:2 ", ""], ["b:2", "c:3", "a:1"]);
    assert_eq!(peers, ["a:1", "b:2", "c:3"]);
}

#[test]
fn failed_peers_are_recorded_and_do_not_abort_the_others() {
    let outcomes = [
        ok(
            "p1:3004",
            vec![wire_flavor("f1", "p1", "amd64", "4")],
            Some("p1"),
        ),
        failed("10.0.0.5:3004", "timeout after 2s"),
        ok("p3:3004", vec![wire_flavor("f3", "p3", "arm64", "2")], None),
    ];
    let merged = merge(&outcomes, "me", NS, None);
    let ids: Vec<_> = merged
        .found
        .iter()
        .map(|f| f.flavor.metadata.name.as_str())
        .collect();
    assert_eq!(ids, ["f1", "f3"]);
    assert_eq!(merged.found[1].address, "p3:3004");
    assert_eq!(merged.found[0].flavor.spec.provider_id, "p1");
    assert_eq!(
        merged.summary(),
        "2 of 3 peers answered; 10.0.0.5:3004: timeout after 2s"
    );
}

#[test]
fn a_flavor_not_owned_by_the_tls_peer_is_dropped() {
    let outcomes = [ok(
        "p1:3004",
        vec![
            wire_flavor("mine", "p1", "amd64", "4"),
            wire_flavor("forged", "p2", "amd64", "4"),
        ],
        Some("p1"),
    )];
    let merged = merge(&outcomes, "me", NS, None);
    assert_eq!(merged.found.len(), 1);
    assert_eq!(merged.found[0].flavor.metadata.name, "mine");
    assert_eq!(merged.notes.len(), 1);
    assert!(merged.notes[0].contains("forged"), "{:?}", merged.notes);
}

#[test]
fn own_unavailable_duplicate_and_rejected_flavors_are_dropped() {
    let mut sold = wire_flavor("sold", "p1", "amd64", "4");
    sold.availability = false;
    let outcomes = [
        ok(
            "p1:3004",
            vec![wire_flavor("f1", "p1", "amd64", "4"), sold],
            None,
        ),
        ok(
            "p1b:3004",
            vec![wire_flavor("f1", "p1", "amd64", "4")],
            None,
        ),
        ok(
            "me:3004",
            vec![wire_flavor("own", "me", "amd64", "4")],
            None,
        ),
        ok(
            "p2:3004",
            vec![wire_flavor("arm", "p2", "arm64", "4")],
            None,
        ),
    ];
    let selector = k8s_selector(Some(json!({
        "architectureFilter": {"name": "Range", "data": {"regex": "^amd"}}
    })));
    let matcher = Matcher::from_selector(&selector).unwrap();
    let merged = merge(&outcomes, "me", NS, Some(&matcher));
    let ids: Vec<_> = merged
        .found
        .iter()
        .map(|f| f.flavor.metadata.name.as_str())
        .collect();
    assert_eq!(ids, ["f1"]);
    assert_eq!(merged.answered, 4);
    assert_eq!(merged.notes, ["1 flavor(s) rejected by the selector"]);
}

#[test]
fn a_new_candidate_is_created_available_for_the_solver() {
    let found = Found {
        address: "p1:3004".into(),
        flavor: flavor("f1", "p1", "amd64", "4"),
    };
    let pc = candidate_for(None, &found, "s1", false, 1_747_562_400);
    assert_eq!(pc.metadata.name, "peeringcandidate-f1");
    assert_eq!(pc.metadata.namespace, NS);
    assert!(pc.spec.available);
    assert_eq!(pc.spec.interested_solver_ids, ["s1"]);
    assert_eq!(pc.metadata.annotations[ADDRESS_ANNOTATION], "p1:3004");
    let status = pc.status.unwrap();
    assert_eq!(status.creation_time, "2025-05-18T10:00:00Z");
}

#[test]
fn an_existing_candidate_is_refreshed_not_duplicated() {
    let mut existing = pc("f1", "p1", "amd64", "2", false);
    existing.spec.interested_solver_ids = vec!["s0".into(), "s1".into()];
    existing
        .metadata
        .annotations
        .insert(HELD_BY_ANNOTATION.into(), "reservation-gone".into());
    let found = Found {
        address: "p1:3004".into(),
        flavor: flavor("f1", "p1", "amd64", "4"),
    };
    let refreshed = candidate_for(Some(&existing), &found, "s1", false, 10);
    assert_eq!(refreshed.spec.interested_solver_ids, ["s0", "s1"]);
    assert_eq!(refreshed.spec.flavor, found.flavor);
    assert!(refreshed.spec.available, "nobody holds it: for sale again");
    assert!(
        !refreshed
            .metadata
            .annotations
            .contains_key(HELD_BY_ANNOTATION)
    );
    assert_eq!(
        refreshed.metadata.resource_version, "1",
        "an update, not a create"
    );

    let held = candidate_for(Some(&existing), &found, "s2", true, 10);
    assert!(!held.spec.available, "a live reservation keeps its hold");
    assert_eq!(held.spec.interested_solver_ids, ["s0", "s1", "s2"]);
}
