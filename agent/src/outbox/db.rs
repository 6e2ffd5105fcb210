//! Low-level SQL of the outbox: migrations, the bounds, the `meta` table, row decoding and
//! time conversion. Called only by [`super::Outbox`], inside its transactions.

use fluidos_protocol::agent::NodeReport;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use time::OffsetDateTime;

use super::{OutboxError, OutboxLimits, Result};

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
pub(super) const MIGRATIONS: [&str; 1] = [include_str!("schema.sql")];
/// `meta` keys (see schema.sql).
pub(super) const DROPPED_TOTAL: &str = "dropped_total";
pub(super) const LAST_SAMPLE: &str = "last_sample";
pub(super) const LAST_SAMPLE_AT: &str = "last_sample_at";
pub(super) const LAST_SUCCESS_AT: &str = "last_success_at";
pub(super) const LAST_ERROR: &str = "last_error";

pub(super) fn check_version(conn: &Connection) -> Result<i64> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if usize::try_from(version).map_or(true, |v| v > MIGRATIONS.len()) {
        return Err(OutboxError::TooNew {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    Ok(version)
}

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let applied = usize::try_from(check_version(conn)?).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        let version = i64::try_from(index + 1).map_err(|_| OutboxError::Range("schema version"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// Drop rows older than `max_age` before `now_ms`, then the oldest rows beyond `max_bytes`.
pub(super) fn prune_tx(tx: &Transaction<'_>, limits: OutboxLimits, now_ms: i64) -> Result<u64> {
    let max_age = i64::try_from(limits.max_age.as_millis()).unwrap_or(i64::MAX);
    let by_age = tx.execute(
        "DELETE FROM reports WHERE created_at < ?1",
        [now_ms.saturating_sub(max_age)],
    )?;
    let max_bytes = i64::try_from(limits.max_bytes).unwrap_or(i64::MAX);
    // The newest row at which the payload total, counted from the newest row, exceeds the bound:
    // it and everything older goes.
    let boundary: Option<i64> = tx
        .query_row(
            "SELECT seq FROM (SELECT seq, SUM(size) OVER (ORDER BY seq DESC) AS kept FROM reports)
             WHERE kept > ?1 ORDER BY seq DESC LIMIT 1",
            [max_bytes],
            |r| r.get(0),
        )
        .optional()?;
    let by_size = match boundary {
        Some(seq) => tx.execute("DELETE FROM reports WHERE seq <= ?1", [seq])?,
        None => 0,
    };
    let dropped = u64::try_from(by_age + by_size).unwrap_or(0);
    add_dropped(tx, dropped)?;
    Ok(dropped)
}

/// Delete rows by seq and count them as dropped.
pub(super) fn delete_counted(conn: &mut Connection, seqs: &[i64]) -> Result<u64> {
    let tx = conn.transaction()?;
    let mut dropped = 0u64;
    for seq in seqs {
        dropped +=
            u64::try_from(tx.execute("DELETE FROM reports WHERE seq = ?1", [seq])?).unwrap_or(0);
    }
    add_dropped(&tx, dropped)?;
    tx.commit()?;
    Ok(dropped)
}

pub(super) fn add_dropped(tx: &Transaction<'_>, dropped: u64) -> Result<()> {
    if dropped == 0 {
        return Ok(());
    }
    let total = get_meta(tx, DROPPED_TOTAL)?
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    set_meta(
        tx,
        DROPPED_TOTAL,
        &total.saturating_add(dropped).to_string(),
    )
}

pub(super) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(super) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(super) fn decode(seq: i64, created_at: i64, payload: &[u8]) -> Option<NodeReport> {
    Some(NodeReport {
        seq: u64::try_from(seq).ok()?,
        sampled_at: from_unix_ms(created_at)?,
        sample: serde_json::from_slice(payload).ok()?,
    })
}

pub(super) fn unix_ms(t: OffsetDateTime) -> Result<i64> {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| OutboxError::Range("timestamp"))
}

pub(super) fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}
