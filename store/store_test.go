package store_test

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"firebreak/migrations"
	"firebreak/store"
	"firebreak/store/storetest"
)

func TestMigrationFoldersHoldTheSameNumbers(t *testing.T) {
	numbers := func(dir string) []string {
		entries, err := fs.ReadDir(migrations.FS, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, strings.SplitN(path.Base(e.Name()), "_", 2)[0])
		}
		sort.Strings(out)
		return out
	}
	s, p := numbers("sqlite"), numbers("postgres")
	if strings.Join(s, ",") != strings.Join(p, ",") {
		t.Fatalf("sqlite migrations %v, postgres migrations %v: want the same numbers", s, p)
	}
	if len(s) == 0 {
		t.Fatal("no migrations")
	}
}

func TestMigrateIsIdempotentAndTransactionsRollBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, err := db.MigrationVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("version %d, %v", v, err)
		}
		boom := errors.New("boom")
		err = db.InTx(ctx, func(q store.Querier) error {
			_, err := q.ExecContext(ctx, q.Rebind("INSERT INTO api_tokens (name, hash, scopes, created_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP)"), "x", "h", "read")
			if err != nil {
				t.Fatal(err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want boom", err)
		}
		var n int
		if err := db.R.GetContext(ctx, &n, "SELECT COUNT(*) FROM api_tokens"); err != nil || n != 0 {
			t.Fatalf("rows after rollback: %d, %v", n, err)
		}
		err = db.InTx(ctx, func(q store.Querier) error {
			for i := 0; i < 2; i++ {
				if _, err := q.ExecContext(ctx, q.Rebind("INSERT INTO api_tokens (name, hash, scopes, created_at) VALUES (?, ?, ?, CURRENT_TIMESTAMP)"), "x", "h", "read"); err != nil {
					return err
				}
			}
			return nil
		})
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v, want a unique violation", err)
		}
	})
}

func TestReplicasMigratingAtOnceMigrateOnce(t *testing.T) {
	driver, dsn := storetest.DSN(t, store.Postgres)
	ctx := context.Background()
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			db, err := store.Open(ctx, driver, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(ctx)
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
}
