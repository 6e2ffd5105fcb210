//! The one shutdown path: SIGTERM or SIGINT cancels a [`CancellationToken`] that every task
//! watches; a second signal exits at once with status 130 (the operator insists).

use std::io;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Time the hub gets to drain connections and flush state after the first signal.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Register the signal handlers now (so a signal arriving early is not lost) and cancel
/// `token` on the first one. Once shutting down (by a signal or otherwise), a signal exits the
/// process with status 130. Must be called inside a tokio runtime.
pub fn install(token: CancellationToken) -> io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => Some("SIGTERM"),
            _ = int.recv() => Some("SIGINT"),
            () = token.cancelled() => None,
        };
        // Shutting down, whoever started it: from now on a signal aborts.
        if let Some(name) = name {
            tracing::info!(
                signal = name,
                grace_seconds = GRACE.as_secs(),
                "shutting down; signal again to abort"
            );
            token.cancel();
        }
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal: aborting");
        std::process::exit(130);
    });
    Ok(())
}

/// The next connection on `listener` (`what` names the listener in logs), or `None` once
/// `shutdown` is cancelled. Accept errors (typically EMFILE) are logged and retried after a
/// short pause instead of spinning.
pub async fn accept(
    listener: &tokio::net::TcpListener,
    shutdown: &CancellationToken,
    what: &'static str,
) -> Option<(tokio::net::TcpStream, std::net::SocketAddr)> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return None,
            accepted = listener.accept() => match accepted {
                Ok(pair) => return Some(pair),
                Err(error) => {
                    tracing::warn!(listener = what, %error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Wait up to `grace` for the connections `graceful` watches to finish their requests.
pub async fn drain(
    graceful: hyper_util::server::graceful::GracefulShutdown,
    grace: std::time::Duration,
    what: &'static str,
) {
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = what,
            "connections still open after the grace period; closing them"
        );
    }
}
