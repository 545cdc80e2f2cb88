package app

import (
	"context"
	"fmt"
	"log/slog"

	"firebreak/config"
	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/store"
)

// OpenDatabase opens and migrates the configured database. The admin commands (migrate,
// token) use it too.
func OpenDatabase(ctx context.Context, cfg config.Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.URL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// wireGroupCommit starts the group committer: concurrent webhooks share transactions, so
// one fsync carries many. SQLite allows one writer, so it gets one worker, and incident
// changes share its batches too; PostgreSQL runs transactions side by side, so it gets a
// few workers and commits incident changes faster on their own. Batch sizes and waits go to
// m.
func wireGroupCommit(db *store.DB, incs *incidents.Manager, m *metrics.Set, log *slog.Logger) *store.GroupCommitter {
	workers := 1
	if db.Dialect == store.Postgres {
		workers = 4
	}
	writes := store.NewGroupCommitter(db, workers, 128, 4096, log)
	writes.Observe(m)
	if db.Dialect == store.SQLite {
		incs.WriteThrough(writes.Do)
	}
	return writes
}
