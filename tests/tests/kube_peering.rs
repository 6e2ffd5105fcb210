//! The Kubernetes peering driver against a real kube-apiserver. The hub runs as a
//! ServiceAccount bound to nothing but `hub_peering_rules` (plus the peer ClusterRole it may
//! `bind`); the buyer uses exactly the kubeconfig the grant returns, written to a file. A grant
//! confines the buyer to its contract namespace (no other namespace, nothing cluster-scoped, no
//! token minting, no privileged pods), its token ends with the contract, a second grant works;
//! a revoke cuts the buyer off (RBAC at once, authentication once the apiserver's token cache
//! forgets it), and namespaces the hub does not own or contracts that ended are refused.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fluidos_hub::k8s::peering::{
    KubePeeringDriver, KubePeeringError, PeeringSettings, hub_peering_rules, names,
    objects::token_request, peer_cluster_role,
};
use fluidos_protocol::flavor::{Flavor, FlavorSpec};
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::reservation::{ContractSpec, LiqoCredentials};
use fluidos_tests::kube::{ControlPlane, client_from_kubeconfig, skipped, unique_name};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The ClusterRole bound in every contract namespace (the deploy manifests' default).
const PEER_ROLE: &str = "fluidos-peer";

fn plane() -> &'static ControlPlane {
    ControlPlane::shared("peering")
}

/// Server-side apply `value` (a cluster-scoped RBAC object) as admin: idempotent across tests.
async fn apply<K>(admin: &Client, name: &str, value: &K) -> anyhow::Result<()>
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let params = PatchParams::apply("fluidos-tests").force();
    Api::<K>::all(admin.clone())
        .patch(name, &params, &Patch::Apply(value))
        .await?;
    Ok(())
}

/// Install the peer ClusterRole, and a ServiceAccount `<home>/hub` bound (by a
/// ClusterRoleBinding) to a ClusterRole holding only `hub_peering_rules`; a client as it.
async fn hub_client(plane: &ControlPlane, admin: &Client, id: &str) -> anyhow::Result<Client> {
    apply(admin, PEER_ROLE, &peer_cluster_role(PEER_ROLE)).await?;
    let home = format!("hub-home-{id}");
    let role_name = format!("fluidos-hub-peering-{id}");
    let hub_role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": role_name},
        "rules": hub_peering_rules(PEER_ROLE),
    }))?;
    apply(admin, &role_name, &hub_role).await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": role_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": "hub", "namespace": home}],
    }))?;
    apply(admin, &role_name, &binding).await?;
    plane.create_namespace(&home)?;
    let token = plane.service_account_token(&home, "hub", Duration::from_secs(3600))?;
    let path = std::env::temp_dir().join(format!("{role_name}.kubeconfig"));
    plane.write_kubeconfig(&token, &home, &path)?;
    let client = client_from_kubeconfig(&path).await;
    std::fs::remove_file(&path)?;
    client
}

/// A driver authenticated as the least-privileged hub ServiceAccount, and the admin client.
async fn live_driver(id: &str) -> anyhow::Result<(KubePeeringDriver, Client)> {
    let plane = plane();
    let admin = plane.client().await?;
    let hub = hub_client(plane, &admin, id).await?;
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), "default");
    let code = status_code(secrets.list(&ListParams::default()).await);
    assert_eq!(code, 403, "the hub holds only the peering rules");
    let settings = PeeringSettings {
        api_server: plane.server_url().to_owned(),
        ca_pem: plane.ca_pem().to_owned(),
        cluster_id: "node-live".to_owned(),
        ..PeeringSettings::default()
    };
    assert_eq!(settings.cluster_role, PEER_ROLE);
    Ok((KubePeeringDriver::new(hub, settings)?, admin))
}

/// A contract ending `seconds` from now (in the past when negative).
fn contract_until(seconds: i64) -> ContractSpec {
    let end = OffsetDateTime::now_utc().unix_timestamp() + seconds;
    let expiration_time = OffsetDateTime::from_unix_timestamp(end)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .expect("a valid time");
    let flavor = Flavor {
        api_version: String::new(),
        kind: String::new(),
        metadata: fluidos_protocol::meta::ObjectMeta::default(),
        spec: FlavorSpec::default(),
        status: None,
    };
    ContractSpec {
        flavor,
        transaction_id: String::new(),
        configuration: None,
        buyer: NodeIdentity::default(),
        seller: NodeIdentity::default(),
        buyer_cluster_id: String::new(),
        peering_target_credentials: LiqoCredentials::default(),
        expiration_time,
        extra_information: Default::default(),
        network_requests: String::new(),
        ingress_telemetry_endpoint: None,
    }
}

/// The kubeconfig YAML a grant returned (base64 on the REAR wire).
fn kubeconfig_yaml(credentials: &LiqoCredentials) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&credentials.kubeconfig)
        .expect("kubeconfig is base64");
    String::from_utf8(bytes).expect("kubeconfig is UTF-8")
}

/// A client from the granted kubeconfig, written to `dir`, and its namespace.
async fn buyer_client(credentials: &LiqoCredentials, dir: &Path) -> (Client, String) {
    let yaml = kubeconfig_yaml(credentials);
    let file = kube::config::Kubeconfig::from_yaml(&yaml).expect("a kubeconfig");
    let context = file.contexts[0].context.as_ref().expect("a context");
    let ns = context
        .namespace
        .clone()
        .expect("the context pins a namespace");
    let path = dir.join("buyer.kubeconfig");
    std::fs::write(&path, yaml).expect("write kubeconfig");
    let client = client_from_kubeconfig(&path).await.expect("buyer client");
    (client, ns)
}

/// The claims of the granted token (a JWT: base64url payload without padding).
fn token_claims(credentials: &LiqoCredentials) -> serde_json::Value {
    let file = kube::config::Kubeconfig::from_yaml(&kubeconfig_yaml(credentials)).expect("yaml");
    let file = serde_json::to_value(&file).expect("kubeconfig as JSON");
    let token = file["users"][0]["user"]["token"].as_str().expect("a token");
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn status_code<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Err(kube::Error::Api(status)) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The granted token lives as long as the contract (3600 s) and is the contract account's.
fn assert_token_matches_contract(credentials: &LiqoCredentials, ns: &str) {
    let claims = token_claims(credentials);
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    // The grant reads the clock a moment after the contract was stamped.
    assert!(
        (3590..=3600).contains(&lifetime),
        "token ends with the contract: {claims}"
    );
    let sub = format!("system:serviceaccount:{ns}:{}", names::PEER_SERVICE_ACCOUNT);
    assert_eq!(claims["sub"], sub.as_str());
}

/// The buyer works in `ns`: creates and reads a ConfigMap, lists pods.
async fn assert_works_in(buyer: &Client, ns: &str) {
    let maps: Api<ConfigMap> = Api::namespaced(buyer.clone(), ns);
    let map: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "app"}})).expect("a ConfigMap");
    maps.create(&PostParams::default(), &map)
        .await
        .expect("create a ConfigMap in the contract namespace");
    let got = maps.get("app").await.expect("read it back");
    assert_eq!(got.metadata.namespace.as_deref(), Some(ns));
    let pods: Api<Pod> = Api::namespaced(buyer.clone(), ns);
    let listed = pods.list(&ListParams::default()).await.expect("list pods");
    assert!(listed.items.is_empty());
}

/// The buyer may not touch another namespace or cluster-scoped objects, mint tokens or run a
/// privileged pod.
async fn assert_confined(buyer: &Client, ns: &str) {
    let elsewhere: Api<ConfigMap> = Api::namespaced(buyer.clone(), "default");
    let code = status_code(elsewhere.list(&ListParams::default()).await);
    assert_eq!(code, 403, "another namespace");
    let other_pods: Api<Pod> = Api::namespaced(buyer.clone(), "kube-system");
    let code = status_code(other_pods.list(&ListParams::default()).await);
    assert_eq!(code, 403, "kube-system");
    let namespaces: Api<Namespace> = Api::all(buyer.clone());
    let code = status_code(namespaces.list(&ListParams::default()).await);
    assert_eq!(code, 403, "cluster-scoped namespaces");
    let roles: Api<ClusterRole> = Api::all(buyer.clone());
    assert_eq!(
        status_code(roles.get(PEER_ROLE).await),
        403,
        "cluster roles"
    );
    let accounts: Api<ServiceAccount> = Api::namespaced(buyer.clone(), ns);
    let minted = accounts
        .create_token_request(
            names::PEER_SERVICE_ACCOUNT,
            &PostParams::default(),
            &token_request(600),
        )
        .await;
    assert_eq!(status_code(minted), 403, "no token minting");
    let privileged: Pod = serde_json::from_value(json!({
        "metadata": {"name": "escape"},
        "spec": {"hostPID": true, "containers": [{"name": "c", "image": "busybox",
                  "securityContext": {"privileged": true}}]}
    }))
    .expect("a Pod");
    let pods: Api<Pod> = Api::namespaced(buyer.clone(), ns);
    let code = status_code(pods.create(&PostParams::default(), &privileged).await);
    assert_eq!(code, 403, "Pod Security baseline");
}

/// The buyer's token is refused: at once by RBAC (403), then (401) once the API server's token
/// success cache (10 s by default) forgets it. Returns how long the 401 took.
async fn assert_cut_off(buyer: &Client, ns: &str) -> Duration {
    let started = Instant::now();
    let maps: Api<ConfigMap> = Api::namespaced(buyer.clone(), ns);
    let first = status_code(maps.get("app").await);
    assert!(matches!(first, 401 | 403), "refused at once: {first}");
    let mut code = first;
    while code != 401 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        code = status_code(maps.get("app").await);
        assert!(matches!(code, 401 | 403), "still refused: {code}");
    }
    assert_eq!(
        code, 401,
        "tokens die with the ServiceAccount (within 20 s)"
    );
    started.elapsed()
}

#[tokio::test]
async fn grant_scopes_the_buyer_and_revoke_cuts_it_off() {
    if skipped("grant_scopes_the_buyer_and_revoke_cuts_it_off") {
        return;
    }
    let id = unique_name("grant");
    let (driver, _admin) = live_driver(&id).await.expect("hub driver");
    let name = format!("contract-{id}");
    let first = driver
        .grant_contract(&name, &contract_until(3600))
        .await
        .expect("first grant");
    let again = driver
        .grant_contract(&name, &contract_until(3600))
        .await
        .expect("second grant");
    assert_eq!(first.liqo_id, "node-live");
    assert_ne!(
        first.kubeconfig, again.kubeconfig,
        "a fresh token each grant"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let (buyer, ns) = buyer_client(&again, dir.path()).await;
    assert_eq!(ns, driver.namespace_of(&name));
    assert_token_matches_contract(&again, &ns);
    assert_works_in(&buyer, &ns).await;
    assert_confined(&buyer, &ns).await;
    let (older, _) = buyer_client(&first, dir.path()).await;
    let maps: Api<ConfigMap> = Api::namespaced(older.clone(), &ns);
    assert!(
        maps.get("app").await.is_ok(),
        "the first grant's token still works"
    );

    driver.revoke_contract(&name).await.expect("revoke");
    driver.revoke_contract(&name).await.expect("revoke again");
    let latency = assert_cut_off(&buyer, &ns).await;
    eprintln!("revoked token refused with 401 after {latency:.1?}");
    assert_eq!(status_code(maps.get("app").await), 401, "every token dies");
    let regrant = driver.grant_contract(&name, &contract_until(3600)).await;
    assert!(
        matches!(regrant, Err(KubePeeringError::Terminating { .. })),
        "{regrant:?}"
    );
}

#[tokio::test]
async fn foreign_namespaces_and_ended_contracts_are_refused() {
    if skipped("foreign_namespaces_and_ended_contracts_are_refused") {
        return;
    }
    let id = unique_name("foreign");
    let (driver, admin) = live_driver(&id).await.expect("hub driver");
    let name = format!("contract-{id}");
    let ns = driver.namespace_of(&name);
    plane()
        .create_namespace(&ns)
        .expect("a namespace the hub does not own");
    let grant = driver.grant_contract(&name, &contract_until(3600)).await;
    assert!(
        matches!(grant, Err(KubePeeringError::Foreign { .. })),
        "{grant:?}"
    );
    let revoke = driver.revoke_contract(&name).await;
    assert!(
        matches!(revoke, Err(KubePeeringError::Foreign { .. })),
        "{revoke:?}"
    );
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let still = namespaces.get(&ns).await.expect("still there");
    assert!(still.metadata.deletion_timestamp.is_none(), "left alone");
    let accounts: Api<ServiceAccount> = Api::namespaced(admin, &ns);
    let peer = accounts
        .get_opt(names::PEER_SERVICE_ACCOUNT)
        .await
        .expect("get");
    assert!(peer.is_none(), "no peer account in a foreign namespace");

    let ended = format!("ended-{id}");
    let grant = driver.grant_contract(&ended, &contract_until(-5)).await;
    assert!(
        matches!(grant, Err(KubePeeringError::Lifetime { .. })),
        "{grant:?}"
    );
    let created = namespaces
        .get_opt(&driver.namespace_of(&ended))
        .await
        .expect("get");
    assert!(created.is_none(), "nothing created");
}
