//! Creating and loading the CA, and issuing the hub's own server certificate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use fluidos_protocol::identity::valid_domain;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{
    CA_CERT, CA_KEY, CA_VALIDITY, IssuedCert, Pki, PkiError, SERVER_CERT, SERVER_KEY,
    SERVER_VALIDITY, peer, read,
};
use crate::hub_identity::{self, HubIdentity, write_atomic};

/// Mode of private key files.
const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
const CERT_MODE: u32 = 0o644;

/// Create `state_dir` (and parents) with mode 0700 when it does not exist yet.
pub(super) fn create_state_dir(state_dir: &Path) -> Result<(), PkiError> {
    hub_identity::create_state_dir(state_dir).map_err(|source| PkiError::Write {
        path: state_dir.to_owned(),
        source,
    })
}

/// A fresh ECDSA P-256 key.
pub(super) fn generate_key() -> Result<KeyPair, PkiError> {
    Ok(KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?)
}

/// 16 random bytes, first byte in `0x40..=0x7f`: positive and always encoded in 16 bytes.
pub(super) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// Set `params`' validity to [`super::window`] of `lifetime`.
fn validity(params: &mut CertificateParams, lifetime: std::time::Duration) -> Result<(), PkiError> {
    (params.not_before, params.not_after) = super::window(lifetime)?;
    Ok(())
}

fn common_name(cn: String) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// Generate the CA key and self-signed certificate and write both files.
pub(super) fn create(state_dir: &Path, identity: &HubIdentity) -> Result<Pki, PkiError> {
    if !valid_domain(&identity.domain) {
        return Err(PkiError::InvalidName(identity.domain.clone()));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(format!(
        "fluidos-hub CA {}/{}",
        identity.domain, identity.node_id
    ));
    // Path length 0: the CA signs leaf certificates only.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    validity(&mut params, CA_VALIDITY)?;
    let key = generate_key()?;
    let cert = params.self_signed(&key)?;
    write_file(
        &state_dir.join(CA_KEY),
        key.serialize_pem().as_bytes(),
        KEY_MODE,
    )?;
    write_file(&state_dir.join(CA_CERT), cert.pem().as_bytes(), CERT_MODE)?;
    let ca_der = cert.der().clone();
    let roots = roots(&ca_der, &state_dir.join(CA_CERT))?;
    Ok(Pki {
        domain: identity.domain.clone(),
        ca_pem: cert.pem(),
        ca_der,
        issuer: Issuer::new(params, key),
        roots,
    })
}

/// Read `ca.crt` and `ca.key`, and check they belong together.
pub(super) fn load(state_dir: &Path, domain: &str) -> Result<Pki, PkiError> {
    if !valid_domain(domain) {
        return Err(PkiError::InvalidName(domain.to_owned()));
    }
    let cert_path = state_dir.join(CA_CERT);
    let key_path = state_dir.join(CA_KEY);
    let cert_bytes = read(&cert_path)?;
    let malformed_cert = || PkiError::Malformed {
        path: cert_path.clone(),
        what: "PEM CA certificate",
    };
    let ca_pem = String::from_utf8(cert_bytes).map_err(|_| malformed_cert())?;
    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|_| malformed_cert())?;
    let key_pem = String::from_utf8(read(&key_path)?).map_err(|_| PkiError::Malformed {
        path: key_path.clone(),
        what: "PEM private key",
    })?;
    let key = KeyPair::from_pem(&key_pem).map_err(|_| PkiError::Malformed {
        path: key_path.clone(),
        what: "PEM private key",
    })?;
    if peer::subject_public_key(&ca_der).map_err(|_| malformed_cert())? != key.public_key_raw() {
        return Err(PkiError::KeyMismatch(key_path));
    }
    let issuer = Issuer::from_ca_cert_der(&ca_der, key).map_err(|_| malformed_cert())?;
    let roots = roots(&ca_der, &cert_path)?;
    Ok(Pki {
        domain: domain.to_owned(),
        ca_pem,
        ca_der,
        issuer,
        roots,
    })
}

fn roots(ca_der: &CertificateDer<'static>, path: &Path) -> Result<RootCertStore, PkiError> {
    let mut roots = RootCertStore::empty();
    roots.add(ca_der.clone()).map_err(|_| PkiError::Malformed {
        path: path.to_owned(),
        what: "CA certificate usable as trust anchor",
    })?;
    Ok(roots)
}

/// Issue and write `server.crt`/`server.key`.
pub(super) fn issue_server_cert(
    pki: &Pki,
    state_dir: &Path,
    identity: &HubIdentity,
    extra_sans: &[String],
) -> Result<IssuedCert, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(format!(
        "fluidos-hub {}/{}",
        identity.domain, identity.node_id
    ));
    params.subject_alt_names = server_sans(identity, extra_sans)?;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    validity(&mut params, SERVER_VALIDITY)?;
    let key = generate_key()?;
    let cert = params.signed_by(&key, &pki.issuer)?;
    let issued = peer::issued(cert.der(), cert.pem())?;
    write_file(
        &state_dir.join(SERVER_KEY),
        key.serialize_pem().as_bytes(),
        KEY_MODE,
    )?;
    write_file(
        &state_dir.join(SERVER_CERT),
        issued.pem.as_bytes(),
        CERT_MODE,
    )?;
    tracing::info!(
        identity = %identity.uri(),
        serial = %issued.serial_hex,
        not_after = %issued.not_after,
        "issued hub server certificate"
    );
    Ok(issued)
}

/// DNS, IP and URI SANs of the server certificate, deduplicated, in a stable order.
fn server_sans(identity: &HubIdentity, extra_sans: &[String]) -> Result<Vec<SanType>, PkiError> {
    let mut dns = vec!["localhost".to_owned()];
    dns.extend(host_name());
    let mut ips: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    for san in extra_sans
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        match san.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(san.to_ascii_lowercase()),
        }
    }
    let mut sans = Vec::new();
    for name in dns {
        let san = SanType::DnsName(
            name.clone()
                .try_into()
                .map_err(|_| PkiError::InvalidName(name))?,
        );
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    for ip in ips {
        if !sans.contains(&SanType::IpAddress(ip)) {
            sans.push(SanType::IpAddress(ip));
        }
    }
    let uri = identity.uri();
    sans.push(SanType::URI(
        uri.clone()
            .try_into()
            .map_err(|_| PkiError::InvalidName(uri))?,
    ));
    Ok(sans)
}

/// This machine's host name (lowercase), when it is a usable DNS name other than `localhost`.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .find(|h| !h.is_empty())
        .filter(|h| h != "localhost" && valid_domain(h))
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), PkiError> {
    write_atomic(path, contents, mode).map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}
