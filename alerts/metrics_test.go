package alerts_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/metrics"
	"firebreak/store"
	"firebreak/store/storetest"
)

// syncBuffer is a log destination safe for the group committer's worker to write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// alertCounts reads firebreak_alerts_received_total by result.
func alertCounts(t *testing.T, s *metrics.Set) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range []string{metrics.AlertNew, metrics.AlertDuplicate, metrics.AlertResolved, metrics.AlertLate, metrics.AlertRefused} {
		var m dto.Metric
		if err := s.AlertsReceived.WithLabelValues(r).Write(&m); err != nil {
			t.Fatal(err)
		}
		out[r] = m.GetCounter().GetValue()
	}
	return out
}

func wantCounts(t *testing.T, what string, s *metrics.Set, want map[string]float64) {
	t.Helper()
	got := alertCounts(t, s)
	for r, n := range want {
		if got[r] != n {
			t.Errorf("%s: %s counted %v, want %v (all: %v)", what, r, got[r], n, got)
		}
	}
}

// TestAlertsAreCountedByResult: a new alert, its repeat, its resolve, a late delivery of
// the ended occurrence and a resolve of an alert never seen firing are each counted under
// their result; the two late ones also leave a debug line naming the fingerprint and why.
func TestAlertsAreCountedByResult(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		logs := &syncBuffer{}
		opts := testOptions()
		opts.Metrics = metrics.New(prometheus.NewRegistry(), nil)
		opts.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		r := newRigOpts(t, db, testkit.NewClock(t0), 1, nil, opts)

		down := fire("CheckoutDown", "checkout", "prod", "critical", t0.Add(-2*time.Minute))
		r.ingest(payload("g", down))
		r.ingest(payload("g", down))
		wantCounts(t, "fired, then repeated", opts.Metrics, map[string]float64{"new": 1, "duplicate": 1})

		r.clock.Advance(time.Minute)
		r.ingest(payload("g", resolve(down, t0)))
		r.ingest(payload("g", down)) // the first firing notification again, from a retry queue
		never := resolve(fire("DiskFull", "search", "prod", "warning", t0.Add(-time.Hour)), t0)
		res := r.ingest(payload("h", never))
		wantResult(t, "resolve of an alert never seen", res, 1, 0, 1, 0)
		wantCounts(t, "resolved, a late delivery, a resolve matching nothing", opts.Metrics,
			map[string]float64{"new": 1, "duplicate": 1, "resolved": 1, "late": 2, "refused": 0})

		out := logs.String()
		for _, want := range []string{
			"fingerprint=" + alerts.Fingerprint(down), "late delivery",
			"fingerprint=" + alerts.Fingerprint(never), "resolve matched nothing",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("debug log lacks %q:\n%s", want, out)
			}
		}
		if n := strings.Count(out, "level=DEBUG"); n != 2 {
			t.Errorf("%d debug lines, want one per late alert (2):\n%s", n, out)
		}
	})
}

// TestAlertsOfARolledBackTransactionAreNotCounted: counting happens once the transaction
// committed; a transaction that rolls back (as a group commit batch does before it runs
// again with savepoints) counts nothing.
func TestAlertsOfARolledBackTransactionAreNotCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := testOptions()
		opts.Metrics = metrics.New(prometheus.NewRegistry(), nil)
		r := newRigOpts(t, db, testkit.NewClock(t0), 1, nil, opts)
		p := payload("g", fire("CheckoutDown", "checkout", "prod", "critical", t0.Add(-time.Minute)))
		ctx := context.Background()
		changedMind := errors.New("changed its mind")
		err := db.InTx(ctx, func(q store.Querier) error {
			if _, err := r.in.IngestTx(ctx, q, p); err != nil {
				return err
			}
			return changedMind
		})
		if !errors.Is(err, changedMind) {
			t.Fatal(err)
		}
		wantCounts(t, "rolled back", opts.Metrics, map[string]float64{"new": 0})
		err = db.InTx(ctx, func(q store.Querier) error {
			_, err := r.in.IngestTx(ctx, q, p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		wantCounts(t, "committed", opts.Metrics, map[string]float64{"new": 1})
	})
}

// TestEnvironmentAliasGroupsWithItsCanonicalName: with prod an alias of production, an
// alert labelled env=prod opens its incident in production, and one labelled
// env=production joins it.
func TestEnvironmentAliasGroupsWithItsCanonicalName(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := testOptions()
		opts.EnvironmentAliases = incidents.EnvironmentAliases{"prod": "production"}
		r := newRigOpts(t, db, testkit.NewClock(t0), 1, nil, opts)
		first := r.ingest(payload("a", fire("CheckoutDown", "checkout", "prod", "critical", t0.Add(-2*time.Minute))))
		second := r.ingest(payload("b", fire("CheckoutSlow", "checkout", "production", "warning", t0.Add(-time.Minute))))
		if len(first.Incidents) != 1 || !sameIDs(second.Incidents, first.Incidents) {
			t.Fatalf("incidents %v then %v, want both alerts in one incident", first.Incidents, second.Incidents)
		}
		if env := r.incident(first.Incidents[0]).Environment; env != "production" {
			t.Fatalf("incident environment %q, want the canonical production", env)
		}
	})
}

// TestAlertCountOfRefusedBodies: the alerts of a refused notification are counted as many
// as it names, or as one when the body cannot be read that far.
func TestAlertCountOfRefusedBodies(t *testing.T) {
	for body, want := range map[string]int{
		`{"version":"3","alerts":[{"status":"firing"},{"status":"firing"}]}`: 2,
		`{"version":"4","alerts":[]}`:                                        0,
		`{"version":"4","alerts":[{"status":"firing"}`:                       1,
		`not json`: 1,
		"":         0,
	} {
		if got := alerts.AlertCount([]byte(body)); got != want {
			t.Errorf("AlertCount(%q) = %d, want %d", body, got, want)
		}
	}
}
