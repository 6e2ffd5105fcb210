//! The resource store: Kubernetes-shaped JSON objects keyed by kind/namespace/name, with
//! optimistic concurrency on a global `resourceVersion` and a watch of changes.
//!
//! [`Store`] is the backend-neutral, object-safe interface (`Arc<dyn Store>`); [`SqliteStore`]
//! is the embedded backend in `hub.db` (a Kubernetes backend comes later). [`typed`] converts
//! objects to and from resource types such as `Flavor`. The store owns `metadata.name`,
//! `namespace`, `resourceVersion`, `uid`, `creationTimestamp` and `generation`; it knows nothing
//! about what the objects mean.

mod json;
mod kinds;
pub(crate) mod sqlite;
pub mod typed;

use std::future::Future;
use std::pin::Pin;

pub use sqlite::SqliteStore;
pub use typed::{
    Resource, TypedStore, create_typed, decode, delete_typed, encode, get_typed, list_typed,
    update_status_typed, update_typed,
};

/// File name of the hub database in the state directory (shared with [`crate::registry`]).
pub const DB_FILE: &str = "hub.db";

/// How long a statement waits for another connection's (or process's) write lock on `hub.db`.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Capacity of the watch channel; a receiver that falls further behind gets `Lagged`.
pub const WATCH_CAPACITY: usize = 1024;

/// A boxed, `Send` future (the trait is object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// Resource kind, e.g. `Flavor`.
    pub kind: String,
    /// Namespace (may be empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name, unique per kind and namespace.
    pub name: String,
    /// Version of this state; `json.metadata.resourceVersion` holds the same number as a string.
    pub resource_version: u64,
    /// The whole object.
    pub json: serde_json::Value,
}

/// A committed change, in commit order.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// Created or updated (the new state).
    Applied(StoredObject),
    /// Deleted (the last state, with the deletion's resourceVersion).
    Deleted(StoredObject),
}

impl WatchEvent {
    /// The object the event is about.
    pub fn object(&self) -> &StoredObject {
        match self {
            Self::Applied(o) | Self::Deleted(o) => o,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such object.
    #[error("{kind} {namespace}/{name} not found")]
    NotFound {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// `create` of an object that exists.
    #[error("{kind} {namespace}/{name} already exists")]
    AlreadyExists {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The caller's resourceVersion is not the current one: re-read and retry.
    #[error(
        "{kind} {namespace}/{name} changed: resourceVersion {expected} is stale, \
         current is {actual}"
    )]
    Conflict {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The resourceVersion the caller sent.
        expected: u64,
        /// The current resourceVersion.
        actual: u64,
    },
    /// Bad input (not a JSON object, empty name, bad resourceVersion) or undecodable stored JSON.
    #[error("invalid object: {0}")]
    Invalid(String),
    /// The backend failed.
    #[error("store backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store has shut down.
    #[error("store is closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend(Box::new(e))
    }
}

/// The resource store interface. Every write is atomic and, once committed, sent to watchers
/// in commit order. A future dropped after its request was sent may still complete the write.
pub trait Store: Send + Sync + 'static {
    /// One object, or `None`.
    fn get<'a>(
        &'a self,
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>>;

    /// Every object of `kind` (in `namespace` when given), ordered by namespace and name.
    fn list<'a>(
        &'a self,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StoreError>>;

    /// Create; [`StoreError::AlreadyExists`] when it exists. Sets name, namespace,
    /// resourceVersion, uid, creationTimestamp and `generation = 1`.
    fn create(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        json: serde_json::Value,
    ) -> BoxFuture<'_, Result<StoredObject, StoreError>>;

    /// Replace everything but `.status` (kept as stored); [`StoreError::Conflict`] when
    /// `obj.resource_version` is not current. `generation` grows when anything outside
    /// `metadata` and `status` changes. An update that changes nothing writes nothing and
    /// returns the current object.
    fn update(&self, obj: StoredObject) -> BoxFuture<'_, Result<StoredObject, StoreError>>;

    /// Replace only `.status` (absent or `null` removes it); optimistic like [`Store::update`].
    fn update_status(&self, obj: StoredObject) -> BoxFuture<'_, Result<StoredObject, StoreError>>;

    /// Delete, optionally only if `resource_version` is current.
    fn delete(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        resource_version: Option<u64>,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    /// A receiver of every change committed from now on.
    fn watch(&self) -> tokio::sync::broadcast::Receiver<WatchEvent>;

    /// Writes committed through this handle since it was opened (for metrics).
    fn writes_total(&self) -> u64;
}

#[cfg(test)]
mod tests;
