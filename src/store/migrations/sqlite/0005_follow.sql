-- 0005_follow.sql (SQLite): what the log followers and the webhooks remember.
-- ingest_offsets gains the identity of the file a position belongs to (device, inode, and a
-- SHA-256 of its first head_len bytes), so a restart finds that file again after a rename,
-- a copytruncate or a gzip. sns_subscriptions keeps every SNS SubscriptionConfirmation until
-- an operator confirms it; webhook_replay the signature tokens seen in the replay window.
ALTER TABLE ingest_offsets ADD COLUMN file_dev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_offsets ADD COLUMN file_ino INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_offsets ADD COLUMN head_len INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_offsets ADD COLUMN head_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE sns_subscriptions (
    id            INTEGER PRIMARY KEY,
    topic_arn     TEXT NOT NULL,
    subscribe_url TEXT NOT NULL UNIQUE,
    message_id    TEXT NOT NULL DEFAULT '',
    received_at   INTEGER NOT NULL,
    confirmed_at  INTEGER
);

CREATE TABLE webhook_replay (
    vendor  TEXT NOT NULL,
    token   TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (vendor, token)
);
CREATE INDEX webhook_replay_seen ON webhook_replay (seen_at);
