//! The agent API: one TLS port. Each connection's ClientHello is read first
//! (`LazyConfigAcceptor`): the enrollment ALPN gets a server-only TLS config and the enrollment
//! routes; anything else must present a client certificate issued by the hub CA and gets the
//! report and renewal routes. After the handshake the peer's identity (or why it is refused) is
//! attached to every request as a [`ConnInfo`] extension; handlers authorize by it only.
//!
//! This module owns sockets and connection lifetimes; routing and handlers live in
//! [`router`], and nothing here reads request bodies.
//!
//! Idle keep-alive connections hold only their TLS stream: a hyper connection (with its read and
//! write buffers) exists only while a request is being served (see `api/idle.rs`).

pub(crate) mod body;
mod enroll;
pub mod error;
mod idle;
mod report;
pub mod revocation;
pub mod router;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Body, Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::admin::Metrics;
use crate::hub_identity::HubIdentity;
use crate::ingest::Ingestor;
use crate::lrm::Lrm;
use crate::pki::Pki;
use crate::registry::Registry;
use crate::shutdown;

pub use revocation::Revocations;
pub use tls::TlsConfigs;

/// Time a client gets to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Shortest idle/header timeout of a connection (see [`idle_timeout`]).
const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time spent closing a finished connection cleanly.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the handlers share.
pub struct AppState {
    /// The hub's node identity (domain of accepted agents, `hub` in certificate responses).
    pub identity: HubIdentity,
    /// The CA, for signing agent CSRs.
    pub pki: Arc<Pki>,
    /// Tokens, certificates, revocations.
    pub registry: Arc<Registry>,
    /// Report bookkeeping.
    pub ingestor: Arc<Ingestor>,
    /// Flavor writer.
    pub lrm: Arc<Lrm>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Revoked certificate serials, refreshed from the registry.
    pub revocations: Revocations,
    /// Heartbeat interval returned to agents.
    pub heartbeat: Duration,
    /// Validity of issued agent certificates.
    pub cert_validity: Duration,
    /// The two TLS configurations.
    pub tls: TlsConfigs,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// What the TLS handshake established about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Enrollment ALPN, no client certificate.
    Enroll,
    /// Mutual TLS: the agent, or why its (CA-verified) certificate is not acceptable.
    Agent(Result<AgentPeer, &'static str>),
}

/// An agent identified by its client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPeer {
    /// Node name from the URI SAN.
    pub node: String,
    /// Certificate serial (lowercase hex), checked against revocations on every request.
    pub serial_hex: String,
}

impl AgentPeer {
    /// The caller's identity, attached to the request by the connection (403 when absent).
    fn of<B>(req: &Request<B>) -> Result<Self, error::ApiError> {
        req.extensions()
            .get::<Self>()
            .cloned()
            .ok_or(error::ApiError::Forbidden("no agent identity"))
    }
}

/// Per-connection facts, attached to every request as an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Client address (logging only: never used for authorization).
    pub remote: SocketAddr,
    /// TLS mode and identity.
    pub mode: Mode,
}

/// The future answering one request. Boxed: hyper keeps a slot for the in-flight future in
/// every connection (allocated when the connection starts), so an unboxed handler future would
/// cost its full size on every idle keep-alive connection.
type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

/// Idle keep-alive connections are closed after this long. hyper's header-read timeout also
/// runs while a keep-alive connection waits for its next request, so it must comfortably
/// exceed the heartbeat or agents would reconnect (a full TLS handshake) for every report.
pub fn idle_timeout(heartbeat: Duration) -> Duration {
    MIN_IDLE_TIMEOUT.max(heartbeat.saturating_mul(3))
}

/// Accept agent connections on `listener` until `shutdown`, then let open connections finish
/// their requests for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // Responses are small: copying the body behind the head (instead of queueing it for a
    // vectored write) costs nothing and spares every connection a write queue allocation.
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout(state.heartbeat))
        .writev(false);
    loop {
        let Some((tcp, remote)) = shutdown::accept(&listener, &shutdown, "agent API").await else {
            break;
        };
        // Reports are small request/response exchanges: do not let Nagle delay them.
        let _ = tcp.set_nodelay(true);
        let span =
            tracing::info_span!("agent_conn", client = %remote, identity = tracing::field::Empty);
        let conn = connection(
            Arc::clone(&state),
            http.clone(),
            tcp,
            remote,
            graceful.watcher(),
            shutdown.clone(),
        );
        tokio::spawn(conn.instrument(span));
    }
    tracing::info!(connections = graceful.count(), "agent API draining");
    shutdown::drain(graceful, grace, "agent API").await;
}

async fn connection(
    state: Arc<AppState>,
    http: http1::Builder,
    tcp: TcpStream,
    remote: SocketAddr,
    watcher: Watcher,
    shutdown: CancellationToken,
) {
    // Boxed, like the HTTP connection below, so that the task itself stays small and the
    // handshake's state is freed once it is done instead of staying part of every idle task.
    let handshake = tokio::select! {
        () = shutdown.cancelled() => return,
        result = tokio::time::timeout(HANDSHAKE_TIMEOUT, Box::pin(handshake(&state.tls, tcp))) => result,
    };
    let (stream, enroll) = match handshake {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => {
            tracing::debug!(%error, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return;
        }
    };
    let mode = if enroll {
        Mode::Enroll
    } else {
        Mode::Agent(tls::check_peer(stream.get_ref().1, &state.identity.domain))
    };
    record_identity(&mode);
    let info = ConnInfo { remote, mode };
    // Kept for the whole connection: `serve` waits for every watcher when it drains.
    let _watcher = watcher;
    let idle = idle_timeout(state.heartbeat);
    let flags = Arc::new(idle::Flags::default());
    let mut io = idle::Rewind::new(stream, Arc::clone(&flags));
    loop {
        if io.pre.is_empty() {
            // Idle: only the TLS stream is kept until the next request starts.
            let mut first = [0u8; 1];
            let read = tokio::select! {
                () = shutdown.cancelled() => None,
                read = tokio::time::timeout(idle, io.stream.read(&mut first)) => Some(read),
            };
            match read {
                Some(Ok(Ok(1))) => io.pre = Bytes::copy_from_slice(&first),
                Some(Ok(Ok(_))) => return,
                Some(Ok(Err(error))) => {
                    tracing::debug!(%error, "agent connection read failed");
                    return;
                }
                Some(Err(_)) | None => {
                    close(io).await;
                    return;
                }
            }
        }
        let service = {
            let state = Arc::clone(&state);
            let info = info.clone();
            let flags = Arc::clone(&flags);
            service_fn(move |req: Request<Incoming>| -> HandlerFuture {
                let state = Arc::clone(&state);
                let flags = Arc::clone(&flags);
                flags.request(req.body().is_end_stream());
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(info.clone());
                let req = Request::from_parts(parts, idle::Tracked::new(body, Arc::clone(&flags)));
                Box::pin(async move {
                    let response = router::handle(&state, req).await;
                    flags.responded();
                    Ok(response)
                })
            })
        };
        match Box::pin(exchange(&http, io, service, &flags, &shutdown)).await {
            Some(back) => io = back,
            None => return,
        }
    }
}

/// How one hyper connection ended.
enum Ended {
    /// Idle after a clean exchange: the stream can wait for the next request.
    Idle,
    /// hyper finished the connection (client asked to close, error, unread body, shutdown).
    Done(hyper::Result<()>),
}

/// Serve requests on `io` with a fresh hyper connection until it is idle again (the stream is
/// handed back, with any bytes hyper read ahead) or finished (the stream is closed: `None`).
async fn exchange<S>(
    http: &http1::Builder,
    io: idle::Rewind,
    service: S,
    flags: &idle::Flags,
    shutdown: &CancellationToken,
) -> Option<idle::Rewind>
where
    S: hyper::service::Service<
            Request<Incoming>,
            Response = Response<Full<Bytes>>,
            Error = Infallible,
            Future = HandlerFuture,
        > + Unpin,
{
    flags.reset();
    let mut conn = http.serve_connection(TokioIo::new(io), service);
    let mut cancelled = std::pin::pin!(shutdown.cancelled());
    let mut draining = false;
    let ended = std::future::poll_fn(|cx| {
        if !draining && cancelled.as_mut().poll(cx).is_ready() {
            // Same as hyper's graceful shutdown: an idle connection closes, a request in
            // flight is answered with `Connection: close`.
            draining = true;
            flags.drain();
            Pin::new(&mut conn).graceful_shutdown();
        }
        match conn.poll_without_shutdown(cx) {
            Poll::Ready(result) => Poll::Ready(Ended::Done(result)),
            Poll::Pending if !draining && flags.idle() => Poll::Ready(Ended::Idle),
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
    match ended {
        Ended::Idle => {
            // hyper waits for a request head with nothing buffered to write: stopping it now
            // closes it at once, without a `Connection: close` on any response.
            Pin::new(&mut conn).graceful_shutdown();
            let stopped = std::future::poll_fn(|cx| {
                Poll::Ready(match conn.poll_without_shutdown(cx) {
                    Poll::Ready(result) => Some(result),
                    Poll::Pending => None,
                })
            })
            .await;
            match stopped {
                Some(Ok(())) => {
                    let parts = conn.into_parts();
                    let mut io = parts.io.into_inner();
                    // `read_buf` shares hyper's whole read buffer: keep a copy of what is
                    // left in it (usually nothing), not the buffer.
                    io.pre = if parts.read_buf.is_empty() {
                        Bytes::new()
                    } else {
                        Bytes::copy_from_slice(&parts.read_buf)
                    };
                    Some(io)
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "agent connection ended with an error");
                    None
                }
                None => {
                    tracing::warn!("agent connection did not stop when idle; closing it");
                    None
                }
            }
        }
        Ended::Done(result) => {
            if let Err(error) = &result {
                tracing::debug!(%error, "agent connection ended with an error");
            }
            close(conn.into_parts().io.into_inner()).await;
            None
        }
    }
}

/// Close the stream (TLS close_notify, then TCP shutdown), giving up after a short while.
async fn close(mut io: idle::Rewind) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, io.stream.shutdown()).await;
}

/// Complete the handshake with the configuration the ClientHello asks for; `true` when it is
/// an enrollment connection. The stream is boxed: it is large, and the connection task would
/// otherwise carry room for it on top of the HTTP connection that ends up owning it.
async fn handshake(
    tls: &TlsConfigs,
    tcp: TcpStream,
) -> std::io::Result<(Box<TlsStream<TcpStream>>, bool)> {
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
    let enroll = tls::wants_enrollment(&start.client_hello());
    let config = if enroll {
        Arc::clone(&tls.enroll)
    } else {
        Arc::clone(&tls.agent)
    };
    Ok((Box::new(start.into_stream(config).await?), enroll))
}

fn record_identity(mode: &Mode) {
    let span = tracing::Span::current();
    match mode {
        Mode::Enroll => span.record("identity", "enrollment"),
        Mode::Agent(Ok(peer)) => span.record("identity", peer.node.as_str()),
        Mode::Agent(Err(reason)) => {
            tracing::info!(reason, "client certificate refused; answering 403");
            span.record("identity", "refused")
        }
    };
}

#[cfg(test)]
mod tls_tests;
