//! `fluidos-hub up`: the one-command local demo. Initialise `./.fluidos/hub` if needed, run the
//! hub in-process (the same code path as `run`), enroll a local `fluidos-agent` with a fresh
//! single-use token, run it as a child, and print this machine's Flavor once it appears.
//!
//! The agent binary is `$FLUIDOS_AGENT_BIN`, else a `fluidos-agent` next to this executable,
//! else (under `cargo run`) one built with `$CARGO build --release -p fluidos-agent`, else the
//! first on `PATH`. The child is stopped with SIGTERM (then SIGKILL after a grace) on exit.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use fluidos_protocol::DEFAULT_NAMESPACE;
use fluidos_protocol::flavor::{FLAVOR_KIND, Flavor};
use fluidos_protocol::identity::Identity;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;
use tokio::process::{Child, Command};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::cli::run::{start, stop};
use crate::config::Config;
use crate::hub_identity::HubIdentity;
use crate::lrm::AGENT_NODE_LABEL;
use crate::pki::{self, Pki};
use crate::server::{self, InitOptions, RunningHub};
use crate::shutdown;
use crate::store::{Store, WatchEvent};

/// Environment variable naming the agent binary.
pub const AGENT_BIN_ENV: &str = "FLUIDOS_AGENT_BIN";
/// The agent's environment variable for `enroll --token`.
const AGENT_TOKEN_ENV: &str = "FLUIDOS_AGENT_TOKEN";
/// Name of the agent binary.
const AGENT_BIN: &str = "fluidos-agent";
/// Validity of the token minted for the local agent.
const TOKEN_TTL: Duration = Duration::from_secs(600);
/// Time the agent gets to enroll.
const ENROLL_TIMEOUT: Duration = Duration::from_secs(60);
/// Time the agent gets to exit after SIGTERM.
const AGENT_STOP_GRACE: Duration = Duration::from_secs(5);

/// Run `up`.
pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let token = CancellationToken::new();
    shutdown::install(token.clone()).context("cannot install signal handlers")?;
    ensure_initialised(&config).await?;
    let hub = start(config, token.clone()).await?;
    let demo = demo(&hub, &token).await;
    let stopped = stop(hub).await;
    demo?;
    stopped?;
    Ok(ExitCode::SUCCESS)
}

async fn ensure_initialised(config: &Config) -> anyhow::Result<()> {
    if HubIdentity::exists(&config.state_dir) {
        return Ok(());
    }
    let dir = config.state_dir.clone();
    let options = InitOptions {
        domain: config.domain.clone(),
        ..InitOptions::default()
    };
    let (identity, _) = tokio::task::spawn_blocking(move || server::init(&dir, &options)).await??;
    eprintln!(
        "initialised hub {} in {}",
        identity.uri(),
        config.state_dir.display()
    );
    Ok(())
}

/// Enroll and run the agent, show its Flavor, and wait for a signal (or the agent's death).
async fn demo(hub: &RunningHub, token: &CancellationToken) -> anyhow::Result<()> {
    let agent_bin = find_agent().await?;
    let agent_dir = agent_state_dir(&hub.state_dir);
    let hub_url = format!("https://{}", loopback(hub.agent_addr));
    if enrolled(&agent_dir, hub.pki()) {
        eprintln!("agent in {} is already enrolled", agent_dir.display());
    } else {
        let bootstrap = hub.create_token(TOKEN_TTL, 1).await?.to_string();
        let mut enroll = agent_command(&agent_bin, &agent_dir);
        // The token goes in the environment (`--token`'s variable), not in argv where `ps`
        // would show it.
        enroll
            .args(["enroll", "--hub", &hub_url])
            .env(AGENT_TOKEN_ENV, &bootstrap);
        let status = tokio::time::timeout(ENROLL_TIMEOUT, enroll.status())
            .await
            .context("fluidos-agent enroll timed out")?
            .with_context(|| format!("cannot run {}", agent_bin.display()))?;
        ensure!(status.success(), "fluidos-agent enroll failed ({status})");
    }
    let node = agent_node(&agent_dir)?;
    let mut child = agent_command(&agent_bin, &agent_dir)
        .args(["run", "--hub", &hub_url])
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", agent_bin.display()))?;
    let result = supervise(hub, &node, &mut child, token).await;
    terminate(&mut child).await;
    result
}

async fn supervise(
    hub: &RunningHub,
    node: &str,
    child: &mut Child,
    token: &CancellationToken,
) -> anyhow::Result<()> {
    let flavor = tokio::select! {
        biased;
        () = token.cancelled() => return Ok(()),
        status = child.wait() => bail!("fluidos-agent exited early ({}); see its log above", describe(status)),
        flavor = wait_for_flavor(hub.store.as_ref(), node) => flavor?,
    };
    print!("{}", serde_yaml::to_string(&flavor)?);
    println!("{}", summary(&flavor, node));
    println!("hub running; Ctrl-C to stop");
    tokio::select! {
        () = token.cancelled() => Ok(()),
        status = child.wait() => bail!("fluidos-agent exited early ({}); see its log above", describe(status)),
    }
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    status.map_or_else(|e| e.to_string(), |s| s.to_string())
}

/// The available Flavor labelled with `node`, as soon as it exists.
async fn wait_for_flavor(store: &dyn Store, node: &str) -> anyhow::Result<serde_json::Value> {
    // Available: a Flavor left unavailable by an earlier run counts once this agent reported.
    let is_ours = |json: &serde_json::Value| {
        let labels = json.pointer("/metadata/labels");
        labels
            .and_then(|l| l.get(AGENT_NODE_LABEL))
            .and_then(|v| v.as_str())
            == Some(node)
            && json.pointer("/spec/availability") == Some(&serde_json::Value::Bool(true))
    };
    // Subscribe before listing, so a Flavor created in between is not missed.
    let mut events = store.watch();
    loop {
        let existing = store.list(FLAVOR_KIND, Some(DEFAULT_NAMESPACE)).await?;
        if let Some(found) = existing.into_iter().map(|o| o.json).find(is_ours) {
            return Ok(found);
        }
        loop {
            match events.recv().await {
                Ok(WatchEvent::Applied(o)) if o.kind == FLAVOR_KIND && is_ours(&o.json) => {
                    return Ok(o.json);
                }
                Ok(_) => {}
                // Missed events: list again.
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => bail!("the store closed"),
            }
        }
    }
}

/// `<flavor>: <node>, <arch>, cpu <cpu>, memory <memory>, available|unavailable`.
fn summary(json: &serde_json::Value, node: &str) -> String {
    let Ok(flavor) = serde_json::from_value::<Flavor>(json.clone()) else {
        return format!("Flavor for {node} (undecodable)");
    };
    let available = if flavor.spec.availability {
        "available"
    } else {
        "unavailable"
    };
    match flavor.spec.flavor_type.k8slice().and_then(Result::ok) {
        Some(d) => {
            let c = d.characteristics;
            format!(
                "{}: node {node}, {}, cpu {}, memory {}, {available}",
                flavor.metadata.name, c.architecture, c.cpu, c.memory
            )
        }
        None => format!("{}: node {node}, {available}", flavor.metadata.name),
    }
}

fn agent_command(bin: &Path, state_dir: &Path) -> Command {
    let mut command = Command::new(bin);
    // Its own process group: a terminal's Ctrl-C reaches only the hub, which then stops the
    // agent with one SIGTERM (a second signal would make the agent skip its graceful drain).
    command
        .arg("--state-dir")
        .arg(state_dir)
        .stdin(Stdio::null())
        .process_group(0);
    command
}

/// `<hub state>/../agent` (`./.fluidos/agent` for the default `./.fluidos/hub`).
fn agent_state_dir(hub_state: &Path) -> PathBuf {
    match hub_state.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("agent"),
        _ => PathBuf::from("agent"),
    }
}

/// A wildcard listen address as the loopback address an agent can dial.
fn loopback(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// Whether the agent holds an unexpired certificate from this hub's CA (a state directory left
/// over from an older hub must enroll again).
fn enrolled(agent_dir: &Path, pki: &Pki) -> bool {
    let same_ca = CertificateDer::from_pem_file(agent_dir.join("ca.crt"))
        .is_ok_and(|ca| ca.as_ref() == pki.ca_der());
    let cert = CertificateDer::from_pem_file(agent_dir.join("agent.crt")).ok();
    let valid = cert
        .and_then(|der| pki::peer_cert(&der).ok())
        .is_some_and(|c| c.not_after > OffsetDateTime::now_utc() + time::Duration::minutes(1));
    same_ca && valid
}

/// The node name in the agent's certificate.
fn agent_node(agent_dir: &Path) -> anyhow::Result<String> {
    let path = agent_dir.join("agent.crt");
    let der = CertificateDer::from_pem_file(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    match pki::peer_cert(&der)?.identity {
        Identity::Agent { node, .. } => Ok(node),
        Identity::Node { .. } => bail!("{} is not an agent certificate", path.display()),
    }
}

/// SIGTERM the child, then SIGKILL it if it has not exited within the grace period.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(AGENT_STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        tracing::warn!("fluidos-agent did not stop after SIGTERM; killing it");
        let _ = child.kill().await;
    }
}

/// Locate (or, under `cargo run`, build) the agent binary.
async fn find_agent() -> anyhow::Result<PathBuf> {
    if let Some(path) = env::var_os(AGENT_BIN_ENV) {
        return Ok(path.into());
    }
    let exe_dir = env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned));
    // Next to us, or in the release directory of the same target directory.
    let candidates: Vec<PathBuf> = exe_dir
        .iter()
        .flat_map(|d| {
            [
                d.join(AGENT_BIN),
                d.join("..").join("release").join(AGENT_BIN),
            ]
        })
        .collect();
    if let Some(found) = candidates.first().filter(|p| p.is_file()) {
        return Ok(found.clone());
    }
    if let Some(cargo) = env::var_os("CARGO") {
        eprintln!("building fluidos-agent…");
        let mut build = Command::new(cargo);
        build
            .args(["build", "--release", "-p", AGENT_BIN])
            .stdin(Stdio::null());
        if let Some(workspace) = option_env!("CARGO_MANIFEST_DIR")
            .map(Path::new)
            .and_then(Path::parent)
        {
            build.current_dir(workspace);
        }
        let status = build.status().await.context("cannot run cargo")?;
        ensure!(status.success(), "building fluidos-agent failed ({status})");
        if let Some(found) = candidates.iter().find(|p| p.is_file()) {
            return Ok(found.clone());
        }
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join(AGENT_BIN))
        .find(|p| p.is_file())
        .with_context(|| format!("cannot find {AGENT_BIN}: set {AGENT_BIN_ENV}, put it next to fluidos-hub, or on PATH"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_state_sits_next_to_the_hub_state() {
        assert_eq!(
            agent_state_dir(Path::new(".fluidos/hub")),
            Path::new(".fluidos/agent")
        );
        assert_eq!(agent_state_dir(Path::new("hub")), Path::new("agent"));
        assert_eq!(agent_state_dir(Path::new("/")), Path::new("agent"));
    }

    #[test]
    fn wildcard_addresses_become_loopback() {
        assert_eq!(
            loopback("0.0.0.0:7443".parse().unwrap()).to_string(),
            "127.0.0.1:7443"
        );
        assert_eq!(loopback("[::]:1".parse().unwrap()).to_string(), "[::1]:1");
        assert_eq!(
            loopback("10.0.0.2:1".parse().unwrap()).to_string(),
            "10.0.0.2:1"
        );
    }
}
