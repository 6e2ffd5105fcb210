//! rustls client configurations, one per stage of trust:
//!
//! * [`ca_fetch_config`]: accepts any server certificate. Used for exactly one request,
//!   `GET /v1/ca`, whose answer is then checked against the hash in the bootstrap token.
//! * [`pinned_ca_config`]: trusts only the pinned hub CA, no client certificate (enrollment).
//! * [`mtls_config`]: trusts only the hub CA and presents the agent certificate.
//!
//! The crypto provider is ring, passed explicitly so that library users (tests) need not install
//! a process default. ALPN is set here: `fluidos-enroll/1` selects the hub's enrollment TLS
//! config, `http/1.1` the mutual-TLS one (docs/ARCHITECTURE.md, "Agent API").

use std::sync::Arc;

use fluidos_protocol::ALPN_ENROLL;
use rustls::client::WantsClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ConfigBuilder, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// ALPN of every request over mutual TLS.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No certificate in a PEM document.
    #[error("no certificate found in the {0} PEM")]
    NoCertificate(&'static str),
    /// Malformed PEM.
    #[error("invalid {what} PEM")]
    Pem {
        /// Which document.
        what: &'static str,
        /// The parse error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The CA certificate cannot be a trust anchor.
    #[error("the hub CA certificate is not usable as a trust anchor")]
    Anchor(#[source] rustls::Error),
    /// rustls refused the configuration (e.g. key and certificate do not match).
    #[error("cannot build the TLS client configuration")]
    Config(#[source] rustls::Error),
}

/// The ring crypto provider (the only one this workspace uses).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// All certificates of a PEM document (at least one).
pub fn certificates(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem { what, source })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(what));
    }
    Ok(certs)
}

/// The first certificate of a PEM document.
pub fn first_certificate(
    pem: &[u8],
    what: &'static str,
) -> Result<CertificateDer<'static>, TlsError> {
    certificates(pem, what)?
        .into_iter()
        .next()
        .ok_or(TlsError::NoCertificate(what))
}

/// Trust any server certificate: only for fetching the CA that the token then pins.
pub fn ca_fetch_config() -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(AcceptAnyServerCert {
        provider: provider.clone(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_ENROLL.to_vec()];
    Ok(config)
}

/// Trust only `ca`, no client certificate, enrollment ALPN.
pub fn pinned_ca_config(ca: CertificateDer<'static>) -> Result<ClientConfig, TlsError> {
    let mut config = trusting(ca)?.with_no_client_auth();
    config.alpn_protocols = vec![ALPN_ENROLL.to_vec()];
    Ok(config)
}

/// Trust only the CA in `ca_pem`, present `cert_pem`/`key_pem`, ALPN `http/1.1`.
pub fn mtls_config(
    ca_pem: &[u8],
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ClientConfig, TlsError> {
    let ca = first_certificate(ca_pem, "hub CA")?;
    let chain = certificates(cert_pem, "agent certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| TlsError::Pem {
        what: "agent key",
        source,
    })?;
    let mut config = trusting(ca)?
        .with_client_auth_cert(chain, key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

fn trusting(
    ca: CertificateDer<'static>,
) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add(ca).map_err(TlsError::Anchor)?;
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_root_certificates(roots))
}

/// Accepts any server certificate but still checks the handshake signatures (so the peer does
/// hold the key of the certificate it shows). Used only for `GET /v1/ca`.
#[derive(Debug)]
struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Trust is established afterwards, by comparing the fetched CA with the token's hash.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn configs_carry_the_right_alpn() {
        let (cert, key) = self_signed();
        assert_eq!(
            ca_fetch_config().unwrap().alpn_protocols,
            vec![ALPN_ENROLL.to_vec()]
        );
        let ca = first_certificate(cert.as_bytes(), "ca").unwrap();
        assert_eq!(
            pinned_ca_config(ca).unwrap().alpn_protocols,
            vec![ALPN_ENROLL.to_vec()]
        );
        let mtls = mtls_config(cert.as_bytes(), cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(mtls.alpn_protocols, vec![ALPN_HTTP1.to_vec()]);
    }

    #[test]
    fn bad_pem_is_an_error_not_a_panic() {
        assert!(matches!(
            first_certificate(b"garbage", "ca"),
            Err(TlsError::NoCertificate("ca"))
        ));
        let (cert, _) = self_signed();
        let err = mtls_config(cert.as_bytes(), cert.as_bytes(), b"not a key").unwrap_err();
        assert!(matches!(
            err,
            TlsError::Pem {
                what: "agent key",
                ..
            }
        ));
    }
}
