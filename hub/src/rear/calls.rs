//! Typed REAR calls over [`RearClient`]: list flavors, reserve, purchase. Each call turns the
//! peer's answer into a wire type or a [`CallError`] that keeps the HTTP status, so callers can
//! tell a refusal (4xx) from a failure worth retrying (transport error, 5xx, garbage).
//!
//! This module does no retrying and keeps no state; it never decides what a failure means for
//! a Solver or a Reservation.

use http::StatusCode;
use hyper::body::Bytes;
use serde::de::DeserializeOwned;

use fluidos_protocol::rear::{
    PATH_FLAVORS, PATH_FLAVORS_K8SLICE, PATH_FLAVORS_SERVICE, PATH_RESERVATIONS, PurchaseRequest,
    ReserveRequest, WireContract, WireFlavor, WireTransaction, purchase_path,
};
use fluidos_protocol::selector::{FilterSet, encode_k8slice_query, encode_service_query};

use super::client::{ClientError, RearClient};
use super::trust::NodePeer;

/// Longest part of an error body kept in a [`CallError`].
const MAX_ERROR_BODY: usize = 300;

/// Why a REAR call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request did not complete (address, connect, TLS, timeout, HTTP).
    #[error("request failed")]
    Transport(#[from] ClientError),
    /// The peer answered with a status this call does not accept.
    #[error("peer answered HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The answer body as text (truncated).
        body: String,
    },
    /// The peer answered success with a body that is not the expected JSON.
    #[error("peer answered HTTP {status} with an undecodable body")]
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}

impl CallError {
    /// The peer's HTTP status, when it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Transport(_) => None,
            Self::Status { status, .. } | Self::Decode { status, .. } => Some(*status),
        }
    }

    /// The peer refused the request (4xx): retrying the same request will not help.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Status { status, .. } if status.is_client_error())
    }

    /// A transport error, a 5xx or a garbage answer: the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        !self.is_refusal()
    }

    /// The whole error chain on one line (`a: b: c`), for status messages.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// `e` and its sources joined by `": "`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The path (and query) of LIST_FLAVORS for `filters`: `/api/v2/flavors` without a selector,
/// `/api/v2/flavors/k8slice?…` or `/api/v2/flavors/service?…` with one (regex filters are not
/// sent: the caller re-applies the full selector).
pub fn list_path(filters: Option<&FilterSet>) -> String {
    let (path, query) = match filters {
        None | Some(FilterSet::Unsupported(_)) => (PATH_FLAVORS, String::new()),
        Some(FilterSet::K8Slice(f)) => (PATH_FLAVORS_K8SLICE, encode_k8slice_query(f)),
        Some(FilterSet::Service(f)) => (PATH_FLAVORS_SERVICE, encode_service_query(f)),
    };
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// LIST_FLAVORS at `address`: 200 → the flavors (`null` counts as none), 204 → none.
///
/// # Errors
/// [`CallError`] for a transport failure, any other status, or an undecodable body.
pub async fn list_flavors(
    client: &RearClient,
    address: &str,
    filters: Option<&FilterSet>,
) -> Result<Vec<WireFlavor>, CallError> {
    Ok(list_flavors_from(client, address, filters).await?.0)
}

/// [`list_flavors`], also returning the TLS peer that served the list (`None` over plain
/// HTTP), so the caller can check each flavor's owner against it.
///
/// # Errors
/// As [`list_flavors`].
pub async fn list_flavors_from(
    client: &RearClient,
    address: &str,
    filters: Option<&FilterSet>,
) -> Result<(Vec<WireFlavor>, Option<NodePeer>), CallError> {
    let path = list_path(filters);
    let response = client.get(address, &path).await?;
    tracing::debug!(peer = address, %path, status = %response.status, "listed flavors");
    if response.status == StatusCode::NO_CONTENT {
        return Ok((Vec::new(), response.peer));
    }
    let flavors: Option<Vec<WireFlavor>> = expect_ok(response.status, &response.body)?;
    Ok((flavors.unwrap_or_default(), response.peer))
}

/// RESERVE_FLAVOR at `address`: the transaction and the TLS peer that answered.
///
/// # Errors
/// [`CallError`] for a transport failure, a non-200 status, or an undecodable body.
pub async fn reserve(
    client: &RearClient,
    address: &str,
    request: &ReserveRequest,
) -> Result<(WireTransaction, Option<NodePeer>), CallError> {
    let response = client
        .post_json(address, PATH_RESERVATIONS, request)
        .await?;
    tracing::debug!(peer = address, flavor = %request.flavor_id, status = %response.status,
        "reserve answered");
    let tx = expect_ok(response.status, &response.body)?;
    Ok((tx, response.peer))
}

/// PURCHASE_FLAVOR of `transaction_id` at `address`: the contract and the TLS peer.
///
/// # Errors
/// [`CallError`] for a transport failure, a non-200 status, or an undecodable body.
pub async fn purchase(
    client: &RearClient,
    address: &str,
    transaction_id: &str,
    request: &PurchaseRequest,
) -> Result<(WireContract, Option<NodePeer>), CallError> {
    let response = client
        .post_json(address, &purchase_path(transaction_id), request)
        .await?;
    tracing::debug!(peer = address, transaction = transaction_id, status = %response.status,
        "purchase answered");
    let contract = expect_ok(response.status, &response.body)?;
    Ok((contract, response.peer))
}

/// The body of a 200 answer as `T`; any other status is [`CallError::Status`].
fn expect_ok<T: DeserializeOwned>(status: StatusCode, body: &Bytes) -> Result<T, CallError> {
    if status != StatusCode::OK {
        return Err(CallError::Status {
            status,
            body: body_text(body),
        });
    }
    serde_json::from_slice(body).map_err(|source| CallError::Decode { status, source })
}

/// An error body as one trimmed line of at most [`MAX_ERROR_BODY`] characters. A JSON error
/// (`{"error": "…"}`) gives its message.
fn body_text(body: &Bytes) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| text.into_owned());
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_ERROR_BODY {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_ERROR_BODY).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluidos_protocol::Quantity;
    use fluidos_protocol::selector::{K8SliceFilters, QuantityRule, StringRule};

    #[test]
    fn list_path_follows_the_selector() {
        assert_eq!(list_path(None), "/api/v2/flavors");
        let empty = FilterSet::K8Slice(K8SliceFilters::default());
        assert_eq!(list_path(Some(&empty)), "/api/v2/flavors/k8slice");
        let filters = FilterSet::K8Slice(K8SliceFilters {
            architecture: Some(StringRule::regex("amd.*")),
            cpu: Some(QuantityRule::at_least(Quantity::parse("1").unwrap())),
            ..K8SliceFilters::default()
        });
        let path = list_path(Some(&filters));
        assert!(path.starts_with("/api/v2/flavors/k8slice?"), "{path}");
        assert!(path.contains("cpu"), "{path}");
        assert!(
            !path.contains("architecture"),
            "regex must not be sent: {path}"
        );
    }

    #[test]
    fn non_200_keeps_status_and_trimmed_body() {
        let err = expect_ok::<WireTransaction>(
            StatusCode::CONFLICT,
            &Bytes::from_static(b"flavor x is not available\n"),
        )
        .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::CONFLICT));
        assert!(err.is_refusal() && !err.is_retryable());
        assert_eq!(
            err.to_string(),
            "peer answered HTTP 409 Conflict: flavor x is not available"
        );
        let json = expect_ok::<WireTransaction>(
            StatusCode::NOT_FOUND,
            &Bytes::from_static(br#"{"error":"no such flavor","code":"not_found"}"#),
        )
        .unwrap_err();
        assert!(json.to_string().ends_with(": no such flavor"));
    }

    #[test]
    fn server_errors_and_garbage_are_retryable() {
        let five = expect_ok::<WireTransaction>(StatusCode::BAD_GATEWAY, &Bytes::new());
        assert!(five.unwrap_err().is_retryable());
        let garbage = expect_ok::<WireTransaction>(StatusCode::OK, &Bytes::from_static(b"{"));
        let garbage = garbage.unwrap_err();
        assert!(matches!(garbage, CallError::Decode { .. }));
        assert!(garbage.is_retryable());
    }

    #[test]
    fn long_bodies_are_truncated() {
        let body = Bytes::from("x".repeat(1000));
        let text = body_text(&body);
        assert_eq!(text.chars().count(), MAX_ERROR_BODY + 1);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn null_flavor_list_is_empty() {
        let flavors: Option<Vec<WireFlavor>> =
            expect_ok(StatusCode::OK, &Bytes::from_static(b"null")).unwrap();
        assert!(flavors.is_none());
    }
}
