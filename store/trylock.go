package store

import (
	"context"
	"fmt"
)

// TryLockTx takes the named lock for the rest of q's transaction and reports whether it got
// it; it never waits. Scheduled jobs take one so that, of several replicas firing the same
// job at the same moment, one runs it and the others skip.
//
// On PostgreSQL it is a transaction-level advisory lock (pg_try_advisory_xact_lock), released
// by the commit or rollback, so a replica that dies mid-job frees it. The key is derived from
// the current schema and the name, so two installations sharing one database in different
// schemas (and parallel tests, each in its own schema) do not block each other. On SQLite
// there is one process and one writer, so the lock is always granted.
//
// q must be a transaction: outside one, PostgreSQL would release the lock when the statement
// ends.
func TryLockTx(ctx context.Context, q Querier, name string) (bool, error) {
	if DialectOf(q) != Postgres {
		return true, nil
	}
	var got bool
	// md5 rather than hashtext: md5 is documented and stable across PostgreSQL versions.
	err := q.QueryRowxContext(ctx, `SELECT pg_try_advisory_xact_lock(
		('x' || left(md5(current_schema() || '/' || $1), 16))::bit(64)::bigint)`, name).Scan(&got)
	if err != nil {
		return false, fmt.Errorf("try lock %q: %w", name, err)
	}
	return got, nil
}

// DialectOf tells which database q talks to, from its driver's name.
func DialectOf(q Querier) Dialect {
	if q.DriverName() == "pgx" {
		return Postgres
	}
	return SQLite
}
