//! The thin IO edge of the Kubernetes-mode LRM: watch the labelled Nodes and the bound,
//! non-terminal Pods of the whole cluster, mirror them ([`Mirror`]), and reconcile each touched
//! node once its events have been quiet for [`DEBOUNCE`]. Nothing is reconciled before both
//! watchers have listed everything once; then every node that has a Flavor is reconciled too,
//! so Flavors of nodes deleted or unlabelled while the hub was away are withdrawn.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::capacity::slim_pod;
use super::mirror::Mirror;
use super::pending::Pending;
use super::{NodeFlavorSettings, NodeFlavors, NodeFlavorsError};
use crate::store::Store;

/// How long events for a node are coalesced before it is reconciled.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// How long after a failed reconcile it is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Field selector of the Pods watch: bound to a node and still holding their requests.
pub const POD_FIELD_SELECTOR: &str = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed";

/// What a watch stream yields.
type WatchItem<K> = Result<Event<K>, watcher::Error>;

/// Keep the Flavors of the Nodes labelled `settings.label=true` up to date until `shutdown`.
///
/// Watch errors are logged and retried with kube's default backoff; a failed reconcile is
/// retried after [`RETRY_AFTER`].
///
/// # Errors
/// Only when the existing Flavors cannot be loaded from the store at start.
pub async fn run(
    client: Client,
    store: Arc<dyn Store>,
    settings: NodeFlavorSettings,
    shutdown: CancellationToken,
) -> Result<(), NodeFlavorsError> {
    let selector = format!("{}=true", settings.label);
    let flavors = tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        loaded = NodeFlavors::load(store, settings) => loaded?,
    };
    let nodes = std::pin::pin!(node_events(client.clone(), &selector));
    let pods = std::pin::pin!(pod_events(client));
    tracing::info!(selector = %selector, "watching Kubernetes nodes for Flavors");
    let mut state = State {
        flavors,
        mirror: Mirror::default(),
        pending: Pending::default(),
        swept: false,
    };
    state.watch(nodes, pods, &shutdown).await;
    Ok(())
}

/// Events of the Nodes matching `selector`.
fn node_events(client: Client, selector: &str) -> impl WatchStreamExt<Item = WatchItem<Node>> {
    let config = watcher::Config::default().labels(selector);
    watcher(Api::<Node>::all(client), config).default_backoff()
}

/// Events of the bound, non-terminal Pods of every namespace, slimmed.
fn pod_events(client: Client) -> impl WatchStreamExt<Item = WatchItem<Pod>> {
    let config = watcher::Config::default().fields(POD_FIELD_SELECTOR);
    watcher(Api::<Pod>::all(client), config)
        .default_backoff()
        .modify(slim_pod)
}

/// The loop's state.
struct State {
    flavors: NodeFlavors,
    mirror: Mirror,
    pending: Pending,
    /// Whether the nodes with a Flavor were queued once after the first full list.
    swept: bool,
}

impl State {
    /// Apply events and reconcile due nodes until `shutdown` or a watch ends.
    async fn watch<N, P>(
        &mut self,
        mut nodes: Pin<&mut N>,
        mut pods: Pin<&mut P>,
        shutdown: &CancellationToken,
    ) where
        N: WatchStreamExt<Item = WatchItem<Node>> + ?Sized,
        P: WatchStreamExt<Item = WatchItem<Pod>> + ?Sized,
    {
        loop {
            let due = self.pending.next_due().filter(|_| self.mirror.synced());
            let touched = tokio::select! {
                () = shutdown.cancelled() => return,
                item = next(nodes.as_mut()) => applied(item, "Node", |e| self.mirror.apply_node(e)),
                item = next(pods.as_mut()) => applied(item, "Pod", |e| self.mirror.apply_pod(e)),
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.reconcile_due(shutdown).await;
                    Some(Vec::new())
                }
            };
            let Some(touched) = touched else {
                tracing::warn!("Kubernetes watch ended; node Flavors are no longer updated");
                return;
            };
            self.queue(touched);
        }
    }

    /// Queue `touched` (and, after the first full list, every node with a Flavor).
    fn queue(&mut self, mut touched: Vec<String>) {
        if !self.swept && self.mirror.synced() {
            self.swept = true;
            touched.extend(self.flavors.nodes());
        }
        let due = Instant::now() + DEBOUNCE;
        for node in touched {
            self.pending.mark(node, due);
        }
    }

    /// Reconcile every node that is due; failures are retried later.
    async fn reconcile_due(&mut self, shutdown: &CancellationToken) {
        for node in self.pending.take_due(Instant::now()) {
            if shutdown.is_cancelled() {
                return;
            }
            let pods = self.mirror.pods_on(&node);
            let node_object = self.mirror.node(&node);
            match self.flavors.reconcile(&node, node_object, &pods).await {
                Ok(action) => tracing::debug!(node = %node, ?action, "reconciled node Flavor"),
                Err(error) => {
                    tracing::warn!(node = %node, error = %crate::telemetry::chain(&error), "node Flavor update failed; will retry");
                    self.pending.mark(node, Instant::now() + RETRY_AFTER);
                }
            }
        }
    }
}

/// The nodes a watch item touched (none for an error, which is logged); `None` when the
/// stream ended.
fn applied<K>(
    item: Option<WatchItem<K>>,
    kind: &str,
    apply: impl FnOnce(Event<K>) -> Vec<String>,
) -> Option<Vec<String>> {
    match item? {
        Ok(event) => Some(apply(event)),
        Err(error) => {
            tracing::warn!(kind, error = %crate::telemetry::chain(&error), "Kubernetes watch failed; retrying");
            Some(Vec::new())
        }
    }
}

/// The next item of `stream`, like `StreamExt::next` (the hub does not depend on `futures`;
/// `Stream`'s methods are reachable through `WatchStreamExt`, whose supertrait it is).
async fn next<S: WatchStreamExt + ?Sized>(mut stream: Pin<&mut S>) -> Option<S::Item> {
    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}
