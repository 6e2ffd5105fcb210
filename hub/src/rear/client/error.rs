//! Why a request to a REAR peer failed.

use std::time::Duration;

/// Why a request to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Not `host:port`, `https://host:port` or `http://host:port`.
    #[error(
        "invalid REAR peer address {0:?}: expected host:port, https://host:port or http://host:port"
    )]
    BadAddress(String),
    /// Plain HTTP was asked for but is not enabled.
    #[error("plain HTTP to REAR peer {0} is not allowed (enable it explicitly for upstream peers)")]
    PlainRefused(String),
    /// HTTPS was asked for but the client has no TLS configuration.
    #[error("no TLS configuration for the HTTPS REAR peer {0}")]
    NoTls(String),
    /// The request (path, headers) or its JSON body cannot be built.
    #[error("cannot build the request to {url}: {reason}")]
    Request {
        /// The request URL (or the address when the URL itself is invalid).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The TCP connection failed.
    #[error("cannot connect to {address}")]
    Connect {
        /// The peer address.
        address: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed (untrusted peer, wrong name, refused client certificate…).
    #[error("TLS handshake with {address} failed")]
    Tls {
        /// The peer address.
        address: String,
        /// Cause (its chain holds the rustls error or the peer's alert).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The peer's verified certificate names no FLUIDOS node.
    #[error("REAR peer {address} is not a FLUIDOS node: {reason}")]
    NotANode {
        /// The peer address.
        address: String,
        /// Why.
        reason: &'static str,
    },
    /// No complete answer within the deadline.
    #[error("request to {url} timed out after {}", humantime::format_duration(*.timeout))]
    Timeout {
        /// The request URL.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The answer body is larger than the limit.
    #[error("answer from {url} exceeds {limit} bytes")]
    BodyTooLarge {
        /// The request URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The HTTP exchange failed (connection closed, malformed answer…).
    #[error("HTTP exchange with {url} failed")]
    Http {
        /// The request URL.
        url: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ClientError {
    /// The deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// The peer could not be reached at all (TCP connect failed).
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }

    /// The peer was reached but TLS or its identity was refused.
    pub fn is_trust(&self) -> bool {
        matches!(self, Self::Tls { .. } | Self::NotANode { .. })
    }

    /// The request was refused before any network traffic (address, plain HTTP, no TLS).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Self::BadAddress(_) | Self::PlainRefused(_) | Self::NoTls(_) | Self::Request { .. }
        )
    }
}

impl ClientError {
    /// An HTTP error caused by a TLS failure (e.g. the peer's alert) becomes [`Self::Tls`].
    pub(super) fn tls_alert_as_tls(self, authority: &http::uri::Authority) -> Self {
        match self {
            Self::Http { source, .. } if has_rustls_cause(source.as_ref()) => Self::Tls {
                address: authority.to_string(),
                source,
            },
            other => other,
        }
    }
}

fn has_rustls_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        // `io::Error::source` skips the error it wraps: look inside explicitly.
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if e.is::<rustls::Error>() || wrapped.is_some_and(|w| w.is::<rustls::Error>()) {
            return true;
        }
        cause = e.source();
    }
    false
}
