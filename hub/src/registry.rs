//! The enrollment registry in `hub.db`: bootstrap tokens, issued agent certificates,
//! revocations, and the per-agent ingest counters (write-behind from [`crate::ingest`]).
//!
//! Synchronous by design: one `rusqlite::Connection` behind a mutex; async callers use
//! `spawn_blocking`. The CLI (another process) and the running hub share the file, so every
//! write is one `BEGIN IMMEDIATE` transaction and waits up to [`crate::store::BUSY_TIMEOUT`]
//! for the lock.
//! This module stores only the hash of token secrets and never logs them.

mod agents;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fluidos_protocol::token::{self, BootstrapToken, ID_LEN, SECRET_LEN};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::hub_identity::random_lowercase;

pub use agents::{AgentRecord, IngestCounters};

/// Schema migrations; `PRAGMA user_version` = how many are applied.
const MIGRATIONS: &[&str] = &[include_str!("registry/schema.sql")];

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The database cannot be opened or migrated.
    #[error("cannot open registry database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("registry database error")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value is out of range (e.g. a timestamp).
    #[error("registry database holds an invalid value: {0}")]
    Corrupt(String),
    /// The caller asked for something impossible (zero uses, a TTL out of range).
    #[error("invalid registry request: {0}")]
    Invalid(String),
}

/// Why a bootstrap token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// Malformed credentials, unknown id or wrong secret (indistinguishable on purpose).
    #[error("bootstrap token is invalid")]
    Invalid,
    /// The token expired.
    #[error("bootstrap token has expired")]
    Expired,
    /// The token has no uses left.
    #[error("bootstrap token has already been used")]
    Used,
    /// The database failed.
    #[error("cannot check bootstrap token")]
    Store(#[from] RegistryError),
}

/// A freshly created bootstrap token: the only time its secret is available.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Public id (`[a-z0-9]{6}`).
    pub id: String,
    /// Secret (`[a-z0-9]{16}`); only its hash is stored.
    pub secret: String,
    /// End of validity (whole seconds).
    pub expires_at: OffsetDateTime,
    /// How many enrollments it allows.
    pub uses: u32,
}

impl NewToken {
    /// The `<id>.<secret>` part agents send.
    pub fn credentials(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }

    /// The full token an operator hands to an agent, pinning the CA by `ca_hash`.
    pub fn bootstrap_token(&self, ca_hash: [u8; 32]) -> BootstrapToken {
        BootstrapToken {
            id: self.id.clone(),
            secret: self.secret.clone(),
            ca_hash,
        }
    }
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .field("uses", &self.uses)
            .finish_non_exhaustive()
    }
}

/// A stored token, without its secret (for listing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Public id.
    pub id: String,
    /// End of validity.
    pub expires_at: OffsetDateTime,
    /// Enrollments left.
    pub uses_left: u32,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// The registry tables of `hub.db`. `Send + Sync`; every method blocks briefly.
#[derive(Debug)]
pub struct Registry {
    conn: Mutex<Connection>,
}

impl Registry {
    /// Open (creating and migrating if needed) the registry tables in the database at `path`.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let open_err = |source| RegistryError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = crate::store::sqlite::open_connection(path).map_err(open_err)?;
        migrate(&mut conn).map_err(open_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The connection. A panic while it was held cannot leave a transaction open (rusqlite
    /// rolls back on drop), so a poisoned lock is safe to reuse.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mint a bootstrap token valid for `ttl` and `uses` enrollments.
    pub fn create_token(&self, ttl: Duration, uses: u32) -> Result<NewToken, RegistryError> {
        if uses == 0 {
            return Err(RegistryError::Invalid(
                "a token needs at least one use".to_owned(),
            ));
        }
        let now = now();
        let expires_at = time::Duration::try_from(ttl)
            .ok()
            .and_then(|ttl| now.checked_add(ttl))
            .filter(|t| *t > now && t.year() < 9999)
            .ok_or_else(|| RegistryError::Invalid(format!("token TTL {ttl:?} is out of range")))?;
        let conn = self.conn();
        // Ids are random; retry the rare collision with an existing token.
        for _ in 0..8 {
            let token = NewToken {
                id: random_lowercase(ID_LEN),
                secret: random_lowercase(SECRET_LEN),
                expires_at,
                uses,
            };
            let inserted = conn.execute(
                "INSERT INTO tokens (id, secret_hash, expires_at, uses_left, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                params![
                    token.id,
                    token::secret_hash(&token.secret),
                    unix(expires_at),
                    uses,
                    unix(now)
                ],
            )?;
            if inserted == 1 {
                tracing::info!(
                    token.id = %token.id,
                    expires_at = %expires_at,
                    uses,
                    "created bootstrap token"
                );
                return Ok(token);
            }
        }
        Err(RegistryError::Invalid(
            "could not find a free token id".to_owned(),
        ))
    }

    /// Check `<id>.<secret>` and consume one use, atomically (one immediate transaction, so
    /// two concurrent enrollments with a single-use token cannot both succeed).
    pub fn redeem_token(&self, credentials: &str, now: OffsetDateTime) -> Result<(), RedeemError> {
        let (id, secret) =
            token::parse_credentials(credentials).map_err(|_| RedeemError::Invalid)?;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(RegistryError::from)?;
        let row: Option<(String, i64, i64)> = tx
            .query_row(
                "SELECT secret_hash, expires_at, uses_left FROM tokens WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(RegistryError::from)?;
        let Some((stored_hash, expires_at, uses_left)) = row else {
            return Err(RedeemError::Invalid);
        };
        if !constant_time_eq(
            stored_hash.as_bytes(),
            token::secret_hash(secret).as_bytes(),
        ) {
            return Err(RedeemError::Invalid);
        }
        if expires_at <= unix(now) {
            return Err(RedeemError::Expired);
        }
        if uses_left <= 0 {
            return Err(RedeemError::Used);
        }
        tx.execute(
            "UPDATE tokens SET uses_left = uses_left - 1 WHERE id = ?1",
            [id],
        )
        .map_err(RegistryError::from)?;
        tx.commit().map_err(RegistryError::from)?;
        tracing::info!(token.id = %id, uses_left = uses_left - 1, "redeemed bootstrap token");
        Ok(())
    }

    /// Every stored token (newest first), without secrets.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, expires_at, uses_left, created_at FROM tokens ORDER BY created_at DESC, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?, r.get(3)?))
        })?;
        rows.map(|row| {
            let (id, expires_at, uses_left, created_at) = row?;
            Ok(TokenInfo {
                id,
                expires_at: from_unix(expires_at)?,
                uses_left: u32::try_from(uses_left).unwrap_or(0),
                created_at: from_unix(created_at)?,
            })
        })
        .collect()
    }

    /// Delete a token; `false` when there was none with that id.
    pub fn delete_token(&self, id: &str) -> Result<bool, RegistryError> {
        Ok(self
            .conn()
            .execute("DELETE FROM tokens WHERE id = ?1", [id])?
            == 1)
    }
}

/// Apply the pending migrations in one immediate transaction (safe against a concurrent CLI).
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, sql) in (1_i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(applied).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()
}

/// Compare two byte strings without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

/// Now, truncated to whole seconds (the precision stored).
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(i64::from(now.nanosecond()))
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_unix(secs: i64) -> Result<OffsetDateTime, RegistryError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| RegistryError::Corrupt(format!("timestamp {secs}")))
}

#[cfg(test)]
mod tests;
