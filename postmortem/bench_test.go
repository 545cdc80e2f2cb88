package postmortem_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// BenchmarkPostmortem builds and renders the postmortem of a large incident, 5,000
// timeline events and 2,000 alerts, in each format, on each database: the figure is what
// GET /api/v1/incidents/{id}/postmortem costs for it (reads and rendering). Target: under
// 50 ms an operation. Run with `go test -run '^$' -bench Postmortem ./postmortem/`.
func BenchmarkPostmortem(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == store.Postgres && os.Getenv(storetest.PostgresURLEnv) == "" {
				b.Skip("PostgreSQL half skipped: " + storetest.PostgresURLEnv + " is not set")
			}
			db := storetest.Open(b, d)
			pm, id := largeIncident(b, db, 5000, 2000)
			for _, f := range []postmortem.Format{postmortem.FormatJSON, postmortem.FormatMarkdown, postmortem.FormatHTML} {
				b.Run(string(f), func(b *testing.B) {
					ctx := context.Background()
					var size int
					for b.Loop() {
						r, err := pm.Get(ctx, id)
						if err != nil {
							b.Fatal(err)
						}
						out, err := postmortem.Render(r, f)
						if err != nil {
							b.Fatal(err)
						}
						size = len(out)
					}
					b.ReportMetric(float64(size)/1024, "KiB")
				})
			}
		})
	}
}

// largeIncident stores a resolved incident of checkout with the given numbers of timeline
// events (a mix of alert lines, Firebreak's lines and people's Markdown notes) and alerts,
// a suspect deploy, and twenty earlier incidents of the service. Rows are written with
// plain INSERTs in one transaction: the setup is not what is measured.
func largeIncident(b *testing.B, db *store.DB, events, alertCount int) (*postmortem.Service, int64) {
	b.Helper()
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	now := start
	m := incidents.NewManager(db, func() time.Time { return now })
	tr := deploys.NewTracker(db, m, 30*time.Minute, nil)
	m.OnChange(tr.OnIncidentChange)
	for i := 0; i < 20; i++ {
		now = start.Add(-time.Duration(i+1) * 72 * time.Hour)
		earlier, err := m.Declare(ctx, "carol", incidents.DeclareInput{Title: "earlier", Severity: "sev2", Service: "checkout", Environment: "prod"})
		if err != nil {
			b.Fatal(err)
		}
		now = now.Add(time.Duration(i+5) * time.Minute)
		if _, err := m.Transition(ctx, earlier.ID, incidents.Resolve, "carol", ""); err != nil {
			b.Fatal(err)
		}
	}
	now = start.Add(-5 * time.Minute)
	if _, err := tr.Record(ctx, deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.2", PreviousVersion: "1.4.1"}); err != nil {
		b.Fatal(err)
	}
	now = start
	inc, err := m.Declare(ctx, "bob", incidents.DeclareInput{Title: "Checkout is failing", Severity: "sev1", Service: "checkout", Environment: "prod"})
	if err != nil {
		b.Fatal(err)
	}
	err = db.InTx(ctx, func(q store.Querier) error {
		for i := 0; i < events; i++ {
			at := start.Add(time.Duration(i) * time.Second)
			actor, kind, text := "alertmanager", "alert_firing", fmt.Sprintf("Alert HighErrorRate (5xx on checkout-%d) is firing.", i%50)
			switch i % 10 {
			case 3:
				actor, kind, text = "bob", "note", fmt.Sprintf("Still seeing **%d%%** errors on `/pay`.\nLooking at the [dashboard](https://grafana.example.com/d/%d).", i%100, i)
			case 7:
				actor, kind, text = "firebreak", "deploy_during", fmt.Sprintf("Deploy checkout 1.4.%d (prod): deployed during the incident.", i)
			}
			if _, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO timeline_events (incident_id, at, actor, kind, text, public)
				VALUES (?, ?, ?, ?, ?, ?)`), inc.ID, at, actor, kind, text, false); err != nil {
				return err
			}
		}
		for i := 0; i < alertCount; i++ {
			labels := fmt.Sprintf(`{"alertname":"HighErrorRate%d","service":"checkout","instance":"checkout-%d","severity":"critical"}`, i%7, i)
			if _, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO alerts (fingerprint, starts_at, incident_id, status, alertname,
				labels, annotations, generator_url, group_key, ends_at, first_seen_at, last_seen_at, repeats)
				VALUES (?, ?, ?, 'resolved', ?, ?, ?, '', 'g', ?, ?, ?, 0)`),
				fmt.Sprintf("%016x", i), start.Add(time.Duration(i)*time.Millisecond), inc.ID, fmt.Sprintf("HighErrorRate%d", i%7),
				labels, `{"summary":"5xx above 5%"}`, start.Add(time.Hour), start, start); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	now = start.Add(2 * time.Hour)
	if _, err := m.Transition(ctx, inc.ID, incidents.Resolve, "bob", ""); err != nil {
		b.Fatal(err)
	}
	return postmortem.New(db, m, tr, nil), inc.ID
}
