package bench

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/bench/alertload/mix"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

// The webhook traffic: 16 concurrent senders, 10 alerts a request, 200 groups with
// 50 firing alerts each before measuring (as bench/alertload sends it).
const (
	ingestSenders      = 16
	ingestPerRequest   = 10
	ingestGroups       = 200
	ingestWarmPerGroup = 50
)

// newBenchIngester wires an Ingester the way cmd/firebreak/serve.go does: one group-commit
// worker on SQLite, four on PostgreSQL, batches of at most 128 requests, 4096 queued.
func newBenchIngester(tb testing.TB, db *store.DB) *alerts.Ingester {
	tb.Helper()
	workers := 1
	if db.Dialect == store.Postgres {
		workers = 4
	}
	m := incidents.NewManager(db, time.Now)
	gc := store.NewGroupCommitter(db, workers, 128, 4096, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	tb.Cleanup(gc.Close)
	return alerts.NewIngester(db, m, gc, alerts.Options{
		ServiceLabels:     []string{"service", "app", "job"},
		EnvironmentLabels: []string{"env", "environment"},
		SeverityMap: map[string]incidents.Severity{"critical": incidents.Sev1, "error": incidents.Sev2,
			"warning": incidents.Sev3, "info": incidents.Sev4},
		ReopenWindow: 30 * time.Minute,
	})
}

// newIngestGenerators makes one generator per sender over disjoint groups.
func newIngestGenerators(tb testing.TB, senders, groups, perRequest int, run string) []*mix.Generator {
	tb.Helper()
	gens := make([]*mix.Generator, senders)
	for i := range gens {
		g, err := mix.NewGenerator(mix.Config{Run: run, Groups: mix.Partition(groups, senders, i), PerRequest: perRequest,
			Mix: mix.Default, Seed: uint64(i + 1)})
		if err != nil {
			tb.Fatal(err)
		}
		gens[i] = g
	}
	return gens
}

// warmIngester stores every generator's warm-up alerts, in payloads of 100.
func warmIngester(tb testing.TB, in *alerts.Ingester, gens []*mix.Generator, perGroup int) {
	tb.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, len(gens))
	for i, g := range gens {
		wg.Go(func() {
			errs[i] = g.Warmup(perGroup, 100, func(_ []byte, b mix.Batch) error {
				_, err := in.Ingest(ctx, b.Payload())
				return err
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatalf("warm-up: %v", err)
		}
	}
}

func BenchmarkIngestSQLite(b *testing.B) { benchmarkIngest(b, store.SQLite) }

// BenchmarkIngestPostgres is skipped unless FIREBREAK_TEST_POSTGRES_URL is set.
func BenchmarkIngestPostgres(b *testing.B) { benchmarkIngest(b, store.Postgres) }

// benchmarkIngest calls Ingester.Ingest from 16 goroutines with the 85/10/5 mix, one
// payload of 10 alerts an iteration, without HTTP or JSON (the payloads are built as Go
// values). It reports alerts/s and the p50/p99 of one Ingest call.
func benchmarkIngest(b *testing.B, d store.Dialect) {
	db := storetest.Open(b, d)
	in := newBenchIngester(b, db)
	// RunParallel starts parallelism × GOMAXPROCS goroutines: at least 16, one generator each.
	procs := runtime.GOMAXPROCS(0)
	parallelism := (ingestSenders + procs - 1) / procs
	senders := parallelism * procs
	gens := newIngestGenerators(b, senders, max(ingestGroups, senders), ingestPerRequest, fmt.Sprintf("b%d", b.N))
	warmIngester(b, in, gens, ingestWarmPerGroup)
	lats := make([][]time.Duration, len(gens))
	var next, alertsDone atomic.Int64
	var failed atomic.Pointer[error]
	ctx := context.Background()
	b.SetParallelism(parallelism)
	stopProfile := profileMeasured(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) - 1)
		g := gens[i]
		var lat []time.Duration
		for pb.Next() {
			batch := g.NextBatch()
			t0 := time.Now()
			if _, err := in.Ingest(ctx, batch.Payload()); err != nil {
				failed.CompareAndSwap(nil, &err)
				continue
			}
			lat = append(lat, time.Since(t0))
			alertsDone.Add(int64(batch.Len()))
		}
		lats[i] = lat
	})
	b.StopTimer()
	stopProfile()
	if p := failed.Load(); p != nil {
		b.Fatalf("ingest: %v", *p)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	b.ReportMetric(float64(alertsDone.Load())/b.Elapsed().Seconds(), "alerts/s")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2])/1e6, "p50-ms")
		b.ReportMetric(float64(all[min(len(all)-1, len(all)*99/100)])/1e6, "p99-ms")
	}
}

// ingestProfileEnv names a file to write a CPU profile of the measured part of
// BenchmarkIngest* to (go test's -cpuprofile also covers opening the database and the
// warm-up, which are mostly new alerts and drown the 85 % repeats). Each round of the
// benchmark overwrites it, so it ends up holding the last, longest one.
const ingestProfileEnv = "FIREBREAK_BENCH_INGEST_CPUPROFILE"

func profileMeasured(b *testing.B) (stop func()) {
	path := os.Getenv(ingestProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatalf("%s: %v", ingestProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("%s: %v (use it instead of -cpuprofile, not with it)", ingestProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// TestAlertLoadMixSmoke runs the load generator of bench/alertload for about 200 payloads
// through an in-process Ingester on SQLite, the JSON way (alerts.Decode, as the webhook
// does), and checks that what the generator believes it sent is what was stored: every
// answer counts exactly the generated new alerts, repeats and resolves; the alerts table
// holds one row per new alert; the resolves are resolved rows; the groups' incidents are
// open. So the benchmark's traffic cannot silently stop meaning what it claims.
func TestAlertLoadMixSmoke(t *testing.T) {
	const senders, groups, warm, payloads = 4, 8, 12, 50 // 4 × 50 = 200 payloads
	db := storetest.Open(t, store.SQLite)
	in := newBenchIngester(t, db)
	gens := newIngestGenerators(t, senders, groups, ingestPerRequest, "smoke")
	warmIngester(t, in, gens, warm)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make([]error, senders)
	for i, g := range gens {
		wg.Go(func() {
			for n := range payloads {
				body, batch := g.Next()
				p, err := alerts.Decode(body)
				if err != nil {
					errs[i] = fmt.Errorf("payload %d does not decode: %v\n%s", n, err, body)
					return
				}
				if err := samePayload(p, batch.Payload()); err != nil {
					errs[i] = fmt.Errorf("payload %d: JSON and Go value differ: %v", n, err)
					return
				}
				res, err := in.Ingest(ctx, p)
				if err != nil {
					errs[i] = fmt.Errorf("payload %d: %v", n, err)
					return
				}
				rep, news, res0 := batch.Kinds()
				if res.Received != batch.Len() || res.New != news || res.Deduplicated != rep || res.Resolved != res0 {
					errs[i] = fmt.Errorf("payload %d: sent %d repeats, %d new, %d resolves; Firebreak answered %s", n, rep, news, res0, res)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var total mix.Counts
	firing := 0
	for _, g := range gens {
		total = total.Add(g.Counts())
		firing += g.Firing()
	}
	t.Logf("sent %d payloads, %d alerts: %d repeats, %d new, %d resolves (after %d warmed up); %d firing",
		total.Payloads, total.Alerts, total.Repeats, total.New, total.Resolves, total.WarmedUp, firing)
	if total.Payloads != senders*payloads || total.Alerts != total.Repeats+total.New+total.Resolves {
		t.Fatalf("counts do not add up: %+v", total)
	}
	if total.Repeats == 0 || total.New == 0 || total.Resolves == 0 {
		t.Fatalf("200 payloads should hold every kind of alert: %+v", total)
	}
	// The mix is random; over 2,000 alerts each share is within a few points of its target.
	for _, c := range []struct {
		name      string
		n         int64
		want, tol float64
	}{{"repeats", total.Repeats, 85, 4}, {"new", total.New, 10, 3}, {"resolves", total.Resolves, 5, 2.5}} {
		if got := 100 * float64(c.n) / float64(total.Alerts); got < c.want-c.tol || got > c.want+c.tol {
			t.Errorf("%s are %.1f%% of the alerts, want %.0f%% ± %.1f", c.name, got, c.want, c.tol)
		}
	}

	// Repeats answered from memory are written by the flusher; write them now.
	if err := in.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(query string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.R.GetContext(ctx, &n, db.R.Rebind(query), args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if got, want := count(`SELECT COUNT(*) FROM alerts`), total.WarmedUp+total.New; got != want {
		t.Errorf("alerts stored: %d rows, want %d warmed up + %d new = %d", got, total.WarmedUp, total.New, want)
	}
	if got, want := count(`SELECT COUNT(DISTINCT fingerprint) FROM alerts`), total.WarmedUp+total.New; got != want {
		t.Errorf("distinct fingerprints stored: %d, want %d (every new alert is a new fingerprint)", got, want)
	}
	if got := count(`SELECT COUNT(*) FROM alerts WHERE status = 'resolved'`); got != total.Resolves {
		t.Errorf("resolved alerts stored: %d, want the %d resolves sent", got, total.Resolves)
	}
	if got := count(`SELECT COUNT(*) FROM alerts WHERE status = 'firing'`); got != int64(firing) {
		t.Errorf("firing alerts stored: %d, the generators know %d", got, firing)
	}
	if got := count(`SELECT (SELECT COALESCE(SUM(repeats), 0) FROM alerts) + (SELECT COALESCE(SUM(repeats), 0) FROM alert_repeats)`); got != total.Repeats {
		t.Errorf("repeats counted on stored alerts: %d, want the %d repeats sent", got, total.Repeats)
	}
	// One group key, service and environment per group: one incident each, still open.
	if got := count(`SELECT COUNT(*) FROM incidents WHERE status <> 'resolved'`); got != groups {
		t.Errorf("open incidents: %d, want one per group (%d)", got, groups)
	}
}

// samePayload compares what alerts.Decode made of the generated JSON with the Go value the
// benchmark ingests, on everything ingestion reads.
func samePayload(got, want alerts.Payload) error {
	if got.Version != want.Version || got.GroupKey != want.GroupKey || got.Status != want.Status || len(got.Alerts) != len(want.Alerts) {
		return fmt.Errorf("header: got version %q key %q status %q %d alerts, want %q %q %q %d", got.Version, got.GroupKey, got.Status,
			len(got.Alerts), want.Version, want.GroupKey, want.Status, len(want.Alerts))
	}
	for i := range got.Alerts {
		g, w := got.Alerts[i], want.Alerts[i]
		if g.Status != w.Status || g.Fingerprint != w.Fingerprint || g.GeneratorURL != w.GeneratorURL ||
			!g.StartsAt.Equal(w.StartsAt) || !g.EndsAt.Equal(w.EndsAt) || !maps.Equal(g.Labels, w.Labels) || !maps.Equal(g.Annotations, w.Annotations) {
			return fmt.Errorf("alert %d: got %+v, want %+v", i, g, w)
		}
		bare := g
		bare.Fingerprint = "" // Fingerprint then computes Prometheus' fingerprint of the labels
		if fp := alerts.Fingerprint(bare); fp != g.Fingerprint {
			return fmt.Errorf("alert %d: fingerprint %s is not its labels' (%s)", i, g.Fingerprint, fp)
		}
	}
	return nil
}
