//! Revoked certificate serials, kept in memory and refreshed from the registry every second,
//! so `fluidos-hub agents revoke NODE` in another process takes effect within a second on
//! open connections too (the serial is checked on every request).

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::registry::{Registry, RegistryError};

/// How often the set is reloaded.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The shared set of revoked serials (lowercase hex).
#[derive(Debug, Clone, Default)]
pub struct Revocations(Arc<RwLock<HashSet<String>>>);

impl Revocations {
    /// Whether `serial_hex` is revoked.
    pub fn is_revoked(&self, serial_hex: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(serial_hex)
    }

    /// Replace the whole set.
    pub fn replace(&self, serials: HashSet<String>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = serials;
    }

    /// Reload from the registry.
    pub async fn refresh(&self, registry: &Arc<Registry>) -> Result<(), RegistryError> {
        let registry = Arc::clone(registry);
        let serials = tokio::task::spawn_blocking(move || registry.revoked_serials())
            .await
            .map_err(|e| RegistryError::Invalid(format!("revocation task failed: {e}")))??;
        self.replace(serials);
        Ok(())
    }

    /// Reload every [`REFRESH_INTERVAL`] until `shutdown`.
    pub async fn run_refresher(self, registry: Arc<Registry>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(REFRESH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.refresh(&registry).await {
                tracing::warn!(error = %crate::telemetry::chain(&error), "cannot reload revoked certificates");
            }
        }
    }
}
