//! Mutual TLS for REAR (hub to hub), in both directions, with the hub's node certificate.
//!
//! * The hub presents `server.crt` (+ its CA) and `server.key`: URI SAN
//!   `fluidos://<domain>/nodes/<nodeID>`, EKUs serverAuth and clientAuth.
//! * A peer is trusted when its chain verifies (webpki, validity time checked) against our own
//!   CA plus the configured peer CA bundles, or when the SHA-256 of its leaf certificate (DER) is
//!   pinned. A pinned certificate must still be within its validity period, and the handshake
//!   signature is always checked, so the peer does hold the key.
//! * The peer must name a node identity ([`peer_node`], [`node_of`]); agent certificates, which
//!   our own CA also issues, are refused as REAR peers.
//!
//! The ring provider is passed explicitly; ALPN is `http/1.1` on both sides.

mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fluidos_protocol::identity::Identity;
use rustls::client::WebPkiServerVerifier;
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use crate::pki::{self, Pki, PkiError};
use verify::{PinnedOrWebPkiClient, PinnedOrWebPkiServer, Pins};

/// ALPN protocols of REAR over TLS: HTTP/1.1 only.
const REAR_ALPN: &[u8] = b"http/1.1";

/// Which peers this hub trusts for REAR, besides those signed by its own CA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerTrust {
    /// PEM files holding one or more CA certificates of peers.
    pub ca_files: Vec<PathBuf>,
    /// SHA-256 of pinned peer leaf certificates (DER).
    pub fingerprints: Vec<[u8; 32]>,
}

/// Why the REAR TLS configurations cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A peer CA file cannot be read.
    #[error("cannot read peer CA file {path}")]
    CaRead {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A peer CA file holds no usable CA certificate.
    #[error("peer CA file {path} is invalid: {reason}")]
    CaInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A fingerprint is not `sha256:<64 hex>` or colon-separated hex.
    #[error("invalid certificate fingerprint {0:?}: expected sha256:<64 hex digits> or AB:CD:…")]
    Fingerprint(String),
    /// The node certificate or our CA cannot be loaded.
    #[error("cannot load the hub node certificate")]
    Pki(#[from] PkiError),
    /// rustls refused the certificate, key or protocol versions.
    #[error("invalid REAR TLS configuration")]
    Rustls(#[from] rustls::Error),
    /// A certificate verifier cannot be built.
    #[error("cannot build the REAR certificate verifier")]
    Verifier(#[from] VerifierBuilderError),
}

/// The REAR server and client TLS configurations.
#[derive(Debug, Clone)]
pub struct RearTls {
    /// Gateway side: client certificate required (a trusted or pinned node).
    pub server: Arc<ServerConfig>,
    /// Consumer side: presents our node certificate, verifies the peer and its name.
    pub client: Arc<ClientConfig>,
}

impl RearTls {
    /// Build both configurations from the hub PKI in `state_dir` and the peer `trust`.
    pub fn new(pki: &Pki, state_dir: &Path, trust: &PeerTrust) -> Result<Self, TrustError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(trust_roots(pki, &trust.ca_files)?);
        let pins = Pins::new(&trust.fingerprints);
        let (chain, key) = pki.server_cert_chain(state_dir)?;

        let mut builder =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider));
        if !pins.is_empty() {
            // A pinned peer may be signed by a CA we do not know: do not steer its choice.
            builder = builder.clear_root_hint_subjects();
        }
        let client_verifier = PinnedOrWebPkiClient::new(builder.build()?, pins.clone());
        let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(client_verifier))
            .with_single_cert(chain.clone(), key.clone_key())?;
        server.alpn_protocols = vec![REAR_ALPN.to_vec()];

        let inner =
            WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider)).build()?;
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedOrWebPkiServer::new(inner, pins)))
            .with_client_auth_cert(chain, key)?;
        client.alpn_protocols = vec![REAR_ALPN.to_vec()];

        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}

/// Our own CA plus every certificate of every peer CA file.
fn trust_roots(pki: &Pki, ca_files: &[PathBuf]) -> Result<RootCertStore, TrustError> {
    let mut roots = pki.client_roots();
    for path in ca_files {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| TrustError::CaInvalid {
                path: path.clone(),
                reason: format!("certificate is not a usable trust anchor: {e}"),
            })?;
        }
    }
    Ok(roots)
}

/// Every certificate in a PEM CA bundle (at least one).
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let pem = std::fs::read(path).map_err(|source| TrustError::CaRead {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| TrustError::CaInvalid {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("malformed PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// SHA-256 of a certificate's DER, as pinned in [`PeerTrust::fingerprints`].
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// `sha256:<lowercase hex>`, the form [`parse_fingerprint`] reads back.
pub fn format_fingerprint(fingerprint: &[u8; 32]) -> String {
    format!("sha256:{}", hex::encode(fingerprint))
}

/// Parse `sha256:<64 hex digits>` or colon-separated hex (`AB:CD:…`, 32 bytes), any case.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], TrustError> {
    let bad = || TrustError::Fingerprint(s.to_owned());
    let trimmed = s.trim();
    let hex_digits = match trimmed.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => trimmed[7..].to_owned(),
        _ if trimmed.contains(':') => {
            let pairs: Vec<&str> = trimmed.split(':').collect();
            if pairs.len() != 32 || pairs.iter().any(|p| p.len() != 2) {
                return Err(bad());
            }
            pairs.concat()
        }
        _ => return Err(bad()),
    };
    let mut out = [0u8; 32];
    hex::decode_to_slice(&hex_digits, &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// The FLUIDOS node at the other end of a REAR connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePeer {
    /// FLUIDOS domain of the peer.
    pub domain: String,
    /// Node id of the peer.
    pub node_id: String,
}

/// The node a verified REAR client certificate names, or why it is not a REAR peer.
pub fn peer_node(conn: &ServerConnection) -> Result<NodePeer, &'static str> {
    let der = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no client certificate")?;
    node_of_der(der)
}

/// The node a (verified) peer leaf certificate names.
pub fn node_of_der(der: &[u8]) -> Result<NodePeer, &'static str> {
    let peer = pki::peer_cert(der).map_err(|_| "certificate names no FLUIDOS identity")?;
    node_of(peer.identity)
}

/// The pure part of [`peer_node`]: only node identities are REAR peers.
pub fn node_of(identity: Identity) -> Result<NodePeer, &'static str> {
    match identity {
        Identity::Node { domain, node_id } => Ok(NodePeer { domain, node_id }),
        Identity::Agent { .. } => Err("certificate is an agent identity, not a FLUIDOS node"),
    }
}

#[cfg(test)]
mod tests;
