use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use rcgen::{
    CertificateParams, ExtendedKeyUsagePurpose, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, SanType,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::ring::default_provider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::{ServerName, UnixTime};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;
use fluidos_protocol::identity::Identity;

const DAY: Duration = Duration::from_secs(24 * 3600);

fn setup() -> (tempfile::TempDir, HubIdentity, Pki) {
    let dir = tempfile::tempdir().unwrap();
    let identity = HubIdentity::generate("edge.example");
    let pki = Pki::init(
        dir.path(),
        &identity,
        &["hub.lan".into(), "192.168.1.7".into()],
    )
    .unwrap();
    (dir, identity, pki)
}

fn csr_pem(key: &KeyPair, sans: Vec<SanType>, eku: Vec<ExtendedKeyUsagePurpose>) -> String {
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans;
    params.extended_key_usages = eku;
    params.serialize_request(key).unwrap().pem().unwrap()
}

/// Replace the 10th base64 character before the end of the body (inside the ECDSA `s`).
fn tamper_signature(pem: &str) -> String {
    let end = pem.find("-----END").unwrap();
    let body_end = pem[..end].trim_end_matches(['\n', '=']).len();
    let at = body_end - 10;
    let old = pem.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    format!("{}{new}{}", &pem[..at], &pem[at + 1..])
}

fn client_verifier(pki: &Pki) -> Arc<dyn ClientCertVerifier> {
    WebPkiClientVerifier::builder_with_provider(
        Arc::new(pki.client_roots()),
        Arc::new(default_provider()),
    )
    .build()
    .unwrap()
}

#[test]
fn init_then_load_round_trips_with_private_keys_0600() {
    let (dir, identity, pki) = setup();
    let loaded = Pki::load(dir.path(), &identity.domain).unwrap();
    assert_eq!(loaded.ca_der(), pki.ca_der());
    assert_eq!(loaded.ca_pem(), pki.ca_pem());
    assert_eq!(
        loaded.ca_hash(),
        fluidos_protocol::token::ca_hash(pki.ca_der())
    );
    for (file, mode) in [
        (CA_KEY, 0o600),
        (SERVER_KEY, 0o600),
        (CA_CERT, 0o644),
        (SERVER_CERT, 0o644),
    ] {
        let meta = fs::metadata(dir.path().join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    // A certificate issued by the loaded CA verifies against the original CA.
    let (cert, _) = loaded.issue_agent_cert("pi-1", DAY).unwrap();
    client_verifier(&pki)
        .verify_client_cert(&cert.der.into(), &[], UnixTime::now())
        .unwrap();
    let (chain, _key) = loaded.server_cert_chain(dir.path()).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].as_ref(), pki.ca_der());
}

#[test]
fn init_refuses_to_overwrite_an_existing_ca() {
    let (dir, identity, pki) = setup();
    let err = Pki::init(dir.path(), &identity, &[]).unwrap_err();
    assert!(matches!(err, PkiError::Exists(_)), "{err:?}");
    let again = Pki::load_or_init(dir.path(), &identity, &[]).unwrap();
    assert_eq!(again.ca_der(), pki.ca_der());
}

#[test]
fn load_or_init_restores_a_missing_server_cert_only_when_needed() {
    let (dir, identity, pki) = setup();
    assert!(!pki.ensure_server_cert(dir.path(), &identity, &[]).unwrap());
    fs::remove_file(dir.path().join(SERVER_KEY)).unwrap();
    let loaded = Pki::load_or_init(dir.path(), &identity, &[]).unwrap();
    assert_eq!(loaded.ca_der(), pki.ca_der());
    let (chain, _key) = loaded.server_cert_chain(dir.path()).unwrap();
    assert_eq!(peer_cert(&chain[0]).unwrap().identity, identity.identity());
}

#[test]
fn load_detects_a_key_that_does_not_match_the_ca() {
    let (dir, identity, _pki) = setup();
    fs::copy(dir.path().join(SERVER_KEY), dir.path().join(CA_KEY)).unwrap();
    let err = Pki::load(dir.path(), &identity.domain).unwrap_err();
    assert!(matches!(err, PkiError::KeyMismatch(_)), "{err:?}");
    fs::write(dir.path().join(CA_CERT), "garbage").unwrap();
    let err = Pki::load(dir.path(), &identity.domain).unwrap_err();
    assert!(matches!(err, PkiError::Malformed { .. }), "{err:?}");
}

#[test]
fn csr_signing_ignores_requested_names_and_usages() {
    let (_dir, _identity, pki) = setup();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = csr_pem(
        &key,
        vec![
            SanType::URI("fluidos://evil.example/nodes/admin".try_into().unwrap()),
            SanType::DnsName("hub.evil.example".try_into().unwrap()),
        ],
        vec![ExtendedKeyUsagePurpose::ServerAuth],
    );
    let issued = pki.sign_agent_csr(&csr, "pi-1", 7 * DAY).unwrap();
    let peer = peer_cert(&issued.der).unwrap();
    assert_eq!(
        peer.identity,
        Identity::Agent {
            domain: "edge.example".into(),
            node: "pi-1".into()
        }
    );
    assert_eq!(peer.serial_hex, issued.serial_hex);
    assert_eq!(peer.not_after, issued.not_after);
    assert_eq!(issued.serial_hex.len(), 32);

    let (_, cert) = X509Certificate::from_der(&issued.der).unwrap();
    let sans = &cert
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names;
    assert_eq!(sans.len(), 1, "only the hub-chosen URI SAN: {sans:?}");
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        key.public_key_raw()
    );
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap();
    assert_eq!(cn, "pi-1");
    let lifetime = issued.not_after - OffsetDateTime::now_utc();
    assert!(
        lifetime > time::Duration::days(7) - time::Duration::minutes(1),
        "{lifetime}"
    );
}

#[test]
fn bad_csrs_are_refused() {
    let (_dir, _identity, pki) = setup();
    assert!(matches!(
        pki.sign_agent_csr("not a csr", "pi-1", DAY),
        Err(PkiError::BadCsr)
    ));

    // A P-384 key is outside the hub's ECDSA P-256 policy.
    let p384 = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    assert!(matches!(
        pki.sign_agent_csr(&csr_pem(&p384, vec![], vec![]), "pi-1", DAY),
        Err(PkiError::BadCsr)
    ));

    // Change one base64 character near the end, inside the signature: the CSR still parses
    // but its self-signature no longer verifies.
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = csr_pem(&key, vec![], vec![]);
    let tampered = tamper_signature(&csr);
    let der = CertificateSigningRequestDer::from_pem_slice(tampered.as_bytes()).unwrap();
    let (_, parsed) = X509CertificationRequest::from_der(der.as_ref()).unwrap();
    assert!(parsed.verify_signature().is_err());
    assert!(matches!(
        pki.sign_agent_csr(&tampered, "pi-1", DAY),
        Err(PkiError::BadCsr)
    ));

    // A valid CSR for an invalid node name is an InvalidName, not a BadCsr.
    assert!(matches!(
        pki.sign_agent_csr(&csr, "Not_A_Label", DAY),
        Err(PkiError::InvalidName(_))
    ));
}

#[test]
fn rustls_accepts_issued_agent_certs_and_rejects_expired_or_foreign_ones() {
    let (_dir, _identity, pki) = setup();
    let verifier = client_verifier(&pki);
    let (good, key_pem) = pki.issue_agent_cert("pi-1", DAY).unwrap();
    assert!(key_pem.contains("PRIVATE KEY"));
    verifier
        .verify_client_cert(&good.der.into(), &[], UnixTime::now())
        .unwrap();

    let now = OffsetDateTime::now_utc();
    let (expired, _) = pki
        .issue_agent_cert_between(
            "pi-1",
            now - time::Duration::days(2),
            now - time::Duration::days(1),
        )
        .unwrap();
    let err = verifier
        .verify_client_cert(&expired.der.into(), &[], UnixTime::now())
        .unwrap_err();
    assert!(format!("{err:?}").contains("Expired"), "{err:?}");

    let (_other_dir, _, other) = setup();
    let (foreign, _) = other.issue_agent_cert("pi-1", DAY).unwrap();
    assert!(
        verifier
            .verify_client_cert(&foreign.der.into(), &[], UnixTime::now())
            .is_err()
    );
}

#[test]
fn server_cert_verifies_for_local_names_and_carries_the_hub_identity() {
    let (dir, identity, pki) = setup();
    let (chain, _key) = pki.server_cert_chain(dir.path()).unwrap();
    let verifier = WebPkiServerVerifier::builder_with_provider(
        Arc::new(pki.client_roots()),
        Arc::new(default_provider()),
    )
    .build()
    .unwrap();
    for name in ["localhost", "127.0.0.1", "::1", "hub.lan", "192.168.1.7"] {
        let server_name = ServerName::try_from(name).unwrap();
        verifier
            .verify_server_cert(&chain[0], &chain[1..], &server_name, &[], UnixTime::now())
            .unwrap();
    }
    let wrong = ServerName::try_from("other.example").unwrap();
    assert!(
        verifier
            .verify_server_cert(&chain[0], &chain[1..], &wrong, &[], UnixTime::now())
            .is_err()
    );
    // The same certificate also works as a client certificate (REAR mutual TLS).
    client_verifier(&pki)
        .verify_client_cert(&chain[0], &[], UnixTime::now())
        .unwrap();
    assert_eq!(peer_cert(&chain[0]).unwrap().identity, identity.identity());
}

#[test]
fn peer_cert_rejects_garbage_and_identityless_certs() {
    assert!(matches!(peer_cert(b"nope"), Err(PkiError::BadCert(_))));
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let plain = CertificateParams::new(vec!["example.com".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    assert!(matches!(peer_cert(plain.der()), Err(PkiError::BadCert(_))));
}

#[test]
fn validity_windows_are_checked() {
    let (_dir, _identity, pki) = setup();
    assert!(matches!(
        pki.issue_agent_cert("pi-1", Duration::ZERO),
        Err(PkiError::Validity)
    ));
    assert!(matches!(
        pki.issue_agent_cert("pi-1", Duration::MAX),
        Err(PkiError::Validity)
    ));
    let now = OffsetDateTime::now_utc();
    assert!(matches!(
        pki.issue_agent_cert_between("pi-1", now, now),
        Err(PkiError::Validity)
    ));
}
