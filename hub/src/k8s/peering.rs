//! Kubernetes peering: what a buyer gets when it purchases a contract. Upstream hands every
//! peer one shared, never-expiring, near-cluster-admin ServiceAccount token (reference §7);
//! here each contract gets its own namespace (`<namespace_prefix><contract>`, a DNS-1123
//! label), a ServiceAccount `fluidos-peer` in it, a RoleBinding of that ServiceAccount to the
//! ClusterRole `cluster_role`, and a TokenRequest token that expires with the contract. The
//! buyer receives a kubeconfig (base64, as on the REAR wire) whose context is pinned to that
//! namespace. Revoking deletes the RoleBinding (the buyer is denied at once), the
//! ServiceAccount (which invalidates every token minted for it: bound tokens are checked
//! against the ServiceAccount's existence and uid; the API server caches successful token
//! authentications for 10 s by default, so a revoked token stops authenticating within that)
//! and the namespace. The namespace enforces Pod Security `baseline`, so pods cannot use
//! the host's namespaces, hostPath or privileged mode to leave it.
//!
//! Why a *RoleBinding* to a *ClusterRole*: a namespaced RoleBinding that refers to a
//! ClusterRole grants that role's rules only inside the RoleBinding's namespace. The rules are
//! defined once ([`peer_cluster_role`], installed by the deploy manifests) and every contract
//! namespace reuses them. And the hub does not have to hold the permissions it hands out:
//! Kubernetes' escalation check lets a subject create a binding to a role either when it holds
//! every permission in that role, or when it has the `bind` verb on that role. The hub gets
//! `bind` on the one ClusterRole `cluster_role` and nothing of the workload permissions.
//!
//! The hub's own RBAC (a ClusterRole bound by a ClusterRoleBinding, since contract namespaces
//! are created on the fly):
//!
//! | apiGroups | resources | resourceNames | verbs |
//! |---|---|---|---|
//! | `""` | `namespaces` | | `get`, `create`, `delete` |
//! | `""` | `serviceaccounts` | | `create` |
//! | `""` | `serviceaccounts` | `fluidos-peer` | `get`, `delete` |
//! | `""` | `serviceaccounts/token` | `fluidos-peer` | `create` |
//! | `rbac.authorization.k8s.io` | `rolebindings` | | `create` |
//! | `rbac.authorization.k8s.io` | `rolebindings` | `fluidos-peer` | `get`, `delete` |
//! | `rbac.authorization.k8s.io` | `clusterroles` | `<cluster_role>` | `bind` |
//!
//! (`create` cannot be limited by name; the others can, and the name is fixed.)
//! [`hub_peering_rules`] returns exactly these rules.
//!
//! [`names`], [`objects`] and [`kubeconfig`] are pure and unit-tested; [`driver`] does the IO.
//! `tests/tests/kube_peering.rs` runs the driver against a real kube-apiserver as a
//! ServiceAccount holding only these rules.

pub mod driver;
pub mod kubeconfig;
pub mod names;
pub mod objects;

pub use driver::{KubePeeringDriver, KubePeeringError};
pub use objects::{hub_peering_rules, peer_cluster_role};

/// Where and how contracts are granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeeringSettings {
    /// Prefix of contract namespaces (`fluidos-peer-`).
    pub namespace_prefix: String,
    /// The ClusterRole bound in each contract namespace (`fluidos-peer`).
    pub cluster_role: String,
    /// API server URL written into buyers' kubeconfigs.
    pub api_server: String,
    /// PEM CA bundle of `api_server`; required when it is `https`.
    pub ca_pem: String,
    /// Our node id, returned as the liqoID.
    pub cluster_id: String,
}

impl Default for PeeringSettings {
    fn default() -> Self {
        Self {
            namespace_prefix: "fluidos-peer-".to_owned(),
            cluster_role: "fluidos-peer".to_owned(),
            api_server: String::new(),
            ca_pem: String::new(),
            cluster_id: String::new(),
        }
    }
}

/// Why [`PeeringSettings`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeeringSettingsError {
    /// The namespace prefix is empty, too long or not `[a-z0-9-]`.
    #[error(
        "peer namespace prefix {0:?} must be 1-40 characters of [a-z0-9-], starting with a letter or digit"
    )]
    Prefix(String),
    /// A required setting is empty.
    #[error("peering setting {0} is empty")]
    Empty(&'static str),
    /// The API server URL is not an http(s) URL with a host.
    #[error("peer API server {0:?} is not an http:// or https:// URL")]
    ApiServer(String),
    /// An https API server without a PEM CA bundle.
    #[error("peer API server {0} is https but no PEM CA bundle is configured for it")]
    MissingCa(String),
}

impl PeeringSettings {
    /// Check the settings (see [`PeeringSettingsError`]).
    pub fn validate(&self) -> Result<(), PeeringSettingsError> {
        let prefix = &self.namespace_prefix;
        let prefix_chars = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let starts_well = prefix.chars().next().is_some_and(|c| c != '-');
        if prefix.len() > 40 || !prefix.chars().all(prefix_chars) || !starts_well {
            return Err(PeeringSettingsError::Prefix(prefix.clone()));
        }
        for (field, value) in [
            ("cluster_role", &self.cluster_role),
            ("cluster_id", &self.cluster_id),
        ] {
            if value.is_empty() {
                return Err(PeeringSettingsError::Empty(field));
            }
        }
        let url: http::Uri = self
            .api_server
            .parse()
            .map_err(|_| PeeringSettingsError::ApiServer(self.api_server.clone()))?;
        let scheme = url.scheme_str().unwrap_or_default();
        if !matches!(scheme, "http" | "https") || url.host().is_none_or(str::is_empty) {
            return Err(PeeringSettingsError::ApiServer(self.api_server.clone()));
        }
        if scheme == "https" && !self.ca_pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(PeeringSettingsError::MissingCa(self.api_server.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PeeringSettings {
        PeeringSettings {
            api_server: "https://203.0.113.10:6443".to_owned(),
            ca_pem: "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n".to_owned(),
            cluster_id: "node-1".to_owned(),
            ..PeeringSettings::default()
        }
    }

    #[test]
    fn defaults_with_server_ca_and_id_are_valid() {
        assert_eq!(settings().validate(), Ok(()));
        let plain = PeeringSettings {
            api_server: "http://127.0.0.1:8080".to_owned(),
            ca_pem: String::new(),
            ..settings()
        };
        assert_eq!(plain.validate(), Ok(()), "plain http needs no CA");
    }

    #[test]
    fn https_without_a_ca_is_refused() {
        let s = PeeringSettings {
            ca_pem: String::new(),
            ..settings()
        };
        let expected = PeeringSettingsError::MissingCa("https://203.0.113.10:6443".to_owned());
        assert_eq!(s.validate(), Err(expected));
    }

    #[test]
    fn bad_settings_are_named() {
        let with = |f: fn(&mut PeeringSettings)| {
            let mut s = settings();
            f(&mut s);
            s.validate()
        };
        for prefix in ["", "-x", "Fluidos-", "a_b", &"a".repeat(41)] {
            let prefix = prefix.to_owned();
            let mut s = settings();
            s.namespace_prefix.clone_from(&prefix);
            assert_eq!(s.validate(), Err(PeeringSettingsError::Prefix(prefix)));
        }
        let empty_role = with(|s| s.cluster_role.clear());
        assert_eq!(empty_role, Err(PeeringSettingsError::Empty("cluster_role")));
        let empty_id = with(|s| s.cluster_id.clear());
        assert_eq!(empty_id, Err(PeeringSettingsError::Empty("cluster_id")));
        for server in ["", "203.0.113.10:6443", "ftp://x", "https://"] {
            let mut s = settings();
            server.clone_into(&mut s.api_server);
            let refused = matches!(s.validate(), Err(PeeringSettingsError::ApiServer(_)));
            assert!(refused, "{server:?}");
        }
    }
}
