//! Discovery results, pure: which peers to ask, what their answers add up to (flavors kept,
//! flavors dropped and why, peers that failed), and the PeeringCandidate each kept flavor
//! becomes (created, or an existing one refreshed).
//!
//! No IO here: [`super::discovery`] gathers the answers and writes the objects.

use std::collections::{BTreeMap, BTreeSet};

use fluidos_protocol::discovery::{
    PeeringCandidate, PeeringCandidateSpec, PeeringCandidateStatus, peering_candidate_name,
};
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::rear::WireFlavor;
use fluidos_protocol::selector::Matcher;

use super::{ADDRESS_ANNOTATION, HELD_BY_ANNOTATION, ROLE_CONSUMER, ROLE_LABEL};
use crate::clock::rfc3339;
use crate::rear::trust::NodePeer;

/// At most this many problems are spelled out in a Discovery message.
const MAX_NOTES: usize = 8;

/// What one peer answered.
#[derive(Debug, Clone)]
pub struct PeerOutcome {
    /// The REAR address asked.
    pub address: String,
    /// The flavors and the TLS peer that served them, or why there are none.
    pub result: Result<(Vec<WireFlavor>, Option<NodePeer>), String>,
}

/// A flavor worth a PeeringCandidate, with the address it was found at.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Where the flavor's provider answered.
    pub address: String,
    /// The flavor in CR form (`providerID = owner.ID`).
    pub flavor: Flavor,
}

/// The sum of every peer's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// Flavors kept, one per flavor id, in answer order.
    pub found: Vec<Found>,
    /// Peers asked.
    pub asked: usize,
    /// Peers that answered (even with no flavors).
    pub answered: usize,
    /// Failed peers and dropped flavors, one line each.
    pub notes: Vec<String>,
}

impl Merged {
    /// `"2 of 3 peers answered; 10.0.0.5:3004: timeout …"`.
    pub fn summary(&self) -> String {
        let mut out = format!("{} of {} peers answered", self.answered, self.asked);
        for note in self.notes.iter().take(MAX_NOTES) {
            out.push_str("; ");
            out.push_str(note);
        }
        if self.notes.len() > MAX_NOTES {
            out.push_str(&format!("; and {} more", self.notes.len() - MAX_NOTES));
        }
        out
    }
}

/// Static peers ∪ KnownCluster addresses, without blanks or duplicates, in first-seen order.
pub fn peer_addresses<'a>(
    configured: impl IntoIterator<Item = &'a str>,
    known: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut seen = BTreeSet::new();
    configured
        .into_iter()
        .chain(known)
        .map(str::trim)
        .filter(|a| !a.is_empty() && seen.insert(*a))
        .map(str::to_owned)
        .collect()
}

/// Merge every peer's answer: drop our own flavors, unavailable ones, flavors whose owner is
/// not the TLS peer that served them, unconvertible ones and (with `matcher`) those the full
/// selector rejects; keep the first of duplicate flavor ids.
pub fn merge(
    outcomes: &[PeerOutcome],
    my_node_id: &str,
    namespace: &str,
    matcher: Option<&Matcher>,
) -> Merged {
    let mut merged = Merged {
        asked: outcomes.len(),
        ..Merged::default()
    };
    let mut ids = BTreeSet::new();
    let mut rejected = 0usize;
    for outcome in outcomes {
        let (flavors, peer) = match &outcome.result {
            Ok(answer) => answer,
            Err(reason) => {
                merged.notes.push(format!("{}: {reason}", outcome.address));
                continue;
            }
        };
        merged.answered += 1;
        for wire in flavors {
            if wire.owner.id == my_node_id || !wire.availability {
                continue;
            }
            match keep(wire, peer.as_ref(), namespace) {
                Err(note) => merged.notes.push(format!("{}: {note}", outcome.address)),
                Ok(flavor) if matcher.is_some_and(|m| !m.matches(&flavor)) => rejected += 1,
                Ok(flavor) if ids.insert(flavor.metadata.name.clone()) => {
                    merged.found.push(Found {
                        address: outcome.address.clone(),
                        flavor,
                    });
                }
                Ok(_) => {}
            }
        }
    }
    if rejected > 0 {
        merged
            .notes
            .push(format!("{rejected} flavor(s) rejected by the selector"));
    }
    merged
}

/// The CR form of `wire`, if its owner is the TLS peer (when known) and it converts.
fn keep(wire: &WireFlavor, peer: Option<&NodePeer>, namespace: &str) -> Result<Flavor, String> {
    if let Some(peer) = peer
        && peer.node_id != wire.owner.id
    {
        return Err(format!(
            "flavor {} claims owner {} but was served by node {}: dropped",
            wire.flavor_id, wire.owner.id, peer.node_id
        ));
    }
    wire.to_cr(namespace)
        .map_err(|e| format!("flavor {} dropped: {e}", wire.flavor_id))
}

/// The PeeringCandidate for `found` on behalf of `solver`: a new one, or `existing` with the
/// flavor refreshed and the solver added. `held` says a live Reservation holds `existing`;
/// otherwise the candidate is available again (the provider listed it, so it is for sale).
pub fn candidate_for(
    existing: Option<&PeeringCandidate>,
    found: &Found,
    solver: &str,
    held: bool,
    now: i64,
) -> PeeringCandidate {
    let stamp = rfc3339(now);
    let mut pc = existing.cloned().unwrap_or_else(|| {
        let mut pc = PeeringCandidate::new(
            candidate_meta(&found.flavor),
            PeeringCandidateSpec {
                interested_solver_ids: Vec::new(),
                flavor: found.flavor.clone(),
                available: true,
            },
        );
        pc.status = Some(PeeringCandidateStatus {
            creation_time: stamp.clone(),
            last_update_time: String::new(),
        });
        pc
    });
    pc.spec.flavor = found.flavor.clone();
    if !pc.spec.interested_solver_ids.iter().any(|s| s == solver) {
        pc.spec.interested_solver_ids.push(solver.to_owned());
    }
    pc.spec.available = !held;
    if !held {
        pc.metadata.annotations.remove(HELD_BY_ANNOTATION);
    }
    pc.metadata
        .annotations
        .insert(ADDRESS_ANNOTATION.to_owned(), found.address.clone());
    let status = pc
        .status
        .get_or_insert_with(PeeringCandidateStatus::default);
    status.last_update_time = stamp;
    pc
}

/// Metadata of a new PeeringCandidate for `flavor`.
fn candidate_meta(flavor: &Flavor) -> ObjectMeta {
    ObjectMeta {
        name: peering_candidate_name(&flavor.metadata.name),
        namespace: flavor.metadata.namespace.clone(),
        labels: BTreeMap::from([(ROLE_LABEL.to_owned(), ROLE_CONSUMER.to_owned())]),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
