//! Routing of the agent API: a `match` on (mode, method, path), the checks every route shares
//! (identity and revocation, content type), per-route latency metrics, and errors turned into
//! JSON responses. Works on any `http::Request`, so it is tested without sockets.

use std::error::Error as StdError;
use std::time::Instant;

use fluidos_protocol::{PATH_CA, PATH_ENROLL, PATH_RENEW, PATH_REPORTS};
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::{Body, Bytes};

use super::error::ApiError;
use super::{AgentPeer, AppState, ConnInfo, Mode, body, enroll, report};

/// The routes of the agent API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/ca` (enrollment ALPN).
    Ca,
    /// `POST /v1/enroll` (enrollment ALPN).
    Enroll,
    /// `POST /v1/reports` (mutual TLS).
    Reports,
    /// `POST /v1/renew` (mutual TLS).
    Renew,
}

impl Route {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ca => "ca",
            Self::Enroll => "enroll",
            Self::Reports => "reports",
            Self::Renew => "renew",
        }
    }

    fn method(self) -> Method {
        if self == Self::Ca {
            Method::GET
        } else {
            Method::POST
        }
    }
}

/// The route of `method path` on a connection in `mode`: 404 for paths the mode does not
/// serve, 405 for a served path with the wrong method.
pub fn route(mode: &Mode, method: &Method, path: &str) -> Result<Route, ApiError> {
    let route = match (mode, path) {
        (Mode::Enroll, PATH_CA) => Route::Ca,
        (Mode::Enroll, PATH_ENROLL) => Route::Enroll,
        (Mode::Agent(_), PATH_REPORTS) => Route::Reports,
        (Mode::Agent(_), PATH_RENEW) => Route::Renew,
        _ => return Err(ApiError::NotFound),
    };
    if *method == route.method() {
        Ok(route)
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

/// Answer one request. The [`ConnInfo`] extension must be present (the connection adds it).
pub async fn handle<B>(state: &AppState, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let started = Instant::now();
    let (label, result) = dispatch(state, req).await;
    state.metrics.request(label, started.elapsed());
    result.unwrap_or_else(ApiError::into_response)
}

async fn dispatch<B>(
    state: &AppState,
    mut req: Request<B>,
) -> (&'static str, Result<Response<Full<Bytes>>, ApiError>)
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let Some(info) = req.extensions().get::<ConnInfo>().cloned() else {
        return (
            "unknown",
            Err(ApiError::Internal(
                "request without connection info".to_owned(),
            )),
        );
    };
    let route = match authorize(state, &info)
        .and_then(|()| route(&info.mode, req.method(), req.uri().path()))
    {
        Ok(route) => route,
        Err(error) => {
            if req.uri().path() == PATH_REPORTS {
                state.metrics.reports_rejected(error.code(), 1);
            }
            return ("unknown", Err(error));
        }
    };
    if let Mode::Agent(Ok(peer)) = info.mode {
        req.extensions_mut().insert::<AgentPeer>(peer);
    }
    if req.method() == Method::POST && !body::is_json(req.headers()) {
        if route == Route::Reports {
            state
                .metrics
                .reports_rejected(ApiError::UnsupportedMediaType.code(), 1);
        }
        return (route.label(), Err(ApiError::UnsupportedMediaType));
    }
    let result = match route {
        Route::Ca => Ok(enroll::ca(state)),
        Route::Enroll => enroll::enroll(state, req).await,
        Route::Renew => enroll::renew(state, req).await,
        Route::Reports => report::reports(state, req).await,
    };
    (route.label(), result)
}

/// Mutual-TLS requests need an acceptable, unrevoked agent certificate; checked before routing
/// so that a refused certificate gets 403 everywhere.
fn authorize(state: &AppState, info: &ConnInfo) -> Result<(), ApiError> {
    match &info.mode {
        Mode::Enroll => Ok(()),
        Mode::Agent(Err(reason)) => Err(ApiError::Forbidden(reason)),
        Mode::Agent(Ok(peer)) if state.revocations.is_revoked(&peer.serial_hex) => {
            Err(ApiError::Forbidden("certificate revoked"))
        }
        Mode::Agent(Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
