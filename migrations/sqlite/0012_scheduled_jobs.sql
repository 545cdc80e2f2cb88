-- +goose Up
-- When each reminder about an incident was last sent ('ack': nobody acknowledged it;
-- 'postmortem_due': its postmortem is still a draft), so a reminder goes once per period
-- whichever replica runs the job.
CREATE TABLE incident_reminders (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    reminded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, kind)
);

-- When a firing alert was found not sent again for alerts.stale_after and its incident's
-- timeline said so; an alert seen again after that may go stale, and be told, again.
ALTER TABLE alerts ADD COLUMN stale_at TIMESTAMP;

-- Where a reply goes: 'thread', the thread of the incident's message in its service's
-- channel, or 'incident_channel', the thread of the summary pinned in the incident's own
-- channel, also sent to that channel.
ALTER TABLE slack_replies ADD COLUMN target TEXT NOT NULL DEFAULT 'thread' CHECK (target IN ('thread', 'incident_channel'));
-- The retention clean-up deletes posted replies by age.
CREATE INDEX slack_replies_created ON slack_replies (created_at);

-- An incident channel is archived once, some time after its incident resolved: queued
-- (archive_queued_at) by the scheduled job, archived (archived_at) by the delivery.
ALTER TABLE slack_incident_channels ADD COLUMN archive_queued_at TIMESTAMP;
ALTER TABLE slack_incident_channels ADD COLUMN archived_at TIMESTAMP;

-- +goose Down
ALTER TABLE slack_incident_channels DROP COLUMN archived_at;
ALTER TABLE slack_incident_channels DROP COLUMN archive_queued_at;
DROP INDEX slack_replies_created;
ALTER TABLE slack_replies DROP COLUMN target;
ALTER TABLE alerts DROP COLUMN stale_at;
DROP TABLE incident_reminders;
