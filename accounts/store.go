package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"firebreak/store"
)

// Errors callers tell apart.
var (
	// ErrNotFound: no user by that name.
	ErrNotFound = errors.New("no such user")
	// ErrNameTaken: a user by that name exists already.
	ErrNameTaken = errors.New("username taken")
	// ErrBadCredentials: unknown user, wrong password or disabled user — deliberately one
	// answer, so a login form does not tell which usernames exist.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrRateLimited: too many failed logins for this user or from this address lately.
	ErrRateLimited = errors.New("too many failed logins; wait a few minutes")
	// ErrInvalidPassword: a password too short or too long for bcrypt.
	ErrInvalidPassword = errors.New("invalid password")
	// ErrInvalidUsername: empty, too long or with characters a username may not hold.
	ErrInvalidUsername = errors.New("invalid username")
)

// Password length bounds: bcrypt reads at most 72 bytes, so a longer password would
// silently be cut; refusing it is clearer.
const (
	MinPasswordRunes = 8
	MaxPasswordBytes = 72
)

// User is one person who may log in.
type User struct {
	ID        int64     `db:"id"`
	Username  string    `db:"username"`
	Role      Role      `db:"role"`
	Disabled  bool      `db:"disabled"`
	CreatedAt time.Time `db:"created_at"`
}

// Options tune a Store; zero values take the defaults.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// BcryptCost is the hashing cost; bcrypt.DefaultCost when 0. Tests lower it.
	BcryptCost int
	// SessionTTL is how long a session lives after login; 12 hours when 0.
	SessionTTL time.Duration
	// Limits bounds failed logins; DefaultLimits when zero.
	Limits Limits
}

// Store keeps users and sessions in the database.
type Store struct {
	db      *store.DB
	now     func() time.Time
	cost    int
	ttl     time.Duration
	limiter *limiter
	// dummyHash is compared against when the user is unknown, so an unknown name takes as
	// long to refuse as a wrong password.
	dummyHash []byte
}

// New returns a Store over db.
func New(db *store.DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.DefaultCost
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("firebreak-dummy-password"), opts.BcryptCost)
	if err != nil {
		panic(fmt.Sprintf("accounts: hash the dummy password: %v", err)) // only a bad cost fails
	}
	return &Store{db: db, now: opts.Now, cost: opts.BcryptCost, ttl: opts.SessionTTL,
		limiter: newLimiter(opts.Limits), dummyHash: dummy}
}

// checkUsername accepts 1 to 64 printable characters without spaces.
func checkUsername(u string) error {
	if u == "" || utf8.RuneCountInString(u) > 64 || !utf8.ValidString(u) {
		return fmt.Errorf("%w %q: 1 to 64 characters", ErrInvalidUsername, u)
	}
	for _, r := range u {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`<>"'&/\`, r) {
			return fmt.Errorf("%w %q: no spaces, control characters or any of < > \" ' & / \\", ErrInvalidUsername, u)
		}
	}
	return nil
}

func (s *Store) hash(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPasswordRunes {
		return "", fmt.Errorf("%w: at least %d characters", ErrInvalidPassword, MinPasswordRunes)
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("%w: at most %d bytes", ErrInvalidPassword, MaxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Create adds a user.
func (s *Store) Create(ctx context.Context, username, password string, role Role) (User, error) {
	if err := checkUsername(username); err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, err
	}
	h, err := s.hash(password)
	if err != nil {
		return User{}, err
	}
	u := User{Username: username, Role: role, CreatedAt: s.now().UTC()}
	q := s.db.W
	err = q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO users (username, password_hash, role, disabled, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`), username, h, string(role), false, u.CreatedAt).Scan(&u.ID)
	if store.IsUniqueViolation(err) {
		return User{}, fmt.Errorf("create user %q: %w", username, ErrNameTaken)
	}
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", username, err)
	}
	return u, nil
}

// List returns every user, oldest first.
func (s *Store) List(ctx context.Context) ([]User, error) {
	var out []User
	q := s.db.R
	if err := q.SelectContext(ctx, &out, `SELECT id, username, role, disabled, created_at FROM users ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}

// Disable stops username from logging in and ends every session of theirs.
func (s *Store) Disable(ctx context.Context, username string) error {
	return s.updateAndEndSessions(ctx, username, "disable user", `UPDATE users SET disabled = ? WHERE username = ? RETURNING id`, true)
}

// SetPassword changes username's password and ends every session of theirs, so whoever
// knew the old one is logged out.
func (s *Store) SetPassword(ctx context.Context, username, password string) error {
	h, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.updateAndEndSessions(ctx, username, "set password", `UPDATE users SET password_hash = ? WHERE username = ? RETURNING id`, h)
}

func (s *Store) updateAndEndSessions(ctx context.Context, username, what, update string, value any) error {
	return s.db.InTx(ctx, func(q store.Querier) error {
		var id int64
		err := q.QueryRowxContext(ctx, q.Rebind(update), value, username).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %q: %w", what, username, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", what, username, err)
		}
		if _, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
			return fmt.Errorf("%s %q: end sessions: %w", what, username, err)
		}
		return nil
	})
}

// credentials is a user row with its hash, for login.
type credentials struct {
	User
	PasswordHash string `db:"password_hash"`
}

func (s *Store) byName(ctx context.Context, username string) (credentials, error) {
	var c credentials
	q := s.db.R
	err := q.GetContext(ctx, &c, q.Rebind(`SELECT id, username, role, disabled, created_at, password_hash FROM users WHERE username = ?`), username)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("look up user %q: %w", username, err)
	}
	return c, nil
}
