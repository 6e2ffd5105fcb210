//! The store operations, run on the store thread; every write is one `BEGIN IMMEDIATE`
//! transaction, and its watch event is published only after the commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::Value;
use tokio::sync::broadcast;

use super::super::json::{self, Stamp};
use super::super::{StoreError, StoredObject, WatchEvent};

/// Store schema version this code writes (kept in `store_meta`, not `user_version`).
const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = include_str!("../schema.sql");

/// Create the tables if needed and make sure the rv counter is past every stored rv.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    let version: i64 = tx.query_row(
        "SELECT value FROM store_meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "store schema version {version} is newer than this hub supports ({SCHEMA_VERSION})"
        )));
    }
    tx.execute(
        "UPDATE store_meta SET value = MAX(value, (SELECT COALESCE(MAX(rv), 0) FROM objects))
         WHERE key = 'rv'",
        [],
    )?;
    tx.commit()?;
    Ok(())
}

/// kind/namespace/name of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    kind: String,
    namespace: String,
    name: String,
}

impl Key {
    pub(super) fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    fn of(obj: &StoredObject) -> Self {
        Self::new(&obj.kind, &obj.namespace, &obj.name)
    }

    fn validate(&self) -> Result<(), StoreError> {
        if self.kind.is_empty() || self.name.is_empty() {
            return Err(StoreError::Invalid(
                "kind and name must not be empty".to_owned(),
            ));
        }
        Ok(())
    }

    fn not_found(&self) -> StoreError {
        StoreError::NotFound {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    fn conflict(&self, expected: u64, actual: u64) -> StoreError {
        let (kind, namespace, name) =
            (self.kind.clone(), self.namespace.clone(), self.name.clone());
        StoreError::Conflict {
            kind,
            namespace,
            name,
            expected,
            actual,
        }
    }

    fn object(&self, resource_version: u64, json: Value) -> StoredObject {
        let (kind, namespace, name) =
            (self.kind.clone(), self.namespace.clone(), self.name.clone());
        StoredObject {
            kind,
            namespace,
            name,
            resource_version,
            json,
        }
    }

    /// A stored row as an object; bad JSON is [`StoreError::Invalid`], never a panic.
    pub(super) fn decode(&self, rv: i64, text: &str) -> Result<StoredObject, StoreError> {
        let invalid = |what: String| {
            StoreError::Invalid(format!(
                "stored {} {}/{}: {what}",
                self.kind, self.namespace, self.name
            ))
        };
        let rv =
            u64::try_from(rv).map_err(|_| invalid(format!("negative resourceVersion {rv}")))?;
        let mut value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        // The column is authoritative; keep the JSON consistent with it.
        json::set_resource_version(&mut value, rv).map_err(|e| invalid(e.to_string()))?;
        Ok(self.object(rv, value))
    }
}

/// The connection plus where committed writes are announced.
pub(super) struct Core {
    pub(super) conn: Connection,
    pub(super) events: broadcast::Sender<WatchEvent>,
    writes: Arc<AtomicU64>,
    /// Highest resourceVersion announced to watchers (ours or another process's).
    pub(super) announced_rv: u64,
    /// `PRAGMA data_version` at the last look for other processes' commits.
    pub(super) data_version: i64,
}

impl Core {
    pub(super) fn new(
        conn: Connection,
        events: broadcast::Sender<WatchEvent>,
        writes: Arc<AtomicU64>,
    ) -> Self {
        Self {
            conn,
            events,
            writes,
            announced_rv: 0,
            data_version: 0,
        }
    }

    pub(super) fn get(&self, key: &Key) -> Result<Option<StoredObject>, StoreError> {
        load(&self.conn, key)
    }

    pub(super) fn list(
        &self,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT namespace, name, rv, json FROM objects
             WHERE kind = ?1 AND (?2 IS NULL OR namespace = ?2) ORDER BY namespace, name",
        )?;
        let rows = stmt.query_map(params![kind, namespace], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (namespace, name, rv, text) = row?;
            Key::new(kind, &namespace, &name).decode(rv, &text)
        })
        .collect()
    }

    pub(super) fn create(&mut self, key: Key, mut json: Value) -> Result<StoredObject, StoreError> {
        key.validate()?;
        json::check_shape(&mut json)?;
        self.write(|tx| {
            if load(tx, &key)?.is_some() {
                let Key {
                    kind,
                    namespace,
                    name,
                } = key;
                return Err(StoreError::AlreadyExists {
                    kind,
                    namespace,
                    name,
                });
            }
            let (rv, uid, created) = (next_rv(tx)?, json::new_uid(), json::now_rfc3339());
            let stamp = Stamp {
                namespace: &key.namespace,
                name: &key.name,
                resource_version: rv,
                uid: &uid,
                created: &created,
                generation: 1,
            };
            json::stamp(&mut json, &stamp)?;
            tx.execute(
                "INSERT INTO objects (kind, namespace, name, rv, uid, created, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    key.kind,
                    key.namespace,
                    key.name,
                    to_i64(rv)?,
                    uid,
                    created,
                    json.to_string()
                ],
            )?;
            let obj = key.object(rv, json);
            Ok((obj.clone(), Some(WatchEvent::Applied(obj))))
        })
    }

    pub(super) fn update(&mut self, obj: StoredObject) -> Result<StoredObject, StoreError> {
        let key = Key::of(&obj);
        key.validate()?;
        let mut next = obj.json;
        json::check_shape(&mut next)?;
        self.write(|tx| {
            let current = current(tx, &key, Some(obj.resource_version))?;
            json::set_status(&mut next, current.json.get("status"));
            let generation = json::generation(&current.json)
                + i64::from(json::spec_changed(&current.json, &next));
            let (uid, created) = (
                json::meta_str(&current.json, "uid"),
                json::meta_str(&current.json, "creationTimestamp"),
            );
            let stamp = Stamp {
                namespace: &key.namespace,
                name: &key.name,
                resource_version: current.resource_version,
                uid,
                created,
                generation,
            };
            json::stamp(&mut next, &stamp)?;
            replace(tx, &key, current, next)
        })
    }

    pub(super) fn update_status(&mut self, obj: StoredObject) -> Result<StoredObject, StoreError> {
        let key = Key::of(&obj);
        key.validate()?;
        self.write(|tx| {
            let current = current(tx, &key, Some(obj.resource_version))?;
            let mut next = current.json.clone();
            json::set_status(&mut next, obj.json.get("status"));
            replace(tx, &key, current, next)
        })
    }

    pub(super) fn delete(
        &mut self,
        key: &Key,
        resource_version: Option<u64>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut last = current(tx, key, resource_version)?;
            tx.execute(
                "DELETE FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
                params![key.kind, key.namespace, key.name],
            )?;
            // The deletion gets its own resourceVersion, so watchers see versions only grow.
            last.resource_version = next_rv(tx)?;
            json::set_resource_version(&mut last.json, last.resource_version)?;
            Ok(((), Some(WatchEvent::Deleted(last))))
        })
    }

    /// Run `f` in an immediate transaction; commit and announce only when it returns an event
    /// (no event: nothing changed, the transaction rolls back).
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<(T, Option<WatchEvent>), StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (out, event) = f(&tx)?;
        if let Some(event) = event {
            tx.commit()?;
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.announced_rv = self.announced_rv.max(event.object().resource_version);
            // No receiver is not an error: nobody is watching.
            let _ = self.events.send(event);
        }
        Ok(out)
    }
}

fn load(conn: &Connection, key: &Key) -> Result<Option<StoredObject>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT rv, json FROM objects WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
        )?
        .query_row(params![key.kind, key.namespace, key.name], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(rv, text)| key.decode(rv, &text)).transpose()
}

/// The current object, checked against the caller's resourceVersion when given.
fn current(
    tx: &Transaction<'_>,
    key: &Key,
    expected: Option<u64>,
) -> Result<StoredObject, StoreError> {
    let current = load(tx, key)?.ok_or_else(|| key.not_found())?;
    match expected {
        Some(rv) if rv != current.resource_version => {
            Err(key.conflict(rv, current.resource_version))
        }
        _ => Ok(current),
    }
}

/// Store `next` as the new state unless it equals `current` (then return `current`, no write).
fn replace(
    tx: &Transaction<'_>,
    key: &Key,
    current: StoredObject,
    mut next: Value,
) -> Result<(StoredObject, Option<WatchEvent>), StoreError> {
    if next == current.json {
        return Ok((current, None));
    }
    let rv = next_rv(tx)?;
    json::set_resource_version(&mut next, rv)?;
    tx.execute(
        "UPDATE objects SET rv = ?4, json = ?5 WHERE kind = ?1 AND namespace = ?2 AND name = ?3",
        params![
            key.kind,
            key.namespace,
            key.name,
            to_i64(rv)?,
            next.to_string()
        ],
    )?;
    let obj = key.object(rv, next);
    Ok((obj.clone(), Some(WatchEvent::Applied(obj))))
}

/// Take the next global resourceVersion (in the database, so other processes agree).
fn next_rv(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let rv: i64 = tx.query_row(
        "UPDATE store_meta SET value = value + 1 WHERE key = 'rv' RETURNING value",
        [],
        |r| r.get(0),
    )?;
    u64::try_from(rv)
        .map_err(|_| StoreError::Invalid(format!("resourceVersion counter is negative ({rv})")))
}

fn to_i64(rv: u64) -> Result<i64, StoreError> {
    i64::try_from(rv).map_err(|_| StoreError::Invalid(format!("resourceVersion {rv} out of range")))
}
