//! The REAR gateway: HTTPS with mutual TLS (the caller is the node its certificate names), or
//! an opt-in plain-HTTP listener for stock upstream peers (no caller identity, upstream's
//! behaviour). Routes and status codes follow upstream (§2.3 of the reference); errors carry
//! a JSON body `{"error","code"}` with a useful message.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::rear::{
    PATH_FLAVORS, PATH_FLAVORS_K8SLICE, PATH_FLAVORS_SERVICE, PATH_RESERVATIONS,
    purchase_transaction_id,
};
use fluidos_protocol::selector::{Matcher, parse_k8slice_query, parse_service_query};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::provider::{ListKind, Provider, RearError};
use super::trust::{NodePeer, peer_node};
use crate::api::body::{json, read_json};
use crate::api::error::ApiError;
use crate::shutdown;

/// TLS handshakes that take longer are dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle keep-alive connections are closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Who is calling.
#[derive(Debug, Clone)]
enum Caller {
    /// Mutual TLS: the node the certificate names, or why it names none.
    Tls(Result<NodePeer, &'static str>),
    /// The opt-in plain-HTTP listener.
    Plain,
}

/// Serve REAR on `listener` (mutual TLS with `tls`, or plain HTTP when `None`) until
/// `shutdown`, then let open requests finish for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    provider: Arc<Provider>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(IDLE_TIMEOUT);
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        let Some((tcp, remote)) = shutdown::accept(&listener, &shutdown, "REAR").await else {
            break;
        };
        let _ = tcp.set_nodelay(true);
        let span = tracing::info_span!("rear_conn", client = %remote);
        let conn = connection(
            tcp,
            acceptor.clone(),
            Arc::clone(&provider),
            http.clone(),
            graceful.watcher(),
        );
        tokio::spawn(conn.instrument(span));
    }
    shutdown::drain(graceful, grace, "REAR").await;
}

async fn connection(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    provider: Arc<Provider>,
    http: http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let Some(acceptor) = acceptor else {
        let conn = http.serve_connection(TokioIo::new(tcp), service(provider, Caller::Plain));
        if let Err(error) = watcher.watch(conn).await {
            tracing::debug!(%error, "REAR connection ended with an error");
        }
        return;
    };
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::info!(%error, "REAR TLS handshake refused");
            return;
        }
        Err(_) => {
            tracing::debug!("REAR TLS handshake timed out");
            return;
        }
    };
    let caller = Caller::Tls(peer_node(stream.get_ref().1));
    let conn = http.serve_connection(TokioIo::new(stream), service(provider, caller));
    if let Err(error) = watcher.watch(conn).await {
        tracing::debug!(%error, "REAR connection ended with an error");
    }
}

type Reply = Response<Full<Bytes>>;

fn service(
    provider: Arc<Provider>,
    caller: Caller,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Reply,
    Error = Infallible,
    Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, Infallible>> + Send>>,
> + Clone {
    service_fn(move |req: Request<Incoming>| {
        let provider = Arc::clone(&provider);
        let caller = caller.clone();
        Box::pin(async move { Ok::<_, Infallible>(handle(&provider, &caller, req).await) })
            as std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<Reply, Infallible>> + Send>,
            >
    })
}

/// One request: identity check, routing, and the error mapping.
async fn handle(provider: &Provider, caller: &Caller, req: Request<Incoming>) -> Reply {
    let peer = match caller {
        Caller::Tls(Ok(peer)) => Some(peer),
        Caller::Tls(Err(why)) => {
            return error(&RearError::Forbidden(format!("not a FLUIDOS node: {why}")));
        }
        Caller::Plain => None,
    };
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let query = req.uri().query().unwrap_or("").to_owned();
    let reply = match (method.clone(), path.as_str()) {
        (Method::GET, PATH_FLAVORS) => list(provider, ListKind::All),
        (Method::GET, PATH_FLAVORS_K8SLICE) => match parse_k8slice_query(&query)
            .map_err(|e| e.to_string())
            .and_then(|f| Matcher::k8slice(&f).map_err(|e| e.to_string()))
        {
            Ok(m) => list(provider, ListKind::K8Slice(m)),
            Err(msg) => error(&RearError::BadRequest(msg)),
        },
        (Method::GET, PATH_FLAVORS_SERVICE) => match parse_service_query(&query)
            .map_err(|e| e.to_string())
            .and_then(|f| Matcher::service(&f).map_err(|e| e.to_string()))
        {
            Ok(m) => list(provider, ListKind::Service(m)),
            Err(msg) => error(&RearError::BadRequest(msg)),
        },
        (Method::POST, PATH_RESERVATIONS) => match read_json(req).await {
            Ok(body) => result(provider.reserve(peer, body).await),
            Err(e) => api_error(e),
        },
        (Method::POST, p) if purchase_transaction_id(p).is_some() => {
            let id = purchase_transaction_id(p).unwrap_or_default().to_owned();
            match read_json(req).await {
                Ok(body) => result(provider.purchase(peer, &id, body).await),
                Err(e) => api_error(e),
            }
        }
        (_, p) if known_path(p) => api_error(ApiError::MethodNotAllowed),
        _ => api_error(ApiError::NotFound),
    };
    tracing::debug!(%method, %path, status = reply.status().as_u16(), caller = ?peer, "REAR request");
    reply
}

fn known_path(path: &str) -> bool {
    [
        PATH_FLAVORS,
        PATH_FLAVORS_K8SLICE,
        PATH_FLAVORS_SERVICE,
        PATH_RESERVATIONS,
    ]
    .contains(&path)
        || purchase_transaction_id(path).is_some()
}

/// 200 with the array, or 204 when `GET /api/v2/flavors` has nothing (as upstream).
fn list(provider: &Provider, kind: ListKind) -> Reply {
    let all = matches!(kind, ListKind::All);
    let (body, count) = provider.list(&kind);
    let status = if all && count == 0 {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let body = if status == StatusCode::NO_CONTENT {
        Bytes::new()
    } else {
        body
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn result<T: serde::Serialize>(r: Result<T, RearError>) -> Reply {
    match r {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => error(&e),
    }
}

fn error(e: &RearError) -> Reply {
    if e.status().is_server_error() {
        tracing::error!(error = %crate::telemetry::chain(e), "REAR request failed");
    } else {
        tracing::info!(error = %e, code = e.code(), "REAR request refused");
    }
    let body = fluidos_protocol::agent::ErrorBody {
        error: crate::telemetry::chain(e),
        code: e.code().to_owned(),
    };
    json(e.status(), &body)
}

fn api_error(e: ApiError) -> Reply {
    e.into_response()
}
