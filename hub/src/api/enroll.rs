//! Certificate routes: `GET /v1/ca`, `POST /v1/enroll` (bootstrap token + CSR, no client
//! certificate) and `POST /v1/renew` (CSR over mutual TLS, for the certificate's own node).
//!
//! The CSR is signed *before* the token is redeemed, so a bad CSR never burns a token; the
//! registry write comes last, so nothing is stored for a refused request.

use std::error::Error as StdError;
use std::sync::Arc;

use fluidos_protocol::agent::{CaBundle, CertificateResponse, EnrollRequest, RenewRequest};
use fluidos_protocol::identity::valid_node_name;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Body, Bytes};
use time::OffsetDateTime;

use super::error::ApiError;
use super::{AgentPeer, AppState, body};
use crate::pki::{IssuedCert, PkiError};
use crate::registry::{RedeemError, Registry};

/// `GET /v1/ca`.
pub(super) fn ca(state: &AppState) -> Response<Full<Bytes>> {
    body::json(
        StatusCode::OK,
        &CaBundle {
            ca_pem: state.pki.ca_pem().to_owned(),
        },
    )
}

/// `POST /v1/enroll`.
pub(super) async fn enroll<B>(
    state: &AppState,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let result = enroll_inner(state, req).await;
    state.metrics.enrollment(match &result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    });
    result
}

async fn enroll_inner<B>(
    state: &AppState,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let request: EnrollRequest = body::read_json(req).await?;
    if !valid_node_name(&request.node_name) {
        return Err(ApiError::BadNodeName);
    }
    let cert = sign(state, &request.csr_pem, &request.node_name)?;
    let token = request.token;
    blocking(&state.registry, move |r| {
        r.redeem_token(&token, OffsetDateTime::now_utc())
    })
    .await?
    .map_err(|e| match e {
        RedeemError::Invalid => ApiError::TokenInvalid,
        RedeemError::Expired => ApiError::TokenExpired,
        RedeemError::Used => ApiError::TokenUsed,
        RedeemError::Store(e) => ApiError::internal("checking the bootstrap token", &e),
    })?;
    record(state, &request.node_name, &cert).await?;
    tracing::info!(node = %request.node_name, serial = %cert.serial_hex, not_after = %cert.not_after, "agent enrolled");
    Ok(certificate_response(state, request.node_name, cert))
}

/// `POST /v1/renew`.
pub(super) async fn renew<B>(
    state: &AppState,
    req: Request<B>,
) -> Result<Response<Full<Bytes>>, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let peer = AgentPeer::of(&req)?;
    let request: RenewRequest = body::read_json(req).await?;
    let cert = sign(state, &request.csr_pem, &peer.node)?;
    record(state, &peer.node, &cert).await?;
    tracing::info!(node = %peer.node, serial = %cert.serial_hex, not_after = %cert.not_after, "agent certificate renewed");
    Ok(certificate_response(state, peer.node, cert))
}

fn sign(state: &AppState, csr_pem: &str, node: &str) -> Result<IssuedCert, ApiError> {
    state
        .pki
        .sign_agent_csr(csr_pem, node, state.cert_validity)
        .map_err(|e| match e {
            PkiError::BadCsr => ApiError::BadCsr,
            PkiError::InvalidName(_) => ApiError::BadNodeName,
            other => ApiError::internal("signing an agent certificate", &other),
        })
}

async fn record(state: &AppState, node: &str, cert: &IssuedCert) -> Result<(), ApiError> {
    let (node, cert) = (node.to_owned(), cert.clone());
    blocking(&state.registry, move |r| r.record_cert(&node, &cert))
        .await?
        .map_err(|e| ApiError::internal("recording an agent certificate", &e))
}

fn certificate_response(
    state: &AppState,
    node_name: String,
    cert: IssuedCert,
) -> Response<Full<Bytes>> {
    let response = CertificateResponse {
        node_name,
        certificate_pem: cert.pem,
        ca_pem: state.pki.ca_pem().to_owned(),
        not_after: cert.not_after,
        heartbeat_seconds: state.heartbeat.as_secs(),
        hub: state.identity.node_identity(),
    };
    body::json(StatusCode::OK, &response)
}

/// Run a registry call on the blocking pool.
pub(super) async fn blocking<T, F>(registry: &Arc<Registry>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Registry) -> T + Send + 'static,
{
    let registry = Arc::clone(registry);
    tokio::task::spawn_blocking(move || f(&registry))
        .await
        .map_err(|e| ApiError::internal("registry task failed", &e))
}
