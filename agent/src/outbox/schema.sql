-- fluidos-agent outbox, schema version 1 (PRAGMA user_version = 1).
-- Reports are written here before they are sent; seq comes from AUTOINCREMENT, so it grows
-- monotonically and is never reused, even after rows are deleted or the process is killed.

CREATE TABLE reports (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,  -- sample time, Unix milliseconds (also the report's sampledAt)
    payload    BLOB    NOT NULL,  -- ResourceSample JSON (seq and sampledAt come from the row)
    size       INTEGER NOT NULL   -- length(payload), for the size bound
);

-- dropped_total, last_sample (JSON), last_sample_at (Unix ms), last_success_at (Unix ms),
-- last_error (text).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
