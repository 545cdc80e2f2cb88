// Package store opens Firebreak's database (embedded SQLite or PostgreSQL), runs its
// migrations and gives domain packages a narrow Querier to run their own SQL with.
//
// Every domain store method takes a Querier so that it runs the same inside or outside a
// transaction. SQL is written once, with ? placeholders, and passed through Rebind.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "github.com/mattn/go-sqlite3"    // registers the "sqlite3" database/sql driver
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The two supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what a store method needs: plain queries and sqlx's scanning helpers. Both
// *sqlx.DB and *sqlx.Tx satisfy it.
type Querier interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// DB is an open database. Writes go through W; reads may use R.
//
// On SQLite, W is a single connection: SQLite allows one writer at a time, and serialising
// writers in Go means "database is locked" never reaches a user. R is a separate read-only
// pool, so reads run beside the writer under WAL. On PostgreSQL both are the same pool.
type DB struct {
	Dialect Dialect
	W       *sqlx.DB
	R       *sqlx.DB
	// stopCheckpoints ends SQLite's background checkpointer; nil on PostgreSQL.
	stopCheckpoints func()
	// wal is what the checkpointer tells the writer (see checkpoint.go); nil on PostgreSQL.
	wal *walState
}

// Open connects to the database named by driver ("sqlite" or "postgres") and url: for
// SQLite a file path or a file: URL (file:data/x.db?..., file:///abs/x.db; see SQLitePath),
// for PostgreSQL a postgres:// URL. It does not migrate.
func Open(ctx context.Context, driver, dsn string) (*DB, error) {
	switch Dialect(driver) {
	case SQLite:
		return openSQLite(ctx, dsn)
	case Postgres:
		return openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("open database: unknown driver %q (want sqlite or postgres)", driver)
	}
}

func openSQLite(ctx context.Context, dsn string) (*DB, error) {
	target, err := parseSQLiteURL(dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	path := target.Path
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: create directory %s: %w", dir, err)
		}
	}
	// FULL synchronous: WAL with NORMAL can lose the last commits on power loss, and an
	// alert we answered 2xx for must never be lost. The statement cache saves re-preparing
	// the same few statements thousands of times a second; the page cache (64 MiB) keeps the
	// hot alert index in memory.
	common := "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=1&_stmt_cache_size=256"
	w, err := sqlx.Open(sqliteWriterDriver(), sqliteDSN(path, target.Params, common+"&_txlock=immediate&_cache_size=-65536"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sqlx.Open("sqlite3", sqliteDSN(path, target.Params, common+"&_query_only=1"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite reader %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db := &DB{Dialect: SQLite, W: w, R: r}
	if err := db.startCheckpoints(sqliteDSN(path, target.Params, common)); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redact(dsn), err)
	}
	return &DB{Dialect: Postgres, W: db, R: db}, nil
}

// redact hides a password in a connection URL so it can be logged.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.stopCheckpoints != nil {
		db.stopCheckpoints()
	}
	err := db.W.Close()
	if db.R != db.W {
		err = errors.Join(err, db.R.Close())
	}
	return err
}

// Ping reports whether the database answers; readiness uses it.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.W.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// InTx runs fn in one write transaction, committing if it returns nil and rolling back
// otherwise. What fn registered with AfterCommit runs once the commit succeeded.
func (db *DB) InTx(ctx context.Context, fn func(q Querier) error) (err error) {
	sqlTx, err := db.W.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &txQuerier{Tx: sqlTx}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	runAll(tx.fns)
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation on either database.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// IsUnavailable reports whether err means the database could not serve the request right
// now (busy, locked, gone, timed out), so the caller should retry later: HTTP 503.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) {
		return true
	}
	s := err.Error()
	for _, m := range []string{"database is locked", "SQLITE_BUSY", "connection refused", "sql: database is closed",
		"failed to connect", "conn closed", "SQLSTATE 57P", "SQLSTATE 08", "SQLSTATE 53", "SQLSTATE 40001", "SQLSTATE 40P01", "i/o timeout"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// SkipLocked is the suffix that lets several PostgreSQL replicas claim different rows of a
// queue at once. SQLite has one writer, which serialises claims by itself, and no such
// clause: this is the one place where the dialects differ in DML.
func (db *DB) SkipLocked() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// UTC is an optional time as a query argument: NULL when absent, else in UTC, the zone every
// stored time is in (SQLite compares times as text).
func UTC(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
