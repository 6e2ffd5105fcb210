//! Reading identities, serials and expiry back out of certificates (DER).

use fluidos_protocol::identity::Identity;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::{IssuedCert, PkiError};

/// What the hub learns from an (already TLS-verified) peer certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCert {
    /// The first URI SAN that parses as a FLUIDOS identity.
    pub identity: Identity,
    /// Lowercase hex of the serial's DER content bytes (matches [`IssuedCert::serial_hex`]).
    pub serial_hex: String,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

/// Parse a peer certificate: identity from the first URI SAN that is a FLUIDOS identity.
///
/// This does not verify anything; rustls already did during the handshake.
pub fn peer_cert(der: &[u8]) -> Result<PeerCert, PkiError> {
    let cert = parse(der)?;
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| PkiError::BadCert(format!("invalid subject alternative names: {e}")))?;
    let identity = sans
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .find_map(|name| match name {
            GeneralName::URI(uri) => Identity::parse(uri).ok(),
            _ => None,
        })
        .ok_or_else(|| PkiError::BadCert("no FLUIDOS identity among the URI SANs".to_owned()))?;
    Ok(PeerCert {
        identity,
        serial_hex: serial_hex(&cert),
        not_after: cert.validity().not_after.to_datetime(),
    })
}

/// The [`IssuedCert`] view of a certificate the hub just signed.
pub(super) fn issued(der: &[u8], pem: String) -> Result<IssuedCert, PkiError> {
    let cert = parse(der)?;
    Ok(IssuedCert {
        serial_hex: serial_hex(&cert),
        not_after: cert.validity().not_after.to_datetime(),
        der: der.to_vec(),
        pem,
    })
}

/// End of validity of a certificate.
pub(super) fn not_after(der: &[u8]) -> Result<OffsetDateTime, PkiError> {
    Ok(parse(der)?.validity().not_after.to_datetime())
}

/// The raw subject public key bits of a certificate (to match it against a key pair).
pub(super) fn subject_public_key(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    Ok(parse(der)?.public_key().subject_public_key.data.to_vec())
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| PkiError::BadCert(format!("not an X.509 certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::BadCert(
            "trailing bytes after the certificate".to_owned(),
        ));
    }
    Ok(cert)
}

/// One spelling of serials everywhere: lowercase hex of the DER INTEGER content bytes.
fn serial_hex(cert: &X509Certificate<'_>) -> String {
    hex::encode(cert.raw_serial())
}
