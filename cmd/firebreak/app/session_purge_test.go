package app_test

import (
	"context"
	"testing"
	"time"

	"firebreak/accounts"
	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/internal/testkit"
)

// TestExpiredSessionsArePurgedOnSchedule: the App schedules the purge, and a run deletes
// the sessions past their expiry and keeps the live ones.
func TestExpiredSessionsArePurgedOnSchedule(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Now())
		opts := testOptions(t)
		opts.Now = clock.Now
		a, err := app.Build(ctx, cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if jobs := a.Scheduler.Jobs(); !contains(jobs, app.SessionPurgeJob) {
			t.Fatalf("scheduled jobs %v, want %s among them", jobs, app.SessionPurgeJob)
		}
		if _, err := a.Accounts.Create(ctx, "alice", "password-1", accounts.Responder); err != nil {
			t.Fatal(err)
		}
		old, _, err := a.Accounts.Login(ctx, "alice", "password-1", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(11 * time.Hour)
		fresh, _, err := a.Accounts.Login(ctx, "alice", "password-1", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Hour) // the first session (12 h) has expired, the second has not
		if ran, err := a.Scheduler.RunNow(ctx, app.SessionPurgeJob); err != nil || !ran {
			t.Fatalf("RunNow(%s): ran %v, %v", app.SessionPurgeJob, ran, err)
		}
		var left int
		if err := a.DB.R.GetContext(ctx, &left, `SELECT COUNT(*) FROM sessions`); err != nil {
			t.Fatal(err)
		}
		if left != 1 {
			t.Fatalf("%d sessions left after the purge, want 1", left)
		}
		if _, ok, err := a.Accounts.Session(ctx, fresh); err != nil || !ok {
			t.Fatalf("the live session was purged: %v %v", ok, err)
		}
		if _, ok, _ := a.Accounts.Session(ctx, old); ok {
			t.Fatal("the expired session still lets its holder in")
		}
	})
}
