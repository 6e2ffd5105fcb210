//! `fluidos-rearbench`: REAR latency against a real provider hub process over mutual TLS.
//!
//! It initialises a provider and a consumer state directory in a scratch directory, writes
//! `--flavors` K8Slice Flavors straight into the provider's store, starts the provider
//! (`hub-e2e run`, the shipped main), and then, acting as the consumer with its node
//! certificate: `--lists` LIST k8slice requests with a cpu/memory filter, and `--trades`
//! reserve + purchase round trips (each on a different Flavor, whole). Prints percentiles.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fluidos_protocol::flavor::{Flavor, FlavorSpec, FlavorType, K8SliceTypeData};
use fluidos_protocol::meta::ObjectMeta;
use fluidos_protocol::node::{NodeIdentity, WireNodeIdentity};
use fluidos_protocol::rear::{
    PATH_FLAVORS_K8SLICE, PATH_RESERVATIONS, PurchaseRequest, ReserveRequest, WireTransaction,
    purchase_path,
};
use fluidos_protocol::{DEFAULT_NAMESPACE, Quantity};

use crate::hub::TestHub;
use crate::process::{Binaries, Scratch};
use crate::rear::{DOMAIN, client_as, rear_config};

mod discovery;

/// Command-line options.
#[derive(Debug, clap::Parser)]
#[command(name = "fluidos-rearbench", about = "REAR latency over mutual TLS")]
pub struct Args {
    /// Flavors in the provider's store.
    #[arg(long, default_value_t = 10_000)]
    pub flavors: usize,
    /// LIST k8slice requests to time.
    #[arg(long, default_value_t = 500)]
    pub lists: usize,
    /// Reserve + purchase round trips to time.
    #[arg(long, default_value_t = 300)]
    pub trades: usize,
    /// `filter[cpu][range][min]` of the LIST query.
    #[arg(long, default_value = "2")]
    pub cpu_min: String,
    /// `filter[memory][range][min]` of the LIST query.
    #[arg(long, default_value = "4Gi")]
    pub memory_min: String,
    /// Also time a discovery over this many peers (0: skip).
    #[arg(long, default_value_t = 0)]
    pub discovery_peers: usize,
    /// How many of those peers are black holes.
    #[arg(long, default_value_t = 10)]
    pub black_holes: usize,
    /// Per-peer discovery deadline.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub discovery_timeout: Duration,
    /// Directory holding `hub-e2e` (default: next to this binary).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

/// Run the benchmark; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fluidos-rearbench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let bins = Binaries {
        hub: dir.join("hub-e2e"),
        agent: dir.join("agent-e2e"),
    };
    let scratch = Scratch::new("rearbench");
    let mut consumer =
        TestHub::init_named(&bins, scratch.path(), "consumer", Duration::from_secs(10));
    let mut provider =
        TestHub::init_named(&bins, scratch.path(), "provider", Duration::from_secs(10));
    provider.set_config(&rear_config(&[&consumer], &[], ""));
    provider.rear_listen = Some("0.0.0.0:0".into());
    seed(&provider, args.flavors).await?;
    provider.start().await;
    let client = client_as(&consumer, &[&provider]);
    let port = provider.addrs.map(|a| a.rear.port()).unwrap_or_default();
    let addr = format!("127.0.0.1:{port}");
    let query = format!(
        "{PATH_FLAVORS_K8SLICE}?filter[cpu][range][min]={}&filter[memory][range][min]={}",
        args.cpu_min, args.memory_min
    );
    let mut lists = Vec::with_capacity(args.lists);
    let mut matched = 0usize;
    for _ in 0..args.lists {
        let t = Instant::now();
        let r = client.get(&addr, &query).await?;
        lists.push(t.elapsed());
        anyhow::ensure!(r.status == 200, "LIST answered {}", r.status);
        let flavors = serde_json::from_slice::<Vec<serde_json::Value>>(&r.body)?;
        if std::env::var_os("REARBENCH_DEBUG").is_some() {
            for f in flavors.iter().take(3) {
                eprintln!("{}", f["type"]["data"]["charateristics"]);
            }
        }
        matched = flavors.len();
    }
    report(
        &format!(
            "LIST k8slice among {} flavors ({matched} matched)",
            args.flavors
        ),
        &mut lists,
    );
    let mut trades = Vec::with_capacity(args.trades);
    for i in 0..args.trades.min(args.flavors) {
        let t = Instant::now();
        trade(&client, &addr, &consumer, &format!("bench-{i:06}")).await?;
        trades.push(t.elapsed());
    }
    report("reserve + purchase round trip", &mut trades);
    if args.discovery_peers > 0 {
        let peers = args.discovery_peers.saturating_sub(args.black_holes);
        discovery::run(
            &provider,
            &mut consumer,
            peers,
            args.black_holes,
            args.discovery_timeout,
        )
        .await?;
    }
    Ok(())
}

async fn trade(
    client: &fluidos_hub::rear::client::RearClient,
    addr: &str,
    consumer: &TestHub,
    flavor: &str,
) -> anyhow::Result<()> {
    let req = ReserveRequest {
        flavor_id: flavor.to_owned(),
        buyer: WireNodeIdentity {
            id: consumer.node_id(),
            ip: "127.0.0.1:1".into(),
            domain: DOMAIN.into(),
            additional_information: None,
        },
        configuration: None,
    };
    let r = client.post_json(addr, PATH_RESERVATIONS, &req).await?;
    anyhow::ensure!(r.status == 200, "reserve answered {}", r.status);
    let tx: WireTransaction = serde_json::from_slice(&r.body)?;
    let path = purchase_path(&tx.transaction_id);
    let r = client
        .post_json(addr, &path, &PurchaseRequest::default())
        .await?;
    anyhow::ensure!(r.status == 200, "purchase answered {}", r.status);
    Ok(())
}

/// Write `n` Flavors with varied capacity into the provider's store.
async fn seed(provider: &TestHub, n: usize) -> anyhow::Result<()> {
    let store = fluidos_hub::store::SqliteStore::open(&provider.state.join("hub.db"))?;
    let owner = NodeIdentity {
        domain: DOMAIN.into(),
        node_id: provider.node_id(),
        ip: String::new(),
        additional_information: None,
    };
    for i in 0..n {
        let mut data = K8SliceTypeData::default();
        data.characteristics.architecture = if i % 2 == 0 { "arm64" } else { "amd64" }.into();
        data.characteristics.cpu = Quantity::from_milli(i64::try_from(1000 + (i % 8) * 500)?);
        data.characteristics.memory = Quantity::from_bytes_binary(((i % 16) as u64 + 1) << 30);
        data.characteristics.pods = Quantity::from_int(110);
        let meta = ObjectMeta {
            name: format!("bench-{i:06}"),
            namespace: DEFAULT_NAMESPACE.into(),
            ..ObjectMeta::default()
        };
        let spec = FlavorSpec {
            provider_id: owner.node_id.clone(),
            flavor_type: FlavorType::from_k8slice(&data)?,
            owner: owner.clone(),
            availability: true,
            ..FlavorSpec::default()
        };
        fluidos_hub::store::create_typed(store.as_ref(), &Flavor::new(meta, spec)).await?;
    }
    Ok(())
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples.get(i).copied().unwrap_or_default()
    };
    println!(
        "{what}: n={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        samples.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3,
    );
}
