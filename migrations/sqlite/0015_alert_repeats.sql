-- +goose Up
-- Repeats answered from memory are written here every 500 ms rather than into the alert rows:
-- a narrow row per alert (about a hundred to a page) instead of rewriting wide ones (labels
-- and annotations, a few to a page), so a flush of thousands of repeats writes tens of pages
-- to the WAL instead of thousands. An alert's repeats are alerts.repeats (counted by the
-- writer) plus these; its last-seen time the later of the two.
CREATE TABLE alert_repeats (
    alert_id     INTEGER PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    repeats      INTEGER NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE alert_repeats;
