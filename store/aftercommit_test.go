package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestAfterCommitRunsOnlyOnceCommitted: a transaction that commits runs what it registered,
// after the commit; one that rolls back runs none of it.
func TestAfterCommitRunsOnlyOnceCommitted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran []string
		err := db.InTx(ctx, func(q store.Querier) error {
			store.AfterCommit(q, func() { ran = append(ran, "first") })
			store.AfterCommit(q, func() { ran = append(ran, "second") })
			if len(ran) != 0 {
				t.Error("a function ran before the commit")
			}
			return insertKey("committed")(ctx, q)
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ran) != "[first second]" {
			t.Fatalf("after the commit ran %v, want [first second]", ran)
		}
		ran = nil
		_ = db.InTx(ctx, func(q store.Querier) error {
			store.AfterCommit(q, func() { ran = append(ran, "rolled back") })
			return errors.New("changed its mind")
		})
		if len(ran) != 0 {
			t.Fatalf("a rolled-back transaction ran %v", ran)
		}
		store.AfterCommit(db.W, func() { ran = append(ran, "pool") })
		if fmt.Sprint(ran) != "[pool]" {
			t.Fatalf("outside a transaction: ran %v, want it at once", ran)
		}
	})
}

// A Querier that wraps the transaction's (a test's statement counter) defers to it: what is
// registered through the wrapper runs after the commit, and never after a rollback.
func TestAfterCommitLooksThroughAWrapper(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran []string
		err := db.InTx(ctx, func(q store.Querier) error {
			store.AfterCommit(&storetest.Counting{Querier: q}, func() { ran = append(ran, "wrapped") })
			if len(ran) != 0 {
				t.Error("a function registered through a wrapper ran before the commit")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ran) != "[wrapped]" {
			t.Fatalf("after the commit ran %v, want [wrapped]", ran)
		}
		ran = nil
		_ = db.InTx(ctx, func(q store.Querier) error {
			store.AfterCommit(&storetest.Counting{Querier: q}, func() { ran = append(ran, "rolled back") })
			return errors.New("changed its mind")
		})
		if len(ran) != 0 {
			t.Fatalf("a rolled-back transaction ran %v", ran)
		}
	})
}

// TestAfterCommitInAGroupCommitBelongsToItsRequest: in a batch where one request fails, the
// batch is rolled back and run again with savepoints. What the failing request registered
// never runs, and what the others registered runs once, not once per run of the batch.
func TestAfterCommitInAGroupCommitBelongsToItsRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var mu sync.Mutex
		ran := map[string]int{}
		count := func(name string) func() {
			return func() { mu.Lock(); ran[name]++; mu.Unlock() }
		}
		registering := func(name string, fail bool) func(ctx context.Context, q store.Querier) error {
			return func(ctx context.Context, q store.Querier) error {
				store.AfterCommit(q, count(name))
				if fail {
					return errors.New("boom")
				}
				return insertKey(name)(ctx, q)
			}
		}
		calls := map[string]func(ctx context.Context, q store.Querier) error{
			"good-first": registering("good-first", false),
			"bad":        registering("bad", true),
		}
		for i := 0; i < 5; i++ {
			name := fmt.Sprintf("good-%d", i)
			calls[name] = registering(name, false)
		}
		errs, _ := runBatch(t, db, "good-first", calls)
		if errs["bad"] == nil {
			t.Fatal("the failing request succeeded")
		}
		for name := range calls {
			want := 1
			if name == "bad" {
				want = 0
			}
			if ran[name] != want {
				t.Errorf("%s's after-commit function ran %d times, want %d", name, ran[name], want)
			}
		}
	})
}

// batchStats is a BatchObserver that keeps what it was told.
type batchStats struct {
	mu      sync.Mutex
	batches []int
	waits   []time.Duration
}

func (b *batchStats) Batch(n int) { b.mu.Lock(); b.batches = append(b.batches, n); b.mu.Unlock() }

func (b *batchStats) Waited(d time.Duration) {
	b.mu.Lock()
	b.waits = append(b.waits, d)
	b.mu.Unlock()
}

// TestGroupCommitReportsBatchesAndWaits: the observer learns each committed batch's size
// and every request's wait, the wait of a request queued behind a held batch included.
func TestGroupCommitReportsBatchesAndWaits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		gc := store.NewGroupCommitter(db, 1, 128, 1024, nil)
		t.Cleanup(gc.Close)
		stats := &batchStats{}
		gc.Observe(stats)
		g, gateDone := holdWorker(t, gc, "gate")
		const n = 5
		done := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() { done <- gc.Do(context.Background(), insertKey(fmt.Sprintf("k%d", i))) }()
		}
		for gc.Queued() < n {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		close(g.release)
		if err := wait(t, "the gate write", gateDone); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if err := wait(t, "a queued write", done); err != nil {
				t.Fatal(err)
			}
		}
		stats.mu.Lock()
		defer stats.mu.Unlock()
		if fmt.Sprint(stats.batches) != fmt.Sprintf("[1 %d]", n) {
			t.Errorf("batches %v, want the gate alone then the %d queued writes together", stats.batches, n)
		}
		if len(stats.waits) != n+1 {
			t.Fatalf("%d waits reported, want one per request (%d)", len(stats.waits), n+1)
		}
		// The queued writes waited at least as long as the gate was held after they queued.
		for _, w := range stats.waits[1:] {
			if w < 20*time.Millisecond {
				t.Errorf("a write queued behind the held batch reported a wait of %v, under the 20 ms it was held", w)
			}
		}
	})
}
