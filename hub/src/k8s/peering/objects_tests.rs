//! Tests of the peering object builders and the token lifetime clamp.

use super::*;
use crate::clock::rfc3339;

const NOW: i64 = 1_747_562_400;

#[test]
fn token_lifetime_follows_the_contract_within_bounds() {
    assert_eq!(token_lifetime(NOW, &rfc3339(NOW + 86_400)), Ok(86_400));
    assert_eq!(
        token_lifetime(NOW, &rfc3339(NOW + 60)),
        Ok(MIN_TOKEN_SECONDS)
    );
    let decade = rfc3339(NOW + 10 * 365 * 86_400);
    assert_eq!(token_lifetime(NOW, &decade), Ok(MAX_TOKEN_SECONDS));
    let year = rfc3339(NOW + 365 * 86_400);
    assert_eq!(token_lifetime(NOW, &year), Ok(365 * 86_400));
}

#[test]
fn token_lifetime_refuses_ended_or_unreadable_contracts() {
    let ended = rfc3339(NOW - 1);
    assert_eq!(
        token_lifetime(NOW, &ended),
        Err(LifetimeError::Expired(ended))
    );
    let now = rfc3339(NOW);
    assert_eq!(token_lifetime(NOW, &now), Err(LifetimeError::Expired(now)));
    for bad in ["", "tomorrow", "2025-13-01T00:00:00Z"] {
        assert_eq!(
            token_lifetime(NOW, bad),
            Err(LifetimeError::Malformed(bad.to_owned()))
        );
    }
}

#[test]
fn role_binding_binds_the_cluster_role_to_the_namespace_service_account() {
    let rb = peer_role_binding("fluidos-peer-c1", "c1", "fluidos-peer");
    assert_eq!(rb.metadata.namespace.as_deref(), Some("fluidos-peer-c1"));
    assert_eq!(rb.metadata.name.as_deref(), Some(PEER_SERVICE_ACCOUNT));
    assert_eq!(rb.role_ref.kind, "ClusterRole");
    assert_eq!(rb.role_ref.name, "fluidos-peer");
    assert_eq!(rb.role_ref.api_group, "rbac.authorization.k8s.io");
    let subjects = rb.subjects.clone().unwrap_or_default();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(subjects[0].name, PEER_SERVICE_ACCOUNT);
    assert_eq!(subjects[0].namespace.as_deref(), Some("fluidos-peer-c1"));
    assert!(same_grant(&rb, &rb.clone()));
    assert!(!same_grant(
        &rb,
        &peer_role_binding("fluidos-peer-c1", "c1", "admin")
    ));
    assert!(!same_grant(
        &rb,
        &peer_role_binding("other", "c1", "fluidos-peer")
    ));
}

#[test]
fn contract_objects_carry_ownership_and_pod_security() {
    let contract = "contract-a.b";
    let ns = contract_namespace_object("fluidos-peer-x", contract);
    let labels = ns.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY);
    assert_eq!(labels[CONTRACT_KEY], "contract-a.b");
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert!(ns.metadata.namespace.is_none());
    assert!(owned_by(&ns.metadata, contract));
    assert!(
        !owned_by(&ns.metadata, "contract-a-b"),
        "exact name, not the label"
    );
    assert!(
        !owned_by(&ObjectMeta::default(), contract),
        "foreign object"
    );

    let sa = peer_service_account("fluidos-peer-x", contract);
    assert_eq!(sa.metadata.namespace.as_deref(), Some("fluidos-peer-x"));
    assert_eq!(sa.automount_service_account_token, Some(false));
    assert!(owned_by(&sa.metadata, contract));
}

#[test]
fn token_request_asks_for_the_lifetime_and_the_api_server_audience() {
    let json = serde_json::to_value(token_request(3600)).unwrap_or_default();
    assert_eq!(json["spec"]["expirationSeconds"], 3600);
    assert_eq!(json["spec"]["audiences"], serde_json::json!([]));
    assert!(json["spec"].get("boundObjectRef").is_none());
}

#[test]
fn peer_cluster_role_grants_workloads_and_nothing_dangerous() {
    let role = peer_cluster_role("fluidos-peer");
    assert_eq!(role.metadata.name.as_deref(), Some("fluidos-peer"));
    let rules = role.rules.unwrap_or_default();
    let grants = |group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r.api_groups.iter().flatten().any(|g| g == group)
                && r.resources.iter().flatten().any(|x| x == resource)
                && r.verbs.iter().any(|v| v == verb)
        })
    };
    for resource in [
        "pods",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
    ] {
        assert!(grants("", resource, "create") && grants("", resource, "delete"));
    }
    assert!(grants("apps", "deployments", "patch") && grants("batch", "cronjobs", "watch"));
    assert!(grants("", "events", "list") && !grants("", "events", "create"));
    for (group, resource) in [
        ("", "serviceaccounts"),
        ("", "serviceaccounts/token"),
        ("", "namespaces"),
        ("", "nodes"),
        ("", "persistentvolumes"),
        ("", "resourcequotas"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
    ] {
        for verb in READ_WRITE
            .iter()
            .chain(&["bind", "escalate", "impersonate"])
        {
            assert!(!grants(group, resource, verb), "{verb} {group}/{resource}");
        }
    }
    for r in &rules {
        let all = r
            .api_groups
            .iter()
            .flatten()
            .chain(r.resources.iter().flatten());
        assert!(all.chain(&r.verbs).all(|x| x != "*"), "no wildcards: {r:?}");
        assert!(r.non_resource_urls.is_none() && r.resource_names.is_none());
        let groups = r.api_groups.iter().flatten();
        assert!(
            groups
                .into_iter()
                .all(|g| ["", "apps", "batch", "events.k8s.io"].contains(&g.as_str()))
        );
    }
}
