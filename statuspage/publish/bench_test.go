package publish_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/store/storetest"
)

// BenchmarkSnapshot builds and encodes the snapshot of a busy page: 50 components, 10,000
// incidents of their services in the last 90 days (each a status period of the uptime
// bars), 2,000 of them public with four updates each. The figure is what every push costs
// the platform (one a minute per status-server, and one per public change) before the
// network. Run with `go test -run '^$' -bench Snapshot ./statuspage/publish/`.
func BenchmarkSnapshot(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == store.Postgres && os.Getenv(storetest.PostgresURLEnv) == "" {
				b.Skip("PostgreSQL half skipped: " + storetest.PostgresURLEnv + " is not set")
			}
			db := storetest.Open(b, d)
			svc := busyPage(b, db, 50, 10000, 2000)
			ctx := context.Background()
			var size int
			for b.Loop() {
				snap, err := svc.Snapshot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				raw, err := json.Marshal(snap)
				if err != nil {
					b.Fatal(err)
				}
				size = len(raw)
			}
			b.ReportMetric(float64(size)/1024, "KiB")
		})
	}
}

// BenchmarkIncidentHook is what the status page adds to an incident change that may move a
// component (an incident opened on a component's service): the hook's reads and the
// enqueue of one push, in the change's transaction.
func BenchmarkIncidentHook(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == store.Postgres && os.Getenv(storetest.PostgresURLEnv) == "" {
				b.Skip("PostgreSQL half skipped: " + storetest.PostgresURLEnv + " is not set")
			}
			db := storetest.Open(b, d)
			svc := busyPage(b, db, 50, 1000, 200)
			ctx := context.Background()
			m := incidents.NewManager(db, nil)
			inc, err := m.Declare(ctx, "bench", incidents.DeclareInput{Title: "x", Severity: "sev2", Service: "svc-7"})
			if err != nil {
				b.Fatal(err)
			}
			ev := incidents.Event{ID: 1, IncidentID: inc.ID, Kind: incidents.KindOpened, At: time.Now()}
			// A transaction with one small write (its commit syncs like an incident change's),
			// for comparison: the hook's cost is the difference.
			b.Run("one-write", func(b *testing.B) {
				for b.Loop() {
					if err := db.InTx(ctx, func(q store.Querier) error {
						_, err := q.ExecContext(ctx, `UPDATE statuspage_sequence SET value = value + 1 WHERE id = 1`)
						return err
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("with-hook", func(b *testing.B) {
				for b.Loop() {
					err := db.InTx(ctx, func(q store.Querier) error { return svc.OnIncidentChange(ctx, q, inc, ev) })
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// busyPage stores the page's history with plain inserts in one transaction (the setup is not
// what is measured) and returns a service that pushes to one status-server.
func busyPage(b *testing.B, db *store.DB, components, affecting, public int) *publish.Service {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var comps []publish.ConfigComponent
	for i := range components {
		comps = append(comps, publish.ConfigComponent{Name: fmt.Sprintf("Component %d", i), Group: fmt.Sprintf("Group %d", i/10),
			Services: []string{fmt.Sprintf("svc-%d", i)}, Automatic: true})
	}
	m := incidents.NewManager(db, func() time.Time { return now })
	jobs := outbox.New(db, outbox.Options{Log: quiet()})
	svc := publish.New(db, m, jobs, publish.Options{Components: comps, Log: quiet(),
		Targets: []publish.Target{{URL: "http://127.0.0.1:9/api/push", Secret: []byte("s")}}})
	if err := svc.SyncConfig(ctx); err != nil {
		b.Fatal(err)
	}
	statuses := []incidents.PublicStatus{incidents.PublicInvestigating, incidents.PublicIdentified, incidents.PublicMonitoring, incidents.PublicResolved}
	err := db.InTx(ctx, func(q store.Querier) error {
		for i := range affecting {
			opened := now.Add(-time.Duration(i) * 89 * 24 * time.Hour / time.Duration(affecting))
			resolved := opened.Add(40 * time.Minute)
			inc := incidents.Incident{Title: fmt.Sprintf("Incident %d", i), Status: incidents.Resolved, Severity: incidents.Sev2,
				Service: fmt.Sprintf("svc-%d", i%components), ImpactStartedAt: opened, OpenedAt: opened, UpdatedAt: resolved,
				MitigatedAt: &resolved, ResolvedAt: &resolved}
			if err := m.CreateTx(ctx, q, &inc, incidents.Event{At: opened, Actor: "alertmanager", Kind: incidents.KindOpened, Text: "Opened."}); err != nil {
				return err
			}
			if i >= public {
				continue
			}
			for j, st := range statuses {
				_, err := m.RecordTx(ctx, q, inc, incidents.Event{At: opened.Add(time.Duration(j) * 10 * time.Minute), Actor: "alice",
					Kind: incidents.KindStatusUpdate, Public: true, PublicStatus: st,
					Text: "We are looking into elevated error rates on checkout and will update within 30 minutes."})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}
