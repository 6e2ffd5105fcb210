//! The async façade of the [`Outbox`]: one dedicated std thread owns the SQLite connection;
//! callers send boxed closures over a channel and await the answer on a oneshot.
//!
//! Why a thread rather than `spawn_blocking` + `Mutex<Connection>`: `Connection` is `Send` but
//! not `Sync`, so one owner is the natural shape; requests run in submission order without lock
//! contention; the outbox never occupies (or waits for) a slot of tokio's blocking pool, which
//! sampling also uses; and closing is an explicit message, so "close SQLite" is an observable
//! step of the shutdown sequence. rusqlite is never called on an async worker thread.

use std::path::PathBuf;
use std::sync::mpsc;

use fluidos_protocol::agent::ResourceSample;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::{Outbox, OutboxError, OutboxLimits, OutboxStats, PendingBatch, Pushed};

type Job = Box<dyn FnOnce(&mut Outbox) + Send>;

enum Message {
    Job(Job),
    Close(oneshot::Sender<()>),
}

/// A cloneable handle to the outbox thread.
#[derive(Clone)]
pub struct OutboxHandle {
    tx: mpsc::Sender<Message>,
}

impl std::fmt::Debug for OutboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxHandle").finish_non_exhaustive()
    }
}

impl OutboxHandle {
    /// Start the outbox thread and open (create, migrate) the database at `path` on it.
    pub async fn open(path: PathBuf, limits: OutboxLimits) -> Result<Self, OutboxError> {
        let (tx, rx) = mpsc::channel::<Message>();
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("outbox".to_owned())
            .spawn(move || match Outbox::open(&path, limits) {
                Ok(outbox) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(outbox, &rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(OutboxError::Thread)?;
        ready_rx.await.map_err(|_| OutboxError::Closed)??;
        Ok(Self { tx })
    }

    /// Run `f` on the outbox thread and return its result.
    pub async fn call<R, F>(&self, f: F) -> Result<R, OutboxError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Outbox) -> Result<R, OutboxError> + Send + 'static,
    {
        let (answer_tx, answer_rx) = oneshot::channel();
        let job: Job = Box::new(move |outbox| {
            let _ = answer_tx.send(f(outbox));
        });
        self.tx
            .send(Message::Job(job))
            .map_err(|_| OutboxError::Closed)?;
        answer_rx.await.map_err(|_| OutboxError::Closed)?
    }

    /// [`Outbox::push`].
    pub async fn push(
        &self,
        sampled_at: OffsetDateTime,
        sample: ResourceSample,
    ) -> Result<Pushed, OutboxError> {
        self.call(move |o| o.push(sampled_at, &sample)).await
    }

    /// [`Outbox::next_batch`].
    pub async fn next_batch(
        &self,
        max_reports: usize,
    ) -> Result<Option<PendingBatch>, OutboxError> {
        self.call(move |o| o.next_batch(max_reports)).await
    }

    /// [`Outbox::ack`].
    pub async fn ack(&self, acked_seq: u64, now: OffsetDateTime) -> Result<u64, OutboxError> {
        self.call(move |o| o.ack(acked_seq, now)).await
    }

    /// [`Outbox::drop_reports`].
    pub async fn drop_reports(&self, seqs: Vec<u64>) -> Result<u64, OutboxError> {
        self.call(move |o| o.drop_reports(&seqs)).await
    }

    /// [`Outbox::record_error`].
    pub async fn record_error(&self, message: String) -> Result<(), OutboxError> {
        self.call(move |o| o.record_error(&message)).await
    }

    /// [`Outbox::stats`].
    pub async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        self.call(|o| o.stats()).await
    }

    /// Close the database (checkpointing the WAL) and stop the thread. Calls made afterwards,
    /// through any clone, fail with [`OutboxError::Closed`].
    pub async fn close(&self) -> Result<(), OutboxError> {
        let (done_tx, done_rx) = oneshot::channel();
        self.tx
            .send(Message::Close(done_tx))
            .map_err(|_| OutboxError::Closed)?;
        done_rx.await.map_err(|_| OutboxError::Closed)
    }
}

fn serve(mut outbox: Outbox, rx: &mpsc::Receiver<Message>) {
    // Ends when every handle is dropped or on Close.
    while let Ok(message) = rx.recv() {
        match message {
            Message::Job(job) => job(&mut outbox),
            Message::Close(done) => {
                drop(outbox);
                let _ = done.send(());
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handle_pushes_batches_acks_and_closes() {
        let dir = tempfile::tempdir().unwrap();
        let handle = OutboxHandle::open(dir.path().join("outbox.db"), OutboxLimits::default())
            .await
            .unwrap();
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            handle
                .push(now, ResourceSample::default())
                .await
                .unwrap()
                .seq,
            1
        );
        assert_eq!(
            handle
                .push(now, ResourceSample::default())
                .await
                .unwrap()
                .seq,
            2
        );
        let batch = handle.next_batch(256).await.unwrap().unwrap();
        assert_eq!((batch.resume_from(), batch.last_seq()), (1, 2));
        assert_eq!(handle.ack(2, now).await.unwrap(), 2);
        assert_eq!(handle.stats().await.unwrap().rows, 0);
        let clone = handle.clone();
        handle.close().await.unwrap();
        assert!(matches!(clone.stats().await, Err(OutboxError::Closed)));
    }

    #[tokio::test]
    async fn open_failure_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let err = OutboxHandle::open(
            dir.path().join("missing/dir/outbox.db"),
            OutboxLimits::default(),
        )
        .await;
        assert!(matches!(err, Err(OutboxError::Open(..))));
    }
}
