-- Registry tables in hub.db (migration 1). The resource store keeps its own tables in the same
-- file and does not use PRAGMA user_version, which belongs to the registry.
-- Times are unix seconds; serials are lowercase hex (crate::pki::IssuedCert::serial_hex).

CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,    -- hex SHA-256 of the secret; the secret is never stored
    expires_at  INTEGER NOT NULL,
    uses_left   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS agents (
    node        TEXT PRIMARY KEY,
    serial      TEXT NOT NULL,    -- the latest certificate issued to the node
    not_after   INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    enrolled_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS certs (
    serial    TEXT PRIMARY KEY,
    node      TEXT NOT NULL,
    not_after INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    revoked   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX IF NOT EXISTS certs_by_node ON certs (node);

CREATE TABLE IF NOT EXISTS ingest (
    node             TEXT PRIMARY KEY,
    last_seq         INTEGER NOT NULL,
    accepted_total   INTEGER NOT NULL,
    duplicates_total INTEGER NOT NULL,
    gaps_total       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL
) STRICT;
