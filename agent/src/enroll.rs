//! Enrollment (`fluidos-agent enroll`), like kubeadm join: trust the hub CA only if its hash
//! matches the bootstrap token, then trade the token and a CSR for a client certificate.
//!
//! 1. `GET /v1/ca` on ALPN `fluidos-enroll/1`, accepting any server certificate (one request);
//! 2. refuse unless SHA-256(CA DER) equals the token's hash;
//! 3. generate an ECDSA P-256 key locally (staged with mode 0600; it never leaves the board);
//! 4. `POST /v1/enroll` over TLS trusting only that CA, still on the enrollment ALPN;
//! 5. store `ca.crt`, `agent.key`, `agent.crt`, `enrollment.json`.
//!
//! The token secret is never logged.

use std::path::PathBuf;
use std::time::Duration;

use fluidos_protocol::agent::{CaBundle, CertificateResponse, EnrollRequest};
use fluidos_protocol::identity::{node_name_from_hostname, valid_node_name};
use fluidos_protocol::token::{BootstrapToken, TokenError};
use fluidos_protocol::{PATH_CA, PATH_ENROLL};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use tracing::info;

use crate::collect;
use crate::state::{Enrollment, StateDir, StateError, format_time};
use crate::tls::{self, TlsError};
use crate::transport::{HubUrl, Transport, TransportError};

/// What `enroll` needs.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// The hub (`https://HOST:PORT`).
    pub hub: HubUrl,
    /// The bootstrap token, `<id>.<secret>@sha256:<hex>`.
    pub token: String,
    /// Node name; `None` derives it from the host name.
    pub node_name: Option<String>,
    /// State directory to write.
    pub state_dir: PathBuf,
    /// Timeout of each request.
    pub request_timeout: Duration,
}

/// Why enrollment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The token does not parse.
    #[error("invalid bootstrap token")]
    Token(#[source] TokenError),
    /// The node name is not a DNS-1123 label.
    #[error(
        "node name {0:?} is not valid: use 1-63 lowercase letters, digits and '-', starting and ending alphanumeric"
    )]
    NodeName(String),
    /// No node name given and none derivable from the host name.
    #[error("cannot derive a node name from the host name {0:?}: pass --node-name")]
    NoNodeName(String),
    /// `GET /v1/ca` failed.
    #[error("cannot fetch the hub CA")]
    FetchCa(#[source] TransportError),
    /// The CA (or a certificate in the answer) does not parse.
    #[error("the hub sent an unusable certificate")]
    Certificate(#[source] TlsError),
    /// The CA is not the one the token pins.
    #[error("hub CA does not match the token's sha256:{0}: refusing to enroll")]
    CaMismatch(String),
    /// The hub refused the token.
    #[error(
        "the hub refused the token ({code}: {message}): mint a new one with `fluidos-hub token create`"
    )]
    TokenRefused {
        /// `token_invalid`, `token_expired` or `token_used`.
        code: String,
        /// The hub's message.
        message: String,
    },
    /// `POST /v1/enroll` failed otherwise.
    #[error("enrollment request failed")]
    Request(#[source] TransportError),
    /// The answer is not consistent with the request.
    #[error("the hub's answer is unusable: {0}")]
    BadAnswer(String),
    /// Key or CSR generation failed.
    #[error("cannot generate the key and certificate request")]
    Key(#[source] rcgen::Error),
    /// The state directory could not be written.
    #[error("cannot store the enrollment")]
    State(#[from] StateError),
}

/// Enroll with the hub and store the credentials in `opts.state_dir`.
pub async fn enroll(opts: EnrollOptions) -> Result<Enrollment, EnrollError> {
    let token: BootstrapToken = opts.token.parse().map_err(EnrollError::Token)?;
    let node_name = resolve_node_name(opts.node_name.as_deref(), collect::hostname().as_deref())?;
    let state = StateDir::new(&opts.state_dir);
    state.create()?;
    let ca = fetch_pinned_ca(&opts, &token).await?;
    info!(hub = %opts.hub, node = %node_name, token_id = %token.id, "hub CA matches the token");

    let (key_pem, csr_pem) = new_key_and_csr(&node_name)?;
    state.stage_key(&key_pem)?;
    let request = EnrollRequest {
        token: token.credentials(),
        node_name: node_name.clone(),
        csr_pem,
    };
    let answer = match post_enroll(&opts, ca.clone(), &request).await {
        Ok(answer) => answer,
        Err(e) => {
            state.discard_staged_key();
            return Err(e);
        }
    };
    let enrollment = install(&state, &opts.hub, &ca, &key_pem, answer)
        .inspect_err(|_| state.discard_staged_key())?;
    if enrollment.node_name != node_name {
        tracing::warn!(requested = %node_name, granted = %enrollment.node_name, "the hub named this node differently");
    }
    info!(node = %enrollment.node_name, domain = %enrollment.domain, not_after = %format_time(enrollment.not_after), "enrolled");
    Ok(enrollment)
}

/// The node name: the one given (validated), else one derived from the host name.
pub fn resolve_node_name(
    given: Option<&str>,
    hostname: Option<&str>,
) -> Result<String, EnrollError> {
    match given {
        Some(name) if valid_node_name(name) => Ok(name.to_owned()),
        Some(name) => Err(EnrollError::NodeName(name.to_owned())),
        None => {
            let host = hostname.unwrap_or_default();
            node_name_from_hostname(host).ok_or_else(|| EnrollError::NoNodeName(host.to_owned()))
        }
    }
}

/// `GET /v1/ca` without verifying the server, then pin the answer by the token's hash.
async fn fetch_pinned_ca(
    opts: &EnrollOptions,
    token: &BootstrapToken,
) -> Result<CertificateDer<'static>, EnrollError> {
    let config = tls::ca_fetch_config().map_err(EnrollError::Certificate)?;
    let transport = Transport::new(opts.hub.clone(), config, opts.request_timeout);
    let bundle: CaBundle = transport
        .get_json(PATH_CA)
        .await
        .map_err(EnrollError::FetchCa)?;
    let ca = tls::first_certificate(bundle.ca_pem.as_bytes(), "hub CA")
        .map_err(EnrollError::Certificate)?;
    if !token.matches_ca(&ca) {
        let expected: String = token.ca_hash.iter().map(|b| format!("{b:02x}")).collect();
        return Err(EnrollError::CaMismatch(expected));
    }
    Ok(ca)
}

async fn post_enroll(
    opts: &EnrollOptions,
    ca: CertificateDer<'static>,
    request: &EnrollRequest,
) -> Result<CertificateResponse, EnrollError> {
    let config = tls::pinned_ca_config(ca).map_err(EnrollError::Certificate)?;
    let transport = Transport::new(opts.hub.clone(), config, opts.request_timeout);
    transport
        .post_json(PATH_ENROLL, request)
        .await
        .map_err(|e| match e {
            TransportError::Hub { code, message, .. } if code.starts_with("token_") => {
                EnrollError::TokenRefused { code, message }
            }
            other => EnrollError::Request(other),
        })
}

/// A new ECDSA P-256 key (PEM) and a CSR for it naming `node_name`.
pub fn new_key_and_csr(node_name: &str) -> Result<(String, String), EnrollError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(EnrollError::Key)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(EnrollError::Key)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, node_name);
    params.distinguished_name = name;
    let csr = params.serialize_request(&key).map_err(EnrollError::Key)?;
    Ok((key.serialize_pem(), csr.pem().map_err(EnrollError::Key)?))
}

/// Check the answer against the pinned CA and the staged key, then store everything.
fn install(
    state: &StateDir,
    hub: &HubUrl,
    ca: &CertificateDer<'static>,
    key_pem: &str,
    answer: CertificateResponse,
) -> Result<Enrollment, EnrollError> {
    let now = OffsetDateTime::now_utc();
    check_answer(&answer, ca, key_pem, now)?;
    state.write_ca(&answer.ca_pem)?;
    state.commit_credentials(&answer.certificate_pem)?;
    let enrollment = Enrollment {
        hub_url: hub.to_string(),
        node_name: answer.node_name,
        domain: answer.hub.domain.clone(),
        hub: answer.hub,
        heartbeat_seconds: answer.heartbeat_seconds,
        issued_at: now,
        not_after: answer.not_after,
    };
    state.write_enrollment(&enrollment)?;
    Ok(enrollment)
}

/// A certificate answer is usable when it names a valid node, carries the pinned CA, is not
/// expired, and its certificate goes with `key_pem`.
pub(crate) fn check_answer(
    answer: &CertificateResponse,
    ca: &CertificateDer<'_>,
    key_pem: &str,
    now: OffsetDateTime,
) -> Result<(), EnrollError> {
    if !valid_node_name(&answer.node_name) {
        return Err(EnrollError::BadAnswer(format!(
            "node name {:?} is not valid",
            answer.node_name
        )));
    }
    let answer_ca = tls::first_certificate(answer.ca_pem.as_bytes(), "hub CA")
        .map_err(EnrollError::Certificate)?;
    if answer_ca.as_ref() != ca.as_ref() {
        return Err(EnrollError::BadAnswer(
            "the CA differs from the pinned one".to_owned(),
        ));
    }
    if answer.not_after <= now {
        return Err(EnrollError::BadAnswer(format!(
            "the certificate expired at {}",
            format_time(answer.not_after)
        )));
    }
    tls::mtls_config(
        answer.ca_pem.as_bytes(),
        answer.certificate_pem.as_bytes(),
        key_pem.as_bytes(),
    )
    .map_err(EnrollError::Certificate)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_validated_or_derived_from_the_host_name() {
        assert_eq!(resolve_node_name(Some("pi-1"), None).unwrap(), "pi-1");
        assert!(matches!(
            resolve_node_name(Some("Pi_1"), None),
            Err(EnrollError::NodeName(_))
        ));
        assert_eq!(
            resolve_node_name(None, Some("Kitchen.Pi")).unwrap(),
            "kitchen-pi"
        );
        assert!(matches!(
            resolve_node_name(None, Some("--")),
            Err(EnrollError::NoNodeName(_))
        ));
        assert!(matches!(
            resolve_node_name(None, None),
            Err(EnrollError::NoNodeName(_))
        ));
    }

    #[test]
    fn the_csr_is_pem_and_the_key_is_p256() {
        let (key, csr) = new_key_and_csr("pi-1").unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        let key = KeyPair::from_pem(&key).unwrap();
        assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
    }

    #[test]
    fn token_refusals_name_the_fix() {
        let e = EnrollError::TokenRefused {
            code: "token_used".into(),
            message: "token already used".into(),
        };
        assert_eq!(
            e.to_string(),
            "the hub refused the token (token_used: token already used): mint a new one with `fluidos-hub token create`"
        );
    }
}
