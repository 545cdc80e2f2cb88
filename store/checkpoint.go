package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite's WAL only starts over from its beginning when a checkpoint has copied every frame
// in it back into the database file and the writer then begins a transaction. SQLite's own
// automatic checkpoint does that inside the commit that crosses 1,000 pages, so one unlucky
// request pays for copying them all. Here a background connection copies frames beside the
// writer instead; but under a sustained load (a storm of alerts, a transaction every few
// milliseconds) new frames land while it copies, so it never catches up and the WAL grew
// without bound: 1.7 GB in ten seconds of new alerts, every page appended to fresh file
// blocks, and a crash replaying all of it. So once the WAL is long the writer finishes the
// checkpoint itself, between two transactions (nothing can land while it copies, and the
// background pass has copied most of it already), and the next transaction writes the WAL
// from its start again.
const (
	// checkpointInterval is how often the background checkpointer copies the WAL into the
	// database file.
	checkpointInterval = 50 * time.Millisecond
	// walRestartFrames is the length (in pages) past which the writer finishes the
	// checkpoint: 64 MiB of 4 KiB pages.
	walRestartFrames = 16384
	// walSizeLimit is what a WAL file that grew past it is cut back to when it starts over.
	walSizeLimit = 128 << 20
)

var registerWriter sync.Once

// sqliteWriterDriver is the sqlite3 driver with automatic checkpoints off (see above) and
// the WAL file cut back to walSizeLimit whenever it starts over.
func sqliteWriterDriver() string {
	const name = "sqlite3_firebreak_writer"
	registerWriter.Do(func() {
		sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			if _, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil); err != nil {
				return err
			}
			_, err := c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", walSizeLimit), nil)
			return err
		}})
	})
	return name
}

// walState is what the background checkpointer tells the writer.
type walState struct {
	// long is set when the last checkpoint left more than walRestartFrames frames in the WAL.
	long atomic.Bool
	log  *slog.Logger
	// restartFrames is walRestartFrames, smaller in tests.
	restartFrames int
}

// checkpoint runs one checkpoint of the given mode on conn and reports the WAL's length and
// how many of its frames are in the database file now. ran is false when another checkpoint
// was under way (SQLite then reports no lengths, -1 for both).
func checkpoint(ctx context.Context, conn interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, mode string) (frames, copied int, ran bool, err error) {
	var busy int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
		return 0, 0, false, fmt.Errorf("sqlite checkpoint %s: %w", mode, err)
	}
	return frames, copied, busy == 0 && frames >= 0, nil
}

// startCheckpoints runs PASSIVE checkpoints on a connection of their own. A passive
// checkpoint never blocks the writer or readers; it copies what it can.
func (db *DB) startCheckpoints(dsn string) error {
	conn, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	conn.SetMaxOpenConns(1)
	db.wal = &walState{log: slog.Default(), restartFrames: walRestartFrames}
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
				frames, _, ran, err := checkpoint(ctx, conn, "PASSIVE")
				if err != nil {
					if ctx.Err() == nil {
						slog.Warn("sqlite checkpoint failed", "err", err)
					}
					continue
				}
				if ran && frames > db.wal.restartFrames {
					db.wal.long.Store(true)
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

// FinishCheckpoint lets the WAL start over once it is long: called by the writer between
// transactions (the group commit, after answering a batch), it copies what the background
// checkpointer left, with no transaction able to add frames meanwhile. It costs an atomic
// load when the WAL is short, and does nothing on PostgreSQL.
func (db *DB) FinishCheckpoint(ctx context.Context) {
	if db.wal == nil || !db.wal.long.Load() {
		return
	}
	began := time.Now()
	frames, copied, ran, err := checkpoint(ctx, db.W, "PASSIVE")
	switch {
	case err != nil:
		db.wal.log.Warn("sqlite checkpoint by the writer failed", "err", err)
	case ran && copied >= frames:
		// Everything is in the database file: the next transaction starts the WAL over.
		db.wal.long.Store(false)
		db.wal.log.Debug("sqlite WAL starts over", "frames", frames, "took", time.Since(began))
	}
	// Otherwise the background pass was running, or a reader still needs old frames: the
	// next batch tries again.
}
