package incidents

import (
	"context"
	"errors"
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
		summarize := func(m *Manager, items ...AlertsSummary) int {
			t.Helper()
			var statements int
			err := db.InTx(ctx, func(q store.Querier) error {
				counted := &storetest.Counting{Querier: q}
				err := m.SummarizeAlertsManyTx(ctx, counted, items, at)
				statements = counted.N()
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return statements
		}
		fired := func(inc Incident, n int) AlertsSummary {
			return AlertsSummary{Incident: inc, Kind: KindAlertsFiredSummary, What: "fired", N: n}
		}
		summarize(m, fired(a, 3), fired(b, 1))                   // new lines
		if n := summarize(m, fired(a, 2), fired(b, 4)); n != 1 { // both known
			t.Fatalf("growing two known lines took %d statements, want one", n)
		}
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

// FindOpenManyTx finds for each group what FindOpenTx finds: a service's incident for its
// service and environment only, a group key's incident opened without a service for an alert
// without one, any incident of the group key when grouping by group key, and the newest
// when a group has two.
func TestFindOpenManyFindsWhatFindOpenFinds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, _ := newTestManager(db, clockAt)
		key := func(k string) *string { return &k }
		open := func(service, env string, groupKey *string, status Status) int64 {
			t.Helper()
			inc := Incident{Title: "t", Status: status, Severity: Sev3, Service: service, Environment: env, GroupKey: groupKey,
				ImpactStartedAt: clockAt, OpenedAt: clockAt, UpdatedAt: clockAt}
			if status == Resolved {
				inc.ResolvedAt = &clockAt
			}
			err := db.InTx(ctx, func(q store.Querier) error {
				return m.CreateTx(ctx, q, &inc, Event{At: clockAt, Actor: ActorAlertmanager, Kind: KindOpened, Text: "opened"})
			})
			if err != nil {
				t.Fatal(err)
			}
			return inc.ID
		}
		open("checkout", "prod", key("{}:{a}"), Observing)
		open("checkout", "prod", key("{}:{b}"), Observing) // newer: the one found
		open("checkout", "", key("{}:{c}"), Observing)
		open("", "", key("{}:{d}"), Observing)
		open("", "", key("{}:{e}"), Resolved)
		open("search", "prod", key("{}:{f}"), Resolved)
		groups := []AlertGroup{
			{Service: "checkout", Environment: "prod", GroupKey: "{}:{z}"},
			{Service: "checkout", Environment: "", GroupKey: "{}:{z}"},
			{Service: "checkout", Environment: "staging"},
			{GroupKey: "{}:{d}"},
			{GroupKey: "{}:{a}"}, // checkout's group key, but an alert without a service joins no service's incident
			{GroupKey: "{}:{a}", ByGroupKey: true},
			{GroupKey: "{}:{e}"},
			{Service: "search", Environment: "prod"},
		}
		var many map[AlertGroup]Incident
		err := db.InTx(ctx, func(q store.Querier) error {
			var err error
			many, err = m.FindOpenManyTx(ctx, q, groups)
			if err != nil {
				return err
			}
			for _, g := range groups {
				one, err := m.FindOpenTx(ctx, q, g)
				got, found := many[g]
				switch {
				case errors.Is(err, ErrNotFound):
					if found {
						t.Errorf("group %+v: FindOpenManyTx found incident %d, FindOpenTx none", g, got.ID)
					}
				case err != nil:
					return err
				case !found || got.ID != one.ID:
					t.Errorf("group %+v: FindOpenManyTx found %d (%v), FindOpenTx %d", g, got.ID, found, one.ID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(many) != 4 {
			t.Fatalf("found the incidents of %d groups, want 4: %+v", len(many), many)
		}
	})
}
