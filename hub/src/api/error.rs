//! Agent API errors and their wire form: JSON `ErrorBody {error, code}` with the status and
//! code table of ARCHITECTURE.md. Internal errors are logged here, once, and reach the client
//! only as `internal`.

use fluidos_protocol::agent::ErrorBody;
use http::Response;
use http::StatusCode;
use http_body_util::Full;
use hyper::body::Bytes;

use super::body;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The body is not the expected JSON.
    #[error("invalid request body: {0}")]
    BadJson(String),
    /// The CSR does not parse or its signature is wrong.
    #[error("bad certificate signing request")]
    BadCsr,
    /// The node name is not a DNS-1123 label.
    #[error("node name must be a DNS-1123 label (lowercase letters, digits, '-'; at most 63)")]
    BadNodeName,
    /// Unknown token or wrong secret.
    #[error("bootstrap token is invalid")]
    TokenInvalid,
    /// The token expired.
    #[error("bootstrap token has expired")]
    TokenExpired,
    /// The token has no uses left.
    #[error("bootstrap token has already been used")]
    TokenUsed,
    /// The identity may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Unknown path.
    #[error("not found")]
    NotFound,
    /// Known path, wrong method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body exceeds the limit.
    #[error(
        "request body exceeds {} bytes",
        fluidos_protocol::MAX_AGENT_BODY_BYTES
    )]
    TooLarge,
    /// A POST without `Content-Type: application/json`.
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// A hub-side failure (the detail is logged, never sent).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// An internal error with its cause chain for the log.
    pub fn internal(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self::Internal(format!("{context}: {}", crate::telemetry::chain(error)))
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadJson(_) | Self::BadCsr | Self::BadNodeName => StatusCode::BAD_REQUEST,
            Self::TokenInvalid | Self::TokenExpired | Self::TokenUsed => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadJson(_) => "bad_json",
            Self::BadCsr => "bad_csr",
            Self::BadNodeName => "bad_node_name",
            Self::TokenInvalid => "token_invalid",
            Self::TokenExpired => "token_expired",
            Self::TokenUsed => "token_used",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Internal(_) => "internal",
        }
    }

    /// The JSON error response (logging internal errors once).
    pub fn into_response(self) -> Response<Full<Bytes>> {
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let body = ErrorBody {
            error: self.to_string(),
            code: self.code().to_owned(),
        };
        let mut response = body::json(self.status(), &body);
        if self == Self::MethodNotAllowed {
            response.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static("GET, POST"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_follow_the_contract() {
        let table = [
            (ApiError::BadJson("x".into()), 400, "bad_json"),
            (ApiError::BadCsr, 400, "bad_csr"),
            (ApiError::BadNodeName, 400, "bad_node_name"),
            (ApiError::TokenInvalid, 401, "token_invalid"),
            (ApiError::TokenExpired, 401, "token_expired"),
            (ApiError::TokenUsed, 401, "token_used"),
            (ApiError::Forbidden("x"), 403, "forbidden"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::TooLarge, 413, "too_large"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (ApiError::Internal("disk on fire".into()), 500, "internal"),
        ];
        for (error, status, code) in table {
            assert_eq!((error.status().as_u16(), error.code()), (status, code));
        }
    }

    #[tokio::test]
    async fn internal_details_are_not_sent() {
        let response = ApiError::Internal("secret path /var/lib".into()).into_response();
        let body = body::response_json(response).await;
        assert_eq!(
            body,
            serde_json::json!({"error": "internal error", "code": "internal"})
        );
    }
}
