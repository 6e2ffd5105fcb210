//! Connecting to the API server: a kubeconfig file when one is configured, else kube's usual
//! inference (in-cluster service account, then `$KUBECONFIG` / `~/.kube/config`). Also
//! returns what a buyer's kubeconfig needs to reach the same server (URL and CA bundle).

use std::path::{Path, PathBuf};

use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Why the hub cannot talk to the API server.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The kubeconfig file cannot be read or parsed.
    #[error("cannot read kubeconfig {path}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No configuration could be inferred.
    #[error("no Kubernetes configuration (not in a cluster, no KUBECONFIG, no ~/.kube/config)")]
    Infer(#[source] kube::config::InferConfigError),
    /// The client cannot be built (TLS material, URL).
    #[error("cannot build the Kubernetes client")]
    Client(#[source] kube::Error),
}

/// A client and how to reach its server.
#[derive(Clone)]
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The server URL, e.g. `https://10.0.0.1:443`.
    pub server_url: String,
    /// PEM CA bundle the client trusts for the server (empty: system roots).
    pub ca_pem: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

/// Connect using `kubeconfig`, or infer the configuration when `None`.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<Connection, ConnectError> {
    let config = match kubeconfig {
        Some(path) => {
            let read_error = |source| ConnectError::Kubeconfig {
                path: path.to_owned(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(read_error)?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(read_error)?
        }
        None => Config::infer().await.map_err(ConnectError::Infer)?,
    };
    let server_url = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let ca_pem = config
        .root_cert
        .as_deref()
        .map(pem_bundle)
        .unwrap_or_default();
    let client = Client::try_from(config).map_err(ConnectError::Client)?;
    Ok(Connection {
        client,
        server_url,
        ca_pem,
    })
}

/// DER certificates as one PEM bundle.
fn pem_bundle(certs: &[Vec<u8>]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for der in certs {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = engine.encode(der);
        for line in text.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundle_wraps_at_64_columns_and_parses_back() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = pem_bundle(&[der.clone(), der.clone()]);
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let body: String = pem
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(decoded, der);
    }
}
