package tokens

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"firebreak/store"
)

// ErrInvalidToken means the presented token is empty or matches no token; the HTTP layer
// answers 401. It deliberately does not say which, so callers learn nothing by probing.
var ErrInvalidToken = errors.New("invalid API token")

// ErrNameTaken means a token with that name already exists; names are unique so that logs
// and the timeline can say which token acted.
var ErrNameTaken = errors.New("token name already taken")

// AdminName is the name EnsureAdmin gives the token it creates on first start.
const AdminName = "admin"

// cacheTTL bounds how long a database token stays trusted without asking the database
// again. Alertmanager posts thousands of times a second and every request authenticates, so
// a query per request would make the token table the busiest in the system; in exchange a
// token removed from the database keeps working for up to this long on each replica.
const cacheTTL = 10 * time.Second

// Store creates, lists and authenticates API tokens. Database tokens are stored as hashes
// only; static tokens (from the config file) live in memory, also as hashes only.
type Store struct {
	db    *store.DB
	clock func() time.Time

	mu     sync.RWMutex // guards static, so AddStatic is safe even while serving
	static []staticToken

	// cache maps a token hash to a *cacheEntry for database tokens that authenticated
	// recently (pointers, because CompareAndDelete needs comparable values). Only successes are cached: an attacker sending random tokens cannot grow it,
	// so it never holds more entries than there are valid tokens.
	cache sync.Map

	// used maps the hash of a database token to when it last authenticated (time.Time),
	// kept in memory and written by FlushUsage: a write per request would put the token
	// table on Alertmanager's hot path.
	used sync.Map
}

// staticToken is a bootstrap token from the config file; plaintext is never kept.
type staticToken struct {
	hash      []byte
	principal Principal
}

// cacheEntry is a recent successful database lookup.
type cacheEntry struct {
	principal Principal
	expires   time.Time
}

// Info describes a stored token for listing. It never carries the hash: listings are shown
// to people and end up in logs and screenshots, and nothing outside Authenticate needs it.
type Info struct {
	ID        int64
	Name      string
	Scopes    Scopes
	CreatedAt time.Time
	// LastUsedAt is when it last authenticated, as last flushed; nil if never.
	LastUsedAt *time.Time
}

// ErrNotFound means no stored token has the given name.
var ErrNotFound = errors.New("no such token")

// NewStore returns a Store on db. clock gives the current time (tests pass a fake one to
// step past the cache lifetime); nil means time.Now.
func NewStore(db *store.DB, clock func() time.Time) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{db: db, clock: clock}
}

// Create makes a new token with the given name and scopes and returns its plaintext, which
// the caller shows once: only its hash is stored, so it cannot be shown again. A name that
// is already used gives ErrNameTaken; an empty or unknown scope gives ErrInvalidScopes.
func (s *Store) Create(ctx context.Context, name string, scopes []Scope) (plaintext string, err error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("create token: name is empty")
	}
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	parsed, err := ParseScopes(names)
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	plaintext, err = Generate()
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	q := s.db.W
	_, err = q.ExecContext(ctx,
		q.Rebind(`INSERT INTO api_tokens (name, hash, scopes, created_at) VALUES (?, ?, ?, ?)`),
		name, Hash(plaintext), Scopes(parsed).String(), s.clock().UTC())
	if err != nil {
		if store.IsUniqueViolation(err) {
			// The hash is unique too, but two 256-bit random tokens colliding is not a
			// case worth a message; a unique violation here means the name.
			return "", fmt.Errorf("create token %q: %w", name, ErrNameTaken)
		}
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	return plaintext, nil
}

// AddStatic registers a bootstrap token from the config file (for example Alertmanager's,
// whose secret comes from an environment variable). Only its hash is kept, so a heap dump
// does not reveal it. The config package validates names and scopes before this is called;
// an empty plaintext can never match, because Authenticate rejects empty tokens first.
func (s *Store) AddStatic(name, plaintext string, scopes []Scope) {
	h := Hash(plaintext)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.static = append(s.static, staticToken{
		hash:      []byte(h),
		principal: Principal{Name: name, Scopes: slices.Clone(Scopes(scopes))},
	})
}

// HasStaticAdmin reports whether a bootstrap token from the config file holds the admin
// scope. serve then generates no admin token: the operator already has one.
func (s *Store) HasStaticAdmin() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, st := range s.static {
		if slices.Contains(st.principal.Scopes, Admin) {
			return true
		}
	}
	return false
}

// Authenticate returns the principal a token stands for, or ErrInvalidToken when the token
// is empty or unknown. Static tokens are checked first, then recent successes, then the
// database. Any other error is the database failing (see store.IsUnavailable).
func (s *Store) Authenticate(ctx context.Context, plaintext string) (Principal, error) {
	if plaintext == "" {
		return Principal{}, ErrInvalidToken
	}
	h := Hash(plaintext)
	if p, ok := s.matchStatic(h); ok {
		return p, nil
	}
	now := s.clock()
	if v, ok := s.cache.Load(h); ok {
		e := v.(*cacheEntry)
		if now.Before(e.expires) {
			s.used.Store(h, now)
			return clonePrincipal(e.principal), nil
		}
		// Delete only the entry we saw, not one another request just refreshed.
		s.cache.CompareAndDelete(h, v)
	}
	p, err := s.lookup(ctx, h)
	if err != nil {
		return Principal{}, err
	}
	s.cache.Store(h, &cacheEntry{principal: p, expires: now.Add(cacheTTL)})
	s.used.Store(h, now)
	return clonePrincipal(p), nil
}

// matchStatic compares h with every static hash in constant time and without stopping at
// the first match, so the response time says nothing about which static token, or how much
// of one, a guess came close to.
func (s *Store) matchStatic(h string) (Principal, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	hb := []byte(h)
	var found Principal
	matched := 0
	for _, st := range s.static {
		eq := subtle.ConstantTimeCompare(st.hash, hb)
		if eq == 1 && matched == 0 {
			found = st.principal
		}
		matched |= eq
	}
	if matched == 0 {
		return Principal{}, false
	}
	return clonePrincipal(found), true
}

// lookup finds a database token by hash. The index lookup compares hashes, not secrets, so
// its timing tells an attacker nothing about any real token; the constant-time comparison
// afterwards makes sure the row truly matches (whatever the database's collation does)
// without adding a timing signal of our own.
func (s *Store) lookup(ctx context.Context, h string) (Principal, error) {
	var row struct {
		Name   string `db:"name"`
		Hash   string `db:"hash"`
		Scopes string `db:"scopes"`
	}
	q := s.db.R
	err := q.GetContext(ctx, &row, q.Rebind(`SELECT name, hash, scopes FROM api_tokens WHERE hash = ?`), h)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate token: look up hash: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(row.Hash), []byte(h)) != 1 {
		return Principal{}, ErrInvalidToken
	}
	scopes, err := splitScopes(row.Scopes)
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate token %q: %w", row.Name, err)
	}
	return Principal{Name: row.Name, Scopes: scopes}, nil
}

// clonePrincipal copies the scope slice so a caller that appends to or edits it cannot
// change what the cache or the static list hands the next request.
func clonePrincipal(p Principal) Principal {
	p.Scopes = slices.Clone(p.Scopes)
	return p
}

// EnsureAdmin makes sure the database holds a token with the admin scope, so a fresh
// install can be administered at all. If none exists it creates one named AdminName and
// returns its plaintext with created=true (serve writes it to a file readable by its owner
// only); otherwise it returns created=false. Static tokens do not count here: they vanish
// when the config changes; serve asks HasStaticAdmin first and skips this when the config
// holds an admin token.
func (s *Store) EnsureAdmin(ctx context.Context) (plaintext string, created bool, err error) {
	exists, err := s.adminExists(ctx)
	if err != nil || exists {
		return "", false, err
	}
	plaintext, err = s.Create(ctx, AdminName, []Scope{Admin})
	if err == nil {
		return plaintext, true, nil
	}
	if !errors.Is(err, ErrNameTaken) {
		return "", false, fmt.Errorf("ensure admin token: %w", err)
	}
	// Either another replica starting at the same moment created it first — fine — or an
	// operator already named a token "admin" without giving it the admin scope.
	exists, err2 := s.adminExists(ctx)
	if err2 != nil {
		return "", false, err2
	}
	if exists {
		return "", false, nil
	}
	return "", false, fmt.Errorf("ensure admin token: a token named %q exists without the %s scope; "+
		"create one with `firebreak token create --name NAME --scopes admin`: %w", AdminName, Admin, err)
}

// adminExists reports whether some database token holds the admin scope. Scopes are stored
// comma-separated, so the column is wrapped in commas to match "admin" as a whole item.
func (s *Store) adminExists(ctx context.Context) (bool, error) {
	var n int
	q := s.db.R
	err := q.GetContext(ctx, &n,
		q.Rebind(`SELECT COUNT(*) FROM api_tokens WHERE ',' || scopes || ',' LIKE ?`),
		"%,"+string(Admin)+",%")
	if err != nil {
		return false, fmt.Errorf("ensure admin token: count admin tokens: %w", err)
	}
	return n > 0, nil
}

// List returns every database token, oldest first, without hashes. Static tokens are not
// listed: they are managed in the config file, not through the API.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	var rows []struct {
		ID         int64      `db:"id"`
		Name       string     `db:"name"`
		Scopes     string     `db:"scopes"`
		CreatedAt  time.Time  `db:"created_at"`
		LastUsedAt *time.Time `db:"last_used_at"`
	}
	q := s.db.R
	if err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT id, name, scopes, created_at, last_used_at FROM api_tokens ORDER BY id`)); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		scopes, err := splitScopes(r.Scopes)
		if err != nil {
			return nil, fmt.Errorf("list tokens: token %q: %w", r.Name, err)
		}
		info := Info{ID: r.ID, Name: r.Name, Scopes: scopes, CreatedAt: r.CreatedAt.UTC()}
		if r.LastUsedAt != nil {
			t := r.LastUsedAt.UTC()
			info.LastUsedAt = &t
		}
		out = append(out, info)
	}
	return out, nil
}

// Revoke deletes the stored token called name; ErrNotFound when there is none. This
// replica forgets it at once; other replicas stop accepting it when their cache entry
// expires, within cacheTTL (10 s).
func (s *Store) Revoke(ctx context.Context, name string) error {
	var h string
	q := s.db.W
	err := q.QueryRowxContext(ctx, q.Rebind(`DELETE FROM api_tokens WHERE name = ? RETURNING hash`), name).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("revoke token %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	s.cache.Delete(h)
	s.used.Delete(h)
	return nil
}

// FlushUsage writes the last-use times gathered since the previous flush. A time only
// moves forward, so replicas flushing in any order keep the latest.
func (s *Store) FlushUsage(ctx context.Context) error {
	var errs []error
	s.used.Range(func(k, v any) bool {
		h, at := k.(string), v.(time.Time).UTC()
		q := s.db.W
		_, err := q.ExecContext(ctx, q.Rebind(`UPDATE api_tokens SET last_used_at = ?
			WHERE hash = ? AND (last_used_at IS NULL OR last_used_at < ?)`), at, h, at)
		if err != nil {
			errs = append(errs, err)
			return ctx.Err() == nil
		}
		// Forget it unless a newer use came in meanwhile.
		s.used.CompareAndDelete(k, v)
		return true
	})
	if len(errs) > 0 {
		return fmt.Errorf("flush token usage: %w", errors.Join(errs...))
	}
	return nil
}
