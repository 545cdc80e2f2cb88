package app

import (
	"time"

	"firebreak/config"
	"firebreak/deploys"
	"firebreak/outbox"
	"firebreak/store"
)

// wireOutbox makes the outbox that delivers rollback calls (and later Slack messages and
// status pushes). Handlers register themselves as their services are wired.
func wireOutbox(db *store.DB, cfg config.Config, hooks map[string]deploys.Hook, opts Options) *outbox.Outbox {
	return outbox.New(db, outbox.Options{
		MaxAttempts: cfg.Outbox.MaxAttempts,
		MaxBackoff:  time.Duration(cfg.Outbox.MaxBackoff),
		Lease:       leaseFor(hooks),
		Clock:       opts.Now,
		Log:         opts.Log,
	})
}

// leaseFor is how long a claimed outbox job stays reserved: longer than the slowest hook may
// run, so no other worker or replica starts the same rollback while the first still runs.
func leaseFor(hooks map[string]deploys.Hook) time.Duration {
	lease := 5 * time.Minute
	for _, h := range hooks {
		if t := h.Timeout + time.Minute; t > lease {
			lease = t
		}
	}
	return lease
}
