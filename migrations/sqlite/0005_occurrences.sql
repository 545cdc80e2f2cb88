-- +goose Up
-- An occurrence is one firing period of a fingerprint, not one startsAt: an Alertmanager HA
-- pair may report an alert with two starts, and the stored start moves back to the earlier.
-- So at most one occurrence of a fingerprint fires at a time, and (fingerprint, starts_at)
-- is no longer a key. SQLite cannot drop a table constraint: the table is rebuilt.

-- Older versions stored a new row when a firing alert came with another startsAt: keep the
-- latest of each fingerprint's firing rows and end the others when they were last seen.
UPDATE alerts SET status = 'resolved', ends_at = max(starts_at, last_seen_at)
WHERE status = 'firing' AND EXISTS (
    SELECT 1 FROM alerts AS later
    WHERE later.fingerprint = alerts.fingerprint AND later.status = 'firing'
      AND (later.starts_at > alerts.starts_at OR (later.starts_at = alerts.starts_at AND later.id > alerts.id)));

CREATE TABLE alerts_rebuilt (
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
    repeats       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO alerts_rebuilt (id, fingerprint, starts_at, incident_id, status, alertname, labels, annotations,
    generator_url, group_key, ends_at, first_seen_at, last_seen_at, repeats)
SELECT id, fingerprint, starts_at, incident_id, status, alertname, labels, annotations,
    generator_url, group_key, ends_at, first_seen_at, last_seen_at, repeats FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_rebuilt RENAME TO alerts;
CREATE INDEX alerts_incident_status ON alerts (incident_id, status);
-- A fingerprint's occurrences, latest first: late deliveries are judged against the last one.
CREATE INDEX alerts_fingerprint_starts ON alerts (fingerprint, starts_at);
-- The firing occurrence of a fingerprint: repeats and resolves find it here, and two
-- replicas can never both start one.
CREATE UNIQUE INDEX alerts_one_firing ON alerts (fingerprint) WHERE status = 'firing';

-- Grouping decisions are serialised by store.LockKeys now (advisory locks on PostgreSQL).
DROP TABLE grouping_locks;

-- +goose Down
CREATE TABLE grouping_locks (
    key        TEXT PRIMARY KEY,
    touched_at TIMESTAMP NOT NULL
);
CREATE TABLE alerts_rebuilt (
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
-- The old key allows one row per start: the first of each is kept.
INSERT OR IGNORE INTO alerts_rebuilt SELECT id, fingerprint, starts_at, incident_id, status, alertname, labels, annotations,
    generator_url, group_key, ends_at, first_seen_at, last_seen_at, repeats FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_rebuilt RENAME TO alerts;
CREATE INDEX alerts_incident_status ON alerts (incident_id, status);
