package app

import (
	"time"

	"firebreak/config"
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
)

// wireOutbox makes the outbox that delivers rollback calls (and later Slack messages and
// status pushes). Handlers register their kinds, with their own lease and retry options,
// as their services are wired. Failed attempts are counted in m.
func wireOutbox(db *store.DB, cfg config.Config, m *metrics.Set, opts Options) *outbox.Outbox {
	return outbox.New(db, outbox.Options{
		MaxAttempts: cfg.Outbox.MaxAttempts,
		MaxBackoff:  time.Duration(cfg.Outbox.MaxBackoff),
		Clock:       opts.Now,
		Log:         opts.Log,
		Metrics:     m,
	})
}
