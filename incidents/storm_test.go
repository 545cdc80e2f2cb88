package incidents

import (
	"context"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// Summary lines of several incidents grow together in one statement, and a line another
// replica grew since is read again rather than overwritten.
func TestSummaryLinesOfSeveralIncidentsGrowTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, _ := newTestManager(db, clockAt)
		other, _ := newTestManager(db, clockAt) // another replica: knows no line
		a, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout is failing", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Declare(ctx, "alice", DeclareInput{Title: "Search is slow", Severity: "sev3"})
		if err != nil {
			t.Fatal(err)
		}
		at := clockAt.Add(10 * time.Second)
		summarize := func(m *Manager, items ...AlertsSummary) {
			t.Helper()
			if err := db.InTx(ctx, func(q store.Querier) error { return m.SummarizeAlertsManyTx(ctx, q, items, at) }); err != nil {
				t.Fatal(err)
			}
		}
		fired := func(inc Incident, n int) AlertsSummary {
			return AlertsSummary{Incident: inc, Kind: KindAlertsFiredSummary, What: "fired", N: n}
		}
		summarize(m, fired(a, 3), fired(b, 1)) // new lines
		summarize(m, fired(a, 2), fired(b, 4)) // both known: one statement
		summarize(other, fired(a, 10))         // read and grown by the other replica
		summarize(m, fired(a, 1), fired(b, 1)) // a's line is not what m wrote: read again
		summarize(m, fired(a, 0), AlertsSummary{Incident: b, Kind: KindAlertsResolvedSummary, What: "resolved", N: 2})

		for _, c := range []struct {
			inc  Incident
			kind EventKind
			want string
		}{
			{a, KindAlertsFiredSummary, "16 more alerts fired."},
			{b, KindAlertsFiredSummary, "6 more alerts fired."},
			{b, KindAlertsResolvedSummary, "2 more alerts resolved."},
		} {
			evs, err := m.Timeline(ctx, c.inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, ev := range evs {
				if ev.Kind == c.kind {
					lines = append(lines, ev.Text)
				}
			}
			if len(lines) != 1 || lines[0] != c.want {
				t.Fatalf("incident %q has %s lines %q, want one: %q", c.inc.Title, c.kind, lines, c.want)
			}
		}
	})
}
