-- +goose Up
-- Who declared an incident by hand (NULL when alerts opened it), and why it waits for people
-- ('' when it does not): alerts clearing resolve an incident automatically only when no person
-- declared, acknowledged or remediated it and nothing holds it for people (a command hook
-- whose outcome is unknown).
ALTER TABLE incidents ADD COLUMN declared_by TEXT;
ALTER TABLE incidents ADD COLUMN held_for TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE incidents DROP COLUMN held_for;
ALTER TABLE incidents DROP COLUMN declared_by;
