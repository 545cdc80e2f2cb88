package alerts_test

import (
	"context"
	"log/slog"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
)

// t0 is 10:00 UTC on Wednesday 18 November 2026, when the stories begin; the testdata
// payloads fired a few minutes before.
var t0 = time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)

// testOptions are the alert rules of a default firebreak.yaml.
func testOptions() alerts.Options {
	return alerts.Options{
		ServiceLabels:     []string{"service", "app", "job"},
		EnvironmentLabels: []string{"env", "environment"},
		SeverityMap: map[string]incidents.Severity{
			"critical": incidents.Sev1, "error": incidents.Sev2, "warning": incidents.Sev3, "info": incidents.Sev4,
		},
		ReopenWindow: 30 * time.Minute,
	}
}

// rig is one Firebreak replica's alert path: a manager on a test clock and an ingester
// writing through group commit.
type rig struct {
	t     *testing.T
	db    *store.DB
	clock *testkit.Clock
	m     *incidents.Manager
	gc    *store.GroupCommitter
	in    *alerts.Ingester
}

func newRig(t *testing.T, db *store.DB) *rig {
	t.Helper()
	return newRigWith(t, db, testkit.NewClock(t0), 1)
}

func newRigWith(t *testing.T, db *store.DB, clock *testkit.Clock, workers int) *rig {
	t.Helper()
	return newRigOpts(t, db, clock, workers, nil, testOptions())
}

// newRigOpts is newRigWith with the group committer's logger (nil: the default) and the
// alert rules given.
func newRigOpts(t *testing.T, db *store.DB, clock *testkit.Clock, workers int, log *slog.Logger, opts alerts.Options) *rig {
	t.Helper()
	m := incidents.NewManager(db, clock.Now)
	gc := store.NewGroupCommitter(db, workers, 128, 1024, log)
	t.Cleanup(gc.Close)
	in := alerts.NewIngester(db, m, gc, opts)
	return &rig{t: t, db: db, clock: clock, m: m, gc: gc, in: in}
}

// ingest stores p and fails the test on error.
func (r *rig) ingest(p alerts.Payload) alerts.Result {
	r.t.Helper()
	if err := p.Validate(); err != nil {
		r.t.Fatalf("the test built an invalid payload: %v", err)
	}
	res, err := r.in.Ingest(context.Background(), p)
	if err != nil {
		r.t.Fatalf("ingest %s: %v", p.GroupKey, err)
	}
	return res
}

func (r *rig) incident(id int64) incidents.Incident {
	r.t.Helper()
	inc, err := r.m.Get(context.Background(), id)
	if err != nil {
		r.t.Fatalf("get incident %d: %v", id, err)
	}
	return inc
}

func (r *rig) timeline(id int64) []incidents.Event {
	r.t.Helper()
	evs, err := r.m.Timeline(context.Background(), id)
	if err != nil {
		r.t.Fatalf("timeline of incident %d: %v", id, err)
	}
	return evs
}

func (r *rig) alertsOf(id int64) []alerts.Alert {
	r.t.Helper()
	as, err := r.in.ForIncident(context.Background(), id)
	if err != nil {
		r.t.Fatalf("alerts of incident %d: %v", id, err)
	}
	return as
}

// incidentIDs lists every incident, oldest first.
func (r *rig) incidentIDs() []int64 {
	r.t.Helper()
	var ids []int64
	if err := r.db.R.SelectContext(context.Background(), &ids, `SELECT id FROM incidents ORDER BY id`); err != nil {
		r.t.Fatal(err)
	}
	return ids
}

func (r *rig) count(table string) int {
	r.t.Helper()
	return countRows(r.t, r.db, table)
}

func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.R.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// fire is a firing alert as Alertmanager sends it (without a fingerprint, so Firebreak
// computes the label-set one). extra holds more label pairs: "instance", "db-1", ...
func fire(name, service, env, severity string, startsAt time.Time, extra ...string) template.Alert {
	labels := template.KV{"alertname": name}
	if service != "" {
		labels["service"] = service
	}
	if env != "" {
		labels["env"] = env
	}
	if severity != "" {
		labels["severity"] = severity
	}
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	return template.Alert{
		Status:       "firing",
		Labels:       labels,
		Annotations:  template.KV{"summary": name + " on " + service},
		StartsAt:     startsAt,
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=up",
	}
}

// resolve is the resolved notification of a firing alert.
func resolve(a template.Alert, endsAt time.Time) template.Alert {
	a.Status = "resolved"
	a.EndsAt = endsAt
	return a
}

// refire is the same alert firing again as a new occurrence.
func refire(a template.Alert, startsAt time.Time) template.Alert {
	a.Status = "firing"
	a.StartsAt = startsAt
	a.EndsAt = time.Time{}
	return a
}

// payload wraps alerts in a version 4 webhook body of one Alertmanager group.
func payload(groupKey string, as ...template.Alert) alerts.Payload {
	status := "resolved"
	for _, a := range as {
		if a.Status == "firing" {
			status = "firing"
		}
	}
	return alerts.Payload{
		Data: template.Data{
			Receiver:    "firebreak",
			Status:      status,
			Alerts:      as,
			ExternalURL: "http://alertmanager:9093",
		},
		Version:  "4",
		GroupKey: groupKey,
	}
}

// kinds lists the kinds of a timeline, for failure messages and counting.
func kinds(evs []incidents.Event) []incidents.EventKind {
	out := make([]incidents.EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func eventsOfKind(evs []incidents.Event, k incidents.EventKind) []incidents.Event {
	var out []incidents.Event
	for _, ev := range evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

func sameIDs(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	g := append([]int64(nil), got...)
	w := append([]int64(nil), want...)
	sort.Slice(g, func(i, j int) bool { return g[i] < g[j] })
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	for i := range g {
		if g[i] != w[i] {
			return false
		}
	}
	return true
}

// wantResult compares everything but the incident ids, which the caller checks.
func wantResult(t *testing.T, what string, got alerts.Result, received, isNew, dedup, resolved int) {
	t.Helper()
	if got.Received != received || got.New != isNew || got.Deduplicated != dedup || got.Resolved != resolved {
		t.Fatalf("%s: result %s, want received=%d new=%d deduplicated=%d resolved=%d",
			what, got, received, isNew, dedup, resolved)
	}
}

func timePtrEq(p *time.Time, want time.Time) bool { return p != nil && p.Equal(want) }
