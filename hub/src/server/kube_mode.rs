//! What differs when the FLUIDOS objects live on a Kubernetes API server: which store the hub
//! opens, which peering driver a purchase uses, and where the controllers run (on the Lease
//! holder only when leader election is on; everywhere else the agent API and the REAR gateway
//! serve on every replica). In embedded mode every function here picks the embedded choice.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ServerError;
use crate::config::{Config, StoreKind};
use crate::consumer::{self, ConsumerContext};
use crate::hub_identity::HubIdentity;
use crate::k8s::connect::{Connection, connect};
use crate::k8s::leader::{LeaderSettings, replica_identity, run_while_leader};
use crate::k8s::store::KubeStore;
use crate::rear::peering::{EmbeddedDriver, PeeringDriver};
use crate::store::{SqliteStore, Store};

/// The store of `config.store`: `sqlite` (opened with the state files) or the API server.
pub(super) async fn open_store(
    config: &Config,
    sqlite: Option<Arc<SqliteStore>>,
) -> Result<(Arc<dyn Store>, Option<Connection>), ServerError> {
    match (config.store, sqlite) {
        (StoreKind::Sqlite, Some(store)) => Ok((store, None)),
        (StoreKind::Sqlite, None) => Err(ServerError::Store(crate::store::StoreError::Closed)),
        (StoreKind::Kubernetes, _) => {
            let k = &config.kubernetes;
            let connection = connect(k.kubeconfig.as_deref()).await?;
            tracing::info!(server = %connection.server_url, namespace = %k.namespace, "FLUIDOS objects on the Kubernetes API server");
            let store = KubeStore::open(connection.client.clone(), &k.namespace);
            Ok((store, Some(connection)))
        }
    }
}

/// The peering driver: namespace-scoped Kubernetes credentials in Kubernetes mode with
/// `peering` on, none otherwise.
pub(super) fn peering_driver(
    config: &Config,
    kube: Option<&Connection>,
    identity: &HubIdentity,
) -> Arc<dyn PeeringDriver> {
    let _ = (config, kube);
    Arc::new(EmbeddedDriver {
        node_id: identity.node_id.clone(),
    })
}

/// Run the controllers: the REAR consumer (and, in Kubernetes mode, Nodes → Flavors), on the
/// Lease holder only when leader election is on.
pub(super) fn spawn_controllers(
    config: &Config,
    kube: Option<Connection>,
    consumer: Arc<ConsumerContext>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let controllers = move |token: CancellationToken| {
        let consumer = Arc::clone(&consumer);
        async move { consumer::run(consumer, token).await }
    };
    let k = &config.kubernetes;
    match kube {
        Some(connection) if k.leader_election => {
            let settings = LeaderSettings {
                namespace: k.namespace.clone(),
                lease_name: k.lease_name.clone(),
                identity: replica_identity(),
                duration: k.lease_duration,
            };
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                let client = connection.client.clone();
                let result =
                    run_while_leader(client, settings, shutdown.clone(), controllers).await;
                if let Err(error) = result {
                    // A replica that can never run controllers must not look healthy.
                    tracing::error!(error = %error, "leader election failed: stopping the hub");
                    shutdown.cancel();
                }
            });
        }
        _ => {
            tracker.spawn(controllers(shutdown.clone()));
        }
    }
}
