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
	ids := lockIDs(keys)
	if err := lockEverything(ctx, q, len(ids) > MaxLockKeys); err != nil {
		return err
	}
	if len(ids) > MaxLockKeys {
		return nil
	}
	return lockEach(ctx, q, ids)
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

func lockEverything(ctx context.Context, q Querier, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := q.ExecContext(ctx, q.Rebind(`SELECT `+fn+`(hashtext(current_schema()), ?)`), everything); err != nil {
		return fmt.Errorf("lock grouping keys: %w", err)
	}
	return nil
}

// lockEach locks ids, which must be sorted, in that order, in one statement: unnest yields
// the array in order and the aggregate takes each lock as the rows come. The caller holds
// the shared lock of lockEverything.
func lockEach(ctx context.Context, q Querier, ids []int32) error {
	_, err := q.ExecContext(ctx, q.Rebind(`SELECT COUNT(pg_advisory_xact_lock(hashtext(current_schema()), id))
		FROM unnest(?::int4[]) AS id`), ids)
	if err != nil {
		return fmt.Errorf("lock %d grouping keys: %w", len(ids), err)
	}
	return nil
}

// pgxDriver is the database/sql driver name of PostgreSQL connections.
const pgxDriver = "pgx"
