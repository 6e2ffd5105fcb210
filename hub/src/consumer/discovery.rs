//! The Discovery controller (§4.3): `""` → `Running` → `Solved` | `Failed`. Every peer (static
//! peers ∪ KnownCluster addresses) is asked at once, each under its own deadline; a dead, slow
//! or misbehaving peer is recorded in the status message and skipped, never aborting the
//! others. Each kept flavor becomes (or refreshes) `peeringcandidate-<flavorID>`.

use std::collections::BTreeMap;

use fluidos_protocol::discovery::{
    Discovery, DiscoveryStatus, PeeringCandidate, PeeringCandidateList, peering_candidate_name,
};
use fluidos_protocol::network::KnownCluster;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::Reservation;
use fluidos_protocol::selector::{FilterSet, Matcher};
use tokio::task::JoinSet;

use super::merge::{Found, PeerOutcome, candidate_for, merge, peer_addresses};
use super::{ConsumerContext, HELD_BY_ANNOTATION, Next, ReconcileError};
use crate::clock::{now, set_phase};
use crate::rear::calls::list_flavors_from;
use crate::store::{StoreError, create_typed, get_typed, list_typed};
use crate::store::{update_status_typed, update_typed};

/// Upstream's message when no flavor was found.
pub const NO_FLAVORS: &str = "No Flavors found";
/// Upstream's message when candidates were found.
pub const FOUND: &str = "Discovery Solved: Peering Candidate found";

/// Attempts at writing one PeeringCandidate when others write it too.
const PC_ATTEMPTS: usize = 5;

/// Reconcile the Discovery `name`.
///
/// # Errors
/// Store failures (the Discovery is retried, which re-asks the peers).
pub async fn reconcile(ctx: &ConsumerContext, name: &str) -> Result<Next, ReconcileError> {
    let store = &*ctx.store;
    let Some(mut discovery) = get_typed::<Discovery>(store, &ctx.namespace, name).await? else {
        return Ok(Next::Done);
    };
    let phase = discovery
        .status
        .as_ref()
        .map_or(Phase::Empty, |s| s.phase.phase);
    if phase.is_terminal() {
        return Ok(Next::Done);
    }
    if phase != Phase::Running {
        let mut status = DiscoveryStatus::default();
        set_phase(
            &mut status.phase,
            Phase::Running,
            "Discovery started",
            now(),
        );
        status.peering_candidate_list = Some(PeeringCandidateList::default());
        discovery.status = Some(status);
        discovery = update_status_typed(store, &discovery).await?;
    }
    let status = discover(ctx, &discovery).await?;
    let solved = status.phase.phase == Phase::Solved;
    tracing::info!(discovery = name, solved, message = %status.phase.message, "discovery finished");
    discovery.status = Some(status);
    update_status_typed(store, &discovery).await?;
    Ok(Next::Done)
}

/// Ask every peer, write the candidates, and return the final status.
async fn discover(
    ctx: &ConsumerContext,
    discovery: &Discovery,
) -> Result<DiscoveryStatus, ReconcileError> {
    let mut status = discovery.status.clone().unwrap_or_default();
    let (filters, matcher) = match compile(discovery) {
        Ok(compiled) => compiled,
        Err(why) => {
            set_phase(&mut status.phase, Phase::Failed, &why, now());
            return Ok(status);
        }
    };
    let peers = peers(ctx).await?;
    let outcomes = ask_all(ctx, &peers, filters.as_ref()).await;
    let merged = merge(&outcomes, &ctx.me.node_id, &ctx.namespace, matcher.as_ref());
    let mut items = Vec::with_capacity(merged.found.len());
    for found in &merged.found {
        items.push(upsert(ctx, found, &discovery.spec.solver_id).await?);
    }
    let (phase, base) = if items.is_empty() {
        (Phase::Failed, NO_FLAVORS)
    } else {
        (Phase::Solved, FOUND)
    };
    let message = format!("{base} ({})", merged.summary());
    set_phase(&mut status.phase, phase, &message, now());
    status.peering_candidate_list = Some(PeeringCandidateList { items });
    Ok(status)
}

/// The selector's filters (sent to peers) and its compiled form (re-applied locally); both
/// `None` without a selector.
fn compile(discovery: &Discovery) -> Result<(Option<FilterSet>, Option<Matcher>), String> {
    let Some(selector) = &discovery.spec.selector else {
        return Ok((None, None));
    };
    let invalid = |e: &dyn std::error::Error| format!("Discovery has an invalid selector: {e}");
    let set = selector.filter_set().map_err(|e| invalid(&e))?;
    let matcher = Matcher::new(&set).map_err(|e| invalid(&e))?;
    Ok((Some(set), Some(matcher)))
}

/// Static peers ∪ every KnownCluster address (any namespace), without our own address.
async fn peers(ctx: &ConsumerContext) -> Result<Vec<String>, StoreError> {
    let known = list_typed::<KnownCluster>(&*ctx.store, None).await?;
    let addresses = peer_addresses(
        ctx.peers.iter().map(String::as_str),
        known.iter().map(|k| k.spec.address.as_str()),
    );
    Ok(addresses.into_iter().filter(|a| *a != ctx.me.ip).collect())
}

/// LIST_FLAVORS at every peer concurrently, each bounded by the discovery timeout; the answers
/// in peer order.
async fn ask_all(
    ctx: &ConsumerContext,
    peers: &[String],
    filters: Option<&FilterSet>,
) -> Vec<PeerOutcome> {
    let mut tasks = JoinSet::new();
    for (index, address) in peers.iter().enumerate() {
        let (client, address) = (ctx.client.clone(), address.clone());
        let (filters, timeout) = (filters.cloned(), ctx.discovery_timeout);
        tasks.spawn(async move {
            let call = list_flavors_from(&client, &address, filters.as_ref());
            let result = match tokio::time::timeout(timeout, call).await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(e)) => Err(e.chain()),
                Err(_) => Err(format!(
                    "timeout after {}",
                    humantime::format_duration(timeout)
                )),
            };
            if let Err(error) = &result {
                tracing::warn!(peer = %address, %error, "peer skipped by discovery");
            }
            (index, PeerOutcome { address, result })
        });
    }
    let mut answers = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((index, outcome)) => {
                answers.insert(index, outcome);
            }
            Err(e) => tracing::error!(error = %e, "discovery task failed"),
        }
    }
    answers.into_values().collect()
}

/// Create or refresh the PeeringCandidate of `found` for `solver`; returns it as stored.
async fn upsert(
    ctx: &ConsumerContext,
    found: &Found,
    solver: &str,
) -> Result<PeeringCandidate, StoreError> {
    let store = &*ctx.store;
    let name = peering_candidate_name(&found.flavor.metadata.name);
    let mut attempt = 0;
    loop {
        let existing = get_typed::<PeeringCandidate>(store, &ctx.namespace, &name).await?;
        let held = match &existing {
            Some(pc) => is_held(ctx, pc).await?,
            None => false,
        };
        let pc = candidate_for(existing.as_ref(), found, solver, held, now());
        let written = match existing {
            None => create_typed(store, &pc).await,
            Some(_) => write_existing(store, &pc).await,
        };
        match written {
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. })
                if attempt + 1 < PC_ATTEMPTS =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Update an existing candidate's spec, then its status times.
async fn write_existing(
    store: &dyn crate::store::Store,
    pc: &PeeringCandidate,
) -> Result<PeeringCandidate, StoreError> {
    let mut stored = update_typed(store, pc).await?;
    if stored.status == pc.status {
        return Ok(stored);
    }
    stored.status.clone_from(&pc.status);
    update_status_typed(store, &stored).await
}

/// Whether a live (unfinished) Reservation holds `pc`.
async fn is_held(ctx: &ConsumerContext, pc: &PeeringCandidate) -> Result<bool, StoreError> {
    if pc.spec.available {
        return Ok(false);
    }
    let Some(holder) = pc.metadata.annotations.get(HELD_BY_ANNOTATION) else {
        return Ok(false);
    };
    let reservation = get_typed::<Reservation>(&*ctx.store, &ctx.namespace, holder).await?;
    Ok(reservation.is_some_and(|r| {
        !r.status
            .as_ref()
            .is_some_and(|s| s.phase.phase.is_terminal())
    }))
}
