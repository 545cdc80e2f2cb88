package outbox

import (
	"context"
	"fmt"
	"time"

	"firebreak/store"
)

// DeleteDeliveredTx deletes up to limit delivered jobs (status done) whose delivery was
// recorded before cutoff, oldest first, and reports how many it deleted. Jobs that gave up
// (dead) are kept for people to inspect, and pending ones are still to run. The limit keeps
// one clean-up short: on SQLite it holds the only writer while it runs, so a large backlog
// is cleared over several runs instead of stalling alert ingestion in one. A deleted job's
// dedup key goes with it; the keys guard against retries and replicas enqueueing twice
// within moments, not weeks apart.
func DeleteDeliveredTx(ctx context.Context, q store.Querier, cutoff time.Time, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM outbox_jobs WHERE id IN (
		SELECT id FROM outbox_jobs WHERE status = 'done' AND updated_at < ? ORDER BY id LIMIT ?)`), cutoff.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("delete delivered outbox jobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete delivered outbox jobs: %w", err)
	}
	return n, nil
}
