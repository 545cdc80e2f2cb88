-- +goose Up
-- A new alert wrote two entries at random places of two indexes keyed by fingerprint: the
-- firing occurrence's (alerts_one_firing) and one in an index of every occurrence. Random
-- places are a page each to write at every commit, and in a storm of new alerts those pages
-- were most of what a commit wrote. The index of occurrences now holds only the ended ones:
-- a fingerprint's latest occurrence is its firing one (alerts_one_firing) or else its latest
-- ended one (here), a new alert writes one random entry, and a resolve moves its entry from
-- one index to the other.
CREATE INDEX alerts_fingerprint_ended ON alerts (fingerprint, starts_at) WHERE status = 'resolved';
DROP INDEX alerts_fingerprint_starts;

-- +goose Down
CREATE INDEX alerts_fingerprint_starts ON alerts (fingerprint, starts_at);
DROP INDEX alerts_fingerprint_ended;
