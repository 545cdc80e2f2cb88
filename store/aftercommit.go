package store

import (
	"github.com/jmoiron/sqlx"
)

// AfterCommit runs fn once the transaction q belongs to has committed, and never if it rolls
// back. Counting or logging what a transaction did belongs there: a hook that runs inside a
// transaction cannot know whether it will commit, and a group commit may roll a batch back
// and run it again, so counting inside would count twice or count what never happened.
//
// Within a group commit, fn belongs to its own request: a request rolled back to its
// savepoint drops what it registered, and a batch run again starts from nothing. A q
// outside any transaction (a *DB pool, whose statements commit one by one) runs fn at once.
// Functions run in the order registered, after the commit and before the caller is
// answered.
func AfterCommit(q Querier, fn func()) {
	for {
		if h, ok := q.(commitHooks); ok {
			h.afterCommit(fn)
			return
		}
		w, ok := q.(Wrapper)
		if !ok {
			break
		}
		q = w.Unwrap()
	}
	fn()
}

// Wrapper is a Querier that runs its statements through another (a test's statement
// counter): AfterCommit looks through it for the transaction underneath.
type Wrapper interface {
	Unwrap() Querier
}

// commitHooks is a Querier whose writes commit later, with functions to run then.
type commitHooks interface {
	afterCommit(fn func())
}

// txQuerier is the Querier InTx hands out: the transaction and what runs once it commits.
type txQuerier struct {
	*sqlx.Tx
	fns []func()
}

func (t *txQuerier) afterCommit(fn func()) { t.fns = append(t.fns, fn) }

// afterCommitMark is how many functions q's transaction holds so far; dropAfterCommit
// forgets those registered since, for a request rolled back to its savepoint. Only the group
// committer calls them, on the Querier InTx gave it, never through a Wrapper.
func afterCommitMark(q Querier) int {
	if t, ok := q.(*txQuerier); ok {
		return len(t.fns)
	}
	return 0
}

func dropAfterCommit(q Querier, mark int) {
	if t, ok := q.(*txQuerier); ok {
		clear(t.fns[mark:])
		t.fns = t.fns[:mark]
	}
}

// runAll runs the functions registered, in order.
func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}
