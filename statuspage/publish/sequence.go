package publish

import (
	"context"
	"fmt"
	"time"

	"firebreak/store"
)

// nextSequence takes the next push sequence from the counter in the database, in a
// transaction of its own that is over before the push is built: greater than every
// sequence taken before by any replica, and at least now in Unix milliseconds, so that a
// platform started on a new database still outnumbers what its status-servers have seen.
func nextSequence(ctx context.Context, db *store.DB, now time.Time) (int64, error) {
	var seq int64
	err := db.InTx(ctx, func(q store.Querier) error {
		floor := now.UnixMilli()
		return q.QueryRowxContext(ctx, q.Rebind(`UPDATE statuspage_sequence
			SET value = CASE WHEN value + 1 > ? THEN value + 1 ELSE ? END WHERE id = 1 RETURNING value`), floor, floor).Scan(&seq)
	})
	if err != nil {
		return 0, fmt.Errorf("take a push sequence: %w", err)
	}
	return seq, nil
}

// currentSequence is the last sequence taken (0 before the first push).
func currentSequence(ctx context.Context, q store.Querier) (int64, error) {
	var seq int64
	if err := q.GetContext(ctx, &seq, `SELECT value FROM statuspage_sequence WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("read the push sequence: %w", err)
	}
	return seq, nil
}
