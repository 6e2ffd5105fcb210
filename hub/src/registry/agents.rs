//! Agents, their certificates, revocation, and the persisted ingest counters.

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use time::OffsetDateTime;

use super::{Registry, RegistryError, from_unix, now, unix};
use crate::pki::IssuedCert;

/// Per-agent report bookkeeping (see [`crate::ingest`]).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IngestCounters {
    /// Highest contiguous accepted sequence number.
    pub last_seq: u64,
    /// Reports accepted.
    pub accepted_total: u64,
    /// Reports recognised as duplicates.
    pub duplicates_total: u64,
    /// Sequence numbers skipped because the agent dropped them (`resume_from`).
    pub gaps_total: u64,
}

/// An enrolled agent as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Node name.
    pub node: String,
    /// Serial of the latest certificate issued to it.
    pub serial_hex: String,
    /// End of validity of that certificate.
    pub not_after: OffsetDateTime,
    /// Revoked (until it enrolls again).
    pub revoked: bool,
    /// First enrollment.
    pub enrolled_at: OffsetDateTime,
    /// Last accepted report, as last persisted.
    pub last_seen: Option<OffsetDateTime>,
    /// Ingest counters, as last persisted.
    pub ingest: IngestCounters,
}

const AGENT_SELECT: &str =
    "SELECT a.node, a.serial, a.not_after, a.revoked, a.enrolled_at, i.last_seen,
        i.last_seq, i.accepted_total, i.duplicates_total, i.gaps_total
    FROM agents a LEFT JOIN ingest i ON i.node = a.node";

impl Registry {
    /// Remember a certificate issued to `node`: it becomes the agent's current certificate
    /// and the agent is no longer revoked (its older serials stay revoked). Idempotent.
    pub fn record_cert(&self, node: &str, cert: &IssuedCert) -> Result<(), RegistryError> {
        let now = unix(now());
        let not_after = unix(cert.not_after);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO agents (node, serial, not_after, revoked, enrolled_at, updated_at)
             VALUES (?1, ?2, ?3, 0, ?4, ?4)
             ON CONFLICT (node) DO UPDATE SET serial = excluded.serial,
                 not_after = excluded.not_after, revoked = 0, updated_at = excluded.updated_at",
            params![node, cert.serial_hex, not_after, now],
        )?;
        tx.execute(
            "INSERT INTO certs (serial, node, not_after, issued_at, revoked)
             VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT (serial) DO NOTHING",
            params![cert.serial_hex, node, not_after, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Revoke every certificate of `node`; returns how many were newly revoked (0 for an
    /// unknown or already revoked node).
    pub fn revoke(&self, node: &str) -> Result<usize, RegistryError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let revoked = tx.execute(
            "UPDATE certs SET revoked = 1 WHERE node = ?1 AND revoked = 0",
            [node],
        )?;
        tx.execute(
            "UPDATE agents SET revoked = 1, updated_at = ?2 WHERE node = ?1",
            params![node, unix(now())],
        )?;
        tx.commit()?;
        tracing::info!(node, certificates = revoked, "revoked agent");
        Ok(revoked)
    }

    /// Serials of every revoked certificate.
    pub fn revoked_serials(&self) -> Result<HashSet<String>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT serial FROM certs WHERE revoked = 1")?;
        let serials = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(serials)
    }

    /// Every agent that ever enrolled, by node name.
    pub fn agents(&self) -> Result<Vec<AgentRecord>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{AGENT_SELECT} ORDER BY a.node"))?;
        let rows = stmt.query_map([], RawAgent::from_row)?;
        rows.map(|raw| raw?.into_record()).collect()
    }

    /// One agent, or `None` when `node` never enrolled.
    pub fn agent(&self, node: &str) -> Result<Option<AgentRecord>, RegistryError> {
        let conn = self.conn();
        let raw = conn
            .query_row(
                &format!("{AGENT_SELECT} WHERE a.node = ?1"),
                [node],
                RawAgent::from_row,
            )
            .optional()?;
        raw.map(RawAgent::into_record).transpose()
    }

    /// The persisted ingest counters and last-seen time of every node.
    pub fn load_ingest(
        &self,
    ) -> Result<HashMap<String, (IngestCounters, Option<OffsetDateTime>)>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT node, last_seq, accepted_total, duplicates_total, gaps_total, last_seen
             FROM ingest",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, counters(r, 1)?, r.get::<_, i64>(5)?))
        })?;
        rows.map(|row| {
            let (node, counters, last_seen) = row?;
            Ok((node, (counters, Some(from_unix(last_seen)?))))
        })
        .collect()
    }

    /// Upsert the counters of many nodes in one transaction (the write-behind flush).
    pub fn save_ingest(
        &self,
        rows: &[(String, IngestCounters, OffsetDateTime)],
    ) -> Result<(), RegistryError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO ingest
                     (node, last_seq, accepted_total, duplicates_total, gaps_total, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (node) DO UPDATE SET last_seq = excluded.last_seq,
                     accepted_total = excluded.accepted_total,
                     duplicates_total = excluded.duplicates_total,
                     gaps_total = excluded.gaps_total, last_seen = excluded.last_seen",
            )?;
            for (node, c, last_seen) in rows {
                stmt.execute(params![
                    node,
                    to_i64(c.last_seq),
                    to_i64(c.accepted_total),
                    to_i64(c.duplicates_total),
                    to_i64(c.gaps_total),
                    unix(*last_seen)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// An agent row before its timestamps are validated.
struct RawAgent {
    node: String,
    serial_hex: String,
    not_after: i64,
    revoked: bool,
    enrolled_at: i64,
    last_seen: Option<i64>,
    ingest: IngestCounters,
}

impl RawAgent {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        // Counters are NULL for an agent that never reported.
        let ingest = if r.get::<_, Option<i64>>(6)?.is_some() {
            counters(r, 6)?
        } else {
            IngestCounters::default()
        };
        Ok(Self {
            node: r.get(0)?,
            serial_hex: r.get(1)?,
            not_after: r.get(2)?,
            revoked: r.get::<_, i64>(3)? != 0,
            enrolled_at: r.get(4)?,
            last_seen: r.get(5)?,
            ingest,
        })
    }

    fn into_record(self) -> Result<AgentRecord, RegistryError> {
        Ok(AgentRecord {
            not_after: from_unix(self.not_after)?,
            enrolled_at: from_unix(self.enrolled_at)?,
            last_seen: self.last_seen.map(from_unix).transpose()?,
            node: self.node,
            serial_hex: self.serial_hex,
            revoked: self.revoked,
            ingest: self.ingest,
        })
    }
}

/// Four counters in consecutive columns starting at `first`.
fn counters(r: &Row<'_>, first: usize) -> rusqlite::Result<IngestCounters> {
    let get = |i: usize| r.get::<_, i64>(first + i).map(to_u64);
    Ok(IngestCounters {
        last_seq: get(0)?,
        accepted_total: get(1)?,
        duplicates_total: get(2)?,
        gaps_total: get(3)?,
    })
}

/// SQLite integers are signed; counters never get near `i64::MAX`, so saturate.
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
