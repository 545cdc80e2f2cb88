-- +goose Up
-- What the public sees of an incident, chosen by people: a public title (empty: the title)
-- and the components it names (a JSON array of statuspage_components ids; empty: the
-- components of its service).
ALTER TABLE incidents ADD COLUMN public_title TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN public_components TEXT NOT NULL DEFAULT '[]';

-- The status page status a public update set (investigating, identified, monitoring,
-- resolved); empty for every other event.
ALTER TABLE timeline_events ADD COLUMN public_status TEXT NOT NULL DEFAULT '';
-- Public updates are few among the timeline's lines: the snapshot finds them here.
CREATE INDEX timeline_events_public ON timeline_events (incident_id, at) WHERE public;
-- The uptime bars read the incidents resolved in the last 90 days.
CREATE INDEX incidents_resolved_at ON incidents (resolved_at);

-- The lines of the status page. status is set by hand (NULL: it follows incidents and
-- maintenance), status_since is when it was. Components defined in the config file are
-- from_config: the API does not change them.
CREATE TABLE statuspage_components (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    group_name   TEXT NOT NULL DEFAULT '',
    services     TEXT NOT NULL DEFAULT '[]',
    automatic    BOOLEAN NOT NULL DEFAULT TRUE,
    status       TEXT CHECK (status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance')),
    status_since TIMESTAMP,
    description  TEXT NOT NULL DEFAULT '',
    position     INTEGER NOT NULL DEFAULT 0,
    from_config  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- Scheduled maintenance windows; status follows the clock (the scheduler moves it).
-- components is a JSON array of statuspage_components ids.
CREATE TABLE statuspage_maintenances (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    components      TEXT NOT NULL DEFAULT '[]',
    scheduled_for   TIMESTAMP NOT NULL,
    scheduled_until TIMESTAMP NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('scheduled', 'in_progress', 'completed')),
    started_at      TIMESTAMP,
    completed_at    TIMESTAMP,
    created_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX statuspage_maintenances_status ON statuspage_maintenances (status, scheduled_for);

-- The push sequence: one row, only ever increased, so every snapshot the platform pushes
-- (from any replica, after any restart) is newer than the one before.
CREATE TABLE statuspage_sequence (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO statuspage_sequence (id, value) VALUES (1, 0);

-- +goose Down
DROP TABLE statuspage_sequence;
DROP TABLE statuspage_maintenances;
DROP TABLE statuspage_components;
DROP INDEX incidents_resolved_at;
DROP INDEX timeline_events_public;
ALTER TABLE timeline_events DROP COLUMN public_status;
ALTER TABLE incidents DROP COLUMN public_components;
ALTER TABLE incidents DROP COLUMN public_title;
