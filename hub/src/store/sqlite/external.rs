//! Commits made by other processes on the same `hub.db` (the CLI creating a Solver while the
//! hub runs): `PRAGMA data_version` tells that another connection committed; the rows whose
//! resourceVersion is above the last one announced are then sent to this process's watchers,
//! in resourceVersion order. Deletions made elsewhere leave no row and are not announced.

use rusqlite::params;

use super::super::{StoreError, WatchEvent};
use super::ops::{Core, Key};

impl Core {
    /// Remember where we start: nothing committed before this point is announced.
    pub(super) fn start_external_watch(&mut self) -> Result<(), StoreError> {
        self.data_version = self.read_data_version()?;
        let max: i64 =
            self.conn
                .query_row("SELECT COALESCE(MAX(rv), 0) FROM objects", [], |r| r.get(0))?;
        self.announced_rv = u64::try_from(max).unwrap_or(0);
        Ok(())
    }

    fn read_data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Announce what other processes committed since the last call (cheap when nothing did,
    /// or when nobody watches).
    pub(super) fn poll_external(&mut self) -> Result<(), StoreError> {
        if self.events.receiver_count() == 0 {
            return Ok(());
        }
        let version = self.read_data_version()?;
        if version == self.data_version {
            return Ok(());
        }
        self.data_version = version;
        let since = i64::try_from(self.announced_rv).unwrap_or(i64::MAX);
        let mut statement = self.conn.prepare_cached(
            "SELECT kind, namespace, name, rv, json FROM objects WHERE rv > ?1 ORDER BY rv",
        )?;
        let rows = statement.query_map(params![since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (kind, namespace, name, rv, text) = row?;
            events.push(Key::new(&kind, &namespace, &name).decode(rv, &text)?);
        }
        drop(statement);
        for obj in events {
            self.announced_rv = self.announced_rv.max(obj.resource_version);
            // No receiver is not an error.
            let _ = self.events.send(WatchEvent::Applied(obj));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::store::{SqliteStore, Store, WatchEvent};

    #[tokio::test]
    async fn another_process_commits_reach_this_process_watchers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let hub = SqliteStore::open(&path).unwrap();
        hub.create("Flavor", "fluidos", "before", json!({"spec": {}}))
            .await
            .unwrap();
        let mut events = hub.watch();
        // A second handle stands for the CLI process (its own connection and thread).
        let cli = SqliteStore::open(&path).unwrap();
        cli.create(
            "Solver",
            "fluidos",
            "s1",
            json!({"spec": {"intentID": "i"}}),
        )
        .await
        .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .expect("the CLI's write is announced")
            .unwrap();
        let WatchEvent::Applied(obj) = event else {
            panic!("expected an Applied event, got {event:?}");
        };
        assert_eq!((obj.kind.as_str(), obj.name.as_str()), ("Solver", "s1"));
        // Our own writes are announced once, not again by the poll.
        hub.create("Flavor", "fluidos", "mine", json!({"spec": {}}))
            .await
            .unwrap();
        let next = events.recv().await.unwrap();
        assert_eq!(next.object().name, "mine");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(events.try_recv().is_err(), "no duplicate announcements");
    }
}
