package store_test

import (
	"context"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

func TestTryLockTxIsGrantedInsideATransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for range 2 { // released at commit: the next transaction gets it again
			err := db.InTx(ctx, func(q store.Querier) error {
				got, err := store.TryLockTx(ctx, q, "retention")
				if err != nil {
					return err
				}
				if !got {
					t.Error("the only transaction asking did not get the lock")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestTwoPostgresTransactionsCannotBothHoldALock(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	first, err := db.W.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if got, err := store.TryLockTx(ctx, first, "reminders"); err != nil || !got {
		t.Fatalf("first transaction: got %v, %v; want the lock", got, err)
	}

	second, err := db.W.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Rollback()
	if got, err := store.TryLockTx(ctx, second, "reminders"); err != nil || got {
		t.Fatalf("second transaction while the first holds it: got %v, %v; want false", got, err)
	}
	if got, err := store.TryLockTx(ctx, second, "heartbeat"); err != nil || !got {
		t.Fatalf("second transaction, another name: got %v, %v; want the lock", got, err)
	}

	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := store.TryLockTx(ctx, second, "reminders"); err != nil || !got {
		t.Fatalf("second transaction after the first committed: got %v, %v; want the lock", got, err)
	}
}

func TestPostgresLocksOfTwoSchemasAreIndependent(t *testing.T) {
	// Two installations (or two parallel tests) in different schemas of one database must
	// not skip each other's jobs.
	a := storetest.Open(t, store.Postgres)
	b := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	ta, err := a.W.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Rollback()
	tb, err := b.W.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Rollback()
	for name, tx := range map[string]store.Querier{"a": ta, "b": tb} {
		if got, err := store.TryLockTx(ctx, tx, "retention"); err != nil || !got {
			t.Fatalf("schema %s: got %v, %v; want the lock", name, got, err)
		}
	}
}
