-- +goose Up
-- Rollback statuses grow: 'running' (recorded, committed, before a command starts, so it is
-- never started twice), 'unknown' (a command whose outcome could not be known) and
-- 'cancelled' (the incident resolved or the policy changed before the call). hook_kind says
-- which kind of hook was started ('webhook' or 'command'; '' before any start): a webhook
-- found running after a restart is called again with its Idempotency-Key, a command never.
ALTER TABLE rollbacks DROP CONSTRAINT rollbacks_status_check;
ALTER TABLE rollbacks ADD CONSTRAINT rollbacks_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'unknown', 'cancelled'));
ALTER TABLE rollbacks ADD COLUMN hook_kind TEXT NOT NULL DEFAULT ''
    CONSTRAINT rollbacks_hook_kind_check CHECK (hook_kind IN ('', 'webhook', 'command'));

-- A coalescing outbox kind delivers only the newest job per key (a Slack message update, a
-- status push): older pending jobs of the same key are superseded.
ALTER TABLE outbox_jobs ADD COLUMN coalesce_key TEXT;
CREATE INDEX outbox_jobs_coalesce ON outbox_jobs (kind, coalesce_key, id) WHERE coalesce_key IS NOT NULL;

-- +goose Down
DROP INDEX outbox_jobs_coalesce;
ALTER TABLE outbox_jobs DROP COLUMN coalesce_key;
ALTER TABLE rollbacks DROP COLUMN hook_kind;
UPDATE rollbacks SET status = CASE status WHEN 'running' THEN 'pending' ELSE 'failed' END
    WHERE status IN ('running', 'unknown', 'cancelled');
ALTER TABLE rollbacks DROP CONSTRAINT rollbacks_status_check;
ALTER TABLE rollbacks ADD CONSTRAINT rollbacks_status_check CHECK (status IN ('pending', 'succeeded', 'failed'));
