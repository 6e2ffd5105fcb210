//! The load generator behind `fluidos-loadgen`: N simulated agents, each with its own client
//! certificate (issued directly from the hub's CA in its state directory, which is what
//! enrollment would produce), each holding one mutual-TLS connection and reporting on its own
//! schedule so that the total offered rate is `--rate` reports per second. Prints throughput,
//! latency percentiles, errors and the hub's RSS.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use fluidos_protocol::agent::{NodeReport, ReportBatch};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

/// Command line of `fluidos-loadgen`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Simulated FLUIDOS agents over mutual TLS against a running hub"
)]
pub struct Args {
    /// State directory of the hub under load (its CA signs the simulated agents' certificates,
    /// and its run.json gives the address and pid).
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Number of simulated agents (one connection each).
    #[arg(long, default_value_t = 1000)]
    pub agents: usize,
    /// Total offered reports per second, spread over the agents.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Measured duration.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Concurrent TLS handshakes while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Entry point of the binary.
pub fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fluidos-loadgen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fluidos-loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunInfo {
    agent_api: std::net::SocketAddr,
    pid: u32,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let info: RunInfo = serde_json::from_slice(&std::fs::read(args.state_dir.join("run.json"))?)?;
    let configs = issue_configs(&args)?;
    let idle = proc_kib(info.pid, "VmRSS:");
    let started = Instant::now();
    let senders = connect_all(info.agent_api, configs, args.connect_concurrency).await?;
    let connected = senders.len();
    // Let the hub finish the handshakes' last bytes before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_connect = proc_kib(info.pid, "VmRSS:");
    println!(
        "connected {connected} agents in {:.1}s; hub RSS {} KiB idle, {} KiB connected",
        started.elapsed().as_secs_f64(),
        fmt_kib(idle),
        fmt_kib(after_connect),
    );
    let period = Duration::from_secs_f64(connected as f64 / args.rate);
    let deadline = Instant::now() + args.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (node, sender)) in senders.into_iter().enumerate() {
        let phase = period.mul_f64(i as f64 / connected as f64);
        tasks.spawn(agent_loop(node, sender, period, phase, deadline));
    }
    let mut lat = Vec::new();
    let mut errors = 0u64;
    while let Some(res) = tasks.join_next().await {
        let (l, e) = res?;
        lat.extend(l);
        errors += e;
    }
    let hub = HubMemory {
        idle,
        after_connect,
        end: proc_kib(info.pid, "VmRSS:"),
        peak: proc_kib(info.pid, "VmHWM:"),
    };
    report(&args, connected, &mut lat, errors, &hub);
    Ok(())
}

fn issue_configs(args: &Args) -> anyhow::Result<Vec<(String, Arc<rustls::ClientConfig>)>> {
    let identity = fluidos_hub::hub_identity::HubIdentity::load(&args.state_dir)?;
    let pki = fluidos_hub::pki::Pki::load(&args.state_dir, &identity.domain)?;
    let ca = CertificateDer::from_pem_slice(pki.ca_pem().as_bytes())?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca)?;
    let roots = Arc::new(roots);
    let mut out = Vec::with_capacity(args.agents);
    for i in 0..args.agents {
        let node = format!("sim-{i:05}");
        let (cert, key_pem) = pki.issue_agent_cert(&node, Duration::from_secs(86_400))?;
        let chain = vec![CertificateDer::from(cert.der.clone())];
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
        let mut cfg = rustls::ClientConfig::builder()
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(chain, key)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        out.push((node, Arc::new(cfg)));
    }
    Ok(out)
}

async fn connect_all(
    addr: std::net::SocketAddr,
    configs: Vec<(String, Arc<rustls::ClientConfig>)>,
    concurrency: usize,
) -> anyhow::Result<Vec<(String, Sender)>> {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (node, cfg) in configs {
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let sender = connect(addr, cfg).await?;
            anyhow::Ok((node, sender))
        });
    }
    let mut out = Vec::new();
    let mut failed = 0usize;
    while let Some(res) = set.join_next().await {
        match res? {
            Ok(pair) => out.push(pair),
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("connect failed: {e:#}");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} agents failed to connect");
    }
    Ok(out)
}

async fn connect(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
) -> anyhow::Result<Sender> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let tls = TlsConnector::from(cfg)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn agent_loop(
    node: String,
    mut sender: Sender,
    period: Duration,
    phase: Duration,
    deadline: Instant,
) -> (Vec<u32>, u64) {
    let sample = crate::samples::board(&node, "arm64", 4, 4);
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if Instant::now() >= deadline {
            break;
        }
        seq += 1;
        let batch = ReportBatch {
            node_name: node.clone(),
            resume_from: seq,
            dropped_total: 0,
            reports: vec![NodeReport {
                seq,
                sampled_at: time::OffsetDateTime::now_utc(),
                sample: sample.clone(),
            }],
        };
        let t0 = Instant::now();
        match post(&mut sender, &batch).await {
            Ok(()) => lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX)),
            Err(_) => errors += 1,
        }
    }
    (lat, errors)
}

async fn post(sender: &mut Sender, batch: &ReportBatch) -> anyhow::Result<()> {
    sender.ready().await?;
    let body = serde_json::to_vec(batch)?;
    let req = hyper::Request::post(fluidos_protocol::PATH_REPORTS)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    resp.into_body().collect().await?;
    anyhow::ensure!(status.is_success(), "status {status}");
    Ok(())
}

/// Hub memory at the phases of a run, KiB (`None` when `/proc` cannot tell).
struct HubMemory {
    idle: Option<u64>,
    after_connect: Option<u64>,
    end: Option<u64>,
    peak: Option<u64>,
}

/// A `/proc/<pid>/status` field in KiB (e.g. `VmRSS:`, `VmHWM:`).
fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn fmt_kib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "unknown".to_owned(), |k| k.to_string())
}

fn report(args: &Args, connected: usize, lat: &mut [u32], errors: u64, hub: &HubMemory) {
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let idx = ((lat.len() as f64 - 1.0) * p).round() as usize;
        f64::from(lat[idx.min(lat.len() - 1)]) / 1000.0
    };
    let secs = args.duration.as_secs_f64();
    let summary = serde_json::json!({
        "agents": connected,
        "offeredRate": args.rate,
        "durationSeconds": secs,
        "reportsOk": lat.len(),
        "errors": errors,
        "reportsPerSecond": lat.len() as f64 / secs,
        "latencyMs": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
        "hubRss": hub.end.map(|k| format!("{k} kB")),
        "hubMemoryKiB": {
            "idle": hub.idle,
            "afterConnect": hub.after_connect,
            "end": hub.end,
            "peak": hub.peak,
            "perConnectionAfterConnect": match (hub.idle, hub.after_connect) {
                (Some(idle), Some(conn)) if connected > 0 =>
                    Some(conn.saturating_sub(idle) as f64 / connected as f64),
                _ => None,
            },
        },
    });
    println!("{summary:#}");
}
