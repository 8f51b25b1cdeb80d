-- 0003_event_reports.sql (PostgreSQL): every path that reported an event, and unique token names.
-- The same tables and index names exist in migrations/sqlite/0003_event_reports.sql.

-- One failure is one event whichever path brought it (SMTP, POST /api/v1/bounces, a log
-- line, a webhook): bounce_events.source/ref name the first path, this table every later
-- one (written when a verdict or a whole input turns out to be a duplicate).
CREATE TABLE event_reports (
    event_id    BIGINT NOT NULL REFERENCES bounce_events (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    ref         TEXT NOT NULL,
    origin      TEXT NOT NULL DEFAULT '',
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, source, ref)
);
-- the events of an input, found from its ingested row when the whole input is a duplicate
CREATE INDEX bounce_events_ref_idx ON bounce_events (ref, source);
CREATE INDEX event_reports_ref_idx ON event_reports (ref, source);

-- Token names are unique among live tokens ('token revoke NAME' means one token). Older
-- duplicates keep working under the name with '#id' appended.
UPDATE api_tokens SET name = name || '#' || id
    WHERE revoked_at IS NULL AND id NOT IN
        (SELECT MIN(id) FROM api_tokens WHERE revoked_at IS NULL GROUP BY name);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
