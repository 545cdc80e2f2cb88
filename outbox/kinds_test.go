package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// SIGTERM while a handler runs: Run stops claiming, but the handler's context is not ended by
// the shutdown, so a hook in flight finishes (within its lease) and its outcome is recorded.
func TestShutdownLetsTheHandlerInFlightFinish(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		started, release := make(chan struct{}), make(chan struct{})
		var sawCancel bool
		var mu sync.Mutex
		ob := outbox.New(db, outbox.Options{Poll: 5 * time.Millisecond, Log: quiet()})
		later := &recorder{}
		ob.Register("later", later)
		ob.Register("hook", handlerFunc(func(ctx context.Context, job outbox.Job) (bool, error) {
			close(started)
			select {
			case <-release:
			case <-ctx.Done():
				mu.Lock()
				sawCancel = true
				mu.Unlock()
				return true, fmt.Errorf("cut off: %w", ctx.Err())
			}
			return false, nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			ob.Run(ctx)
		}()
		id, _ := enqueue(t, db, ob, "hook", nil, "")
		<-started
		cancel()
		// Queued after the shutdown began: no worker may take it.
		afterID, _ := enqueue(t, db, ob, "later", nil, "")
		close(release)
		<-returned

		mu.Lock()
		defer mu.Unlock()
		if sawCancel {
			t.Fatal("the shutdown cancelled the handler in flight")
		}
		if row := readJob(t, db, id); row.Status != "done" || row.Attempts != 1 {
			t.Errorf("job in flight at shutdown: %+v, want done after 1 attempt", row)
		}
		if row := readJob(t, db, afterID); row.Status != "pending" || row.Attempts != 0 || len(later.allCalls()) != 0 {
			t.Errorf("job queued during shutdown: %+v, %d calls; want untouched", row, len(later.allCalls()))
		}
	})
}

// Each kind has its own attempt limit and backoff; Register keeps the defaults.
func TestKindsHaveTheirOwnAttemptLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ob := outbox.New(db, outbox.Options{MaxAttempts: 5, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
			Poll: 5 * time.Millisecond, Log: quiet()})
		failing := func(outbox.Job, int) (bool, error) { return true, errors.New("HTTP 503") }
		short, long := &recorder{answer: failing}, &recorder{answer: failing}
		ob.RegisterKind("short", short, outbox.KindOptions{MaxAttempts: 2, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
		ob.Register("long", long)
		run(t, ob)

		sid, _ := enqueue(t, db, ob, "short", nil, "")
		lid, _ := enqueue(t, db, ob, "long", nil, "")
		if row := waitStatus(t, db, lid, "dead"); row.Attempts != 5 {
			t.Errorf("kind with the defaults gave up after %d attempts, want 5", row.Attempts)
		}
		testkit.WaitFor(t, 10*time.Second, "the short kind's first failure", func() bool { return len(short.allOutcomes()) == 1 })
		out := short.allOutcomes()[0]
		if out.MaxAttempts != 2 || out.GaveUp || out.NextAt.Before(time.Now().Add(25*time.Minute)) {
			t.Errorf("short kind's first outcome %+v, want attempt 1 of 2 retried after its own backoff (30 to 60 min)", out)
		}
		if row := readJob(t, db, sid); row.Status != "pending" || row.Attempts != 1 {
			t.Errorf("short kind's job %+v, want pending after 1 attempt", row)
		}
	})
}

// Each kind has its own lease: a job is reserved for its kind's lease from its claim.
func TestKindsHaveTheirOwnLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC))
		ob := outbox.New(db, outbox.Options{Lease: time.Minute, Poll: 5 * time.Millisecond, Clock: clock.Now, Log: quiet()})
		leases := map[string]time.Time{}
		var mu sync.Mutex
		leaseOf := func(kind string) func(outbox.Job) {
			return func(job outbox.Job) {
				var until time.Time
				err := db.R.GetContext(context.Background(), &until, db.R.Rebind(`SELECT locked_until FROM outbox_jobs WHERE id = ?`), job.ID)
				if err != nil {
					t.Errorf("read lease: %v", err)
				}
				mu.Lock()
				leases[kind] = until.UTC()
				mu.Unlock()
			}
		}
		ob.RegisterKind("slow", &recorder{onCall: leaseOf("slow")}, outbox.KindOptions{Lease: 2 * time.Hour})
		ob.Register("fast", &recorder{onCall: leaseOf("fast")})
		run(t, ob)
		enqueue(t, db, ob, "slow", nil, "")
		enqueue(t, db, ob, "fast", nil, "")
		testkit.WaitFor(t, 10*time.Second, "both jobs to run", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(leases) == 2
		})
		mu.Lock()
		defer mu.Unlock()
		if want := clock.Now().Add(2 * time.Hour); !leases["slow"].Equal(want) {
			t.Errorf("slow kind leased until %s, want %s", leases["slow"], want)
		}
		if want := clock.Now().Add(time.Minute); !leases["fast"].Equal(want) {
			t.Errorf("default kind leased until %s, want %s", leases["fast"], want)
		}
	})
}

// Several updates of one thing queued before a worker gets to them: only the newest is
// delivered, once. Other keys, and other kinds, are not affected.
func TestCoalescingDeliversOnlyTheNewest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ob := outbox.New(db, outbox.Options{Poll: 5 * time.Millisecond, Log: quiet()})
		slack := &recorder{}
		ob.RegisterKind("slack.update", slack, outbox.KindOptions{Coalesce: true})
		plain := &recorder{}
		ob.Register("plain", plain)

		coalesce := func(key string, n int) int64 {
			var id int64
			err := db.InTx(ctx, func(q store.Querier) error {
				var err error
				id, err = ob.EnqueueCoalescedTx(ctx, q, "slack.update", map[string]int{"version": n}, key)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		for n := 1; n <= 4; n++ {
			coalesce("incident-7", n)
		}
		// Two in one transaction too.
		err := db.InTx(ctx, func(q store.Querier) error {
			for n := 5; n <= 6; n++ {
				if _, err := ob.EnqueueCoalescedTx(ctx, q, "slack.update", map[string]int{"version": n}, "incident-7"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		other := coalesce("incident-8", 1)
		enqueue(t, db, ob, "plain", 1, "")
		enqueue(t, db, ob, "plain", 2, "")
		if n := count(t, db, "coalesce_key = ?", "incident-7"); n != 1 {
			t.Errorf("%d jobs pending for incident-7, want the newest only", n)
		}

		run(t, ob)
		waitStatus(t, db, other, "done")
		testkit.WaitFor(t, 10*time.Second, "every job to be delivered", func() bool { return count(t, db, "status = 'pending'") == 0 })
		var got []string
		for _, c := range slack.allCalls() {
			got = append(got, c.Job.CoalesceKey+" "+string(c.Job.Payload))
		}
		if len(got) != 2 || !contains(got, `incident-7 {"version":6}`) || !contains(got, `incident-8 {"version":1}`) {
			t.Fatalf("coalescing kind delivered %q, want incident-7 version 6 and incident-8 version 1", got)
		}
		if n := len(plain.allCalls()); n != 2 {
			t.Errorf("plain kind delivered %d jobs, want both", n)
		}

		if _, err := ob.EnqueueCoalescedTx(ctx, db.W, "plain", nil, "k"); err == nil {
			t.Error("a coalesced enqueue of a kind not registered as coalescing was accepted")
		}
	})
}

// A newer update arrives while the older one is being delivered: it waits for it, so the
// receiver never sees them out of order, and is then delivered; an older one that comes back
// for a retry after a newer one was queued is dropped.
func TestCoalescedUpdatesOfOneKeyGoOneAtATime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ob := outbox.New(db, outbox.Options{Workers: 4, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
			Poll: 5 * time.Millisecond, Log: quiet()})
		started, release := make(chan struct{}, 10), make(chan struct{})
		var inFlight, maxInFlight int
		var mu sync.Mutex
		h := &recorder{answer: func(job outbox.Job, n int) (bool, error) {
			mu.Lock()
			inFlight++
			maxInFlight = max(maxInFlight, inFlight)
			mu.Unlock()
			started <- struct{}{}
			<-release
			mu.Lock()
			inFlight--
			mu.Unlock()
			if string(job.Payload) == `{"version":1}` {
				return true, errors.New("HTTP 503") // comes back for a retry, by then superseded
			}
			return false, nil
		}}
		ob.RegisterKind("status.push", h, outbox.KindOptions{Coalesce: true})
		enq := func(n int) int64 {
			var id int64
			err := db.InTx(ctx, func(q store.Querier) error {
				var err error
				id, err = ob.EnqueueCoalescedTx(ctx, q, "status.push", map[string]int{"version": n}, "page")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		run(t, ob)
		first := enq(1)
		<-started
		second := enq(2)
		third := enq(3) // supersedes the second, which no worker holds
		close(release)
		waitStatus(t, db, third, "done")
		testkit.WaitFor(t, 10*time.Second, "the first job to settle", func() bool {
			return count(t, db, "id = ? AND status = 'pending'", first) == 0
		})

		var got []string
		for _, c := range h.allCalls() {
			got = append(got, string(c.Job.Payload))
		}
		if len(got) != 2 || got[0] != `{"version":1}` || got[1] != `{"version":3}` {
			t.Fatalf("delivered %q, want version 1 (in flight) then version 3 only", got)
		}
		if maxInFlight != 1 {
			t.Errorf("%d jobs of one key were in flight at once, want 1", maxInFlight)
		}
		if n := count(t, db, "id = ?", second); n != 0 {
			t.Errorf("the superseded second job is still stored")
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
