package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// checkpointInterval is how often the background checkpointer copies the WAL into the
// database file.
const checkpointInterval = time.Second

var registerWriter sync.Once

// sqliteWriterDriver is the sqlite3 driver with automatic checkpoints off. SQLite normally
// checkpoints inside the commit that crosses 1,000 WAL pages, so one unlucky request pays for
// copying them all; the writer here carries every Alertmanager webhook, so checkpoints run
// on their own connection instead (startCheckpoints).
func sqliteWriterDriver() string {
	const name = "sqlite3_firebreak_writer"
	registerWriter.Do(func() {
		sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
			return err
		}})
	})
	return name
}

// startCheckpoints runs PASSIVE checkpoints every second on a connection of their own. A
// passive checkpoint never blocks the writer or readers; it copies what it can, and the WAL
// is reused from its start once everything in it has been copied.
func (db *DB) startCheckpoints(dsn string) error {
	conn, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	conn.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
					slog.Warn("sqlite checkpoint failed", "err", err)
				}
			}
		}
	}()
	db.stopCheckpoints = func() {
		cancel()
		<-done
		// One last full checkpoint leaves a small WAL behind for the next start.
		_, _ = conn.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		conn.Close()
	}
	return nil
}
