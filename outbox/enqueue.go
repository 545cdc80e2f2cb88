package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"firebreak/store"
)

// EnqueueTx writes a job in the caller's transaction. A non-empty dedupKey makes the job
// unique: enqueueing the same key again does nothing and reports created=false.
func (o *Outbox) EnqueueTx(ctx context.Context, q store.Querier, kind string, payload any, dedupKey string) (id int64, created bool, err error) {
	var key any
	if dedupKey != "" {
		key = dedupKey
	}
	return o.insertTx(ctx, q, kind, payload, key, nil)
}

// EnqueueCoalescedTx writes a job of a coalescing kind (KindOptions.Coalesce) in the caller's
// transaction. It supersedes the pending jobs of the same kind and coalesceKey that no worker
// holds: of several enqueued before a worker gets to them, only the newest is delivered.
func (o *Outbox) EnqueueCoalescedTx(ctx context.Context, q store.Querier, kind string, payload any, coalesceKey string) (int64, error) {
	if !o.kind(kind).opts.Coalesce {
		return 0, fmt.Errorf("enqueue %s job: the kind is not registered as coalescing", kind)
	}
	if coalesceKey == "" {
		return 0, fmt.Errorf("enqueue %s job: a coalesce key is required", kind)
	}
	id, _, err := o.insertTx(ctx, q, kind, payload, nil, coalesceKey)
	if err != nil {
		return 0, err
	}
	// Jobs a worker holds, or another transaction is claiming, stay: the claim rule delivers
	// this one after them, and drops them if they come back for a retry.
	if err := o.dropSupersededTx(ctx, q, kind, coalesceKey, id, o.opts.Clock().UTC()); err != nil {
		return 0, err
	}
	return id, nil
}

func (o *Outbox) insertTx(ctx context.Context, q store.Querier, kind string, payload any, dedupKey, coalesceKey any) (id int64, created bool, err error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return 0, false, fmt.Errorf("encode %s job: %w", kind, err)
	}
	now := o.opts.Clock().UTC()
	err = q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO outbox_jobs (kind, payload, dedup_key, coalesce_key, status, attempts, run_at,
		created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`),
		kind, string(raw), dedupKey, coalesceKey, now, now, now).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("enqueue %s job: %w", kind, err)
	}
	if id == 0 {
		return 0, false, nil
	}
	o.Wake()
	return id, true, nil
}

// dropSupersededTx deletes the pending jobs of kind and key older than newest that no worker
// holds. Rows another transaction has locked are skipped rather than waited for (on
// PostgreSQL), so an enqueue never waits on a claim: what is left is never claimed (a newer
// job exists) and goes at the next enqueue or claim of the key.
func (o *Outbox) dropSupersededTx(ctx context.Context, q store.Querier, kind, key string, newest int64, now time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM outbox_jobs WHERE id IN (SELECT id FROM outbox_jobs
		WHERE kind = ? AND coalesce_key = ? AND status = 'pending' AND id < ? AND (locked_until IS NULL OR locked_until <= ?)`+
		o.db.SkipLocked()+`)`), kind, key, newest, now)
	if err != nil {
		return fmt.Errorf("drop superseded %s jobs: %w", kind, err)
	}
	return nil
}
