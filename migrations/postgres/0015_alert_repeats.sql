-- +goose Up
-- Repeats answered from memory are written here every 500 ms rather than into the alert rows:
-- narrow rows instead of rewriting wide ones (labels and annotations), and a flush never
-- touches a row the writer may hold. An alert's repeats are alerts.repeats (counted by the
-- writer) plus these; its last-seen time the later of the two.
CREATE TABLE alert_repeats (
    alert_id     BIGINT PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    repeats      INTEGER NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE alert_repeats;
