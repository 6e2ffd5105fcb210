//! Kubeconfig files for the test control plane: one cluster (server URL + CA), one bearer-token
//! user, one context. Written as JSON, which is valid YAML for kubectl and kube-rs alike.

use base64::Engine as _;
use serde_json::json;

/// Who a kubeconfig authenticates as, and its default namespace.
pub(super) struct Identity<'a> {
    pub(super) user: &'a str,
    pub(super) token: &'a str,
    pub(super) namespace: &'a str,
}

/// The kubeconfig text for `identity` against `server` (trusting `ca_pem`).
pub(super) fn render(server: &str, ca_pem: &str, identity: &Identity<'_>) -> String {
    let ca_data = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "local",
            "cluster": {"server": server, "certificate-authority-data": ca_data},
        }],
        "users": [{"name": identity.user, "user": {"token": identity.token}}],
        "contexts": [{
            "name": "local",
            "context": {"cluster": "local", "user": identity.user, "namespace": identity.namespace},
        }],
        "current-context": "local",
    });
    format!("{config:#}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_and_names_server_token_and_namespace() {
        let identity = Identity {
            user: "u",
            token: "tok\"en",
            namespace: "ns-1",
        };
        let text = render("https://127.0.0.1:6443", "PEM", &identity);
        let parsed = kube::config::Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(parsed.current_context.as_deref(), Some("local"));
        let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some("UEVN") // base64("PEM")
        );
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(raw["users"][0]["user"]["token"], "tok\"en");
        let context = parsed.contexts[0].context.as_ref().unwrap();
        assert_eq!(context.namespace.as_deref(), Some("ns-1"));
        assert_eq!(context.user.as_deref(), Some("u"));
    }
}
