package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"firebreak/accounts"
	"firebreak/config"
	"firebreak/outbox"
	"firebreak/scheduler"
	"firebreak/store"
	"firebreak/tokens"
)

// The retention clean-up: every minute, at second 0 so every replica ticks together and
// only one does the work, at most retentionBatch rows a table. Measured on SQLite, deleting
// 10,000 delivered jobs holds the writer about 100 ms and 1,000 about 30 ms; 5,000 a minute
// is still far more than Firebreak delivers.
const (
	RetentionJob   = "retention"
	retentionSpec  = "0 * * * * *"
	retentionBatch = 5000
)

// The token usage flush: every replica writes the last-use times it gathered in memory
// (a write per request would put the token table on Alertmanager's hot path), every 30 s
// and once more at shutdown (App.Run).
const (
	TokenUsageJob  = "token-usage"
	tokenUsageSpec = "*/30 * * * * *"
)

// The expired-session purge: a session past its expiry already lets nobody in (the lookup
// checks expires_at); deleting it every ten minutes keeps the table the size of the sessions
// alive. It runs on every replica (RunLocal): accounts writes through its own connection,
// which inside the scheduler's transaction would wait for itself on SQLite, and deleting
// the same expired rows twice is harmless.
const (
	SessionPurgeJob  = "session-purge"
	sessionPurgeSpec = "0 */10 * * * *"
)

// scheduleSessionPurge adds the expired-session purge.
func scheduleSessionPurge(s *scheduler.Scheduler, acc *accounts.Store, log *slog.Logger) error {
	err := s.Add(scheduler.Job{Name: SessionPurgeJob, Spec: sessionPurgeSpec, RunLocal: func(ctx context.Context, _ time.Time) error {
		n, err := acc.PurgeExpired(ctx)
		if n > 0 {
			log.Info("deleted expired sessions", "sessions", n)
		}
		return err
	}})
	if err != nil {
		return fmt.Errorf("schedule %s: %w", SessionPurgeJob, err)
	}
	return nil
}

// wireScheduler registers the periodic jobs; Run starts them.
func wireScheduler(db *store.DB, reg prometheus.Registerer, ts *tokens.Store, cfg config.Config, log *slog.Logger) (*scheduler.Scheduler, error) {
	s := scheduler.New(db, scheduler.Options{Log: log, Registry: reg})
	err := s.Add(scheduler.Job{Name: TokenUsageJob, Spec: tokenUsageSpec, RunLocal: func(ctx context.Context, _ time.Time) error {
		return ts.FlushUsage(ctx)
	}})
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", TokenUsageJob, err)
	}
	keep := time.Duration(cfg.Retention.DeliveredJobs)
	err = s.Add(scheduler.Job{Name: RetentionJob, Spec: retentionSpec, Run: func(ctx context.Context, q store.Querier, at time.Time) error {
		return cleanUp(ctx, q, at.Add(-keep), log)
	}})
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", RetentionJob, err)
	}
	return s, nil
}

// cleanUp deletes delivered outbox jobs, posted Slack replies and cached Slack names older
// than cutoff. (Grouping locks are advisory locks now, which leave no rows behind.)
func cleanUp(ctx context.Context, q store.Querier, cutoff time.Time, log *slog.Logger) error {
	jobs, err := outbox.DeleteDeliveredTx(ctx, q, cutoff, retentionBatch)
	if err != nil {
		return err
	}
	if err := cleanUpSlack(ctx, q, cutoff, log); err != nil {
		return err
	}
	if jobs > 0 {
		log.Info("retention: deleted old rows", "delivered_jobs", jobs, "before", cutoff)
	}
	return nil
}
