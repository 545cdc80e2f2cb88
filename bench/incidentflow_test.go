// Package bench holds Firebreak's benchmarks. The Go benchmarks here build the platform in
// process with the app builder `firebreak serve` uses (cmd/firebreak/app) and serve it on a
// real loopback listener; bench/incidentload runs the built binary as a separate process
// instead.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/bench/internal/flow"
	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
)

// TestMain keeps the migration runner's info lines out of the benchmark figures.
func TestMain(m *testing.M) {
	slog.SetLogLoggerLevel(slog.LevelWarn)
	os.Exit(m.Run())
}

// clients is the concurrency the issue asks for: 16 clients at once.
const clients = 16

// platform is Firebreak built and run by the same app builder as `firebreak serve`, on a
// loopback port.
type platform struct {
	incidents *incidents.Manager
	client    *flow.Client
}

// startPlatform builds the platform on a fresh database of dialect d, creates an admin
// token and serves the HTTP API on 127.0.0.1 until the test or benchmark ends.
func startPlatform(tb testing.TB, d store.Dialect) *platform {
	tb.Helper()
	ctx := context.Background()
	driver, dsn := storetest.DSN(tb, d)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = config.Database{Driver: driver, URL: dsn}
	// Warnings and errors only, as a production server would run: per-request debug lines
	// would be measured too.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Build(ctx, cfg, app.Options{Log: logger, WorkDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("build the platform: %v", err)
	}
	addr, err := a.Listen()
	if err != nil {
		a.Close()
		tb.Fatalf("listen on loopback: %v", err)
	}
	token, err := a.Tokens.Create(ctx, "bench", []tokens.Scope{tokens.Admin})
	if err != nil {
		a.Close()
		tb.Fatalf("create token: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(runCtx) }()
	httpClient := flow.NewHTTPClient(clients)
	// Cleanups run last-in first-out: this one runs before storetest drops the schema.
	tb.Cleanup(func() {
		httpClient.CloseIdleConnections()
		stop()
		if err := <-ran; err != nil {
			tb.Errorf("run the platform: %v", err)
		}
	})
	return &platform{
		incidents: a.Incidents,
		client:    &flow.Client{HTTP: httpClient, Base: "http://" + addr.String(), Token: token},
	}
}

func BenchmarkIncidentFlowSQLite(b *testing.B) { benchmarkIncidentFlow(b, store.SQLite) }

func BenchmarkIncidentFlowPostgres(b *testing.B) { benchmarkIncidentFlow(b, store.Postgres) }

// benchmarkIncidentFlow runs declare → acknowledge → resolve over HTTP from 16 concurrent
// clients; one op is one whole flow. Besides ns/op it reports incidents/s and the p50 and
// p99 of one flow's latency.
func benchmarkIncidentFlow(b *testing.B, d store.Dialect) {
	p := startPlatform(b, d)
	// RunParallel starts parallelism × GOMAXPROCS goroutines; pick the smallest
	// parallelism that gives at least 16 clients.
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((clients + procs - 1) / procs)

	var (
		worker   atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
		mu       sync.Mutex
		all      []time.Duration
	)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(worker.Add(1))
		var mine []time.Duration
		for n := 0; pb.Next(); n++ {
			r, err := p.client.Run(ctx, w, n)
			if err != nil {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				continue
			}
			mine = append(mine, r.Total)
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d flows failed; first: %v", n, b.N, firstErr.Load())
	}
	flow.Sort(all)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "incidents/s")
	b.ReportMetric(float64(flow.Percentile(all, 50))/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(flow.Percentile(all, 99))/float64(time.Millisecond), "p99-ms")
}

// TestIncidentFlowBenchmarkSmoke runs the benchmark's flow a few times against SQLite and
// checks what it left behind, so `go test ./...` compiles and exercises the benchmark code
// and the benchmark cannot measure requests that silently stopped working.
func TestIncidentFlowBenchmarkSmoke(t *testing.T) {
	p := startPlatform(t, store.SQLite)
	ctx := context.Background()
	for n := range 5 {
		r, err := p.client.Run(ctx, 1, n)
		if err != nil {
			var se *flow.StatusError
			if errors.As(err, &se) {
				t.Fatalf("flow %d: %s answered %d: %s", n, se.Path, se.Code, se.Body)
			}
			t.Fatalf("flow %d: %v", n, err)
		}
		for i, d := range r.Requests {
			if d <= 0 {
				t.Errorf("flow %d: request %d has no duration recorded", n, i)
			}
		}
		inc, err := p.incidents.Get(ctx, r.IncidentID)
		if err != nil {
			t.Fatalf("flow %d: get incident %d: %v", n, r.IncidentID, err)
		}
		if inc.Status != incidents.Resolved {
			t.Errorf("incident %d is %s after the flow, want resolved", inc.ID, inc.Status)
		}
		if inc.AcknowledgedAt == nil || inc.ResolvedAt == nil {
			t.Errorf("incident %d: acknowledged_at %v, resolved_at %v; want both set", inc.ID, inc.AcknowledgedAt, inc.ResolvedAt)
		}
		if want := fmt.Sprintf("svc-%d", 1%flow.Services); inc.Service != want || inc.Environment != "prod" {
			t.Errorf("incident %d is for %s/%s, want %s/prod", inc.ID, inc.Service, inc.Environment, want)
		}
		events, err := p.incidents.Timeline(ctx, r.IncidentID)
		if err != nil {
			t.Fatalf("timeline of %d: %v", r.IncidentID, err)
		}
		var kinds []incidents.EventKind
		for _, ev := range events {
			kinds = append(kinds, ev.Kind)
		}
		// No deploy of the benchmark's services is recorded, and the timeline says so once.
		want := []incidents.EventKind{incidents.KindDeclared, deploys.KindNoDeployRecorded, incidents.KindAcknowledged, incidents.KindResolved}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("timeline of incident %d has %v, want %v", r.IncidentID, kinds, want)
		}
	}
}
