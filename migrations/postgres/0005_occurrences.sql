-- +goose Up
-- An occurrence is one firing period of a fingerprint, not one startsAt: an Alertmanager HA
-- pair may report an alert with two starts, and the stored start moves back to the earlier.
-- So at most one occurrence of a fingerprint fires at a time, and (fingerprint, starts_at)
-- is no longer a key.

-- Older versions stored a new row when a firing alert came with another startsAt: keep the
-- latest of each fingerprint's firing rows and end the others when they were last seen.
UPDATE alerts SET status = 'resolved', ends_at = GREATEST(starts_at, last_seen_at)
WHERE status = 'firing' AND EXISTS (
    SELECT 1 FROM alerts AS later
    WHERE later.fingerprint = alerts.fingerprint AND later.status = 'firing'
      AND (later.starts_at > alerts.starts_at OR (later.starts_at = alerts.starts_at AND later.id > alerts.id)));

ALTER TABLE alerts DROP CONSTRAINT alerts_fingerprint_starts_at_key;
-- A fingerprint's occurrences, latest first: late deliveries are judged against the last one.
CREATE INDEX alerts_fingerprint_starts ON alerts (fingerprint, starts_at);
-- The firing occurrence of a fingerprint: repeats and resolves find it here, and two
-- replicas can never both start one.
CREATE UNIQUE INDEX alerts_one_firing ON alerts (fingerprint) WHERE status = 'firing';

-- Grouping decisions are serialised by store.LockKeys now (advisory locks).
DROP TABLE grouping_locks;

-- +goose Down
CREATE TABLE grouping_locks (
    key        TEXT PRIMARY KEY,
    touched_at TIMESTAMPTZ NOT NULL
);
DROP INDEX alerts_one_firing;
DROP INDEX alerts_fingerprint_starts;
-- The old key allows one row per start: keep the first of each, as SQLite's rebuild does.
DELETE FROM alerts a USING alerts b WHERE a.fingerprint = b.fingerprint AND a.starts_at = b.starts_at AND a.id > b.id;
ALTER TABLE alerts ADD CONSTRAINT alerts_fingerprint_starts_at_key UNIQUE (fingerprint, starts_at);
