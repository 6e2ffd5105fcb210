//! The watch side of [`super::KubeStore`]: one kube-runtime watcher per FLUIDOS kind in the
//! store's namespace, translated into the store's [`WatchEvent`]s on one broadcast channel.
//! Objects listed when a watch (re)starts are announced as `Applied`: the controllers are
//! level-triggered, so a re-list after a dropped watch only causes idempotent reconciles.

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::convert::{api_resource_of, from_dynamic};
use crate::k8s::resources::KINDS;
use crate::store::WatchEvent;

/// Spawn a watcher for every FLUIDOS kind; each stops when `stop` is cancelled.
pub(super) fn spawn_all(
    client: &Client,
    namespace: &str,
    events: &broadcast::Sender<WatchEvent>,
    stop: &CancellationToken,
) {
    for info in &KINDS {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &api_resource_of(info));
        let (events, stop) = (events.clone(), stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = watch_kind(api, info.kind, events) => {}
            }
        });
    }
}

async fn watch_kind(
    api: Api<DynamicObject>,
    kind: &'static str,
    events: broadcast::Sender<WatchEvent>,
) {
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Apply(object) | Event::InitApply(object)) => {
                send(kind, object, &events, WatchEvent::Applied);
            }
            Ok(Event::Delete(object)) => send(kind, object, &events, WatchEvent::Deleted),
            Ok(Event::Init | Event::InitDone) => {}
            Err(error) => {
                tracing::warn!(kind, error = %error, "watch of FLUIDOS objects failed; retrying");
            }
        }
    }
}

fn send(
    kind: &str,
    object: DynamicObject,
    events: &broadcast::Sender<WatchEvent>,
    wrap: fn(crate::store::StoredObject) -> WatchEvent,
) {
    match from_dynamic(kind, object) {
        // No receiver is not an error: nobody is watching yet.
        Ok(stored) => drop(events.send(wrap(stored))),
        Err(error) => tracing::warn!(kind, error = %error, "ignoring an undecodable watch event"),
    }
}
