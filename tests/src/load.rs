//! The load generator behind `fluidos-loadgen`: N simulated agents, each with its own client
//! certificate (issued directly from the hub's CA in its state directory, which is what
//! enrollment would produce), each holding one mutual-TLS connection and reporting on its own
//! schedule so that the total offered rate is `--rate` reports per second. Prints throughput,
//! latency percentiles, errors and the hub's RSS. With `--jitter` the usage figures of each
//! report vary randomly (as a real board's do) instead of repeating the same sample.

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
    /// Random noise on every report: cpu usage, available memory, free storage and the storage
    /// offered (which follows free storage on a real board) each vary by up to ± this fraction
    /// of the board's value, e.g. 0.02. Default 0: every report repeats the same sample.
    #[arg(long, default_value_t = 0.0, value_parser = parse_jitter)]
    pub jitter: f64,
}

fn parse_jitter(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(j) if (0.0..1.0).contains(&j) => Ok(j),
        _ => Err(format!("{text:?} is not a fraction in [0, 1)")),
    }
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
        let noise = Noise::seeded(i as u64);
        let schedule = Schedule {
            period,
            phase,
            deadline,
        };
        tasks.spawn(agent_loop(node, sender, schedule, args.jitter, noise));
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

/// When one simulated agent reports.
struct Schedule {
    period: Duration,
    phase: Duration,
    deadline: Instant,
}

async fn agent_loop(
    node: String,
    mut sender: Sender,
    schedule: Schedule,
    jitter: f64,
    mut noise: Noise,
) -> (Vec<u32>, u64) {
    let board = crate::samples::board(&node, "arm64", 4, 4);
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut seq = 0u64;
    let start = tokio::time::Instant::now() + schedule.phase;
    let mut tick = tokio::time::interval_at(start, schedule.period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if Instant::now() >= schedule.deadline {
            break;
        }
        seq += 1;
        let sample = if jitter > 0.0 {
            jittered(&board, jitter, &mut noise)
        } else {
            board.clone()
        };
        let batch = ReportBatch {
            node_name: node.clone(),
            resume_from: seq,
            dropped_total: 0,
            reports: vec![NodeReport {
                seq,
                sampled_at: time::OffsetDateTime::now_utc(),
                sample,
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

/// A small xorshift64* generator: report noise needs no cryptographic quality or crate.
struct Noise(u64);

impl Noise {
    /// A generator for agent `index`, different in every run.
    fn seeded(index: u64) -> Noise {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let seed = (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(clock);
        Noise(seed | 1)
    }

    /// Uniform in [-1, 1].
    fn next_signed(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (bits as f64 / (1_u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// `board` with cpu usage, available memory, free storage and offered storage each moved by a
/// random fraction in ±`jitter`.
fn jittered(
    board: &fluidos_protocol::agent::ResourceSample,
    jitter: f64,
    noise: &mut Noise,
) -> fluidos_protocol::agent::ResourceSample {
    let mut scale = |v: u64| (v as f64 * (1.0 + jitter * noise.next_signed())).round() as u64;
    let mut sample = board.clone();
    sample.memory.available_bytes = scale(board.memory.available_bytes);
    sample.storage.available_bytes = scale(board.storage.available_bytes);
    sample.offered.storage_bytes = scale(board.offered.storage_bytes);
    let usage = f64::from(board.cpu.usage_percent) * (1.0 + jitter * noise.next_signed());
    sample.cpu.usage_percent = usage as f32;
    sample
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_fraction_and_varies() {
        let board = crate::samples::board("n", "arm64", 4, 4);
        let mut noise = Noise::seeded(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let s = jittered(&board, 0.02, &mut noise);
            for (now, base) in [
                (s.memory.available_bytes, board.memory.available_bytes),
                (s.storage.available_bytes, board.storage.available_bytes),
                (s.offered.storage_bytes, board.offered.storage_bytes),
            ] {
                let moved = (now as f64 - base as f64).abs() / base as f64;
                assert!(moved <= 0.020_001, "moved by {moved}");
            }
            let cpu = (s.cpu.usage_percent - board.cpu.usage_percent).abs();
            assert!(
                cpu <= board.cpu.usage_percent * 0.020_01,
                "cpu moved by {cpu}"
            );
            assert_eq!(s.offered.cpu_millis, board.offered.cpu_millis);
            assert_eq!(s.offered.memory_bytes, board.offered.memory_bytes);
            seen.insert(s.offered.storage_bytes);
        }
        assert!(
            seen.len() > 900,
            "the noise repeats: {} distinct",
            seen.len()
        );
    }

    #[test]
    fn noise_is_uniform_in_minus_one_one() {
        let mut noise = Noise::seeded(0);
        let draws: Vec<f64> = (0..10_000).map(|_| noise.next_signed()).collect();
        assert!(draws.iter().all(|d| (-1.0..=1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(draws.iter().any(|d| *d < -0.9) && draws.iter().any(|d| *d > 0.9));
    }

    #[test]
    fn jitter_must_be_a_fraction() {
        assert_eq!(parse_jitter("0.02"), Ok(0.02));
        assert_eq!(parse_jitter("0"), Ok(0.0));
        assert!(parse_jitter("1.5").is_err());
        assert!(parse_jitter("-0.1").is_err());
        assert!(parse_jitter("x").is_err());
    }
}
