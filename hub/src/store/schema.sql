-- Resource store tables in hub.db (store schema version 1). PRAGMA user_version belongs to the
-- registry (same file); the store keeps its own version in store_meta.

CREATE TABLE IF NOT EXISTS objects (
    kind      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    rv        INTEGER NOT NULL,   -- also in json as metadata.resourceVersion (a string)
    uid       TEXT NOT NULL,
    created   TEXT NOT NULL,      -- RFC 3339
    json      TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
) STRICT;

-- key 'schema_version': store schema version; key 'rv': last resourceVersion handed out
-- (global, never reused, also across deletes and restarts).
CREATE TABLE IF NOT EXISTS store_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

INSERT INTO store_meta (key, value) VALUES ('schema_version', 1) ON CONFLICT (key) DO NOTHING;
INSERT INTO store_meta (key, value) VALUES ('rv', 0) ON CONFLICT (key) DO NOTHING;
CREATE INDEX IF NOT EXISTS objects_by_rv ON objects (rv);
