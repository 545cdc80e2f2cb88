package deploys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/notify/webhook"
	"firebreak/outbox"
	"firebreak/store"
)

// at is a time on Wednesday 18 November 2026, when the stories happen.
func at(h, m int) time.Time { return time.Date(2026, 11, 18, h, m, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// env is Firebreak's deploy machinery wired as serve wires it, over one database, with the
// incident clock at 10:05 unless a story moves it.
type env struct {
	t      *testing.T
	db     *store.DB
	clock  *testkit.Clock
	m      *incidents.Manager
	ob     *outbox.Outbox
	rb     *deploys.Rollbacks
	tr     *deploys.Tracker
	alerts *alerts.Ingester
	writes *store.GroupCommitter
	// actions are the services' other remedies (services.NAME.actions), for build.
	actions map[string]map[string]deploys.Hook
	// run starts the outbox (start does it; build leaves it to the story).
	run  func()
	stop func()
}

// newEnv wires the machinery with the given hooks and starts the outbox; opts tunes the
// outbox (zero fields take the stories' fast defaults).
func newEnv(t *testing.T, db *store.DB, hooks map[string]deploys.Hook, opts outbox.Options) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: testkit.NewClock(at(10, 5))}
	e.start(hooks, opts)
	t.Cleanup(func() { e.stop() })
	return e
}

// newIdleEnv is newEnv with the outbox not yet running: jobs wait until the story calls run.
func newIdleEnv(t *testing.T, db *store.DB, hooks map[string]deploys.Hook, opts outbox.Options) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: testkit.NewClock(at(10, 5))}
	e.build(hooks, opts)
	t.Cleanup(func() { e.stop() })
	return e
}

// start builds a fresh manager, outbox, rollbacks, tracker and alert ingester on the env's
// database, as a restarted process would, and runs the outbox until stop.
func (e *env) start(hooks map[string]deploys.Hook, opts outbox.Options) {
	e.build(hooks, opts)
	e.run()
}

// build wires a fresh process without starting its outbox.
func (e *env) build(hooks map[string]deploys.Hook, opts outbox.Options) {
	if opts.BaseBackoff == 0 {
		opts.BaseBackoff = 5 * time.Millisecond
	}
	if opts.Poll == 0 {
		opts.Poll = 10 * time.Millisecond
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 5
	}
	e.m = incidents.NewManager(e.db, e.clock.Now)
	e.ob = outbox.New(e.db, opts)
	e.rb = deploys.NewRemedies(e.db, e.m, e.ob, hooks, e.actions, "http://firebreak.test")
	e.tr = deploys.NewTracker(e.db, e.m, 30*time.Minute, e.rb)
	e.m.OnChange(e.tr.OnIncidentChange)
	e.writes = store.NewGroupCommitter(e.db, 1, 128, 4096, slog.New(slog.DiscardHandler))
	e.alerts = alerts.NewIngester(e.db, e.m, e.writes, alerts.Options{ServiceLabels: []string{"service"},
		EnvironmentLabels: []string{"env"}, SeverityMap: map[string]incidents.Severity{"critical": incidents.Sev1, "warning": incidents.Sev3},
		ReopenWindow: 30 * time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ob, writes := e.ob, e.writes
	var started, stopped sync.Once
	e.run = func() { started.Do(func() { go func() { ob.Run(ctx); close(done) }() }) }
	e.stop = func() {
		stopped.Do(func() {
			cancel()
			started.Do(func() { close(done) }) // never started: nothing to wait for
			<-done
			writes.Close()
		})
	}
}

func (e *env) record(in deploys.Input) deploys.Deploy {
	e.t.Helper()
	d, err := e.tr.Record(context.Background(), in)
	if err != nil {
		e.t.Fatalf("record %+v: %v", in, err)
	}
	return d
}

// checkoutDeploy is the deploy most stories suspect: checkout 1.4.2 to prod, replacing 1.4.1.
func checkoutDeploy(finished time.Time) deploys.Input {
	return deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.2", PreviousVersion: "1.4.1",
		Commit: "abc123def4567890", Author: "alice", URL: "https://ci.example.com/runs/42", Description: "faster cart",
		StartedAt: ptr(finished.Add(-2 * time.Minute)), FinishedAt: ptr(finished)}
}

func (e *env) declare(title string, sev incidents.Severity, service, environment string, impact time.Time) incidents.Incident {
	e.t.Helper()
	inc, err := e.m.Declare(context.Background(), "alice", incidents.DeclareInput{Title: title, Severity: string(sev),
		Service: service, Environment: environment, ImpactStartedAt: &impact})
	if err != nil {
		e.t.Fatalf("declare %q: %v", title, err)
	}
	return inc
}

func (e *env) incident(id int64) incidents.Incident {
	e.t.Helper()
	inc, err := e.m.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *env) timeline(id int64) []incidents.Event {
	e.t.Helper()
	evs, err := e.m.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// events returns the timeline lines of one kind, oldest first.
func (e *env) events(id int64, kind incidents.EventKind) []incidents.Event {
	var out []incidents.Event
	for _, ev := range e.timeline(id) {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) suspects(id int64) []deploys.Match {
	e.t.Helper()
	s, err := e.tr.Suspects(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) during(id int64) []deploys.Match {
	e.t.Helper()
	s, err := e.tr.During(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) rollbacks(id int64) []deploys.Rollback {
	e.t.Helper()
	rbs, err := e.rb.ForIncident(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return rbs
}

// onlyRollback returns the incident's one rollback.
func (e *env) onlyRollback(id int64) deploys.Rollback {
	e.t.Helper()
	rbs := e.rollbacks(id)
	if len(rbs) != 1 {
		e.t.Fatalf("incident %d has %d rollbacks, want 1: %+v", id, len(rbs), rbs)
	}
	return rbs[0]
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.R.Get(&n, e.db.R.Rebind(query), args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitIdle waits until the outbox has nothing left to deliver and every rollback has
// settled (succeeded, failed, unknown or cancelled), the failure observer included.
func (e *env) waitIdle() {
	e.t.Helper()
	eventually(e.t, "the outbox to go idle", func() bool {
		return e.count(`SELECT COUNT(*) FROM outbox_jobs WHERE status = 'pending'`) == 0 &&
			e.count(`SELECT COUNT(*) FROM rollbacks WHERE status IN ('pending', 'running')`) == 0
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// webhookHook is a hook posting to url with the stories' secret.
func webhookHook(policy string, minSev incidents.Severity, url string) deploys.Hook {
	return deploys.Hook{Policy: policy, MinSeverity: minSev, WebhookURL: url, Secret: hookSecret, Timeout: 5 * time.Second}
}

var hookSecret = []byte("checkout-rollback-secret")

// hookCall is one request the receiver got, decoded as PRODUCT.md describes it.
type hookCall struct {
	Key    string
	Status int
	Body   hookBody
	// Deploy is the raw deploy object of the body, to compare with the API's.
	Deploy map[string]any
}

// hookBody is the rollback webhook body of PRODUCT.md, decoded strictly.
type hookBody struct {
	Action   string `json:"action"`
	Incident struct {
		ID       int64  `json:"id"`
		Title    string `json:"title"`
		Severity string `json:"severity"`
		URL      string `json:"url"`
	} `json:"incident"`
	Service      string          `json:"service"`
	Environment  string          `json:"environment"`
	Deploy       json.RawMessage `json:"deploy"`
	RollbackFrom string          `json:"rollback_from"`
	RollbackTo   *string         `json:"rollback_to"`
	Flag         string          `json:"flag"`
}

// receiver is a deployer's rollback endpoint on a real loopback socket. It checks each
// request as a careful receiver would (signature, 5-minute window, idempotency key, the
// exact body shape) and answers with what status says for the nth call (1-based).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	status func(n int) int
	// delay, when set, is how long to sit on each request before answering.
	delay time.Duration
	// hold, when set, keeps each request waiting until it is closed.
	hold chan struct{}

	mu    sync.Mutex
	calls []hookCall
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{t: t, status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func always(code int) func(int) int { return func(int) int { return code } }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("receiver: read body: %v", err)
		return
	}
	if req.Method != http.MethodPost || req.URL.Path != "/rollback" {
		r.t.Errorf("receiver: got %s %s, want POST /rollback", req.Method, req.URL.Path)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("receiver: Content-Type %q", ct)
	}
	ts, sig := req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature)
	if err := webhook.Verify(hookSecret, ts, sig, body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("receiver: signature (%s=%q, %s=%q): %v", webhook.HeaderTimestamp, ts, webhook.HeaderSignature, sig, err)
	}
	if err := webhook.Verify([]byte("another secret"), ts, sig, body, time.Now(), 5*time.Minute); err == nil {
		r.t.Errorf("receiver: the signature verifies with any secret")
	}
	call := hookCall{Key: req.Header.Get("Idempotency-Key")}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	keys := []string{"action", "incident", "service", "environment", "deploy", "rollback_from", "rollback_to"}
	if bytes.Contains(raw["action"], []byte(`"disable_flag"`)) {
		keys = append(keys, "flag") // disable_flag names its flag; no other remedy has one
	}
	checkKeys(r.t, "body", body, keys...)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&call.Body); err != nil {
		r.t.Errorf("receiver: body %s: %v", body, err)
	}
	checkKeys(r.t, "incident", raw["incident"], "id", "title", "severity", "url")
	checkKeys(r.t, "deploy", call.Body.Deploy, deployKeys...)
	_ = json.Unmarshal(call.Body.Deploy, &call.Deploy)

	r.mu.Lock()
	r.calls = append(r.calls, call)
	n := len(r.calls)
	delay, hold := r.delay, r.hold
	r.mu.Unlock()
	code := r.status(n)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
		}
	}
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
		}
	}
	r.mu.Lock()
	r.calls[n-1].Status = code
	r.mu.Unlock()
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"answer":%d}`, code)
}

// deployKeys are the fields of the deploy object (PRODUCT.md, "Resources as JSON").
var deployKeys = []string{"id", "service", "environment", "version", "previous_version", "commit", "author", "url",
	"description", "started_at", "finished_at", "strategy", "stage", "weight", "state", "reversible", "flags"}

// checkKeys reports unless the JSON object raw has exactly the keys want.
func checkKeys(t *testing.T, what string, raw []byte, want ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("%s is not a JSON object: %s", what, raw)
		return
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s has keys %v, want exactly %v", what, got, want)
	}
}

// sleep makes the receiver sit on every request for d before answering.
func (r *receiver) sleep(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// holdUntilClosed keeps every request waiting until ch is closed.
func (r *receiver) holdUntilClosed(ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = ch
}

func (r *receiver) url() string { return r.srv.URL + "/rollback" }

func (r *receiver) got() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookCall(nil), r.calls...)
}

// asJSONMap renders v as the API would and reads it back as a map, for comparisons with
// what a receiver decoded.
func asJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ingest sends one Alertmanager payload through the alert path, as the webhook would.
func (e *env) ingest(groupKey string, as ...template.Alert) alerts.Result {
	e.t.Helper()
	status := "resolved"
	for _, a := range as {
		if a.Status == "firing" {
			status = "firing"
		}
	}
	res, err := e.alerts.Ingest(context.Background(), alerts.Payload{Version: "4", GroupKey: groupKey,
		Data: template.Data{Receiver: "firebreak", Status: status, Alerts: as, ExternalURL: "http://alertmanager:9093"}})
	if err != nil {
		e.t.Fatalf("ingest: %v", err)
	}
	return res
}

// firing is a critical alert of checkout in prod that started at startsAt.
func firing(name string, startsAt time.Time) template.Alert {
	return template.Alert{Status: "firing", StartsAt: startsAt,
		Labels: template.KV{"alertname": name, "service": "checkout", "env": "prod", "severity": "critical"}}
}

// resolved is the resolved notification of a firing alert.
func resolved(a template.Alert, endsAt time.Time) template.Alert {
	a.Status, a.EndsAt = "resolved", endsAt
	return a
}
