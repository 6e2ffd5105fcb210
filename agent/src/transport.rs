//! HTTPS to the hub: the hyper client, JSON request helpers and the mapping of the hub's
//! `ErrorBody {error, code}` answers to [`TransportError`].
//!
//! The connection must notice a dead link ("connected but dead" after a link flap): TCP
//! keepalive (15 s idle, 5 s × 3 probes), `TCP_USER_TIMEOUT` on Linux, a connect timeout, and a
//! timeout around every whole request (sending, answer, body). Callers rebuild the client with
//! [`Transport::reset`] after any error so no pooled connection to a dead peer is reused.
//! This module knows nothing about reports or enrollment.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use fluidos_protocol::agent::ErrorBody;
use http::uri::{Authority, Scheme};
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest answer body read from the hub.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Idle time before the first TCP keepalive probe.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
/// Interval between keepalive probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Unanswered probes before the kernel drops the connection.
const KEEPALIVE_RETRIES: u32 = 3;
/// Longest time sent data may stay unacknowledged (Linux `TCP_USER_TIMEOUT`), matching the
/// keepalive budget above.
#[cfg(any(target_os = "linux", target_os = "android"))]
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// `User-Agent` of every request.
const USER_AGENT: &str = concat!("fluidos-agent/", env!("CARGO_PKG_VERSION"));

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An `https://host[:port]` hub address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUrl {
    authority: Authority,
}

/// Why a string is not a hub URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubUrlError {
    /// Not a URI.
    #[error("hub URL {0:?} is not a valid URL")]
    Invalid(String),
    /// Not https, or has a path or query.
    #[error("hub URL {0:?} must be of the form https://HOST[:PORT]")]
    Shape(String),
}

impl HubUrl {
    /// Parse `https://host[:port]` (a trailing `/` is accepted).
    pub fn parse(s: &str) -> Result<Self, HubUrlError> {
        let uri: Uri = s.parse().map_err(|_| HubUrlError::Invalid(s.to_owned()))?;
        let path_ok = uri
            .path_and_query()
            .is_none_or(|pq| pq.as_str() == "/" || pq.as_str().is_empty());
        let shape_ok = uri.scheme() == Some(&Scheme::HTTPS)
            && path_ok
            && uri.host().is_some_and(|h| !h.is_empty());
        match uri.into_parts().authority {
            Some(authority) if shape_ok && !authority.as_str().contains('@') => {
                Ok(Self { authority })
            }
            _ => Err(HubUrlError::Shape(s.to_owned())),
        }
    }

    /// The host (the TLS server name; IP addresses allowed).
    pub fn host(&self) -> &str {
        self.authority.host()
    }

    /// `https://authority{path}`.
    pub fn endpoint(&self, path: &str) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(Scheme::HTTPS)
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
    }
}

impl fmt::Display for HubUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "https://{}", self.authority)
    }
}

impl FromStr for HubUrl {
    type Err = HubUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a request to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No complete answer within the request timeout.
    #[error("request to {url} timed out after {}", humantime::format_duration(*.timeout))]
    Timeout {
        /// The request URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// Connecting, the TLS handshake or the HTTP exchange failed.
    #[error("request to {url} failed")]
    Request {
        /// The request URL.
        url: String,
        /// The client error (its chain holds the IO or TLS cause).
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// The answer body could not be read (or was larger than [`MAX_RESPONSE_BYTES`]).
    #[error("cannot read the answer from {url}")]
    Body {
        /// The request URL.
        url: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The hub answered with an error status.
    #[error("hub answered {status} ({code}): {message}")]
    Hub {
        /// HTTP status.
        status: StatusCode,
        /// `ErrorBody.code`, or empty when the body was not an `ErrorBody`.
        code: String,
        /// `ErrorBody.error`, or the start of the body.
        message: String,
    },
    /// The answer is not the expected JSON.
    #[error("answer from {url} is not the expected JSON")]
    Decode {
        /// The request URL.
        url: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The request could not be built.
    #[error("cannot build the request")]
    Build(#[source] http::Error),
    /// The request body could not be encoded.
    #[error("cannot encode the request body")]
    Encode(#[source] serde_json::Error),
}

impl TransportError {
    /// The hub's error code, for [`TransportError::Hub`].
    pub fn hub_code(&self) -> Option<&str> {
        match self {
            Self::Hub { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// An HTTPS client bound to one hub and one TLS configuration.
pub struct Transport {
    hub: HubUrl,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    client: HttpsClient,
}

impl Transport {
    /// A client for `hub` using `tls` (whose ALPN decides the hub's TLS mode).
    pub fn new(hub: HubUrl, tls: ClientConfig, request_timeout: Duration) -> Self {
        let tls = Arc::new(tls);
        let client = build_client(tls.clone(), request_timeout);
        Self {
            hub,
            tls,
            timeout: request_timeout,
            client,
        }
    }

    /// The hub address.
    pub fn hub(&self) -> &HubUrl {
        &self.hub
    }

    /// Drop every pooled connection by building a fresh client (after any error).
    pub fn reset(&mut self) {
        self.client = build_client(self.tls.clone(), self.timeout);
    }

    /// `GET path`, JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, TransportError> {
        let uri = self.hub.endpoint(path).map_err(TransportError::Build)?;
        let request = base_request(Method::GET, uri)
            .body(Full::new(Bytes::new()))
            .map_err(TransportError::Build)?;
        self.exchange(request).await
    }

    /// `POST path` with a JSON body, JSON answer.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, TransportError> {
        let uri = self.hub.endpoint(path).map_err(TransportError::Build)?;
        let bytes = serde_json::to_vec(body).map_err(TransportError::Encode)?;
        let request = base_request(Method::POST, uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(TransportError::Build)?;
        self.exchange(request).await
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<T, TransportError> {
        let url = request.uri().to_string();
        let (status, body) = tokio::time::timeout(self.timeout, self.send(request, &url))
            .await
            .map_err(|_| TransportError::Timeout {
                url: url.clone(),
                timeout: self.timeout,
            })??;
        if !status.is_success() {
            return Err(hub_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|source| TransportError::Decode { url, source })
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
        url: &str,
    ) -> Result<(StatusCode, Bytes), TransportError> {
        let response =
            self.client
                .request(request)
                .await
                .map_err(|source| TransportError::Request {
                    url: url.to_owned(),
                    source,
                })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|source| TransportError::Body {
                url: url.to_owned(),
                source,
            })?
            .to_bytes();
        Ok((status, body))
    }
}

fn base_request(method: Method, uri: Uri) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, USER_AGENT)
}

/// Map an error answer to [`TransportError::Hub`], using the `ErrorBody` when there is one.
fn hub_error(status: StatusCode, body: &[u8]) -> TransportError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error, code }) => TransportError::Hub {
            status,
            code,
            message: error,
        },
        Err(_) => {
            let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
            TransportError::Hub {
                status,
                code: String::new(),
                message: text,
            }
        }
    }
}

fn build_client(tls: Arc<ClientConfig>, timeout: Duration) -> HttpsClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(timeout));
    http.set_keepalive(Some(KEEPALIVE_IDLE));
    http.set_keepalive_interval(Some(KEEPALIVE_INTERVAL));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    http.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT));
    // `From<(connector, config)>` keeps our ALPN list; the builder would insist on its own.
    let mut https = HttpsConnector::from((http, tls));
    https.enforce_https();
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(1)
        .build(https)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls_are_https_host_and_port_only() {
        let url = HubUrl::parse("https://hub.example:7443").unwrap();
        assert_eq!(url.host(), "hub.example");
        assert_eq!(url.to_string(), "https://hub.example:7443");
        assert_eq!(
            url.endpoint("/v1/ca").unwrap().to_string(),
            "https://hub.example:7443/v1/ca"
        );
        assert_eq!(
            HubUrl::parse("https://127.0.0.1:7443/").unwrap().host(),
            "127.0.0.1"
        );
        assert_eq!(
            HubUrl::parse("https://[::1]:7443").unwrap().to_string(),
            "https://[::1]:7443"
        );
        for bad in [
            "http://hub:7443",
            "hub:7443",
            "https://hub:7443/x",
            "https://hub?q=1",
            "https://u@hub",
            "",
        ] {
            assert!(HubUrl::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[tokio::test]
    async fn a_connected_but_silent_peer_times_out() {
        // Accepts TCP (the kernel completes the handshake) but never speaks TLS.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hub = HubUrl::parse(&format!("https://{}", listener.local_addr().unwrap())).unwrap();
        let mut transport = Transport::new(
            hub,
            crate::tls::ca_fetch_config().unwrap(),
            Duration::from_millis(200),
        );
        let err = transport
            .get_json::<serde_json::Value>("/v1/ca")
            .await
            .unwrap_err();
        assert!(matches!(err, TransportError::Timeout { .. }), "{err:?}");
        assert!(err.to_string().ends_with("timed out after 200ms"), "{err}");
        transport.reset();
        drop(listener);
    }

    #[test]
    fn error_bodies_map_to_codes() {
        let body = br#"{"error":"token expired","code":"token_expired"}"#;
        let err = hub_error(StatusCode::UNAUTHORIZED, body);
        assert_eq!(err.hub_code(), Some("token_expired"));
        assert_eq!(
            err.to_string(),
            "hub answered 401 Unauthorized (token_expired): token expired"
        );
        let err = hub_error(StatusCode::BAD_GATEWAY, b"<html>proxy</html>");
        assert_eq!(err.hub_code(), Some(""));
        assert!(err.to_string().contains("<html>proxy</html>"));
    }
}
