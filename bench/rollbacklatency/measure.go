package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"

	"firebreak/bench/internal/alertsend"
	"firebreak/bench/internal/flow"
	"firebreak/bench/internal/serve"
)

// settle is how long the benchmark waits between recording the last deploy and sending the
// first alert, so that every deploy finished well before its alert's startsAt (a suspect
// must have finished before impact start), whatever precision either side keeps.
const settle = 1100 * time.Millisecond

// Versions of every service's deploy: the hook must be asked to go from v2 back to v1.
const (
	fromVersion = "v2"
	toVersion   = "v1"
	environment = "prod"
)

// maxSamples is how many distinct error messages a run keeps to print.
const maxSamples = 5

// result is what one run measured.
type result struct {
	total       []time.Duration // T1 − T0: alert sent → hook called, per incident whose hook came
	answered    []time.Duration // alert sent → its answer read, per accepted alert
	afterAnswer []time.Duration // answer read → hook called; negative when the hook came first
	failures    int             // incidents with no valid hook call within the wait
	alertErrors int             // alerts not accepted, or accepted without opening one incident
	wrongBodies int             // hook calls whose body named the wrong service, environment or versions
	samples     []string
	recv        stats
	deployPhase time.Duration
	alertPhase  time.Duration
	background  *alertsend.Stats // the alert mix run beside the measurement, or nil
}

// problem is the run's failure for scripts: anything but one correct call per incident.
func (r *result) problem() error {
	var msgs []string
	if r.failures > 0 {
		msgs = append(msgs, fmt.Sprintf("%d incidents got no hook call in time", r.failures))
	}
	if r.alertErrors > 0 {
		msgs = append(msgs, fmt.Sprintf("%d alerts failed", r.alertErrors))
	}
	if r.wrongBodies > 0 {
		msgs = append(msgs, fmt.Sprintf("%d hook calls had a wrong body", r.wrongBodies))
	}
	if bg := r.background; bg != nil && bg.ErrorCount() > 0 {
		msgs = append(msgs, fmt.Sprintf("%d background alert requests failed", bg.ErrorCount()))
	}
	if r.recv.duplicates > 0 || r.recv.rejected > 0 || r.recv.unexpected > 0 {
		msgs = append(msgs, fmt.Sprintf("hook calls: %d duplicate, %d refused, %d unexpected", r.recv.duplicates, r.recv.rejected, r.recv.unexpected))
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// measure runs one database from receiver and server start to server stop.
func measure(ctx context.Context, o options) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	secretBytes := make([]byte, 32)
	_, _ = rand.Read(secretBytes)
	secret := hex.EncodeToString(secretBytes)
	rc, err := startReceiver([]byte(secret))
	if err != nil {
		return nil, err
	}
	defer rc.close() // after the server has stopped (defers run in reverse)

	dir, err := os.MkdirTemp("", "firebreak-bench-rollback-"+o.db+"-")
	if err != nil {
		return nil, err
	}
	if o.keepLogs {
		fmt.Fprintf(o.logOutput, "rollbacklatency: %s: server directory kept at %s\n", o.db, dir)
	} else {
		defer os.RemoveAll(dir)
	}
	cfgPath := filepath.Join(dir, "firebreak.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(o.incidents, rc.url)), 0o600); err != nil {
		return nil, err
	}
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, o.db, dir, o.pgURL, o.logOutput, "rollbacklatency")
	if err != nil {
		return nil, err
	}
	defer dropSchema()
	srv, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: dir, DBURL: dbURL, ConfigPath: cfgPath,
		Env: []string{"ROLLBACK_SECRET=" + secret}})
	if err != nil {
		return nil, err
	}
	var bg *background
	if o.backgroundSenders > 0 {
		bgCtx, cancelBg := srv.WatchExit(ctx)
		defer cancelBg()
		if bg, err = startBackground(bgCtx, srv, o, o.logOutput); err != nil {
			return nil, errors.Join(srv.RunError(err), srv.Stop())
		}
	}
	r, runErr := load(ctx, srv, rc, o)
	var bgStats *alertsend.Stats
	if bg != nil {
		bgStats = bg.stopBackground()
	}
	stopErr := srv.Stop()
	if runErr != nil {
		return nil, errors.Join(runErr, stopErr)
	}
	if stopErr != nil {
		return nil, stopErr
	}
	r.background = bgStats
	return r, nil
}

// configYAML is a firebreak.yaml with services svc-0 … svc-(n−1), each rolled back
// automatically through the receiver. FIREBREAK_LISTEN and FIREBREAK_DATABASE_URL set the
// rest.
func configYAML(n int, hookURL string) string {
	var b strings.Builder
	b.WriteString("# written by bench/rollbacklatency\ndeploys:\n  correlation_window: 30m\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "  %s:\n    rollback:\n      policy: auto\n      min_severity: sev2\n      webhook:\n        url: %s\n        secret_env: ROLLBACK_SECRET\n",
			serviceName(i), hookURL)
		if benchAction == "abort_canary" {
			// The rollback hook stays configured: automation must choose the abort for a
			// canary still in progress, and a rollback call would be refused by the receiver.
			fmt.Fprintf(&b, "    actions:\n      abort_canary:\n        policy: auto\n        min_severity: sev2\n        webhook:\n          url: %s\n          secret_env: ROLLBACK_SECRET\n",
				hookURL)
		}
	}
	return b.String()
}

func serviceName(i int) string { return "svc-" + strconv.Itoa(i) }

// load records the deploys, waits settle, then opens the incidents o.concurrency at a time.
func load(ctx context.Context, srv *serve.Child, rc *receiver, o options) (*result, error) {
	// Stop at once if the server dies: every further request would fail.
	ctx, cancel := srv.WatchExit(ctx)
	defer cancel()
	api := &apiClient{http: flow.NewHTTPClient(o.concurrency), base: srv.Base, token: srv.Token}
	defer api.http.CloseIdleConnections()
	died := srv.RunError

	// Every incident has its own suspect deploy: one per service.
	deployIDs := make([]int64, o.incidents)
	begin := time.Now()
	err := parallel(o.incidents, o.concurrency, func(i int) error {
		id, err := api.recordDeploy(ctx, serviceName(i))
		deployIDs[i] = id
		return err
	})
	if err != nil {
		return nil, died(fmt.Errorf("record deploys: %w", err))
	}
	r := &result{deployPhase: time.Since(begin)}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return nil, died(ctx.Err())
	}

	var (
		mu       sync.Mutex
		expected = make(map[string]bool, o.incidents)
		samples  = map[string]bool{}
		aborted  atomic.Bool
	)
	note := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		f()
	}
	sample := func(msg string) {
		if len(samples) < maxSamples && !samples[msg] {
			samples[msg] = true
			r.samples = append(r.samples, msg)
		}
	}
	begin = time.Now()
	_ = parallel(o.incidents, o.concurrency, func(i int) error {
		if ctx.Err() != nil {
			aborted.Store(true)
			return nil
		}
		svc := serviceName(i)
		t0 := time.Now()
		incidentID, err := api.sendAlert(ctx, i, svc, t0)
		answered := time.Now()
		if err != nil || incidentID == 0 {
			if ctx.Err() != nil {
				aborted.Store(true)
				return nil
			}
			if err == nil {
				err = errors.New("the alert opened no incident")
			}
			note(func() { r.alertErrors++; r.failures++; sample(fmt.Sprintf("%s: %v", svc, err)) })
			return nil
		}
		key := idempotencyKey(incidentID, deployIDs[i])
		note(func() { expected[key] = true; r.answered = append(r.answered, answered.Sub(t0)) })
		c := rc.wait(ctx, key, t0.Add(o.wait))
		if c == nil {
			if ctx.Err() != nil {
				aborted.Store(true)
				return nil
			}
			note(func() {
				r.failures++
				sample(fmt.Sprintf("%s: incident %d: no valid call with Idempotency-Key %s within %s", svc, incidentID, key, o.wait))
			})
			return nil
		}
		b := c.body
		note(func() {
			r.total = append(r.total, c.at.Sub(t0))
			r.afterAnswer = append(r.afterAnswer, c.at.Sub(answered))
			if b.Service != svc || b.Environment != environment || b.RollbackFrom != fromVersion || b.RollbackTo == nil || *b.RollbackTo != toVersion {
				r.wrongBodies++
				sample(fmt.Sprintf("%s: hook body names service %q, environment %q, rollback_from %q, rollback_to %v",
					svc, b.Service, b.Environment, b.RollbackFrom, b.RollbackTo))
			}
		})
		return nil
	})
	r.alertPhase = time.Since(begin)
	if aborted.Load() {
		return nil, died(fmt.Errorf("run interrupted: %w", context.Cause(ctx)))
	}
	// Give a late duplicate a moment to show up before counting calls.
	time.Sleep(100 * time.Millisecond)
	r.recv = rc.stats(expected)
	return r, nil
}

// parallel runs f(0) … f(n−1) on workers goroutines and returns the first error; after an
// error no new item starts.
func parallel(n, workers int, f func(i int) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		failed   atomic.Bool
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// apiClient talks to Firebreak's HTTP API with the admin token.
type apiClient struct {
	http  *http.Client
	base  string
	token string
}

// recordDeploy records service's deploy of v2 over v1 in prod, finished now.
func (c *apiClient) recordDeploy(ctx context.Context, service string) (int64, error) {
	fields := map[string]any{"service": service, "environment": environment, "version": fromVersion,
		"previous_version": toVersion, "author": "rollbacklatency", "description": "benchmark deploy"}
	if benchAction == "abort_canary" {
		fields["strategy"], fields["state"], fields["weight"], fields["stage"] = "canary", "in_progress", 10, "canary 10%"
	}
	body, _ := json.Marshal(fields)
	var d struct {
		ID int64 `json:"id"`
	}
	if err := c.post(ctx, "/api/v1/deploys", body, http.StatusCreated, &d); err != nil {
		return 0, err
	}
	if d.ID <= 0 {
		return 0, fmt.Errorf("deploy of %s: the answer carries no id", service)
	}
	return d.ID, nil
}

// amAlert and amPayload are Alertmanager's webhook JSON (version 4), as its webhook
// notifier sends it.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

type amPayload struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []amAlert         `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

// sendAlert posts incident i's firing critical alert, started at startsAt, and returns the
// one incident it opened.
func (c *apiClient) sendAlert(ctx context.Context, i int, service string, startsAt time.Time) (int64, error) {
	labels := map[string]string{"alertname": "RollbackBenchErrorRate", "service": service, "env": environment, "severity": "critical"}
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	annotations := map[string]string{"summary": "error rate above 5 %", "description": "benchmark incident " + strconv.Itoa(i)}
	p := amPayload{
		Receiver: "firebreak", Status: "firing", Version: "4", ExternalURL: "http://127.0.0.1:9093",
		GroupKey:    fmt.Sprintf(`{}:{alertname="RollbackBenchErrorRate", service=%q}`, service),
		GroupLabels: map[string]string{"alertname": "RollbackBenchErrorRate", "service": service},
		Alerts: []amAlert{{Status: "firing", Labels: labels, Annotations: annotations, StartsAt: startsAt.UTC(),
			GeneratorURL: "http://127.0.0.1:9090/graph", Fingerprint: ls.Fingerprint().String()}},
		CommonLabels: labels, CommonAnnotations: annotations,
	}
	body, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	var res struct {
		New       int     `json:"new"`
		Incidents []int64 `json:"incidents"`
	}
	if err := c.post(ctx, "/api/v1/alerts/alertmanager", body, http.StatusOK, &res); err != nil {
		return 0, err
	}
	if res.New != 1 || len(res.Incidents) != 1 {
		return 0, fmt.Errorf("the alert webhook answered new=%d incidents=%v, want one new alert in one incident", res.New, res.Incidents)
	}
	return res.Incidents[0], nil
}

// post sends body, reads the whole answer (so the connection is reused) and decodes it.
func (c *apiClient) post(ctx context.Context, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("POST %s: read answer: %w", path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s answered %d, want %d: %s", path, resp.StatusCode, want, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return nil
}
