package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"firebreak/store"
)

// writeAndRead opens dsn, writes a row, closes it, and checks the row is in the file at path
// when opened by its plain path.
func writeAndRead(t *testing.T, dsn, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO api_tokens (name, hash, scopes, created_at) VALUES ('ci', 'h', 'read', CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s did not create %s: %v", dsn, path, err)
	}
	again, err := store.Open(ctx, "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var name string
	if err := again.R.GetContext(ctx, &name, `SELECT name FROM api_tokens`); err != nil || name != "ci" {
		t.Fatalf("the file %s holds %q, %v; want the row written through %s", path, name, err, dsn)
	}
}

func TestFileURLsOpenTheFileTheyName(t *testing.T) {
	t.Run("relative", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		writeAndRead(t, "file:data/x.db?_busy_timeout=1000", filepath.Join(dir, "data", "x.db"))
		if _, err := os.Stat(filepath.Join(dir, "file:data")); err == nil {
			t.Error(`a directory named "file:data" was created`)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "abs.db")
		writeAndRead(t, "file://"+path, path)
	})
	t.Run("absolute, one slash", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "one.db")
		writeAndRead(t, "file:"+path+"?cache=private", path)
	})
	t.Run("escaped characters", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "with space #1.db")
		writeAndRead(t, "file://"+filepath.Dir(path)+"/with%20space%20%231.db", path)
	})
	t.Run("plain path with URL characters", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "odd?name#.db")
		writeAndRead(t, path, path)
	})
}

func TestSQLitePath(t *testing.T) {
	for dsn, want := range map[string]string{
		"data/firebreak.db":             "data/firebreak.db",
		"file:data/x.db?mode=rwc":       "data/x.db",
		"file:///var/lib/fb/x.db":       "/var/lib/fb/x.db",
		"file://localhost/var/lib/x.db": "/var/lib/x.db",
		"file:/var/lib/x.db":            "/var/lib/x.db",
	} {
		if got, err := store.SQLitePath(dsn); err != nil || got != want {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
	for _, dsn := range []string{"file:", "file://otherhost/x.db", "file::memory:", "file:x.db?mode=memory"} {
		if got, err := store.SQLitePath(dsn); err == nil {
			t.Errorf("SQLitePath(%q) = %q, want an error", dsn, got)
		}
	}
}
