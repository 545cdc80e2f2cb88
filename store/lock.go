package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
)

// MaxLockKeys is how many keys one transaction locks one by one. A transaction that needs
// more (a batch of webhooks naming thousands of services) locks everything at once instead:
// PostgreSQL keeps advisory locks in a shared table of about 64 per connection, and
// thousands in one transaction would exhaust it.
const MaxLockKeys = 256

// LockKeys takes an exclusive lock on each of keys until the transaction q ends, always in
// one global order, so two transactions that lock overlapping keys wait for each other
// instead of deadlocking. It is how replicas serialise a decision such as "which incident
// does this alert join": the lock names the decision, not a row, so it also covers rows that
// do not exist yet.
//
// On PostgreSQL the locks are transaction-level advisory locks on (a hash of the schema, a
// hash of the key), so tests in different schemas never wait for each other; taking a key
// the transaction already holds returns at once. On SQLite it does nothing: the database
// has one writer, and every write transaction already runs alone.
func LockKeys(ctx context.Context, q Querier, keys []string) error {
	if len(keys) == 0 || q.DriverName() != pgxDriver {
		return nil
	}
	return lockSorted(ctx, q, lockIDs(keys))
}

// lockID is the lock a key names within its schema. Locks are always taken in the order of
// their ids; two keys with one id are one lock, which only serialises a little more.
func lockID(key string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int32(h.Sum32())
}

// lockIDs returns the ids of keys, sorted, each once.
func lockIDs(keys []string) []int32 {
	ids := make([]int32, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, lockID(k))
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// everything is the lock every locker holds shared before any key, and a transaction with
// too many keys holds exclusively instead of them.
var everything = lockID("*")

// lockSorted takes the locks of ids, which must be sorted, in one statement: the everything
// lock shared and then each id in order, or, past MaxLockKeys ids, the everything lock
// exclusively instead. unnest yields the array in order and the aggregate takes each lock as
// the rows come, so one round trip takes them all in the global order.
func lockSorted(ctx context.Context, q Querier, ids []int32) error {
	if len(ids) > MaxLockKeys {
		if _, err := q.ExecContext(ctx, q.Rebind(`SELECT pg_advisory_xact_lock(hashtext(current_schema()), ?)`), everything); err != nil {
			return fmt.Errorf("lock every grouping key: %w", err)
		}
		return nil
	}
	all := append([]int32{everything}, ids...)
	_, err := q.ExecContext(ctx, q.Rebind(`SELECT COUNT(CASE WHEN t.n = 1
			THEN pg_advisory_xact_lock_shared(hashtext(current_schema()), t.id)
			ELSE pg_advisory_xact_lock(hashtext(current_schema()), t.id) END)
		FROM unnest(?::int4[]) WITH ORDINALITY AS t(id, n)`), all)
	if err != nil {
		return fmt.Errorf("lock %d grouping keys: %w", len(ids), err)
	}
	return nil
}

// pgxDriver is the database/sql driver name of PostgreSQL connections.
const pgxDriver = "pgx"
