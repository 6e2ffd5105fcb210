//! The Solver controller, IO half: read what the store holds around a Solver, ask
//! [`solver_plan::plan`](super::solver_plan::plan) for the next step, make its writes, store the
//! new status. Every write is idempotent, so a crash between any two is repaired by the next
//! reconcile.

use std::time::Duration;

use fluidos_protocol::allocation::Allocation;
use fluidos_protocol::discovery::{Discovery, PeeringCandidate, discovery_name};
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::{Contract, Reservation, reservation_name};
use fluidos_protocol::selector::Matcher;
use fluidos_protocol::solver::Solver;

use super::candidate::choose;
use super::records::allocation_name_of;
use super::solver_plan::{Action, Observed, Settings, plan};
use super::update::{Part, create_tolerant, modify};
use super::{ConsumerContext, HELD_BY_ANNOTATION, Next, ReconcileError};
use crate::clock::now;
use crate::rear::calls::error_chain;
use crate::store::{StoreError, delete_typed, get_typed, list_typed, update_status_typed};

/// Shortest interval between two Discovery runs while a Solver waits for a candidate.
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(3);

/// Reconcile the Solver `name`.
///
/// # Errors
/// Store failures; the Solver is retried with backoff.
pub async fn reconcile(ctx: &ConsumerContext, name: &str) -> Result<Next, ReconcileError> {
    let store = &*ctx.store;
    let Some(solver) = get_typed::<Solver>(store, &ctx.namespace, name).await? else {
        return Ok(Next::Done);
    };
    let phase = solver.status.as_ref().map(|s| s.solver_phase.phase);
    if phase.is_some_and(Phase::is_terminal) {
        return Ok(Next::Done);
    }
    let facts = Facts::gather(ctx, &solver).await?;
    let settings = Settings {
        step_timeout: ctx.step_timeout,
        discovery_retry: DISCOVERY_RETRY,
        buyer: ctx.buyer(),
    };
    let plan = plan(&solver, &facts.observed(now()), &settings);
    for action in &plan.actions {
        apply(ctx, &solver, action).await?;
    }
    if solver.status.as_ref() != Some(&plan.status) {
        let status = &plan.status;
        tracing::info!(solver = name, phase = %status.solver_phase.phase,
            message = %status.solver_phase.message, find = %status.find_candidate,
            reserve = %status.reserve_and_buy, peering = %status.peering, "solver progressed");
        let mut updated = solver;
        updated.status = Some(plan.status);
        update_status_typed(store, &updated).await?;
    }
    Ok(plan.next)
}

/// What the store holds around one Solver.
struct Facts {
    invalid_selector: Option<String>,
    candidate: Option<PeeringCandidate>,
    discovery: Option<Discovery>,
    reservation: Option<Reservation>,
    contract: Option<Contract>,
    allocation: Option<Allocation>,
}

impl Facts {
    async fn gather(ctx: &ConsumerContext, solver: &Solver) -> Result<Self, StoreError> {
        let (store, ns, name) = (&*ctx.store, ctx.namespace.as_str(), &solver.metadata.name);
        let (matcher, invalid_selector) = match solver.spec.selector.as_ref() {
            None => (None, None),
            Some(selector) => match Matcher::from_selector(selector) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(error_chain(&e))),
            },
        };
        let pcs = list_typed::<PeeringCandidate>(store, Some(ns)).await?;
        let candidate = choose(&pcs, name, matcher.as_ref()).cloned();
        let discovery = get_typed(store, ns, &discovery_name(name)).await?;
        let reservation: Option<Reservation> =
            get_typed(store, ns, &reservation_name(name)).await?;
        let contract_name = solver
            .status
            .as_ref()
            .and_then(|s| s.contract.clone())
            .or_else(|| reservation.as_ref()?.status.as_ref()?.contract.clone());
        let contract: Option<Contract> = match contract_name {
            Some(r) => get_typed(store, ns, &r.name).await?,
            None => None,
        };
        let allocation = match &contract {
            Some(c) => get_typed(store, ns, &allocation_name_of(c)).await?,
            None => None,
        };
        Ok(Self {
            invalid_selector,
            candidate,
            discovery,
            reservation,
            contract,
            allocation,
        })
    }

    fn observed(&self, now: i64) -> Observed<'_> {
        Observed {
            now,
            invalid_selector: self.invalid_selector.as_deref(),
            discovery: self.discovery.as_ref(),
            candidate: self.candidate.as_ref(),
            reservation: self.reservation.as_ref(),
            contract: self.contract.as_ref(),
            allocation: self.allocation.as_ref(),
        }
    }
}

/// Make one write of a plan.
async fn apply(ctx: &ConsumerContext, solver: &Solver, action: &Action) -> Result<(), StoreError> {
    let (store, ns, name) = (&*ctx.store, ctx.namespace.as_str(), &solver.metadata.name);
    tracing::debug!(solver = %name, ?action, "solver action");
    match action {
        Action::CreateDiscovery(d) => create_tolerant(store, d.as_ref()).await.map(drop),
        Action::RestartDiscovery => {
            let restart = |d: &mut Discovery| d.status.take().is_some();
            modify(store, ns, &discovery_name(name), Part::Status, restart)
                .await
                .map(drop)
        }
        Action::AddInterest(pc) => {
            let add = |pc: &mut PeeringCandidate| {
                let ids = &mut pc.spec.interested_solver_ids;
                let missing = !ids.iter().any(|s| s == name);
                if missing {
                    ids.push(name.clone());
                }
                missing
            };
            modify(store, ns, pc, Part::Spec, add).await.map(drop)
        }
        Action::MarkUnavailable(pc) => {
            tracing::info!(solver = %name, candidate = %pc, "candidate refused: set aside");
            let set_aside = |pc: &mut PeeringCandidate| {
                let held = pc.metadata.annotations.remove(HELD_BY_ANNOTATION).is_some();
                std::mem::replace(&mut pc.spec.available, false) || held
            };
            modify(store, ns, pc, Part::Spec, set_aside).await.map(drop)
        }
        Action::CreateReservation(r) => create_tolerant(store, r.as_ref()).await.map(drop),
        Action::DeleteReservation => delete_reservation(ctx, name).await,
        Action::CreateAllocation(a) => create_tolerant(store, a.as_ref()).await.map(drop),
    }
}

/// Delete `reservation-<solver>` (gone already is fine).
async fn delete_reservation(ctx: &ConsumerContext, solver: &str) -> Result<(), StoreError> {
    let store = &*ctx.store;
    let name = reservation_name(solver);
    let Some(reservation) = get_typed::<Reservation>(store, &ctx.namespace, &name).await? else {
        return Ok(());
    };
    match delete_typed(store, &reservation).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
