//! `fluidos-kubebench writes`: the measuring half of `tests/bench/kube-writes.sh`. Against a
//! hub in Kubernetes mode that `fluidos-loadgen` is about to load, it scrapes the API server's
//! own request counters and the hub's `/metrics` through four phases: idle (hub up, no reports
//! yet), warm-up (from the hub's first write until every agent's Flavor exists), a settle
//! period of one heartbeat, and the steady-state window, and prints what was written in each.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use super::metrics::{HubCounters, WriteCounts, hub_counters, request_writes};
use super::watch::RawWatch;

/// How often the hub's counters are read while waiting.
const HUB_POLL: Duration = Duration::from_millis(100);
/// How often the (large) API server scrape is refreshed while waiting for the first write.
const API_POLL: Duration = Duration::from_secs(2);

/// Options of `writes`.
#[derive(Debug, clap::Args)]
pub(crate) struct WritesArgs {
    /// Admin kubeconfig of the control plane the hub writes to.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// State directory of the hub (its run.json gives the admin address).
    #[arg(long)]
    hub_state: PathBuf,
    /// Simulated agents: the warm-up ends when the hub has written this many objects.
    #[arg(long)]
    agents: u64,
    /// Steady-state window.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Pause between the end of the warm-up and the window (one heartbeat).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// Give up waiting for the first write, and for the warm-up, after this long.
    #[arg(long, default_value = "600s", value_parser = humantime::parse_duration)]
    warmup_timeout: Duration,
    /// Namespace of the hub's Lease.
    #[arg(long, default_value = "fluidos")]
    namespace: String,
    /// Name of the hub's Lease (its renewals are counted apart from other Leases).
    #[arg(long, default_value = "fluidos-hub")]
    lease_name: String,
}

/// Both sides' counters at one instant.
#[derive(Debug, Clone)]
struct Snapshot {
    at: Instant,
    api: WriteCounts,
    hub: HubCounters,
}

/// Where the numbers come from.
struct Sources {
    client: kube::Client,
    hub_admin: SocketAddr,
}

impl Sources {
    async fn hub(&self) -> anyhow::Result<HubCounters> {
        let (status, body) = crate::raw::plain_get(self.hub_admin, "/metrics").await;
        anyhow::ensure!(status == 200, "hub /metrics answered {status}");
        Ok(hub_counters(&body))
    }

    async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let request = http::Request::get("/metrics").body(Vec::new())?;
        let text = self.client.request_text(request).await?;
        let at = Instant::now();
        Ok(Snapshot {
            at,
            api: request_writes(&text),
            hub: self.hub().await?,
        })
    }
}

/// Run the measurement and print the report.
pub(crate) async fn run(args: WritesArgs) -> anyhow::Result<()> {
    let client = crate::kube::client_from_kubeconfig(&args.kubeconfig).await?;
    let hub_admin = hub_admin(&args.hub_state).await?;
    let renewals = lease_renewals(client.clone(), &args.namespace, &args.lease_name);
    let sources = Sources { client, hub_admin };
    let start = sources.snapshot().await?;
    eprintln!("writes: hub at {hub_admin}; waiting for the first report's write");
    let (idle_end, first_write) = wait_first_write(&sources, &start, args.warmup_timeout).await?;
    let target = start.hub.store_writes + args.agents as f64;
    let all_created = wait_warm(&sources, target, args.agents, args.warmup_timeout).await?;
    eprintln!(
        "writes: {} Flavors written in {:.1}s; settling {:?}, then measuring {:?}",
        args.agents,
        (all_created - first_write).as_secs_f64(),
        args.settle,
        args.duration
    );
    tokio::time::sleep(args.settle).await;
    let window_start = sources.snapshot().await?;
    tokio::time::sleep(args.duration).await;
    let window_end = sources.snapshot().await?;
    let hub_lease = count_between(&renewals, window_start.at, window_end.at);
    let flavors = flavors_on_server(&sources.client, &args.namespace).await?;
    let report = json!({
        "agents": args.agents,
        "flavorsOnServer": flavors,
        "idle": phase(&start, &idle_end),
        "warmUp": {
            "burstSeconds": (all_created - first_write).as_secs_f64(),
            "counts": phase(&idle_end, &window_start),
        },
        "steady": phase(&window_start, &window_end),
        "steadyHubLeaseRenewals": hub_lease,
    });
    println!("{report:#}");
    let steady = window_end.api.since(&window_start.api);
    let secs = (window_end.at - window_start.at).as_secs_f64();
    println!(
        "steady state: FLUIDOS writes {:.2}/s, hub Lease {:.2}/s, all leases {:.2}/s, all mutating {:.2}/s",
        steady.fluidos / secs,
        hub_lease as f64 / secs,
        steady.leases / secs,
        steady.all / secs
    );
    Ok(())
}

/// Counts and rates between two snapshots.
fn phase(from: &Snapshot, to: &Snapshot) -> serde_json::Value {
    let secs = (to.at - from.at).as_secs_f64().max(f64::MIN_POSITIVE);
    let api = to.api.since(&from.api);
    let hub_writes = to.hub.store_writes - from.hub.store_writes;
    let reports = to.hub.reports - from.hub.reports;
    json!({
        "seconds": secs,
        "apiserver": {
            "fluidosWrites": api.fluidos,
            "fluidosWritesPerSecond": api.fluidos / secs,
            "leaseWrites": api.leases,
            "leaseWritesPerSecond": api.leases / secs,
            "allWrites": api.all,
            "allWritesPerSecond": api.all / secs,
            "fluidosByRequest": api.fluidos_by_request,
            "fluidosLists": api.fluidos_lists,
        },
        "hub": {
            "storeWrites": hub_writes,
            "storeWritesPerSecond": hub_writes / secs,
            "reports": reports,
            "reportsPerSecond": reports / secs,
            "rejected": to.hub.rejected - from.hub.rejected,
            "agentsLive": to.hub.agents_live,
        },
    })
}

/// The idle phase's last snapshot before the hub's first write, and when that write was seen.
async fn wait_first_write(
    sources: &Sources,
    start: &Snapshot,
    timeout: Duration,
) -> anyhow::Result<(Snapshot, Instant)> {
    let deadline = Instant::now() + timeout;
    let mut idle_end = start.clone();
    loop {
        if sources.hub().await?.store_writes > start.hub.store_writes {
            return Ok((idle_end, Instant::now()));
        }
        anyhow::ensure!(Instant::now() < deadline, "no hub write within {timeout:?}");
        if idle_end.at.elapsed() >= API_POLL {
            let snapshot = sources.snapshot().await?;
            if snapshot.hub.store_writes <= start.hub.store_writes {
                idle_end = snapshot;
            }
        }
        tokio::time::sleep(HUB_POLL).await;
    }
}

/// When the hub's store writes reached `target` with `agents` agents live.
async fn wait_warm(
    sources: &Sources,
    target: f64,
    agents: u64,
    timeout: Duration,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + timeout;
    loop {
        let hub = sources.hub().await?;
        if hub.store_writes >= target && hub.agents_live >= agents as f64 {
            return Ok(Instant::now());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "within {timeout:?} the hub wrote {} of {target} objects, {} agents live",
            hub.store_writes,
            hub.agents_live
        );
        tokio::time::sleep(HUB_POLL).await;
    }
}

/// How many Flavors namespace `ns` holds (one-item page + `remainingItemCount`).
async fn flavors_on_server(client: &kube::Client, ns: &str) -> anyhow::Result<u64> {
    let path = format!("/apis/nodecore.fluidos.eu/v1alpha1/namespaces/{ns}/flavors?limit=1");
    let page: serde_json::Value = client
        .request(http::Request::get(path).body(Vec::new())?)
        .await?;
    let listed = page["items"].as_array().map_or(0, Vec::len) as u64;
    Ok(listed + page["metadata"]["remainingItemCount"].as_u64().unwrap_or(0))
}

/// The hub's admin address from `<state>/run.json` (waits up to 60 s for the file).
async fn hub_admin(state: &Path) -> anyhow::Result<SocketAddr> {
    let path = state.join("run.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(bytes) = std::fs::read(&path) {
            let info: crate::hub::RunInfo = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not run.json", path.display()))?;
            return Ok(info.admin);
        }
        anyhow::ensure!(Instant::now() < deadline, "no {}", path.display());
        tokio::time::sleep(HUB_POLL).await;
    }
}

type Stamps = Arc<Mutex<Vec<Instant>>>;

/// Watch Lease `namespace/name` in the background, stamping each MODIFIED event (a renewal).
fn lease_renewals(client: kube::Client, namespace: &str, name: &str) -> Stamps {
    let stamps = Stamps::default();
    let path = format!(
        "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases?fieldSelector=metadata.name%3D{name}"
    );
    let sink = Arc::clone(&stamps);
    tokio::spawn(async move {
        let mut watch = RawWatch::new(client, &path);
        loop {
            match watch.next().await {
                Ok(event) if event.kind == "MODIFIED" => sink
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(event.at),
                Ok(_) => {}
                Err(error) => {
                    eprintln!("writes: the Lease watch failed: {error:#}");
                    return;
                }
            }
        }
    });
    stamps
}

fn count_between(stamps: &Stamps, from: Instant, to: Instant) -> usize {
    let stamps = stamps.lock().unwrap_or_else(PoisonError::into_inner);
    stamps.iter().filter(|t| **t >= from && **t < to).count()
}
