// Package scheduler runs Firebreak's periodic jobs (reminders, stale alerts, status
// heartbeats, retention clean-up) on cron schedules. Every run happens inside one database
// transaction that first takes the job's named lock (store.TryLockTx), so of several serve
// replicas on one PostgreSQL database, one runs a job's tick and the others skip it; the
// work commits or rolls back as a whole. Work that is each replica's own (Job.RunLocal)
// runs on every replica, without the lock.
//
// Schedules are robfig/cron specs, in UTC so replicas in different time zones tick
// together: five fields (minute first), six with seconds first, or descriptors such as
// @hourly and @every 10m. A panicking job is logged and runs again at its next tick; a tick
// that comes while the previous run still goes is skipped.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"firebreak/store"
)

// Job is one periodic task.
type Job struct {
	// Name identifies the job in logs and metrics and names its lock, so it must be the
	// same on every replica and unique among jobs.
	Name string
	// Spec is when it runs: a cron spec with an optional seconds field, or a descriptor.
	Spec string
	// Run does the work in tx, a transaction holding the job's lock; returning an error
	// rolls it all back. at is the tick the run belongs to (the moment it was due). Every
	// write must go through tx: on SQLite tx holds the only writer connection, so another
	// transaction opened by the job would wait for it forever.
	Run func(ctx context.Context, tx store.Querier, at time.Time) error
	// RunLocal, set instead of Run, is for work that is each replica's own, such as
	// flushing counters kept in memory: it runs on every replica at every tick, without a
	// lock or a transaction of the scheduler's.
	RunLocal func(ctx context.Context, at time.Time) error
}

// Options tune a Scheduler. The zero value is usable.
type Options struct {
	// Log receives job failures, panics and skips; slog.Default() when nil.
	Log *slog.Logger
	// Registry receives the job metrics; none are registered when nil.
	Registry prometheus.Registerer
	// Hold is how long after its tick a run on PostgreSQL keeps its lock before working
	// (default 2 s, at most half the job's period). Replicas' timers fire a few
	// milliseconds apart; without the hold a job that finishes in less than that would
	// commit, free its lock and let a late replica run the same tick again.
	Hold time.Duration
}

// defaultHold covers the usual spread between replicas' clocks and timers with NTP.
const defaultHold = 2 * time.Second

// errStopping ends a run that was still holding for its tick when the scheduler stopped.
var errStopping = errors.New("scheduler stopping")

// Scheduler runs jobs on their schedules until its Run's context ends.
type Scheduler struct {
	db      *store.DB
	opts    Options
	cron    *cron.Cron
	parser  cron.Parser
	metrics *metrics

	mu   sync.Mutex
	jobs map[string]*entry

	stopping context.Context // done once Run's context has ended
	stop     context.CancelFunc
	manual   sync.WaitGroup // RunNow calls in progress
}

// entry is a registered job with what its runs need.
type entry struct {
	job     Job
	hold    time.Duration
	timeout time.Duration
}

// New returns a Scheduler that runs jobs against db. Add jobs, then Run.
func New(db *store.DB, opts Options) *Scheduler {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Hold <= 0 {
		opts.Hold = defaultHold
	}
	l := cronLogger{opts.Log}
	stopping, stop := context.WithCancel(context.Background())
	s := &Scheduler{
		db:   db,
		opts: opts,
		// Skip outside Recover: the other way round, a panic would leave SkipIfStillRunning's
		// token taken and the job skipped forever (robfig/cron#366).
		cron: cron.New(
			cron.WithLocation(time.UTC),
			cron.WithParser(parser),
			cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)),
			cron.WithLogger(l),
		),
		parser:   parser,
		metrics:  newMetrics(opts.Registry),
		jobs:     map[string]*entry{},
		stopping: stopping,
		stop:     stop,
	}
	return s
}

// parser reads five-field specs, six-field specs with seconds first, and descriptors.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Add registers a job. It fails on an empty or repeated name, a missing Run or a spec that
// does not parse, naming the job.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" {
		return errors.New("scheduler: a job needs a name")
	}
	if (j.Run == nil) == (j.RunLocal == nil) {
		return fmt.Errorf("scheduler: job %q needs one of Run and RunLocal", j.Name)
	}
	sched, err := s.parser.Parse(j.Spec)
	if err != nil {
		return fmt.Errorf("scheduler: job %q: schedule %q: %w", j.Name, j.Spec, err)
	}
	period := periodOf(sched)
	e := &entry{job: j, hold: min(s.opts.Hold, period/2), timeout: max(period, time.Second)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[j.Name]; dup {
		return fmt.Errorf("scheduler: job %q is already added", j.Name)
	}
	s.jobs[j.Name] = e
	s.cron.Schedule(sched, cron.FuncJob(func() { s.tick(e) }))
	return nil
}

// periodOf is the time between two consecutive runs, measured from now. A run is cut short
// after one period: the next tick would skip anyway while it goes on.
func periodOf(sched cron.Schedule) time.Duration {
	next := sched.Next(time.Now().UTC())
	return sched.Next(next).Sub(next)
}

// Jobs lists the names of the registered jobs, sorted.
func (s *Scheduler) Jobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.jobs))
	for name := range s.jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Run starts the schedules and blocks until ctx ends; then it starts no new run, and
// returns once the runs in progress have finished. A run still holding for its tick gives
// up without working; one already working is not interrupted.
func (s *Scheduler) Run(ctx context.Context) {
	s.cron.Start()
	<-ctx.Done()
	s.stop()
	<-s.cron.Stop().Done()
	s.manual.Wait()
}

// RunNow runs the named job once, at once, through the same lock and transaction as a
// scheduled run. It reports whether this call did the work (false: another replica holds
// the job's lock).
func (s *Scheduler) RunNow(ctx context.Context, name string) (ran bool, err error) {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return false, fmt.Errorf("scheduler: no job named %q", name)
	}
	s.manual.Add(1)
	defer s.manual.Done()
	return s.runOnce(ctx, e, time.Now().UTC(), 0)
}

// tick is one scheduled run, called by cron inside its skip and recover wrappers.
func (s *Scheduler) tick(e *entry) {
	// Cron ticks fall on whole seconds and fire a moment after.
	at := time.Now().UTC().Truncate(time.Second)
	finished := false
	defer func() {
		if !finished { // panicking: cron.Recover logs the stack
			s.metrics.count(e.job.Name, resultPanicked)
			s.opts.Log.Error("scheduled job panicked; it runs again at its next tick", "job", e.job.Name)
		}
	}()
	// A run already working is let finish at shutdown (Run waits for it); only the hold
	// before the work watches s.stopping.
	ran, err := s.runOnce(context.Background(), e, at, e.hold)
	finished = true
	switch {
	case err != nil:
		s.opts.Log.Error("scheduled job failed; it runs again at its next tick", "job", e.job.Name, "err", err)
	case !ran:
		s.opts.Log.Debug("scheduled job skipped: another replica runs this tick", "job", e.job.Name, "at", at)
	}
}

// runOnce takes the job's lock in a new transaction and, if it got it, waits out the hold
// (PostgreSQL only) and does the work. A run that fails or panics rolls back. A RunLocal job
// just runs.
func (s *Scheduler) runOnce(ctx context.Context, e *entry, at time.Time, hold time.Duration) (ran bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	working := time.Now()
	if e.job.RunLocal != nil {
		ran = true
		err = e.job.RunLocal(ctx, at)
	} else {
		err = s.db.InTx(ctx, func(q store.Querier) error {
			got, err := store.TryLockTx(ctx, q, e.job.Name)
			if err != nil || !got {
				return err
			}
			if s.db.Dialect == store.Postgres {
				// Holding here costs nothing: no row is locked yet, and an idle transaction
				// without writes holds back no vacuum. On SQLite it would block every
				// writer, and there is no other replica to hold against.
				if err := s.holdUntil(at.Add(hold)); err != nil {
					return err
				}
			}
			ran, working = true, time.Now()
			return e.job.Run(ctx, q, at)
		})
	}
	switch {
	case errors.Is(err, errStopping):
		s.metrics.count(e.job.Name, resultSkipped)
		return false, nil
	case err != nil:
		s.metrics.count(e.job.Name, resultFailed)
		return ran, fmt.Errorf("job %s: %w", e.job.Name, err)
	case !ran:
		s.metrics.count(e.job.Name, resultLocked)
	default:
		s.metrics.succeeded(e.job.Name, time.Since(working))
	}
	return ran, nil
}

// holdUntil waits until t, or returns errStopping if the scheduler stops first.
func (s *Scheduler) holdUntil(t time.Time) error {
	wait := time.Until(t)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-s.stopping.Done():
		return errStopping
	}
}
