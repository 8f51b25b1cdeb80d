-- 0001_init.sql (SQLite): the hygiene data model of DESIGN §7.
-- Times are Unix seconds (INTEGER), booleans 0/1, JSON is TEXT. The same tables, columns and
-- index names exist in migrations/pg/0001_init.sql; queries in src/store/model_*.c use both.

-- One row per known address. email is stored lower-cased (the model lower-cases on input).
-- last_soft_day is the UTC day number (unix / 86400) of the last counted soft strike.
CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    hygiene_status    TEXT NOT NULL DEFAULT 'ACTIVE',
    soft_bounce_count INTEGER NOT NULL DEFAULT 0,
    last_soft_day     INTEGER NOT NULL DEFAULT 0,
    last_bounce_at    INTEGER NOT NULL DEFAULT 0,
    last_reason       TEXT NOT NULL DEFAULT '',
    last_status       TEXT NOT NULL DEFAULT '',
    attributes        TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX contacts_status_idx ON contacts (hygiene_status, id);
CREATE INDEX contacts_soft_idx ON contacts (last_soft_day) WHERE soft_bounce_count > 0;

CREATE TABLE lists (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- status: 'subscribed' or 'unsubscribed' (rows are kept so an audit revert can restore them)
CREATE TABLE list_members (
    list_id         INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    contact_id      INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'subscribed',
    subscribed_at   INTEGER NOT NULL,
    unsubscribed_at INTEGER,
    PRIMARY KEY (list_id, contact_id)
);
CREATE INDEX list_members_contact_idx ON list_members (contact_id);

-- Address-level: works for addresses that have no contact.
CREATE TABLE suppressions (
    id         INTEGER PRIMARY KEY,
    address    TEXT NOT NULL UNIQUE,
    reason     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    ref        TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- One row per verdict. dedupe_key makes the same bounce processed twice a no-op.
-- policy: what the hygiene policy did (strike, same_day, hard, escalated, complaint, sender,
-- review, info, suppressed).
CREATE TABLE bounce_events (
    id                  INTEGER PRIMARY KEY,
    dedupe_key          TEXT NOT NULL UNIQUE,
    contact_id          INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    recipient           TEXT NOT NULL,
    domain              TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT '',
    replycode           TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    kind                TEXT NOT NULL DEFAULT '',
    hard                INTEGER NOT NULL DEFAULT -1,
    action              TEXT NOT NULL DEFAULT '',
    diagnostic          TEXT NOT NULL DEFAULT '',
    origin              TEXT NOT NULL DEFAULT '',
    source              TEXT NOT NULL DEFAULT '',
    ref                 TEXT NOT NULL DEFAULT '',
    decided_by          TEXT NOT NULL DEFAULT '',
    policy              TEXT NOT NULL DEFAULT '',
    event_time          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    message_id          TEXT NOT NULL DEFAULT '',
    original_message_id TEXT NOT NULL DEFAULT '',
    feedback_type       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bounce_events_time_idx ON bounce_events (event_time);
CREATE INDEX bounce_events_reason_idx ON bounce_events (reason, event_time);
CREATE INDEX bounce_events_domain_idx ON bounce_events (domain, event_time);
CREATE INDEX bounce_events_recipient_idx ON bounce_events (recipient, event_time);
CREATE INDEX bounce_events_contact_idx ON bounce_events (contact_id, id);

-- Verdicts a person must decide. state: 'open' or 'resolved'; resolution hard|soft|ignore.
CREATE TABLE review_items (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER REFERENCES bounce_events (id) ON DELETE SET NULL,
    contact_id  INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    recipient   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    diagnostic  TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    ref         TEXT NOT NULL DEFAULT '',
    event_time  INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'open',
    resolution  TEXT NOT NULL DEFAULT '',
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX review_items_state_idx ON review_items (state, id);

-- Every hygiene change: who (actor), why (decided_by, reason), the raw bounce (ref) and the
-- state before and after as JSON (status, counts, suppression, list memberships).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER,
    address     TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    decided_by  TEXT NOT NULL DEFAULT '',
    ref         TEXT NOT NULL DEFAULT '',
    event_id    INTEGER,
    state_before TEXT NOT NULL DEFAULT '{}',
    state_after  TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    reverted_at INTEGER,
    reverts     INTEGER
);
CREATE INDEX audit_log_address_idx ON audit_log (address, id);
CREATE INDEX audit_log_contact_idx ON audit_log (contact_id, id);

-- Whole-input idempotency: one row per committed input, written in the same transaction as
-- its events (the daemon records its spool id as ref).
CREATE TABLE ingested (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    ref          TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    verdicts     INTEGER NOT NULL DEFAULT 0,
    not_bounce   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    UNIQUE (source, ref)
);
CREATE UNIQUE INDEX ingested_hash_idx ON ingested (content_hash);

-- Log tailers' positions, saved in the same transaction as the events they produced.
CREATE TABLE ingest_offsets (
    source     TEXT PRIMARY KEY,
    position   INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
);
