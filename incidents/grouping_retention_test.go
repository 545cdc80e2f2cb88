package incidents_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

const week = 168 * time.Hour

// lockGroups takes the grouping locks of keys in one committed transaction, at m's time.
func lockGroups(t *testing.T, db *store.DB, m *incidents.Manager, keys ...string) {
	t.Helper()
	err := db.InTx(context.Background(), func(q store.Querier) error {
		for _, k := range keys {
			if err := m.LockGroupTx(context.Background(), q, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func groupingKeys(t *testing.T, db *store.DB) []string {
	t.Helper()
	var keys []string
	if err := db.W.SelectContext(context.Background(), &keys, `SELECT key FROM grouping_locks`); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func deleteIdle(t *testing.T, db *store.DB, cutoff time.Time, limit int) int64 {
	t.Helper()
	var n int64
	err := db.InTx(context.Background(), func(q store.Querier) error {
		var err error
		n, err = incidents.DeleteIdleGroupingLocksTx(context.Background(), q, cutoff, limit)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGroupingLocksIdleForTheRetentionAreDeleted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		m := incidents.NewManager(db, clock.Now)
		lockGroups(t, db, m, "quiet-1", "quiet-2", "busy")
		clock.Advance(week - time.Hour)
		lockGroups(t, db, m, "busy", "new")
		clock.Advance(time.Hour + time.Minute)

		cutoff := clock.Now().Add(-week)
		if n := deleteIdle(t, db, cutoff, 1); n != 1 {
			t.Fatalf("a clean-up with limit 1 deleted %d rows", n)
		}
		if n := deleteIdle(t, db, cutoff, 100); n != 1 {
			t.Fatalf("the next clean-up deleted %d rows, want the other quiet key", n)
		}
		if got := groupingKeys(t, db); len(got) != 2 || got[0] != "busy" || got[1] != "new" {
			t.Fatalf("keys left %v, want [busy new]", got)
		}
		// A deleted key locks again as before.
		lockGroups(t, db, m, "quiet-1")
		if got := groupingKeys(t, db); len(got) != 3 {
			t.Fatalf("keys after locking quiet-1 again: %v", got)
		}
	})
}

// On PostgreSQL the clean-up may meet a transaction that is touching an idle row at that
// moment: it waits for it and then keeps the row, which is no longer idle.
func TestGroupingLockTouchedDuringTheCleanUpStays(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	m := incidents.NewManager(db, clock.Now)
	lockGroups(t, db, m, "checkout")
	clock.Advance(week + time.Hour)

	alert, err := db.W.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alert.Rollback()
	if err := m.LockGroupTx(ctx, alert, "checkout"); err != nil {
		t.Fatal(err)
	}
	deleted := make(chan int64, 1)
	cleanUpPID := make(chan int, 1)
	go func() {
		var n int64
		err := db.InTx(ctx, func(q store.Querier) error {
			var pid int
			if err := q.QueryRowxContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				return err
			}
			cleanUpPID <- pid
			var err error
			n, err = incidents.DeleteIdleGroupingLocksTx(ctx, q, clock.Now().Add(-week), 100)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		deleted <- n
	}()
	// Commit only once the delete waits for the alert's transaction.
	waitForLockWait(t, db, <-cleanUpPID)
	if err := alert.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := <-deleted; n != 0 {
		t.Fatalf("the clean-up deleted %d rows, want none: the row was touched while it ran", n)
	}
	if got := groupingKeys(t, db); len(got) != 1 {
		t.Fatalf("keys left %v, want [checkout]", got)
	}
}

// waitForLockWait waits until the PostgreSQL session pid waits for a lock.
func waitForLockWait(t *testing.T, db *store.DB, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := db.R.GetContext(context.Background(), &waiting, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE pid = $1 AND wait_event_type = 'Lock'`, pid)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the clean-up never waited for the alert's transaction")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
