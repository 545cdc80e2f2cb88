package publish_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/statuspage"
	"firebreak/statuspage/publish"
	"firebreak/store"
)

// start is when every story begins.
var start = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is the platform half over a real database: incidents, the outbox and the status page
// service, on a clock that moves only when the story says so.
type env struct {
	t     *testing.T
	db    *store.DB
	clock *testkit.Clock
	m     *incidents.Manager
	jobs  *outbox.Outbox
	svc   *publish.Service
}

// newEnv wires the service as serve does: config components set, every incident change
// followed.
func newEnv(t *testing.T, db *store.DB, opts publish.Options) *env {
	t.Helper()
	return newEnvAt(t, db, testkit.NewClock(start), opts)
}

// newEnvAt is newEnv on a clock of the caller's, shared with a status-server.
func newEnvAt(t *testing.T, db *store.DB, clock *testkit.Clock, opts publish.Options) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: clock}
	e.m = incidents.NewManager(db, e.clock.Now)
	e.jobs = outbox.New(db, outbox.Options{Clock: e.clock.Now, Log: quiet(), BaseBackoff: time.Millisecond})
	opts.Log = quiet()
	e.svc = publish.New(db, e.m, e.jobs, opts)
	if err := e.svc.SyncConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.m.OnChange(e.svc.OnIncidentChange)
	return e
}

// runOutbox delivers jobs until the test ends.
func (e *env) runOutbox() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.jobs.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

func (e *env) declare(title, sev, service string) incidents.Incident {
	e.t.Helper()
	inc, err := e.m.Declare(context.Background(), "alice", incidents.DeclareInput{Title: title, Severity: sev, Service: service, Environment: "prod"})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *env) transition(id int64, a incidents.Action) {
	e.t.Helper()
	if _, err := e.m.Transition(context.Background(), id, a, "alice", ""); err != nil {
		e.t.Fatalf("%s: %v", a, err)
	}
}

func (e *env) note(id int64, text string, public bool) {
	e.t.Helper()
	if _, err := e.m.AddNote(context.Background(), id, "alice", text, public); err != nil {
		e.t.Fatal(err)
	}
}

// snapshot builds the page and checks that status-server would take it.
func (e *env) snapshot() statuspage.Snapshot {
	e.t.Helper()
	snap, err := e.svc.Snapshot(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	snap.Sequence = 1
	if err := statuspage.Validate(snap); err != nil {
		raw, _ := json.MarshalIndent(snap, "", "  ")
		e.t.Fatalf("the snapshot would be refused: %v\n%s", err, raw)
	}
	return snap
}

// component finds a component of the snapshot by name.
func component(t *testing.T, snap statuspage.Snapshot, name string) statuspage.Component {
	t.Helper()
	for _, c := range snap.Components {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %q on the page", name)
	return statuspage.Component{}
}

// pendingPushes counts the push jobs waiting.
func (e *env) pendingPushes() int {
	e.t.Helper()
	var n int
	if err := e.db.R.Get(&n, e.db.R.Rebind(`SELECT COUNT(*) FROM outbox_jobs WHERE kind = ? AND status = 'pending'`), publish.KindPush); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// statusServer is a real status-server on a loopback port, behind a counter of the pushes
// that reach it.
type statusServer struct {
	t      *testing.T
	srv    *statuspage.Server
	base   string
	dir    string
	pushes atomic.Int64
}

var pushSecret = []byte("push-secret-shared-with-the-status-server")

func startStatusServer(t *testing.T, clock func() time.Time) *statusServer {
	t.Helper()
	ss := &statusServer{t: t, dir: t.TempDir()}
	srv, err := statuspage.NewServer(statuspage.ServerOptions{DataDir: ss.dir, Secret: pushSecret, Now: clock,
		Defaults: statuspage.Defaults{Title: "Acme Status"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(); err != nil {
		t.Fatal(err)
	}
	ss.srv = srv
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(inner)
	t.Cleanup(func() { _ = srv.App().ShutdownWithTimeout(5 * time.Second) })
	target, _ := url.Parse("http://" + inner.Addr().String())
	proxy := httputil.NewSingleHostReverseProxy(target)
	// No connection left idle: fasthttp's shutdown would wait for it.
	proxy.Transport = &http.Transport{DisableKeepAlives: true}
	front := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			ss.pushes.Add(1)
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go front.Serve(ln)
	t.Cleanup(func() { _ = front.Close() })
	ss.base = "http://" + ln.Addr().String()
	return ss
}

func (ss *statusServer) target() publish.Target {
	return publish.Target{URL: ss.base + statuspage.PushPath, Secret: pushSecret}
}

// summary reads /api/v2/summary.json.
func (ss *statusServer) summary() summaryJSON {
	ss.t.Helper()
	resp, err := http.Get(ss.base + "/api/v2/summary.json")
	if err != nil {
		ss.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s summaryJSON
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		ss.t.Fatal(err)
	}
	return s
}

// waitFor polls the summary until ok says yes; a push is asynchronous.
func (ss *statusServer) waitFor(what string, ok func(summaryJSON) bool) summaryJSON {
	ss.t.Helper()
	var s summaryJSON
	waitUntil(ss.t, "the status page to show "+what, func() bool {
		s = ss.summary()
		return ok(s)
	})
	return s
}

// waitUntil polls ok until it says yes, failing the test after 20 s.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// savedSequence is the sequence of the snapshot the status-server keeps on disk.
func (ss *statusServer) savedSequence() int64 {
	ss.t.Helper()
	raw, err := os.ReadFile(filepath.Join(ss.dir, "snapshot.json"))
	if err != nil {
		return 0
	}
	var s struct {
		Sequence int64 `json:"sequence"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		ss.t.Fatal(err)
	}
	return s.Sequence
}

// summaryJSON is the part of Statuspage's summary.json the stories read.
type summaryJSON struct {
	Components []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"components"`
	Incidents []struct {
		Name            string `json:"name"`
		Status          string `json:"status"`
		Impact          string `json:"impact"`
		IncidentUpdates []struct {
			Status string `json:"status"`
			Body   string `json:"body"`
		} `json:"incident_updates"`
	} `json:"incidents"`
}

func (s summaryJSON) componentStatus(name string) string {
	for _, c := range s.Components {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}
