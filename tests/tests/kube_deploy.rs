//! The deploy manifests (`config/deploy`) against a real kube-apiserver: the whole kustomization
//! passes a server-side dry run, and a provider hub that holds exactly the rights of
//! `rbac.yaml` (its ServiceAccount's token, not admin) stores, elects itself leader, turns a
//! labelled Node into a Flavor, sells to a consumer hub on another cluster and hands the buyer
//! working credentials in a contract namespace, with no request forbidden; the admission
//! policy keeps that account out of anything but contract namespaces.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine;
use fluidos_protocol::flavor::Flavor;
use fluidos_protocol::phase::Phase;
use fluidos_protocol::reservation::Contract;
use fluidos_protocol::solver::Solver;
use fluidos_tests::agent::TestAgent;
use fluidos_tests::hub::TestHub;
use fluidos_tests::kube::{ControlPlane, skipped, unique_name};
use fluidos_tests::kube_mode::{kube_config, kube_objects, kube_store, solver_yaml};
use fluidos_tests::process::Scratch;
use fluidos_tests::rear::rear_config;
use fluidos_tests::{bins, eventually, samples};

const HEARTBEAT: Duration = Duration::from_secs(1);
/// The hub's namespace and ServiceAccount in the deploy manifests.
const HUB_NAMESPACE: &str = "fluidos";
const HUB_ACCOUNT: &str = "fluidos-hub";
const HUB_USER: &str = "system:serviceaccount:fluidos:fluidos-hub";
/// A Node labelled for sale (`[kubernetes].node_label=true`).
const NODE: &str = "worker-1";

/// `config/deploy` in the repository.
fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/deploy")
}

/// `kubectl apply --server-side -f config/deploy/<file>`, for real, as admin.
fn apply_deploy_file(plane: &ControlPlane, file: &str) {
    let path = deploy_dir().join(file);
    plane
        .kubectl_ok(&["apply", "--server-side", "-f", &path.to_string_lossy()])
        .unwrap_or_else(|e| panic!("applying {file}: {e:#}"));
}

/// `kubectl --kubeconfig <kubeconfig> args…` (success or not).
fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Output {
    std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `kubectl` as admin with the whitespace-separated `args`, which must succeed; its stdout.
fn admin(plane: &ControlPlane, args: &str) -> String {
    let args: Vec<&str> = args.split_whitespace().collect();
    plane
        .kubectl_ok(&args)
        .unwrap_or_else(|e| panic!("kubectl {args:?}: {e:#}"))
}

#[test]
fn deploy_manifests_pass_a_server_side_dry_run() {
    if skipped("deploy_manifests_pass_a_server_side_dry_run") {
        return;
    }
    let plane = ControlPlane::shared("deploy");
    // The namespaced objects of the dry run need their namespace to exist for real.
    apply_deploy_file(plane, "namespace.yaml");
    let dir = deploy_dir().to_string_lossy().into_owned();
    let out = plane
        .kubectl_ok(&["apply", "--server-side", "--dry-run=server", "-k", &dir])
        .expect("the deploy kustomization passes a server-side dry run");
    for object in [
        "serviceaccount/fluidos-hub",
        "role.rbac.authorization.k8s.io/fluidos-hub",
        "rolebinding.rbac.authorization.k8s.io/fluidos-hub",
        "clusterrole.rbac.authorization.k8s.io/fluidos-hub",
        "clusterrolebinding.rbac.authorization.k8s.io/fluidos-hub",
        "clusterrole.rbac.authorization.k8s.io/fluidos-peer",
        "configmap/fluidos-hub-config",
        "deployment.apps/fluidos-hub",
        "poddisruptionbudget.policy/fluidos-hub",
        "service/fluidos-hub-agents",
        "service/fluidos-hub-rear",
        "validatingadmissionpolicy.admissionregistration.k8s.io/fluidos-hub-peering-scope",
        "validatingadmissionpolicybinding.admissionregistration.k8s.io/fluidos-hub-peering-scope",
        "customresourcedefinition.apiextensions.k8s.io/solvers.nodecore.fluidos.eu",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{object} ")) && l.contains("(server dry run)")),
            "the dry run names {object}:\n{out}"
        );
    }
    let get = plane.kubectl_ok(&["get", "deployment", "fluidos-hub", "-n", HUB_NAMESPACE]);
    assert!(
        get.as_ref()
            .is_err_and(|e| e.to_string().contains("NotFound")),
        "a dry run creates nothing: {get:?}"
    );
}

/// Apply, for real and as admin, what the hub's rights consist of.
fn apply_rbac_manifests(plane: &ControlPlane) {
    for file in [
        "namespace.yaml",
        "rbac.yaml",
        "peer-clusterrole.yaml",
        "admission-policy.yaml",
    ] {
        apply_deploy_file(plane, file);
    }
}

/// A kubeconfig for the ServiceAccount fluidos/fluidos-hub (what the pod's in-cluster config
/// would hold).
fn hub_account_kubeconfig(plane: &ControlPlane, scratch: &Scratch) -> PathBuf {
    let token = plane
        .service_account_token(HUB_NAMESPACE, HUB_ACCOUNT, Duration::from_secs(3600))
        .expect("a token for the hub's ServiceAccount");
    let path = scratch.path().join("hub-account.kubeconfig");
    plane
        .write_kubeconfig(&token, HUB_NAMESPACE, &path)
        .expect("write the hub's kubeconfig");
    path
}

/// A Ready amd64 Node with 8 CPUs and 16 GiB, labelled for sale (created as admin; the status
/// is what a kubelet would report).
fn add_node_for_sale(plane: &ControlPlane, scratch: &Scratch) {
    let node = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {NODE}\n  labels:\n    \
         node-role.fluidos.eu/resources: \"true\"\n    kubernetes.io/hostname: {NODE}\n"
    );
    let file = scratch.path().join("node.yaml");
    std::fs::write(&file, node).expect("write node.yaml");
    plane
        .kubectl_ok(&["apply", "-f", &file.to_string_lossy()])
        .expect("create the Node");
    let resources = r#"{"cpu":"8","memory":"16Gi","pods":"110","ephemeral-storage":"100Gi"}"#;
    let status = format!(
        r#"{{"status":{{"capacity":{resources},"allocatable":{resources},
        "conditions":[{{"type":"Ready","status":"True"}}],
        "nodeInfo":{{"architecture":"amd64","operatingSystem":"linux","bootID":"",
        "containerRuntimeVersion":"","kernelVersion":"","kubeProxyVersion":"",
        "kubeletVersion":"","machineID":"","osImage":"","systemUUID":""}}}}}}"#
    );
    let status: String = status.split_whitespace().collect();
    admin(
        plane,
        &format!("patch node {NODE} --subresource=status --type=merge -p {status}"),
    );
}

/// The provider's config: the hub's ServiceAccount kubeconfig, namespace fluidos, the deploy
/// ConfigMap's Lease, Node label and peering settings (the defaults).
fn provider_config(kubeconfig: &Path, consumer: &TestHub) -> String {
    let top = "log = \"info,kube_client=debug\"\nlog_format = \"json\"\nstore = \"kubernetes\"\n";
    let kubernetes = format!(
        "[kubernetes]\nkubeconfig = {:?}\nnamespace = {HUB_NAMESPACE:?}\nleader_election = true\n\
         lease_name = \"fluidos-hub\"\nnode_flavors = true\npeering = true\n\
         peer_cluster_role = \"fluidos-peer\"\npeer_namespace_prefix = \"fluidos-peer-\"\n",
        kubeconfig.to_string_lossy()
    );
    format!("{top}{kubernetes}{}", rear_config(&[consumer], &[], ""))
}

/// Both Flavors on the provider's cluster: the board's (from its agent) and the Node's.
async fn wait_for_flavors(plane: &ControlPlane, scratch: &Scratch) -> (Flavor, Flavor) {
    let store = kube_store(plane, HUB_NAMESPACE).await;
    let what = "the board's and the Node's Flavors";
    within(scratch, Duration::from_secs(30), what, || {
        let store = store.clone();
        async move {
            let flavors = kube_objects::<Flavor>(&store, HUB_NAMESPACE).await;
            let labelled = |key: &str, value: &str| {
                let has =
                    |f: &&Flavor| f.metadata.labels.get(key).map(String::as_str) == Some(value);
                flavors.iter().find(has).cloned()
            };
            let board = labelled("fluidos.eu/agent-node", "pi-a")?;
            Some((board, labelled("fluidos.eu/k8s-node", NODE)?))
        }
    })
    .await
}

/// Apply the Solver on the consumer's cluster and wait until it is Solved.
async fn buy(consumer_plane: &ControlPlane, ns: &str, scratch: &Scratch) -> Solver {
    // arm64: the board, not the amd64 Node.
    consumer_plane
        .apply_yaml(&solver_yaml("solver-deploy", ns, Some("arm64")))
        .expect("kubectl apply the Solver");
    let store = kube_store(consumer_plane, ns).await;
    let started = Instant::now();
    let solved =
        |s: &Solver| s.status.as_ref().map(|st| st.solver_phase.phase) == Some(Phase::Solved);
    let solver = within(
        scratch,
        Duration::from_secs(60),
        "the Solver Solved",
        || {
            let store = store.clone();
            async move {
                kube_objects::<Solver>(&store, ns)
                    .await
                    .into_iter()
                    .find(solved)
            }
        },
    )
    .await;
    eprintln!("Solver → Solved in {:?}", started.elapsed());
    solver
}

/// The buyer's kubeconfig works in its contract namespace (fluidos-peer-*) and nowhere else.
fn check_buyer_credentials(plane: &ControlPlane, scratch: &Scratch, bought: &Contract) -> String {
    let yaml = base64::engine::general_purpose::STANDARD
        .decode(&bought.spec.peering_target_credentials.kubeconfig)
        .expect("the kubeconfig is base64");
    let path = scratch.path().join("buyer.kubeconfig");
    std::fs::write(&path, &yaml).expect("write the buyer's kubeconfig");
    let view = kubectl_with(
        &path,
        &["config", "view", "--minify", "-o", "jsonpath={..namespace}"],
    );
    let contract_ns = text(&view.stdout);
    assert!(
        contract_ns.starts_with("fluidos-peer-"),
        "the buyer's namespace is a contract namespace: {contract_ns:?}"
    );
    plane
        .kubectl_ok(&["get", "namespace", &contract_ns])
        .expect("the contract namespace exists on the provider's cluster");
    let created = kubectl_with(&path, &["create", "configmap", "bought-it"]);
    assert!(
        created.status.success(),
        "the buyer creates in its namespace: {}",
        text(&created.stderr)
    );
    let elsewhere = kubectl_with(&path, &["get", "pods", "-n", HUB_NAMESPACE]);
    assert!(
        !elsewhere.status.success() && text(&elsewhere.stderr).contains("Forbidden"),
        "the buyer is forbidden in the hub's namespace: {}",
        text(&elsewhere.stderr)
    );
    contract_ns
}

/// Once the seller ends the Contract, the hub (with its own rights) tears the peering down:
/// the buyer's credentials stop working and the contract namespace goes.
async fn check_teardown(
    plane: &ControlPlane,
    scratch: &Scratch,
    sold: &Contract,
    contract_ns: &str,
) {
    let ended = r#"{"status":{"phase":{"phase":"Inactive","message":"ended_by_the_test"}}}"#;
    let contract = &sold.metadata.name;
    admin(
        plane,
        &format!(
            "patch contracts.reservation.fluidos.eu {contract} -n {HUB_NAMESPACE} --subresource=status --type=merge -p {ended}"
        ),
    );
    let buyer = scratch.path().join("buyer.kubeconfig");
    within(
        scratch,
        Duration::from_secs(30),
        "the buyer's credentials to stop working",
        || {
            let ok = kubectl_with(&buyer, &["get", "configmaps"])
                .status
                .success();
            async move { (!ok).then_some(()) }
        },
    )
    .await;
    // Without a namespace controller the namespace stays Terminating: deletion was requested.
    let get = [
        "get",
        "namespace",
        contract_ns,
        "-o",
        "jsonpath={.status.phase}",
    ];
    let phase = plane.kubectl_ok(&get).unwrap_or_else(|_| "gone".to_owned());
    assert!(
        phase == "Terminating" || phase == "gone",
        "the contract namespace {contract_ns} is being deleted: {phase}"
    );
}

/// The hub's account holds nothing outside its remit, and the admission policy confines its
/// peering rights to contract namespaces.
fn check_hub_account_limits(plane: &ControlPlane, hub_kubeconfig: &Path) {
    let questions: [&[&str]; 4] = [
        &["create", "secrets", "-n", "kube-system"],
        &["get", "secrets", "-n", HUB_NAMESPACE],
        &["create", "clusterrolebindings"],
        &["bind", "clusterroles/cluster-admin"],
    ];
    for question in questions {
        let out = plane
            .kubectl()
            .args(["auth", "can-i", "--as", HUB_USER])
            .args(question)
            .output()
            .expect("kubectl runs");
        assert_eq!(
            text(&out.stdout).trim(),
            "no",
            "can-i {question:?} as the hub"
        );
    }
    let outside = kubectl_with(hub_kubeconfig, &["create", "namespace", "not-a-contract"]);
    let err = text(&outside.stderr);
    assert!(
        !outside.status.success() && err.contains("fluidos-hub-peering-scope"),
        "the admission policy stops the hub creating namespace not-a-contract: {err}"
    );
}

/// `config/deploy/verify-rbac.sh` (every can-i answer the manifests promise) agrees with the
/// API server.
fn check_verify_rbac_script(plane: &ControlPlane) {
    let out = std::process::Command::new("bash")
        .arg(deploy_dir().join("verify-rbac.sh"))
        .env("KUBECONFIG", plane.admin_kubeconfig())
        .output()
        .expect("bash runs");
    let report = text(&out.stdout);
    assert!(
        out.status.success() && !report.contains("MISMATCH"),
        "verify-rbac.sh:\n{report}"
    );
}

/// The provider holds the Lease of the deploy ConfigMap (`fluidos-hub`).
fn check_lease(plane: &ControlPlane) {
    let holder = admin(
        plane,
        "get lease fluidos-hub -n fluidos -o jsonpath={.spec.holderIdentity}",
    );
    assert!(!holder.trim().is_empty(), "the Lease has a holder");
}

/// The lines of the provider's (JSON) log about requests the API server refused.
fn refused_requests(scratch: &Scratch) -> Vec<String> {
    let log = std::fs::read_to_string(scratch.path().join("provider-log.err")).unwrap_or_default();
    log.lines()
        .filter(|l| l.to_ascii_lowercase().contains("forbidden"))
        .map(str::to_owned)
        .collect()
}

/// [`eventually`], failing on timeout with what the hub's account was refused (the likely
/// cause: a rule missing from rbac.yaml).
async fn within<T, F, Fut>(scratch: &Scratch, timeout: Duration, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let waiting = eventually(Duration::from_secs(3600), what, check);
    match tokio::time::timeout(timeout, waiting).await {
        Ok(found) => found,
        Err(_) => panic!(
            "timed out after {timeout:?} waiting for {what}; the API server refused the hub:\n{}",
            refused_requests(scratch).join("\n")
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_runs_with_exactly_the_deploy_rbac() {
    if skipped("hub_runs_with_exactly_the_deploy_rbac") {
        return;
    }
    // rbac.yaml names the namespace fluidos: this test has its provider plane to itself.
    let provider_plane = ControlPlane::shared("deploy-rbac");
    let consumer_plane = ControlPlane::shared("deploy-consumer");
    let ns = unique_name("consumer");
    provider_plane.install_crds().expect("CRDs");
    apply_rbac_manifests(provider_plane);
    consumer_plane.install_crds().expect("CRDs");
    consumer_plane.create_namespace(&ns).expect("namespace");
    let bins = bins!();
    let scratch = Scratch::new("kube-deploy");
    add_node_for_sale(provider_plane, &scratch);
    let hub_kubeconfig = hub_account_kubeconfig(provider_plane, &scratch);

    let mut consumer = TestHub::init_named(&bins, scratch.path(), "consumer", HEARTBEAT);
    let mut provider = TestHub::init_named(&bins, scratch.path(), "provider", HEARTBEAT);
    provider.set_config(&provider_config(&hub_kubeconfig, &consumer));
    provider.start().await;
    let mut agent = TestAgent::enrolled(
        &bins,
        scratch.path(),
        &provider,
        "pi-a",
        &samples::board("pi-a", "arm64", 4, 8),
    );
    agent.start();
    let (board_flavor, node_flavor) = wait_for_flavors(provider_plane, &scratch).await;
    let owner = &node_flavor.metadata.owner_references;
    assert!(
        owner.iter().any(|o| o.kind == "Node" && o.name == NODE),
        "{owner:?}"
    );
    check_lease(provider_plane);

    let rear = provider.addrs.expect("started").rear.to_string();
    consumer.set_config(
        &(kube_config(consumer_plane, &ns, "") + &rear_config(&[&provider], &[rear], "")),
    );
    consumer.start().await;
    let solver = buy(consumer_plane, &ns, &scratch).await;
    assert_eq!(solver.metadata.name, "solver-deploy");

    let bought = kube_objects::<Contract>(&*kube_store(consumer_plane, &ns).await, &ns).await;
    let provider_store = kube_store(provider_plane, HUB_NAMESPACE).await;
    let sold = kube_objects::<Contract>(&provider_store, HUB_NAMESPACE).await;
    assert_eq!(bought.len(), 1, "the consumer's cluster has the Contract");
    assert_eq!(sold.len(), 1, "the provider's cluster has the Contract");
    assert_eq!(bought[0].spec.transaction_id, sold[0].spec.transaction_id);
    assert_eq!(
        sold[0].spec.flavor.metadata.name,
        board_flavor.metadata.name
    );
    let contract_ns = check_buyer_credentials(provider_plane, &scratch, &bought[0]);
    check_teardown(provider_plane, &scratch, &sold[0], &contract_ns).await;
    check_hub_account_limits(provider_plane, &hub_kubeconfig);
    check_verify_rbac_script(provider_plane);
    let refused = refused_requests(&scratch);
    assert!(
        refused.is_empty(),
        "the API server refused the hub:\n{}",
        refused.join("\n")
    );

    agent.stop();
    consumer.stop();
    provider.stop();
}
