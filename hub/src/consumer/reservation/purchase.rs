//! The purchase sub-phase: read the Transaction back from the store, PURCHASE it at the
//! seller (safe to repeat: the provider's purchase is idempotent per transaction), store the
//! consumer Contract, and mark the Reservation `Solved`.

use fluidos_protocol::discovery::PeeringCandidate;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::rear::{
    PurchaseRequest, TelemetryEndpoint, WireContract, WireLiqoCredentials,
};
use fluidos_protocol::reservation::{Reservation, Transaction};
use fluidos_protocol::service::TYPE_SERVICE;

use super::{fail, identity_mismatch, set_sub};
use crate::clock::{now, parse, set_phase};
use crate::consumer::records::{contract_record, contract_ref};
use crate::consumer::update::create_tolerant;
use crate::consumer::{ConsumerContext, Next, ReconcileError, buyer_identity};
use crate::rear::calls::{self, CallError};
use crate::store::get_typed;

/// Message of a bought Reservation.
pub(super) const SOLVED: &str = "Reservation solved";

/// The purchase sub-phase of `r`.
pub(super) async fn step(
    ctx: &ConsumerContext,
    mut r: Reservation,
    pc: &PeeringCandidate,
    deadline: i64,
) -> Result<Next, ReconcileError> {
    let st = r.status.clone().unwrap_or_default();
    match st.purchase_phase {
        Phase::Running => {}
        Phase::Failed => {
            let why = "Reservation failed during the 'Purchase' phase";
            fail(ctx, &mut r, Some(pc), why).await?;
            return Ok(Next::Done);
        }
        _ => {
            set_sub(ctx, &mut r, |s| s.purchase_phase = Phase::Running).await?;
            return Ok(Next::Done);
        }
    }
    let tx = get_typed::<Transaction>(&*ctx.store, &ctx.namespace, &st.transaction_id).await?;
    let Some(tx) = tx.filter(|_| !st.transaction_id.is_empty()) else {
        let why = "Reservation failed: error when getting Transaction";
        fail(ctx, &mut r, Some(pc), why).await?;
        return Ok(Next::Done);
    };
    let deadline = hold_deadline(ctx, &tx).map_or(deadline, |d| d.min(deadline));
    if now() >= deadline {
        let why = "Reservation failed: error when purchasing flavor: deadline passed";
        fail(ctx, &mut r, Some(pc), why).await?;
        return Ok(Next::Done);
    }
    call_purchase(ctx, r, pc, &tx, deadline).await
}

/// The provider's hold expiry minus the margin, when the Transaction records one.
fn hold_deadline(ctx: &ConsumerContext, tx: &Transaction) -> Option<i64> {
    let expires = parse(&tx.spec.expiration_time)?;
    let margin = i64::try_from(ctx.hold_margin.as_secs()).unwrap_or(i64::MAX);
    Some(expires.saturating_sub(margin))
}

/// PURCHASE at the seller, then the Contract CR, then `Solved`.
async fn call_purchase(
    ctx: &ConsumerContext,
    mut r: Reservation,
    pc: &PeeringCandidate,
    tx: &Transaction,
    deadline: i64,
) -> Result<Next, ReconcileError> {
    let request = purchase_request(&r, pc);
    let seller = r.spec.seller.clone();
    let answer = calls::purchase(&ctx.client, &seller.ip, &tx.metadata.name, &request).await;
    let (wire, peer) = match answer {
        Ok(answer) => answer,
        Err(e) => return purchase_failed(ctx, &mut r, pc, e, deadline).await,
    };
    if let Some(why) = identity_mismatch(peer.as_ref(), &seller.node_id) {
        fail(ctx, &mut r, Some(pc), &why).await?;
        return Ok(Next::Done);
    }
    bought(ctx, &mut r, pc, &wire).await
}

/// Store the consumer Contract and mark the Reservation `Solved`.
async fn bought(
    ctx: &ConsumerContext,
    r: &mut Reservation,
    pc: &PeeringCandidate,
    wire: &WireContract,
) -> Result<Next, ReconcileError> {
    let contract = match contract_record(&ctx.namespace, wire) {
        Ok(c) if !c.metadata.name.is_empty() => c,
        Ok(_) => {
            fail(
                ctx,
                r,
                Some(pc),
                "Reservation failed: contract without an id",
            )
            .await?;
            return Ok(Next::Done);
        }
        Err(e) => {
            let why = format!("Reservation failed: contract flavor unusable: {e}");
            fail(ctx, r, Some(pc), &why).await?;
            return Ok(Next::Done);
        }
    };
    create_tolerant(&*ctx.store, &contract).await?;
    tracing::info!(reservation = %r.metadata.name, contract = %contract.metadata.name,
        transaction = %wire.transaction_id, "flavor purchased");
    let reference = contract_ref(&ctx.namespace, &contract.metadata.name);
    set_sub(ctx, r, |s| {
        s.contract = Some(reference);
        s.purchase_phase = Phase::Solved;
        set_phase(&mut s.phase, Phase::Solved, SOLVED, now());
    })
    .await?;
    Ok(Next::Done)
}

/// A failed PURCHASE: a refusal (4xx, expired hold included) fails now; other failures are
/// retried until the deadline.
async fn purchase_failed(
    ctx: &ConsumerContext,
    r: &mut Reservation,
    pc: &PeeringCandidate,
    error: CallError,
    deadline: i64,
) -> Result<Next, ReconcileError> {
    if error.is_refusal() || now() >= deadline {
        let why = format!(
            "Reservation failed: error when purchasing flavor: {}",
            error.chain()
        );
        fail(ctx, r, Some(pc), &why).await?;
        return Ok(Next::Done);
    }
    tracing::warn!(reservation = %r.metadata.name, error = %error.chain(), "purchase will be retried");
    Err(ReconcileError::Retry(error))
}

/// The PURCHASE body: the telemetry endpoint when asked for; for Service flavors, our
/// (credential-less) cluster identity, which upstream providers require.
fn purchase_request(r: &Reservation, pc: &PeeringCandidate) -> PurchaseRequest {
    let is_service = pc.spec.flavor.spec.flavor_type.type_identifier == TYPE_SERVICE;
    let liqo_credentials = is_service.then(|| {
        let buyer = buyer_identity(&r.spec.buyer);
        WireLiqoCredentials {
            cluster_id: buyer
                .additional_information
                .and_then(|a| a.liqo_id)
                .unwrap_or_default(),
            kubeconfig: String::new(),
        }
    });
    PurchaseRequest {
        liqo_credentials,
        ingress_telemetry_endpoint: r.spec.ingress_telemetry_endpoint.as_ref().map(|t| {
            TelemetryEndpoint {
                endpoint: t.endpoint.clone(),
                intents: t.intents.clone(),
            }
        }),
    }
}
