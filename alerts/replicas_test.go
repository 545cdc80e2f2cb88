package alerts_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// twoReplicas are two Firebreak replicas on one fresh PostgreSQL schema, each with its own
// pool, manager and the four group-commit workers `serve` gives it; their group committers
// log to warnings.
func twoReplicas(t *testing.T, clock *testkit.Clock, warnings *warningLog, opts alerts.Options) [2]*rig {
	t.Helper()
	driver, dsn := storetest.DSN(t, store.Postgres)
	ctx := context.Background()
	var replicas [2]*rig
	for i := range replicas {
		db, err := store.Open(ctx, driver, dsn)
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("replica %d: migrate: %v", i, err)
		}
		replicas[i] = newRigOpts(t, db, clock, 4, slog.New(warnings), opts)
	}
	return replicas
}

// warningLog is a slog handler that keeps the messages of warnings and errors, such as the
// group committer's "batch transaction failed, retrying once" after a deadlock.
type warningLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warningLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	w.mu.Lock()
	w.msgs = append(w.msgs, msg)
	w.mu.Unlock()
	return nil
}

func (w *warningLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warningLog) WithGroup(string) slog.Handler      { return w }

func (w *warningLog) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// send posts each payload of ps through in from senders goroutines, in order, and returns
// the results in payload order and the errors.
func send(in *alerts.Ingester, ps []alerts.Payload, senders int, start <-chan struct{}) ([]alerts.Result, []error) {
	results := make([]alerts.Result, len(ps))
	errs := make([]error, len(ps))
	next := make(chan int)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := range next {
				results[i], errs[i] = in.Ingest(context.Background(), ps[i])
			}
		})
	}
	<-start
	for i := range ps {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, errs
}

// firingInResolved counts firing alerts of resolved incidents, which must never exist
// unless a person resolved the incident while they fired.
func firingInResolved(t *testing.T, db *store.DB) []string {
	t.Helper()
	var rows []string
	err := db.R.SelectContext(context.Background(), &rows, `SELECT a.alertname || ' ' || a.labels || ' in incident ' || i.id
		FROM alerts a JOIN incidents i ON i.id = a.incident_id WHERE a.status = 'firing' AND i.status = 'resolved'`)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestHATwinsInOppositeOrderNeverDeadlock: an Alertmanager HA pair sends every notification
// twice, one copy to each of two replicas. The copies reach the replicas in opposite orders,
// 16 at a time, so each replica's batches hold the same payloads the other's hold, reversed.
// No batch deadlocks (a deadlock costs a second and a retry, or a 503), no request fails,
// and every alert is counted once as new or resolved and once as a duplicate.
func TestHATwinsInOppositeOrderNeverDeadlock(t *testing.T) {
	t.Parallel() // one of the slow stories; they overlap each other
	warnings := &warningLog{}
	clock := testkit.NewClock(t0)
	replicas := twoReplicas(t, clock, warnings, testOptions())

	const services, warm, rounds = 40, 6, 3
	alertOf := func(s, i int) template.Alert {
		return fire("TwinLatency", fmt.Sprintf("svc-%02d", s), "production", "warning", t0.Add(-time.Hour), "instance", fmt.Sprintf("i-%d", i))
	}
	var setup []template.Alert
	for s := range services {
		for i := range warm {
			setup = append(setup, alertOf(s, i))
		}
	}
	replicas[0].ingest(payload("setup", setup...))
	clock.Advance(time.Minute)

	// Each payload names two neighbouring services (the route groups by alertname): repeats
	// of alerts that keep firing, one resolve and one new alert of the first service.
	var ps []alerts.Payload
	news, resolves, received := 0, 0, 0
	for round := range rounds {
		for s := range services {
			n := (s + 1) % services
			p := payload(fmt.Sprintf(`{}:{alertname="TwinLatency",round="%d",pair="%d"}`, round, s),
				alertOf(s, 3), alertOf(s, 4), alertOf(n, 4), alertOf(n, 5),
				resolve(alertOf(s, round), t0),
				alertOf(s, 100+round))
			ps = append(ps, p)
			news, resolves, received = news+1, resolves+1, received+len(p.Alerts)
		}
	}
	reversed := make([]alerts.Payload, len(ps))
	for i, p := range ps {
		reversed[len(ps)-1-i] = p
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	var results [2][]alerts.Result
	var errs [2][]error
	for i, order := range [][]alerts.Payload{ps, reversed} {
		wg.Go(func() { results[i], errs[i] = send(replicas[i].in, order, 16, start) })
	}
	close(start)
	wg.Wait()

	var got alerts.Result
	for i := range replicas {
		for k, err := range errs[i] {
			if err != nil {
				t.Errorf("replica %d, payload %d: %v", i, k, err)
			}
		}
		for _, res := range results[i] {
			got.Received += res.Received
			got.New += res.New
			got.Deduplicated += res.Deduplicated
			got.Resolved += res.Resolved
		}
	}
	if w := warnings.all(); len(w) > 0 {
		t.Errorf("%d warnings from the group committers, e.g. %q: the twins fought over rows", len(w), w[0])
	}
	if got.Received != 2*received || got.New != news || got.Resolved != resolves || got.Deduplicated != 2*received-news-resolves {
		t.Fatalf("both replicas answered %s together, want received=%d new=%d resolved=%d deduplicated=%d",
			got, 2*received, news, resolves, 2*received-news-resolves)
	}
	if n := countRows(t, replicas[0].db, "alerts"); n != services*warm+news {
		t.Fatalf("%d alerts stored, want each once: %d", n, services*warm+news)
	}
	if n := countRows(t, replicas[0].db, "incidents"); n != services {
		t.Fatalf("%d incidents, want one per service (%d)", n, services)
	}
}

// TestNewAlertNeverJoinsAnIncidentBeingResolved: one replica takes the resolve of a
// service's only alert (which resolves its incident) while the other takes a new alert of
// that service. Whichever commits first, the new alert never ends up firing inside a
// resolved incident: it joined before the resolve (which then sees it and leaves the
// incident open) or it reopened the incident after.
func TestNewAlertNeverJoinsAnIncidentBeingResolved(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(t0)
	replicas := twoReplicas(t, clock, &warningLog{}, testOptions())
	const services = 30
	for round := range 4 {
		var resolves, joins []alerts.Payload
		for s := range services {
			service := fmt.Sprintf("svc-%d-%02d", round, s)
			a := fire("HighLatency", service, "production", "warning", clock.Now().Add(-time.Minute), "instance", "a")
			replicas[0].ingest(payload("g-"+service, a))
			resolves = append(resolves, payload("g-"+service, resolve(a, clock.Now())))
			joins = append(joins, payload("g-"+service, fire("HighErrorRate", service, "production", "warning", clock.Now(), "instance", "b")))
		}
		clock.Advance(time.Minute)
		raceResolvesAndJoins(t, replicas, resolves, joins)
		if bad := firingInResolved(t, replicas[0].db); len(bad) > 0 {
			t.Fatalf("round %d: %d firing alerts in resolved incidents, e.g. %s", round, len(bad), bad[0])
		}
	}
}

// raceResolvesAndJoins sends resolves[i] to replica 0 and joins[i] to replica 1, all at once.
func raceResolvesAndJoins(t *testing.T, replicas [2]*rig, resolves, joins []alerts.Payload) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var errs [2][]error
	wg.Go(func() { _, errs[0] = send(replicas[0].in, resolves, len(resolves), start) })
	wg.Go(func() { _, errs[1] = send(replicas[1].in, joins, len(joins), start) })
	close(start)
	wg.Wait()
	for i := range errs {
		for k, err := range errs[i] {
			if err != nil {
				t.Fatalf("replica %d, payload %d: %v", i, k, err)
			}
		}
	}
}

// TestRepeatsAfterAPersonResolvedChangeNothing: a person resolves an incident whose alert
// still fires. Alertmanager keeps repeating it: the repeats are counted on the alert and
// change nothing else; the incident stays resolved.
func TestRepeatsAfterAPersonResolvedChangeNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute))
		id := r.openIncident("g-api", a)
		if _, err := r.m.Transition(context.Background(), id, incidents.Resolve, "alice", "false alarm"); err != nil {
			t.Fatal(err)
		}
		lines := len(r.timeline(id))
		for i := range 3 {
			r.clock.Advance(time.Minute)
			res := r.ingest(payload("g-api", a))
			wantResult(t, fmt.Sprintf("repeat %d", i), res, 1, 0, 1, 0)
		}
		inc := r.incident(id)
		if inc.Status != incidents.Resolved || inc.ReopenedCount != 0 {
			t.Fatalf("incident %+v, want still resolved", inc)
		}
		if got := r.timeline(id); len(got) != lines {
			t.Fatalf("timeline grew to %v on repeats", kinds(got))
		}
		if as := r.alertsOf(id); len(as) != 1 || as[0].Repeats != 3 || !as[0].LastSeenAt.Equal(r.clock.Now()) {
			t.Fatalf("alerts %+v, want the one alert repeated 3 times, seen now", as)
		}
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1", n)
		}
	})
}
