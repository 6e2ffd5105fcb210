//! Report ingestion: the pure sequence-number rule ([`apply_batch`]) and the in-memory
//! [`Ingestor`] that applies it per node and persists the counters write-behind.
//!
//! The rule (ARCHITECTURE.md, "exactly-once"): for each report in order, `seq <= last_seq` is a
//! duplicate; `seq == last_seq + 1` is accepted; a larger `seq` is accepted only when it equals
//! the batch's `resume_from` (the gap is counted), otherwise the batch stops there. The ack is
//! `last_seq` afterwards. [`apply_batch`] does no IO; the [`Ingestor`] only touches the registry
//! from its flush, through `spawn_blocking`, never while a request waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fluidos_protocol::agent::{GpuSample, OfferedResources, ReportBatch, ResourceSample};
use fluidos_protocol::flavor::Location;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::liveness::{self, Liveness};
use crate::registry::{IngestCounters, Registry, RegistryError};

/// Largest number of reports one batch may carry (larger batches get 400).
pub const MAX_BATCH_REPORTS: usize = 1024;
/// Interval of the write-behind flush of ingest counters to `hub.db`.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What one batch did to a node's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Indices (in the batch) of the reports accepted as new, ascending.
    pub accepted: Vec<usize>,
    /// Reports of the batch that were already there.
    pub duplicates: u32,
    /// Reports left unprocessed because the batch stopped at an unexpected gap.
    pub stopped: u32,
    /// `last_seq` after the batch: what the agent may prune up to.
    pub ack: u64,
}

/// Apply the sequence rule to the reports of one batch, in order, updating `counters`.
pub fn apply_batch(
    counters: &mut IngestCounters,
    resume_from: u64,
    seqs: impl IntoIterator<Item = u64>,
) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    let mut seqs = seqs.into_iter().enumerate();
    for (index, seq) in seqs.by_ref() {
        let last = counters.last_seq;
        if seq <= last {
            out.duplicates = out.duplicates.saturating_add(1);
            counters.duplicates_total = counters.duplicates_total.saturating_add(1);
            continue;
        }
        // `seq > last`, so `last + 1` cannot overflow.
        if seq != last + 1 {
            if seq != resume_from {
                out.stopped = 1;
                break;
            }
            counters.gaps_total = counters.gaps_total.saturating_add(seq - last - 1);
        }
        counters.last_seq = seq;
        counters.accepted_total = counters.accepted_total.saturating_add(1);
        out.accepted.push(index);
    }
    let rest = u32::try_from(seqs.count()).unwrap_or(u32::MAX);
    out.stopped = out.stopped.saturating_add(rest);
    out.ack = counters.last_seq;
    out
}

/// Why loading or flushing ingest state failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The registry refused.
    #[error("ingest state store failed")]
    Registry(#[from] RegistryError),
    /// The blocking task died.
    #[error("ingest state task failed")]
    Join(#[from] tokio::task::JoinError),
}

/// What the hub keeps of a node's latest sample: the parts its Flavor is built from. The rest
/// of a report (host name, OS, kernel, usage, labels, further GPUs) is not used after
/// ingestion, and with thousands of agents keeping it would cost real memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferedSample {
    /// Kubernetes architecture name.
    pub architecture: String,
    /// Capacity offered.
    pub offered: OfferedResources,
    /// The first GPU, when any.
    pub gpu: Option<GpuSample>,
    /// Location from the agent config.
    pub location: Option<Location>,
}

impl From<ResourceSample> for OfferedSample {
    fn from(sample: ResourceSample) -> Self {
        Self {
            architecture: sample.architecture,
            offered: sample.offered,
            gpu: sample.gpus.into_iter().next(),
            location: sample.location,
        }
    }
}

/// What the rest of the hub needs to know about one node right now.
#[derive(Debug, Clone, Default)]
pub struct NodeSnapshot {
    /// Latest accepted sample since the hub started (`None` before the first one).
    pub sample: Option<Arc<OfferedSample>>,
    /// Whether the node counts as live.
    pub live: bool,
}

/// Result of one liveness sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Nodes that were live and are now lost.
    pub newly_lost: Vec<String>,
}

#[derive(Debug, Default)]
struct NodeState {
    counters: IngestCounters,
    last_seen: Option<OffsetDateTime>,
    sample: Option<Arc<OfferedSample>>,
    live: bool,
    dirty: bool,
}

/// Per-node ingest state in memory, flushed to the registry every second.
///
/// A std `Mutex` is right here: every critical section is a few map operations with no
/// `.await` inside, so a contended lock is held for microseconds.
#[derive(Debug)]
pub struct Ingestor {
    nodes: Mutex<HashMap<String, NodeState>>,
    registry: Arc<Registry>,
}

impl Ingestor {
    /// Load the persisted counters. Nodes that ever reported start live: the liveness sweeper
    /// gives nodes loaded from disk a grace period of three heartbeats before judging them.
    pub async fn load(registry: Arc<Registry>) -> Result<Self, IngestError> {
        let reg = Arc::clone(&registry);
        let rows = tokio::task::spawn_blocking(move || reg.load_ingest()).await??;
        let nodes = rows
            .into_iter()
            .map(|(node, (counters, last_seen))| {
                let state = NodeState {
                    counters,
                    last_seen,
                    live: last_seen.is_some(),
                    ..NodeState::default()
                };
                (node, state)
            })
            .collect();
        Ok(Self {
            nodes: Mutex::new(nodes),
            registry,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, NodeState>> {
        // A panic while holding the lock cannot leave a half-updated entry that matters more
        // than losing ingestion altogether, so keep going with the inner value.
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Apply `batch` (already authorised for `node`), keeping (the Flavor's part of) the newest
    /// accepted sample.
    /// Returns the outcome and whether the node was not live before (new, or lost).
    pub fn ingest(
        &self,
        node: &str,
        batch: ReportBatch,
        now: OffsetDateTime,
    ) -> (BatchOutcome, bool) {
        let mut nodes = self.lock();
        let state = nodes.entry(node.to_owned()).or_default();
        let outcome = apply_batch(
            &mut state.counters,
            batch.resume_from,
            batch.reports.iter().map(|r| r.seq),
        );
        if let Some(&last) = outcome.accepted.last()
            && let Some(report) = batch.reports.into_iter().nth(last)
        {
            let sample = OfferedSample::from(report.sample);
            // Most reports change nothing a Flavor is built from: keep the allocation then.
            if state.sample.as_deref() != Some(&sample) {
                state.sample = Some(Arc::new(sample));
            }
        }
        let was_lost = !state.live;
        state.live = true;
        state.last_seen = Some(now);
        state.dirty = true;
        (outcome, was_lost)
    }

    /// The node's latest sample and liveness, or `None` for a node never seen.
    pub fn snapshot(&self, node: &str) -> Option<NodeSnapshot> {
        self.lock().get(node).map(|s| NodeSnapshot {
            sample: s.sample.clone(),
            live: s.live,
        })
    }

    /// Counters of a node (for tests and diagnostics).
    pub fn counters(&self, node: &str) -> Option<IngestCounters> {
        self.lock().get(node).map(|s| s.counters)
    }

    /// Mark live nodes not seen for more than three heartbeats as lost.
    pub fn sweep(&self, now: OffsetDateTime, heartbeat: Duration) -> Sweep {
        let mut sweep = Sweep::default();
        for (node, state) in self.lock().iter_mut() {
            if state.live && liveness::classify(state.last_seen, now, heartbeat) == Liveness::Lost {
                state.live = false;
                sweep.newly_lost.push(node.clone());
            }
        }
        sweep.newly_lost.sort();
        sweep
    }

    /// Number of (live, lost) nodes.
    pub fn liveness_counts(&self) -> (usize, usize) {
        let nodes = self.lock();
        let live = nodes.values().filter(|s| s.live).count();
        (live, nodes.len() - live)
    }

    /// Save the nodes changed since the last flush. On failure they stay dirty for next time.
    pub async fn flush(&self) -> Result<usize, IngestError> {
        let rows: Vec<(String, IngestCounters, OffsetDateTime)> = {
            let mut nodes = self.lock();
            nodes
                .iter_mut()
                .filter(|(_, s)| s.dirty)
                .filter_map(|(node, s)| {
                    s.dirty = false;
                    s.last_seen.map(|seen| (node.clone(), s.counters, seen))
                })
                .collect()
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let count = rows.len();
        let registry = Arc::clone(&self.registry);
        let saved =
            tokio::task::spawn_blocking(move || registry.save_ingest(&rows).map(|()| rows)).await;
        match saved {
            Ok(Ok(_)) => Ok(count),
            Ok(Err(e)) => Err(self.redirty_after(e.into())),
            Err(e) => Err(self.redirty_after(e.into())),
        }
    }

    /// After a failed save, mark every node dirty again (cheap, rare, and never loses a row).
    fn redirty_after(&self, error: IngestError) -> IngestError {
        for state in self.lock().values_mut() {
            state.dirty |= state.last_seen.is_some();
        }
        error
    }

    /// Flush every [`FLUSH_INTERVAL`] until `shutdown`; the final flush is the caller's (after
    /// the agent API has stopped, so no report can slip in behind it).
    pub async fn run_flusher(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.flush().await {
                tracing::warn!(error = %crate::telemetry::chain(&error), "saving ingest counters failed; will retry");
            }
        }
    }
}

#[cfg(test)]
mod tests;
