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
use crate::k8s::nodes::NodeFlavorSettings;
use crate::k8s::peering::{KubePeeringDriver, PeeringSettings};
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
) -> Result<Arc<dyn PeeringDriver>, ServerError> {
    let k = &config.kubernetes;
    let Some(connection) = kube.filter(|_| k.peering) else {
        return Ok(Arc::new(EmbeddedDriver {
            node_id: identity.node_id.clone(),
        }));
    };
    let api_server = if k.peer_api_server.is_empty() {
        connection.server_url.clone()
    } else {
        k.peer_api_server.clone()
    };
    let settings = PeeringSettings {
        namespace_prefix: k.peer_namespace_prefix.clone(),
        cluster_role: k.peer_cluster_role.clone(),
        api_server,
        ca_pem: connection.ca_pem.clone(),
        cluster_id: identity.node_id.clone(),
    };
    let driver = KubePeeringDriver::new(connection.client.clone(), settings)
        .map_err(ServerError::Peering)?;
    Ok(Arc::new(driver))
}

/// Run the controllers: the REAR consumer (and, in Kubernetes mode with `node_flavors`,
/// Nodes → Flavors), on the Lease holder only when leader election is on.
pub(super) fn spawn_controllers(
    config: &Config,
    kube: Option<Connection>,
    consumer: Arc<ConsumerContext>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let k = &config.kubernetes;
    let nodes = kube.as_ref().filter(|_| k.node_flavors).map(|connection| {
        let settings = NodeFlavorSettings {
            label: k.node_label.clone(),
            namespace: k.namespace.clone(),
            hub: consumer.me.clone(),
            flavor: config.flavor.clone(),
            threshold: config.flavor_change_threshold,
        };
        (connection.client.clone(), settings)
    });
    let controllers = move |token: CancellationToken| {
        let consumer = Arc::clone(&consumer);
        let nodes = nodes.clone();
        async move {
            let store = Arc::clone(&consumer.store);
            let nodes_token = token.clone();
            let node_flavors = async move {
                let Some((client, settings)) = nodes else {
                    return;
                };
                if let Err(error) =
                    crate::k8s::nodes::run(client, store, settings, nodes_token).await
                {
                    tracing::error!(error = %error, "Nodes → Flavors stopped");
                }
            };
            tokio::join!(consumer::run(consumer, token), node_flavors);
        }
    };
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
