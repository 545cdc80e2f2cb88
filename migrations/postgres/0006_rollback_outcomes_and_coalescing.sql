-- +goose Up
-- Rollback statuses grow: 'running' (recorded, committed, before a command starts, so it is
-- never started twice), 'unknown' (a command whose outcome could not be known) and
-- 'cancelled' (the incident resolved or the policy changed before the call). Only commands
-- are recorded as running: a webhook is simply called again, with its Idempotency-Key.
ALTER TABLE rollbacks DROP CONSTRAINT rollbacks_status_check;
ALTER TABLE rollbacks ADD CONSTRAINT rollbacks_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'unknown', 'cancelled'));

-- A coalescing outbox kind delivers only the newest job per key (a Slack message update, a
-- status push): older pending jobs of the same key are superseded.
ALTER TABLE outbox_jobs ADD COLUMN coalesce_key TEXT;
CREATE INDEX outbox_jobs_coalesce ON outbox_jobs (kind, coalesce_key, id) WHERE coalesce_key IS NOT NULL;

-- +goose Down
DROP INDEX outbox_jobs_coalesce;
ALTER TABLE outbox_jobs DROP COLUMN coalesce_key;
-- The old schema has no word for these; 'failed' keeps a running command from starting again.
UPDATE rollbacks SET status = 'failed' WHERE status IN ('running', 'unknown', 'cancelled');
ALTER TABLE rollbacks DROP CONSTRAINT rollbacks_status_check;
ALTER TABLE rollbacks ADD CONSTRAINT rollbacks_status_check CHECK (status IN ('pending', 'succeeded', 'failed'));
