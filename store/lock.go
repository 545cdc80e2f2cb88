package store

import (
	"context"
	"fmt"
	"slices"
)

// MaxLockKeys is how many keys LockKeys locks one by one. A transaction that needs more
// (a batch of webhooks naming thousands of services) locks everything at once instead:
// PostgreSQL keeps advisory locks in a shared table of about 64 per connection, and
// thousands in one transaction would exhaust it.
const MaxLockKeys = 256

// allKeys is the key every locker holds shared and a transaction with too many keys holds
// exclusively.
const allKeys = "*"

// LockKeys takes an exclusive lock on each of keys until the transaction q ends, always in
// the same (sorted) order, so two transactions that lock overlapping keys wait for each other
// instead of deadlocking. It is how replicas serialise a decision such as "which incident
// does this alert join": the lock names the decision, not a row, so it also covers rows that
// do not exist yet.
//
// On PostgreSQL the locks are transaction-level advisory locks keyed by a hash of the schema
// and the key (so tests in different schemas never wait for each other); taking a key the
// transaction already holds returns at once. On SQLite it does nothing: the database has one
// writer, and every write transaction already runs alone.
func LockKeys(ctx context.Context, q Querier, keys []string) error {
	if len(keys) == 0 || q.DriverName() != pgxDriver {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	// Every locker takes the "everything" lock first, shared; a transaction with too many
	// keys takes it exclusively and no other.
	all := `SELECT pg_advisory_xact_lock_shared(hashtextextended(current_schema() || chr(31) || ?, 0))`
	if len(keys) > MaxLockKeys {
		all = `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || chr(31) || ?, 0))`
	}
	if _, err := q.ExecContext(ctx, q.Rebind(all), allKeys); err != nil {
		return fmt.Errorf("lock grouping keys: %w", err)
	}
	if len(keys) > MaxLockKeys {
		return nil
	}
	// One statement for all keys: the subquery sorts the hashes, and the aggregate takes the
	// locks in that order. Two keys with the same hash are one lock, which only serialises a
	// little more.
	_, err := q.ExecContext(ctx, q.Rebind(`SELECT COUNT(pg_advisory_xact_lock(h)) FROM (
		SELECT DISTINCT hashtextextended(current_schema() || chr(31) || k, 0) AS h FROM unnest(?::text[]) AS k ORDER BY h
	) AS sorted`), keys)
	if err != nil {
		return fmt.Errorf("lock %d grouping keys: %w", len(keys), err)
	}
	return nil
}

// pgxDriver is the database/sql driver name of PostgreSQL connections.
const pgxDriver = "pgx"
