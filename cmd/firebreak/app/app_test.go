package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
)

// quiet keeps the services' info lines out of test output.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testOptions are the App's options in tests: quiet, and any admin-token file written in
// a folder of the test's own rather than the package's.
func testOptions(t *testing.T) app.Options {
	return app.Options{Log: quiet(), WorkDir: t.TempDir()}
}

// testConfig is the default configuration on a fresh database of dialect d, listening on a
// port the kernel picks.
func testConfig(t *testing.T, d store.Dialect) config.Config {
	t.Helper()
	driver, dsn := storetest.DSN(t, d)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = config.Database{Driver: driver, URL: dsn}
	return cfg
}

// eachDialect runs fn once per database, like storetest.Each, with a config instead of an
// open database: the App opens its own.
func eachDialect(t *testing.T, fn func(t *testing.T, cfg config.Config)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { fn(t, testConfig(t, d)) })
	}
}

// client calls the API of a running App.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) call(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running is an App serving in the background.
type running struct {
	app  *app.App
	api  client
	stop func() error // cancels Run and returns what it returned
}

// startApp builds an App on cfg and runs it until stop or the end of the test.
func startApp(t *testing.T, cfg config.Config) *running {
	t.Helper()
	ctx := context.Background()
	a, err := app.Build(ctx, cfg, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	token, err := a.Tokens.Create(ctx, fmt.Sprintf("test-%d", time.Now().UnixNano()), []tokens.Scope{tokens.Admin})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(runCtx) }()
	var once sync.Once
	var err2 error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err2 = <-runErr:
			case <-time.After(60 * time.Second):
				err2 = errors.New("Run did not return within 60 s of its context ending")
			}
		})
		return err2
	}
	t.Cleanup(func() { _ = stop() })
	return &running{app: a, api: client{t: t, base: "http://" + addr.String(), token: token}, stop: stop}
}

// rollbackState is what the database says about an incident's rollback and its outbox job.
type rollbackState struct {
	Status    string     `db:"status"`
	LastError string     `db:"last_error"`
	JobStatus string     `db:"job_status"`
	Locked    *time.Time `db:"locked_until"`
}

func readRollback(t *testing.T, cfg config.Config, incidentID int64) rollbackState {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var st rollbackState
	err = db.R.GetContext(ctx, &st, db.R.Rebind(`SELECT r.status, r.last_error, j.status AS job_status, j.locked_until
		FROM rollbacks r JOIN outbox_jobs j ON j.kind = 'rollback' WHERE r.incident_id = ?`), incidentID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestShutdownLetsARunningRollbackCommandFinish: a rollback command still running at
// shutdown is not cut off (it may have half undone a deploy); Run waits for it, records its
// success, and a restart never starts it again.
func TestShutdownLetsARunningRollbackCommandFinish(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		dir := t.TempDir()
		started, release, runs := filepath.Join(dir, "started"), filepath.Join(dir, "release"), filepath.Join(dir, "runs")
		cfg.Services = map[string]config.Service{"checkout": {Rollback: &config.Rollback{
			Policy: config.PolicyAuto, MinSeverity: "sev2", Timeout: config.Duration(time.Minute),
			Command: []string{"sh", "-c", `echo run >> "$2"; touch "$0"; while [ ! -e "$1" ]; do sleep 0.01; done; echo rolled back`, started, release, runs},
		}}}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		first := startApp(t, cfg)
		now := time.Now().UTC().Truncate(time.Second)
		if code, body := first.api.call("POST", "/api/v1/deploys", fmt.Sprintf(`{"service":"checkout","environment":"prod","version":"v2","previous_version":"v1","finished_at":%q}`,
			now.Add(-5*time.Minute).Format(time.RFC3339))); code != http.StatusCreated {
			t.Fatalf("record deploy: %d %v", code, body)
		}
		code, body := first.api.call("POST", "/api/v1/alerts/alertmanager", fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"CheckoutDown\"}","status":"firing","receiver":"firebreak",
			"groupLabels":{"alertname":"CheckoutDown"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager",
			"alerts":[{"status":"firing","labels":{"alertname":"CheckoutDown","service":"checkout","env":"prod","severity":"critical"},
			"annotations":{},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"c0ffee"}]}`, now.Add(-time.Minute).Format(time.RFC3339)))
		if code != http.StatusOK {
			t.Fatalf("alert webhook: %d %v", code, body)
		}
		incidentIDs, _ := body["incidents"].([]any)
		if len(incidentIDs) != 1 {
			t.Fatalf("alert webhook answered %v, want one incident", body)
		}
		incidentID := int64(incidentIDs[0].(float64))
		waitFile(t, started, "the rollback command to start")

		stopped := make(chan error, 1)
		go func() { stopped <- first.stop() }()
		select {
		case err := <-stopped:
			t.Fatalf("Run returned (%v) while the rollback command was still running", err)
		case <-time.After(300 * time.Millisecond):
		}
		if err := os.WriteFile(release, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := <-stopped; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if resp, err := http.Get(first.api.base + "/-/healthy"); err == nil {
			resp.Body.Close()
			t.Error("the HTTP server still answers after Run returned")
		}
		if err := first.app.DB.Ping(context.Background()); err == nil {
			t.Error("the database is still open after Run returned")
		}
		if st := readRollback(t, cfg, incidentID); st.Status != "succeeded" {
			t.Fatalf("after the shutdown: %+v; want the rollback the command finished recorded as succeeded", st)
		}

		second := startApp(t, cfg)
		time.Sleep(300 * time.Millisecond) // time for a wrongly queued job to run again
		if err := second.stop(); err != nil {
			t.Fatalf("Run after the restart: %v", err)
		}
		out, err := os.ReadFile(runs)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(out), "run"); n != 1 {
			t.Fatalf("the rollback command ran %d times, want once", n)
		}
	})
}

// TestRetentionIsAScheduledJob: the App schedules the clean-up with the configured
// retention, and a run deletes what is older than it and keeps the rest.
func TestRetentionIsAScheduledJob(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		cfg.Retention.DeliveredJobs = config.Duration(24 * time.Hour)
		ctx := context.Background()
		a, err := app.Build(ctx, cfg, testOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if jobs := a.Scheduler.Jobs(); len(jobs) == 0 || !contains(jobs, app.RetentionJob) {
			t.Fatalf("scheduled jobs %v, want %s among them", jobs, app.RetentionJob)
		}
		now := time.Now().UTC()
		for _, age := range []time.Duration{25 * time.Hour, 23 * time.Hour} {
			at := now.Add(-age)
			_, err := a.DB.W.ExecContext(ctx, a.DB.W.Rebind(`INSERT INTO outbox_jobs (kind, payload, status, attempts, run_at, created_at, updated_at)
				VALUES ('slack', ?, 'done', 1, ?, ?, ?)`), age.String(), at, at, at)
			if err != nil {
				t.Fatal(err)
			}
		}
		if ran, err := a.Scheduler.RunNow(ctx, app.RetentionJob); err != nil || !ran {
			t.Fatalf("RunNow(%s): ran %v, %v", app.RetentionJob, ran, err)
		}
		var jobs []string
		if err := a.DB.R.SelectContext(ctx, &jobs, `SELECT payload FROM outbox_jobs`); err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0] != "23h0m0s" {
			t.Errorf("left after the clean-up: jobs %v; want only the 23h old one", jobs)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
