-- 0002_api.sql (SQLite): the HTTP API's own tables: scoped bearer tokens (only the SHA-256
-- of a token is stored), re-verification links, and classification rules added through the
-- API. Times are integer Unix seconds.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_name ON api_tokens (name);

CREATE TABLE verifications (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX verifications_contact ON verifications (contact_id);

CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    pattern TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT ''
);
