//! Discovery across many peers: one real provider reached under `--discovery-peers`
//! different loopback addresses (127.0.0.1, .2, …; trusted by its pinned certificate
//! fingerprint, so every address is a distinct peer to the consumer), plus `--black-holes`
//! listeners that accept TCP and never answer. Times `solve --no-purchase` on the consumer and
//! reports how many peers answered.

use std::time::{Duration, Instant};

use fluidos_hub::rear::trust::{fingerprint, format_fingerprint};
use fluidos_protocol::discovery::Discovery;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::hub::TestHub;
use crate::rear::objects;

/// Run the discovery benchmark with a started `provider` and an initialised `consumer`.
pub(super) async fn run(
    provider: &TestHub,
    consumer: &mut TestHub,
    peers: usize,
    holes: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    let port = provider.addrs.map(|a| a.rear.port()).unwrap_or_default();
    let cert = CertificateDer::from_pem_file(provider.state.join("server.crt"))?;
    let pin = format_fingerprint(&fingerprint(&cert));
    let mut addresses: Vec<String> = (1..=peers)
        .map(|i| format!("127.0.0.{}:{port}", i.min(250)))
        .collect();
    let mut listeners = Vec::new();
    for _ in 0..holes {
        let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addresses.push(hole.local_addr()?.to_string());
        listeners.push(hole);
    }
    let quoted: Vec<String> = addresses.iter().map(|a| format!("{a:?}")).collect();
    consumer.set_config(&format!(
        "[rear]\ntrusted_fingerprints = [{pin:?}]\npeers = [{}]\ndiscovery_timeout = \"{}ms\"\n",
        quoted.join(", "),
        timeout.as_millis()
    ));
    consumer.start().await;
    let started = Instant::now();
    let (ok, out, err) = consumer.cli(&["solve", "--cpu", "1", "--memory", "1Gi", "--no-purchase"]);
    let took = started.elapsed();
    anyhow::ensure!(ok, "solve failed:\n{out}\n{err}");
    let discoveries: Vec<Discovery> = objects(consumer).await;
    let message = discoveries
        .first()
        .and_then(|d| d.status.as_ref())
        .map(|s| s.phase.message.clone())
        .unwrap_or_default();
    let summary: String = message.chars().take(120).collect();
    println!(
        "discovery over {} peers ({holes} black-holed, per-peer timeout {timeout:?}): \
         solve --no-purchase took {:.0}ms; {summary}",
        addresses.len(),
        took.as_secs_f64() * 1e3
    );
    drop(listeners);
    Ok(())
}
