//! The consumer's controller loop: store watch events, a periodic resync and requeue-after
//! deadlines feed a [`WorkQueue`]; each due key is reconciled on its own task (at most one
//! task per key, a bounded number overall). Errors are logged and retried with backoff; a
//! panicking reconcile is contained and retried like an error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::discovery::solver_of_discovery;
use fluidos_protocol::phase::Phase;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::queue::{Key, Kind, WorkQueue};
use super::{ConsumerContext, Next, ReconcileError, discovery, reservation, solver};
use crate::rear::calls::error_chain;
use crate::store::{StoredObject, WatchEvent};

/// Interval of the full resync.
const RESYNC: Duration = Duration::from_secs(5);
/// Most reconciles running at once.
const MAX_CONCURRENT: usize = 16;
/// How long the loop sleeps when nothing is queued.
const IDLE: Duration = Duration::from_secs(3600);

/// Run the consumer controllers until `shutdown`; in-flight reconciles are then aborted (every
/// step is idempotent, so the next start resumes them).
pub async fn run(ctx: Arc<ConsumerContext>, shutdown: CancellationToken) {
    let mut events = ctx.store.watch();
    let mut queue = WorkQueue::default();
    let mut tasks = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, Key> = HashMap::new();
    let mut resync = tokio::time::interval(RESYNC);
    tracing::info!(namespace = %ctx.namespace, peers = ctx.peers.len(), "REAR consumer started");
    loop {
        spawn_ready(&ctx, &mut queue, &mut tasks, &mut running);
        let wake = queue.next_due().unwrap_or_else(|| Instant::now() + IDLE);
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = resync.tick() => resync_all(&ctx, &mut queue).await,
            event = events.recv() => match event {
                Ok(event) => on_event(&ctx, &mut queue, &event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "consumer fell behind the store watch: resyncing");
                    resync_all(&ctx, &mut queue).await;
                }
                Err(RecvError::Closed) => break,
            },
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                finished(&mut queue, &mut running, done);
            }
            () = tokio::time::sleep_until(wake) => {}
        }
    }
    tasks.shutdown().await;
    tracing::info!("REAR consumer stopped");
}

/// The result of one reconcile task.
type Done = Result<(tokio::task::Id, Result<Next, ReconcileError>), tokio::task::JoinError>;

/// Start every due key, up to [`MAX_CONCURRENT`] tasks.
fn spawn_ready(
    ctx: &Arc<ConsumerContext>,
    queue: &mut WorkQueue,
    tasks: &mut JoinSet<Result<Next, ReconcileError>>,
    running: &mut HashMap<tokio::task::Id, Key>,
) {
    while tasks.len() < MAX_CONCURRENT {
        let Some(key) = queue.pop_ready(Instant::now()) else {
            return;
        };
        let span = tracing::info_span!("reconcile", kind = ?key.0, name = %key.1);
        let future = reconcile(Arc::clone(ctx), key.clone()).instrument(span);
        let handle = tasks.spawn(future);
        running.insert(handle.id(), key);
    }
}

/// Record the end of a reconcile task in the queue.
fn finished(queue: &mut WorkQueue, running: &mut HashMap<tokio::task::Id, Key>, done: Done) {
    let (id, outcome) = match done {
        Ok((id, result)) => (id, result),
        Err(join) => {
            tracing::error!(error = %join, "consumer reconcile panicked");
            (
                join.id(),
                Err(ReconcileError::Blocked("reconcile panicked".into())),
            )
        }
    };
    let Some(key) = running.remove(&id) else {
        return;
    };
    let failed = outcome.as_ref().err().map(|e| error_chain(e));
    let delay = queue.finish(key.clone(), outcome.map_err(drop), Instant::now());
    if let (Some(error), Some(delay)) = (failed, delay) {
        tracing::warn!(kind = ?key.0, name = %key.1, %error, retry_in = ?delay, "reconcile failed");
    }
}

/// Reconcile one object.
async fn reconcile(ctx: Arc<ConsumerContext>, key: Key) -> Result<Next, ReconcileError> {
    let (kind, name) = key;
    match kind {
        Kind::Solver => solver::reconcile(&ctx, &name).await,
        Kind::Discovery => discovery::reconcile(&ctx, &name).await,
        Kind::Reservation => reservation::reconcile(&ctx, &name).await,
    }
}

/// Queue what a committed change concerns.
fn on_event(ctx: &ConsumerContext, queue: &mut WorkQueue, event: &WatchEvent) {
    let obj = event.object();
    if obj.namespace != ctx.namespace || matches!(event, WatchEvent::Deleted(_)) {
        return;
    }
    let now = Instant::now();
    for key in keys_of(obj) {
        queue.add(key, now);
    }
}

/// The keys a change to `obj` should wake: the object itself and the Solvers it serves.
fn keys_of(obj: &StoredObject) -> Vec<Key> {
    let solver_id = || {
        obj.json["spec"]["solverID"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(|s| (Kind::Solver, s.to_owned()))
    };
    match obj.kind.as_str() {
        "Solver" => vec![(Kind::Solver, obj.name.clone())],
        "Discovery" => {
            let from_name = solver_of_discovery(&obj.name).map(|s| (Kind::Solver, s.to_owned()));
            let mut keys = vec![(Kind::Discovery, obj.name.clone())];
            keys.extend(solver_id().or(from_name));
            keys
        }
        "Reservation" => {
            let mut keys = vec![(Kind::Reservation, obj.name.clone())];
            keys.extend(solver_id());
            keys
        }
        "PeeringCandidate" => obj.json["spec"]["interestedSolverIDs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .map(|s| (Kind::Solver, s.to_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Queue every object that is not finished (a level-triggered safety net).
async fn resync_all(ctx: &ConsumerContext, queue: &mut WorkQueue) {
    let now = Instant::now();
    for (kind, store_kind, path) in [
        (Kind::Solver, "Solver", "/status/solverPhase/phase"),
        (Kind::Discovery, "Discovery", "/status/phase/phase"),
        (Kind::Reservation, "Reservation", "/status/phase/phase"),
    ] {
        let objects = match ctx.store.list(store_kind, Some(&ctx.namespace)).await {
            Ok(objects) => objects,
            Err(e) => {
                tracing::warn!(kind = store_kind, error = %error_chain(&e), "resync list failed");
                continue;
            }
        };
        for obj in objects {
            let phase = obj
                .json
                .pointer(path)
                .and_then(|p| p.as_str())
                .unwrap_or("");
            if !Phase::from_name(phase).is_terminal() {
                queue.add((kind, obj.name), now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(kind: &str, name: &str, json: serde_json::Value) -> StoredObject {
        StoredObject {
            kind: kind.into(),
            namespace: "fluidos".into(),
            name: name.into(),
            resource_version: 1,
            json,
        }
    }

    #[test]
    fn changes_wake_the_object_and_its_solver() {
        let d = stored(
            "Discovery",
            "discovery-s1",
            json!({"spec": {"solverID": "s1"}}),
        );
        assert_eq!(
            keys_of(&d),
            [
                (Kind::Discovery, "discovery-s1".into()),
                (Kind::Solver, "s1".into())
            ]
        );
        let r = stored(
            "Reservation",
            "reservation-s2",
            json!({"spec": {"solverID": "s2"}}),
        );
        assert_eq!(keys_of(&r)[1], (Kind::Solver, "s2".into()));
        let pc = stored(
            "PeeringCandidate",
            "peeringcandidate-f",
            json!({"spec": {"interestedSolverIDs": ["a", "b"]}}),
        );
        assert_eq!(
            keys_of(&pc),
            [(Kind::Solver, "a".into()), (Kind::Solver, "b".into())]
        );
        assert!(keys_of(&stored("Flavor", "f", json!({}))).is_empty());
    }
}
