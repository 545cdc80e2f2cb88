package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"firebreak/scheduler"
	"firebreak/store"
	"firebreak/store/storetest"
)

// waitLimit bounds how long a test waits for ticks that should come within a few seconds.
const waitLimit = 30 * time.Second

// createRuns makes the table the test jobs write to.
func createRuns(t *testing.T, db *store.DB) {
	t.Helper()
	if _, err := db.W.ExecContext(context.Background(), `CREATE TABLE job_runs (job TEXT NOT NULL, at TEXT NOT NULL, replica TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

func insertRun(ctx context.Context, q store.Querier, job string, at time.Time, replica string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO job_runs (job, at, replica) VALUES (?, ?, ?)`), job, at.Format(time.RFC3339), replica)
	return err
}

func countRuns(t *testing.T, db *store.DB, job string) int {
	t.Helper()
	var n int
	if err := db.W.GetContext(context.Background(), &n, db.W.Rebind(`SELECT COUNT(*) FROM job_runs WHERE job = ?`), job); err != nil {
		t.Fatal(err)
	}
	return n
}

// start runs s until the test ends or the returned stop is called; stop waits for Run.
func start(t *testing.T, s *scheduler.Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// runs reads firebreak_scheduled_job_runs_total{job, result} from reg.
func runs(t *testing.T, reg *prometheus.Registry, job, result string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "firebreak_scheduled_job_runs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["job"] == job && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestAPanickingJobRunsAgainAtItsNextTick(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		createRuns(t, db)
		reg := prometheus.NewRegistry()
		s := scheduler.New(db, scheduler.Options{Registry: reg})
		var calls atomic.Int32
		ranAgain := make(chan struct{}, 1)
		err := s.Add(scheduler.Job{Name: "flaky", Spec: "* * * * * *", Run: func(ctx context.Context, q store.Querier, at time.Time) error {
			if err := insertRun(ctx, q, "flaky", at, "a"); err != nil {
				return err
			}
			if calls.Add(1) == 1 {
				panic("first run breaks")
			}
			select {
			case ranAgain <- struct{}{}:
			default:
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		stop := start(t, s)
		select {
		case <-ranAgain:
		case <-time.After(waitLimit):
			t.Fatalf("the job did not run again after panicking (%d calls)", calls.Load())
		}
		stop()
		if got := runs(t, reg, "flaky", "panicked"); got != 1 {
			t.Errorf("%v runs counted as panicked, want 1", got)
		}
		// The panicking run's insert was rolled back with its transaction.
		if n, done := countRuns(t, db, "flaky"), int(calls.Load())-1; n != done {
			t.Errorf("%d rows written by %d runs that did not panic: the panicking run's write was kept", n, done)
		}
	})
}

func TestOneJobOnTwoSchedulersSharingPostgresRunsOncePerTick(t *testing.T) {
	driver, dsn := storetest.DSN(t, store.Postgres)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	a, b := open(), open() // two replicas, each with its own connections
	createRuns(t, a)
	const ticks = 3
	var mu sync.Mutex
	seen := map[time.Time]bool{}
	enough := make(chan struct{})
	var closeEnough sync.Once
	regs := map[string]*prometheus.Registry{}
	var stops []func()
	for name, db := range map[string]*store.DB{"a": a, "b": b} {
		regs[name] = prometheus.NewRegistry()
		s := scheduler.New(db, scheduler.Options{Registry: regs[name]})
		// Every two seconds: each run holds its lock for a second after its tick.
		err := s.Add(scheduler.Job{Name: "heartbeat", Spec: "*/2 * * * * *", Run: func(ctx context.Context, q store.Querier, at time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			seen[at] = true
			if len(seen) >= ticks {
				closeEnough.Do(func() { close(enough) })
			}
			return insertRun(ctx, q, "heartbeat", at, name)
		}})
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, start(t, s))
	}
	select {
	case <-enough:
	case <-time.After(waitLimit):
		t.Fatalf("fewer than %d ticks ran within %s", ticks, waitLimit)
	}
	for _, stop := range stops {
		stop()
	}

	type tick struct {
		At       string `db:"at"`
		Runs     int    `db:"runs"`
		Replicas string `db:"replicas"`
	}
	var got []tick
	if err := a.R.SelectContext(ctx, &got, `SELECT at, COUNT(*) AS runs, string_agg(replica, ',') AS replicas FROM job_runs GROUP BY at ORDER BY at`); err != nil {
		t.Fatal(err)
	}
	if len(got) < ticks {
		t.Fatalf("%d ticks recorded, want at least %d", len(got), ticks)
	}
	for _, tk := range got {
		if tk.Runs != 1 {
			t.Errorf("tick %s ran %d times (replicas %s), want once", tk.At, tk.Runs, tk.Replicas)
		}
	}
	// Both replicas fired every tick; the one that lost the race saw the lock taken.
	if locked := runs(t, regs["a"], "heartbeat", "locked") + runs(t, regs["b"], "heartbeat", "locked"); locked < ticks-1 {
		t.Errorf("%v runs found the lock taken over %d ticks: the replicas did not both try", locked, len(got))
	}
}

func TestRunStopsOnCancelAndWaitsForTheRunningJob(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	s := scheduler.New(db, scheduler.Options{})
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var released, finished atomic.Bool
	err := s.Add(scheduler.Job{Name: "slow", Spec: "* * * * * *", Run: func(ctx context.Context, q store.Querier, at time.Time) error {
		select {
		case started <- struct{}{}:
		default:
			return nil
		}
		<-release
		finished.Store(released.Load())
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() { s.Run(ctx); close(returned) }()
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatal("the job never started")
	}
	cancel()
	// Give a Run that does not wait the chance to return before the job is released.
	select {
	case <-returned:
		t.Fatal("Run returned while its job was still running")
	case <-time.After(200 * time.Millisecond):
	}
	released.Store(true)
	close(release)
	select {
	case <-returned:
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its job finished")
	}
	if !finished.Load() {
		t.Error("the job did not finish before Run returned")
	}
}

func TestRunNowTakesTheJobsLockAndRollsBackOnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createRuns(t, db)
		reg := prometheus.NewRegistry()
		s := scheduler.New(db, scheduler.Options{Registry: reg})
		fail := errors.New("slack is down")
		var failNext atomic.Bool
		err := s.Add(scheduler.Job{Name: "remind", Spec: "@every 1h", Run: func(ctx context.Context, q store.Querier, at time.Time) error {
			if err := insertRun(ctx, q, "remind", at, "a"); err != nil {
				return err
			}
			if failNext.Load() {
				return fail
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if ran, err := s.RunNow(ctx, "remind"); err != nil || !ran {
			t.Fatalf("RunNow: ran %v, %v", ran, err)
		}
		failNext.Store(true)
		if ran, err := s.RunNow(ctx, "remind"); !errors.Is(err, fail) || !ran {
			t.Fatalf("RunNow of a failing job: ran %v, %v; want the job's error", ran, err)
		}
		if n := countRuns(t, db, "remind"); n != 1 {
			t.Errorf("%d rows, want 1: the failed run's write should have rolled back", n)
		}
		if _, err := s.RunNow(ctx, "nope"); err == nil {
			t.Error("RunNow of an unknown job succeeded")
		}
		if runs(t, reg, "remind", "done") != 1 || runs(t, reg, "remind", "failed") != 1 {
			t.Errorf("runs counted: done %v, failed %v; want 1 and 1", runs(t, reg, "remind", "done"), runs(t, reg, "remind", "failed"))
		}

		if db.Dialect != store.Postgres {
			return
		}
		// Another replica in the middle of this job: RunNow skips it.
		failNext.Store(false)
		other, err := db.W.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Rollback()
		if got, err := store.TryLockTx(ctx, other, "remind"); err != nil || !got {
			t.Fatalf("lock in the other transaction: %v, %v", got, err)
		}
		if ran, err := s.RunNow(ctx, "remind"); err != nil || ran {
			t.Fatalf("RunNow while another transaction holds the lock: ran %v, %v; want a skip", ran, err)
		}
		if runs(t, reg, "remind", "locked") != 1 {
			t.Errorf("the skip was not counted as locked")
		}
	})
}

func TestAddChecksJobs(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	s := scheduler.New(db, scheduler.Options{})
	run := func(context.Context, store.Querier, time.Time) error { return nil }
	for _, spec := range []string{"*/10 * * * *", "0 */10 * * * *", "@every 10m", "@hourly"} {
		if err := s.Add(scheduler.Job{Name: spec, Spec: spec, Run: run}); err != nil {
			t.Errorf("Add with spec %q: %v", spec, err)
		}
	}
	for _, tc := range []struct {
		job  scheduler.Job
		want string
	}{
		{scheduler.Job{Name: "x", Spec: "every ten minutes", Run: run}, `job "x": schedule "every ten minutes"`},
		{scheduler.Job{Name: "y", Spec: "* * *", Run: run}, `job "y": schedule`},
		{scheduler.Job{Name: "@hourly", Spec: "@daily", Run: run}, `"@hourly" is already added`},
		{scheduler.Job{Spec: "@daily", Run: run}, "needs a name"},
		{scheduler.Job{Name: "z", Spec: "@daily"}, "needs one of Run and RunLocal"},
		{scheduler.Job{Name: "w", Spec: "@daily", Run: run, RunLocal: func(context.Context, time.Time) error { return nil }}, "needs one of Run and RunLocal"},
	} {
		err := s.Add(tc.job)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%+v) = %v, want an error containing %q", tc.job.Name, err, tc.want)
		}
	}
	if got := strings.Join(s.Jobs(), ","); got != "*/10 * * * *,0 */10 * * * *,@every 10m,@hourly" {
		t.Errorf("Jobs() = %s", got)
	}
}

// A RunLocal job is each replica's own: both schedulers run it, outside any transaction, so
// on SQLite it may write through the database itself without waiting for the scheduler's.
func TestALocalJobRunsOnEveryReplica(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		createRuns(t, db)
		var stops []func()
		ran := make(chan string, 100)
		for _, replica := range []string{"a", "b"} {
			s := scheduler.New(db, scheduler.Options{})
			err := s.Add(scheduler.Job{Name: "flush", Spec: "* * * * * *", RunLocal: func(ctx context.Context, at time.Time) error {
				if err := db.InTx(ctx, func(q store.Querier) error { return insertRun(ctx, q, "flush", at, replica) }); err != nil {
					return err
				}
				ran <- replica
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			stops = append(stops, start(t, s))
		}
		seen := map[string]bool{}
		timeout := time.After(waitLimit)
		for len(seen) < 2 {
			select {
			case r := <-ran:
				seen[r] = true
			case <-timeout:
				t.Fatalf("only %v ran the local job", seen)
			}
		}
		for _, stop := range stops {
			stop()
		}
	})
}
