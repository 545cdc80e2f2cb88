package tokens_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
)

func newStore(db *store.DB) (*tokens.Store, *testkit.Clock) {
	c := testkit.NewClock(time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC))
	return tokens.NewStore(db, c.Now), c
}

func TestCreatedTokenAuthenticatesWithItsScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		tok, err := s.Create(ctx, "ci", []tokens.Scope{tokens.DeploysWrite, tokens.Read})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		p, err := s.Authenticate(ctx, tok)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		if p.Name != "ci" || p.Scopes.String() != "deploys:write,read" {
			t.Fatalf("principal %+v, want ci with deploys:write,read", p)
		}
		if !p.Scopes.Allows(tokens.DeploysWrite) || p.Scopes.Allows(tokens.IncidentsWrite) {
			t.Fatalf("scopes %v allow the wrong things", p.Scopes)
		}
	})
}

func TestWrongOrEmptyTokenIsInvalid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		tok, err := s.Create(ctx, "ci", []tokens.Scope{tokens.Read})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", tok + "x", strings.ToUpper(tok), "fb_nope"} {
			if _, err := s.Authenticate(ctx, bad); !errors.Is(err, tokens.ErrInvalidToken) {
				t.Errorf("authenticate %q: got %v, want ErrInvalidToken", bad, err)
			}
		}
	})
}

func TestDatabaseHoldsOnlyTheHash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		tok, err := s.Create(ctx, "ci", []tokens.Scope{tokens.Read})
		if err != nil {
			t.Fatal(err)
		}
		var hash string
		if err := db.R.GetContext(ctx, &hash, db.R.Rebind("SELECT hash FROM api_tokens WHERE name = ?"), "ci"); err != nil {
			t.Fatal(err)
		}
		if hash == tok || strings.Contains(hash, tok) {
			t.Fatal("database row holds the plaintext token")
		}
		if hash != tokens.Hash(tok) {
			t.Fatalf("stored hash %q, want Hash(token) %q", hash, tokens.Hash(tok))
		}
	})
}

func TestDuplicateNameIsTaken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		if _, err := s.Create(ctx, "ci", []tokens.Scope{tokens.Read}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Create(ctx, "ci", []tokens.Scope{tokens.DeploysWrite})
		if !errors.Is(err, tokens.ErrNameTaken) {
			t.Fatalf("second create: got %v, want ErrNameTaken", err)
		}
	})
}

func TestCreateRejectsBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		if _, err := s.Create(ctx, "ci", nil); !errors.Is(err, tokens.ErrInvalidScopes) {
			t.Errorf("no scopes: got %v, want ErrInvalidScopes", err)
		}
		if _, err := s.Create(ctx, "ci", []tokens.Scope{"superuser"}); !errors.Is(err, tokens.ErrInvalidScopes) {
			t.Errorf("unknown scope: got %v, want ErrInvalidScopes", err)
		}
		if _, err := s.Create(ctx, " ", []tokens.Scope{tokens.Read}); err == nil {
			t.Error("blank name accepted")
		}
	})
}

func TestStaticTokenAuthenticates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		s.AddStatic("alertmanager", "am-secret", []tokens.Scope{tokens.AlertsWrite})
		s.AddStatic("grafana", "grafana-secret", []tokens.Scope{tokens.Read})
		p, err := s.Authenticate(ctx, "am-secret")
		if err != nil {
			t.Fatalf("authenticate static: %v", err)
		}
		if p.Name != "alertmanager" || !p.Scopes.Allows(tokens.AlertsWrite) || p.Scopes.Allows(tokens.Read) {
			t.Fatalf("principal %+v, want alertmanager with alerts:write only", p)
		}
		if p, err := s.Authenticate(ctx, "grafana-secret"); err != nil || p.Name != "grafana" {
			t.Fatalf("second static token: %+v, %v", p, err)
		}
		if _, err := s.Authenticate(ctx, "am-secreT"); !errors.Is(err, tokens.ErrInvalidToken) {
			t.Fatalf("near miss: got %v, want ErrInvalidToken", err)
		}
	})
}

// HasStaticAdmin is true only once a config token holding the admin scope is added.
func TestHasStaticAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s, _ := newStore(db)
		if s.HasStaticAdmin() {
			t.Fatal("no static tokens: HasStaticAdmin true")
		}
		s.AddStatic("alertmanager", "am-secret", []tokens.Scope{tokens.AlertsWrite, tokens.Read})
		if s.HasStaticAdmin() {
			t.Fatal("only an alerts:write,read static token: HasStaticAdmin true")
		}
		s.AddStatic("ops", "ops-secret", []tokens.Scope{tokens.Read, tokens.Admin})
		if !s.HasStaticAdmin() {
			t.Fatal("with an admin static token: HasStaticAdmin false")
		}
	})
}

func TestEnsureAdminCreatesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		tok, created, err := s.EnsureAdmin(ctx)
		if err != nil || !created || tok == "" {
			t.Fatalf("first EnsureAdmin: %q, %v, %v; want a new token", tok, created, err)
		}
		p, err := s.Authenticate(ctx, tok)
		if err != nil || p.Name != tokens.AdminName || !p.Scopes.Allows(tokens.Admin) {
			t.Fatalf("admin token authenticates as %+v, %v", p, err)
		}
		tok2, created, err := s.EnsureAdmin(ctx)
		if err != nil || created || tok2 != "" {
			t.Fatalf("second EnsureAdmin: %q, %v, %v; want nothing created", tok2, created, err)
		}
	})
}

func TestEnsureAdminCountsAnyAdminScopedToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		if _, err := s.Create(ctx, "ops", []tokens.Scope{tokens.Read, tokens.Admin}); err != nil {
			t.Fatal(err)
		}
		if _, created, err := s.EnsureAdmin(ctx); err != nil || created {
			t.Fatalf("EnsureAdmin with ops holding admin: created=%v, %v", created, err)
		}
	})
}

func TestEnsureAdminExplainsANonAdminTokenNamedAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		if _, err := s.Create(ctx, tokens.AdminName, []tokens.Scope{tokens.Read}); err != nil {
			t.Fatal(err)
		}
		_, created, err := s.EnsureAdmin(ctx)
		if err == nil || created || !strings.Contains(err.Error(), "without the admin scope") {
			t.Fatalf("EnsureAdmin: created=%v, %v; want an error explaining the clash", created, err)
		}
	})
}

func TestSuccessfulLookupsAreCachedForTenSeconds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clock := newStore(db)
		tok, err := s.Create(ctx, "am", []tokens.Scope{tokens.AlertsWrite})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// Remove the row behind the store's back: the cache still answers for a while.
		if _, err := db.W.ExecContext(ctx, db.W.Rebind("DELETE FROM api_tokens WHERE name = ?"), "am"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(9 * time.Second)
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatalf("within 10s: %v, want the cached principal", err)
		}
		clock.Advance(2 * time.Second)
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, tokens.ErrInvalidToken) {
			t.Fatalf("after 11s: %v, want ErrInvalidToken", err)
		}
	})
}

func TestCallersCannotAlterCachedScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		tok, err := s.Create(ctx, "reader", []tokens.Scope{tokens.Read})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		p.Scopes[0] = tokens.Admin
		p, err = s.Authenticate(ctx, tok)
		if err != nil || p.Scopes.Allows(tokens.Admin) {
			t.Fatalf("second authenticate: %+v, %v; want read only", p, err)
		}
	})
}

func TestAuthenticateIsSafeConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clock := newStore(db)
		tok, err := s.Create(ctx, "am", []tokens.Scope{tokens.AlertsWrite})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				for range 50 {
					if i == 0 {
						clock.Advance(time.Second)
					}
					if _, err := s.Authenticate(ctx, tok); err != nil {
						t.Errorf("authenticate: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestListShowsTokensWithoutSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clock := newStore(db)
		if _, err := s.Create(ctx, "ci", []tokens.Scope{tokens.DeploysWrite}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if _, err := s.Create(ctx, "ops", []tokens.Scope{tokens.Read, tokens.IncidentsWrite}); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("listed %d tokens, want 2", len(list))
		}
		ci, ops := list[0], list[1]
		if ci.Name != "ci" || ci.Scopes.String() != "deploys:write" || ci.ID == 0 {
			t.Errorf("first %+v", ci)
		}
		if ops.Name != "ops" || ops.Scopes.String() != "read,incidents:write" {
			t.Errorf("second %+v", ops)
		}
		want := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
		if !ci.CreatedAt.Equal(want) || !ops.CreatedAt.Equal(want.Add(time.Minute)) {
			t.Errorf("created at %v and %v, want %v and a minute later", ci.CreatedAt, ops.CreatedAt, want)
		}
		if ci.CreatedAt.Location() != time.UTC {
			t.Errorf("created at in %v, want UTC", ci.CreatedAt.Location())
		}
	})
}

func TestScopesAllows(t *testing.T) {
	all := []tokens.Scope{tokens.AlertsWrite, tokens.DeploysWrite, tokens.IncidentsWrite, tokens.Read, tokens.Admin}
	cases := []struct {
		have  tokens.Scopes
		need  tokens.Scope
		allow bool
	}{
		{tokens.Scopes{tokens.AlertsWrite}, tokens.AlertsWrite, true},
		{tokens.Scopes{tokens.AlertsWrite}, tokens.Read, false},
		{tokens.Scopes{tokens.DeploysWrite}, tokens.Read, false},
		{tokens.Scopes{tokens.IncidentsWrite}, tokens.Read, false},
		{tokens.Scopes{tokens.Read}, tokens.IncidentsWrite, false},
		{tokens.Scopes{tokens.Read}, tokens.Admin, false},
		{tokens.Scopes{tokens.Read, tokens.DeploysWrite}, tokens.DeploysWrite, true},
		{nil, tokens.Read, false},
	}
	for _, need := range all {
		cases = append(cases, struct {
			have  tokens.Scopes
			need  tokens.Scope
			allow bool
		}{tokens.Scopes{tokens.Admin}, need, true})
	}
	for _, c := range cases {
		if got := c.have.Allows(c.need); got != c.allow {
			t.Errorf("%v.Allows(%s) = %v, want %v", c.have, c.need, got, c.allow)
		}
	}
}

func TestParseScopes(t *testing.T) {
	got, err := tokens.ParseScopes([]string{"alerts:write", " read", "read"})
	if err != nil || tokens.Scopes(got).String() != "alerts:write,read" {
		t.Fatalf("ParseScopes: %v, %v; want alerts:write,read", got, err)
	}
	_, err = tokens.ParseScopes([]string{"read", "superuser"})
	if !errors.Is(err, tokens.ErrInvalidScopes) || !strings.Contains(err.Error(), `"superuser"`) {
		t.Fatalf("superuser: got %v, want an error naming it", err)
	}
	for _, empty := range [][]string{nil, {}} {
		if _, err := tokens.ParseScopes(empty); !errors.Is(err, tokens.ErrInvalidScopes) {
			t.Errorf("ParseScopes(%v): got %v, want ErrInvalidScopes", empty, err)
		}
	}
	if _, err := tokens.ParseScopes([]string{""}); !errors.Is(err, tokens.ErrInvalidScopes) {
		t.Errorf(`ParseScopes([""]): got %v, want ErrInvalidScopes`, err)
	}
}

func TestGenerateIsPrefixedRandomAndURLSafe(t *testing.T) {
	a, err := tokens.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := tokens.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two generated tokens are equal")
	}
	if !strings.HasPrefix(a, tokens.Prefix) {
		t.Fatalf("token %q lacks prefix %q", a, tokens.Prefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a, tokens.Prefix))
	if err != nil || len(raw) != 32 {
		t.Fatalf("token body decodes to %d bytes, %v; want 32", len(raw), err)
	}
	if h := tokens.Hash(a); len(h) != 64 || h == tokens.Hash(b) {
		t.Fatalf("hash %q: want 64 hex characters, distinct per token", h)
	}
}

func TestRevokedTokenStopsAuthenticating(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newStore(db)
		other, otherClock := newStore(db) // a second replica with its own cache
		tok, err := s.Create(ctx, "ci", []tokens.Scope{tokens.DeploysWrite})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatalf("authenticate before revoke: %v", err)
		}
		if _, err := other.Authenticate(ctx, tok); err != nil {
			t.Fatalf("authenticate on the other replica: %v", err)
		}
		if err := s.Revoke(ctx, "ci"); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, tokens.ErrInvalidToken) {
			t.Fatalf("revoked token on the revoking replica: %v, want ErrInvalidToken", err)
		}
		// The other replica trusts its cache for at most ten seconds.
		otherClock.Advance(11 * time.Second)
		if _, err := other.Authenticate(ctx, tok); !errors.Is(err, tokens.ErrInvalidToken) {
			t.Fatalf("revoked token on another replica after 11 s: %v, want ErrInvalidToken", err)
		}
		if err := s.Revoke(ctx, "ci"); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("revoking again: %v, want ErrNotFound", err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 0 {
			t.Fatalf("list after revoke: %v %v", list, err)
		}
	})
}

func TestLastUseIsListedAfterAFlush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clock := newStore(db)
		tok, err := s.Create(ctx, "alertmanager", []tokens.Scope{tokens.AlertsWrite})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "unused", []tokens.Scope{tokens.Read}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		used := clock.Now()
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		list, _ := s.List(ctx)
		if list[0].LastUsedAt != nil {
			t.Fatalf("last use written before any flush: %v", list[0].LastUsedAt)
		}
		if err := s.FlushUsage(ctx); err != nil {
			t.Fatalf("flush: %v", err)
		}
		list, err = s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(used) {
			t.Fatalf("alertmanager last used %v, want %v", list[0].LastUsedAt, used)
		}
		if list[1].LastUsedAt != nil {
			t.Fatalf("a token never used shows a last use: %v", list[1].LastUsedAt)
		}
		// An older flush from a slower replica does not move it back.
		older, _ := newStore(db)
		if _, err := older.Authenticate(ctx, tok); err != nil { // its clock is an hour behind
			t.Fatal(err)
		}
		if err := older.FlushUsage(ctx); err != nil {
			t.Fatal(err)
		}
		list, _ = s.List(ctx)
		if !list[0].LastUsedAt.Equal(used) {
			t.Fatalf("an older use moved last use back to %v", list[0].LastUsedAt)
		}
	})
}
