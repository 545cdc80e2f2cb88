-- +goose Up
-- Progressive delivery: how a deploy rolls out and where it stands. An in-progress deploy
-- keeps in finished_at the time it started (or was recorded): the API shows null, and
-- correlation reads it as "started at".
ALTER TABLE deploys ADD COLUMN strategy TEXT NOT NULL DEFAULT 'rolling'
    CHECK (strategy IN ('rolling', 'blue_green', 'canary'));
ALTER TABLE deploys ADD COLUMN stage TEXT;
ALTER TABLE deploys ADD COLUMN weight INTEGER CHECK (weight BETWEEN 0 AND 100);
ALTER TABLE deploys ADD COLUMN state TEXT NOT NULL DEFAULT 'promoted'
    CHECK (state IN ('in_progress', 'promoted', 'aborted', 'rolled_back'));
ALTER TABLE deploys ADD COLUMN reversible BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE deploys ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
CREATE INDEX deploys_in_progress ON deploys (service, environment, finished_at) WHERE state = 'in_progress';

-- Rollbacks become remedies: each row names its action (rollback, abort_canary, disable_flag
-- or a named action) and, for disable_flag, the flag. At most one per incident, deploy,
-- action and flag.
ALTER TABLE rollbacks ADD COLUMN action TEXT NOT NULL DEFAULT 'rollback';
ALTER TABLE rollbacks ADD COLUMN flag TEXT NOT NULL DEFAULT '';
ALTER TABLE rollbacks DROP CONSTRAINT rollbacks_incident_id_deploy_id_key;
ALTER TABLE rollbacks ADD CONSTRAINT rollbacks_remedy_once UNIQUE (incident_id, deploy_id, action, flag);

-- +goose Down
DELETE FROM rollbacks WHERE action <> 'rollback';
ALTER TABLE rollbacks DROP CONSTRAINT rollbacks_remedy_once;
ALTER TABLE rollbacks ADD CONSTRAINT rollbacks_incident_id_deploy_id_key UNIQUE (incident_id, deploy_id);
ALTER TABLE rollbacks DROP COLUMN flag;
ALTER TABLE rollbacks DROP COLUMN action;
DROP INDEX deploys_in_progress;
ALTER TABLE deploys DROP COLUMN flags;
ALTER TABLE deploys DROP COLUMN reversible;
ALTER TABLE deploys DROP COLUMN state;
ALTER TABLE deploys DROP COLUMN weight;
ALTER TABLE deploys DROP COLUMN stage;
ALTER TABLE deploys DROP COLUMN strategy;
