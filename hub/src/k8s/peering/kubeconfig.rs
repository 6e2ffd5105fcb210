//! The kubeconfig handed to a buyer: one cluster (our API server and its CA), one user (the
//! contract's ServiceAccount token), one context pinned to the contract namespace, selected as
//! the current context. Pure; the REAR wire carries it base64-encoded ([`encode_base64`]).

use k8s_openapi::ByteString;
use serde::Serialize;

/// What goes into a buyer's kubeconfig.
#[derive(Debug, Clone, Copy)]
pub struct KubeconfigParts<'a> {
    /// Name of the cluster entry (our cluster id; contracts of one provider share it).
    pub cluster_name: &'a str,
    /// API server URL.
    pub server: &'a str,
    /// PEM CA bundle of `server`; empty: no `certificate-authority-data` (system roots).
    pub ca_pem: &'a str,
    /// Bearer token.
    pub token: &'a str,
    /// The contract namespace: the default namespace, and the user and context name (so
    /// kubeconfigs of several contracts merge without clobbering each other).
    pub namespace: &'a str,
}

#[derive(Serialize)]
struct File<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: [Named<'a, Cluster<'a>>; 1],
    users: [Named<'a, User<'a>>; 1],
    contexts: [Named<'a, Context<'a>>; 1],
    #[serde(rename = "current-context")]
    current_context: &'a str,
}

#[derive(Serialize)]
struct Named<'a, T> {
    name: &'a str,
    #[serde(flatten)]
    entry: Entry<T>,
}

/// `cluster:` / `user:` / `context:` key, chosen by the variant.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum Entry<T> {
    Cluster(T),
    User(T),
    Context(T),
}

#[derive(Serialize)]
struct Cluster<'a> {
    server: &'a str,
    #[serde(
        rename = "certificate-authority-data",
        skip_serializing_if = "Option::is_none"
    )]
    certificate_authority_data: Option<ByteString>,
}

#[derive(Serialize)]
struct User<'a> {
    token: &'a str,
}

#[derive(Serialize)]
struct Context<'a> {
    cluster: &'a str,
    user: &'a str,
    namespace: &'a str,
}

/// The kubeconfig of `parts` as YAML.
pub fn kubeconfig_yaml(parts: &KubeconfigParts<'_>) -> Result<String, serde_yaml::Error> {
    let ca = (!parts.ca_pem.is_empty()).then(|| ByteString(parts.ca_pem.as_bytes().to_vec()));
    let file = File {
        api_version: "v1",
        kind: "Config",
        clusters: [Named {
            name: parts.cluster_name,
            entry: Entry::Cluster(Cluster {
                server: parts.server,
                certificate_authority_data: ca,
            }),
        }],
        users: [Named {
            name: parts.namespace,
            entry: Entry::User(User { token: parts.token }),
        }],
        contexts: [Named {
            name: parts.namespace,
            entry: Entry::Context(Context {
                cluster: parts.cluster_name,
                user: parts.namespace,
                namespace: parts.namespace,
            }),
        }],
        current_context: parts.namespace,
    };
    serde_yaml::to_string(&file)
}

/// `bytes` in standard base64 (padded), as Kubernetes and the REAR wire write it.
pub fn encode_base64(bytes: &[u8]) -> String {
    match serde_json::to_value(ByteString(bytes.to_vec())) {
        Ok(serde_json::Value::String(encoded)) => encoded,
        // ByteString always serializes to a string.
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use kube::config::{KubeConfigOptions, Kubeconfig};

    use super::*;

    fn parts<'a>(ca_pem: &'a str) -> KubeconfigParts<'a> {
        KubeconfigParts {
            cluster_name: "node-1",
            server: "https://203.0.113.10:6443",
            ca_pem,
            token: "eyJhbGciOi.token",
            namespace: "fluidos-peer-contract-1",
        }
    }

    #[test]
    fn kubeconfig_parses_back_with_server_ca_token_and_namespace() {
        let yaml = kubeconfig_yaml(&parts("-----BEGIN CERTIFICATE-----\nAAA\n")).unwrap();
        let kc: Kubeconfig = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(kc.clusters.len(), 1);
        assert_eq!(kc.auth_infos.len(), 1);
        assert_eq!(kc.contexts.len(), 1);
        assert_eq!(
            kc.current_context.as_deref(),
            Some("fluidos-peer-contract-1")
        );
        let cluster = kc.clusters[0].cluster.clone().unwrap();
        assert_eq!(kc.clusters[0].name, "node-1");
        assert_eq!(cluster.server.as_deref(), Some("https://203.0.113.10:6443"));
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some(encode_base64(b"-----BEGIN CERTIFICATE-----\nAAA\n").as_str())
        );
        assert!(cluster.insecure_skip_tls_verify.is_none());
        let context = kc.contexts[0].context.clone().unwrap();
        assert_eq!(context.cluster, "node-1");
        assert_eq!(
            context.user.as_deref(),
            Some(kc.auth_infos[0].name.as_str())
        );
        assert_eq!(
            context.namespace.as_deref(),
            Some("fluidos-peer-contract-1")
        );
        assert!(yaml.contains("token: eyJhbGciOi.token"), "{yaml}");
    }

    #[test]
    fn empty_ca_omits_certificate_authority_data() {
        let yaml = kubeconfig_yaml(&parts("")).unwrap();
        assert!(!yaml.contains("certificate-authority"), "{yaml}");
        let kc: Kubeconfig = serde_yaml::from_str(&yaml).unwrap();
        assert!(
            kc.clusters[0]
                .cluster
                .as_ref()
                .unwrap()
                .certificate_authority_data
                .is_none()
        );
    }

    #[tokio::test]
    async fn kube_loads_the_kubeconfig_as_a_client_config() {
        let ca = rcgen::generate_simple_self_signed(vec!["kube".to_owned()]).unwrap();
        let ca_pem = ca.cert.pem();
        let yaml = kubeconfig_yaml(&parts(&ca_pem)).unwrap();
        let kc: Kubeconfig = serde_yaml::from_str(&yaml).unwrap();
        let options = KubeConfigOptions::default();
        let config = kube::Config::from_custom_kubeconfig(kc, &options)
            .await
            .unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://203.0.113.10:6443/");
        assert_eq!(config.default_namespace, "fluidos-peer-contract-1");
        assert_eq!(config.root_cert, Some(vec![ca.cert.der().to_vec()]));
        assert!(!config.accept_invalid_certs);
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(encode_base64(b"apiVersion: v1\n"), "YXBpVmVyc2lvbjogdjEK");
        assert_eq!(encode_base64(b"kc"), "a2M=");
        assert_eq!(encode_base64(b""), "");
    }
}
