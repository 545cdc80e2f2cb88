// Package outbox delivers durable jobs: Slack messages, rollback hooks, status pushes. A job
// is written in the same transaction as the change that caused it, so it exists if and only
// if the change committed; workers then deliver it, retry with exponential backoff and
// jitter, and give up after a limit. On PostgreSQL several replicas claim jobs with FOR
// UPDATE SKIP LOCKED and a lease, so one job never runs in two places at once.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"firebreak/metrics"
	"firebreak/store"
	"firebreak/text"
)

// maxLastError bounds the error kept with a job, in bytes.
const maxLastError = 4000

// Job is one unit of delivery work.
type Job struct {
	ID      int64  `db:"id"`
	Kind    string `db:"kind"`
	Payload []byte `db:"payload"`
	// Attempts counts tries so far, this one included while it runs.
	Attempts int `db:"attempts"`
	// CoalesceKey is the key of a job of a coalescing kind (EnqueueCoalescedTx); empty
	// otherwise.
	CoalesceKey string `db:"coalesce_key"`
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

// Options tune delivery. MaxAttempts, BaseBackoff, MaxBackoff and Lease are the defaults of
// every kind; RegisterKind overrides them per kind.
type Options struct {
	Workers     int
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Lease is how long a claimed job is reserved; a worker that dies mid-job frees it when
	// the lease ends. It must outlast the slowest handler, and it bounds how long a handler
	// may run: its context ends with the lease.
	Lease time.Duration
	// Poll is how often idle workers look for due jobs.
	Poll  time.Duration
	Clock func() time.Time
	Log   *slog.Logger
	// Metrics counts failed attempts by kind, retried or given up; nil counts nothing.
	Metrics *metrics.Set
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
	db    *store.DB
	opts  Options
	mu    sync.RWMutex
	kinds map[string]kind
	wake  chan struct{}
}

// New returns an Outbox; register handlers, then Run.
func New(db *store.DB, opts Options) *Outbox {
	opts.defaults()
	return &Outbox{db: db, opts: opts, kinds: map[string]kind{}, wake: make(chan struct{}, 1)}
}

// MaxAttempts is the default attempt limit of a kind.
func (o *Outbox) MaxAttempts() int { return o.opts.MaxAttempts }

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
	err := o.db.R.GetContext(ctx, &due, o.db.R.Rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM outbox_jobs j
		WHERE `+dueJob+` LIMIT 1) d`), now, now, now)
	if err != nil || due == 0 {
		return Job{}, false, err
	}
	var job Job
	found := false
	err = o.db.InTx(ctx, func(q store.Querier) error {
		err := q.GetContext(ctx, &job, q.Rebind(`SELECT id, kind, payload, attempts, COALESCE(coalesce_key, '') AS coalesce_key
			FROM outbox_jobs j WHERE `+dueJob+` ORDER BY run_at, id LIMIT 1`+o.db.SkipLocked()), now, now, now)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim outbox job: %w", err)
		}
		if job.CoalesceKey != "" {
			// Two workers claiming at once on PostgreSQL each read the other's claim as not
			// made yet (it commits later), so each could take a job of one key: two
			// deliveries of one incident at once, two Slack messages. A claim of a key holds
			// its lock until it commits; one that finds it held leaves the key to that one,
			// and one that gets it reads the job's claim rule again, in a new statement that
			// sees every claim committed before it.
			got, err := store.TryLockTx(ctx, q, "outbox:"+job.Kind+":"+job.CoalesceKey)
			if err != nil || !got {
				return err
			}
			var still int
			if err := q.GetContext(ctx, &still, q.Rebind(`SELECT COUNT(*) FROM outbox_jobs j WHERE id = ? AND `+dueJob),
				job.ID, now, now, now); err != nil {
				return fmt.Errorf("claim outbox job %d: %w", job.ID, err)
			}
			if still == 0 {
				return nil
			}
		}
		job.Attempts++
		_, err = q.ExecContext(ctx, q.Rebind(`UPDATE outbox_jobs SET locked_until = ?, attempts = ?, updated_at = ? WHERE id = ?`),
			now.Add(o.kind(job.Kind).opts.Lease), job.Attempts, now, job.ID)
		if err != nil {
			return fmt.Errorf("lease outbox job %d: %w", job.ID, err)
		}
		if job.CoalesceKey != "" {
			if err := o.dropSupersededTx(ctx, q, job.Kind, job.CoalesceKey, job.ID, now); err != nil {
				return err
			}
		}
		found = true
		return nil
	})
	return job, found, err
}

// dueJob is the condition of a job a worker may claim now (three arguments, all now): pending,
// due, not leased, and, for a coalescing kind, the newest job of its key with no other job of
// that key in flight, so updates of one thing are delivered one at a time and never out of
// order.
const dueJob = `status = 'pending' AND run_at <= ? AND (locked_until IS NULL OR locked_until <= ?)
	AND (coalesce_key IS NULL OR NOT EXISTS (SELECT 1 FROM outbox_jobs n
		WHERE n.kind = j.kind AND n.coalesce_key = j.coalesce_key AND n.status = 'pending' AND n.id <> j.id
		AND (n.id > j.id OR n.locked_until > ?)))`

// deliver runs the job's handler and records the outcome. The handler's context does not end
// when Run's does: a job in hand finishes (a command hook is not cut off halfway by a
// shutdown) within its kind's lease, after which another worker may take it over anyway.
func (o *Outbox) deliver(ctx context.Context, job Job) {
	k := o.kind(job.Kind)
	// Recording the outcome must happen even while shutting down.
	rctx := context.WithoutCancel(ctx)
	var retry bool
	var err error
	if k.handler == nil {
		err = fmt.Errorf("no handler for job kind %q", job.Kind)
	} else {
		hctx, cancel := context.WithTimeout(rctx, k.opts.Lease)
		retry, err = safeHandle(hctx, k.handler, job)
		cancel()
	}
	if err == nil {
		o.finish(rctx, job, "done", time.Time{}, "")
		return
	}
	if wait, ok := retryAfterOf(err); ok {
		o.opts.Log.Info("outbox job asked to wait", "id", job.ID, "kind", job.Kind, "wait", wait, "err", err)
		o.deferJob(rctx, job, o.opts.Clock().UTC().Add(wait), err.Error())
		return
	}
	out := Outcome{Attempt: job.Attempts, MaxAttempts: k.opts.MaxAttempts, Err: err}
	if retry && job.Attempts < k.opts.MaxAttempts {
		out.NextAt = o.opts.Clock().UTC().Add(k.opts.backoff(job.Attempts))
		o.finish(rctx, job, "pending", out.NextAt, err.Error())
	} else {
		out.GaveUp = true
		o.finish(rctx, job, "dead", time.Time{}, err.Error())
	}
	o.opts.Metrics.OutboxFailed(job.Kind, out.GaveUp)
	o.opts.Log.Warn("outbox job failed", "id", job.ID, "kind", job.Kind, "attempt", job.Attempts, "gave_up", out.GaveUp, "err", err)
	if fo, ok := k.handler.(FailureObserver); ok {
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
		last_error = ?, updated_at = ? WHERE id = ? AND attempts = ?`), status, runAt, text.CutBytes(lastErr, maxLastError), now, job.ID, job.Attempts)
	if err != nil {
		o.opts.Log.Error("outbox: recording a job's outcome failed; it runs again when its lease ends", "id", job.ID, "err", err)
	}
	if status == "pending" {
		o.Wake()
	}
}
