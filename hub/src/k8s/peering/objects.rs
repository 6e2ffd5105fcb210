//! The Kubernetes objects of a contract's peering, built without IO: the contract namespace,
//! its ServiceAccount, the RoleBinding of that ServiceAccount to the peer ClusterRole, the
//! TokenRequest (with its lifetime clamped to the contract's), and the peer ClusterRole
//! itself (what a buyer may do inside its namespace; deploy manifests and tests install it).

use std::collections::BTreeMap;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::names::{CONTRACT_KEY, MANAGED_BY, MANAGED_BY_LABEL, PEER_SERVICE_ACCOUNT, label_value};

/// Shortest token the API server issues (TokenRequest validation rejects less).
pub const MIN_TOKEN_SECONDS: i64 = 600;
/// Longest token we ask for (a year and a day); the API server may clamp further
/// (`--service-account-max-token-expiration`).
pub const MAX_TOKEN_SECONDS: i64 = 366 * 24 * 3600;

/// Why no token lifetime can be derived from a contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    /// `expirationTime` is empty or not RFC 3339.
    #[error("expirationTime {0:?} is not an RFC 3339 time")]
    Malformed(String),
    /// The contract has already ended.
    #[error("the contract expired at {0}")]
    Expired(String),
}

/// Seconds from `now` until `expiration_time` (RFC 3339), clamped to
/// [`MIN_TOKEN_SECONDS`]..=[`MAX_TOKEN_SECONDS`]; an error when it has passed.
pub fn token_lifetime(now: i64, expiration_time: &str) -> Result<i64, LifetimeError> {
    let end = crate::clock::parse(expiration_time)
        .ok_or_else(|| LifetimeError::Malformed(expiration_time.to_owned()))?;
    let left = end.saturating_sub(now);
    if left <= 0 {
        return Err(LifetimeError::Expired(expiration_time.to_owned()));
    }
    Ok(left.clamp(MIN_TOKEN_SECONDS, MAX_TOKEN_SECONDS))
}

/// Labels on every object of `contract`.
pub fn contract_labels(contract: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
        (CONTRACT_KEY.to_owned(), label_value(contract)),
    ])
}

/// Metadata of an object of `contract` named `name` (in `namespace`, if namespaced).
fn contract_meta(name: &str, namespace: Option<&str>, contract: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(contract_labels(contract)),
        annotations: Some(BTreeMap::from([(
            CONTRACT_KEY.to_owned(),
            contract.to_owned(),
        )])),
        ..ObjectMeta::default()
    }
}

/// Whether `meta` belongs to `contract`: managed by us and annotated with its exact name.
pub fn owned_by(meta: &ObjectMeta, contract: &str) -> bool {
    let label = meta.labels.as_ref().and_then(|l| l.get(MANAGED_BY_LABEL));
    let annotation = meta.annotations.as_ref().and_then(|a| a.get(CONTRACT_KEY));
    label.map(String::as_str) == Some(MANAGED_BY)
        && annotation.map(String::as_str) == Some(contract)
}

/// Pod Security Admission level enforced in contract namespaces: `baseline` forbids
/// privileged pods, host namespaces and hostPath volumes, the ways out of a namespace onto
/// the node.
pub const POD_SECURITY_ENFORCE: &str = "baseline";
/// Pod Security Admission level that only warns (so buyers see what `restricted` would
/// refuse).
pub const POD_SECURITY_WARN: &str = "restricted";

/// The namespace `name` of `contract`, with Pod Security Admission enforcing
/// [`POD_SECURITY_ENFORCE`].
pub fn contract_namespace_object(name: &str, contract: &str) -> Namespace {
    let mut metadata = contract_meta(name, None, contract);
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    for (key, level) in [
        ("pod-security.kubernetes.io/enforce", POD_SECURITY_ENFORCE),
        ("pod-security.kubernetes.io/warn", POD_SECURITY_WARN),
    ] {
        labels.insert(key.to_owned(), level.to_owned());
    }
    Namespace {
        metadata,
        ..Namespace::default()
    }
}

/// The buyer's ServiceAccount in `namespace` (never automounted into pods).
pub fn peer_service_account(namespace: &str, contract: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: contract_meta(PEER_SERVICE_ACCOUNT, Some(namespace), contract),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

/// The RoleBinding in `namespace` granting the buyer's ServiceAccount the rules of ClusterRole
/// `cluster_role`, in that namespace only.
pub fn peer_role_binding(namespace: &str, contract: &str, cluster_role: &str) -> RoleBinding {
    RoleBinding {
        metadata: contract_meta(PEER_SERVICE_ACCOUNT, Some(namespace), contract),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "ClusterRole".to_owned(),
            name: cluster_role.to_owned(),
        },
        subjects: Some(vec![Subject {
            api_group: None,
            kind: "ServiceAccount".to_owned(),
            name: PEER_SERVICE_ACCOUNT.to_owned(),
            namespace: Some(namespace.to_owned()),
        }]),
    }
}

/// Whether an existing RoleBinding grants exactly what `wanted` grants.
pub fn same_grant(existing: &RoleBinding, wanted: &RoleBinding) -> bool {
    existing.role_ref == wanted.role_ref && existing.subjects == wanted.subjects
}

/// A TokenRequest for the API server's own audience, valid `seconds`.
pub fn token_request(seconds: i64) -> TokenRequest {
    TokenRequest {
        metadata: ObjectMeta::default(),
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            bound_object_ref: None,
            expiration_seconds: Some(seconds),
        },
        status: None,
    }
}

/// Every verb on a namespaced workload object.
const READ_WRITE: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
/// Read-only verbs.
const READ: &[&str] = &["get", "list", "watch"];

/// The ClusterRole `name` a buyer is bound to in its contract namespace: workloads and their
/// configuration, read-only events; nothing cluster-scoped, no RBAC, no ServiceAccounts (so no
/// token minting), no namespaces, nodes or quotas.
pub fn peer_cluster_role(name: &str) -> ClusterRole {
    let core = [
        "pods",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
    ];
    let apps = ["deployments", "statefulsets", "replicasets", "daemonsets"];
    let scale = [
        "deployments/scale",
        "statefulsets/scale",
        "replicasets/scale",
    ];
    ClusterRole {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_owned(),
                MANAGED_BY.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        aggregation_rule: None,
        rules: Some(vec![
            rule("", &core, READ_WRITE),
            rule("", &["pods/log"], &["get"]),
            rule("", &["pods/exec"], &["get", "create"]),
            rule("", &["pods/status", "services/status"], &["get"]),
            rule("", &["events"], READ),
            rule("events.k8s.io", &["events"], READ),
            rule("apps", &apps, READ_WRITE),
            rule("apps", &scale, &["get", "update", "patch"]),
            rule("batch", &["jobs", "cronjobs"], READ_WRITE),
        ]),
    }
}

/// The rules the hub itself needs to run the peering driver with ClusterRole `cluster_role`
/// as the peer role (see the table in [`super`]); for the hub's own ClusterRole.
pub fn hub_peering_rules(cluster_role: &str) -> Vec<PolicyRule> {
    let rbac = "rbac.authorization.k8s.io";
    let named = |mut r: PolicyRule, name: &str| {
        r.resource_names = Some(vec![name.to_owned()]);
        r
    };
    vec![
        rule("", &["namespaces"], &["get", "create", "delete"]),
        rule("", &["serviceaccounts"], &["create"]),
        named(
            rule("", &["serviceaccounts"], &["get", "delete"]),
            PEER_SERVICE_ACCOUNT,
        ),
        named(
            rule("", &["serviceaccounts/token"], &["create"]),
            PEER_SERVICE_ACCOUNT,
        ),
        rule(rbac, &["rolebindings"], &["create"]),
        named(
            rule(rbac, &["rolebindings"], &["get", "delete"]),
            PEER_SERVICE_ACCOUNT,
        ),
        named(rule(rbac, &["clusterroles"], &["bind"]), cluster_role),
    ]
}

/// One rule on `resources` of API group `group`.
fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(owned(resources)),
        verbs: owned(verbs),
        ..PolicyRule::default()
    }
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;
