//! `store` and `[kubernetes]`: which backend keeps the FLUIDOS objects and, in Kubernetes
//! mode, where (namespace, API server), who runs the controllers (Lease leader election), and
//! what the Kubernetes-only features do (Nodes → Flavors, peering credentials). Pure:
//! [`KubernetesFile`] in, validated [`KubernetesConfig`] out.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Default namespace of every FLUIDOS object in Kubernetes mode.
pub const DEFAULT_NAMESPACE: &str = "fluidos";
/// Default Lease name.
pub const DEFAULT_LEASE_NAME: &str = "fluidos-hub";
/// Default Lease duration (failover takes about this long).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(10);
/// Default label that makes a Node a Flavor (`<label>=true`), as upstream.
pub const DEFAULT_NODE_LABEL: &str = "node-role.fluidos.eu/resources";
/// Default ClusterRole a buyer is bound to inside its contract namespace.
pub const DEFAULT_PEER_CLUSTER_ROLE: &str = "fluidos-peer";
/// Default prefix of contract namespaces.
pub const DEFAULT_PEER_NAMESPACE_PREFIX: &str = "fluidos-peer-";

/// Which backend keeps the FLUIDOS objects (top-level `store`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// `hub.db` in the state directory.
    #[default]
    Sqlite,
    /// Custom resources on a Kubernetes API server.
    Kubernetes,
}

/// `[kubernetes]` in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesFile {
    /// Namespace of the FLUIDOS objects.
    pub namespace: Option<String>,
    /// Kubeconfig file; default: in-cluster config, else `$KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Run controllers on the Lease holder only.
    pub leader_election: Option<bool>,
    /// Lease name.
    pub lease_name: Option<String>,
    /// Lease duration, e.g. `"10s"`.
    #[serde(default, with = "humantime_serde")]
    pub lease_duration: Option<Duration>,
    /// Turn labelled Nodes into Flavors.
    pub node_flavors: Option<bool>,
    /// The Node label (`<label>=true`).
    pub node_label: Option<String>,
    /// Hand buyers namespace-scoped credentials at purchase.
    pub peering: Option<bool>,
    /// ClusterRole bound in each contract namespace.
    pub peer_cluster_role: Option<String>,
    /// Prefix of contract namespaces.
    pub peer_namespace_prefix: Option<String>,
    /// API server URL written into buyers' kubeconfigs; default: the hub client's.
    pub peer_api_server: Option<String>,
}

/// The resolved Kubernetes settings (used when `store = "kubernetes"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesConfig {
    /// Namespace of the FLUIDOS objects.
    pub namespace: String,
    /// Kubeconfig file, or `None` to infer.
    pub kubeconfig: Option<PathBuf>,
    /// Leader election on.
    pub leader_election: bool,
    /// Lease name.
    pub lease_name: String,
    /// Lease duration.
    pub lease_duration: Duration,
    /// Nodes → Flavors on.
    pub node_flavors: bool,
    /// The Node label.
    pub node_label: String,
    /// Peering credentials on.
    pub peering: bool,
    /// ClusterRole bound in contract namespaces.
    pub peer_cluster_role: String,
    /// Prefix of contract namespaces.
    pub peer_namespace_prefix: String,
    /// API server URL for buyers (empty: the hub client's).
    pub peer_api_server: String,
}

impl KubernetesConfig {
    /// Defaults, overridden by `file`; validated.
    pub fn resolve(file: KubernetesFile) -> Result<Self, ConfigError> {
        let config = Self::from_file(file);
        config.validate()?;
        Ok(config)
    }

    fn from_file(file: KubernetesFile) -> Self {
        Self {
            namespace: file
                .namespace
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            kubeconfig: file.kubeconfig,
            leader_election: file.leader_election.unwrap_or(true),
            lease_name: file
                .lease_name
                .unwrap_or_else(|| DEFAULT_LEASE_NAME.to_owned()),
            lease_duration: file.lease_duration.unwrap_or(DEFAULT_LEASE_DURATION),
            node_flavors: file.node_flavors.unwrap_or(true),
            node_label: file
                .node_label
                .unwrap_or_else(|| DEFAULT_NODE_LABEL.to_owned()),
            peering: file.peering.unwrap_or(true),
            peer_cluster_role: file
                .peer_cluster_role
                .unwrap_or_else(|| DEFAULT_PEER_CLUSTER_ROLE.to_owned()),
            peer_namespace_prefix: file
                .peer_namespace_prefix
                .unwrap_or_else(|| DEFAULT_PEER_NAMESPACE_PREFIX.to_owned()),
            peer_api_server: file.peer_api_server.unwrap_or_default(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !dns_label(&self.namespace) {
            return Err(invalid(
                "kubernetes.namespace",
                format!("{:?} is not a DNS-1123 label", self.namespace),
            ));
        }
        if !dns_label(&self.lease_name) {
            return Err(invalid("kubernetes.lease_name", "must be a DNS-1123 label"));
        }
        let d = self.lease_duration;
        if d < Duration::from_secs(2) || d > Duration::from_secs(300) {
            return Err(invalid(
                "kubernetes.lease_duration",
                "must be between 2s and 5m",
            ));
        }
        if self.node_label.is_empty() || self.peer_cluster_role.is_empty() {
            return Err(invalid(
                "kubernetes",
                "node_label and peer_cluster_role must not be empty",
            ));
        }
        let prefix = &self.peer_namespace_prefix;
        if prefix.is_empty() || prefix.len() > 30 || !dns_label(prefix.trim_end_matches('-')) {
            return Err(invalid(
                "kubernetes.peer_namespace_prefix",
                "must be a DNS-1123 label prefix of at most 30 characters",
            ));
        }
        let url = &self.peer_api_server;
        if !url.is_empty() && !url.starts_with("https://") {
            return Err(invalid(
                "kubernetes.peer_api_server",
                "must be an https:// URL",
            ));
        }
        Ok(())
    }
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self::from_file(KubernetesFile::default())
    }
}

/// A DNS-1123 label: 1–63 of `[a-z0-9-]`, starting and ending alphanumeric.
fn dns_label(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(ok_char)
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KubernetesConfig, ConfigError> {
        let file: KubernetesFile = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: "t.toml".into(),
            source,
        })?;
        KubernetesConfig::resolve(file)
    }

    #[test]
    fn defaults_are_upstreams_names() {
        let c = parse("").unwrap();
        assert_eq!(c.namespace, "fluidos");
        assert_eq!(c.node_label, "node-role.fluidos.eu/resources");
        assert!(c.leader_election && c.node_flavors && c.peering);
        assert_eq!(c.lease_duration, Duration::from_secs(10));
        assert_eq!(c, KubernetesConfig::default());
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        for (text, key) in [
            ("namespace = \"Fluidos\"", "kubernetes.namespace"),
            ("lease_duration = \"1s\"", "kubernetes.lease_duration"),
            (
                "peer_api_server = \"http://x\"",
                "kubernetes.peer_api_server",
            ),
            (
                "peer_namespace_prefix = \"-x\"",
                "kubernetes.peer_namespace_prefix",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(key), "{text}: {error}");
        }
        assert!(parse("leader = true").is_err(), "unknown keys are errors");
    }
}
