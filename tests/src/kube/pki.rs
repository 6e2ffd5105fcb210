//! The control plane's test-time PKI: a CA, the apiserver's serving certificate (SANs
//! `127.0.0.1`, `localhost`), the service-account key pair (public half as PKIX `PUBLIC KEY`,
//! which `--service-account-key-file` requires) and the admin token file.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// The generated material, as PEM text.
pub(super) struct Pki {
    pub(super) ca_pem: String,
    serving_cert_pem: String,
    serving_key_pem: String,
    sa_public_pem: String,
    sa_private_pem: String,
    pub(super) admin_token: String,
}

/// Where [`Pki::write`] put each file.
pub(super) struct PkiFiles {
    pub(super) ca_cert: PathBuf,
    pub(super) serving_cert: PathBuf,
    pub(super) serving_key: PathBuf,
    pub(super) sa_public: PathBuf,
    pub(super) sa_private: PathBuf,
    pub(super) tokens: PathBuf,
}

impl Pki {
    /// Fresh keys and certificates, and a random admin token.
    pub(super) fn generate() -> anyhow::Result<Pki> {
        let ca_key = KeyPair::generate()?;
        let ca_params = ca_params();
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let serving_key = KeyPair::generate()?;
        let serving_cert = serving_params()?.signed_by(&serving_key, &issuer)?;
        let sa_key = KeyPair::generate()?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            serving_cert_pem: serving_cert.pem(),
            serving_key_pem: serving_key.serialize_pem(),
            sa_public_pem: sa_key.public_key_pem(),
            sa_private_pem: sa_key.serialize_pem(),
            admin_token: super::random_hex(24),
        })
    }

    /// Write every file into `dir` (created).
    pub(super) fn write(&self, dir: &Path) -> anyhow::Result<PkiFiles> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files = PkiFiles {
            ca_cert: dir.join("ca.crt"),
            serving_cert: dir.join("apiserver.crt"),
            serving_key: dir.join("apiserver.key"),
            sa_public: dir.join("sa.pub"),
            sa_private: dir.join("sa.key"),
            tokens: dir.join("tokens.csv"),
        };
        super::write_private(&files.ca_cert, &self.ca_pem)?;
        super::write_private(&files.serving_cert, &self.serving_cert_pem)?;
        super::write_private(&files.serving_key, &self.serving_key_pem)?;
        super::write_private(&files.sa_public, &self.sa_public_pem)?;
        super::write_private(&files.sa_private, &self.sa_private_pem)?;
        super::write_private(&files.tokens, &token_file_line(&self.admin_token))?;
        Ok(files)
    }
}

/// The `--token-auth-file` line of the admin: `token,user,uid,"groups"`.
fn token_file_line(token: &str) -> String {
    format!("{token},test-admin,test-admin-uid,\"system:masters\"\n")
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name("fluidos-tests kube CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn serving_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params.distinguished_name = common_name("kube-apiserver");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_public_key_is_pkix_pem() {
        let pki = Pki::generate().unwrap();
        assert!(pki.sa_public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(
            pki.sa_private_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(pki.admin_token.len(), 48);
    }

    #[test]
    fn token_line_puts_the_admin_in_system_masters() {
        assert_eq!(
            token_file_line("abc"),
            "abc,test-admin,test-admin-uid,\"system:masters\"\n"
        );
    }
}
