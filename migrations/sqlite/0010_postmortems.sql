-- +goose Up
-- The parts of a postmortem people write; the rest is built from the incident when asked.
-- An incident without a row here has a draft postmortem with nothing written yet.
CREATE TABLE postmortems (
    incident_id          INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    status               TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    root_cause           TEXT NOT NULL DEFAULT '',
    contributing_factors TEXT NOT NULL DEFAULT '',
    went_well            TEXT NOT NULL DEFAULT '',
    went_badly           TEXT NOT NULL DEFAULT '',
    got_lucky            TEXT NOT NULL DEFAULT '',
    published_at         TIMESTAMP,
    published_by         TEXT,
    updated_at           TIMESTAMP,
    updated_by           TEXT
);
-- Finds the drafts the reminder job looks at.
CREATE INDEX postmortems_status ON postmortems (status);

-- due is a date written YYYY-MM-DD, so dates compare as text in both databases.
CREATE TABLE postmortem_action_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES postmortems (incident_id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    due         TEXT,
    done        BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (incident_id, position)
);

-- +goose Down
DROP TABLE postmortem_action_items;
DROP TABLE postmortems;
