package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// The group-commit tests write rows of api_tokens, named by key: a table with a unique key
// and nothing else depending on it in these tests.

func insertKey(key string) func(ctx context.Context, q store.Querier) error {
	return func(ctx context.Context, q store.Querier) error {
		_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO api_tokens (name, hash, scopes, created_at) VALUES (?, ?, '', ?)`), key, "hash-"+key, time.Now().UTC())
		return err
	}
}

func keyExists(t *testing.T, db *store.DB, key string) bool {
	t.Helper()
	var n int
	if err := db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM api_tokens WHERE name = ?`), key); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func countKeys(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.R.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM api_tokens`); err != nil {
		t.Fatal(err)
	}
	return n
}

// workersFor is what `serve` starts: one writer on SQLite, four on PostgreSQL.
func workersFor(db *store.DB) int {
	if db.Dialect == store.Postgres {
		return 4
	}
	return 1
}

// gate is a write that holds its worker (inside a transaction) until released, so the
// calls made meanwhile queue up and go into one batch.
type gate struct {
	started, release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan struct{}), release: make(chan struct{})} }

func (g *gate) fn(key string) func(ctx context.Context, q store.Querier) error {
	return func(ctx context.Context, q store.Querier) error {
		close(g.started)
		<-g.release
		return insertKey(key)(ctx, q)
	}
}

// holdWorker runs a gate write in the background and waits until the worker is inside it.
// The returned channel yields the gate write's own result.
func holdWorker(t *testing.T, gc *store.GroupCommitter, key string) (*gate, <-chan error) {
	t.Helper()
	g := newGate()
	done := make(chan error, 1)
	go func() { done <- gc.Do(context.Background(), g.fn(key)) }()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the gate write never started")
	}
	return g, done
}

func wait(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("%s never returned", what)
		return nil
	}
}

func TestGroupCommitStoresEveryConcurrentWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		gc := store.NewGroupCommitter(db, workersFor(db), 128, 1024, nil)
		t.Cleanup(gc.Close)
		const n = 100
		var wg sync.WaitGroup
		errs := make([]error, n)
		var mu sync.Mutex
		txs := map[store.Querier]bool{}
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = gc.Do(context.Background(), func(ctx context.Context, q store.Querier) error {
					mu.Lock()
					txs[q] = true
					mu.Unlock()
					return insertKey(fmt.Sprintf("k-%03d", i))(ctx, q)
				})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if got := countKeys(t, db); got != n {
			t.Fatalf("%d rows, want %d", got, n)
		}
		// The point of group commit: far fewer transactions than writes.
		if len(txs) >= n {
			t.Fatalf("%d writes ran in %d transactions: nothing was batched", n, len(txs))
		}
		t.Logf("%d writes in %d transactions", n, len(txs))
	})
}

// batchOf queues calls while the worker is held, so that they share one transaction, then
// releases it. Each call records the transaction it ran in and its place in the batch.
type batchOf struct {
	mu    sync.Mutex
	order []string
	txs   map[store.Querier]bool
	// last holds the names that ran in the most recent transaction: a batch with a failing
	// call is run plainly first, then replayed with savepoints.
	last   map[string]bool
	lastTx store.Querier
}

func (b *batchOf) wrap(name string, fn func(ctx context.Context, q store.Querier) error) func(ctx context.Context, q store.Querier) error {
	return func(ctx context.Context, q store.Querier) error {
		b.mu.Lock()
		b.order = append(b.order, name)
		b.txs[q] = true
		if q != b.lastTx {
			b.lastTx, b.last = q, map[string]bool{}
		}
		b.last[name] = true
		b.mu.Unlock()
		return fn(ctx, q)
	}
}

// runBatch holds the only worker, queues first then rest, releases the worker and returns
// each call's error by name.
func runBatch(t *testing.T, db *store.DB, first string, calls map[string]func(ctx context.Context, q store.Querier) error) (map[string]error, *batchOf) {
	t.Helper()
	gc := store.NewGroupCommitter(db, 1, 128, 1024, nil)
	t.Cleanup(gc.Close)
	g, gateDone := holdWorker(t, gc, "gate")
	b := &batchOf{txs: map[store.Querier]bool{}}
	results := map[string]chan error{}
	launch := func(name string) {
		ch := make(chan error, 1)
		results[name] = ch
		fn := b.wrap(name, calls[name])
		go func() { ch <- gc.Do(context.Background(), fn) }()
	}
	// The first call is queued well before the others, so it runs first in the batch and
	// the others run after it, in the same transaction.
	launch(first)
	time.Sleep(100 * time.Millisecond)
	for name := range calls {
		if name != first {
			launch(name)
		}
	}
	time.Sleep(200 * time.Millisecond)
	close(g.release)
	if err := wait(t, "the gate write", gateDone); err != nil {
		t.Fatalf("gate write: %v", err)
	}
	errs := map[string]error{}
	for name, ch := range results {
		errs[name] = wait(t, name, ch)
	}
	if len(b.last) != len(calls) || len(b.txs) > 2 {
		t.Fatalf("the %d calls ended in a transaction of %d (of %d transactions), want one batch (order %v)", len(calls), len(b.last), len(b.txs), b.order)
	}
	if len(b.order) == 0 || b.order[0] != first {
		t.Fatalf("batch order %v, want %s first", b.order, first)
	}
	return errs, b
}

func TestGroupCommitFailingCallRollsBackAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		boom := errors.New("boom: the request changed its mind")
		calls := map[string]func(ctx context.Context, q store.Querier) error{
			"bad": func(ctx context.Context, q store.Querier) error {
				if err := insertKey("bad-1")(ctx, q); err != nil {
					return err
				}
				if err := insertKey("bad-2")(ctx, q); err != nil {
					return err
				}
				return boom
			},
		}
		for i := 0; i < 10; i++ {
			calls[fmt.Sprintf("good-%d", i)] = insertKey(fmt.Sprintf("good-%d", i))
		}
		errs, _ := runBatch(t, db, "bad", calls)
		for name, err := range errs {
			if name == "bad" {
				if !errors.Is(err, boom) {
					t.Errorf("the failing call got %v, want its own error", err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s got %v, want nil: another call's failure is not its business", name, err)
			}
			if !keyExists(t, db, name) {
				t.Errorf("%s's row is missing", name)
			}
		}
		if keyExists(t, db, "bad-1") || keyExists(t, db, "bad-2") {
			t.Error("the failing call's rows were committed")
		}
		if !keyExists(t, db, "gate") {
			t.Error("the gate write's row is missing")
		}
	})
}

func TestGroupCommitUniqueViolationFailsAlone(t *testing.T) {
	// On PostgreSQL a failed statement aborts the whole transaction until ROLLBACK TO
	// SAVEPOINT; the calls after it in the batch must still run and commit.
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.InTx(context.Background(), func(q store.Querier) error { return insertKey("taken")(context.Background(), q) }); err != nil {
			t.Fatal(err)
		}
		calls := map[string]func(ctx context.Context, q store.Querier) error{
			"dup": func(ctx context.Context, q store.Querier) error {
				if err := insertKey("dup-before")(ctx, q); err != nil {
					return err
				}
				return insertKey("taken")(ctx, q)
			},
		}
		for i := 0; i < 10; i++ {
			calls[fmt.Sprintf("after-%d", i)] = insertKey(fmt.Sprintf("after-%d", i))
		}
		errs, _ := runBatch(t, db, "dup", calls)
		if !store.IsUniqueViolation(errs["dup"]) {
			t.Fatalf("the duplicate insert got %v, want a unique violation", errs["dup"])
		}
		if store.IsUnavailable(errs["dup"]) {
			t.Fatalf("a unique violation reads as the database being unavailable: %v", errs["dup"])
		}
		for name, err := range errs {
			if name == "dup" {
				continue
			}
			if err != nil {
				t.Errorf("%s got %v, want nil", name, err)
			}
			if !keyExists(t, db, name) {
				t.Errorf("%s's row is missing", name)
			}
		}
		if keyExists(t, db, "dup-before") {
			t.Error("the failing call's first insert was committed")
		}
		if got := countKeys(t, db); got != 1+1+10 {
			t.Errorf("%d rows, want taken, gate and the 10 others", got)
		}
	})
}

func TestGroupCommitPanickingCallFailsAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		calls := map[string]func(ctx context.Context, q store.Querier) error{
			"panics": func(ctx context.Context, q store.Querier) error {
				if err := insertKey("panics")(ctx, q); err != nil {
					return err
				}
				panic("nil map somewhere")
			},
			"fine": insertKey("fine"),
		}
		errs, _ := runBatch(t, db, "panics", calls)
		if errs["panics"] == nil || errs["fine"] != nil {
			t.Fatalf("errors %v, want only the panicking call to fail", errs)
		}
		if keyExists(t, db, "panics") || !keyExists(t, db, "fine") {
			t.Fatal("the panicking call's row was kept or the other's lost")
		}
	})
}

func TestGroupCommitCallerThatLeftIsNotRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var ran atomic.Bool
		gc := store.NewGroupCommitter(db, 1, 128, 1024, nil)
		t.Cleanup(gc.Close)
		err := gc.Do(ctx, func(ctx context.Context, q store.Querier) error {
			ran.Store(true)
			return insertKey("left")(ctx, q)
		})
		if err == nil || ran.Load() || keyExists(t, db, "left") {
			t.Fatalf("cancelled caller: err %v, ran %v; want an error and nothing written", err, ran.Load())
		}
		if store.IsUnavailable(err) {
			t.Fatalf("a caller that left reads as the database being unavailable: %v", err)
		}
		if err := gc.Do(context.Background(), insertKey("stayed")); err != nil || !keyExists(t, db, "stayed") {
			t.Fatalf("the next caller: %v", err)
		}
	})
}

func TestGroupCommitCloseDrainsQueuedWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Queue of one: of two calls made while the worker is held, one is queued and the
		// other refused at once, which tells the test the queue holds a call.
		gc := store.NewGroupCommitter(db, 1, 128, 1, nil)
		g, gateDone := holdWorker(t, gc, "gate")
		a, b := make(chan error, 1), make(chan error, 1)
		go func() { a <- gc.Do(context.Background(), insertKey("a")) }()
		go func() { b <- gc.Do(context.Background(), insertKey("b")) }()
		var queued string
		select {
		case err := <-a:
			if !errors.Is(err, store.ErrOverloaded) {
				t.Fatalf("a: %v, want ErrOverloaded", err)
			}
			queued = "b"
		case err := <-b:
			if !errors.Is(err, store.ErrOverloaded) {
				t.Fatalf("b: %v, want ErrOverloaded", err)
			}
			queued = "a"
		case <-time.After(10 * time.Second):
			t.Fatal("neither call was refused with a queue of one")
		}

		closed := make(chan struct{})
		go func() {
			gc.Close()
			close(closed)
		}()
		select {
		case <-closed:
			t.Fatal("Close returned while a write was still running")
		case <-time.After(100 * time.Millisecond):
		}
		if err := gc.Do(context.Background(), insertKey("late")); !errors.Is(err, store.ErrOverloaded) {
			t.Fatalf("Do during Close: %v, want ErrOverloaded", err)
		}
		close(g.release)
		select {
		case <-closed:
		case <-time.After(15 * time.Second):
			t.Fatal("Close never returned")
		}
		if err := wait(t, "gate", gateDone); err != nil {
			t.Fatalf("gate: %v", err)
		}
		ch := a
		if queued == "b" {
			ch = b
		}
		if err := wait(t, queued, ch); err != nil {
			t.Fatalf("queued call %s: %v, want it committed by Close", queued, err)
		}
		if !keyExists(t, db, queued) || !keyExists(t, db, "gate") || keyExists(t, db, "late") {
			t.Fatal("after Close: want the gate and the queued call stored, the late one not")
		}

		var ran atomic.Bool
		err := gc.Do(context.Background(), func(ctx context.Context, q store.Querier) error { ran.Store(true); return nil })
		if !errors.Is(err, store.ErrOverloaded) || ran.Load() {
			t.Fatalf("Do after Close: %v (ran %v), want ErrOverloaded and nothing run", err, ran.Load())
		}
		gc.Close() // twice is harmless
	})
}

func TestGroupCommitFullQueueRefusesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		gc := store.NewGroupCommitter(db, 1, 128, 1, nil)
		t.Cleanup(gc.Close)
		g, gateDone := holdWorker(t, gc, "gate")
		const callers = 6
		type answer struct {
			err  error
			took time.Duration
		}
		answers := make(chan answer, callers)
		for i := 0; i < callers; i++ {
			go func() {
				began := time.Now()
				err := gc.Do(context.Background(), insertKey(fmt.Sprintf("c-%d", i)))
				answers <- answer{err, time.Since(began)}
			}()
		}
		// The worker is held and the queue holds one: all but one are refused, at once.
		for i := 0; i < callers-1; i++ {
			select {
			case a := <-answers:
				if !errors.Is(a.err, store.ErrOverloaded) {
					t.Fatalf("refused caller got %v, want ErrOverloaded", a.err)
				}
				if a.took > 2*time.Second {
					t.Fatalf("ErrOverloaded took %s, want at once", a.took)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d of %d extra callers were refused while the worker was held", i, callers-1)
			}
		}
		close(g.release)
		if err := wait(t, "gate", gateDone); err != nil {
			t.Fatalf("gate: %v", err)
		}
		select {
		case a := <-answers:
			if a.err != nil {
				t.Fatalf("the queued caller got %v, want its write committed", a.err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the queued caller never returned")
		}
		if got := countKeys(t, db); got != 2 {
			t.Fatalf("%d rows, want the gate and the one queued call", got)
		}
	})
}

func TestGroupCommitDoRacingCloseNeverHangs(t *testing.T) {
	// A call made while Close runs is either committed or refused with ErrOverloaded; it
	// must never wait forever for a worker that has already stopped.
	db := storetest.Open(t, store.SQLite)
	for round := 0; round < 500; round++ {
		gc := store.NewGroupCommitter(db, 1, 128, 64, nil)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for c := 0; c < 16; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					err := gc.Do(context.Background(), func(ctx context.Context, q store.Querier) error { return nil })
					if errors.Is(err, store.ErrOverloaded) {
						return
					}
					if err != nil {
						t.Errorf("Do: %v", err)
						return
					}
				}
			}()
		}
		runtime.Gosched()
		gc.Close()
		close(stop)
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a Do made while Close ran never returned", round)
		}
	}
}

// expiringCtx is a caller's context whose deadline passes right after the group committer
// checked it: the first Err reports nothing, every later look says the deadline passed.
type expiringCtx struct {
	context.Context
	looked atomic.Bool
	done   chan struct{}
}

func newExpiringCtx() *expiringCtx {
	c := &expiringCtx{Context: context.Background(), done: make(chan struct{})}
	close(c.done)
	return c
}

func (c *expiringCtx) Err() error {
	if c.looked.Swap(true) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *expiringCtx) Done() <-chan struct{} {
	if c.looked.Load() {
		return c.done
	}
	return nil
}

func TestGroupCommitCallerDeadlineDoesNotUndoTheBatch(t *testing.T) {
	// One impatient caller (Alertmanager's webhook timeout) must not roll back and redo the
	// work of everyone else in its batch.
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		gc := store.NewGroupCommitter(db, 1, 128, 1024, nil)
		t.Cleanup(gc.Close)
		g, gateDone := holdWorker(t, gc, "gate")
		var impatientRan, patientRuns atomic.Int32
		impatient, patient := make(chan error, 1), make(chan error, 1)
		go func() {
			patient <- gc.Do(context.Background(), func(ctx context.Context, q store.Querier) error {
				patientRuns.Add(1)
				return insertKey("patient")(ctx, q)
			})
		}()
		time.Sleep(50 * time.Millisecond) // queued first, so it runs before the impatient one
		go func() {
			impatient <- gc.Do(newExpiringCtx(), func(ctx context.Context, q store.Querier) error {
				impatientRan.Add(1)
				return nil
			})
		}()
		time.Sleep(100 * time.Millisecond)
		close(g.release)
		if err := wait(t, "gate", gateDone); err != nil {
			t.Fatalf("gate: %v", err)
		}
		if err := wait(t, "patient", patient); err != nil || !keyExists(t, db, "patient") {
			t.Fatalf("patient caller: %v", err)
		}
		err := wait(t, "impatient", impatient)
		// Its deadline passed after the check, so its write may run (and then it is told
		// so) or not (and it gets an error); never both, never neither.
		if ran := impatientRan.Load(); (err == nil) != (ran == 1) || ran > 1 {
			t.Errorf("the impatient caller got %v and its write ran %d times", err, ran)
		}
		if store.IsUnavailable(err) {
			t.Errorf("the caller's own deadline came back as the database being unavailable: %v", err)
		}
		if n := patientRuns.Load(); n != 1 {
			t.Errorf("the patient call ran %d times, want once: the batch was rolled back and redone", n)
		}
	})
}
