//! The driver against a real API server (ignored by default; run with
//! `FLUIDOS_TEST_KUBECONFIG=<admin kubeconfig> cargo test -p fluidos-hub --lib live_ -- --ignored`).
//! The hub acts as a ServiceAccount holding only [`hub_peering_rules`]; the buyer uses exactly
//! the kubeconfig the grant returns.

use fluidos_protocol::flavor::{Flavor, FlavorSpec};
use fluidos_protocol::node::NodeIdentity;
use fluidos_protocol::reservation::{ContractSpec, LiqoCredentials};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::objects::{hub_peering_rules, token_request};
use super::*;
use crate::clock::{now, rfc3339};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A suffix so runs against one API server do not meet (namespaces stay Terminating).
fn run_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

fn named(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

/// The admin client and the PEM CA of its server.
async fn admin() -> Result<(Config, String), Box<dyn std::error::Error>> {
    let path = std::env::var("FLUIDOS_TEST_KUBECONFIG")?;
    let file = Kubeconfig::read_from(&path)?;
    let ca_b64 = file.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.certificate_authority_data.clone());
    let ca: ByteString =
        serde_json::from_value(serde_json::Value::String(ca_b64.unwrap_or_default()))?;
    let config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await?;
    Ok((config, String::from_utf8(ca.0)?))
}

/// Install the peer ClusterRole and a hub ServiceAccount bound to only the peering rules;
/// a client authenticated as that ServiceAccount.
async fn hub_client(
    admin: &Config,
    id: &str,
    peer_role: &str,
) -> Result<Client, Box<dyn std::error::Error>> {
    let client = Client::try_from(admin.clone())?;
    let pp = PostParams::default();
    Api::<ClusterRole>::all(client.clone())
        .create(&pp, &peer_cluster_role(peer_role))
        .await?;
    let hub_role = ClusterRole {
        metadata: named(&format!("hub-{id}")),
        rules: Some(hub_peering_rules(peer_role)),
        ..ClusterRole::default()
    };
    Api::<ClusterRole>::all(client.clone())
        .create(&pp, &hub_role)
        .await?;
    let home = format!("hub-home-{id}");
    Api::<Namespace>::all(client.clone())
        .create(
            &pp,
            &Namespace {
                metadata: named(&home),
                ..Namespace::default()
            },
        )
        .await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &home);
    accounts
        .create(
            &pp,
            &ServiceAccount {
                metadata: named("hub"),
                ..ServiceAccount::default()
            },
        )
        .await?;
    let binding = ClusterRoleBinding {
        metadata: named(&format!("hub-{id}")),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: format!("hub-{id}"),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "hub".into(),
            namespace: Some(home.clone()),
            api_group: None,
        }]),
    };
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&pp, &binding)
        .await?;
    let minted = accounts
        .create_token_request("hub", &pp, &token_request(3600))
        .await?;
    let mut config = admin.clone();
    config.auth_info = kube::config::AuthInfo {
        token: minted.status.map(|s| s.token.into()),
        ..kube::config::AuthInfo::default()
    };
    Ok(Client::try_from(config)?)
}

/// A client from the base64 kubeconfig a grant returned.
async fn buyer_client(
    kubeconfig_b64: &str,
) -> Result<(Client, String), Box<dyn std::error::Error>> {
    let yaml: ByteString =
        serde_json::from_value(serde_json::Value::String(kubeconfig_b64.to_owned()))?;
    let file: Kubeconfig = serde_yaml::from_slice(&yaml.0)?;
    let config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await?;
    let ns = config.default_namespace.clone();
    Ok((Client::try_from(config)?, ns))
}

/// The claims of a JWT (its payload, base64url without padding).
fn jwt_claims(token: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let mut b64: String = payload.replace('-', "+").replace('_', "/");
    while !b64.len().is_multiple_of(4) {
        b64.push('=');
    }
    let bytes: ByteString = serde_json::from_value(serde_json::Value::String(b64))?;
    Ok(serde_json::from_slice(&bytes.0)?)
}

fn contract_until(seconds: i64) -> ContractSpec {
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
        expiration_time: rfc3339(now() + seconds),
        extra_information: Default::default(),
        network_requests: String::new(),
        ingress_telemetry_endpoint: None,
    }
}

fn status_code(result: Result<impl std::fmt::Debug, kube::Error>) -> u16 {
    match result {
        Err(kube::Error::Api(status)) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A driver authenticated as a hub ServiceAccount with only the peering rules, and the admin.
async fn live_driver(id: &str) -> Result<(KubePeeringDriver, Client), Box<dyn std::error::Error>> {
    let (admin_config, ca_pem) = admin().await?;
    let peer_role = format!("fluidos-peer-{id}");
    let hub = hub_client(&admin_config, id, &peer_role).await?;
    let url = admin_config.cluster_url.to_string();
    let settings = PeeringSettings {
        cluster_role: peer_role,
        api_server: url.trim_end_matches('/').to_owned(),
        ca_pem,
        cluster_id: "node-live".to_owned(),
        ..PeeringSettings::default()
    };
    let driver = KubePeeringDriver::new(hub, settings)?;
    Ok((driver, Client::try_from(admin_config)?))
}

/// The granted token lives as long as the contract (3600 s) and is the contract's account's.
fn assert_token_matches_contract(kubeconfig_b64: &str, ns: &str) -> TestResult {
    let yaml: ByteString =
        serde_json::from_value(serde_json::Value::String(kubeconfig_b64.to_owned()))?;
    let file: serde_json::Value = serde_yaml::from_slice(&yaml.0)?;
    let token = file["users"][0]["user"]["token"]
        .as_str()
        .ok_or("no token")?;
    let claims = jwt_claims(token)?;
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    // The grant reads the clock a moment after the contract was stamped.
    assert!(
        (3590..=3600).contains(&lifetime),
        "token ends with the contract: {claims}"
    );
    let sub = format!("system:serviceaccount:{ns}:{}", names::PEER_SERVICE_ACCOUNT);
    assert_eq!(claims["sub"], sub.as_str());
    Ok(())
}

/// The buyer may work in `ns` and nowhere else, cannot mint tokens or run privileged pods.
async fn assert_confined(buyer: &Client, ns: &str) -> TestResult {
    let pp = PostParams::default();
    let maps: Api<ConfigMap> = Api::namespaced(buyer.clone(), ns);
    let map = ConfigMap {
        metadata: named("app"),
        ..ConfigMap::default()
    };
    maps.create(&pp, &map).await?;
    assert!(maps.get("app").await.is_ok());
    let elsewhere: Api<ConfigMap> = Api::namespaced(buyer.clone(), "default");
    assert_eq!(
        status_code(elsewhere.list(&ListParams::default()).await),
        403
    );
    let namespaces: Api<Namespace> = Api::all(buyer.clone());
    assert_eq!(
        status_code(namespaces.list(&ListParams::default()).await),
        403
    );
    let accounts: Api<ServiceAccount> = Api::namespaced(buyer.clone(), ns);
    let sa = names::PEER_SERVICE_ACCOUNT;
    let minted = accounts
        .create_token_request(sa, &pp, &token_request(600))
        .await;
    assert_eq!(status_code(minted), 403, "no token minting");
    let privileged: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "escape"},
        "spec": {"hostPID": true, "containers": [{"name": "c", "image": "busybox",
                  "securityContext": {"privileged": true}}]}
    }))?;
    let pods: Api<Pod> = Api::namespaced(buyer.clone(), ns);
    assert_eq!(
        status_code(pods.create(&pp, &privileged).await),
        403,
        "Pod Security baseline"
    );
    Ok(())
}

/// The buyer's token is refused: at once by RBAC (403), then (401) once the API server's token
/// success cache (10 s by default) forgets it.
async fn assert_cut_off(buyer: &Client, ns: &str) {
    let maps: Api<ConfigMap> = Api::namespaced(buyer.clone(), ns);
    assert!(matches!(status_code(maps.get("app").await), 401 | 403));
    let mut code = 0;
    for _ in 0..60 {
        code = status_code(maps.get("app").await);
        if code == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(code, 401, "tokens die with the ServiceAccount");
}

#[tokio::test]
#[ignore = "needs a kube-apiserver: set FLUIDOS_TEST_KUBECONFIG and pass --ignored"]
async fn live_grant_scopes_the_buyer_and_revoke_cuts_it_off() -> TestResult {
    let id = run_id();
    let (driver, _admin) = live_driver(&id).await?;
    let name = format!("contract-live-{id}");
    let first = driver.grant_contract(&name, &contract_until(3600)).await?;
    let again = driver.grant_contract(&name, &contract_until(3600)).await?;
    assert_eq!(first.liqo_id, "node-live");
    assert_ne!(
        first.kubeconfig, again.kubeconfig,
        "a fresh token each grant"
    );
    let (buyer, ns) = buyer_client(&again.kubeconfig).await?;
    assert_eq!(ns, driver.namespace_of(&name));
    assert_token_matches_contract(&again.kubeconfig, &ns)?;
    assert_confined(&buyer, &ns).await?;

    driver.revoke_contract(&name).await?;
    driver.revoke_contract(&name).await?;
    assert_cut_off(&buyer, &ns).await;
    let regrant = driver.grant_contract(&name, &contract_until(3600)).await;
    assert!(
        matches!(regrant, Err(KubePeeringError::Terminating { .. })),
        "{regrant:?}"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs a kube-apiserver: set FLUIDOS_TEST_KUBECONFIG and pass --ignored"]
async fn live_foreign_namespaces_and_ended_contracts_are_refused() -> TestResult {
    let id = run_id();
    let (driver, admin) = live_driver(&id).await?;
    let name = format!("contract-foreign-{id}");
    let ns = driver.namespace_of(&name);
    let namespaces: Api<Namespace> = Api::all(admin);
    let foreign = Namespace {
        metadata: named(&ns),
        ..Namespace::default()
    };
    namespaces.create(&PostParams::default(), &foreign).await?;
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
    let still = namespaces.get(&ns).await?;
    assert!(still.metadata.deletion_timestamp.is_none(), "left alone");

    let ended = format!("contract-ended-{id}");
    let grant = driver.grant_contract(&ended, &contract_until(-5)).await;
    assert!(
        matches!(grant, Err(KubePeeringError::Lifetime { .. })),
        "{grant:?}"
    );
    let created = namespaces.get_opt(&driver.namespace_of(&ended)).await?;
    assert!(created.is_none(), "nothing created");
    Ok(())
}
