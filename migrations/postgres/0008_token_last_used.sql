-- +goose Up
-- When each token last authenticated (written at most once a flush interval, not per request).
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN last_used_at;
