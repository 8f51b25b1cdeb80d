-- 0007_guards.sql (SQLite): the guards of DESIGN §10: per-minute counters per recipient
-- domain, campaign and sending domain (outage detection, spike alerts), outages and
-- reputation incidents with the penalties they hold, alerts with their outbound delivery
-- state (retries, dead letters), and what was last pushed to or imported from each ESP's
-- suppression list. The same tables, columns and index names exist in
-- migrations/pg/0007_guards.sql.

-- A verdict whose penalty an outage holds: the event is recorded, the contact untouched.
-- hold_state: held, applied (penalty carried out later), released (never carried out).
ALTER TABLE bounce_events ADD COLUMN held_by_outage INTEGER;
ALTER TABLE bounce_events ADD COLUMN hold_state TEXT NOT NULL DEFAULT '';
CREATE INDEX bounce_events_held_idx ON bounce_events (held_by_outage, id)
    WHERE held_by_outage IS NOT NULL;

-- scope: domain (recipient domain), campaign, sender (sending domain); bucket: the minute
-- (unix seconds, a multiple of 60). sends come from POST /api/v1/sends.
CREATE TABLE guard_counts (
    scope     TEXT NOT NULL,
    key       TEXT NOT NULL,
    bucket    INTEGER NOT NULL,
    hard      INTEGER NOT NULL DEFAULT 0,
    soft      INTEGER NOT NULL DEFAULT 0,
    complaint INTEGER NOT NULL DEFAULT 0,
    sender    INTEGER NOT NULL DEFAULT 0,
    total     INTEGER NOT NULL DEFAULT 0,
    sends     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, key, bucket)
);
CREATE INDEX guard_counts_bucket_idx ON guard_counts (bucket);

-- kind: outage (penalties held) or reputation (sender-side refusals: alert only).
-- state: open, recovered, applied, released, settled (decided per address), closed.
CREATE TABLE outages (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    domain       TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'open',
    opened_at    INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    recovered_at INTEGER NOT NULL DEFAULT 0,
    decided_at   INTEGER NOT NULL DEFAULT 0,
    decided_by   TEXT NOT NULL DEFAULT '',
    window_count INTEGER NOT NULL DEFAULT 0,
    baseline     INTEGER NOT NULL DEFAULT 0,
    held         INTEGER NOT NULL DEFAULT 0,
    applied      INTEGER NOT NULL DEFAULT 0,
    released     INTEGER NOT NULL DEFAULT 0
);
-- at most one live incident of a kind per domain, however many nodes see the burst at once
CREATE UNIQUE INDEX outages_live_idx ON outages (domain, kind)
    WHERE state IN ('open', 'recovered');
CREATE INDEX outages_state_idx ON outages (state, id);

-- state: pending (to deliver), delivered, dead (retries exhausted: the dead-letter list),
-- logged (no webhook configured: syslog and metrics only).
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    metric       TEXT NOT NULL,
    value        INTEGER NOT NULL DEFAULT 0,
    threshold    INTEGER NOT NULL DEFAULT 0,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    announced    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_key_idx ON alerts (scope, key, metric, created_at);
CREATE INDEX alerts_state_idx ON alerts (state, next_at);

-- What bounced last agreed with an ESP about: pushed (bounced added it there) or imported
-- (the ESP had it first). A suppression lifted in bounced is removed at the ESP.
CREATE TABLE esp_suppressions (
    esp       TEXT NOT NULL,
    address   TEXT NOT NULL,
    origin    TEXT NOT NULL,
    synced_at INTEGER NOT NULL,
    PRIMARY KEY (esp, address)
);
