//! `POST /v1/reports`: authorise the batch by the certificate's node, apply the sequence rule
//! (in memory), let the LRM react, and acknowledge. The LRM's store write is awaited so a
//! Flavor exists when the first ack returns, but its failure does not fail the report: the
//! counters already moved, and the LRM retries on its own.

use std::error::Error as StdError;

use fluidos_protocol::agent::{ReportAck, ReportBatch};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Body, Bytes};
use time::OffsetDateTime;

use super::error::ApiError;
use super::{AgentPeer, AppState, body};
use crate::ingest::MAX_BATCH_REPORTS;

/// `POST /v1/reports`.
pub(super) async fn reports<B>(
    state: &AppState,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let metrics = &state.metrics;
    let peer = AgentPeer::of(&req)?;
    let batch: ReportBatch = body::read_json(req)
        .await
        .inspect_err(|e| metrics.reports_rejected(e.code(), 1))?;
    check(state, &peer, &batch)?;
    let count = batch.reports.len();
    metrics.reports_received(count);
    let (outcome, revived) = state
        .ingestor
        .ingest(&peer.node, batch, OffsetDateTime::now_utc());
    metrics.reports_duplicate(outcome.duplicates);
    metrics.reports_rejected("out_of_order", outcome.stopped as usize);
    tracing::debug!(
        node = %peer.node,
        reports = count,
        accepted = outcome.accepted.len(),
        duplicates = outcome.duplicates,
        ack = outcome.ack,
        "report batch"
    );
    if revived {
        tracing::info!(node = %peer.node, "agent live");
    }
    if (revived || !outcome.accepted.is_empty())
        && let Err(error) = state.lrm.reconcile(&peer.node).await
    {
        tracing::warn!(node = %peer.node, error = %crate::telemetry::chain(&error), "Flavor update failed; will retry");
    }
    let ack = ReportAck {
        acked_seq: outcome.ack,
        accepted: u32::try_from(outcome.accepted.len()).unwrap_or(u32::MAX),
        duplicates: outcome.duplicates,
        heartbeat_seconds: state.heartbeat.as_secs(),
    };
    Ok(body::json(StatusCode::OK, &ack))
}

/// Refuse a batch for another node than the certificate's, or with too many reports.
fn check(state: &AppState, peer: &AgentPeer, batch: &ReportBatch) -> Result<(), ApiError> {
    let count = batch.reports.len();
    if batch.node_name != peer.node {
        state.metrics.reports_rejected("forbidden", count);
        tracing::warn!(node = %peer.node, claimed = %batch.node_name, "report for another node refused");
        return Err(ApiError::Forbidden("report for another node"));
    }
    if count > MAX_BATCH_REPORTS {
        state.metrics.reports_rejected("too_many_reports", count);
        return Err(ApiError::BadJson(format!(
            "a batch carries at most {MAX_BATCH_REPORTS} reports"
        )));
    }
    Ok(())
}
