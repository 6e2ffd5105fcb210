//! `fluidos-hub run`: start the hub, publish `run.json`, serve until a signal, drain, and
//! remove `run.json` again on a clean exit.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::server::{Hub, RunFile, RunningHub};
use crate::shutdown;

/// Extra time on top of the grace period before giving up on a clean stop.
const STOP_SLACK: Duration = Duration::from_secs(5);

/// Run `run`.
pub(super) async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let token = CancellationToken::new();
    shutdown::install(token.clone()).context("cannot install signal handlers")?;
    let hub = start(config, token.clone()).await?;
    token.cancelled().await;
    stop(hub).await?;
    Ok(ExitCode::SUCCESS)
}

/// Start the hub and write `run.json` (stopping the hub again if that fails).
pub(crate) async fn start(config: Config, token: CancellationToken) -> anyhow::Result<RunningHub> {
    let state_dir = config.state_dir.clone();
    let heartbeat_seconds = config.heartbeat.as_secs();
    let hub = Hub::start(config, token)
        .await
        .context("cannot start the hub")?;
    let run_file = RunFile {
        agent_api: hub.agent_addr,
        admin: hub.admin_addr,
        pid: std::process::id(),
        heartbeat_seconds,
        rear: Some(hub.rear.addr),
        rear_plain: hub.rear.plain_addr,
    };
    if let Err(error) = run_file.write(&state_dir) {
        let _ = hub.stop().await;
        return Err(error).context("cannot publish the listening addresses");
    }
    Ok(hub)
}

/// Drain the (cancelled) hub within the grace period and remove `run.json`.
pub(crate) async fn stop(hub: RunningHub) -> anyhow::Result<()> {
    let state_dir = hub.state_dir.clone();
    hub.shutdown_token().cancel();
    let result = tokio::time::timeout(shutdown::GRACE + STOP_SLACK, hub.join()).await;
    RunFile::remove(&state_dir);
    match result {
        Ok(joined) => joined.context("hub did not stop cleanly"),
        Err(_) => anyhow::bail!("hub did not stop within {:?}", shutdown::GRACE + STOP_SLACK),
    }
}
