package alerts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestAlertStorm is a bad afternoon: 5,000 alerts of 50 services arrive 10 to a payload
// from 16 connections at once, and Alertmanager repeats a third of the payloads.
// FIREBREAK_STORM=full runs the full size, 50,000 alerts over 200 groups (too slow
// for every CI run under -race; see bench/README.md). The group
// committer has as many workers as `serve` gives it, so on PostgreSQL a repeat may run in
// one transaction while the original runs in another.
func TestAlertStorm(t *testing.T) {
	t.Parallel() // one of the slow stories; they overlap each other
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		groups, perGroup, perPayload, senders := 50, 100, 10, 16
		if os.Getenv("FIREBREAK_STORM") == "full" {
			groups, perGroup = 200, 250
		}
		r := newRigWith(t, db, testkit.NewClock(t0), servingWorkers(db))

		type occurrence struct {
			fp       string
			startsAt time.Time
		}
		sent := map[occurrence]int{} // → group
		var ps []alerts.Payload
		for g := 0; g < groups; g++ {
			for first := 0; first < perGroup; first += perPayload {
				as := make([]template.Alert, 0, perPayload)
				for i := first; i < first+perPayload; i++ {
					// Spread startsAt so occurrences differ by time as well as by labels.
					a := fire("HighErrorRate", fmt.Sprintf("svc-%d", g), "production", "warning",
						t0.Add(-time.Duration(i)*time.Second), "instance", fmt.Sprintf("svc-%d-%03d:8080", g, i))
					as = append(as, a)
					sent[occurrence{alerts.Fingerprint(a), a.StartsAt.UTC()}] = g
				}
				ps = append(ps, payload(fmt.Sprintf("g%d", g), as...))
			}
		}
		distinct := len(ps) * perPayload
		for i := 0; i < len(ps); i += 3 {
			ps = append(ps, ps[i]) // Alertmanager's repeats
		}
		rng := rand.New(rand.NewPCG(1, 2))
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		if len(sent) != distinct {
			t.Fatalf("test bug: %d distinct occurrences built, want %d", len(sent), distinct)
		}

		queue := make(chan alerts.Payload)
		var mu sync.Mutex
		var received, news, dedup int
		var firstErr error
		var wg sync.WaitGroup
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range queue {
					res, err := r.in.Ingest(context.Background(), p)
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					received += res.Received
					news += res.New
					dedup += res.Deduplicated
					mu.Unlock()
				}
			}()
		}
		for _, p := range ps {
			queue <- p
		}
		close(queue)
		wg.Wait()
		if firstErr != nil {
			t.Fatalf("ingest during the storm: %v", firstErr)
		}

		if received != len(ps)*perPayload || news != distinct || dedup != received-distinct {
			t.Fatalf("results add up to received=%d new=%d deduplicated=%d, want %d / %d / %d",
				received, news, dedup, len(ps)*perPayload, distinct, len(ps)*perPayload-distinct)
		}
		if n := r.count("alerts"); n != distinct {
			t.Fatalf("%d alerts stored, want each of the %d sent exactly once", n, distinct)
		}

		ctx := context.Background()
		var rows []struct {
			Fingerprint string    `db:"fingerprint"`
			StartsAt    time.Time `db:"starts_at"`
			IncidentID  int64     `db:"incident_id"`
			GroupKey    string    `db:"group_key"`
		}
		if err := db.R.SelectContext(ctx, &rows, `SELECT fingerprint, starts_at, incident_id, group_key FROM alerts`); err != nil {
			t.Fatal(err)
		}
		incidentOfGroup := map[int]int64{}
		groupOfIncident := map[int64]int{}
		for _, row := range rows {
			g, ok := sent[occurrence{row.Fingerprint, row.StartsAt.UTC()}]
			if !ok {
				t.Fatalf("stored alert %s at %s was never sent", row.Fingerprint, row.StartsAt)
			}
			if want := fmt.Sprintf("g%d", g); row.GroupKey != want {
				t.Fatalf("alert %s stored with group %q, want %q", row.Fingerprint, row.GroupKey, want)
			}
			if id, ok := incidentOfGroup[g]; ok && id != row.IncidentID {
				t.Fatalf("group g%d is split over incidents %d and %d", g, id, row.IncidentID)
			}
			if other, ok := groupOfIncident[row.IncidentID]; ok && other != g {
				t.Fatalf("incident %d mixes groups g%d and g%d", row.IncidentID, other, g)
			}
			incidentOfGroup[g] = row.IncidentID
			groupOfIncident[row.IncidentID] = g
		}
		if n := r.count("incidents"); n > groups || n != len(groupOfIncident) {
			t.Fatalf("%d incidents for %d groups (%d hold alerts), want at most one per group and none empty", n, groups, len(groupOfIncident))
		}
		// Each incident's alert count, as the API reads it, is its group's.
		for g, id := range incidentOfGroup {
			if as := r.alertsOf(id); len(as) != perGroup {
				t.Fatalf("incident %d of g%d holds %d alerts, want %d", id, g, len(as), perGroup)
			}
		}
	})
}
