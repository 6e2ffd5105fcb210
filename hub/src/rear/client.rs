//! An HTTP(S) client for REAR peers: mutual TLS with the node certificate by default, plain
//! HTTP only for explicit `http://` addresses and only when allowed.
//!
//! Every request gets its own connection (REAR calls are few; upstream Go peers close them
//! anyway) built with tokio-rustls and hyper's HTTP/1.1 connection API, so the peer's node
//! identity is read from the very TLS session that carried the answer. The whole exchange
//! (connect, handshake, request, answer, body) runs under one deadline, and the body is
//! bounded. Non-2xx answers are not errors: callers branch on [`RearResponse::status`].

mod address;
mod error;

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::trust::{NodePeer, node_of_der};
use address::PeerAddress;
pub use error::ClientError;

/// `User-Agent` of every request.
const USER_AGENT: &str = concat!("fluidos-hub/", env!("CARGO_PKG_VERSION"));

/// Limits of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// Deadline of a whole request: connect, TLS, sending, answer and reading the body.
    pub timeout: Duration,
    /// Largest answer body read, in bytes.
    pub max_body: usize,
}

/// A peer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RearResponse {
    /// HTTP status (any: callers branch on it).
    pub status: StatusCode,
    /// The whole body (at most [`ClientSettings::max_body`] bytes).
    pub body: Bytes,
    /// The node named by the server certificate; `None` over plain HTTP.
    pub peer: Option<NodePeer>,
}

/// A client for REAR peers (cheap to clone).
#[derive(Debug, Clone)]
pub struct RearClient {
    tls: Option<Arc<ClientConfig>>,
    settings: ClientSettings,
    allow_plain: bool,
}

impl RearClient {
    /// A client using `tls` (the REAR mutual-TLS configuration) for HTTPS peers; without it
    /// only plain HTTP (when allowed) is possible. Plain HTTP is refused until
    /// [`RearClient::allow_plain`].
    pub fn new(tls: Option<Arc<ClientConfig>>, settings: ClientSettings) -> Self {
        Self {
            tls,
            settings,
            allow_plain: false,
        }
    }

    /// Allow (or refuse) explicit `http://` addresses.
    #[must_use]
    pub fn allow_plain(mut self, allow: bool) -> Self {
        self.allow_plain = allow;
        self
    }

    /// Whether explicit `http://` addresses are allowed.
    pub fn plain_allowed(&self) -> bool {
        self.allow_plain
    }

    /// The request limits.
    pub fn settings(&self) -> ClientSettings {
        self.settings
    }

    /// `GET path_and_query` at the peer `address`.
    pub async fn get(
        &self,
        address: &str,
        path_and_query: &str,
    ) -> Result<RearResponse, ClientError> {
        self.send(address, Method::GET, path_and_query, None).await
    }

    /// `POST path` at the peer `address` with `body` as JSON.
    pub async fn post_json(
        &self,
        address: &str,
        path: &str,
        body: &impl Serialize,
    ) -> Result<RearResponse, ClientError> {
        let json = serde_json::to_vec(body).map_err(|e| ClientError::Request {
            url: address.to_owned(),
            reason: format!("cannot encode the JSON body: {e}"),
        })?;
        self.send(address, Method::POST, path, Some(json)).await
    }

    async fn send(
        &self,
        address: &str,
        method: Method,
        path: &str,
        json: Option<Vec<u8>>,
    ) -> Result<RearResponse, ClientError> {
        let peer = self.check_address(address)?;
        let url = peer
            .uri(path)
            .map_err(|e| ClientError::Request {
                url: format!("{address}{path}"),
                reason: e.to_string(),
            })?
            .to_string();
        let request =
            build_request(&peer, method, path, json).map_err(|e| ClientError::Request {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let timeout = self.settings.timeout;
        tokio::time::timeout(timeout, self.exchange(&peer, request, &url))
            .await
            .map_err(|_| ClientError::Timeout { url, timeout })?
    }

    fn check_address(&self, address: &str) -> Result<PeerAddress, ClientError> {
        let peer = PeerAddress::parse(address)
            .ok_or_else(|| ClientError::BadAddress(address.to_owned()))?;
        if peer.plain && !self.allow_plain {
            return Err(ClientError::PlainRefused(address.to_owned()));
        }
        if !peer.plain && self.tls.is_none() {
            return Err(ClientError::NoTls(address.to_owned()));
        }
        Ok(peer)
    }

    async fn exchange(
        &self,
        peer: &PeerAddress,
        request: Request<Full<Bytes>>,
        url: &str,
    ) -> Result<RearResponse, ClientError> {
        let tcp = TcpStream::connect((peer.host.as_str(), peer.port))
            .await
            .map_err(|source| ClientError::Connect {
                address: peer.authority.to_string(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let max_body = self.settings.max_body;
        if peer.plain {
            let (status, body) = http1(tcp, request, url, max_body).await?;
            return Ok(RearResponse {
                status,
                body,
                peer: None,
            });
        }
        let tls = self
            .tls
            .as_ref()
            .ok_or_else(|| ClientError::NoTls(peer.authority.to_string()))?;
        let (stream, node) = handshake(TlsConnector::from(Arc::clone(tls)), peer, tcp).await?;
        // With TLS 1.3 a refused client certificate shows up as an alert on the first read.
        let (status, body) = http1(stream, request, url, max_body)
            .await
            .map_err(|e| e.tls_alert_as_tls(&peer.authority))?;
        Ok(RearResponse {
            status,
            body,
            peer: Some(node),
        })
    }
}

fn build_request(
    peer: &PeerAddress,
    method: Method,
    path: &str,
    json: Option<Vec<u8>>,
) -> Result<Request<Full<Bytes>>, http::Error> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, peer.authority.as_str())
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::ACCEPT, "application/json")
        .header(header::CONNECTION, "close");
    match json {
        Some(json) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(json))),
        None => builder.body(Full::new(Bytes::new())),
    }
}

/// TLS handshake with the peer (server name = the address host), then its node identity.
async fn handshake(
    tls: TlsConnector,
    peer: &PeerAddress,
    tcp: TcpStream,
) -> Result<(tokio_rustls::client::TlsStream<TcpStream>, NodePeer), ClientError> {
    let address = peer.authority.to_string();
    let name = ServerName::try_from(peer.host.clone())
        .map_err(|_| ClientError::BadAddress(address.clone()))?;
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|source| ClientError::Tls {
            address: address.clone(),
            source: source.into(),
        })?;
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or(ClientError::NotANode {
            address: address.clone(),
            reason: "no server certificate",
        })?;
    let node = node_of_der(leaf).map_err(|reason| ClientError::NotANode { address, reason })?;
    Ok((stream, node))
}

/// One HTTP/1.1 exchange on `io`, reading at most `max_body` bytes of answer.
async fn http1<S>(
    io: S,
    request: Request<Full<Bytes>>,
    url: &str,
    max_body: usize,
) -> Result<(StatusCode, Bytes), ClientError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let http_error = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Http {
        url: url.to_owned(),
        source,
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| http_error(e.into()))?;
    // The connection task ends with the request; abort it if we are dropped (deadline).
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| http_error(e.into()))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), max_body)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                ClientError::BodyTooLarge {
                    url: url.to_owned(),
                    limit: max_body,
                }
            } else {
                http_error(e)
            }
        })?
        .to_bytes();
    Ok((status, body))
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
