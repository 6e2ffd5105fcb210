//! The Reservation controller (§4.4): `""` → `Running` (reserve, then purchase) → `Solved` |
//! `Failed`. What is learnt is stored before it is acted on: the consumer Transaction CR exists
//! before `reservePhase` is `Solved`, and the purchase reads it back from the store, so a
//! restart at any point resumes (the provider's reserve and purchase are idempotent).
//!
//! The PeeringCandidate is held (`available=false`, annotated with this Reservation) while the
//! Reservation runs and released on every failure path. Refusals (4xx) fail at once; transport
//! errors and 5xx are retried with backoff until the Solver's deadline.

mod purchase;

use fluidos_protocol::discovery::PeeringCandidate;
use fluidos_protocol::node::WireNodeIdentity;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::rear::ReserveRequest;
use fluidos_protocol::reservation::{Reservation, ReservationStatus, Transaction};
use fluidos_protocol::solver::Solver;

use super::records::{REFUSED_MESSAGE, transaction_record};
use super::update::{Part, create_tolerant, modify};
use super::{
    ConsumerContext, HELD_BY_ANNOTATION, Next, RESERVATION_LABEL, RESERVATION_UID_LABEL,
    ReconcileError, buyer_identity,
};
use crate::clock::{after, now, parse, set_phase};
use crate::rear::calls::{self, CallError};
use crate::rear::trust::NodePeer;
use crate::store::{StoreError, get_typed, list_typed, update_status_typed};

/// Message while the Reservation runs.
const RUNNING: &str = "Reservation is running";

/// Reconcile the Reservation `name`.
///
/// # Errors
/// Store failures, and retryable REAR failures before the deadline.
pub async fn reconcile(ctx: &ConsumerContext, name: &str) -> Result<Next, ReconcileError> {
    let Some(mut r) = get_typed::<Reservation>(&*ctx.store, &ctx.namespace, name).await? else {
        return Ok(Next::Done);
    };
    let st = r.status.clone().unwrap_or_default();
    if st.phase.phase.is_terminal() {
        return Ok(Next::Done);
    }
    if st.phase.phase != Phase::Running {
        let status = r.status.get_or_insert_with(ReservationStatus::default);
        set_phase(&mut status.phase, Phase::Running, RUNNING, now());
        status.reserve_phase = Phase::Idle;
        status.purchase_phase = Phase::Idle;
        update_status_typed(&*ctx.store, &r).await?;
        return Ok(Next::Done);
    }
    let Some(pc) = candidate_of(ctx, &r).await? else {
        let why = "Reservation failed: error when getting PeeringCandidate";
        fail(ctx, &mut r, None, why).await?;
        return Ok(Next::Done);
    };
    let deadline = deadline_of(ctx, &r).await?;
    if r.spec.reserve && st.reserve_phase != Phase::Solved {
        return reserve_step(ctx, r, &pc, deadline).await;
    }
    if r.spec.purchase && st.reserve_phase == Phase::Solved && st.purchase_phase != Phase::Solved {
        return purchase::step(ctx, r, &pc, deadline).await;
    }
    Ok(Next::Done)
}

/// The PeeringCandidate the Reservation buys.
async fn candidate_of(
    ctx: &ConsumerContext,
    r: &Reservation,
) -> Result<Option<PeeringCandidate>, StoreError> {
    let Some(pc_ref) = &r.spec.peering_candidate else {
        return Ok(None);
    };
    let ns = if pc_ref.namespace.is_empty() {
        &ctx.namespace
    } else {
        &pc_ref.namespace
    };
    get_typed(&*ctx.store, ns, &pc_ref.name).await
}

/// Until when REAR failures are retried: the Solver's step deadline (now when the Solver has
/// given up), else the last phase change + the step timeout.
async fn deadline_of(ctx: &ConsumerContext, r: &Reservation) -> Result<i64, StoreError> {
    let t = now();
    let solver = get_typed::<Solver>(&*ctx.store, &ctx.namespace, &r.spec.solver_id).await?;
    if let Some(status) = solver.and_then(|s| s.status) {
        if matches!(status.solver_phase.phase, Phase::Failed | Phase::TimedOut) {
            return Ok(t);
        }
        if let Some(deadline) = parse(&status.deadline) {
            return Ok(deadline);
        }
    }
    let changed = r
        .status
        .as_ref()
        .and_then(|s| parse(&s.phase.last_change_time));
    Ok(after(changed.unwrap_or(t), ctx.step_timeout))
}

/// The reserve sub-phase.
async fn reserve_step(
    ctx: &ConsumerContext,
    mut r: Reservation,
    pc: &PeeringCandidate,
    deadline: i64,
) -> Result<Next, ReconcileError> {
    let sub = r.status.as_ref().map_or(Phase::Empty, |s| s.reserve_phase);
    match sub {
        Phase::Running => {}
        Phase::Failed => {
            let why = "Reservation failed during the 'Reserve' phase";
            fail(ctx, &mut r, Some(pc), why).await?;
            return Ok(Next::Done);
        }
        _ => {
            set_sub(ctx, &mut r, |s| s.reserve_phase = Phase::Running).await?;
            return Ok(Next::Done);
        }
    }
    if let Some(tx) = recorded_transaction(ctx, &r).await? {
        tracing::info!(reservation = %r.metadata.name, transaction = %tx, "reserve already recorded");
        return reserved(ctx, &mut r, &tx).await;
    }
    if !hold(ctx, pc, &r.metadata.name).await? {
        let why = "Reservation failed: PeeringCandidate not available";
        fail(ctx, &mut r, None, why).await?;
        return Ok(Next::Done);
    }
    call_reserve(ctx, r, pc, deadline).await
}

/// RESERVE at the seller, then the Transaction CR, then `reservePhase: Solved`.
async fn call_reserve(
    ctx: &ConsumerContext,
    mut r: Reservation,
    pc: &PeeringCandidate,
    deadline: i64,
) -> Result<Next, ReconcileError> {
    let request = ReserveRequest {
        flavor_id: pc.spec.flavor.metadata.name.clone(),
        buyer: WireNodeIdentity::from(&buyer_identity(&r.spec.buyer)),
        configuration: r.spec.configuration.as_ref().map(|c| c.to_wire()),
    };
    let seller = r.spec.seller.clone();
    let answer = calls::reserve(&ctx.client, &seller.ip, &request).await;
    let (tx, peer) = match answer {
        Ok(answer) => answer,
        Err(e) => return reserve_failed(ctx, &mut r, pc, e, deadline).await,
    };
    if let Some(why) = identity_mismatch(peer.as_ref(), &seller.node_id) {
        fail(ctx, &mut r, Some(pc), &why).await?;
        return Ok(Next::Done);
    }
    if tx.transaction_id.is_empty() {
        return Err(ReconcileError::Blocked(
            "provider answered an empty transaction id".into(),
        ));
    }
    let record = transaction_record(&ctx.namespace, &r, &tx);
    create_tolerant(&*ctx.store, &record).await?;
    tracing::info!(reservation = %r.metadata.name, transaction = %tx.transaction_id,
        seller = %seller.node_id, "flavor reserved");
    reserved(ctx, &mut r, &tx.transaction_id).await
}

/// Record the transaction id and `reservePhase: Solved`.
async fn reserved(
    ctx: &ConsumerContext,
    r: &mut Reservation,
    transaction_id: &str,
) -> Result<Next, ReconcileError> {
    set_sub(ctx, r, |s| {
        transaction_id.clone_into(&mut s.transaction_id);
        s.reserve_phase = Phase::Solved;
    })
    .await?;
    Ok(Next::Done)
}

/// A failed RESERVE: a refusal fails now (the Solver may try another candidate); other
/// failures are retried until the deadline.
async fn reserve_failed(
    ctx: &ConsumerContext,
    r: &mut Reservation,
    pc: &PeeringCandidate,
    error: CallError,
    deadline: i64,
) -> Result<Next, ReconcileError> {
    let name = r.metadata.name.clone();
    if error.is_refusal() {
        tracing::warn!(reservation = %name, error = %error.chain(), "reserve refused");
        fail(ctx, r, Some(pc), &refused_message(&error)).await?;
        return Ok(Next::Done);
    }
    if now() >= deadline {
        let why = format!(
            "Reservation failed: error when reserving flavor: {}",
            error.chain()
        );
        fail(ctx, r, Some(pc), &why).await?;
        return Ok(Next::Done);
    }
    Err(ReconcileError::Retry(error))
}

/// The message of a refused reserve (starts with [`REFUSED_MESSAGE`]).
pub fn refused_message(error: &CallError) -> String {
    match error {
        CallError::Status { status, body } => format!("{REFUSED_MESSAGE} (HTTP {status}): {body}"),
        other => format!("{REFUSED_MESSAGE}: {}", other.chain()),
    }
}

/// Why the TLS peer that answered is not the seller, if it is not.
pub fn identity_mismatch(peer: Option<&NodePeer>, seller_node_id: &str) -> Option<String> {
    let peer = peer?;
    (peer.node_id != seller_node_id).then(|| {
        format!(
            "Reservation failed: seller identity mismatch: expected node {seller_node_id}, \
             answered by node {}",
            peer.node_id
        )
    })
}

/// The consumer Transaction already recorded for this very Reservation (same uid), if any.
async fn recorded_transaction(
    ctx: &ConsumerContext,
    r: &Reservation,
) -> Result<Option<String>, StoreError> {
    let txs = list_typed::<Transaction>(&*ctx.store, Some(&ctx.namespace)).await?;
    let labelled = |t: &Transaction, key: &str, value: &str| {
        t.metadata.labels.get(key).is_some_and(|v| v == value)
    };
    Ok(txs
        .into_iter()
        .find(|t| {
            labelled(t, RESERVATION_LABEL, &r.metadata.name)
                && labelled(t, RESERVATION_UID_LABEL, &r.metadata.uid)
        })
        .map(|t| t.metadata.name))
}

/// Hold `pc` for the Reservation `holder`; `false` when someone else holds it.
async fn hold(
    ctx: &ConsumerContext,
    pc: &PeeringCandidate,
    holder: &str,
) -> Result<bool, StoreError> {
    let mut held = false;
    let take = |pc: &mut PeeringCandidate| {
        let ours = pc
            .metadata
            .annotations
            .get(HELD_BY_ANNOTATION)
            .is_some_and(|h| h == holder);
        held = pc.spec.available || ours;
        if !pc.spec.available {
            return false;
        }
        pc.spec.available = false;
        let annotations = &mut pc.metadata.annotations;
        annotations.insert(HELD_BY_ANNOTATION.to_owned(), holder.to_owned());
        true
    };
    let name = &pc.metadata.name;
    let found = modify(&*ctx.store, &pc.metadata.namespace, name, Part::Spec, take).await?;
    Ok(found.is_some() && held)
}

/// Release `pc` if the Reservation `holder` holds it (the rollback of [`hold`]).
async fn release(
    ctx: &ConsumerContext,
    pc: &PeeringCandidate,
    holder: &str,
) -> Result<(), StoreError> {
    let give_back = |pc: &mut PeeringCandidate| {
        let ours = pc
            .metadata
            .annotations
            .get(HELD_BY_ANNOTATION)
            .is_some_and(|h| h == holder);
        if ours {
            pc.metadata.annotations.remove(HELD_BY_ANNOTATION);
            pc.spec.available = true;
        }
        ours
    };
    let name = &pc.metadata.name;
    modify(
        &*ctx.store,
        &pc.metadata.namespace,
        name,
        Part::Spec,
        give_back,
    )
    .await?;
    Ok(())
}

/// Change the status with `change` and store it.
async fn set_sub(
    ctx: &ConsumerContext,
    r: &mut Reservation,
    change: impl FnOnce(&mut ReservationStatus),
) -> Result<(), StoreError> {
    change(r.status.get_or_insert_with(ReservationStatus::default));
    *r = update_status_typed(&*ctx.store, r).await?;
    Ok(())
}

/// Release `pc` (when given and held by us), then mark the running sub-phase and the
/// Reservation `Failed` with `message`.
async fn fail(
    ctx: &ConsumerContext,
    r: &mut Reservation,
    pc: Option<&PeeringCandidate>,
    message: &str,
) -> Result<(), StoreError> {
    if let Some(pc) = pc {
        release(ctx, pc, &r.metadata.name).await?;
    }
    tracing::warn!(reservation = %r.metadata.name, %message, "reservation failed");
    set_sub(ctx, r, |s| {
        if s.reserve_phase != Phase::Solved {
            s.reserve_phase = Phase::Failed;
        } else {
            s.purchase_phase = Phase::Failed;
        }
        set_phase(&mut s.phase, Phase::Failed, message, now());
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn refusals_are_recognisable_by_the_solver() {
        let e = CallError::Status {
            status: StatusCode::CONFLICT,
            body: "flavor f is not available".into(),
        };
        let message = refused_message(&e);
        assert!(message.starts_with(REFUSED_MESSAGE));
        assert!(message.ends_with("(HTTP 409 Conflict): flavor f is not available"));
    }

    #[test]
    fn the_answering_node_must_be_the_seller() {
        let peer = NodePeer {
            domain: "fluidos.eu".into(),
            node_id: "p2".into(),
        };
        assert!(
            identity_mismatch(None, "p1").is_none(),
            "plain HTTP: nothing to check"
        );
        assert!(identity_mismatch(Some(&peer), "p2").is_none());
        let why = identity_mismatch(Some(&peer), "p1").unwrap();
        assert!(why.contains("seller identity mismatch"), "{why}");
    }
}
