//! Certificate verifiers that accept a chain webpki verifies, or a pinned leaf certificate.
//!
//! A pinned leaf skips chain (and, on the client side, server name) verification but must be
//! within its validity period. Handshake signatures and supported schemes are always delegated
//! to the inner webpki verifier, so the peer must hold the key of the certificate it shows.

use std::collections::HashSet;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::fingerprint;

/// Pinned leaf fingerprints.
#[derive(Debug, Clone, Default)]
pub(super) struct Pins(Arc<HashSet<[u8; 32]>>);

impl Pins {
    pub(super) fn new(fingerprints: &[[u8; 32]]) -> Self {
        Self(Arc::new(fingerprints.iter().copied().collect()))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Some(result)` when `leaf` is pinned: whether it is valid at `now`. `None` otherwise.
    fn check(&self, leaf: &CertificateDer<'_>, now: UnixTime) -> Option<Result<(), rustls::Error>> {
        if self.0.is_empty() || !self.0.contains(&fingerprint(leaf)) {
            return None;
        }
        Some(within_validity(leaf, now))
    }
}

/// Whether `der` is valid at `now` (no chain, no name: only the validity period).
fn within_validity(der: &[u8], now: UnixTime) -> Result<(), rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| bad())?;
    let now = i64::try_from(now.as_secs()).map_err(|_| bad())?;
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.timestamp() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

/// Client certificates: pinned leaf, or a chain the inner webpki verifier accepts.
#[derive(Debug)]
pub(super) struct PinnedOrWebPkiClient {
    inner: Arc<dyn ClientCertVerifier>,
    pins: Pins,
}

impl PinnedOrWebPkiClient {
    pub(super) fn new(inner: Arc<dyn ClientCertVerifier>, pins: Pins) -> Self {
        Self { inner, pins }
    }
}

impl ClientCertVerifier for PinnedOrWebPkiClient {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.pins.check(end_entity, now) {
            Some(valid) => valid.map(|()| ClientCertVerified::assertion()),
            None => self
                .inner
                .verify_client_cert(end_entity, intermediates, now),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Server certificates: pinned leaf, or a chain and name the inner webpki verifier accepts.
#[derive(Debug)]
pub(super) struct PinnedOrWebPkiServer {
    inner: Arc<WebPkiServerVerifier>,
    pins: Pins,
}

impl PinnedOrWebPkiServer {
    pub(super) fn new(inner: Arc<WebPkiServerVerifier>, pins: Pins) -> Self {
        Self { inner, pins }
    }
}

impl ServerCertVerifier for PinnedOrWebPkiServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pins.check(end_entity, now) {
            Some(valid) => valid.map(|()| ServerCertVerified::assertion()),
            None => self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_certificates_must_be_within_their_validity() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["peer".to_owned()]).unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(2_000_000).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = cert.der().clone();
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));

        let pins = Pins::new(&[fingerprint(&der)]);
        assert!(matches!(pins.check(&der, at(1_500_000)), Some(Ok(()))));
        let expired = pins.check(&der, at(2_000_001));
        assert!(matches!(
            expired,
            Some(Err(rustls::Error::InvalidCertificate(
                CertificateError::Expired
            )))
        ));
        let early = pins.check(&der, at(999_999));
        assert!(matches!(
            early,
            Some(Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet
            )))
        ));
        assert!(Pins::new(&[[0; 32]]).check(&der, at(1_500_000)).is_none());
        assert!(Pins::default().check(&der, at(1_500_000)).is_none());
    }
}
