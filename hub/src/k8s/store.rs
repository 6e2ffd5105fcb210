//! The Kubernetes backend of the [`Store`] interface: FLUIDOS objects as custom resources in
//! one namespace of an API server (etcd is the distributed store, so several hub replicas
//! share it). Reads and writes go through kube's dynamic API (the objects stay JSON, exactly
//! as the SQLite backend keeps them); status goes through the status subresource; a
//! resourceVersion mismatch is [`StoreError::Conflict`], which the controllers already retry.
//! One watcher per FLUIDOS kind feeds the same broadcast channel the controllers consume.

mod convert;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use tokio::sync::{Semaphore, SemaphorePermit, broadcast};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::store::{BoxFuture, Store, StoreError, StoredObject, WATCH_CAPACITY, WatchEvent};

use convert::{api_resource, from_dynamic, store_error, to_dynamic};

/// Requests to the API server in flight at once, per store.
pub const MAX_IN_FLIGHT: usize = 32;

/// FLUIDOS objects in one namespace of a Kubernetes API server.
pub struct KubeStore {
    client: Client,
    /// Bounds requests in flight (and so the client's connections): a burst of thousands of
    /// agent Flavors otherwise opens one connection per create.
    permits: Semaphore,
    events: broadcast::Sender<WatchEvent>,
    writes: AtomicU64,
    _watchers: DropGuard,
}

impl std::fmt::Debug for KubeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeStore")
            .field("writes", &self.writes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl KubeStore {
    /// A store on `client` whose watch covers every FLUIDOS kind in `namespace`. Must be called
    /// inside a tokio runtime (the watchers are spawned on it; they stop when the store drops).
    pub fn open(client: Client, namespace: &str) -> Arc<Self> {
        let (events, _) = broadcast::channel(WATCH_CAPACITY);
        let stop = CancellationToken::new();
        watch::spawn_all(&client, namespace, &events, &stop);
        Arc::new(Self {
            client,
            permits: Semaphore::new(MAX_IN_FLIGHT),
            events,
            writes: AtomicU64::new(0),
            _watchers: stop.drop_guard(),
        })
    }

    /// A store on `client` without watchers: reads and writes only (a CLI command); its
    /// [`Store::watch`] never yields.
    pub fn unwatched(client: Client) -> Arc<Self> {
        let (events, _) = broadcast::channel(WATCH_CAPACITY);
        Arc::new(Self {
            client,
            permits: Semaphore::new(MAX_IN_FLIGHT),
            events,
            writes: AtomicU64::new(0),
            _watchers: CancellationToken::new().drop_guard(),
        })
    }

    fn api(
        &self,
        kind: &str,
        namespace: &str,
    ) -> Result<Api<kube::api::DynamicObject>, StoreError> {
        let resource = api_resource(kind)?;
        Ok(Api::namespaced_with(
            self.client.clone(),
            namespace,
            &resource,
        ))
    }

    async fn permit(&self) -> Result<SemaphorePermit<'_>, StoreError> {
        self.permits.acquire().await.map_err(|_| StoreError::Closed)
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    async fn current_version(&self, kind: &str, namespace: &str, name: &str) -> u64 {
        match self.get_object(kind, namespace, name).await {
            Ok(Some(current)) => current.resource_version,
            _ => 0,
        }
    }

    async fn get_object(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<StoredObject>, StoreError> {
        let api = self.api(kind, namespace)?;
        let _permit = self.permit().await?;
        let found = api
            .get_opt(name)
            .await
            .map_err(|e| store_error(e, kind, namespace, name, 0))?;
        found.map(|object| from_dynamic(kind, object)).transpose()
    }

    async fn list_objects(
        &self,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let resource = api_resource(kind)?;
        let api: Api<kube::api::DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let _permit = self.permit().await?;
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| store_error(e, kind, namespace.unwrap_or(""), "", 0))?;
        let mut objects = list
            .items
            .into_iter()
            .map(|object| from_dynamic(kind, object))
            .collect::<Result<Vec<_>, _>>()?;
        objects.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(objects)
    }

    async fn create_object(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        mut json: serde_json::Value,
    ) -> Result<StoredObject, StoreError> {
        // The API server ignores `.status` on create (status subresource): write it after.
        let status = json.as_object_mut().and_then(|o| o.remove("status"));
        let mut object = to_dynamic(kind, namespace, name, json)?;
        object.metadata.resource_version = None;
        let api = self.api(kind, namespace)?;
        let permit = self.permit().await?;
        let created = api
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| store_error(e, kind, namespace, name, 0))?;
        drop(permit);
        self.wrote();
        let created = from_dynamic(kind, created)?;
        match status {
            Some(status) if !status.is_null() => {
                let mut with_status = created;
                if let Some(o) = with_status.json.as_object_mut() {
                    o.insert("status".to_owned(), status);
                }
                self.replace(with_status, true).await
            }
            _ => Ok(created),
        }
    }

    /// PUT the object (`status_only`: through the status subresource) at its resourceVersion.
    async fn replace(
        &self,
        obj: StoredObject,
        status_only: bool,
    ) -> Result<StoredObject, StoreError> {
        let StoredObject {
            kind,
            namespace,
            name,
            resource_version,
            json,
        } = obj;
        let mut object = to_dynamic(&kind, &namespace, &name, json)?;
        object.metadata.resource_version = Some(resource_version.to_string());
        let api = self.api(&kind, &namespace)?;
        let params = PostParams::default();
        let permit = self.permit().await?;
        let result = if status_only {
            api.replace_status(&name, &params, &object).await
        } else {
            api.replace(&name, &params, &object).await
        };
        drop(permit);
        let replaced = match result {
            Ok(replaced) => from_dynamic(&kind, replaced)?,
            Err(e) => {
                let mut error = store_error(e, &kind, &namespace, &name, resource_version);
                if let StoreError::Conflict { actual, .. } = &mut error {
                    *actual = self.current_version(&kind, &namespace, &name).await;
                }
                return Err(error);
            }
        };
        // An update that changes nothing is a no-op on the server (same resourceVersion).
        if replaced.resource_version != resource_version {
            self.wrote();
        }
        Ok(replaced)
    }

    async fn delete_object(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        resource_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let api = self.api(kind, namespace)?;
        let params = DeleteParams {
            preconditions: resource_version.map(|rv| Preconditions {
                resource_version: Some(rv.to_string()),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        let _permit = self.permit().await?;
        api.delete(name, &params)
            .await
            .map_err(|e| store_error(e, kind, namespace, name, resource_version.unwrap_or(0)))?;
        self.wrote();
        Ok(())
    }
}

impl Store for KubeStore {
    fn get<'a>(
        &'a self,
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>> {
        Box::pin(self.get_object(kind, namespace, name))
    }

    fn list<'a>(
        &'a self,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StoreError>> {
        Box::pin(self.list_objects(kind, namespace))
    }

    fn create(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        json: serde_json::Value,
    ) -> BoxFuture<'_, Result<StoredObject, StoreError>> {
        let (kind, namespace, name) = (kind.to_owned(), namespace.to_owned(), name.to_owned());
        Box::pin(async move { self.create_object(&kind, &namespace, &name, json).await })
    }

    fn update(&self, obj: StoredObject) -> BoxFuture<'_, Result<StoredObject, StoreError>> {
        Box::pin(self.replace(obj, false))
    }

    fn update_status(&self, obj: StoredObject) -> BoxFuture<'_, Result<StoredObject, StoreError>> {
        Box::pin(self.replace(obj, true))
    }

    fn delete(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        resource_version: Option<u64>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let (kind, namespace, name) = (kind.to_owned(), namespace.to_owned(), name.to_owned());
        Box::pin(async move {
            self.delete_object(&kind, &namespace, &name, resource_version)
                .await
        })
    }

    fn watch(&self) -> broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }

    fn writes_total(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}
