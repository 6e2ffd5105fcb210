//! Agent certificates: verifying a CSR and issuing the certificate from its public key only.

use fluidos_protocol::identity::{Identity, valid_node_name};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType, SubjectPublicKeyInfo,
};
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use super::{IssuedCert, Pki, PkiError, ca, peer};

/// The public key of a PEM CSR whose self-signature verifies; ECDSA P-256 only.
///
/// Requested names and extensions are deliberately not looked at: the hub decides them.
pub(super) fn verified_public_key(csr_pem: &str) -> Result<SubjectPublicKeyInfo, PkiError> {
    let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
        .map_err(|e| bad_csr("not a PEM certificate request", &e))?;
    let (rest, csr) = X509CertificationRequest::from_der(der.as_ref())
        .map_err(|e| bad_csr("not a PKCS#10 request", &e))?;
    if !rest.is_empty() {
        return Err(bad_csr("trailing bytes", &rest.len()));
    }
    csr.verify_signature()
        .map_err(|e| bad_csr("signature does not verify", &e))?;
    let raw = csr.certification_request_info.subject_pki.raw;
    let key =
        SubjectPublicKeyInfo::from_der(raw).map_err(|e| bad_csr("unsupported public key", &e))?;
    if *key.algorithm() != PKCS_ECDSA_P256_SHA256 {
        return Err(bad_csr("public key is not ECDSA P-256", &key.algorithm()));
    }
    Ok(key)
}

/// Log why a CSR was refused (at debug: it is client input) and return [`PkiError::BadCsr`].
fn bad_csr(reason: &'static str, detail: &dyn std::fmt::Debug) -> PkiError {
    tracing::debug!(reason, detail = ?detail, "refused certificate signing request");
    PkiError::BadCsr
}

/// Issue the agent certificate of `node` for `public_key`, signed by the hub CA.
pub(super) fn issue_agent(
    pki: &Pki,
    public_key: &impl PublicKeyData,
    node: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<IssuedCert, PkiError> {
    if !valid_node_name(node) {
        return Err(PkiError::InvalidName(node.to_owned()));
    }
    let uri = Identity::Agent {
        domain: pki.domain.clone(),
        node: node.to_owned(),
    }
    .to_uri();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, node);
    params.distinguished_name = dn;
    params.subject_alt_names = vec![SanType::URI(
        uri.clone()
            .try_into()
            .map_err(|_| PkiError::InvalidName(uri))?,
    )];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(ca::random_serial());
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(public_key, &pki.issuer)?;
    let issued = peer::issued(cert.der(), cert.pem())?;
    tracing::debug!(
        node,
        serial = %issued.serial_hex,
        not_after = %issued.not_after,
        "issued agent certificate"
    );
    Ok(issued)
}
