package alerts_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

const staleAfter = 24 * time.Hour

// markStale runs the stale-alert job's work at at, as the scheduler does: in a transaction.
func (r *rig) markStale(at time.Time) alerts.StaleReport {
	r.t.Helper()
	var rep alerts.StaleReport
	err := r.db.InTx(context.Background(), func(q store.Querier) error {
		var err error
		rep, err = r.in.MarkStaleTx(context.Background(), q, at, staleAfter, 1000)
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

func staleLines(r *rig, id int64) []string {
	var out []string
	for _, ev := range eventsOfKind(r.timeline(id), alerts.KindStale) {
		out = append(out, ev.Text)
	}
	return out
}

// Firing alerts that Alertmanager stops sending are told on their incident's timeline once,
// a day after they were last sent, in one line per incident; an alert sent again is fresh
// until it goes quiet for another day. Alerts of an incident people resolved are marked
// without a line.
func TestAlertsAlertmanagerStoppedSendingAreToldOncePerIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		ctx := context.Background()
		latency := fire("HighLatency", "checkout", "prod", "critical", t0, "instance", "a")
		errorsA := fire("HighErrorRate", "checkout", "prod", "critical", t0, "instance", "a")
		errorsB := fire("HighErrorRate", "checkout", "prod", "critical", t0, "instance", "b")
		checkout := r.ingest(payload("checkout", latency, errorsA, errorsB)).Incidents[0]
		disk := fire("DiskFull", "search", "prod", "warning", t0)
		search := r.ingest(payload("search", disk)).Incidents[0]
		queue := fire("QueueBacklog", "billing", "prod", "warning", t0)
		billing := r.ingest(payload("billing", queue)).Incidents[0]
		if _, err := r.m.Transition(ctx, billing, incidents.Resolve, "bob", "fixed by hand"); err != nil {
			t.Fatal(err)
		}
		r.clock.Set(t0.Add(2 * time.Hour)) // Alertmanager's repeat of one checkout alert
		r.ingest(payload("checkout", latency))

		if rep := r.markStale(t0.Add(staleAfter - time.Second)); rep.Alerts != 0 {
			t.Fatalf("a second before a day: marked %+v", rep)
		}
		rep := r.markStale(t0.Add(staleAfter))
		if rep.Alerts != 4 || !slices.Equal(rep.Incidents, []int64{checkout, search}) {
			t.Fatalf("a day on: marked %+v, want 4 alerts and lines on %d and %d", rep, checkout, search)
		}
		want := "2 alerts still firing (HighErrorRate) have not been sent by Alertmanager for 24h; Alertmanager may have lost them"
		if got := staleLines(r, checkout); !slices.Equal(got, []string{want}) {
			t.Errorf("checkout's stale lines: %q, want %q", got, want)
		}
		want = "1 alert still firing (DiskFull) has not been sent by Alertmanager for 24h; Alertmanager may have lost it"
		if got := staleLines(r, search); !slices.Equal(got, []string{want}) {
			t.Errorf("search's stale lines: %q, want %q", got, want)
		}
		if got := staleLines(r, billing); len(got) != 0 {
			t.Errorf("the resolved incident got stale lines: %q", got)
		}
		for _, ev := range eventsOfKind(r.timeline(search), alerts.KindStale) {
			if !ev.At.Equal(t0.Add(staleAfter)) || ev.Actor != incidents.ActorFirebreak {
				t.Errorf("stale line at %v by %q, want at the run's tick by %q", ev.At, ev.Actor, incidents.ActorFirebreak)
			}
		}

		if rep := r.markStale(t0.Add(staleAfter)); rep.Alerts != 0 {
			t.Errorf("the same tick again marked %+v", rep)
		}
		if rep := r.markStale(t0.Add(25 * time.Hour)); rep.Alerts != 0 {
			t.Errorf("an hour later marked %+v; each alert is told once", rep)
		}
		rep = r.markStale(t0.Add(2*time.Hour + staleAfter))
		if rep.Alerts != 1 || !slices.Equal(rep.Incidents, []int64{checkout}) {
			t.Fatalf("a day after the repeat: marked %+v, want HighLatency of %d", rep, checkout)
		}

		r.clock.Set(t0.Add(30 * time.Hour)) // Alertmanager sends DiskFull again
		r.ingest(payload("search", disk))
		if rep := r.markStale(t0.Add(30*time.Hour + staleAfter - time.Minute)); rep.Alerts != 0 {
			t.Errorf("before a day after DiskFull came back: marked %+v", rep)
		}
		rep = r.markStale(t0.Add(30*time.Hour + staleAfter))
		if rep.Alerts != 1 || len(staleLines(r, search)) != 2 {
			t.Errorf("a day after DiskFull came back: marked %+v, search's lines %q", rep, staleLines(r, search))
		}
		for _, a := range r.alertsOf(checkout) {
			if a.Status != "firing" {
				t.Errorf("a stale alert changed status: %+v", a)
			}
		}
		if inc := r.incident(checkout); inc.Status != incidents.Observing {
			t.Errorf("checkout is %s; stale alerts change no incident", inc.Status)
		}
	})
}

// A stale line names at most three alerts and counts the rest.
func TestStaleLinesNameAFewAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		var as []template.Alert
		for _, name := range []string{"E", "D", "C", "B", "A", "A"} {
			as = append(as, fire(name, "checkout", "prod", "critical", t0, "instance", strings.ToLower(name)+string(rune('0'+len(as)))))
		}
		id := r.ingest(payload("checkout", as...)).Incidents[0]
		r.markStale(t0.Add(staleAfter))
		want := "6 alerts still firing (A, B, C and 2 more) have not been sent by Alertmanager for 24h; Alertmanager may have lost them"
		if got := staleLines(r, id); !slices.Equal(got, []string{want}) {
			t.Errorf("lines %q, want %q", got, want)
		}
	})
}

// A repeat answered from memory and flushed to alert_repeats counts as seeing the alert:
// it does not go stale while Alertmanager keeps sending it.
func TestAFlushedRepeatKeepsAnAlertFromGoingStale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("DiskFull", "db", "prod", "critical", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.clock.Advance(20 * time.Hour)
		r.ingest(payload("g", a)) // answered from memory
		if err := r.in.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rep := r.markStale(t0.Add(staleAfter + time.Minute)); rep.Alerts != 0 {
			t.Fatalf("%d alerts marked stale a day after first seen, though repeated 4 hours before", rep.Alerts)
		}
		if rep := r.markStale(t0.Add(20*time.Hour + staleAfter + time.Minute)); rep.Alerts != 1 {
			t.Fatalf("%d alerts marked stale a day after the last repeat, want 1", rep.Alerts)
		}
	})
}
