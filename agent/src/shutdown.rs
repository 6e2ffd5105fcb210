//! Signals → shutdown: the first SIGTERM or SIGINT cancels the `CancellationToken` (graceful
//! shutdown, see runner.rs); a second one exits the process at once.

use std::io;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Exit code after a second signal (128 + SIGINT, as shells report an interrupted program).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Spawn the signal watcher: the first signal cancels `token`, the second exits immediately.
pub fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        let mut signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, "cannot install signal handlers; stop the agent with SIGKILL");
                return;
            }
        };
        signals.recv().await;
        info!("shutdown requested (send the signal again to exit immediately)");
        token.cancel();
        signals.recv().await;
        warn!("second signal: exiting immediately");
        std::process::exit(EXIT_INTERRUPTED);
    });
}

/// SIGTERM and SIGINT, registered once so that no signal between two waits is lost.
struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
