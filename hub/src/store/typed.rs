//! Typed access on top of [`Store`]: resource types ([`Resource`]) in, resource types out.
//!
//! The object's own `metadata` says where it lives (namespace, name) and which version the
//! caller last saw (`resourceVersion`). Stored JSON that does not decode is
//! [`StoreError::Invalid`], never a panic.

use std::marker::PhantomData;
use std::sync::Arc;

use fluidos_protocol::flavor::{FLAVOR_KIND, Flavor};
use fluidos_protocol::meta::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, StoreError, StoredObject};

/// A resource type the store can hold.
pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The store kind (the Kubernetes `kind`).
    const KIND: &'static str;
    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// The object's metadata, mutable.
    fn meta_mut(&mut self) -> &mut ObjectMeta;
}

impl Resource for Flavor {
    const KIND: &'static str = FLAVOR_KIND;

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// A stored object as `T`.
pub fn decode<T: Resource>(obj: &StoredObject) -> Result<T, StoreError> {
    T::deserialize(&obj.json).map_err(|e| {
        StoreError::Invalid(format!(
            "{} {}/{} does not decode: {e}",
            obj.kind, obj.namespace, obj.name
        ))
    })
}

/// `value` as JSON.
pub fn encode<T: Resource>(value: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(value)
        .map_err(|e| StoreError::Invalid(format!("{} does not encode: {e}", T::KIND)))
}

/// `metadata.resourceVersion` of `value` as a number.
pub fn resource_version<T: Resource>(value: &T) -> Result<u64, StoreError> {
    let meta = value.meta();
    meta.resource_version.parse().map_err(|_| {
        StoreError::Invalid(format!(
            "{} {}/{} has resourceVersion {:?}, expected a number",
            T::KIND,
            meta.namespace,
            meta.name,
            meta.resource_version
        ))
    })
}

fn stored<T: Resource>(value: &T) -> Result<StoredObject, StoreError> {
    let meta = value.meta();
    Ok(StoredObject {
        kind: T::KIND.to_owned(),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        resource_version: resource_version(value)?,
        json: encode(value)?,
    })
}

/// One `T`, or `None`.
pub async fn get_typed<T: Resource>(
    store: &dyn Store,
    namespace: &str,
    name: &str,
) -> Result<Option<T>, StoreError> {
    store
        .get(T::KIND, namespace, name)
        .await?
        .as_ref()
        .map(decode)
        .transpose()
}

/// Every `T` (in `namespace` when given).
pub async fn list_typed<T: Resource>(
    store: &dyn Store,
    namespace: Option<&str>,
) -> Result<Vec<T>, StoreError> {
    store
        .list(T::KIND, namespace)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Create `value` at its `metadata.namespace`/`name`; returns it as stored.
pub async fn create_typed<T: Resource>(store: &dyn Store, value: &T) -> Result<T, StoreError> {
    let meta = value.meta();
    let obj = store
        .create(T::KIND, &meta.namespace, &meta.name, encode(value)?)
        .await?;
    decode(&obj)
}

/// Update `value` (everything but status), if its `resourceVersion` is current.
pub async fn update_typed<T: Resource>(store: &dyn Store, value: &T) -> Result<T, StoreError> {
    decode(&store.update(stored(value)?).await?)
}

/// Update only the status of `value`, if its `resourceVersion` is current.
pub async fn update_status_typed<T: Resource>(
    store: &dyn Store,
    value: &T,
) -> Result<T, StoreError> {
    decode(&store.update_status(stored(value)?).await?)
}

/// Delete `value`, if its `resourceVersion` is current.
pub async fn delete_typed<T: Resource>(store: &dyn Store, value: &T) -> Result<(), StoreError> {
    let meta = value.meta();
    store
        .delete(
            T::KIND,
            &meta.namespace,
            &meta.name,
            Some(resource_version(value)?),
        )
        .await
}

/// A store handle for one resource type.
pub struct TypedStore<T> {
    store: Arc<dyn Store>,
    _kind: PhantomData<fn() -> T>,
}

impl<T> Clone for TypedStore<T> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            _kind: PhantomData,
        }
    }
}

impl<T: Resource> TypedStore<T> {
    /// `T`s in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            _kind: PhantomData,
        }
    }

    /// The untyped store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// See [`get_typed`].
    pub async fn get(&self, namespace: &str, name: &str) -> Result<Option<T>, StoreError> {
        get_typed(&*self.store, namespace, name).await
    }

    /// See [`list_typed`].
    pub async fn list(&self, namespace: Option<&str>) -> Result<Vec<T>, StoreError> {
        list_typed(&*self.store, namespace).await
    }

    /// See [`create_typed`].
    pub async fn create(&self, value: &T) -> Result<T, StoreError> {
        create_typed(&*self.store, value).await
    }

    /// See [`update_typed`].
    pub async fn update(&self, value: &T) -> Result<T, StoreError> {
        update_typed(&*self.store, value).await
    }

    /// See [`update_status_typed`].
    pub async fn update_status(&self, value: &T) -> Result<T, StoreError> {
        update_status_typed(&*self.store, value).await
    }

    /// See [`delete_typed`].
    pub async fn delete(&self, value: &T) -> Result<(), StoreError> {
        delete_typed(&*self.store, value).await
    }
}
