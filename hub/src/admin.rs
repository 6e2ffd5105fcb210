//! The admin port: plain HTTP, meant for an internal address. `GET /healthz` (the process
//! answers), `GET /readyz` (the agent listener is bound and the store open; 503 while starting
//! or draining) and `GET /metrics` (OpenMetrics text). No agent or FLUIDOS data is served here.

pub mod metrics;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::shutdown;

pub use metrics::Metrics;

/// Time a client gets to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the admin endpoints read.
#[derive(Debug)]
pub struct AdminState {
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// Readiness, set by the server once it serves and cleared when it drains.
    pub ready: Arc<AtomicBool>,
}

/// Answer one admin request (no body is read).
pub fn respond(state: &AdminState, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let is_get = method == Method::GET || method == Method::HEAD;
    match path {
        "/healthz" | "/readyz" | "/metrics" if !is_get => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if state.ready.load(Ordering::Acquire) => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        "/metrics" => match state.metrics.encode() {
            Ok(body) => with_type(StatusCode::OK, metrics::CONTENT_TYPE, body),
            Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n"),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    with_type(status, "text/plain; charset=utf-8", body.to_owned())
}

fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// Serve the admin port on `listener` until `shutdown`, then drain for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    loop {
        let Some((tcp, remote)) = shutdown::accept(&listener, &shutdown, "admin").await else {
            break;
        };
        let state = Arc::clone(&state);
        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
            let response = respond(&state, req.method(), req.uri().path());
            async move { Ok::<_, Infallible>(response) }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(
            async move {
                if let Err(error) = conn.await {
                    tracing::debug!(%error, "admin connection ended with an error");
                }
            }
            .instrument(tracing::debug_span!("admin_conn", client = %remote)),
        );
    }
    shutdown::drain(graceful, grace, "admin").await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Ingestor;
    use crate::registry::Registry;
    use crate::store::{DB_FILE, SqliteStore, Store};

    async fn state(dir: &std::path::Path) -> AdminState {
        let registry = Arc::new(Registry::open(&dir.join(DB_FILE)).unwrap());
        let store: Arc<dyn Store> = SqliteStore::open(&dir.join(DB_FILE)).unwrap();
        let ingestor = Arc::new(Ingestor::load(registry).await.unwrap());
        AdminState {
            metrics: Arc::new(Metrics::new(store, ingestor)),
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    #[tokio::test]
    async fn health_readiness_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path()).await;
        assert_eq!(
            respond(&state, &Method::GET, "/healthz").status(),
            StatusCode::OK
        );
        assert_eq!(
            respond(&state, &Method::GET, "/readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        state.ready.store(true, Ordering::Release);
        assert_eq!(
            respond(&state, &Method::GET, "/readyz").status(),
            StatusCode::OK
        );
        assert_eq!(
            respond(&state, &Method::POST, "/healthz").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            respond(&state, &Method::GET, "/nope").status(),
            StatusCode::NOT_FOUND
        );

        state.metrics.request("reports", Duration::from_millis(2));
        state.metrics.reports_rejected("forbidden", 2);
        state.metrics.enrollment("token_used");
        let response = respond(&state, &Method::GET, "/metrics");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            metrics::CONTENT_TYPE
        );
        let text = state.metrics.encode().unwrap();
        for line in [
            "fluidos_hub_reports_received_total 0",
            "fluidos_hub_reports_rejected_total{reason=\"forbidden\"} 2",
            "fluidos_hub_reports_duplicate_total 0",
            "fluidos_hub_agents_live 0",
            "fluidos_hub_agents_lost 0",
            "fluidos_hub_store_writes_total 0",
            "fluidos_hub_enrollments_total{result=\"token_used\"} 1",
            "fluidos_hub_request_duration_seconds_bucket{le=\"0.0005\",route=\"reports\"} 0",
            "fluidos_hub_request_duration_seconds_count{route=\"reports\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
