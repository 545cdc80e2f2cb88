-- +goose Up
-- The Slack messages of an incident: its message in the service's channel (role 'service')
-- and the summary pinned in its own channel (role 'incident_channel'). The row is written,
-- and committed, before the message is posted (posting_at, ts null) and gets the ts after:
-- a retry that finds a row without ts knows a post may have happened and looks for it in
-- the channel before posting, so a crash or a lost answer never posts a second message.
CREATE TABLE slack_messages (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('service', 'incident_channel')),
    channel     TEXT NOT NULL,
    ts          TEXT,
    posting_at  TIMESTAMP NOT NULL,
    rendered    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (incident_id, role)
);

-- Replies to an incident's message thread, written in the transaction of the timeline
-- event they tell, posted in id order; posting_at and ts as for slack_messages.
CREATE TABLE slack_replies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    posting_at  TIMESTAMP,
    channel     TEXT,
    ts          TEXT,
    skipped     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX slack_replies_pending ON slack_replies (incident_id, id) WHERE ts IS NULL AND skipped = FALSE;

-- An incident's own channel: its name is chosen, and stored, before it is created, so a
-- retry creates the same channel (or finds it by name) rather than a second one.
CREATE TABLE slack_incident_channels (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    name        TEXT NOT NULL UNIQUE,
    channel_id  TEXT UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    invited     BOOLEAN NOT NULL DEFAULT FALSE,
    pinned      BOOLEAN NOT NULL DEFAULT FALSE
);

-- Slack users' display names, so the timeline names people even while Slack is unreachable.
CREATE TABLE slack_users (
    user_id      TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    fetched_at   TIMESTAMP NOT NULL
);

-- Channel names as configured ("#incidents") and the ids Slack answered posts with: reading
-- a channel's history, to find a message whose post went unanswered, takes an id.
CREATE TABLE slack_channel_ids (
    name       TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL
);

-- +goose Down
DROP TABLE slack_channel_ids;
DROP TABLE slack_users;
DROP TABLE slack_incident_channels;
DROP INDEX slack_replies_pending;
DROP TABLE slack_replies;
DROP TABLE slack_messages;
