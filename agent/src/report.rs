//! The upload loop: the oldest reports in batches (≤ 256) → `POST /v1/reports` → delete up to
//! `ReportAck.acked_seq` → repeat; idle until a new report is queued. Delivery is at least
//! once; the hub deduplicates by seq.
//!
//! On any error: record it, drop the client's pooled connections (a link that flapped may
//! leave a connection that looks open but is dead), and wait a full-jitter backoff (reset on
//! success). The loop also renews the client certificate when due and stops with
//! [`RunError::CertificateExpired`] once it has expired. It is stopped between requests: an
//! upload in flight is finished, or abandoned by the runner after the grace period.

use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::PATH_REPORTS;
use fluidos_protocol::agent::ReportAck;
use http::StatusCode;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, warn};

use crate::backoff::Backoff;
use crate::outbox::{MAX_BATCH_REPORTS, OutboxError, OutboxHandle};
use crate::renew;
use crate::runner::RunError;
use crate::state::{Enrollment, StateDir, format_time};
use crate::telemetry::error_chain;
use crate::transport::{Transport, TransportError};

/// Longest idle wait before re-checking renewal and expiry.
const MAX_IDLE: Duration = Duration::from_secs(3600);

/// Why one upload round failed (always retried).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request failed or the hub refused the batch.
    #[error("upload failed")]
    Transport(#[from] TransportError),
    /// The outbox failed.
    #[error("outbox failure")]
    Outbox(#[from] OutboxError),
    /// The hub acknowledged nothing of the batch.
    #[error("the hub acknowledged seq {acked} but the batch starts at {first}; retrying later")]
    Stalled {
        /// `ReportAck.acked_seq`.
        acked: u64,
        /// First seq of the batch.
        first: u64,
    },
}

enum Progress {
    /// Nothing left to send.
    Idle,
    /// Sent something; there may be more.
    More,
}

/// State of the upload loop.
pub(crate) struct Reporter {
    pub(crate) state: StateDir,
    pub(crate) enrollment: Enrollment,
    pub(crate) transport: Transport,
    pub(crate) outbox: OutboxHandle,
    /// Current heartbeat, shared with the sampling loop.
    pub(crate) heartbeat: watch::Sender<Duration>,
    /// The operator set the heartbeat: ignore the hub's.
    pub(crate) heartbeat_pinned: bool,
    /// Notified when a report is queued.
    pub(crate) wake: Arc<Notify>,
    pub(crate) request_timeout: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) renew_backoff: Backoff,
    pub(crate) renew_not_before: Option<Instant>,
    pub(crate) batch_limit: usize,
}

impl Reporter {
    /// Upload until `stop` is cancelled (Ok) or the certificate expires (Err).
    pub(crate) async fn run(mut self, stop: CancellationToken) -> Result<(), RunError> {
        while !stop.is_cancelled() {
            let now = OffsetDateTime::now_utc();
            if self.enrollment.is_expired(now) {
                return Err(RunError::expired(&self.enrollment, self.transport.hub()));
            }
            if renew::due(&self.enrollment, now) {
                self.renew().await;
            }
            let keep_going = match self.upload_once().await {
                Ok(Progress::More) => true,
                Ok(Progress::Idle) => self.idle(&stop).await,
                Err(e) => {
                    let delay = self.on_error(&e).await;
                    sleep_unless_stopped(delay, &stop).await
                }
            };
            if !keep_going {
                break;
            }
        }
        Ok(())
    }

    async fn upload_once(&mut self) -> Result<Progress, ReportError> {
        let Some(batch) = self.outbox.next_batch(self.batch_limit).await? else {
            return Ok(Progress::Idle);
        };
        let (first, last, count) = (batch.resume_from(), batch.last_seq(), batch.reports.len());
        let body = batch.into_report_batch(self.enrollment.node_name.clone());
        let span = tracing::debug_span!("upload", first, last, reports = count);
        let sent = self
            .transport
            .post_json(PATH_REPORTS, &body)
            .instrument(span)
            .await;
        let ack: ReportAck = match sent {
            Ok(ack) => ack,
            Err(e) if is_too_large(&e) && count == 1 => {
                // One report the hub will never take: drop it rather than block the queue.
                warn!(
                    seq = first,
                    "the hub refuses this report as too large; dropping it"
                );
                self.outbox.drop_reports(vec![first]).await?;
                return Ok(Progress::More);
            }
            Err(e) => {
                if is_too_large(&e) {
                    self.batch_limit = (count / 2).max(1);
                }
                return Err(e.into());
            }
        };
        self.acknowledged(&ack, first, last).await
    }

    /// Apply an ack of the batch `first..=last`.
    async fn acknowledged(
        &mut self,
        ack: &ReportAck,
        first: u64,
        last: u64,
    ) -> Result<Progress, ReportError> {
        self.outbox
            .ack(ack.acked_seq, OffsetDateTime::now_utc())
            .await?;
        self.backoff.reset();
        self.batch_limit = MAX_BATCH_REPORTS;
        self.adopt_heartbeat(ack.heartbeat_seconds);
        let (acked, accepted, duplicates) = (ack.acked_seq, ack.accepted, ack.duplicates);
        debug!(acked, accepted, duplicates, "batch acknowledged");
        if acked > last {
            warn!(
                acked,
                last,
                "the hub has later reports than this outbox (outbox reset?); continuing after them"
            );
        }
        if acked < first {
            return Err(ReportError::Stalled { acked, first });
        }
        Ok(Progress::More)
    }

    /// Wait for a new report, the next renewal check, or `stop` (false).
    async fn idle(&self, stop: &CancellationToken) -> bool {
        let now = OffsetDateTime::now_utc();
        let until = |t: OffsetDateTime| Duration::try_from(t - now).unwrap_or(Duration::ZERO);
        let until_renewal = match self.renew_not_before {
            Some(retry) if renew::due(&self.enrollment, now) => {
                retry.saturating_duration_since(Instant::now())
            }
            _ => until(renew::renew_at(
                self.enrollment.issued_at,
                self.enrollment.not_after,
            )),
        };
        let wait = until_renewal
            .min(until(self.enrollment.not_after))
            .clamp(Duration::from_secs(1), MAX_IDLE);
        tokio::select! {
            () = stop.cancelled() => false,
            () = self.wake.notified() => true,
            () = tokio::time::sleep(wait) => true,
        }
    }

    /// Log and record a failed round, reset the connections; returns the delay before retrying.
    async fn on_error(&mut self, e: &ReportError) -> Duration {
        let delay = self.backoff.next_delay();
        let text = error_chain(e);
        let code = match e {
            ReportError::Transport(t) => t.hub_code().unwrap_or_default(),
            _ => "",
        };
        if code == "forbidden" {
            error!(error = %text, retry_in = ?delay, "the hub refuses this agent's certificate (revoked?); if it persists, re-enroll with a new token");
        } else {
            warn!(error = %text, attempt = self.backoff.attempts(), retry_in = ?delay, "upload failed; reports stay queued");
        }
        if let Err(e) = self.outbox.record_error(text).await {
            warn!(error = %error_chain(&e), "cannot record the upload error");
        }
        self.transport.reset();
        delay
    }

    fn adopt_heartbeat(&self, seconds: u64) {
        if self.heartbeat_pinned || seconds == 0 {
            return;
        }
        let new = Duration::from_secs(seconds);
        if self
            .heartbeat
            .send_if_modified(|current| std::mem::replace(current, new) != new)
        {
            info!(heartbeat = ?new, "following the hub's heartbeat");
        }
    }

    /// Try to renew; on failure retry later with backoff while the current certificate lasts.
    async fn renew(&mut self) {
        if self.renew_not_before.is_some_and(|t| Instant::now() < t) {
            return;
        }
        match renew::renew(&self.state, &self.transport, &self.enrollment).await {
            Ok((enrollment, config)) => {
                info!(node = %enrollment.node_name, not_after = %format_time(enrollment.not_after), "client certificate renewed");
                self.transport =
                    Transport::new(self.transport.hub().clone(), config, self.request_timeout);
                self.adopt_heartbeat(enrollment.heartbeat_seconds);
                self.enrollment = enrollment;
                self.renew_backoff.reset();
                self.renew_not_before = None;
            }
            Err(e) => {
                let delay = self.renew_backoff.next_delay().max(Duration::from_secs(1));
                warn!(error = %error_chain(&e), not_after = %format_time(self.enrollment.not_after), retry_in = ?delay, "certificate renewal failed");
                self.renew_not_before = Some(Instant::now() + delay);
                self.transport.reset();
            }
        }
    }
}

fn is_too_large(e: &TransportError) -> bool {
    matches!(
        e,
        TransportError::Hub {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            ..
        }
    )
}

/// Sleep `delay` unless `stop` fires first (false).
async fn sleep_unless_stopped(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}
