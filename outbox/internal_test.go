package outbox

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// Attempt n waits between half and all of base·2^(n-1), capped at MaxBackoff, and the
// jitter really spreads over that range.
func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	base, maxB := 100*time.Millisecond, 3*time.Second
	o := New(nil, Options{BaseBackoff: base, MaxBackoff: maxB})
	for n := 1; n <= 70; n++ {
		d := base
		for i := 1; i < n && d < maxB; i++ {
			d *= 2
		}
		d = min(d, maxB)
		lowHalf, highHalf := false, false
		for range 300 {
			got := o.kind("any").opts.backoff(n)
			if got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, got, d/2, d)
			}
			if got < d*3/4 {
				lowHalf = true
			} else {
				highHalf = true
			}
		}
		if !lowHalf || !highHalf {
			t.Errorf("backoff(%d) over 300 draws never fell in one half of [%s, %s]: no jitter", n, d/2, d)
		}
	}
	// Spot checks of the exponent, written out.
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		5: 1600 * time.Millisecond, 6: 3 * time.Second, 40: 3 * time.Second} {
		if got := o.kind("any").opts.backoff(n); got < want/2 || got > want {
			t.Errorf("backoff(%d) = %s, want within [%s, %s]", n, got, want/2, want)
		}
	}
}

// The defaults are the documented ones.
func TestDefaults(t *testing.T) {
	o := New(nil, Options{})
	got := o.opts
	if got.Workers != 2 || got.MaxAttempts != 8 || got.BaseBackoff != time.Second || got.MaxBackoff != 5*time.Minute ||
		got.Lease != 5*time.Minute || got.Poll != 50*time.Millisecond || got.Clock == nil || got.Log == nil {
		t.Errorf("defaults %+v", got)
	}
	if o.MaxAttempts() != 8 {
		t.Errorf("MaxAttempts() = %d, want 8", o.MaxAttempts())
	}
}

// A worker whose lease ran out while it was still busy must not overwrite the result of the
// worker that took the job over: the lease holds, a stale finish is ignored.
func TestLeaseHoldsAndAStaleWorkerCannotFinish(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}
		advance := func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
		}
		o := New(db, Options{Lease: time.Minute, Clock: clock, Log: slog.New(slog.DiscardHandler)})
		var id int64
		err := db.InTx(ctx, func(q store.Querier) error {
			var err error
			id, _, err = o.EnqueueTx(ctx, q, "k", nil, "")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		a, ok, err := o.claim(ctx)
		if err != nil || !ok || a.ID != id || a.Attempts != 1 {
			t.Fatalf("first claim = %+v, %v, %v; want job %d attempt 1", a, ok, err, id)
		}
		advance(30 * time.Second)
		if j, ok, err := o.claim(ctx); err != nil || ok {
			t.Fatalf("claim during the lease = %+v, %v, %v; want nothing", j, ok, err)
		}
		advance(31 * time.Second)
		b, ok, err := o.claim(ctx)
		if err != nil || !ok || b.ID != id || b.Attempts != 2 {
			t.Fatalf("claim after the lease = %+v, %v, %v; want job %d attempt 2", b, ok, err, id)
		}

		o.finish(ctx, a, "dead", time.Time{}, "stale worker gave up")
		var st struct {
			Status    string `db:"status"`
			LastError string `db:"last_error"`
		}
		q := db.R.Rebind(`SELECT status, last_error FROM outbox_jobs WHERE id = ?`)
		if err := db.R.GetContext(ctx, &st, q, id); err != nil {
			t.Fatal(err)
		}
		if st.Status != "pending" || st.LastError != "" {
			t.Fatalf("after the stale worker's finish: %+v, want untouched", st)
		}
		o.finish(ctx, b, "done", time.Time{}, "")
		if err := db.R.GetContext(ctx, &st, q, id); err != nil {
			t.Fatal(err)
		}
		if st.Status != "done" {
			t.Fatalf("after the lease holder's finish: %+v, want done", st)
		}
		advance(time.Hour)
		if j, ok, err := o.claim(ctx); err != nil || ok {
			t.Fatalf("claim of a done job = %+v, %v, %v; want nothing", j, ok, err)
		}
	})
}

// Workers claiming at once, while jobs of one coalesce key keep coming, never hold two jobs
// of that key at the same time: one incident's Slack message is never sent twice at once.
func TestConcurrentClaimsNeverHoldTwoJobsOfOneKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := New(db, Options{Log: slog.New(slog.DiscardHandler)})
		o.RegisterKind("sync", nil, KindOptions{Coalesce: true})
		deadline := time.Now().Add(1500 * time.Millisecond)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // jobs of one key, as fast as one writer enqueues them
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				err := db.InTx(ctx, func(q store.Querier) error {
					_, err := o.EnqueueCoalescedTx(ctx, q, "sync", map[string]int{"n": i}, "incident:1")
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		var mu sync.Mutex
		held, claims, overlaps := int64(0), 0, 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					job, found, err := o.claim(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if !found {
						continue
					}
					mu.Lock()
					claims++
					if held != 0 {
						overlaps++
					}
					held = job.ID
					mu.Unlock()
					time.Sleep(time.Millisecond) // delivering
					mu.Lock()
					held = 0
					mu.Unlock()
					o.finish(ctx, job, "done", time.Time{}, "")
				}
			}()
		}
		wg.Wait()
		if claims == 0 {
			t.Fatal("no job was claimed: the test did not race")
		}
		if overlaps != 0 {
			t.Fatalf("%d of %d claims took a job of a key while another of it was in flight", overlaps, claims)
		}
		t.Logf("%d claims, none overlapping", claims)
	})
}
