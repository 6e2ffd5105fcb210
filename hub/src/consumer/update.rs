//! Read-modify-write helpers over the store with optimistic concurrency: on
//! [`StoreError::Conflict`] the object is re-read and the change re-applied, a few times.
//! Changes are closures over the fresh object, so they stay correct whoever wrote in between.

use crate::store::{Resource, Store, StoreError, create_typed, get_typed};
use crate::store::{update_status_typed, update_typed};

/// How many times a write is re-applied after a conflict.
const ATTEMPTS: usize = 5;

/// Which part of the object a change writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Everything but `status` (spec, labels, annotations).
    Spec,
    /// Only `status`.
    Status,
}

/// Apply `change` to the current `namespace/name` and write `part` if `change` returns `true`.
/// Returns the object as finally stored (or read), `None` when it does not exist.
pub(crate) async fn modify<T: Resource>(
    store: &dyn Store,
    namespace: &str,
    name: &str,
    part: Part,
    mut change: impl FnMut(&mut T) -> bool + Send,
) -> Result<Option<T>, StoreError> {
    let mut attempt = 0;
    loop {
        let Some(mut obj) = get_typed::<T>(store, namespace, name).await? else {
            return Ok(None);
        };
        if !change(&mut obj) {
            return Ok(Some(obj));
        }
        let written = match part {
            Part::Spec => update_typed(store, &obj).await,
            Part::Status => update_status_typed(store, &obj).await,
        };
        match written {
            Ok(stored) => return Ok(Some(stored)),
            Err(StoreError::Conflict { .. }) if attempt + 1 < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Create `value`; an existing object of that name is fine (returns `false`).
pub(crate) async fn create_tolerant<T: Resource>(
    store: &dyn Store,
    value: &T,
) -> Result<bool, StoreError> {
    match create_typed(store, value).await {
        Ok(_) => Ok(true),
        Err(StoreError::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
