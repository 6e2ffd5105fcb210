//! `<state>/run.json`: where a running hub listens, for scripts, the CLI and tests that bind
//! port 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ServerError;
use crate::hub_identity;

/// `run.json`, written once every listener is bound.
pub const RUN_FILE: &str = "run.json";

/// `<state>/run.json`: where a running hub listens (for scripts and tests using port 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFile {
    /// Agent API `ip:port`.
    pub agent_api: SocketAddr,
    /// Admin `ip:port`.
    pub admin: SocketAddr,
    /// Process id.
    pub pid: u32,
    /// Heartbeat interval of the running hub, seconds.
    pub heartbeat_seconds: u64,
    /// REAR gateway `ip:port` (HTTPS, mutual TLS).
    #[serde(default)]
    pub rear: Option<SocketAddr>,
    /// REAR plain-HTTP listener, when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rear_plain: Option<SocketAddr>,
}

impl RunFile {
    /// Path in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(RUN_FILE)
    }

    /// Write atomically (temporary file, rename).
    pub fn write(&self, state_dir: &Path) -> Result<(), ServerError> {
        let path = Self::path(state_dir);
        let json = serde_json::to_vec_pretty(self).map_err(|e| ServerError::RunFile {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        hub_identity::write_atomic(&path, &json, 0o644)
            .map_err(|source| ServerError::RunFile { path, source })
    }

    /// Read, or `None` when absent or unreadable (a hub that is not running).
    pub fn read(state_dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(Self::path(state_dir)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Remove (best effort).
    pub fn remove(state_dir: &Path) {
        if let Err(error) = std::fs::remove_file(Self::path(state_dir))
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%error, "cannot remove run.json");
        }
    }
}
