-- +goose Up
-- Rollback statuses grow: 'running' (recorded, committed, before a command starts, so it is
-- never started twice), 'unknown' (a command whose outcome could not be known) and
-- 'cancelled' (the incident resolved or the policy changed before the call). Only commands
-- are recorded as running: a webhook is simply called again, with its Idempotency-Key.
-- SQLite cannot change a CHECK constraint: the table is rebuilt. No table references
-- rollbacks, so dropping the old one is safe with foreign keys on.
CREATE TABLE rollbacks_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    deploy_id    INTEGER NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'unknown', 'cancelled')),
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    UNIQUE (incident_id, deploy_id)
);
INSERT INTO rollbacks_new (id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error)
    SELECT id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error FROM rollbacks;
DROP TABLE rollbacks;
ALTER TABLE rollbacks_new RENAME TO rollbacks;

-- A coalescing outbox kind delivers only the newest job per key (a Slack message update, a
-- status push): older pending jobs of the same key are superseded.
ALTER TABLE outbox_jobs ADD COLUMN coalesce_key TEXT;
CREATE INDEX outbox_jobs_coalesce ON outbox_jobs (kind, coalesce_key, id) WHERE coalesce_key IS NOT NULL;

-- +goose Down
DROP INDEX outbox_jobs_coalesce;
ALTER TABLE outbox_jobs DROP COLUMN coalesce_key;
CREATE TABLE rollbacks_old (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    deploy_id    INTEGER NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    UNIQUE (incident_id, deploy_id)
);
INSERT INTO rollbacks_old (id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error)
    SELECT id, incident_id, deploy_id,
        -- The old schema has no word for these; 'failed' keeps a running command from starting again.
        CASE WHEN status IN ('running', 'unknown', 'cancelled') THEN 'failed' ELSE status END,
        requested_by, requested_at, finished_at, attempts, last_error FROM rollbacks;
DROP TABLE rollbacks;
ALTER TABLE rollbacks_old RENAME TO rollbacks;
