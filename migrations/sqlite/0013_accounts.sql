-- +goose Up
-- People who log in to the web UI. The password is stored as a bcrypt hash only.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL
);

-- Web UI sessions, kept in the database so every replica knows them. Only the SHA-256 of
-- the cookie's value is stored: a copy of the database does not log anybody in.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The web UI pages an incident's alerts newest first; an incident may hold 50,000.
CREATE INDEX alerts_incident_id ON alerts (incident_id, id);

-- +goose Down
DROP INDEX alerts_incident_id;
DROP TABLE sessions;
DROP TABLE users;
