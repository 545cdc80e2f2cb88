package incidents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// clockAt is 10:00 UTC on Wednesday 18 November 2026, when most stories begin.
var clockAt = time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)

func hhmm(h, m int) time.Time { return time.Date(2026, 11, 18, h, m, 0, 0, time.UTC) }

func newTestManager(db *store.DB, start time.Time) (*Manager, *testkit.Clock) {
	clock := testkit.NewClock(start)
	return NewManager(db, clock.Now), clock
}

func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.R.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// assertStored checks that what an operation returned is what Get reads back.
func assertStored(t *testing.T, m *Manager, what string, returned Incident) {
	t.Helper()
	stored, err := m.Get(context.Background(), returned.ID)
	if err != nil {
		t.Fatalf("%s: get incident %d: %v", what, returned.ID, err)
	}
	assertSameIncident(t, what+": stored incident", stored, returned)
}

// wantEvent is one expected line of a timeline; text is a part of the line's text.
type wantEvent struct {
	at    time.Time
	actor string
	kind  EventKind
	text  string
}

func assertTimeline(t *testing.T, m *Manager, id int64, want []wantEvent) []Event {
	t.Helper()
	got, err := m.Timeline(context.Background(), id)
	if err != nil {
		t.Fatalf("timeline of incident %d: %v", id, err)
	}
	if len(got) != len(want) {
		var kinds []string
		for _, ev := range got {
			kinds = append(kinds, string(ev.Kind))
		}
		t.Fatalf("timeline holds %d events %v, want %d", len(got), kinds, len(want))
	}
	for i, w := range want {
		ev := got[i]
		if !ev.At.Equal(w.at) || ev.Actor != w.actor || ev.Kind != w.kind || !strings.Contains(ev.Text, w.text) || ev.IncidentID != id {
			t.Errorf("event %d: %s %s %s %q (incident %d), want %s %s %s containing %q (incident %d)",
				i, ev.At.Format(time.RFC3339), ev.Actor, ev.Kind, ev.Text, ev.IncidentID,
				w.at.Format(time.RFC3339), w.actor, w.kind, w.text, id)
		}
		if i > 0 && ev.ID <= got[i-1].ID {
			t.Errorf("event %d has id %d after id %d: want oldest first", i, ev.ID, got[i-1].ID)
		}
	}
	return got
}

func TestIncidentLifecycleStory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)

		// 10:00 Alice declares an incident whose impact began at 09:52 UTC; her browser sends
		// that moment in New York time.
		impact := hhmm(9, 52).In(time.FixedZone("EST", -5*60*60))
		inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "  Checkout returns 502  ", Severity: "sev2",
			Service: "checkout", Environment: "production", Summary: "Half of the payments fail.", ImpactStartedAt: &impact})
		if err != nil {
			t.Fatalf("declare: %v", err)
		}
		if inc.ID <= 0 {
			t.Fatalf("declared incident has id %d", inc.ID)
		}
		want := Incident{ID: inc.ID, Title: "Checkout returns 502", Status: Observing, Severity: Sev2, Service: "checkout",
			Environment: "production", Summary: "Half of the payments fail.", ImpactStartedAt: hhmm(9, 52),
			OpenedAt: hhmm(10, 0), UpdatedAt: hhmm(10, 0)}
		assertSameIncident(t, "declared", inc, want)
		assertStored(t, m, "declared", inc)
		if inc.ImpactStartedAt.Location() != time.UTC {
			t.Errorf("impact_started_at in %s, want UTC", inc.ImpactStartedAt.Location())
		}

		step := func(minutes int, action Action, actor, note string, change func(*Incident)) {
			t.Helper()
			clock.Advance(time.Duration(minutes) * time.Minute)
			got, err := m.Transition(ctx, inc.ID, action, actor, note)
			if err != nil {
				t.Fatalf("%s at %s: %v", action, clock.Now().Format("15:04"), err)
			}
			change(&want)
			want.UpdatedAt = clock.Now()
			want.Revision++
			assertSameIncident(t, string(action), got, want)
			assertStored(t, m, string(action), got)
		}
		// 10:02 Bob acknowledges: a person owns it.
		step(2, Acknowledge, "bob", "", func(i *Incident) { i.Status, i.AcknowledgedAt = Responding, at(hhmm(10, 2)) })
		// 10:05 Bob starts a rollback; the acknowledgement of 10:02 stays.
		step(3, Remediate, "bob", "Rolling back to 1.4.1.", func(i *Incident) {
			i.Status, i.RemediationStartedAt = Remediating, at(hhmm(10, 5))
		})
		// 10:10 The rollback worked: impact is over, people keep watching.
		step(5, Mitigate, "bob", "", func(i *Incident) { i.MitigatedAt = at(hhmm(10, 10)) })
		// 10:30 Carol resolves; the incident was mitigated at 10:10, not 10:30.
		step(20, Resolve, "carol", "", func(i *Incident) { i.Status, i.ResolvedAt = Resolved, at(hhmm(10, 30)) })
		// 11:30 Dave sees errors again and reopens: one span for MTTR, end moments cleared.
		step(60, Reopen, "dave", "", func(i *Incident) {
			i.Status, i.MitigatedAt, i.ResolvedAt, i.ReopenedCount = Responding, nil, nil, 1
		})
		// 11:40 Dave resolves again (mitigated now too), 12:00 the alerts fire once more.
		step(10, Resolve, "dave", "", func(i *Incident) {
			i.Status, i.MitigatedAt, i.ResolvedAt = Resolved, at(hhmm(11, 40)), at(hhmm(11, 40))
		})
		step(20, ReopenByAlerts, "alertmanager", "", func(i *Incident) {
			i.Status, i.MitigatedAt, i.ResolvedAt, i.ReopenedCount = Observing, nil, nil, 2
		})

		assertTimeline(t, m, inc.ID, []wantEvent{
			{hhmm(10, 0), "alice", KindDeclared, "Declared by alice as sev2: Checkout returns 502"},
			{hhmm(10, 2), "bob", KindAcknowledged, "Acknowledged by bob"},
			{hhmm(10, 5), "bob", KindRemediationStarted, "Rolling back to 1.4.1."},
			{hhmm(10, 10), "bob", KindMitigated, "Marked mitigated by bob"},
			{hhmm(10, 30), "carol", KindResolved, "Resolved by carol"},
			{hhmm(11, 30), "dave", KindReopened, "Reopened by dave"},
			{hhmm(11, 40), "dave", KindResolved, "Resolved by dave"},
			{hhmm(12, 0), "alertmanager", KindReopened, "alerts are firing again"},
		})
	})
}

func TestDeclareWithoutImpactStartUsesTheTimeDeclared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		m, _ := newTestManager(db, clockAt)
		inc, err := m.Declare(context.Background(), "alice", DeclareInput{Title: "Search is slow", Severity: "sev3"})
		if err != nil {
			t.Fatal(err)
		}
		if !inc.ImpactStartedAt.Equal(clockAt) || !inc.OpenedAt.Equal(clockAt) || inc.Status != Observing {
			t.Errorf("impact %s, opened %s, status %s; want impact and opened at %s, observing",
				inc.ImpactStartedAt, inc.OpenedAt, inc.Status, clockAt)
		}
		assertStored(t, m, "declared", inc)
	})
}

func TestDeclareRejectsInvalidInput(t *testing.T) {
	future := clockAt.Add(time.Hour)
	cases := []struct {
		name string
		in   DeclareInput
		says string
	}{
		{"empty title", DeclareInput{Title: "", Severity: "sev2"}, "title is required"},
		{"blank title", DeclareInput{Title: " \t\n ", Severity: "sev2"}, "title is required"},
		{"10,000-character title", DeclareInput{Title: strings.Repeat("x", 10000), Severity: "sev2"}, "title is 10000 characters long"},
		{"unknown severity", DeclareInput{Title: "Checkout returns 502", Severity: "sev9"}, `unknown severity "sev9"`},
		{"no severity", DeclareInput{Title: "Checkout returns 502"}, "unknown severity"},
		{"impact starting in an hour", DeclareInput{Title: "Checkout returns 502", Severity: "sev2", ImpactStartedAt: &future}, "in the future"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		m, _ := newTestManager(db, clockAt)
		for _, tc := range cases {
			_, err := m.Declare(context.Background(), "alice", tc.in)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
			} else if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, tc.says)
			}
		}
		if n := countRows(t, db, "incidents"); n != 0 {
			t.Errorf("%d incidents stored after only invalid declarations, want 0", n)
		}
		if n := countRows(t, db, "timeline_events"); n != 0 {
			t.Errorf("%d timeline events stored after only invalid declarations, want 0", n)
		}
		// The longest title allowed still goes through.
		if _, err := m.Declare(context.Background(), "alice", DeclareInput{Title: strings.Repeat("é", MaxTitle), Severity: "sev2"}); err != nil {
			t.Errorf("title of %d characters: %v", MaxTitle, err)
		}
	})
}

func TestUnknownIncidentIsNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, _ := newTestManager(db, clockAt)
		if _, err := m.Transition(ctx, 4242, Acknowledge, "bob", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("acknowledge incident 4242: err = %v, want ErrNotFound", err)
		}
		if _, err := m.Get(ctx, 4242); !errors.Is(err, ErrNotFound) {
			t.Errorf("get incident 4242: err = %v, want ErrNotFound", err)
		}
		if _, err := m.AddNote(ctx, 4242, "bob", "hello", false); !errors.Is(err, ErrNotFound) {
			t.Errorf("note on incident 4242: err = %v, want ErrNotFound", err)
		}
		if n := countRows(t, db, "timeline_events"); n != 0 {
			t.Errorf("%d timeline events, want 0", n)
		}
	})
}

func TestResolveTwiceIsRefusedAndRecordedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout returns 502", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Minute)
		resolved, err := m.Transition(ctx, inc.ID, Resolve, "alice", "")
		if err != nil {
			t.Fatalf("first resolve: %v", err)
		}
		clock.Advance(5 * time.Minute)
		_, err = m.Transition(ctx, inc.ID, Resolve, "bob", "")
		if !errors.Is(err, ErrInvalidTransition) || !strings.Contains(err.Error(), "is resolved") {
			t.Fatalf("second resolve: err = %v, want ErrInvalidTransition saying it is resolved", err)
		}
		assertStored(t, m, "after the refused resolve", resolved)
		assertTimeline(t, m, inc.ID, []wantEvent{
			{hhmm(10, 0), "alice", KindDeclared, "Declared"},
			{hhmm(10, 5), "alice", KindResolved, "Resolved by alice"},
		})
	})
}

func TestNotesAndStatusUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout returns 502", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(3 * time.Minute)
		// Two entries in the same second keep the order they were written in.
		note, err := m.AddNote(ctx, inc.ID, "bob", "  The load balancer drops half the connections.  ", false)
		if err != nil {
			t.Fatal(err)
		}
		update, err := m.AddNote(ctx, inc.ID, "bob", "We are investigating failed payments.", true)
		if err != nil {
			t.Fatal(err)
		}
		if note.Kind != KindNote || note.Public || note.ID <= 0 || note.Text != "The load balancer drops half the connections." {
			t.Errorf("private note %+v, want kind note, not public, trimmed text", note)
		}
		if update.Kind != KindStatusUpdate || !update.Public || update.ID <= 0 {
			t.Errorf("public note %+v, want kind status_update, public", update)
		}
		for _, text := range []string{"", "   \n", strings.Repeat("x", MaxNote+1)} {
			if _, err := m.AddNote(ctx, inc.ID, "bob", text, true); !errors.Is(err, ErrInvalid) {
				t.Errorf("note of %d characters: err = %v, want ErrInvalid", len(text), err)
			}
		}
		got := assertTimeline(t, m, inc.ID, []wantEvent{
			{hhmm(10, 0), "alice", KindDeclared, "Declared"},
			{hhmm(10, 3), "bob", KindNote, "The load balancer drops half the connections."},
			{hhmm(10, 3), "bob", KindStatusUpdate, "We are investigating failed payments."},
		})
		if got[1].Public || !got[2].Public || got[0].Public {
			t.Errorf("public flags read back %v %v %v, want false false true", got[0].Public, got[1].Public, got[2].Public)
		}
		if got[1] != note || got[2] != update {
			t.Errorf("timeline\n %+v\n %+v\nwant what AddNote returned\n %+v\n %+v", got[1], got[2], note, update)
		}
	})
}

func TestListNewestFirstWithFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		// Seven incidents, one an hour from 10:00; the number is the order of declaration.
		seed := []struct {
			service string
			sev     string
			actions []Action
		}{
			1: {"checkout", "sev1", []Action{Resolve}},
			2: {"search", "sev2", nil},
			3: {"checkout", "sev2", []Action{Acknowledge}},
			4: {"payments", "sev1", []Action{Remediate}},
			5: {"checkout", "sev3", nil},
			6: {"search", "sev1", []Action{Acknowledge, Resolve}},
			7: {"checkout", "sev1", []Action{Acknowledge}},
		}
		id := make([]int64, len(seed))
		opened := make([]time.Time, len(seed))
		for n := 1; n < len(seed); n++ {
			if n > 1 {
				clock.Advance(time.Hour)
			}
			inc, err := m.Declare(ctx, "alice", DeclareInput{Title: fmt.Sprintf("incident %d", n), Severity: seed[n].sev, Service: seed[n].service})
			if err != nil {
				t.Fatal(err)
			}
			id[n], opened[n] = inc.ID, inc.OpenedAt
			for _, a := range seed[n].actions {
				if _, err := m.Transition(ctx, inc.ID, a, "bob", ""); err != nil {
					t.Fatalf("incident %d: %s: %v", n, a, err)
				}
			}
		}
		numbers := func(incs []Incident) []int {
			var out []int
			for _, inc := range incs {
				n := 0
				for k := range id {
					if id[k] == inc.ID && k > 0 {
						n = k
					}
				}
				out = append(out, n)
			}
			return out
		}

		cases := []struct {
			name string
			f    Filter
			want []int
		}{
			{"everything", Filter{}, []int{7, 6, 5, 4, 3, 2, 1}},
			{"observing", Filter{Statuses: []Status{Observing}}, []int{5, 2}},
			{"responding or remediating", Filter{Statuses: []Status{Responding, Remediating}}, []int{7, 4, 3}},
			{"open only", Filter{OpenOnly: true}, []int{7, 5, 4, 3, 2}},
			{"service checkout", Filter{Service: "checkout"}, []int{7, 5, 3, 1}},
			{"severity sev1", Filter{Severity: Sev1}, []int{7, 6, 4, 1}},
			{"opened since the fifth", Filter{Since: opened[5]}, []int{7, 6, 5}},
			{"open checkout incidents", Filter{Service: "checkout", OpenOnly: true}, []int{7, 5, 3}},
			{"resolved sev1", Filter{Severity: Sev1, Statuses: []Status{Resolved}}, []int{6, 1}},
			{"before the fourth", Filter{Before: id[4]}, []int{3, 2, 1}},
			{"service nobody runs", Filter{Service: "billing"}, nil},
		}
		for _, tc := range cases {
			got, next, err := m.List(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if fmt.Sprint(numbers(got)) != fmt.Sprint(tc.want) || next != 0 {
				t.Errorf("%s: incidents %v, next %d; want %v, next 0", tc.name, numbers(got), next, tc.want)
			}
		}

		walk := func(f Filter) (pages [][]int) {
			t.Helper()
			for len(pages) <= len(seed) {
				got, next, err := m.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, numbers(got))
				if next == 0 {
					return pages
				}
				if len(got) != f.Limit || next != got[len(got)-1].ID {
					t.Fatalf("page of %d with limit %d and next %d: want a full page and the last id as cursor", len(got), f.Limit, next)
				}
				f.Before = next
			}
			t.Fatalf("pagination with limit %d did not end: %v", f.Limit, pages)
			return nil
		}
		for _, tc := range []struct {
			f    Filter
			want string
		}{
			{Filter{Limit: 1}, "[[7] [6] [5] [4] [3] [2] [1]]"},
			{Filter{Limit: 2}, "[[7 6] [5 4] [3 2] [1]]"},
			{Filter{Limit: 3}, "[[7 6 5] [4 3 2] [1]]"},
			{Filter{Limit: 7}, "[[7 6 5 4 3 2 1]]"},
			{Filter{Limit: 50}, "[[7 6 5 4 3 2 1]]"},
			{Filter{Limit: 2, Service: "checkout"}, "[[7 5] [3 1]]"},
			{Filter{Limit: 2, OpenOnly: true}, "[[7 5] [4 3] [2]]"},
		} {
			if got := fmt.Sprint(walk(tc.f)); got != tc.want {
				t.Errorf("pages of %+v: %s, want %s", tc.f, got, tc.want)
			}
		}
	})
}

func TestConcurrentAcknowledgementsLetExactlyOneWin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout returns 502", Severity: "sev1"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)

		const responders = 20
		start := make(chan struct{})
		errs := make([]error, responders)
		var wg sync.WaitGroup
		for i := range responders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = m.Transition(ctx, inc.ID, Acknowledge, fmt.Sprintf("responder-%02d", i), "")
			}()
		}
		close(start)
		wg.Wait()

		won, refused := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrInvalidTransition):
				refused++
			default:
				t.Errorf("responder %d: unexpected error %v", i, err)
			}
		}
		if won != 1 || refused != responders-1 {
			t.Fatalf("%d acknowledgements succeeded and %d were refused, want 1 and %d", won, refused, responders-1)
		}
		events, err := m.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		acks := 0
		for _, ev := range events {
			if ev.Kind == KindAcknowledged {
				acks++
			}
		}
		if acks != 1 || len(events) != 2 {
			t.Errorf("timeline holds %d events, %d of them acknowledgements; want declared and one acknowledged", len(events), acks)
		}
		got, err := m.Get(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != Responding || got.Revision != 1 {
			t.Errorf("incident %s at revision %d, want responding at revision 1", got.Status, got.Revision)
		}
	})
}

func TestMTTROverTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := func(d, h, min int) time.Time { return time.Date(2026, 12, d, h, min, 0, 0, time.UTC) }
		m, clock := newTestManager(db, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		declare := func(service string, impact *time.Time) Incident {
			t.Helper()
			inc, err := m.Declare(ctx, "alice", DeclareInput{Title: service + " is down", Severity: "sev2", Service: service, ImpactStartedAt: impact})
			if err != nil {
				t.Fatal(err)
			}
			return inc
		}
		moveTo := func(at time.Time) {
			t.Helper()
			if d := at.Sub(clock.Now()); d >= 0 {
				clock.Advance(d)
			} else {
				t.Fatalf("clock cannot go back from %s to %s", clock.Now(), at)
			}
		}
		act := func(inc Incident, action Action, when time.Time) {
			t.Helper()
			moveTo(when)
			if _, err := m.Transition(ctx, inc.ID, action, "bob", ""); err != nil {
				t.Fatalf("%s: %v", action, err)
			}
		}

		// 1 November: an old incident, detected after 10 minutes, resolved 20 minutes later.
		oldImpact := clock.Now().Add(-10 * time.Minute)
		old := declare("search", &oldImpact)
		act(old, Resolve, old.OpenedAt.Add(20*time.Minute))

		// 10 December, 10:00: impact since 09:50; acknowledged 10:05; resolved 10:30.
		moveTo(day(10, 10, 0))
		a := declare("checkout", at(day(10, 9, 50)))
		act(a, Acknowledge, day(10, 10, 5))
		act(a, Resolve, day(10, 10, 30))
		// 11:00: impact since 10:59; acknowledged 11:01; mitigated 11:10; resolved 12:00.
		moveTo(day(10, 11, 0))
		b := declare("checkout", at(day(10, 10, 59)))
		act(b, Acknowledge, day(10, 11, 1))
		act(b, Mitigate, day(10, 11, 10))
		act(b, Resolve, day(10, 12, 0))
		// 12:30: declared as it began, nobody has looked yet.
		moveTo(day(10, 12, 30))
		declare("payments", nil)
		moveTo(day(10, 13, 0))

		// The last 30 days leave the November incident out.
		r, err := m.MTTR(ctx, All, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Until.Equal(day(10, 13, 0)) || !r.Since.Equal(day(10, 13, 0).Add(-30*24*time.Hour)) {
			t.Errorf("report covers %s to %s, want the 30 days before %s", r.Since, r.Until, day(10, 13, 0))
		}
		assertGroups(t, r.Groups, []groupFigures{{key: "all", incidents: 3,
			detect:   figures{3, 220, 60, 600},     // 0, 60, 600
			ack:      figures{2, 180, 60, 300},     // 60, 300
			mitig:    figures{2, 1530, 660, 2400},  // 660, 2400
			recovery: figures{2, 3030, 2400, 3660}, // 2400, 3660
		}})

		// [since, until): the old incident opened exactly at since, a exactly at until.
		r, err = m.MTTR(ctx, ByService, old.OpenedAt, a.OpenedAt)
		if err != nil {
			t.Fatal(err)
		}
		assertGroups(t, r.Groups, []groupFigures{{key: "search", incidents: 1,
			detect: figures{1, 600, 600, 600}, ack: none,
			mitig: figures{1, 1800, 1800, 1800}, recovery: figures{1, 1800, 1800, 1800},
		}})

		if _, err := m.MTTR(ctx, All, day(10, 13, 0), day(1, 0, 0)); !errors.Is(err, ErrInvalid) {
			t.Errorf("since after until: err = %v, want ErrInvalid", err)
		}
	})
}

func TestHooksSeeEveryEventInsideTheTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		var seen []Event
		var statuses []Status
		m.OnChange(func(ctx context.Context, q store.Querier, inc Incident, ev Event) error {
			// The event is already written, in the transaction the hook is given.
			var n int
			if err := q.GetContext(ctx, &n, q.Rebind(`SELECT COUNT(*) FROM timeline_events WHERE id = ?`), ev.ID); err != nil || n != 1 {
				t.Errorf("hook for %s: event %d not visible in the transaction (%d rows, %v)", ev.Kind, ev.ID, n, err)
			}
			seen = append(seen, ev)
			statuses = append(statuses, inc.Status)
			return nil
		})

		inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout returns 502", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		mustTransition(t, m, inc.ID, Acknowledge)
		if _, err := m.AddNote(ctx, inc.ID, "bob", "Looking at the load balancer.", false); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AddNote(ctx, inc.ID, "bob", "We are investigating.", true); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		mustTransition(t, m, inc.ID, Mitigate)
		mustTransition(t, m, inc.ID, Resolve)
		// A refused change writes nothing, so no hook runs.
		if _, err := m.Transition(ctx, inc.ID, Acknowledge, "bob", ""); !errors.Is(err, ErrInvalidTransition) {
			t.Fatalf("acknowledge a resolved incident: %v", err)
		}

		timeline, err := m.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(seen) != fmt.Sprint(timeline) {
			t.Errorf("hook saw\n %+v\ntimeline holds\n %+v", seen, timeline)
		}
		if want := "[observing responding responding responding responding resolved]"; fmt.Sprint(statuses) != want {
			t.Errorf("hook saw the incident %v, want %s", statuses, want)
		}
	})
}

func TestFailingHookRollsTheChangeBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		boom := errors.New("outbox is full")
		var failOn EventKind
		m.OnChange(func(ctx context.Context, q store.Querier, inc Incident, ev Event) error {
			if ev.Kind == failOn {
				return boom
			}
			return nil
		})

		// The Slack announcement cannot be queued, so the incident is not declared at all.
		failOn = KindDeclared
		_, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout returns 502", Severity: "sev2"})
		if !errors.Is(err, boom) {
			t.Fatalf("declare with a failing hook: err = %v, want the hook's error", err)
		}
		if n, e := countRows(t, db, "incidents"), countRows(t, db, "timeline_events"); n != 0 || e != 0 {
			t.Fatalf("%d incidents and %d events after a failed declaration, want none", n, e)
		}

		failOn = KindAcknowledged
		inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout returns 502", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if _, err := m.Transition(ctx, inc.ID, Acknowledge, "bob", ""); !errors.Is(err, boom) {
			t.Fatalf("acknowledge with a failing hook: err = %v, want the hook's error", err)
		}
		assertStored(t, m, "after the failed acknowledgement", inc)

		failOn = KindNote
		if _, err := m.AddNote(ctx, inc.ID, "bob", "Looking.", false); !errors.Is(err, boom) {
			t.Fatalf("note with a failing hook: err = %v, want the hook's error", err)
		}
		assertTimeline(t, m, inc.ID, []wantEvent{{hhmm(10, 0), "alice", KindDeclared, "Declared"}})

		// Once the hook recovers, the same acknowledgement goes through.
		failOn = ""
		got := mustTransition(t, m, inc.ID, Acknowledge)
		if got.Status != Responding || got.Revision != 1 {
			t.Errorf("after the hook recovered: %s at revision %d, want responding at revision 1", got.Status, got.Revision)
		}
	})
}

func mustTransition(t *testing.T, m *Manager, id int64, action Action) Incident {
	t.Helper()
	inc, err := m.Transition(context.Background(), id, action, "bob", "")
	if err != nil {
		t.Fatalf("%s incident %d: %v", action, id, err)
	}
	return inc
}
