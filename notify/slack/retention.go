package slack

import (
	"context"
	"fmt"
	"time"

	"firebreak/store"
)

// Removed is what one DeleteOldTx deleted.
type Removed struct {
	// Replies are thread replies posted (or given up) before the cutoff.
	Replies int64
	// Users are cached display names fetched before the cutoff.
	Users int64
}

// DeleteOldTx deletes, in the caller's transaction, up to limit thread replies that were
// posted or given up and were queued before cutoff, and up to limit cached display names of
// Slack users fetched before cutoff (a name is fetched again when its user next acts in
// Slack). Replies still to post are kept whatever their age. It is part of the retention
// clean-up (retention.delivered_jobs), and runs whether or not Slack is configured, so
// turning Slack off leaves nothing behind for ever.
func DeleteOldTx(ctx context.Context, q store.Querier, cutoff time.Time, limit int) (Removed, error) {
	var out Removed
	res, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM slack_replies WHERE id IN (
		SELECT id FROM slack_replies WHERE created_at < ? AND (ts IS NOT NULL OR skipped = TRUE) ORDER BY created_at LIMIT ?)`),
		cutoff.UTC(), limit)
	if err != nil {
		return out, fmt.Errorf("delete old Slack replies: %w", err)
	}
	if out.Replies, err = res.RowsAffected(); err != nil {
		return out, fmt.Errorf("delete old Slack replies: %w", err)
	}
	res, err = q.ExecContext(ctx, q.Rebind(`DELETE FROM slack_users WHERE user_id IN (
		SELECT user_id FROM slack_users WHERE fetched_at < ? LIMIT ?)`), cutoff.UTC(), limit)
	if err != nil {
		return out, fmt.Errorf("delete stale Slack user names: %w", err)
	}
	if out.Users, err = res.RowsAffected(); err != nil {
		return out, fmt.Errorf("delete stale Slack user names: %w", err)
	}
	return out, nil
}
