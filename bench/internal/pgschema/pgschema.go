// Package pgschema gives a benchmark run its own PostgreSQL schema: Fresh creates
// bench_<random> on a server on this machine and returns the server's URL with
// search_path set to it, and a function that drops it again.
package pgschema

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

const (
	// URLEnv points the benchmarks at a PostgreSQL server (a role that may create and drop
	// schemas in that database).
	URLEnv = "FIREBREAK_BENCH_POSTGRES_URL"
	// DefaultURL is the server used when URLEnv is not set.
	DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// Time limits of creating and dropping a schema.
const (
	connectTimeout = 10 * time.Second // connect and CREATE SCHEMA
	dropTimeout    = 60 * time.Second // DROP SCHEMA … CASCADE, which a big prefill makes slow
)

// BaseURL is $FIREBREAK_BENCH_POSTGRES_URL, or DefaultURL when that is empty.
func BaseURL() string {
	if u := os.Getenv(URLEnv); u != "" {
		return u
	}
	return DefaultURL
}

// Fresh makes a fresh schema bench_<random> on the PostgreSQL server at base and returns
// base with search_path set to it, and a function that drops it (and closes the connection).
func Fresh(ctx context.Context, base string) (dbURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", URLEnv, err)
	}
	if err := CheckLoopback(u); err != nil {
		return "", nil, err
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := db.PingContext(cctx); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("connect to %s (set %s): %w", u.Redacted(), URLEnv, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(cctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop = func() error {
		defer db.Close()
		dctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		if _, err := db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// CheckLoopback refuses a PostgreSQL server that is not on this machine: the benchmarks
// create and drop schemas and flood the server, which is nothing to do to a shared one.
// An empty host means a Unix socket, which is local too.
func CheckLoopback(u *url.URL) error {
	host := u.Hostname()
	if host == "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s points at %q: the benchmark only uses a PostgreSQL server on loopback (127.0.0.1, ::1, localhost)", URLEnv, host)
}
