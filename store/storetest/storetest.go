// Package storetest opens fresh, migrated databases for tests: SQLite in a temporary
// directory always, and PostgreSQL when FIREBREAK_TEST_POSTGRES_URL is set, each in a schema
// of its own so tests never see each other's rows.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"firebreak/store"
)

// PostgresURLEnv names the variable that points the tests at a PostgreSQL server.
const PostgresURLEnv = "FIREBREAK_TEST_POSTGRES_URL"

// Each runs fn as a subtest once per database: "sqlite" and, when configured, "postgres".
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a migrated database of the given dialect, closed when the test ends. For
// PostgreSQL without FIREBREAK_TEST_POSTGRES_URL the test is skipped.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	driver, dsn := DSN(t, d)
	ctx := context.Background()
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// DSN returns a driver name and connection string for a fresh, empty database of the
// given dialect (a new file, or a new PostgreSQL schema dropped when the test ends).
func DSN(t testing.TB, d store.Dialect) (driver, dsn string) {
	t.Helper()
	if d == store.SQLite {
		return "sqlite", filepath.Join(t.TempDir(), "firebreak.db")
	}
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Skip("PostgreSQL half skipped: " + PostgresURLEnv + " is not set")
	}
	schema := "t_" + randomHex(8)
	ctx := context.Background()
	admin, err := store.Open(ctx, "postgres", base)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresURLEnv, err)
	}
	if _, err := admin.W.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.W.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return "postgres", u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
