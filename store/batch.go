package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// ErrOverloaded means the write queue is full: the caller should answer 503 so the sender
// retries (Alertmanager retries 5xx, and drops a notification on 429).
var ErrOverloaded = errors.New("write queue is full")

// GroupCommitter runs many small write functions in few transactions. Concurrent callers
// queue up while a batch commits; the next batch takes all of them at once, each inside a
// SAVEPOINT of its own so one failing request rolls back alone. Do returns only after the
// batch has committed, so an answer never promises what a crash could lose.
//
// This is the pattern of bbolt's DB.Batch: one fsync carries a hundred requests, which is
// what lets SQLite with synchronous=FULL keep up with Alertmanager storms.
type GroupCommitter struct {
	db       *DB
	workers  int
	queue    chan *batchItem
	maxBatch int
	wg       sync.WaitGroup
	stop     chan struct{}
	once     sync.Once
	closing  sync.RWMutex // Do holds it shared while queuing, Close exclusively while stopping
	log      *slog.Logger
	observer BatchObserver
}

// BatchObserver learns how group commit behaves, for metrics: the size of each committed
// batch, and how long each request waited from queueing until its answer.
type BatchObserver interface {
	Batch(requests int)
	Waited(d time.Duration)
}

// Observe reports every batch and every request's wait to o. Call it while wiring, before
// the first Do.
func (g *GroupCommitter) Observe(o BatchObserver) { g.observer = o }

// errGaveUp is the result of a call whose caller left before its batch ran.
var errGaveUp = errors.New("the request was cancelled before its batch ran")

type batchItem struct {
	ctx    context.Context
	queued time.Time
	ids    []int32 // lock ids of the request's grouping keys (see LockKeys), sorted
	fn     func(ctx context.Context, q Querier) error
	done   chan error
}

// NewGroupCommitter starts workers that commit batches of at most maxBatch functions. A
// queue of queueLen pending calls absorbs bursts; past that Do returns ErrOverloaded. SQLite
// wants one worker (one writer); PostgreSQL can use several.
func NewGroupCommitter(db *DB, workers, maxBatch, queueLen int, log *slog.Logger) *GroupCommitter {
	if log == nil {
		log = slog.Default()
	}
	g := &GroupCommitter{db: db, workers: workers, queue: make(chan *batchItem, queueLen), maxBatch: maxBatch, stop: make(chan struct{}), log: log}
	for i := 0; i < workers; i++ {
		g.wg.Add(1)
		go g.run()
	}
	return g
}

// Do runs fn inside a batched transaction and returns its error, or the commit's.
func (g *GroupCommitter) Do(ctx context.Context, fn func(ctx context.Context, q Querier) error) error {
	return g.DoLocked(ctx, nil, fn)
}

// DoLocked is Do for a function that needs the given keys locked (see LockKeys). A batch
// takes the keys of all its requests in one global order: locking in request order would
// let two batches holding requests in opposite orders (the two copies an Alertmanager HA
// pair sends to two replicas) each lock one and wait for the other, a deadlock. So the
// batch takes all its requests' keys before running any of them.
//
// fn may run more than once (a batch is replayed when another of its requests fails, or
// after a deadlock): it must start from its own input every time and keep nothing from an
// earlier run but what it returns through its last one.
func (g *GroupCommitter) DoLocked(ctx context.Context, keys []string, fn func(ctx context.Context, q Querier) error) error {
	it := &batchItem{ctx: ctx, queued: time.Now(), fn: fn, done: make(chan error, 1)}
	if len(keys) > 0 && g.db.Dialect == Postgres {
		it.ids = lockIDs(keys)
	}
	// The read lock keeps Close from stopping the workers between the check and the send:
	// an item queued after the workers drained the queue would wait forever.
	g.closing.RLock()
	select {
	case <-g.stop:
		g.closing.RUnlock()
		return fmt.Errorf("group commit: %w", ErrOverloaded)
	default:
	}
	select {
	case g.queue <- it:
		g.closing.RUnlock()
	default:
		g.closing.RUnlock()
		return fmt.Errorf("group commit: %w", ErrOverloaded)
	}
	// Wait for the batch even if ctx ends: once queued, the work may be committed, and the
	// caller must not answer before knowing.
	return <-it.done
}

// Workers is the number of transactions g runs at once.
func (g *GroupCommitter) Workers() int { return g.workers }

// Capacity is the number of calls g queues before refusing more.
func (g *GroupCommitter) Capacity() int { return cap(g.queue) }

// Queued is the number of calls waiting for a batch to take them, for metrics and for tests
// that need several calls in one batch.
func (g *GroupCommitter) Queued() int { return len(g.queue) }

// Closed reports whether Close was called: nothing written through g from now on would
// commit.
func (g *GroupCommitter) Closed() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// Close stops taking work, finishes what is queued and waits for the workers.
func (g *GroupCommitter) Close() {
	g.once.Do(func() {
		g.closing.Lock()
		close(g.stop)
		g.closing.Unlock()
	})
	g.wg.Wait()
}

func (g *GroupCommitter) run() {
	defer g.wg.Done()
	batch := make([]*batchItem, 0, g.maxBatch)
	for {
		var first *batchItem
		select {
		case first = <-g.queue:
		case <-g.stop:
			// Drain what was queued before Close, then stop.
			for {
				select {
				case it := <-g.queue:
					g.commit([]*batchItem{it})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < g.maxBatch {
			select {
			case it := <-g.queue:
				batch = append(batch, it)
			default:
				break fill
			}
		}
		g.commit(batch)
		g.db.FinishCheckpoint(context.Background())
	}
}

// commit runs one batch and answers each of its requests.
func (g *GroupCommitter) commit(batch []*batchItem) {
	// The common case first: every request succeeds, so run them all plainly in one
	// transaction. Savepoints cost three statements a request; they are only needed when a
	// request fails, and then the batch is replayed with them.
	results := make([]error, len(batch))
	failed := false
	err := g.db.InTx(context.Background(), func(q Querier) error {
		if err := lockBatch(q, batch); err != nil {
			return err
		}
		for i, it := range batch {
			if it.ctx.Err() != nil {
				results[i] = errGaveUp
				continue
			}
			if err := call(q, it); err != nil {
				failed = true
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		g.answer(batch, results, true)
		return
	case failed && len(batch) == 1 && !isTxFatal(err):
		g.answer(batch, []error{err}, false)
		return
	}
	g.commitIsolated(batch)
}

// commitIsolated runs a batch with one savepoint per request, so a failing request rolls
// back alone. If the transaction as a whole fails with a retryable error (a PostgreSQL
// deadlock or serialization failure between replicas), it runs the batch again once before
// giving up.
func (g *GroupCommitter) commitIsolated(batch []*batchItem) {
	results := make([]error, len(batch))
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = g.db.InTx(context.Background(), func(q Querier) error {
			if err := lockBatch(q, batch); err != nil {
				return err
			}
			for i, it := range batch {
				results[i] = g.runOne(q, i, it)
				if results[i] != nil && isTxFatal(results[i]) {
					return results[i]
				}
			}
			return nil
		})
		if err == nil || !IsUnavailable(err) {
			break
		}
		g.log.Warn("batch transaction failed, retrying once", "size", len(batch), "err", err)
	}
	if err != nil {
		for i := range results {
			results[i] = err
		}
	}
	g.answer(batch, results, err == nil)
}

// answer answers every request of a batch and reports the batch, if it committed, and each
// request's wait to the observer. What the requests registered with AfterCommit has run
// already, inside InTx, right after the commit.
func (g *GroupCommitter) answer(batch []*batchItem, results []error, committed bool) {
	if committed && g.observer != nil {
		g.observer.Batch(len(batch))
	}
	for i, it := range batch {
		if g.observer != nil {
			g.observer.Waited(time.Since(it.queued))
		}
		it.done <- results[i]
	}
}

// lockBatch takes the locks of every request of the batch whose caller still waits, all
// at once in their global order, before any request runs.
func lockBatch(q Querier, batch []*batchItem) error {
	var ids []int32
	for _, it := range batch {
		if it.ctx.Err() == nil {
			ids = append(ids, it.ids...)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return lockSorted(context.Background(), q, slices.Compact(ids))
}

// runOne runs one function inside its own savepoint.
func (g *GroupCommitter) runOne(q Querier, i int, it *batchItem) error {
	if it.ctx.Err() != nil {
		// Not wrapped: the caller's deadline must not read as the database being unavailable.
		return errGaveUp
	}
	sp := fmt.Sprintf("req_%d", i)
	// Not it.ctx: a deadline passing just after the check above would fail the statement
	// with DeadlineExceeded, which reads as fatal and rolls back the whole batch.
	if _, err := q.ExecContext(context.Background(), "SAVEPOINT "+sp); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	mark := afterCommitMark(q)
	ferr := call(q, it)
	if ferr != nil {
		// Rolled back alone: what it registered to run after the commit goes with it.
		dropAfterCommit(q, mark)
		if _, err := q.ExecContext(context.Background(), "ROLLBACK TO SAVEPOINT "+sp); err != nil {
			return fmt.Errorf("%w (and rolling back its savepoint failed: %v)", ferr, err)
		}
		_, _ = q.ExecContext(context.Background(), "RELEASE SAVEPOINT "+sp)
		return ferr
	}
	if _, err := q.ExecContext(context.Background(), "RELEASE SAVEPOINT "+sp); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// call runs one request's function, turning a panic into its error.
func call(q Querier, it *batchItem) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in batched write: %v", p)
		}
	}()
	return it.fn(context.WithoutCancel(it.ctx), q)
}

// isTxFatal reports whether an error leaves the whole transaction unusable, so the batch
// must be retried rather than carried on.
func isTxFatal(err error) bool { return IsUnavailable(err) }
