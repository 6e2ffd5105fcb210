//! The Kubernetes control-plane fixture itself: the shared etcd + kube-apiserver answers as
//! v1.34.10 to kube-rs and kubectl, RBAC is enforced for ServiceAccount tokens minted with the
//! TokenRequest API, and a private control plane's processes die with it.
//!
//! Skipped (saying so) when `FLUIDOS_SKIP_KUBE` is set.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fluidos_tests::kube::{ControlPlane, client_from_kubeconfig, skipped, unique_name};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};

const SLOT: &str = "kube-fixture";

#[tokio::test]
async fn shared_control_plane_reports_v1_34_10() {
    if skipped("shared_control_plane_reports_v1_34_10") {
        return;
    }
    let plane = ControlPlane::shared(SLOT);
    assert!(plane.server_url().starts_with("https://127.0.0.1:"));
    let client = plane.client().await.unwrap();
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.34.10");
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "34")
    );
}

#[test]
fn kubectl_with_the_admin_kubeconfig_lists_namespaces() {
    if skipped("kubectl_with_the_admin_kubeconfig_lists_namespaces") {
        return;
    }
    let plane = ControlPlane::shared(SLOT);
    let namespace = unique_name("kubectl");
    plane.create_namespace(&namespace).unwrap();
    plane.create_namespace(&namespace).unwrap(); // idempotent
    let out = plane
        .kubectl()
        .args(["get", "namespaces", "-o", "name"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<&str> = stdout.lines().collect();
    assert!(names.contains(&"namespace/default"), "{names:?}");
    assert!(
        names.contains(&format!("namespace/{namespace}").as_str()),
        "{names:?}"
    );
}

#[tokio::test]
async fn service_account_token_is_forbidden_until_a_role_binding_allows_it() {
    if skipped("service_account_token_is_forbidden_until_a_role_binding_allows_it") {
        return;
    }
    let plane = ControlPlane::shared(SLOT);
    let namespace = unique_name("rbac");
    plane.create_namespace(&namespace).unwrap();
    let ttl = Duration::from_secs(600);
    let token = plane
        .service_account_token(&namespace, "reader", ttl)
        .unwrap();
    assert_eq!(token_lifetime(&token), ttl.as_secs());

    let kubeconfig = plane.dir().join(format!("{namespace}.kubeconfig"));
    plane
        .write_kubeconfig(&token, &namespace, &kubeconfig)
        .unwrap();
    let reader = client_from_kubeconfig(&kubeconfig).await.unwrap();
    let pods: Api<Pod> = Api::default_namespaced(reader);
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            let who = format!("system:serviceaccount:{namespace}:reader");
            assert!(status.message.contains(&who), "{}", status.message);
        }
        other => panic!("listing pods without a binding should be forbidden: {other:?}"),
    }

    grant_pod_listing(plane.client().await.unwrap(), &namespace).await;
    // The RBAC authorizer sees the new binding through its informers: shortly, not at once.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match pods.list(&ListParams::default()).await {
            Ok(list) => {
                assert!(list.items.is_empty());
                break;
            }
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet allowed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("still not allowed after the RoleBinding: {e}"),
        }
    }
}

#[test]
fn dropping_a_private_control_plane_kills_etcd_and_apiserver() {
    if skipped("dropping_a_private_control_plane_kills_etcd_and_apiserver") {
        return;
    }
    let started = Instant::now();
    let plane = ControlPlane::start().unwrap();
    eprintln!("private control plane ready in {:?}", started.elapsed());
    let pids = plane.pids();
    let dir = plane.dir().to_owned();
    for pid in pids {
        assert!(pid > 0 && alive(pid), "pid {pid} should be running");
    }
    assert!(dir.join("kube-apiserver.log").is_file());
    drop(plane);
    for pid in pids {
        assert!(!alive(pid), "pid {pid} survived the drop");
    }
    assert!(!dir.exists(), "{} should be removed", dir.display());
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Seconds between `iat` and `exp` of a JWT.
fn token_lifetime(token: &str) -> u64 {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url JWT payload");
    let claims: serde_json::Value = serde_json::from_slice(&claims).expect("JSON JWT claims");
    let seconds = |claim: &str| claims[claim].as_u64().expect("numeric exp and iat claims");
    seconds("exp") - seconds("iat")
}

/// Role `pod-reader` (list pods) bound to ServiceAccount `reader`, as the admin.
async fn grant_pod_listing(admin: Client, namespace: &str) {
    let meta = ObjectMeta {
        name: Some("pod-reader".to_owned()),
        namespace: Some(namespace.to_owned()),
        ..ObjectMeta::default()
    };
    let role = Role {
        metadata: meta.clone(),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".to_owned()]),
            verbs: vec!["list".to_owned()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: "pod-reader".to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: "reader".to_owned(),
            namespace: Some(namespace.to_owned()),
            ..Subject::default()
        }]),
    };
    let post = PostParams::default();
    Api::<Role>::namespaced(admin.clone(), namespace)
        .create(&post, &role)
        .await
        .expect("create Role");
    Api::<RoleBinding>::namespaced(admin, namespace)
        .create(&post, &binding)
        .await
        .expect("create RoleBinding");
}
