//! What the REAR commands (`solve`, `contracts`, `peers`, `flavors --remote`) share: opening
//! the hub's store, our node identity, whether a hub is running, and the peer addresses.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use fluidos_protocol::network::KnownCluster;

use crate::config::{Config, StoreKind};
use crate::hub_identity::HubIdentity;
use crate::k8s::store::KubeStore;
use crate::server::RunFile;
use crate::store::{DB_FILE, SqliteStore, Store, list_typed};

/// Where a peer address comes from.
pub(crate) const SOURCE_CONFIG: &str = "config";
/// A KnownCluster object (discovered or added) in the store.
pub(crate) const SOURCE_KNOWN_CLUSTER: &str = "knowncluster";

/// Open the store read-only (listings): `hub.db` (the state directory must be initialised),
/// or the API server in Kubernetes mode.
pub(crate) async fn open_read_only(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(store) = open_kube(config).await? {
        return Ok(store);
    }
    let db = existing_db(config)?;
    Ok(tokio::task::spawn_blocking(move || SqliteStore::open_read_only(&db)).await??)
}

/// Open the store read-write (a running hub sees the writes within 100 ms).
pub(crate) async fn open_read_write(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(store) = open_kube(config).await? {
        return Ok(store);
    }
    let db = existing_db(config)?;
    Ok(tokio::task::spawn_blocking(move || SqliteStore::open(&db)).await??)
}

/// In Kubernetes mode, the objects on the API server (no watch: the CLI polls).
async fn open_kube(config: &Config) -> anyhow::Result<Option<Arc<dyn Store>>> {
    if config.store != StoreKind::Kubernetes {
        return Ok(None);
    }
    let k = &config.kubernetes;
    let connection = crate::k8s::connect::connect(k.kubeconfig.as_deref())
        .await
        .context("cannot reach the Kubernetes API server")?;
    Ok(Some(KubeStore::unwatched(connection.client)))
}

fn existing_db(config: &Config) -> anyhow::Result<std::path::PathBuf> {
    let db = config.state_dir.join(DB_FILE);
    anyhow::ensure!(
        db.exists(),
        "{} is not an initialised hub (no {DB_FILE})",
        config.state_dir.display()
    );
    Ok(db)
}

/// Our node identity (`identity.json`).
pub(crate) fn identity(state_dir: &Path) -> anyhow::Result<HubIdentity> {
    HubIdentity::load(state_dir)
        .with_context(|| format!("{} is not an initialised hub", state_dir.display()))
}

/// The running hub's `run.json`, if a hub is running on `state_dir` (its process is alive).
pub(crate) fn running_hub(state_dir: &Path) -> Option<RunFile> {
    let run = RunFile::read(state_dir)?;
    let pid = i32::try_from(run.pid).ok()?;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Err(nix::errno::Errno::ESRCH) => None,
        _ => Some(run),
    }
}

/// [`running_hub`], or the error every command needing a hub gives.
pub(crate) fn require_running_hub(state_dir: &Path) -> anyhow::Result<RunFile> {
    running_hub(state_dir)
        .ok_or_else(|| anyhow::anyhow!("the hub is not running; start it with `fluidos-hub run`"))
}

/// One peer: its REAR address, where it comes from, and the KnownCluster name if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PeerEntry {
    /// REAR address (`host:port`, `https://…` or `http://…`).
    pub address: String,
    /// [`SOURCE_CONFIG`] or [`SOURCE_KNOWN_CLUSTER`].
    pub source: &'static str,
    /// The KnownCluster's name (empty for configured peers).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// Configured peers, then KnownClusters (blank addresses dropped; duplicates kept, each with
/// its own source).
pub(crate) fn peer_entries(configured: &[String], known: &[KnownCluster]) -> Vec<PeerEntry> {
    let config = configured.iter().map(|a| PeerEntry {
        address: a.trim().to_owned(),
        source: SOURCE_CONFIG,
        name: String::new(),
    });
    let known = known.iter().map(|k| PeerEntry {
        address: k.spec.address.trim().to_owned(),
        source: SOURCE_KNOWN_CLUSTER,
        name: k.metadata.name.clone(),
    });
    config
        .chain(known)
        .filter(|p| !p.address.is_empty())
        .collect()
}

/// The distinct addresses of `entries`, in first-seen order.
pub(crate) fn distinct_addresses(entries: &[PeerEntry]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    entries
        .iter()
        .filter(|p| seen.insert(p.address.as_str()))
        .map(|p| p.address.clone())
        .collect()
}

/// Every peer: `[rear].peers` and the KnownClusters in the store.
pub(crate) async fn peers(config: &Config, store: &dyn Store) -> anyhow::Result<Vec<PeerEntry>> {
    let known = list_typed::<KnownCluster>(store, None)
        .await
        .context("cannot list KnownClusters")?;
    Ok(peer_entries(&config.rear.peers, &known))
}

#[cfg(test)]
mod tests {
    use fluidos_protocol::meta::ObjectMeta;
    use fluidos_protocol::network::KnownClusterSpec;

    use super::*;

    fn known(name: &str, address: &str) -> KnownCluster {
        let meta = ObjectMeta {
            name: name.into(),
            ..ObjectMeta::default()
        };
        KnownCluster::new(
            meta,
            KnownClusterSpec {
                address: address.into(),
            },
        )
    }

    #[test]
    fn peers_keep_their_source_and_addresses_are_deduplicated() {
        let entries = peer_entries(
            &["10.0.0.1:3004".into(), " ".into()],
            &[
                known("knowncluster-a", "10.0.0.2:3004"),
                known("knowncluster-b", "10.0.0.1:3004"),
            ],
        );
        let sources: Vec<_> = entries.iter().map(|e| e.source).collect();
        assert_eq!(sources, ["config", "knowncluster", "knowncluster"]);
        assert_eq!(entries[1].name, "knowncluster-a");
        assert_eq!(
            distinct_addresses(&entries),
            ["10.0.0.1:3004", "10.0.0.2:3004"]
        );
    }

    #[test]
    fn no_run_file_means_no_running_hub() {
        let dir = tempfile::tempdir().unwrap();
        assert!(running_hub(dir.path()).is_none());
        let err = require_running_hub(dir.path()).unwrap_err().to_string();
        assert!(err.contains("fluidos-hub run"), "{err}");
    }
}
