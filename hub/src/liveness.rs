//! Agent liveness: a node is **lost** when it has not reported for more than three heartbeat
//! intervals. [`classify`] is the pure rule; [`run`] is the sweeper that applies it every half
//! heartbeat and asks the LRM to mark lost nodes' Flavors unavailable.
//!
//! Coming back is not handled here: the report path marks a node live again and the LRM flips
//! its Flavor at once.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::ingest::Ingestor;
use crate::lrm::Lrm;

/// Missed heartbeats after which a node is lost.
pub const LOST_AFTER_HEARTBEATS: u32 = 3;

/// Whether a node counts as reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Seen within the last three heartbeats.
    Live,
    /// Never seen, or silent for more than three heartbeats.
    Lost,
}

/// Classify a node last seen at `last_seen` (`None`: never).
pub fn classify(
    last_seen: Option<OffsetDateTime>,
    now: OffsetDateTime,
    heartbeat: Duration,
) -> Liveness {
    let Some(last_seen) = last_seen else {
        return Liveness::Lost;
    };
    let limit = heartbeat.saturating_mul(LOST_AFTER_HEARTBEATS);
    // A clock that went backwards gives a negative age, which counts as just seen.
    let age = Duration::try_from(now - last_seen).unwrap_or(Duration::ZERO);
    if age > limit {
        Liveness::Lost
    } else {
        Liveness::Live
    }
}

/// Sweep every `heartbeat / 2`, first after a grace of three heartbeats (nodes loaded from disk
/// get that long to report again), until `shutdown`.
pub async fn run(
    ingestor: Arc<Ingestor>,
    lrm: Arc<Lrm>,
    heartbeat: Duration,
    shutdown: CancellationToken,
) {
    let period = (heartbeat / 2).max(Duration::from_millis(100));
    let grace = heartbeat.saturating_mul(LOST_AFTER_HEARTBEATS);
    let mut tick = tokio::time::interval_at(Instant::now() + grace, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let sweep = ingestor.sweep(OffsetDateTime::now_utc(), heartbeat);
        for node in sweep.newly_lost {
            tracing::info!(node = %node, "agent lost: no report for three heartbeats");
            if let Err(error) = lrm.reconcile(&node).await {
                tracing::warn!(node = %node, error = %crate::telemetry::chain(&error), "cannot mark Flavor unavailable");
            }
        }
        // Store writes that failed on the report path or above are retried here.
        lrm.retry_failed().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Duration = Duration::from_secs(10);

    #[test]
    fn a_node_is_live_up_to_three_heartbeats() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(classify(Some(now), now, H), Liveness::Live);
        assert_eq!(
            classify(Some(now - time::Duration::seconds(30)), now, H),
            Liveness::Live
        );
        assert_eq!(
            classify(Some(now - time::Duration::milliseconds(30_001)), now, H),
            Liveness::Lost
        );
    }

    #[test]
    fn never_seen_is_lost_and_a_future_timestamp_is_live() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(classify(None, now, H), Liveness::Lost);
        assert_eq!(
            classify(Some(now + time::Duration::hours(1)), now, H),
            Liveness::Live
        );
    }

    #[test]
    fn huge_heartbeats_do_not_overflow() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(classify(Some(now), now, Duration::MAX), Liveness::Live);
    }
}
