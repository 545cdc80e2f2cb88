-- +goose Up
-- One row per alert occurrence: Alertmanager's fingerprint plus startsAt. A repeat of the
-- same occurrence moves last_seen_at and counts; a new startsAt is a new row.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint   TEXT NOT NULL,
    starts_at     TIMESTAMP NOT NULL,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
    alertname     TEXT NOT NULL,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    generator_url TEXT NOT NULL DEFAULT '',
    group_key     TEXT NOT NULL,
    ends_at       TIMESTAMP,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    repeats       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alerts_incident_status ON alerts (incident_id, status);

-- Rows locked while deciding which incident a new alert joins (see incidents.LockGroupTx).
CREATE TABLE grouping_locks (
    key        TEXT PRIMARY KEY,
    touched_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE grouping_locks;
DROP TABLE alerts;
