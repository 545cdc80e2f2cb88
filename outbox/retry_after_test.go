package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// A handler told to wait (Slack's 429 with Retry-After) returns outbox.RetryAfter: the job
// runs again at that time, not at the kind's backoff, and waiting is not a failed attempt,
// so a job rate-limited more often than MaxAttempts is still delivered and no failure is
// observed.
func TestRetryAfterRunsTheJobAtTheTimeAskedWithoutSpendingAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
		ob := outbox.New(db, outbox.Options{Poll: 2 * time.Millisecond, Clock: clock.Now, Log: quiet()})
		limited := &recorder{answer: func(job outbox.Job, n int) (bool, error) {
			if n <= 3 {
				return false, outbox.RetryAfter(30*time.Second, errors.New("slack rate limit exceeded"))
			}
			return false, nil
		}}
		ob.RegisterKind("slack", limited, outbox.KindOptions{MaxAttempts: 2, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
		run(t, ob)

		id, _ := enqueue(t, db, ob, "slack", nil, "")
		for n := 1; n <= 3; n++ {
			testkit.WaitFor(t, 10*time.Second, "a call", func() bool { return limited.callsOf(id) == n })
			var row struct {
				RunAt    time.Time  `db:"run_at"`
				Attempts int        `db:"attempts"`
				Locked   *time.Time `db:"locked_until"`
			}
			testkit.WaitFor(t, 10*time.Second, "the job deferred", func() bool {
				err := db.R.GetContext(context.Background(), &row, db.R.Rebind(`SELECT run_at, attempts, locked_until FROM outbox_jobs WHERE id = ?`), id)
				return err == nil && row.Locked == nil
			})
			if want := clock.Now().Add(30 * time.Second); !row.RunAt.Equal(want) || row.Attempts != 0 {
				t.Fatalf("after rate limit %d: run_at %s attempts %d, want %s and 0", n, row.RunAt, row.Attempts, want)
			}
			// Not a moment before the time asked.
			clock.Advance(29 * time.Second)
			time.Sleep(20 * time.Millisecond)
			if got := limited.callsOf(id); got != n {
				t.Fatalf("the job ran %d times before its Retry-After passed, want %d", got, n)
			}
			clock.Advance(time.Second)
		}
		if row := waitStatus(t, db, id, "done"); row.Attempts != 1 {
			t.Errorf("delivered job: %+v, want 1 attempt counted", row)
		}
		if got := limited.allOutcomes(); len(got) != 0 {
			t.Errorf("waits were observed as failures: %+v", got)
		}
	})
}
