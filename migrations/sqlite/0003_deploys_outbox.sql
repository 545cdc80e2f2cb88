-- +goose Up
CREATE TABLE deploys (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    service          TEXT NOT NULL,
    environment      TEXT NOT NULL DEFAULT '',
    version          TEXT NOT NULL,
    previous_version TEXT,
    commit_sha       TEXT,
    author           TEXT,
    url              TEXT,
    description      TEXT,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP NOT NULL,
    recorded_at      TIMESTAMP NOT NULL
);
CREATE INDEX deploys_service_env_finished ON deploys (service, environment, finished_at);

-- Deploys matched with an incident: kind 'suspect' (finished within the correlation window
-- before the impact start) or 'during' (finished while the incident was open).
CREATE TABLE incident_deploys (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    deploy_id   INTEGER NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('suspect', 'during')),
    reason      TEXT NOT NULL,
    score       REAL NOT NULL,
    matched_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, deploy_id)
);

-- At most one rollback per incident and deploy, whatever retries, replicas or clicks do.
CREATE TABLE rollbacks (
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

-- Durable jobs, written in the transaction of the change that caused them.
CREATE TABLE outbox_jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedup_key    TEXT UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (status, run_at);

-- +goose Down
DROP TABLE outbox_jobs;
DROP TABLE rollbacks;
DROP TABLE incident_deploys;
DROP TABLE deploys;
