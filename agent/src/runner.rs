//! `run`: load the enrollment and credentials, open the outbox, start the sampling loop and
//! the upload loop on a `TaskTracker`, and shut down in order when `shutdown` is cancelled:
//! stop sampling → finish or abandon the upload in flight (bounded grace) → close SQLite.
//!
//! The sampling loop calls the blocking [`Sampler`] through `spawn_blocking`, decides with
//! [`change::report_reason`] whether the sample is a report, and writes it to the outbox before
//! waking the uploader.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fluidos_protocol::agent::ResourceSample;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::backoff::Backoff;
use crate::change::{self, Thresholds};
use crate::collect::Sampler;
use crate::config::{Config, DEFAULT_HEARTBEAT};
use crate::outbox::{MAX_BATCH_REPORTS, OutboxError, OutboxHandle};
use crate::report::Reporter;
use crate::state::{ENROLLMENT_FILE, Enrollment, OUTBOX_FILE, StateDir, StateError, format_time};
use crate::telemetry::error_chain;
use crate::tls::{self, TlsError};
use crate::transport::{HubUrl, HubUrlError, Transport};

/// Exit code for a configuration the operator must fix (sysexits `EX_CONFIG`).
pub const EX_CONFIG: u8 = 78;

/// Why `run` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No `enrollment.json`.
    #[error("not enrolled ({}): run `fluidos-agent enroll --hub https://HOST:PORT --token TOKEN` first", .0.display())]
    NotEnrolled(PathBuf),
    /// The client certificate has expired.
    #[error(
        "client certificate expired at {not_after}; the hub will refuse it. Re-enroll with a new token: \
         fluidos-agent enroll --hub {hub} --token <new token> (mint one with fluidos-hub token create)"
    )]
    CertificateExpired {
        /// End of validity (RFC 3339).
        not_after: String,
        /// The hub URL.
        hub: String,
    },
    /// The state directory could not be read.
    #[error("cannot read the agent state")]
    State(#[from] StateError),
    /// The stored credentials are unusable.
    #[error("cannot load the agent credentials")]
    Tls(#[from] TlsError),
    /// `enrollment.json` holds a bad hub URL.
    #[error("invalid hub URL in enrollment.json")]
    Hub(#[source] HubUrlError),
    /// The outbox could not be opened.
    #[error("cannot open the outbox")]
    Outbox(#[from] OutboxError),
    /// The upload task panicked.
    #[error("the upload task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl RunError {
    /// The certificate-expired error for `enrollment`.
    pub(crate) fn expired(enrollment: &Enrollment, hub: &HubUrl) -> Self {
        Self::CertificateExpired {
            not_after: format_time(enrollment.not_after),
            hub: hub.to_string(),
        }
    }

    /// Process exit code: [`EX_CONFIG`] when the operator must re-enroll, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotEnrolled(_) | Self::CertificateExpired { .. } => EX_CONFIG,
            _ => 1,
        }
    }
}

/// Run the agent until `shutdown` is cancelled (Ok) or a fatal error (certificate expired).
pub async fn run(
    config: Config,
    sampler: Box<dyn Sampler + Send>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let state = StateDir::new(&config.state_dir);
    let (enrollment, transport) = connect(&config, &state)?;
    let outbox = OutboxHandle::open(state.path(OUTBOX_FILE), config.outbox).await?;
    info!(
        node = %enrollment.node_name,
        domain = %enrollment.domain,
        hub = %transport.hub(),
        cert_not_after = %format_time(enrollment.not_after),
        "agent running"
    );
    let (sampling, reporter) = loops(&config, state, enrollment, transport, &outbox);
    let outcome = supervise(sampler, sampling, reporter, shutdown, config.shutdown_grace).await;
    info!("closing the outbox");
    if let Err(e) = outbox.close().await {
        warn!(error = %error_chain(&e), "closing the outbox failed");
    }
    outcome
}

/// Load the enrollment and the credentials, refusing an expired certificate.
fn connect(config: &Config, state: &StateDir) -> Result<(Enrollment, Transport), RunError> {
    let enrollment = state
        .read_enrollment()?
        .ok_or_else(|| RunError::NotEnrolled(state.path(ENROLLMENT_FILE)))?;
    let hub = match &config.hub {
        Some(hub) => hub.clone(),
        None => HubUrl::parse(&enrollment.hub_url).map_err(RunError::Hub)?,
    };
    if enrollment.is_expired(OffsetDateTime::now_utc()) {
        return Err(RunError::expired(&enrollment, &hub));
    }
    let credentials = state.read_credentials()?;
    let tls = tls::mtls_config(
        &credentials.ca_pem,
        &credentials.cert_pem,
        &credentials.key_pem,
    )?;
    Ok((enrollment, Transport::new(hub, tls, config.request_timeout)))
}

/// The two loops, sharing the heartbeat (set by the operator, else by the hub) and a wake-up.
fn loops(
    config: &Config,
    state: StateDir,
    enrollment: Enrollment,
    transport: Transport,
    outbox: &OutboxHandle,
) -> (SampleLoop, Reporter) {
    let from_hub = Some(Duration::from_secs(enrollment.heartbeat_seconds)).filter(|d| !d.is_zero());
    let heartbeat = config.heartbeat.or(from_hub).unwrap_or(DEFAULT_HEARTBEAT);
    let (heartbeat_tx, heartbeat_rx) = watch::channel(heartbeat);
    let wake = Arc::new(Notify::new());
    let sampling = SampleLoop {
        outbox: outbox.clone(),
        interval: config.sample_interval,
        thresholds: config.thresholds,
        heartbeat: heartbeat_rx,
        wake: wake.clone(),
    };
    let reporter = Reporter {
        state,
        enrollment,
        transport,
        outbox: outbox.clone(),
        heartbeat: heartbeat_tx,
        heartbeat_pinned: config.heartbeat.is_some(),
        wake,
        request_timeout: config.request_timeout,
        backoff: Backoff::default(),
        renew_backoff: Backoff::default(),
        renew_not_before: None,
        batch_limit: MAX_BATCH_REPORTS,
    };
    (sampling, reporter)
}

/// Start both loops, wait for shutdown (or a fatal upload error), then stop them in order.
async fn supervise(
    sampler: Box<dyn Sampler + Send>,
    sampling: SampleLoop,
    reporter: Reporter,
    shutdown: CancellationToken,
    grace: Duration,
) -> Result<(), RunError> {
    let tracker = TaskTracker::new();
    let (sample_stop, report_stop) = (CancellationToken::new(), CancellationToken::new());
    let sampling_task = tracker.spawn(sampling.run(sampler, sample_stop.clone()));
    let mut reporting_task = tracker.spawn(reporter.run(report_stop.clone()));
    tracker.close();

    let finished_early = tokio::select! {
        () = shutdown.cancelled() => None,
        result = &mut reporting_task => Some(result),
    };
    info!("stopping sampling");
    sample_stop.cancel();
    if tokio::time::timeout(grace, sampling_task).await.is_err() {
        warn!("sampling did not stop within the grace period");
    }
    let result = match finished_early {
        Some(result) => result,
        None => {
            info!(grace = ?grace, "finishing the upload in flight");
            report_stop.cancel();
            match tokio::time::timeout(grace, &mut reporting_task).await {
                Ok(result) => result,
                Err(_) => {
                    warn!("upload still in flight after the grace period; abandoning it");
                    reporting_task.abort();
                    Ok(Ok(()))
                }
            }
        }
    };
    tracker.wait().await;
    result.map_err(RunError::Task)?
}

/// The sampling loop's inputs.
struct SampleLoop {
    outbox: OutboxHandle,
    interval: Duration,
    thresholds: Thresholds,
    heartbeat: watch::Receiver<Duration>,
    wake: Arc<Notify>,
}

impl SampleLoop {
    async fn run(self, mut sampler: Box<dyn Sampler + Send>, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last: Option<(ResourceSample, Instant)> = None;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let taken = tokio::task::spawn_blocking(move || {
                let result = sampler.sample();
                (sampler, result)
            });
            let (returned, result) = match taken.await {
                Ok(taken) => taken,
                Err(e) => {
                    error!(error = %e, "the sampler panicked; sampling stopped");
                    return;
                }
            };
            sampler = returned;
            match result {
                Ok(sample) => {
                    self.consider(sample, OffsetDateTime::now_utc(), &mut last)
                        .await
                }
                Err(e) => warn!(error = %error_chain(&e), "sampling failed"),
            }
        }
    }

    /// Queue `sample` as a report if it changed enough or the heartbeat is due.
    async fn consider(
        &self,
        sample: ResourceSample,
        sampled_at: OffsetDateTime,
        last: &mut Option<(ResourceSample, Instant)>,
    ) {
        // Half a sample interval of slack, so the heartbeat is not pushed a whole interval late.
        let due = self.heartbeat.borrow().saturating_sub(self.interval / 2);
        let since = last.as_ref().map_or(Duration::MAX, |(_, at)| at.elapsed());
        let previous = last.as_ref().map(|(s, _)| s);
        let Some(reason) = change::report_reason(previous, &sample, since, due, &self.thresholds)
        else {
            return;
        };
        match self.outbox.push(sampled_at, sample.clone()).await {
            Ok(pushed) => {
                debug!(seq = pushed.seq, reason = reason.as_str(), "report queued");
                if pushed.dropped > 0 {
                    warn!(
                        dropped = pushed.dropped,
                        "outbox bound reached: dropped the oldest reports"
                    );
                }
                *last = Some((sample, Instant::now()));
                self.wake.notify_one();
            }
            Err(e) => warn!(error = %error_chain(&e), "cannot queue a report"),
        }
    }
}
