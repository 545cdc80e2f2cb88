// Package outbox delivers durable jobs: Slack messages, rollback hooks, status pushes. A job
// is written in the same transaction as the change that caused it, so it exists if and only
// if the change committed; workers then deliver it, retry with exponential backoff and
// jitter, and give up after a limit. On PostgreSQL several replicas claim jobs with FOR
// UPDATE SKIP LOCKED and a lease, so one job never runs in two places at once.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"firebreak/store"
)

// Job is one unit of delivery work.
type Job struct {
	ID      int64  `db:"id"`
	Kind    string `db:"kind"`
	Payload []byte `db:"payload"`
	// Attempts counts tries so far, this one included while it runs.
	Attempts int `db:"attempts"`
}

// Handler delivers jobs of one kind. It says whether a failure is worth retrying, as
// Alertmanager's notifiers do (a 429 or 5xx is; a refused request is not).
type Handler interface {
	Handle(ctx context.Context, job Job) (retry bool, err error)
}

// Outcome is what became of one failed attempt.
type Outcome struct {
	Attempt     int
	MaxAttempts int
	Err         error
	// NextAt is when the job runs again; zero when it will not.
	NextAt time.Time
	// GaveUp is true when this was the last attempt.
	GaveUp bool
}

// FailureObserver is implemented by handlers that record failed attempts, for example on an
// incident's timeline.
type FailureObserver interface {
	Failed(ctx context.Context, job Job, o Outcome)
}

// Options tune delivery.
type Options struct {
	Workers     int
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Lease is how long a claimed job is reserved; a worker that dies mid-job frees it when
	// the lease ends. It must outlast the slowest handler.
	Lease time.Duration
	// Poll is how often idle workers look for due jobs.
	Poll  time.Duration
	Clock func() time.Time
	Log   *slog.Logger
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Outbox stores and delivers jobs.
type Outbox struct {
	db       *store.DB
	opts     Options
	mu       sync.RWMutex
	handlers map[string]Handler
	wake     chan struct{}
}

// New returns an Outbox; register handlers, then Run.
func New(db *store.DB, opts Options) *Outbox {
	opts.defaults()
	return &Outbox{db: db, opts: opts, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Register sets the handler of a job kind.
func (o *Outbox) Register(kind string, h Handler) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handlers[kind] = h
}

// MaxAttempts is the configured attempt limit.
func (o *Outbox) MaxAttempts() int { return o.opts.MaxAttempts }

// EnqueueTx writes a job in the caller's transaction. A non-empty dedupKey makes the job
// unique: enqueueing the same key again does nothing and reports created=false.
func (o *Outbox) EnqueueTx(ctx context.Context, q store.Querier, kind string, payload any, dedupKey string) (id int64, created bool, err error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return 0, false, fmt.Errorf("encode %s job: %w", kind, err)
	}
	now := o.opts.Clock().UTC()
	var key any
	if dedupKey != "" {
		key = dedupKey
	}
	err = q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO outbox_jobs (kind, payload, dedup_key, status, attempts, run_at, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`), kind, string(raw), key, now, now, now).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("enqueue %s job: %w", kind, err)
	}
	if id == 0 {
		return 0, false, nil
	}
	o.Wake()
	return id, true, nil
}

// Wake tells an idle worker to look for jobs now rather than at its next poll.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run delivers jobs until ctx ends, then waits for the jobs in hand to finish.
func (o *Outbox) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < o.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.work(ctx)
		}()
	}
	wg.Wait()
}

func (o *Outbox) work(ctx context.Context) {
	woken := 0
	for ctx.Err() == nil {
		job, ok, err := o.claim(ctx)
		if err != nil && ctx.Err() == nil {
			o.opts.Log.Warn("outbox claim failed", "err", err)
		}
		if ok {
			o.deliver(ctx, job)
			continue
		}
		wait := o.opts.Poll
		if woken > 0 {
			// A wake comes from EnqueueTx, inside a transaction that may not have committed
			// yet: look again soon, a few times, instead of waiting out the whole poll.
			wait = min(wait, time.Duration(1<<(wakeChecks-woken))*time.Millisecond)
			woken--
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-o.wake:
			woken = wakeChecks
		case <-t.C:
		}
		t.Stop()
	}
}

// wakeChecks is how many quick re-checks follow a wake (after 1, 2, 4, 8, 16 ms).
const wakeChecks = 5

// claim reserves the next due job, if any.
func (o *Outbox) claim(ctx context.Context) (Job, bool, error) {
	now := o.opts.Clock().UTC()
	// A cheap read first, on the read pool: on SQLite an idle poll must not queue behind the
	// single writer connection.
	var due int
	err := o.db.R.GetContext(ctx, &due, o.db.R.Rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM outbox_jobs
		WHERE status = 'pending' AND run_at <= ? AND (locked_until IS NULL OR locked_until <= ?) LIMIT 1) d`), now, now)
	if err != nil || due == 0 {
		return Job{}, false, err
	}
	var job Job
	found := false
	err = o.db.InTx(ctx, func(q store.Querier) error {
		err := q.GetContext(ctx, &job, q.Rebind(`SELECT id, kind, payload, attempts FROM outbox_jobs
			WHERE status = 'pending' AND run_at <= ? AND (locked_until IS NULL OR locked_until <= ?)
			ORDER BY run_at, id LIMIT 1`+o.db.SkipLocked()), now, now)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim outbox job: %w", err)
		}
		job.Attempts++
		_, err = q.ExecContext(ctx, q.Rebind(`UPDATE outbox_jobs SET locked_until = ?, attempts = ?, updated_at = ? WHERE id = ?`),
			now.Add(o.opts.Lease), job.Attempts, now, job.ID)
		if err != nil {
			return fmt.Errorf("lease outbox job %d: %w", job.ID, err)
		}
		found = true
		return nil
	})
	return job, found, err
}

// deliver runs the job's handler and records the outcome.
func (o *Outbox) deliver(ctx context.Context, job Job) {
	o.mu.RLock()
	h := o.handlers[job.Kind]
	o.mu.RUnlock()
	var retry bool
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for job kind %q", job.Kind)
	} else {
		retry, err = safeHandle(ctx, h, job)
	}
	// Recording the outcome must happen even while shutting down.
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		o.finish(rctx, job, "done", time.Time{}, "")
		return
	}
	out := Outcome{Attempt: job.Attempts, MaxAttempts: o.opts.MaxAttempts, Err: err}
	if retry && job.Attempts < o.opts.MaxAttempts {
		out.NextAt = o.opts.Clock().UTC().Add(o.backoff(job.Attempts))
		o.finish(rctx, job, "pending", out.NextAt, err.Error())
	} else {
		out.GaveUp = true
		o.finish(rctx, job, "dead", time.Time{}, err.Error())
	}
	o.opts.Log.Warn("outbox job failed", "id", job.ID, "kind", job.Kind, "attempt", job.Attempts, "gave_up", out.GaveUp, "err", err)
	if fo, ok := h.(FailureObserver); ok {
		fo.Failed(rctx, job, out)
	}
}

func safeHandle(ctx context.Context, h Handler, job Job) (retry bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			retry, err = false, fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h.Handle(ctx, job)
}

// finish records a job's new state, if the lease is still this worker's.
func (o *Outbox) finish(ctx context.Context, job Job, status string, runAt time.Time, lastErr string) {
	now := o.opts.Clock().UTC()
	if runAt.IsZero() {
		runAt = now
	}
	_, err := o.db.W.ExecContext(ctx, o.db.W.Rebind(`UPDATE outbox_jobs SET status = ?, run_at = ?, locked_until = NULL,
		last_error = ?, updated_at = ? WHERE id = ? AND attempts = ?`), status, runAt, lastErr, now, job.ID, job.Attempts)
	if err != nil {
		o.opts.Log.Error("outbox: recording a job's outcome failed; it runs again when its lease ends", "id", job.ID, "err", err)
	}
	if status == "pending" {
		o.Wake()
	}
}

// backoff is exponential from BaseBackoff, capped at MaxBackoff, with jitter between half
// and all of it so retries of many jobs do not arrive together.
func (o *Outbox) backoff(attempt int) time.Duration {
	d := o.opts.BaseBackoff
	for i := 1; i < attempt && d < o.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.opts.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}
