-- +goose Up
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE incidents (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    title                  TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('observing', 'responding', 'remediating', 'resolved')),
    severity               TEXT NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
    service                TEXT NOT NULL DEFAULT '',
    environment            TEXT NOT NULL DEFAULT '',
    summary                TEXT NOT NULL DEFAULT '',
    group_key              TEXT,
    impact_started_at      TIMESTAMP NOT NULL,
    opened_at              TIMESTAMP NOT NULL,
    acknowledged_at        TIMESTAMP,
    remediation_started_at TIMESTAMP,
    mitigated_at           TIMESTAMP,
    resolved_at            TIMESTAMP,
    reopened_count         INTEGER NOT NULL DEFAULT 0,
    revision               INTEGER NOT NULL DEFAULT 0,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX incidents_status_id ON incidents (status, id);
CREATE INDEX incidents_service_env ON incidents (service, environment, status);
CREATE INDEX incidents_opened_at ON incidents (opened_at);
CREATE INDEX incidents_group_key ON incidents (group_key);

CREATE TABLE timeline_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    public      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX timeline_events_incident ON timeline_events (incident_id, id);

-- +goose Down
DROP TABLE timeline_events;
DROP TABLE incidents;
DROP TABLE api_tokens;
