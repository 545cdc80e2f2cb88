package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// A job exists if and only if the transaction that wrote it committed: the rolled-back one
// never runs, the committed one runs once and ends done.
func TestJobRunsOnlyIfItsTransactionCommits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := &recorder{}
		ob := outbox.New(db, outbox.Options{Poll: 10 * time.Millisecond, Log: quiet()})
		ob.Register("note", h)
		run(t, ob)

		boom := errors.New("the domain change failed")
		err := db.InTx(ctx, func(q store.Querier) error {
			if _, created, err := ob.EnqueueTx(ctx, q, "note", map[string]string{"which": "rolled back"}, ""); err != nil || !created {
				t.Fatalf("enqueue in the doomed transaction: created=%v err=%v", created, err)
			}
			// Give the workers, woken by the enqueue, time to look while it is uncommitted.
			time.Sleep(50 * time.Millisecond)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want the rollback cause", err)
		}

		id, created := enqueue(t, db, ob, "note", map[string]string{"which": "committed"}, "")
		if !created || id == 0 {
			t.Fatalf("committed enqueue: id=%d created=%v", id, created)
		}
		row := waitStatus(t, db, id, "done")
		// A few more polls: nothing else may turn up.
		time.Sleep(150 * time.Millisecond)

		calls := h.allCalls()
		if len(calls) != 1 {
			t.Fatalf("handler called %d times, want once: %+v", len(calls), calls)
		}
		if got := string(calls[0].Job.Payload); got != `{"which":"committed"}` {
			t.Errorf("handler got payload %s, want the committed job's", got)
		}
		if calls[0].Job.ID != id || calls[0].Job.Kind != "note" || calls[0].Job.Attempts != 1 {
			t.Errorf("handler got job %+v, want id %d, kind note, attempt 1", calls[0].Job, id)
		}
		if row.Attempts != 1 || row.LastError != "" {
			t.Errorf("stored job %+v, want 1 attempt and no error", row)
		}
		if n := count(t, db, "1 = 1"); n != 1 {
			t.Errorf("outbox_jobs holds %d rows, want only the committed job", n)
		}
		if len(h.allOutcomes()) != 0 {
			t.Errorf("a successful job reported failures: %+v", h.allOutcomes())
		}
	})
}

// The same dedup key enqueued twice makes one job, before and after it ran: at most one
// rollback per incident and deploy, whatever retries or clicks happen.
func TestDedupKeyMakesOneJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := &recorder{}
		ob := outbox.New(db, outbox.Options{Poll: 10 * time.Millisecond, Log: quiet()})
		ob.Register("rollback", h)

		first, created := enqueue(t, db, ob, "rollback", map[string]int{"click": 1}, "rollback-7-3")
		if !created || first == 0 {
			t.Fatalf("first enqueue: id=%d created=%v", first, created)
		}
		again, created := enqueue(t, db, ob, "rollback", map[string]int{"click": 2}, "rollback-7-3")
		if created || again != 0 {
			t.Fatalf("second enqueue with the same key: id=%d created=%v, want 0 and false", again, created)
		}
		// Both in one transaction too.
		err := db.InTx(ctx, func(q store.Querier) error {
			if _, created, err := ob.EnqueueTx(ctx, q, "rollback", nil, "rollback-7-4"); err != nil || !created {
				return fmt.Errorf("first in tx: created=%v err=%v", created, err)
			}
			if _, created, err := ob.EnqueueTx(ctx, q, "rollback", nil, "rollback-7-4"); err != nil || created {
				return fmt.Errorf("second in tx: created=%v err=%v", created, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "dedup_key = ?", "rollback-7-3"); n != 1 {
			t.Fatalf("%d jobs with key rollback-7-3, want 1", n)
		}

		run(t, ob)
		row := waitStatus(t, db, first, "done")
		if row.Payload != `{"click":1}` {
			t.Errorf("stored payload %s, want the first enqueue's", row.Payload)
		}
		// After the job ran the key still holds.
		if id, created := enqueue(t, db, ob, "rollback", nil, "rollback-7-3"); created || id != 0 {
			t.Errorf("enqueue after the job ran: id=%d created=%v, want nothing", id, created)
		}
		// An empty key is no key: two jobs.
		a, ca := enqueue(t, db, ob, "rollback", nil, "")
		b, cb := enqueue(t, db, ob, "rollback", nil, "")
		if !ca || !cb || a == b {
			t.Errorf("two keyless enqueues: (%d,%v) (%d,%v), want two new jobs", a, ca, b, cb)
		}
		waitStatus(t, db, a, "done")
		waitStatus(t, db, b, "done")
		time.Sleep(50 * time.Millisecond)
		if got := len(h.allCalls()); got != 4 {
			t.Errorf("handler called %d times, want 4 (two keyed jobs, two keyless)", got)
		}
		if got := h.callsOf(first); got != 1 {
			t.Errorf("keyed job handled %d times, want 1", got)
		}
	})
}

// With default options a committed job is delivered promptly: the commit wakes a worker, or
// the 50 ms poll finds it.
func TestDeliveryIsPrompt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		called := make(chan time.Time, 1)
		h := &recorder{onCall: func(outbox.Job) { called <- time.Now() }}
		ob := outbox.New(db, outbox.Options{Log: quiet()})
		ob.Register("slack.post", h)
		run(t, ob)
		time.Sleep(100 * time.Millisecond) // workers idle, waiting on their poll

		start := time.Now()
		id, _ := enqueue(t, db, ob, "slack.post", map[string]string{"text": "SEV1 opened"}, "")
		select {
		case at := <-called:
			t.Logf("enqueue to handler: %s", at.Sub(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("handler not called within 5s of commit; job %+v", readJob(t, db, id))
		}
		waitStatus(t, db, id, "done")
	})
}

// A handler that asks for a retry twice and then succeeds runs three times; the observer
// sees each failure with its attempt number and when the job runs again.
func TestRetryWithBackoffThenSuccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		flaky := errors.New("HTTP 503")
		h := &recorder{answer: func(job outbox.Job, n int) (bool, error) {
			if n <= 2 {
				return true, flaky
			}
			return false, nil
		}}
		ob := outbox.New(db, outbox.Options{BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
			Poll: 5 * time.Millisecond, Log: quiet()})
		ob.Register("status.push", h)
		run(t, ob)

		id, _ := enqueue(t, db, ob, "status.push", map[string]string{"page": "public"}, "")
		row := waitStatus(t, db, id, "done")
		time.Sleep(50 * time.Millisecond)

		calls := h.allCalls()
		if len(calls) != 3 {
			t.Fatalf("handler called %d times, want 3", len(calls))
		}
		for i, c := range calls {
			if c.Job.Attempts != i+1 {
				t.Errorf("call %d saw Attempts %d, want %d", i+1, c.Job.Attempts, i+1)
			}
		}
		if row.Attempts != 3 || row.LastError != "" {
			t.Errorf("stored job %+v, want 3 attempts and the error cleared", row)
		}

		outs := h.allOutcomes()
		if len(outs) != 2 {
			t.Fatalf("observer saw %d failures, want 2: %+v", len(outs), outs)
		}
		for i, o := range outs {
			if o.Attempt != i+1 || o.MaxAttempts != ob.MaxAttempts() || o.GaveUp || !errors.Is(o.Err, flaky) {
				t.Errorf("outcome %d = %+v, want attempt %d of %d, not given up, the handler's error", i+1, o, i+1, ob.MaxAttempts())
			}
			if o.NextAt.IsZero() {
				t.Errorf("outcome %d has no NextAt, but the job runs again", i+1)
				continue
			}
			// The next call happens no earlier than NextAt (clock granularity aside).
			if next := calls[i+1].At; next.Before(o.NextAt.Add(-time.Millisecond)) {
				t.Errorf("attempt %d ran at %s, before its NextAt %s", i+2, next.Format(time.StampMicro), o.NextAt.Format(time.StampMicro))
			}
		}
	})
}

// A job gives up after MaxAttempts retries, at once on a refusal, on a panic, and when no
// handler knows its kind; the workers carry on.
func TestJobsGiveUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := outbox.Options{MaxAttempts: 3, BaseBackoff: 2 * time.Millisecond, MaxBackoff: 5 * time.Millisecond,
			Poll: 5 * time.Millisecond, Log: quiet()}
		ob := outbox.New(db, opts)
		retrying := &recorder{answer: func(outbox.Job, int) (bool, error) { return true, errors.New("HTTP 500") }}
		refused := &recorder{answer: func(outbox.Job, int) (bool, error) { return false, errors.New("channel_not_found") }}
		panicking := &recorder{answer: func(outbox.Job, int) (bool, error) { panic("nil map in handler") }}
		fine := &recorder{}
		ob.Register("retrying", retrying)
		ob.Register("refused", refused)
		ob.Register("panicking", panicking)
		ob.Register("fine", fine)
		run(t, ob)

		rid, _ := enqueue(t, db, ob, "retrying", nil, "")
		fid, _ := enqueue(t, db, ob, "refused", nil, "")
		pid, _ := enqueue(t, db, ob, "panicking", nil, "")
		uid, _ := enqueue(t, db, ob, "no.such.kind", nil, "")

		t.Run("retryable every time", func(t *testing.T) {
			row := waitStatus(t, db, rid, "dead")
			time.Sleep(30 * time.Millisecond)
			if n := retrying.callsOf(rid); n != 3 || row.Attempts != 3 {
				t.Errorf("called %d times, %d attempts stored; want 3 and 3", n, row.Attempts)
			}
			if !strings.Contains(row.LastError, "HTTP 500") {
				t.Errorf("last_error %q, want the handler's error", row.LastError)
			}
			outs := retrying.allOutcomes()
			if len(outs) != 3 {
				t.Fatalf("observer saw %d outcomes, want 3: %+v", len(outs), outs)
			}
			for i, o := range outs[:2] {
				if o.GaveUp || o.NextAt.IsZero() || o.Attempt != i+1 {
					t.Errorf("outcome %d = %+v, want attempt %d, a NextAt, not given up", i+1, o, i+1)
				}
			}
			if last := outs[2]; !last.GaveUp || !last.NextAt.IsZero() || last.Attempt != 3 || last.MaxAttempts != 3 {
				t.Errorf("last outcome = %+v, want attempt 3 of 3, given up, no NextAt", last)
			}
		})
		t.Run("not retryable", func(t *testing.T) {
			row := waitStatus(t, db, fid, "dead")
			if n := refused.callsOf(fid); n != 1 || row.Attempts != 1 {
				t.Errorf("called %d times, %d attempts stored; want 1 and 1", n, row.Attempts)
			}
			outs := refused.allOutcomes()
			if len(outs) != 1 || !outs[0].GaveUp || outs[0].Attempt != 1 || !outs[0].NextAt.IsZero() {
				t.Errorf("outcomes %+v, want one given-up attempt 1", outs)
			}
		})
		t.Run("panicking handler", func(t *testing.T) {
			row := waitStatus(t, db, pid, "dead")
			if n := panicking.callsOf(pid); n != 1 {
				t.Errorf("called %d times, want 1 (a panic is not retried)", n)
			}
			if !strings.Contains(row.LastError, "nil map in handler") {
				t.Errorf("last_error %q, want the panic value", row.LastError)
			}
			outs := panicking.allOutcomes()
			if len(outs) != 1 || !outs[0].GaveUp {
				t.Errorf("outcomes %+v, want one given up", outs)
			}
		})
		t.Run("unknown kind", func(t *testing.T) {
			row := waitStatus(t, db, uid, "dead")
			if row.Attempts != 1 || !strings.Contains(row.LastError, "no.such.kind") {
				t.Errorf("stored %+v, want dead after 1 attempt naming the kind", row)
			}
		})
		t.Run("workers survive", func(t *testing.T) {
			id, _ := enqueue(t, db, ob, "fine", nil, "")
			waitStatus(t, db, id, "done")
		})
	})
}

// A process restarts between retries: the first instance made attempt 1 and scheduled the
// next an hour out; a second instance, at a time past that, completes it exactly once more.
func TestRetryResumesAfterRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := &recorder{answer: func(job outbox.Job, n int) (bool, error) {
			if n == 1 {
				return true, errors.New("connection refused")
			}
			return false, nil
		}}
		first := outbox.New(db, outbox.Options{BaseBackoff: time.Hour, MaxBackoff: time.Hour, Poll: 5 * time.Millisecond, Log: quiet()})
		first.Register("rollback", h)
		stop := run(t, first)
		id, _ := enqueue(t, db, first, "rollback", map[string]int{"deploy": 3}, "rollback-1-3")
		testkit.WaitFor(t, 10*time.Second, "the first failure to be observed", func() bool { return len(h.allOutcomes()) == 1 })
		time.Sleep(50 * time.Millisecond) // several polls: the retry is not due yet
		stop()

		if n := h.callsOf(id); n != 1 {
			t.Fatalf("before the restart the handler ran %d times, want 1 (the retry is an hour out)", n)
		}
		row := readJob(t, db, id)
		if row.Status != "pending" || row.Attempts != 1 {
			t.Fatalf("after the first instance stopped: %+v, want pending with 1 attempt", row)
		}
		if next := h.allOutcomes()[0].NextAt; next.Before(time.Now().Add(29 * time.Minute)) {
			t.Fatalf("retry scheduled at %s, want at least half the one-hour backoff out", next)
		}
		if n := count(t, db, "id = ? AND run_at > ?", id, time.Now().UTC().Add(29*time.Minute)); n != 1 {
			t.Fatalf("run_at not stored an hour out")
		}

		later := func() time.Time { return time.Now().Add(2 * time.Hour) }
		second := outbox.New(db, outbox.Options{BaseBackoff: time.Millisecond, Poll: 5 * time.Millisecond, Clock: later, Log: quiet()})
		second.Register("rollback", h)
		run(t, second)
		row = waitStatus(t, db, id, "done")
		time.Sleep(50 * time.Millisecond)
		if n := h.callsOf(id); n != 2 {
			t.Errorf("handler ran %d times in all, want 2", n)
		}
		if row.Attempts != 2 {
			t.Errorf("attempts column %d, want 2 (one per instance)", row.Attempts)
		}
		if c := h.allCalls(); len(c) == 2 && c[1].Job.Attempts != 2 {
			t.Errorf("second instance's call saw Attempts %d, want 2", c[1].Job.Attempts)
		}
	})
}

// A worker died holding a job: when its lease has ended another picks the job up; a job
// whose lease is still live is left alone.
func TestExpiredLeaseIsPickedUpAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := &recorder{}
		ob := outbox.New(db, outbox.Options{Poll: 5 * time.Millisecond, Log: quiet()})
		ob.Register("slack.post", h)
		dead, _ := enqueue(t, db, ob, "slack.post", map[string]string{"worker": "died"}, "")
		busy, _ := enqueue(t, db, ob, "slack.post", map[string]string{"worker": "busy"}, "")
		now := time.Now().UTC()
		lease := func(id int64, until time.Time) {
			_, err := db.W.ExecContext(ctx, db.W.Rebind(`UPDATE outbox_jobs SET attempts = 1, locked_until = ? WHERE id = ?`), until, id)
			if err != nil {
				t.Fatal(err)
			}
		}
		lease(dead, now.Add(-time.Minute))
		lease(busy, now.Add(time.Hour))

		run(t, ob)
		row := waitStatus(t, db, dead, "done")
		time.Sleep(100 * time.Millisecond)
		if n := h.callsOf(dead); n != 1 || row.Attempts != 2 {
			t.Errorf("expired job: handled %d times, %d attempts stored; want 1 and 2", n, row.Attempts)
		}
		if n := h.callsOf(busy); n != 0 {
			t.Errorf("job under a live lease handled %d times, want 0", n)
		}
		if row := readJob(t, db, busy); row.Status != "pending" || row.Attempts != 1 {
			t.Errorf("job under a live lease: %+v, want untouched", row)
		}
	})
}

// Several workers, and on PostgreSQL two replicas with their own connection pools, never
// run one job twice.
func TestConcurrentWorkersRunEachJobOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dbs := []*store.DB{db}
		if db.Dialect == store.Postgres {
			driver, dsn := storetest.DSN(t, store.Postgres)
			dbs = nil
			for i := 0; i < 2; i++ {
				d, err := store.Open(ctx, driver, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				dbs = append(dbs, d)
			}
			if err := dbs[0].Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}

		var mu sync.Mutex
		handled := map[int64]int{}
		byReplica := make([]int, len(dbs))
		var reruns atomic.Int32
		var obs []*outbox.Outbox
		for i, d := range dbs {
			ob := outbox.New(d, outbox.Options{Workers: 4, Poll: 5 * time.Millisecond, Log: quiet()})
			ob.Register("job", handlerFunc(func(ctx context.Context, job outbox.Job) (bool, error) {
				mu.Lock()
				handled[job.ID]++
				byReplica[i]++
				mu.Unlock()
				if job.Attempts != 1 {
					reruns.Add(1)
				}
				time.Sleep(time.Millisecond) // widen the window in which a second claim could land
				return false, nil
			}))
			obs = append(obs, ob)
		}

		const jobs = 200
		ids := make([]int64, 0, jobs)
		err := dbs[0].InTx(ctx, func(q store.Querier) error {
			for i := 0; i < jobs; i++ {
				id, _, err := obs[0].EnqueueTx(ctx, q, "job", map[string]int{"n": i}, "")
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		for _, ob := range obs {
			run(t, ob)
		}
		testkit.WaitFor(t, 15*time.Second, "all jobs done", func() bool { return count(t, dbs[0], "status = 'done'") == jobs })
		time.Sleep(50 * time.Millisecond)

		mu.Lock()
		defer mu.Unlock()
		if len(handled) != jobs {
			t.Errorf("%d distinct jobs handled, want %d", len(handled), jobs)
		}
		for _, id := range ids {
			if handled[id] != 1 {
				t.Errorf("job %d handled %d times, want exactly once", id, handled[id])
			}
		}
		if n := reruns.Load(); n != 0 {
			t.Errorf("%d calls saw a job on a second attempt", n)
		}
		if n := count(t, dbs[0], "attempts <> 1"); n != 0 {
			t.Errorf("%d jobs stored with more than one attempt", n)
		}
		t.Logf("jobs per replica: %v", byReplica)
	})
}

// Run ends when its context does, but only after the job in hand has finished and its
// outcome is recorded.
func TestRunWaitsForTheJobInHand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		started := make(chan struct{})
		var finished atomic.Bool
		ob := outbox.New(db, outbox.Options{Poll: 5 * time.Millisecond, Log: quiet()})
		ob.Register("slow", handlerFunc(func(ctx context.Context, job outbox.Job) (bool, error) {
			close(started)
			time.Sleep(200 * time.Millisecond)
			finished.Store(true)
			return false, nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			ob.Run(ctx)
		}()
		id, _ := enqueue(t, db, ob, "slow", nil, "")
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("slow handler never started")
		}
		cancel()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of cancel")
		}
		if !finished.Load() {
			t.Fatal("Run returned while the handler was still running")
		}
		if row := readJob(t, db, id); row.Status != "done" || row.Attempts != 1 {
			t.Errorf("job after shutdown: %+v, want done after 1 attempt", row)
		}
	})
}

// An idle outbox stops on cancel at once, not at its next poll.
func TestIdleRunStopsOnCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ob := outbox.New(db, outbox.Options{Poll: time.Hour, Log: quiet()})
		ctx, cancel := context.WithCancel(context.Background())
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			ob.Run(ctx)
		}()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case <-returned:
		case <-time.After(2 * time.Second):
			t.Fatal("idle Run did not return within 2s of cancel")
		}
	})
}

type handlerFunc func(ctx context.Context, job outbox.Job) (bool, error)

func (f handlerFunc) Handle(ctx context.Context, job outbox.Job) (bool, error) { return f(ctx, job) }
