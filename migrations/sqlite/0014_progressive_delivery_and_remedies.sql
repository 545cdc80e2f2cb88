-- +goose Up
-- Progressive delivery: how a deploy rolls out and where it stands. The values are checked
-- by Firebreak (SQLite cannot add a CHECK to an existing column). An in-progress deploy keeps
-- in finished_at the time it started (or was recorded): the API shows null, and correlation
-- reads it as "started at".
ALTER TABLE deploys ADD COLUMN strategy TEXT NOT NULL DEFAULT 'rolling';
ALTER TABLE deploys ADD COLUMN stage TEXT;
ALTER TABLE deploys ADD COLUMN weight INTEGER;
ALTER TABLE deploys ADD COLUMN state TEXT NOT NULL DEFAULT 'promoted';
ALTER TABLE deploys ADD COLUMN reversible BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE deploys ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
CREATE INDEX deploys_in_progress ON deploys (service, environment, finished_at) WHERE state = 'in_progress';

-- Rollbacks become remedies: each row names its action (rollback, abort_canary, disable_flag
-- or a named action) and, for disable_flag, the flag. At most one per incident, deploy,
-- action and flag. SQLite cannot change a UNIQUE constraint: the table is rebuilt. No table
-- references rollbacks, so dropping the old one is safe with foreign keys on.
CREATE TABLE rollbacks_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    deploy_id    INTEGER NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    action       TEXT NOT NULL DEFAULT 'rollback',
    flag         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'unknown', 'cancelled')),
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    UNIQUE (incident_id, deploy_id, action, flag)
);
INSERT INTO rollbacks_new (id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error)
    SELECT id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error FROM rollbacks;
DROP TABLE rollbacks;
ALTER TABLE rollbacks_new RENAME TO rollbacks;

-- +goose Down
CREATE TABLE rollbacks_old (
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
INSERT INTO rollbacks_old (id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error)
    SELECT id, incident_id, deploy_id, status, requested_by, requested_at, finished_at, attempts, last_error FROM rollbacks
    WHERE action = 'rollback';
DROP TABLE rollbacks;
ALTER TABLE rollbacks_old RENAME TO rollbacks;
DROP INDEX deploys_in_progress;
ALTER TABLE deploys DROP COLUMN flags;
ALTER TABLE deploys DROP COLUMN reversible;
ALTER TABLE deploys DROP COLUMN state;
ALTER TABLE deploys DROP COLUMN weight;
ALTER TABLE deploys DROP COLUMN stage;
ALTER TABLE deploys DROP COLUMN strategy;
