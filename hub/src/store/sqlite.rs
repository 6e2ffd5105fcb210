//! The SQLite store backend: one dedicated thread owns the connection; callers send it boxed
//! closures over a channel and await a oneshot reply. Watch events go out after each commit.
//!
//! Several processes may open the same file (the CLI while the hub runs): WAL mode, a busy
//! timeout, `BEGIN IMMEDIATE` writes and a resourceVersion counter kept in the database make
//! that safe. Creates and updates committed by another process (the CLI creating a Solver)
//! reach this process's watchers too, within [`EXTERNAL_POLL`] (see [`external`]); deletions
//! made elsewhere are not announced.

mod external;
mod ops;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{broadcast, oneshot};

use super::{BUSY_TIMEOUT, BoxFuture, Store, StoreError, StoredObject, WATCH_CAPACITY, WatchEvent};
use ops::{Core, Key};

/// How often the store thread looks for commits made by other processes.
pub(crate) const EXTERNAL_POLL: Duration = Duration::from_millis(100);

/// Work for the store thread.
type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// Open `path` (creating it) as the hub opens `hub.db`: WAL, `synchronous = NORMAL`, busy
/// timeout, foreign keys on.
pub(crate) fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")
}

/// The embedded store. Dropping the last handle lets queued work finish, closes the
/// connection and joins the thread.
pub struct SqliteStore {
    jobs: Option<mpsc::Sender<Job>>,
    events: broadcast::Sender<WatchEvent>,
    writes: Arc<AtomicU64>,
    worker: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating and migrating if needed) the store tables of the database at `path`.
    ///
    /// Blocking (file IO): call it at startup or from `spawn_blocking`.
    pub fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        let mut conn = open_connection(path)?;
        ops::migrate(&mut conn)?;
        Self::spawn(conn, path)
    }

    /// Open an existing database read-only (CLI listings). Writes fail with
    /// [`StoreError::Backend`]; the schema must already exist.
    pub fn open_read_only(path: &Path) -> Result<Arc<Self>, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)?;
        configure(&conn)?;
        Self::spawn(conn, path)
    }

    fn spawn(conn: Connection, path: &Path) -> Result<Arc<Self>, StoreError> {
        let (events, _) = broadcast::channel(WATCH_CAPACITY);
        let writes = Arc::new(AtomicU64::new(0));
        let mut core = Core::new(conn, events.clone(), Arc::clone(&writes));
        core.start_external_watch()?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("fluidos-store".to_owned())
            .spawn(move || run_store_thread(&mut core, &rx))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        tracing::debug!(path = %path.display(), "store opened");
        Ok(Arc::new(Self {
            jobs: Some(jobs),
            events,
            writes,
            worker: Some(worker),
            path: path.to_owned(),
        }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the store thread and await its result.
    fn call<T, F>(&self, f: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Core) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |core| {
            // The caller may have gone away; the work is done either way.
            let _ = reply.send(f(core));
        });
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            result.await.map_err(|_| StoreError::Closed)?
        })
    }
}

/// Run jobs until every sender is gone; between jobs, announce other processes' commits.
fn run_store_thread(core: &mut Core, rx: &mpsc::Receiver<Job>) {
    let mut polled = Instant::now();
    loop {
        match rx.recv_timeout(EXTERNAL_POLL) {
            Ok(job) => job(core),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if polled.elapsed() >= EXTERNAL_POLL {
            polled = Instant::now();
            if let Err(error) = core.poll_external() {
                tracing::warn!(%error, "cannot read other processes' store changes");
            }
        }
    }
    tracing::debug!("store thread stopped");
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once queued jobs ran.
        drop(self.jobs.take());
        if let Some(worker) = self.worker.take() {
            if worker.thread().id() == std::thread::current().id() {
                return;
            }
            if worker.join().is_err() {
                tracing::error!(path = %self.path.display(), "store thread panicked");
            }
        }
    }
}

impl Store for SqliteStore {
    fn get<'a>(
        &'a self,
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>> {
        let key = Key::new(kind, namespace, name);
        self.call(move |core| core.get(&key))
    }

    fn list<'a>(
        &'a self,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StoreError>> {
        let (kind, namespace) = (kind.to_owned(), namespace.map(str::to_owned));
        self.call(move |core| core.list(&kind, namespace.as_deref()))
    }

    fn create(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        json: serde_json::Value,
    ) -> BoxFuture<'_, Result<StoredObject, StoreError>> {
        let key = Key::new(kind, namespace, name);
        self.call(move |core| core.create(key, json))
    }

    fn update(&self, obj: StoredObject) -> BoxFuture<'_, Result<StoredObject, StoreError>> {
        self.call(move |core| core.update(obj))
    }

    fn update_status(&self, obj: StoredObject) -> BoxFuture<'_, Result<StoredObject, StoreError>> {
        self.call(move |core| core.update_status(obj))
    }

    fn delete(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        resource_version: Option<u64>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = Key::new(kind, namespace, name);
        self.call(move |core| core.delete(&key, resource_version))
    }

    fn watch(&self) -> broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }

    fn writes_total(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}
