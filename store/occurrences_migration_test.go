package store_test

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"firebreak/migrations"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestMigration0005KeepsOneFiringOccurrencePerFingerprint: older versions stored a second
// firing row when a firing alert came with another startsAt. Migration 0005 keeps the latest
// firing and ends the others, then makes a second firing occurrence of one fingerprint
// impossible while any number of ended ones, with any starts, may exist.
func TestMigration0005KeepsOneFiringOccurrencePerFingerprint(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			driver, dsn := storetest.DSN(t, d)
			ctx := context.Background()
			db, err := store.Open(ctx, driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sub, err := fs.Sub(migrations.FS, string(d))
			if err != nil {
				t.Fatal(err)
			}
			dialect := goose.DialectSQLite3
			if d == store.Postgres {
				dialect = goose.DialectPostgres
			}
			p, err := goose.NewProvider(dialect, db.W.DB, sub)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 4); err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
			exec := func(query string, args ...any) {
				t.Helper()
				if _, err := db.W.ExecContext(ctx, db.W.Rebind(query), args...); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
			}
			exec(`INSERT INTO incidents (title, status, severity, impact_started_at, opened_at, updated_at) VALUES ('x', 'observing', 'sev3', ?, ?, ?)`, t0, t0, t0)
			insert := func(fp string, start time.Time, status string) {
				t.Helper()
				var ends any
				if status == "resolved" {
					ends = start.Add(time.Minute)
				}
				exec(`INSERT INTO alerts (fingerprint, starts_at, incident_id, status, alertname, labels, annotations, group_key,
					ends_at, first_seen_at, last_seen_at) VALUES (?, ?, 1, ?, 'A', '{}', '{}', 'g', ?, ?, ?)`,
					fp, start, status, ends, start, start.Add(2*time.Minute))
			}
			insert("aaaa", t0, "firing")
			insert("aaaa", t0.Add(10*time.Second), "firing") // the same firing period, other start
			insert("bbbb", t0, "resolved")
			insert("bbbb", t0.Add(time.Hour), "firing")
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}

			var firing []string
			if err := db.R.SelectContext(ctx, &firing, `SELECT fingerprint || ' ' || id FROM alerts WHERE status = 'firing' ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			if len(firing) != 2 || firing[0] != "aaaa 2" || firing[1] != "bbbb 4" {
				t.Fatalf("firing after the migration: %v, want the latest of aaaa (2) and bbbb (4)", firing)
			}
			var ended int
			if err := db.R.GetContext(ctx, &ended, `SELECT COUNT(*) FROM alerts WHERE id = 1 AND status = 'resolved' AND ends_at IS NOT NULL`); err != nil || ended != 1 {
				t.Fatalf("the older firing row of aaaa: ended %d (%v), want resolved with an end", ended, err)
			}
			// A second firing occurrence is refused; an ended one with the same start is not.
			if _, err := db.W.ExecContext(ctx, db.W.Rebind(`INSERT INTO alerts (fingerprint, starts_at, incident_id, status, alertname,
				labels, annotations, group_key, first_seen_at, last_seen_at) VALUES ('aaaa', ?, 1, 'firing', 'A', '{}', '{}', 'g', ?, ?)`),
				t0.Add(time.Hour), t0, t0); !store.IsUniqueViolation(err) {
				t.Fatalf("a second firing occurrence of aaaa: %v, want a unique violation", err)
			}
			insert("bbbb", t0, "resolved")

			// And it can be undone and done again.
			if _, err := p.DownTo(ctx, 4); err != nil {
				t.Fatalf("down to 4: %v", err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
		})
	}
}
