//! The hub's PKI: its CA, its server certificate, agent certificates signed from CSRs, and the
//! identities read back from peer certificates. ECDSA P-256 everywhere.
//!
//! Files in the state directory: `ca.crt`, `ca.key` (0600), `server.crt`, `server.key` (0600),
//! all written atomically. This module never logs keys or whole certificates, and never decides
//! *who* may get a certificate (tokens and revocation live in [`crate::registry`]).

mod ca;
mod csr;
mod peer;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{Issuer, KeyPair};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;

use crate::hub_identity::HubIdentity;

pub use peer::{PeerCert, peer_cert};

/// CA certificate file (PEM).
pub const CA_CERT: &str = "ca.crt";
/// CA private key file (PKCS#8 PEM, mode 0600).
pub const CA_KEY: &str = "ca.key";
/// Hub server certificate file (PEM).
pub const SERVER_CERT: &str = "server.crt";
/// Hub server private key file (PKCS#8 PEM, mode 0600).
pub const SERVER_KEY: &str = "server.key";

/// Validity of the CA certificate.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Validity of the hub server certificate.
pub const SERVER_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// [`Pki::ensure_server_cert`] renews the server certificate this long before it expires.
pub const SERVER_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How far back `not_before` is set, to tolerate clock skew between hub and agents.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// A certificate the hub issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate, PEM.
    pub pem: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Lowercase hex of the serial's DER content bytes (as [`peer_cert`] reports it).
    pub serial_hex: String,
    /// End of validity, as encoded in the certificate (whole seconds).
    pub not_after: OffsetDateTime,
}

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// `init` found a CA already in the state directory.
    #[error("a CA already exists at {0}; refusing to overwrite it")]
    Exists(PathBuf),
    /// A file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A file cannot be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A file does not hold the expected PEM certificate or key.
    #[error("{path} does not hold a valid {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was expected there.
        what: &'static str,
    },
    /// The CA key does not belong to the CA certificate.
    #[error("CA key {0} does not match the CA certificate")]
    KeyMismatch(PathBuf),
    /// Key generation, signing or encoding failed.
    #[error("certificate generation failed")]
    Generate(#[source] rcgen::Error),
    /// The CSR does not parse, its signature is wrong, or its key is not ECDSA P-256.
    #[error("bad certificate signing request")]
    BadCsr,
    /// A certificate (peer or freshly issued) cannot be parsed or names no FLUIDOS identity.
    #[error("bad certificate: {0}")]
    BadCert(String),
    /// A node name, domain or SAN is not acceptable.
    #[error("invalid name {0:?}")]
    InvalidName(String),
    /// The requested validity window is empty or out of range.
    #[error("invalid certificate validity window")]
    Validity,
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        Self::Generate(e)
    }
}

/// The hub CA, ready to sign.
pub struct Pki {
    domain: String,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
    roots: RootCertStore,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Pki")
            .field("domain", &self.domain)
            .field("ca_hash", &hex::encode(self.ca_hash()))
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Create the CA and the server certificate in `state_dir` (created 0700 if missing).
    ///
    /// Refuses with [`PkiError::Exists`] when `ca.crt` or `ca.key` is already there: a new CA
    /// would silently orphan every enrolled agent.
    pub fn init(
        state_dir: &Path,
        identity: &HubIdentity,
        extra_sans: &[String],
    ) -> Result<Self, PkiError> {
        for file in [CA_CERT, CA_KEY] {
            let path = state_dir.join(file);
            if path.exists() {
                return Err(PkiError::Exists(path));
            }
        }
        ca::create_state_dir(state_dir)?;
        let pki = ca::create(state_dir, identity)?;
        pki.issue_server_cert(state_dir, identity, extra_sans)?;
        tracing::info!(
            state_dir = %state_dir.display(),
            identity = %identity.uri(),
            ca_hash = %hex::encode(pki.ca_hash()),
            "created hub CA and server certificate"
        );
        Ok(pki)
    }

    /// Load the CA of `domain` from `state_dir`, checking that key and certificate match.
    pub fn load(state_dir: &Path, domain: &str) -> Result<Self, PkiError> {
        ca::load(state_dir, domain)
    }

    /// Load the CA when `state_dir` has one, otherwise [`Pki::init`] it; then
    /// [`Pki::ensure_server_cert`].
    pub fn load_or_init(
        state_dir: &Path,
        identity: &HubIdentity,
        extra_sans: &[String],
    ) -> Result<Self, PkiError> {
        if !state_dir.join(CA_CERT).exists() && !state_dir.join(CA_KEY).exists() {
            return Self::init(state_dir, identity, extra_sans);
        }
        let pki = Self::load(state_dir, &identity.domain)?;
        pki.ensure_server_cert(state_dir, identity, extra_sans)?;
        Ok(pki)
    }

    /// Re-issue the server certificate when it or its key is missing or unreadable, or it
    /// expires within [`SERVER_RENEW_BEFORE`]. Returns whether it was re-issued.
    pub fn ensure_server_cert(
        &self,
        state_dir: &Path,
        identity: &HubIdentity,
        extra_sans: &[String],
    ) -> Result<bool, PkiError> {
        let renew_at = OffsetDateTime::now_utc() + SERVER_RENEW_BEFORE;
        let current = self
            .server_cert_chain(state_dir)
            .ok()
            .and_then(|(chain, _)| {
                let leaf = chain.first()?;
                peer::not_after(leaf).ok()
            });
        if current.is_some_and(|not_after| not_after > renew_at) {
            return Ok(false);
        }
        self.issue_server_cert(state_dir, identity, extra_sans)?;
        Ok(true)
    }

    /// (Re)issue `server.crt`/`server.key` for `identity`, replacing existing files atomically.
    ///
    /// SANs: `localhost`, the host name, `127.0.0.1`, `::1`, `extra_sans` (IPs become IP SANs,
    /// the rest DNS SANs) and the URI SAN of the hub. EKU serverAuth and clientAuth (the same
    /// certificate is the hub's REAR node certificate). Valid for [`SERVER_VALIDITY`].
    pub fn issue_server_cert(
        &self,
        state_dir: &Path,
        identity: &HubIdentity,
        extra_sans: &[String],
    ) -> Result<IssuedCert, PkiError> {
        ca::issue_server_cert(self, state_dir, identity, extra_sans)
    }

    /// FLUIDOS domain this CA issues agent identities in.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// SHA-256 of the CA certificate (DER), as pinned by bootstrap tokens.
    pub fn ca_hash(&self) -> [u8; 32] {
        fluidos_protocol::token::ca_hash(&self.ca_der)
    }

    /// Sign an agent CSR for `node`.
    ///
    /// Only the CSR's public key is used (after checking the CSR's self-signature): the names
    /// and extensions it requests are ignored. The certificate has CN = `node`, the single URI
    /// SAN `fluidos://<domain>/agents/<node>`, EKU clientAuth, a random serial, and is valid
    /// from 5 minutes ago for `validity`.
    pub fn sign_agent_csr(
        &self,
        csr_pem: &str,
        node: &str,
        validity: Duration,
    ) -> Result<IssuedCert, PkiError> {
        let public_key = csr::verified_public_key(csr_pem)?;
        let (not_before, not_after) = window(validity)?;
        csr::issue_agent(self, &public_key, node, not_before, not_after)
    }

    /// Generate a key and issue an agent certificate directly (load generators, tests).
    /// Returns the certificate and the PKCS#8 PEM key.
    pub fn issue_agent_cert(
        &self,
        node: &str,
        validity: Duration,
    ) -> Result<(IssuedCert, String), PkiError> {
        let (not_before, not_after) = window(validity)?;
        self.issue_agent_cert_between(node, not_before, not_after)
    }

    /// Like [`Pki::issue_agent_cert`] with an explicit window (tests need expired certificates).
    pub fn issue_agent_cert_between(
        &self,
        node: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(IssuedCert, String), PkiError> {
        if not_after <= not_before {
            return Err(PkiError::Validity);
        }
        let key = ca::generate_key()?;
        let cert = csr::issue_agent(self, &key, node, not_before, not_after)?;
        Ok((cert, key.serialize_pem()))
    }

    /// rustls server material: the chain `[server.crt, CA]` and `server.key`.
    pub fn server_cert_chain(
        &self,
        state_dir: &Path,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), PkiError> {
        let cert_path = state_dir.join(SERVER_CERT);
        let mut chain = read_certs(&cert_path)?;
        chain.push(self.ca_der.clone());
        let key_path = state_dir.join(SERVER_KEY);
        let key_pem = read(&key_path)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| PkiError::Malformed {
            path: key_path,
            what: "PEM private key",
        })?;
        Ok((chain, key))
    }

    /// Trust anchors for verifying agent (client) certificates: this CA only.
    pub fn client_roots(&self) -> RootCertStore {
        self.roots.clone()
    }
}

/// `[now - BACKDATE, now + validity]`, or [`PkiError::Validity`] when out of range.
fn window(validity: Duration) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    let now = OffsetDateTime::now_utc();
    let validity = time::Duration::try_from(validity).map_err(|_| PkiError::Validity)?;
    let backdate = time::Duration::try_from(BACKDATE).map_err(|_| PkiError::Validity)?;
    let not_after = now.checked_add(validity).ok_or(PkiError::Validity)?;
    let not_before = now.checked_sub(backdate).ok_or(PkiError::Validity)?;
    if not_after <= now {
        return Err(PkiError::Validity);
    }
    Ok((not_before, not_after))
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Every certificate in a PEM file (at least one).
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let pem = read(path)?;
    let malformed = || PkiError::Malformed {
        path: path.to_owned(),
        what: "PEM certificate",
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| malformed())?;
    if certs.is_empty() {
        return Err(malformed());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests;
