//! A fake hub for the crate's own loopback tests: real rustls and hyper on 127.0.0.1, with a
//! CA generated at test time, the ALPN split of docs/ARCHITECTURE.md (`fluidos-enroll/1` →
//! server auth only, enrollment routes; anything else → client certificate required, report
//! and renewal routes) and the hub's seq rules for reports.
//!
//! It cannot parse CSRs (no x509-parser in this crate), so it signs the agent's staged key
//! (`agent.key.next`), which the agent writes before sending its CSR.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use fluidos_protocol::agent::{
    CaBundle, CertificateResponse, EnrollRequest, ErrorBody, NodeReport, ReportAck, ReportBatch,
};
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::token::{BootstrapToken, ca_hash};
use fluidos_protocol::{ALPN_ENROLL, PATH_CA, PATH_ENROLL, PATH_RENEW, PATH_REPORTS};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, SanType,
};
use rustls::server::{Acceptor, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_rustls::LazyConfigAcceptor;

use crate::tls::provider;
use crate::transport::HubUrl;

pub(crate) const DOMAIN: &str = "test.local";
const TOKEN_CREDENTIALS: &str = "abc123.0123456789abcdef";

/// What the fake hub saw and how it behaves.
#[derive(Debug)]
pub(crate) struct HubState {
    pub(crate) last_seq: u64,
    pub(crate) accepted: Vec<NodeReport>,
    pub(crate) batches: Vec<ReportBatch>,
    pub(crate) renewals: u32,
    pub(crate) token_used: bool,
    pub(crate) validity: time::Duration,
    pub(crate) heartbeat_seconds: u64,
    /// Answer 503 to reports (a hub restarting).
    pub(crate) unavailable: bool,
    /// Node name granted at enrollment.
    pub(crate) node: String,
}

pub(crate) struct FakeHub {
    pub(crate) url: HubUrl,
    pub(crate) token: String,
    pub(crate) state: Arc<Mutex<HubState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Ctx {
    ca: CertifiedIssuer<'static, KeyPair>,
    agent_state: PathBuf,
    state: Arc<Mutex<HubState>>,
}

impl FakeHub {
    /// Start a hub whose certificates for the agent in `agent_state` last `validity`.
    pub(crate) async fn start(agent_state: PathBuf, validity: time::Duration) -> Self {
        let (ca, enroll_config, mtls_config) = pki();
        let token = format!("{TOKEN_CREDENTIALS}@sha256:{}", hex(&ca_hash(ca.der())));
        let state = Arc::new(Mutex::new(HubState {
            last_seq: 0,
            accepted: Vec::new(),
            batches: Vec::new(),
            renewals: 0,
            token_used: false,
            validity,
            heartbeat_seconds: 10,
            unavailable: false,
            node: String::new(),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = HubUrl::parse(&format!("https://{}", listener.local_addr().unwrap())).unwrap();
        let ctx = Arc::new(Ctx {
            ca,
            agent_state,
            state: state.clone(),
        });
        let task = tokio::spawn(accept_loop(listener, enroll_config, mtls_config, ctx));
        Self {
            url,
            token,
            state,
            task,
        }
    }

    /// A token with the right credentials but another CA hash.
    pub(crate) fn token_for_another_ca(&self) -> String {
        format!("{TOKEN_CREDENTIALS}@sha256:{}", "0".repeat(64))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut HubState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A CA, and the enrollment and mutual-TLS server configurations for 127.0.0.1/localhost.
fn pki() -> (
    CertifiedIssuer<'static, KeyPair>,
    Arc<ServerConfig>,
    Arc<ServerConfig>,
) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake hub CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let server_cert = server_params.signed_by(&server_key, &*ca).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let (enroll, mtls) = server_configs(ca.der().clone(), vec![server_cert.der().clone()], key);
    (ca, enroll, mtls)
}

fn server_configs(
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (Arc<ServerConfig>, Arc<ServerConfig>) {
    let builder = || {
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
    };
    let mut enroll = builder()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key.clone_key())
        .unwrap();
    enroll.alpn_protocols = vec![ALPN_ENROLL.to_vec()];
    let mut roots = RootCertStore::empty();
    roots.add(ca).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let mut mtls = builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    mtls.alpn_protocols = vec![b"http/1.1".to_vec()];
    (Arc::new(enroll), Arc::new(mtls))
}

async fn accept_loop(
    listener: TcpListener,
    enroll: Arc<ServerConfig>,
    mtls: Arc<ServerConfig>,
    ctx: Arc<Ctx>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (enroll, mtls, ctx) = (enroll.clone(), mtls.clone(), ctx.clone());
        tokio::spawn(async move {
            let Ok(start) = LazyConfigAcceptor::new(Acceptor::default(), tcp).await else {
                return;
            };
            let enrolling = start
                .client_hello()
                .alpn()
                .is_some_and(|mut ids| ids.any(|id| id == ALPN_ENROLL));
            let config = if enrolling { enroll } else { mtls };
            let Ok(stream) = start.into_stream(config).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(ctx.handle(req, enrolling).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply<T: Serialize>(status: StatusCode, body: &T) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())));
    *response.status_mut() = status;
    response
}

fn error(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        &ErrorBody {
            error: code.replace('_', " "),
            code: code.to_owned(),
        },
    )
}

impl Ctx {
    async fn handle(&self, req: Request<Incoming>, enrolling: bool) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        match (&parts.method, parts.uri.path(), enrolling) {
            (&Method::GET, PATH_CA, true) => reply(
                StatusCode::OK,
                &CaBundle {
                    ca_pem: self.ca.pem(),
                },
            ),
            (&Method::POST, PATH_ENROLL, true) => self.enroll(&body),
            (&Method::POST, PATH_REPORTS, false) => self.reports(&body),
            (&Method::POST, PATH_RENEW, false) => {
                let node = {
                    let mut s = self.lock();
                    s.renewals += 1;
                    s.node.clone()
                };
                reply(StatusCode::OK, &self.certificate(&node))
            }
            _ => error(StatusCode::NOT_FOUND, "not_found"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enroll(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let Ok(request) = serde_json::from_slice::<EnrollRequest>(body) else {
            return error(StatusCode::BAD_REQUEST, "bad_json");
        };
        assert!(
            request
                .csr_pem
                .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
        );
        assert!(
            request.token.parse::<BootstrapToken>().is_err(),
            "the CA hash must stay on the agent"
        );
        if request.token != TOKEN_CREDENTIALS {
            return error(StatusCode::UNAUTHORIZED, "token_invalid");
        }
        {
            let mut s = self.lock();
            if std::mem::replace(&mut s.token_used, true) {
                return error(StatusCode::UNAUTHORIZED, "token_used");
            }
            s.node.clone_from(&request.node_name);
        }
        reply(StatusCode::OK, &self.certificate(&request.node_name))
    }

    /// Sign the agent's staged key (see the module comment).
    fn certificate(&self, node: &str) -> CertificateResponse {
        let key_pem = std::fs::read_to_string(self.agent_state.join("agent.key.next")).unwrap();
        let key = KeyPair::from_pem(&key_pem).unwrap();
        let now = OffsetDateTime::now_utc();
        let (validity, heartbeat_seconds) = {
            let s = self.lock();
            (s.validity, s.heartbeat_seconds)
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, node);
        let uri = format!("fluidos://{DOMAIN}/agents/{node}");
        params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = now - time::Duration::minutes(1);
        params.not_after = now + validity;
        let cert = params.signed_by(&key, &*self.ca).unwrap();
        CertificateResponse {
            node_name: node.to_owned(),
            certificate_pem: cert.pem(),
            ca_pem: self.ca.pem(),
            not_after: params.not_after,
            heartbeat_seconds,
            hub: NodeIdentity {
                domain: DOMAIN.to_owned(),
                node_id: "hub0000001".to_owned(),
                ..Default::default()
            },
        }
    }

    /// The hub's seq rules (docs/ARCHITECTURE.md).
    fn reports(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let Ok(batch) = serde_json::from_slice::<ReportBatch>(body) else {
            return error(StatusCode::BAD_REQUEST, "bad_json");
        };
        let mut s = self.lock();
        if s.unavailable {
            return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        }
        assert_eq!(batch.node_name, s.node);
        let (mut accepted, mut duplicates) = (0, 0);
        for report in &batch.reports {
            if report.seq <= s.last_seq {
                duplicates += 1;
            } else if report.seq == s.last_seq + 1 || report.seq == batch.resume_from {
                s.last_seq = report.seq;
                s.accepted.push(report.clone());
                accepted += 1;
            } else {
                break;
            }
        }
        let ack = ReportAck {
            acked_seq: s.last_seq,
            accepted,
            duplicates,
            heartbeat_seconds: s.heartbeat_seconds,
        };
        s.batches.push(batch);
        reply(StatusCode::OK, &ack)
    }
}

#[cfg(test)]
#[path = "fakehub/tests.rs"]
mod tests;
