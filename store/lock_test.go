package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestLockKeysMakesOverlappingTransactionsWait: on PostgreSQL a transaction that locks a key
// another one holds waits until that one ends, whether it holds the key itself or, having
// too many keys, everything. The waiting is read from pg_locks, not guessed from time.
func TestLockKeysMakesOverlappingTransactionsWait(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	many := make([]string, store.MaxLockKeys+1)
	for i := range many {
		many[i] = fmt.Sprintf("s:svc-%d", i)
	}
	for name, held := range map[string][]string{
		"the same key":      {"s:checkout\x1fprod", "g:group"},
		"too many for each": many,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			first, err := db.W.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Rollback()
			if err := store.LockKeys(ctx, first, held); err != nil {
				t.Fatal(err)
			}
			second := make(chan error, 1)
			go func() {
				second <- db.InTx(ctx, func(q store.Querier) error {
					return store.LockKeys(ctx, q, []string{"g:group", "s:checkout\x1fprod"})
				})
			}()
			waitForAdvisoryWaiter(t, db)
			select {
			case err := <-second:
				t.Fatalf("the second transaction got its locks while the first held them (err %v)", err)
			default:
			}
			if err := first.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-second; err != nil {
				t.Fatalf("second transaction: %v", err)
			}
		})
	}
}

// waitForAdvisoryWaiter waits until a session waits for an advisory lock of this test's
// schema.
func waitForAdvisoryWaiter(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.R.Get(&n, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid::bigint = (hashtext(current_schema())::bigint & 4294967295)`); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no transaction waits for an advisory lock after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLockKeysIsFreeOnSQLite: SQLite runs one write transaction at a time; locking costs
// nothing there and never fails.
func TestLockKeysIsFreeOnSQLite(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	err := db.InTx(context.Background(), func(q store.Querier) error {
		return store.LockKeys(context.Background(), q, []string{"a", "b"})
	})
	if err != nil {
		t.Fatal(err)
	}
}
