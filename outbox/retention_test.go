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

// A week after delivery a job is deleted; jobs that gave up, jobs still to run and jobs
// delivered within the week stay.
func TestDeliveredJobsAreDeletedAfterTheRetention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const week = 168 * time.Hour
		clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		h := &recorder{answer: func(job outbox.Job, n int) (bool, error) {
			if job.Kind == "refused" {
				return false, errors.New("400 bad request")
			}
			return false, nil
		}}
		ob := outbox.New(db, outbox.Options{Poll: 5 * time.Millisecond, Clock: clock.Now, Log: quiet()})
		ob.Register("slack", h)
		ob.Register("refused", h)

		stop := run(t, ob)
		oldDone1, _ := enqueue(t, db, ob, "slack", "posted on Monday", "")
		oldDone2, _ := enqueue(t, db, ob, "slack", "posted on Monday too", "")
		oldDead, _ := enqueue(t, db, ob, "refused", "never accepted", "")
		waitStatus(t, db, oldDone1, "done")
		waitStatus(t, db, oldDone2, "done")
		waitStatus(t, db, oldDead, "dead")
		clock.Advance(week - time.Hour)
		recent, _ := enqueue(t, db, ob, "slack", "posted an hour before the week is up", "")
		waitStatus(t, db, recent, "done")
		stop()
		clock.Advance(time.Hour + time.Minute)
		pending, _ := enqueue(t, db, ob, "slack", "not delivered yet", "")

		cutoff := clock.Now().Add(-week)
		deleteDelivered := func(limit int) int64 {
			t.Helper()
			var n int64
			err := db.InTx(ctx, func(q store.Querier) error {
				var err error
				n, err = outbox.DeleteDeliveredTx(ctx, q, cutoff, limit)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		// A limit of one leaves the second old job for the next run.
		if n := deleteDelivered(1); n != 1 {
			t.Fatalf("first clean-up deleted %d jobs, want 1 (its limit)", n)
		}
		if n := deleteDelivered(100); n != 1 {
			t.Fatalf("second clean-up deleted %d jobs, want the other old delivered one", n)
		}
		if n := deleteDelivered(100); n != 0 {
			t.Fatalf("third clean-up deleted %d jobs, want none", n)
		}
		for id, want := range map[int64]bool{oldDone1: false, oldDone2: false, oldDead: true, recent: true, pending: true} {
			if kept := count(t, db, "id = ?", id) == 1; kept != want {
				t.Errorf("job %d kept = %v, want %v", id, kept, want)
			}
		}
	})
}
