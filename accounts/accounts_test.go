package accounts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"firebreak/accounts"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
)

func newStore(t *testing.T, db *store.DB, clock *testkit.Clock) *accounts.Store {
	t.Helper()
	return accounts.New(db, accounts.Options{Now: clock.Now, BcryptCost: bcrypt.MinCost,
		Limits: accounts.Limits{PerUser: 3, PerAddress: 5, Window: time.Minute}})
}

func TestLoginStartsASessionWithTheRolesScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		s := newStore(t, db, clock)
		if _, err := s.Create(ctx, "alice", "correct horse", accounts.Responder); err != nil {
			t.Fatal(err)
		}
		id, u, err := s.Login(ctx, "alice", "correct horse", "10.0.0.1")
		if err != nil || u.Username != "alice" {
			t.Fatalf("login: %v %+v", err, u)
		}
		p, ok, err := s.Session(ctx, id)
		if err != nil || !ok {
			t.Fatalf("session: ok=%v err=%v", ok, err)
		}
		if p.Name != "alice" || !p.Scopes.Allows(tokens.IncidentsWrite) || p.Scopes.Allows(tokens.Admin) {
			t.Fatalf("principal %+v", p)
		}
		clock.Advance(13 * time.Hour)
		if _, ok, _ := s.Session(ctx, id); ok {
			t.Fatal("a session outlived its 12 hours")
		}
	})
}

func TestWrongPasswordAndUnknownUserGiveTheSameAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db, testkit.NewClock(time.Now()))
		if _, err := s.Create(ctx, "bob", "right password", accounts.Viewer); err != nil {
			t.Fatal(err)
		}
		_, _, errWrong := s.Login(ctx, "bob", "wrong password", "a")
		_, _, errUnknown := s.Login(ctx, "nobody", "wrong password", "b")
		if !errors.Is(errWrong, accounts.ErrBadCredentials) || errWrong.Error() != errUnknown.Error() {
			t.Fatalf("wrong password: %v; unknown user: %v", errWrong, errUnknown)
		}
	})
}

func TestDisableAndSetPasswordEndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db, testkit.NewClock(time.Now()))
		for _, u := range []string{"carol", "dave"} {
			if _, err := s.Create(ctx, u, "password-1", accounts.Admin); err != nil {
				t.Fatal(err)
			}
		}
		carol, _, _ := s.Login(ctx, "carol", "password-1", "x")
		dave, _, _ := s.Login(ctx, "dave", "password-1", "x")
		if err := s.Disable(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPassword(ctx, "dave", "password-2"); err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]string{"carol": carol, "dave": dave} {
			if _, ok, _ := s.Session(ctx, id); ok {
				t.Errorf("%s's session survived", name)
			}
		}
		if _, _, err := s.Login(ctx, "carol", "password-1", "x"); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Errorf("disabled user logged in: %v", err)
		}
		if _, _, err := s.Login(ctx, "dave", "password-1", "x"); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Errorf("old password still works: %v", err)
		}
		if _, _, err := s.Login(ctx, "dave", "password-2", "x"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if err := s.Disable(ctx, "nobody"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("disable unknown: %v", err)
		}
	})
}

func TestLoginsAreRateLimitedPerUserAndPerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Now())
		s := newStore(t, db, clock)
		if _, err := s.Create(ctx, "erin", "the password", accounts.Viewer); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			s.Login(ctx, "erin", "guess", "1.1.1.1")
		}
		if _, _, err := s.Login(ctx, "erin", "the password", "2.2.2.2"); !errors.Is(err, accounts.ErrRateLimited) {
			t.Fatalf("4th try for erin: %v, want rate limited even with the right password", err)
		}
		for i := range 5 {
			s.Login(ctx, "user"+string(rune('a'+i)), "guess", "3.3.3.3")
		}
		if _, _, err := s.Login(ctx, "someone", "x", "3.3.3.3"); !errors.Is(err, accounts.ErrRateLimited) {
			t.Fatalf("6th try from one address: %v", err)
		}
		clock.Advance(time.Minute)
		if _, _, err := s.Login(ctx, "erin", "the password", "2.2.2.2"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestCreateRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db, testkit.NewClock(time.Now()))
		if _, err := s.Create(ctx, "<script>", "long enough", accounts.Viewer); !errors.Is(err, accounts.ErrInvalidUsername) {
			t.Errorf("username <script>: %v", err)
		}
		if _, err := s.Create(ctx, "frank", "short", accounts.Viewer); !errors.Is(err, accounts.ErrInvalidPassword) {
			t.Errorf("short password: %v", err)
		}
		if _, err := s.Create(ctx, "frank", "long enough", "root"); !errors.Is(err, accounts.ErrInvalidRole) {
			t.Errorf("role root: %v", err)
		}
		s.Create(ctx, "frank", "long enough", accounts.Viewer)
		if _, err := s.Create(ctx, "frank", "long enough", accounts.Viewer); !errors.Is(err, accounts.ErrNameTaken) {
			t.Errorf("duplicate: %v", err)
		}
	})
}

func TestTrustedProxies(t *testing.T) {
	tp, err := accounts.ParseTrustedProxies([]string{"127.0.0.1/32", "10.1.0.0/16", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"127.0.0.1": true, "10.1.2.3": true, "::1": true, "10.2.0.1": false, "::ffff:127.0.0.1": true, "garbage": false} {
		if got := tp.Trusts(ip); got != want {
			t.Errorf("Trusts(%s) = %v", ip, got)
		}
	}
	if _, err := accounts.ParseTrustedProxies([]string{"nope"}); err == nil {
		t.Error("accepted nope")
	}
}
