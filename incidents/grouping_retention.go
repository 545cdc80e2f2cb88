package incidents

import (
	"context"
	"fmt"
	"time"

	"firebreak/store"
)

// DeleteIdleGroupingLocksTx deletes up to limit grouping-lock rows (see LockGroupTx) last
// touched before cutoff and reports how many it deleted. A row only gives transactions
// something to lock and is written again by the next alert or deploy of its key, so an idle
// one can go; without this clean-up the table keeps a row for every group key ever seen.
//
// On PostgreSQL a transaction that touches a row while this runs is safe either way: the
// delete waits for it and re-checks touched_at, which is then recent, so the row stays; and
// a LockGroupTx arriving after the delete waits for it and inserts the row afresh.
func DeleteIdleGroupingLocksTx(ctx context.Context, q store.Querier, cutoff time.Time, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM grouping_locks WHERE key IN (
		SELECT key FROM grouping_locks WHERE touched_at < ? LIMIT ?) AND touched_at < ?`), cutoff.UTC(), limit, cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete idle grouping locks: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete idle grouping locks: %w", err)
	}
	return n, nil
}
