//! `fluidos-kubebench solve`: Solver → Contract between two hubs in Kubernetes mode, each on
//! its own real control plane. The provider hub sells one big agent board; for each run a
//! Solver (1 CPU, 1 GiB, 1 pod, reserve and buy) is created on the consumer's cluster with
//! the kube client, and in-process watches on both clusters stamp each step (see
//! [`timeline`](super::timeline)), among them its status turning `Solved` and the new Contract
//! appearing on the provider's cluster. Runs are sequential.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fluidos_hub::k8s::peering::peer_cluster_role;
use k8s_openapi::api::rbac::v1::ClusterRole;
use serde_json::{Value, json};

use super::stats::{Percentiles, ms};
use super::timeline::{MILESTONES, PROVIDER_CONTRACT, SOLVED, Timeline, collection};
use super::watch::RawWatch;
use crate::agent::TestAgent;
use crate::hub::TestHub;
use crate::kube::ControlPlane;
use crate::kube_mode::kube_config;
use crate::process::{Binaries, Scratch};
use crate::rear::rear_config;

/// Heartbeat of both hubs (the shipped default).
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Options of `solve`.
#[derive(Debug, clap::Args)]
pub(crate) struct SolveArgs {
    /// Timed Solvers, one after the other.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Untimed Solvers first (leader election, first connections).
    #[arg(long, default_value_t = 1)]
    warmup_runs: usize,
    /// Namespace of the FLUIDOS objects on both clusters.
    #[arg(long, default_value = "fluidos")]
    namespace: String,
    /// Deadline of one run.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Directory holding `hub-e2e` and `agent-e2e` (default: next to this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

/// The two hubs and the provider's board.
struct Hubs {
    provider: TestHub,
    consumer: TestHub,
    agent: TestAgent,
}

/// Run the benchmark and print per-run lines, percentiles and JSON.
pub(crate) async fn run(args: SolveArgs) -> anyhow::Result<()> {
    let bins = super::binaries(args.bin_dir.as_deref())?;
    let ns = args.namespace.clone();
    let provider_plane = prepared(&ns).await?;
    let consumer_plane = prepared(&ns).await?;
    install_peer_role(&provider_plane).await?;
    let scratch = Scratch::new("kubebench-solve");
    let mut hubs = start_hubs(&bins, &scratch, &provider_plane, &consumer_plane, &ns).await?;
    let client = consumer_plane.client().await?;
    let provider_client = provider_plane.client().await?;
    let mut timeline = Timeline::start(&client, &provider_client, &ns)?;
    let mut runs = Vec::with_capacity(args.runs);
    for i in 0..args.warmup_runs + args.runs {
        let name = format!("bench-solver-{i:03}");
        let times = one_run(&client, &ns, &name, &mut timeline, args.timeout).await?;
        let warm = if i < args.warmup_runs {
            " (warm-up, not counted)"
        } else {
            ""
        };
        println!(
            "{name}: Solved +{:.1} ms, Contract on the provider +{:.1} ms{warm}",
            ms(times[SOLVED]),
            ms(times[PROVIDER_CONTRACT])
        );
        if i >= args.warmup_runs {
            runs.push(times);
        }
    }
    drop(timeline);
    summarise(&runs);
    hubs.agent.stop();
    hubs.consumer.stop();
    hubs.provider.stop();
    Ok(())
}

/// Percentiles of every milestone over `runs`, as text and JSON.
fn summarise(runs: &[Vec<Duration>]) {
    let mut json = serde_json::Map::new();
    for (index, milestone) in MILESTONES.iter().enumerate() {
        let times: Vec<Duration> = runs.iter().filter_map(|r| r.get(index).copied()).collect();
        let Some(p) = Percentiles::of(&times) else {
            println!("no timed runs");
            return;
        };
        println!("Solver create → {}: {}", milestone.label, p.line());
        json.insert(milestone.label.to_owned(), p.json());
    }
    println!("{:#}", Value::Object(json));
}

/// A private control plane with the CRDs and namespace `ns`.
async fn prepared(ns: &str) -> anyhow::Result<ControlPlane> {
    let ns = ns.to_owned();
    tokio::task::spawn_blocking(move || super::prepared_plane(&ns)).await?
}

/// An upstream-shaped Solver: 1 CPU, 1 GiB, 1 pod (any architecture), reserve and buy.
fn solver_object(name: &str, ns: &str) -> Value {
    let range = |min: &str| json!({"name": "Range", "data": {"min": min}});
    json!({
        "apiVersion": "nodecore.fluidos.eu/v1alpha1",
        "kind": "Solver",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {
                "flavorType": "K8Slice",
                "filters": {
                    "cpuFilter": range("1"),
                    "memoryFilter": range("1Gi"),
                    "podsFilter": range("1"),
                },
            },
            "intentID": format!("intent-{name}"),
            "findCandidate": true,
            "reserveAndBuy": true,
            "establishPeering": true,
        },
    })
}

/// The ClusterRole buyers are bound to in their contract namespace.
async fn install_peer_role(plane: &ControlPlane) -> anyhow::Result<()> {
    let roles: kube::Api<ClusterRole> = kube::Api::all(plane.client().await?);
    let role = peer_cluster_role("fluidos-peer");
    match roles.create(&kube::api::PostParams::default(), &role).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error).context("creating the peer ClusterRole"),
    }
}

/// Provider with a 64-CPU / 256-GiB board whose Flavor is on its cluster, then the consumer
/// that trusts and queries it.
async fn start_hubs(
    bins: &Binaries,
    scratch: &Scratch,
    provider_plane: &ControlPlane,
    consumer_plane: &ControlPlane,
    ns: &str,
) -> anyhow::Result<Hubs> {
    let mut consumer = TestHub::init_named(bins, scratch.path(), "consumer", HEARTBEAT);
    let mut provider = TestHub::init_named(bins, scratch.path(), "provider", HEARTBEAT);
    provider
        .set_config(&(kube_config(provider_plane, ns, "") + &rear_config(&[&consumer], &[], "")));
    let mut flavors = RawWatch::new(provider_plane.client().await?, &collection("Flavor", ns)?);
    let info = provider.start().await;
    let board = crate::samples::board("board", "amd64", 64, 256);
    let mut agent = TestAgent::enrolled(bins, scratch.path(), &provider, "board", &board);
    agent.start();
    tokio::time::timeout(Duration::from_secs(60), flavors.next())
        .await
        .context("the board's Flavor did not appear on the provider's cluster")??;
    let rear = vec![info.rear.to_string()];
    consumer
        .set_config(&(kube_config(consumer_plane, ns, "") + &rear_config(&[&provider], &rear, "")));
    consumer.start().await;
    Ok(Hubs {
        provider,
        consumer,
        agent,
    })
}

/// Create Solver `name` and wait for every milestone; the times from create.
async fn one_run(
    client: &kube::Client,
    ns: &str,
    name: &str,
    timeline: &mut Timeline,
    timeout: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let body = serde_json::to_vec(&solver_object(name, ns))?;
    let request = http::Request::post(collection("Solver", ns)?)
        .header("content-type", "application/json")
        .body(body)?;
    let created = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let _: Value = client
        .request(request)
        .await
        .context("creating the Solver")?;
    timeline.run(name, created, deadline).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_solver_is_a_valid_protocol_solver() {
        let object = solver_object("bench-solver-000", "fluidos");
        let solver: fluidos_protocol::solver::Solver = serde_json::from_value(object).unwrap();
        assert!(solver.spec.reserve_and_buy && solver.spec.find_candidate);
        let selector = solver.spec.selector.unwrap();
        let filters = selector.filter_set().unwrap();
        let fluidos_protocol::selector::FilterSet::K8Slice(k8s) = filters else {
            panic!("not K8Slice filters: {filters:?}");
        };
        assert!(k8s.cpu.is_some() && k8s.memory.is_some() && k8s.pods.is_some());
        assert!(k8s.architecture.is_none());
    }
}
