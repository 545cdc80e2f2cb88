package alerts_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

// ingestCounted applies p in a transaction of its own through a statement counter.
func (r *rig) ingestCounted(p alerts.Payload) (alerts.Result, *storetest.Counting) {
	r.t.Helper()
	counted := &storetest.Counting{}
	var res alerts.Result
	err := r.db.InTx(context.Background(), func(q store.Querier) error {
		counted.Querier = q
		var err error
		res, err = r.in.IngestTx(context.Background(), counted, p)
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return res, counted
}

// A fleet-wide outage starts: one notification brings an incident 520 alerts, and later
// ends: one brings their 520 resolves. Each takes a handful of statements, none per alert
// nor per timeline line: the first twenty alerts of each kind get a line each, recorded
// together, and the rest one summary line. Every alert is counted and stored, and the
// incident, with nothing firing and nobody on it, resolves.
func TestAStormsStartAndEndTakeAHandfulOfStatements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		const n = 520 // past one statement's 500
		firing := make([]template.Alert, n)
		resolved := make([]template.Alert, n)
		for i := range firing {
			firing[i] = fire("HostDown", "checkout", "production", "critical", t0.Add(-time.Hour), "instance", fmt.Sprintf("host-%03d", i))
			resolved[i] = resolve(firing[i], t0.Add(-time.Minute))
		}
		id := r.openIncident("g", firing[0])

		res, counted := r.ingestCounted(payload("g", firing...))
		wantResult(t, "the storm", res, n, n-1, 1, 0)
		if got := counted.Matching("INSERT INTO timeline_events"); got != 2 {
			t.Fatalf("the storm's lines took %d INSERTs, want two: the alerts' own, and the summary", got)
		}
		if got := counted.N(); got > 16 {
			t.Fatalf("the storm took %d statements, want a handful whatever its size", got)
		}

		res, counted = r.ingestCounted(payload("g", resolved...))
		wantResult(t, "the storm's end", res, n, 0, 0, n)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("the end touched %v, want incident %d", res.Incidents, id)
		}
		if got := counted.Matching("SET status = 'resolved'"); got != 2 {
			t.Fatalf("%d resolve statements for %d resolved alerts, want two of at most 500", got, n)
		}
		if got := counted.N(); got > 16 {
			t.Fatalf("the storm's end took %d statements, want a handful whatever its size", got)
		}

		for _, a := range r.alertsOf(id) {
			if a.Status != "resolved" || !timePtrEq(a.EndsAt, t0.Add(-time.Minute)) {
				t.Fatalf("alert %s is %s, ended %v; want resolved at %s", a.Labels["instance"], a.Status, a.EndsAt, t0.Add(-time.Minute))
			}
		}
		evs := r.timeline(id)
		// The "opened" line names the first alert; the storm's first twenty new ones get their own.
		if got := len(eventsOfKind(evs, incidents.KindAlertFiring)); got != 20 {
			t.Fatalf("%d alert-firing lines, want 20 (timeline %v)", got, kinds(evs))
		}
		if got := len(eventsOfKind(evs, incidents.KindAlertResolved)); got != 20 {
			t.Fatalf("%d alert-resolved lines, want the first 20 (timeline %v)", got, kinds(evs))
		}
		for kind, want := range map[incidents.EventKind]string{
			incidents.KindAlertsFiredSummary:    fmt.Sprintf("%d more alerts fired.", n-1-20),
			incidents.KindAlertsResolvedSummary: fmt.Sprintf("%d more alerts resolved.", n-20),
		} {
			if sums := eventsOfKind(evs, kind); len(sums) != 1 || sums[0].Text != want {
				t.Fatalf("%s lines %+v, want one saying %q", kind, sums, want)
			}
		}
		wantKinds(t, evs, incidents.KindOpened, 20, incidents.KindAlertFiring, 1, incidents.KindAlertsFiredSummary,
			20, incidents.KindAlertResolved, 1, incidents.KindAlertsResolvedSummary, 1, incidents.KindResolved)
		if inc := r.incident(id); inc.Status != incidents.Resolved {
			t.Fatalf("incident %s, want resolved: every alert resolved and nobody took it on", inc.Status)
		}
	})
}

// Resolutions applied together are judged as if one came after the other: a payload that
// fires an alert and resolves it resolves what it stored; a fingerprint resolved twice is
// resolved once and then found resolved, in the same payload or a later one of the batch; the
// resolve of an occurrence that ended before the firing one began is late; so is one of an
// alert never seen; and an alert firing again after a resolve earlier in the batch is a new
// occurrence.
func TestResolutionsOfOneBatchAreJudgedInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		y := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Hour), "instance", "y")
		z := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Minute), "instance", "z")
		w := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Hour), "instance", "w")
		id := r.openIncident("g", y)
		wantResult(t, "z and w", r.ingest(payload("g", z, w)), 2, 2, 0, 0)
		x := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-30*time.Second), "instance", "x")
		never := fire("Unknown", "checkout", "production", "error", t0.Add(-time.Hour), "instance", "never")

		res := r.ingestInOneBatch(
			payload("g", x, resolve(x, t0)),              // fired and resolved at once
			payload("g", resolve(y, t0), resolve(y, t0)), // twice in one payload
			payload("g", resolve(refire(z, t0.Add(-10*time.Minute)), t0.Add(-5*time.Minute)), resolve(never, t0)), // an earlier z; never seen
			payload("g", resolve(y, t0), resolve(w, t0.Add(-20*time.Second))),                                     // y again, later in the batch
			payload("g", refire(w, t0.Add(-10*time.Second))),                                                      // w fires again after its end
		)
		wantResult(t, "fired and resolved", res[0], 2, 1, 0, 1)
		wantResult(t, "y twice", res[1], 2, 0, 1, 1)
		wantResult(t, "late ones", res[2], 2, 0, 2, 0)
		if res[2].Late != 2 {
			t.Fatalf("%d late alerts, want the earlier z's and the never-seen one", res[2].Late)
		}
		wantResult(t, "y again, and w", res[3], 2, 0, 1, 1)
		wantResult(t, "w again", res[4], 1, 1, 0, 0)
		for i, got := range res {
			if !sameIDs(got.Incidents, []int64{id}) {
				t.Fatalf("payload %d touched %v, want incident %d", i, got.Incidents, id)
			}
		}
		states := map[string][]string{}
		for _, a := range r.alertsOf(id) {
			states[a.Labels["instance"]] = append(states[a.Labels["instance"]], a.Status)
		}
		want := map[string][]string{"w": {"resolved", "firing"}, "x": {"resolved"}, "y": {"resolved"}, "z": {"firing"}}
		if fmt.Sprint(states) != fmt.Sprint(want) {
			t.Fatalf("alerts %v, want %v", states, want)
		}
		if inc := r.incident(id); !inc.Open() {
			t.Fatalf("incident %s, want open while z fires", inc.Status)
		}
	})
}

// wantKinds compares a timeline's kinds with the expected run, given as kinds each preceded
// by how many times it comes in a row (1 when no count is given).
func wantKinds(t *testing.T, evs []incidents.Event, spec ...any) {
	t.Helper()
	var want []incidents.EventKind
	n := 1
	for _, x := range spec {
		switch v := x.(type) {
		case int:
			n = v
		case incidents.EventKind:
			for range n {
				want = append(want, v)
			}
			n = 1
		}
	}
	if got := kinds(evs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
}

// One payload's alerts apply one after the other, even with the resolves of a batch applied
// together: a resolve that matched nothing leaves an alert firing again after it alone; a
// late resolve does not hide the right one after it; a repeat after a resolve finds nothing
// firing to move back; and the lines keep the payload's order, the line of a raised
// severity after the alert that raised it.
func TestOnePayloadAppliesInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		y := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Hour), "instance", "y")
		x := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-10*time.Minute), "instance", "x")
		w := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-10*time.Minute), "instance", "w")
		v := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-10*time.Minute), "instance", "v")
		id := r.openIncident("g", y)
		wantResult(t, "x, w and v", r.ingest(payload("g", x, w, v)), 3, 3, 0, 0)
		wantResult(t, "x ends", r.ingest(payload("g", resolve(x, t0.Add(-5*time.Minute)))), 1, 0, 0, 1)

		res := r.ingest(payload("g",
			resolve(x, t0), refire(x, t0.Add(-time.Minute)), // resolved already, then firing again
			resolve(refire(w, t0.Add(-2*time.Hour)), t0.Add(-90*time.Minute)), resolve(w, t0), // late, then w's own
			resolve(v, t0), refire(v, t0.Add(-2*time.Hour)), // a repeat with an earlier start after v resolved
		))
		wantResult(t, "the payload", res, 6, 1, 3, 2)
		states := map[string][]string{}
		for _, a := range r.alertsOf(id) {
			states[a.Labels["instance"]] = append(states[a.Labels["instance"]], a.Status)
		}
		want := map[string][]string{"v": {"resolved"}, "w": {"resolved"}, "x": {"resolved", "firing"}, "y": {"firing"}}
		if fmt.Sprint(states) != fmt.Sprint(want) {
			t.Fatalf("alerts %v, want %v", states, want)
		}
		if got := r.incident(id).ImpactStartedAt; !got.Equal(t0.Add(-time.Hour)) {
			t.Fatalf("impact start %s, want %s: the earlier start came after v resolved", got, t0.Add(-time.Hour))
		}

		a := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Minute), "instance", "a")
		c := fire("HighErrorRate", "checkout", "production", "critical", t0.Add(-time.Minute), "instance", "c")
		wantResult(t, "a, y resolved, c", r.ingest(payload("g", a, resolve(y, t0), c)), 3, 2, 0, 1)
		wantKinds(t, r.timeline(id),
			incidents.KindOpened, 3, incidents.KindAlertFiring, // y, then x, w and v
			incidents.KindAlertResolved,                               // x ends
			incidents.KindAlertFiring, 2, incidents.KindAlertResolved, // x again, w, v
			incidents.KindAlertFiring, incidents.KindAlertResolved, incidents.KindAlertFiring, incidents.KindSeverityChanged) // a, y, c
	})
}

// An earlier start of a firing alert moves the incident's impact start back, and its line
// comes after the lines of the alerts before it in the payload.
func TestAMovedStartIsRecordedAfterTheLinesBeforeIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		y := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Hour), "instance", "y")
		id := r.openIncident("g", y)
		a := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Minute), "instance", "a")
		wantResult(t, "a, then y earlier", r.ingest(payload("g", a, refire(y, t0.Add(-2*time.Hour)))), 2, 1, 1, 0)
		if got := r.incident(id).ImpactStartedAt; !got.Equal(t0.Add(-2 * time.Hour)) {
			t.Fatalf("impact start %s, want %s", got, t0.Add(-2*time.Hour))
		}
		wantKinds(t, r.timeline(id), incidents.KindOpened, incidents.KindAlertFiring, incidents.KindImpactStartMoved)
	})
}
