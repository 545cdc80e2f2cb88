package outbox_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/store"
)

// quiet keeps the outbox's failure warnings out of test output.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// call is one handler invocation as the handler saw it.
type call struct {
	Job outbox.Job
	At  time.Time
}

// recorder is a handler that records every call and failure outcome; its answer to each
// call comes from answer (success when nil).
type recorder struct {
	answer func(job outbox.Job, n int) (retry bool, err error)

	mu       sync.Mutex
	calls    []call
	perJob   map[int64]int
	outcomes []outbox.Outcome
	onCall   func(job outbox.Job)
}

func (r *recorder) Handle(ctx context.Context, job outbox.Job) (bool, error) {
	r.mu.Lock()
	if r.perJob == nil {
		r.perJob = map[int64]int{}
	}
	r.perJob[job.ID]++
	n := r.perJob[job.ID]
	r.calls = append(r.calls, call{Job: job, At: time.Now()})
	onCall := r.onCall
	r.mu.Unlock()
	if onCall != nil {
		onCall(job)
	}
	if r.answer == nil {
		return false, nil
	}
	return r.answer(job, n)
}

func (r *recorder) Failed(ctx context.Context, job outbox.Job, o outbox.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, o)
}

func (r *recorder) callsOf(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.perJob[id]
}

func (r *recorder) allCalls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) allOutcomes() []outbox.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outbox.Outcome(nil), r.outcomes...)
}

// run starts ob.Run and returns a stop function that cancels it and waits for Run to
// return; the test fails if it does not within 10 s. Stop also runs at cleanup.
func run(t *testing.T, ob *outbox.Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ob.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// enqueue writes one job in its own committed transaction.
func enqueue(t *testing.T, db *store.DB, ob *outbox.Outbox, kind string, payload any, key string) (int64, bool) {
	t.Helper()
	var id int64
	var created bool
	err := db.InTx(context.Background(), func(q store.Querier) error {
		var err error
		id, created, err = ob.EnqueueTx(context.Background(), q, kind, payload, key)
		return err
	})
	if err != nil {
		t.Fatalf("enqueue %s: %v", kind, err)
	}
	return id, created
}

// jobRow is a job's stored state.
type jobRow struct {
	Status    string `db:"status"`
	Attempts  int    `db:"attempts"`
	LastError string `db:"last_error"`
	Payload   string `db:"payload"`
}

func readJob(t *testing.T, db *store.DB, id int64) jobRow {
	t.Helper()
	var r jobRow
	err := db.R.GetContext(context.Background(), &r,
		db.R.Rebind(`SELECT status, attempts, last_error, payload FROM outbox_jobs WHERE id = ?`), id)
	if err != nil {
		t.Fatalf("read job %d: %v", id, err)
	}
	return r
}

func count(t *testing.T, db *store.DB, where string, args ...any) int {
	t.Helper()
	var n int
	err := db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM outbox_jobs WHERE `+where), args...)
	if err != nil {
		t.Fatalf("count outbox_jobs where %s: %v", where, err)
	}
	return n
}

// waitStatus waits until job id has the given status and returns its row.
func waitStatus(t *testing.T, db *store.DB, id int64, status string) jobRow {
	t.Helper()
	var r jobRow
	testkit.WaitFor(t, 10*time.Second, "job to become "+status, func() bool {
		r = readJob(t, db, id)
		return r.Status == status
	})
	return r
}
