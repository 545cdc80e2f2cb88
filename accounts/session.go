package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"firebreak/tokens"
)

// Login checks username and password and starts a session, returning the value for the
// session cookie. addr is the client's address, for the rate limit. An unknown user, a
// disabled one and a wrong password all give ErrBadCredentials, after the same bcrypt work.
func (s *Store) Login(ctx context.Context, username, password, addr string) (sessionID string, u User, err error) {
	now := s.now()
	if !s.limiter.allow(username, addr, now) {
		return "", User{}, ErrRateLimited
	}
	c, err := s.byName(ctx, username)
	switch {
	case errors.Is(err, ErrNotFound):
		// Same work as a real comparison, so timing does not tell which names exist.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		s.limiter.fail(username, addr, now)
		return "", User{}, ErrBadCredentials
	case err != nil:
		return "", User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(c.PasswordHash), []byte(password)) != nil || c.Disabled {
		s.limiter.fail(username, addr, now)
		return "", User{}, ErrBadCredentials
	}
	s.limiter.succeed(username)
	id, err := s.startSession(ctx, c.ID, now)
	if err != nil {
		return "", User{}, err
	}
	return id, c.User, nil
}

func (s *Store) startSession(ctx context.Context, userID int64, now time.Time) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	q := s.db.W
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		hashID(id), userID, now.UTC(), now.Add(s.ttl).UTC())
	if err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	return id, nil
}

// hashID is what the database keeps of a session id.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Session returns the principal of a live session: it exists, has not expired, and its user
// is not disabled. It implements web.SessionAuthenticator.
func (s *Store) Session(ctx context.Context, id string) (tokens.Principal, bool, error) {
	if id == "" || len(id) > 100 {
		return tokens.Principal{}, false, nil
	}
	var row struct {
		Username string `db:"username"`
		Role     Role   `db:"role"`
	}
	q := s.db.R
	err := q.GetContext(ctx, &row, q.Rebind(`SELECT u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND NOT u.disabled`), hashID(id), s.now().UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return tokens.Principal{}, false, nil
	}
	if err != nil {
		return tokens.Principal{}, false, fmt.Errorf("look up session: %w", err)
	}
	return tokens.Principal{Name: row.Username, Scopes: row.Role.Scopes()}, true, nil
}

// Logout ends the session named by id; ending one that does not exist is not an error.
func (s *Store) Logout(ctx context.Context, id string) error {
	q := s.db.W
	if _, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM sessions WHERE id_hash = ?`), hashID(id)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// Principal returns the principal of an enabled user by name, for a login proxy that has
// already authenticated them; ok is false for an unknown or disabled user.
func (s *Store) Principal(ctx context.Context, username string) (tokens.Principal, bool, error) {
	c, err := s.byName(ctx, username)
	if errors.Is(err, ErrNotFound) || (err == nil && c.Disabled) {
		return tokens.Principal{}, false, nil
	}
	if err != nil {
		return tokens.Principal{}, false, err
	}
	return tokens.Principal{Name: c.Username, Scopes: c.Role.Scopes()}, true, nil
}

// PurgeExpired deletes sessions past their expiry and returns how many.
func (s *Store) PurgeExpired(ctx context.Context) (int64, error) {
	q := s.db.W
	res, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM sessions WHERE expires_at <= ?`), s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("purge expired sessions: %w", err)
	}
	return res.RowsAffected()
}
