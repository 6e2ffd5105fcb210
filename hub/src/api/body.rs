//! Request and response bodies: JSON only, request bodies bounded by
//! [`MAX_AGENT_BODY_BYTES`] while they are read (413 as soon as the limit is crossed).

use std::pin::Pin;
use std::time::Duration;

use fluidos_protocol::MAX_AGENT_BODY_BYTES;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Whether the request says its body is JSON (`application/json`, parameters allowed).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Oversized bodies up to this size are read and thrown away before the 413 is sent, so a
/// client that is still sending gets the answer rather than a reset connection (hyper does no
/// lingering close). Bigger ones are refused at once.
const DRAIN_LIMIT_BYTES: usize = 8 * 1024 * 1024;
/// Longest time spent throwing an oversized body away.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Read the whole body (at most [`MAX_AGENT_BODY_BYTES`]) and decode it as `T`.
pub(crate) async fn read_json<T, B>(req: Request<B>) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    B: Body<Data = Bytes>,
{
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = std::pin::pin!(req.into_body());
    if declared.is_some_and(|n| n > MAX_AGENT_BODY_BYTES as u64) {
        if declared.is_some_and(|n| n <= DRAIN_LIMIT_BYTES as u64) {
            discard(body).await;
        }
        return Err(ApiError::TooLarge);
    }
    let bytes = read_bounded(body).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadJson(e.to_string()))
}

/// Collect the body, failing with 413 as soon as it crosses [`MAX_AGENT_BODY_BYTES`].
async fn read_bounded<B: Body<Data = Bytes>>(mut body: Pin<&mut B>) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| ApiError::BadJson("cannot read the request body".to_owned()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buf.len() + data.len() > MAX_AGENT_BODY_BYTES {
            discard(body).await;
            return Err(ApiError::TooLarge);
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf)
}

/// Read and drop the rest of a body, up to [`DRAIN_LIMIT_BYTES`] and [`DRAIN_TIME`].
async fn discard<B: Body<Data = Bytes>>(mut body: Pin<&mut B>) {
    let drain = async {
        let mut seen = 0usize;
        while seen <= DRAIN_LIMIT_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    // Our response types always serialize; fall back to an empty object rather than panic.
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Test helper: decode a response body as JSON.
#[cfg(test)]
pub(crate) async fn response_json(response: Response<Full<Bytes>>) -> serde_json::Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (value, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&h), ok, "{value}");
        }
    }
}
