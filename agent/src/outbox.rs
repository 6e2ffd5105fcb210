//! The durable outbox (`outbox.db`): every report is written here before it is sent, and
//! deleted only when the hub acknowledges it (docs/ARCHITECTURE.md, "Reports, sequence
//! numbers, exactly-once").
//!
//! [`Outbox`] is the synchronous rusqlite core; [`OutboxHandle`] is the async façade that owns
//! it on a dedicated thread. Bounds: rows older than `max_age` and, oldest first, rows beyond
//! `max_bytes` of payload are dropped and counted in `dropped_total` (persisted in `meta`).
//!
//! Durability: WAL with `synchronous=FULL`. NORMAL would survive `kill -9` too, but a power
//! cut could roll back the last commits, including the AUTOINCREMENT counter: seqs already
//! sent would then be handed out again and the hub would discard those new reports as
//! duplicates. FULL costs one fsync per report or ack, at most one per sample interval.

mod db;
pub mod handle;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fluidos_protocol::agent::{NodeReport, ReportBatch, ResourceSample};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;

use db::{
    DROPPED_TOTAL, LAST_ERROR, LAST_SAMPLE, LAST_SAMPLE_AT, LAST_SUCCESS_AT, check_version, decode,
    delete_counted, from_unix_ms, get_meta, migrate, prune_tx, set_meta, unix_ms,
};
pub use handle::OutboxHandle;

/// Most reports in one batch.
pub const MAX_BATCH_REPORTS: usize = 256;
/// Most payload bytes in one batch (well under the hub's 1 MiB body limit).
const MAX_BATCH_PAYLOAD_BYTES: i64 = 512 * 1024;
/// How long SQLite waits for a lock held by another connection (e.g. `status`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bounds of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Rows older than this are dropped.
    pub max_age: Duration,
    /// Total payload bytes kept; the oldest rows beyond it are dropped.
    pub max_bytes: u64,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(24 * 3600),
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database could not be opened or set up.
    #[error("cannot open the outbox {0}")]
    Open(PathBuf, #[source] rusqlite::Error),
    /// The database was written by a newer agent.
    #[error("outbox schema version {found} is newer than this agent understands ({known})")]
    TooNew {
        /// `user_version` found.
        found: i64,
        /// Migrations this agent knows.
        known: usize,
    },
    /// A query failed.
    #[error("outbox database error")]
    Sqlite(#[from] rusqlite::Error),
    /// A sample could not be serialized.
    #[error("cannot encode a report")]
    Encode(#[source] serde_json::Error),
    /// A number does not fit (a time before 1970 or a seq beyond i64).
    #[error("{0} is out of range")]
    Range(&'static str),
    /// The outbox thread has stopped.
    #[error("the outbox is closed")]
    Closed,
    /// The outbox thread could not be started.
    #[error("cannot start the outbox thread")]
    Thread(#[source] std::io::Error),
}

type Result<T, E = OutboxError> = std::result::Result<T, E>;

/// A `reports` row: seq, created_at, payload, size.
type Row = (i64, i64, Vec<u8>, i64);

/// The oldest reports still held, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingBatch {
    /// Reports, ascending seq (never empty).
    pub reports: Vec<NodeReport>,
    /// Reports dropped by the bounds so far.
    pub dropped_total: u64,
}

impl PendingBatch {
    /// Lowest seq still held: the first report of the batch.
    pub fn resume_from(&self) -> u64 {
        self.reports.first().map_or(0, |r| r.seq)
    }

    /// Highest seq of the batch.
    pub fn last_seq(&self) -> u64 {
        self.reports.last().map_or(0, |r| r.seq)
    }

    /// The wire message for `node_name`.
    pub fn into_report_batch(self, node_name: String) -> ReportBatch {
        ReportBatch {
            node_name,
            resume_from: self.resume_from(),
            dropped_total: self.dropped_total,
            reports: self.reports,
        }
    }
}

/// What [`Outbox::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// The new report's seq.
    pub seq: u64,
    /// Rows dropped by the bounds while pushing.
    pub dropped: u64,
}

/// Counters and last events, for `status` and logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxStats {
    /// Reports held.
    pub rows: u64,
    /// Payload bytes held.
    pub bytes: u64,
    /// Lowest seq held.
    pub oldest_seq: Option<u64>,
    /// Highest seq held.
    pub newest_seq: Option<u64>,
    /// Highest seq ever assigned (0 before the first report); survives acks and restarts.
    pub last_seq: u64,
    /// Reports dropped by the bounds, ever.
    pub dropped_total: u64,
    /// Time of the last sample written.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sample_at: Option<OffsetDateTime>,
    /// The last sample written.
    pub last_sample: Option<ResourceSample>,
    /// Time of the last acknowledged batch.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The last upload error since then.
    pub last_error: Option<String>,
}

/// The synchronous outbox. Blocking: use it through [`OutboxHandle`] from async code.
pub struct Outbox {
    conn: Connection,
    limits: OutboxLimits,
}

impl Outbox {
    /// Open (creating and migrating) the outbox at `path`.
    pub fn open(path: &Path, limits: OutboxLimits) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| OutboxError::Open(path.to_owned(), e))?;
        Self::setup(conn, limits).map_err(|e| match e {
            OutboxError::Sqlite(e) => OutboxError::Open(path.to_owned(), e),
            other => other,
        })
    }

    /// An in-memory outbox (tests).
    pub fn open_in_memory(limits: OutboxLimits) -> Result<Self> {
        Self::setup(Connection::open_in_memory()?, limits)
    }

    /// Open an existing outbox read-only, for `status` while `run` may hold it.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| OutboxError::Open(path.to_owned(), e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        check_version(&conn)?;
        Ok(Self {
            conn,
            limits: OutboxLimits::default(),
        })
    }

    fn setup(mut conn: Connection, limits: OutboxLimits) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The outbox is a few MiB at most and read sequentially: a 256 KiB page cache instead
        // of SQLite's 2 MiB default keeps the agent's RSS small on boards.
        conn.pragma_update(None, "cache_size", -256)?;
        migrate(&mut conn)?;
        Ok(Self { conn, limits })
    }

    /// Write a report for `sample` taken at `sampled_at`, then apply the bounds (with
    /// `sampled_at` as "now"). Also records it as the last sample.
    pub fn push(&mut self, sampled_at: OffsetDateTime, sample: &ResourceSample) -> Result<Pushed> {
        let payload = serde_json::to_string(sample).map_err(OutboxError::Encode)?;
        let at = unix_ms(sampled_at)?;
        let size = i64::try_from(payload.len()).map_err(|_| OutboxError::Range("payload size"))?;
        let limits = self.limits;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO reports (created_at, payload, size) VALUES (?1, ?2, ?3)",
            params![at, payload.as_bytes(), size],
        )?;
        let seq = u64::try_from(tx.last_insert_rowid()).map_err(|_| OutboxError::Range("seq"))?;
        set_meta(&tx, LAST_SAMPLE, &payload)?;
        set_meta(&tx, LAST_SAMPLE_AT, &at.to_string())?;
        let dropped = prune_tx(&tx, limits, at)?;
        tx.commit()?;
        Ok(Pushed { seq, dropped })
    }

    /// Apply the bounds at `now`; returns the rows dropped.
    pub fn prune(&mut self, now: OffsetDateTime) -> Result<u64> {
        let at = unix_ms(now)?;
        let limits = self.limits;
        let tx = self.conn.transaction()?;
        let dropped = prune_tx(&tx, limits, at)?;
        tx.commit()?;
        Ok(dropped)
    }

    /// The oldest reports (at most `max_reports`, and about 512 KiB), or `None` when empty.
    ///
    /// A row whose payload no longer decodes is dropped (and counted) rather than blocking the
    /// queue forever.
    pub fn next_batch(&mut self, max_reports: usize) -> Result<Option<PendingBatch>> {
        loop {
            let rows = self.oldest_rows(max_reports.clamp(1, MAX_BATCH_REPORTS))?;
            if rows.is_empty() {
                return Ok(None);
            }
            let (mut reports, mut corrupt, mut bytes) = (Vec::new(), Vec::new(), 0i64);
            for (seq, created_at, payload, size) in rows {
                if !reports.is_empty() && bytes.saturating_add(size) > MAX_BATCH_PAYLOAD_BYTES {
                    break;
                }
                match decode(seq, created_at, &payload) {
                    Some(report) => {
                        bytes = bytes.saturating_add(size);
                        reports.push(report);
                    }
                    None => corrupt.push(seq),
                }
            }
            if !corrupt.is_empty() {
                tracing::warn!(rows = corrupt.len(), "dropping unreadable outbox rows");
                delete_counted(&mut self.conn, &corrupt)?;
            }
            if !reports.is_empty() {
                let dropped_total = self.dropped_total()?;
                return Ok(Some(PendingBatch {
                    reports,
                    dropped_total,
                }));
            }
        }
    }

    fn oldest_rows(&self, limit: usize) -> Result<Vec<Row>> {
        let limit = i64::try_from(limit).map_err(|_| OutboxError::Range("batch limit"))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, created_at, payload, size FROM reports ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Drop the given reports, counting them in `dropped_total` (e.g. one the hub refuses as
    /// too large, which would otherwise block the queue). Returns the rows dropped.
    pub fn drop_reports(&mut self, seqs: &[u64]) -> Result<u64> {
        let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
        delete_counted(&mut self.conn, &seqs)
    }

    /// The hub has every report up to `acked_seq`: delete them and record the success.
    ///
    /// If the hub knows a seq above anything this outbox assigned (the database was deleted
    /// or restored), the AUTOINCREMENT counter moves past it so new reports are not taken for
    /// duplicates. Returns the rows deleted.
    pub fn ack(&mut self, acked_seq: u64, now: OffsetDateTime) -> Result<u64> {
        let acked = i64::try_from(acked_seq).map_err(|_| OutboxError::Range("acked seq"))?;
        let at = unix_ms(now)?;
        // An ack needs no fsync of its own: if a power cut loses it, the reports are sent again
        // and the hub drops them as duplicates. The next push (synchronous=FULL) syncs the WAL,
        // this transaction included. One fsync per report instead of two.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = self.ack_transaction(acked, at);
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    fn ack_transaction(&mut self, acked: i64, at: i64) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let deleted = tx.execute("DELETE FROM reports WHERE seq <= ?1", [acked])?;
        tx.execute(
            "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'reports' AND seq < ?1",
            [acked],
        )?;
        set_meta(&tx, LAST_SUCCESS_AT, &at.to_string())?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [LAST_ERROR])?;
        tx.commit()?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    /// Remember the last upload error (no write when it is unchanged).
    pub fn record_error(&mut self, message: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value <> excluded.value",
            params![LAST_ERROR, message],
        )?;
        Ok(())
    }

    /// Reports dropped by the bounds, ever.
    pub fn dropped_total(&self) -> Result<u64> {
        Ok(get_meta(&self.conn, DROPPED_TOTAL)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Counters and last events.
    pub fn stats(&self) -> Result<OutboxStats> {
        let (rows, bytes, oldest, newest): (i64, i64, Option<i64>, Option<i64>) =
            self.conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(seq), MAX(seq) FROM reports",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let last_seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'reports'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let time_meta = |key| -> Result<Option<OffsetDateTime>> {
            Ok(get_meta(&self.conn, key)?
                .and_then(|v| v.parse().ok())
                .and_then(from_unix_ms))
        };
        Ok(OutboxStats {
            rows: u64::try_from(rows).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
            oldest_seq: oldest.and_then(|s| u64::try_from(s).ok()),
            newest_seq: newest.and_then(|s| u64::try_from(s).ok()),
            last_seq: last_seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            dropped_total: self.dropped_total()?,
            last_sample_at: time_meta(LAST_SAMPLE_AT)?,
            last_sample: get_meta(&self.conn, LAST_SAMPLE)?
                .and_then(|v| serde_json::from_str(&v).ok()),
            last_success_at: time_meta(LAST_SUCCESS_AT)?,
            last_error: get_meta(&self.conn, LAST_ERROR)?,
        })
    }
}

#[cfg(test)]
#[path = "outbox/tests.rs"]
mod tests;
