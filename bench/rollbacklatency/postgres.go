package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// createSchema makes a fresh schema bench_<random> on the PostgreSQL server at base and
// returns base with search_path set to it, and a function that drops it again.
func createSchema(ctx context.Context, base string) (dbURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", postgresURLEnv, err)
	}
	if err := checkLoopback(u); err != nil {
		return "", nil, err
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", redacted(u), err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(cctx); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("connect to %s (set %s): %w", redacted(u), postgresURLEnv, err)
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
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

// checkLoopback refuses a PostgreSQL server that is not on this machine: the benchmark
// creates and drops schemas and floods the server, which is nothing to do to a shared one.
// An empty host means a Unix socket, which is local too.
func checkLoopback(u *url.URL) error {
	host := u.Hostname()
	if host == "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s points at %q: the benchmark only uses a PostgreSQL server on loopback (127.0.0.1, ::1, localhost)", postgresURLEnv, host)
}

func redacted(u *url.URL) string { return u.Redacted() }
