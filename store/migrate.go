package store

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"

	"firebreak/migrations"
)

// migrationLockID is the PostgreSQL advisory lock held while migrating.
const migrationLockID = 0x46697265627265 // "Firebre"

// Migrate applies every pending migration of the database's dialect. On PostgreSQL it holds
// a session advisory lock, so replicas starting together migrate once.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrationProvider()
	if err != nil {
		return err
	}
	if db.Dialect == Postgres {
		// pg_advisory_lock blocks until the lock is free, where goose's own locker polls
		// every few seconds: replicas (and parallel tests) start without waiting for a tick.
		conn, err := db.W.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return fmt.Errorf("migrate: take advisory lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck // released with the session anyway
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.Dialect, err)
	}
	for _, r := range results {
		slog.Info("migration applied", "dialect", db.Dialect, "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// MigrationVersion reports the newest applied migration.
func (db *DB) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := db.migrationProvider()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read migration version: %w", err)
	}
	return v, nil
}

func (db *DB) migrationProvider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, string(db.Dialect))
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", db.Dialect, err)
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db.W.DB, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", db.Dialect, err)
	}
	return p, nil
}
