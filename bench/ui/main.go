// Command ui measures the web UI's pages under load against the JSON API on the same data.
//
// It builds the platform in process (app.Build, then Run on a loopback port) over a fresh
// SQLite database, stores -incidents incidents (one multi-row INSERT per 1,000 rows) and
// one more incident with -alerts alerts and -events timeline events, logs an admin in, and
// then loads, in the same run, GET /incidents (the first page, with the session cookie) and
// GET /api/v1/incidents (bearer token) from -conns concurrent clients for -duration each,
// printing requests/s, p50 and p99 for both and the page's ratio to the API (target: at
// least 0.8). Last it loads the big incident's page the same way (p50/p99; its alerts are
// paged, its timeline shows the latest 500 events).
//
//	go run ./bench/ui
//	go run ./bench/ui -incidents 100000 -conns 16 -duration 5s
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"firebreak/accounts"
	"firebreak/bench/internal/cli"
	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/store"
	"firebreak/tokens"
	"firebreak/web"
)

// Bounds and the target.
const (
	maxConns    = 256
	maxDuration = 2 * time.Minute
	maxRows     = 1_000_000
	batch       = 1000 // rows per INSERT
	minRatio    = 0.8  // the page's requests/s over the API's
)

func main() { cli.Main("ui", run) }

// settings are the command line.
type settings struct {
	incidents, alerts, events, conns int
	duration                         time.Duration
}

func parse(args []string, stderr io.Writer) (settings, error) {
	var s settings
	fs := cli.NewFlagSet("ui", stderr)
	fs.IntVar(&s.incidents, "incidents", 100_000, "incidents stored")
	fs.IntVar(&s.alerts, "alerts", 50_000, "alerts of the big incident")
	fs.IntVar(&s.events, "events", 5_000, "timeline events of the big incident")
	fs.IntVar(&s.conns, "conns", 16, "concurrent clients")
	fs.DurationVar(&s.duration, "duration", 5*time.Second, "load time per target")
	if err := cli.Parse(fs, args); err != nil {
		return s, err
	}
	for name, n := range map[string]int{"incidents": s.incidents, "alerts": s.alerts, "events": s.events} {
		if n < 0 || n > maxRows {
			return s, fmt.Errorf("-%s %d: want 0 to %d", name, n, maxRows)
		}
	}
	if s.conns < 1 || s.conns > maxConns || s.duration <= 0 || s.duration > maxDuration {
		return s, fmt.Errorf("-conns 1 to %d and -duration up to %s", maxConns, maxDuration)
	}
	return s, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := parse(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "firebreak-bench-ui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = config.Database{Driver: "sqlite", URL: filepath.Join(dir, "firebreak.db")}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Build(ctx, cfg, app.Options{Log: log, WorkDir: dir})
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	addr, err := a.Listen()
	if err != nil {
		a.Close()
		return err
	}
	base := "http://" + addr.String()
	start := time.Now()
	big, err := seed(ctx, a.DB, s)
	if err != nil {
		a.Close()
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(stdout, "stored %d incidents, and %d alerts and %d timeline events on incident #%d, in %s\n",
		s.incidents+1, s.alerts, s.events, big, time.Since(start).Round(time.Millisecond))
	token, err := a.Tokens.Create(ctx, "bench", []tokens.Scope{tokens.Admin})
	if err != nil {
		a.Close()
		return err
	}
	if _, err := a.Accounts.Create(ctx, "bench", "bench-password", accounts.Admin); err != nil {
		a.Close()
		return err
	}
	session, _, err := a.Accounts.Login(ctx, "bench", "bench-password", "127.0.0.1")
	if err != nil {
		a.Close()
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- a.Run(runCtx) }()
	defer func() { stop(); <-ran }()

	page := target{name: "GET /incidents (page)", url: base + "/incidents", cookie: session}
	api := target{name: "GET /api/v1/incidents", url: base + "/api/v1/incidents", token: token}
	incident := target{name: fmt.Sprintf("GET /incidents/%d (page)", big), url: fmt.Sprintf("%s/incidents/%d", base, big), cookie: session}
	var results []result
	for _, t := range []target{page, api, page, api, incident} {
		// Page and API alternate, twice, so a drift of the machine's load hits both.
		r, err := load(ctx, t, s.conns, s.duration/2)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	pageR, apiR := results[0].merge(results[2]), results[1].merge(results[3])
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\trequests\treq/s\tp50\tp99\terrors\n")
	for _, r := range []result{pageR, apiR, results[4]} {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\n", r.name, len(r.latencies), r.rate(), r.quantile(0.5), r.quantile(0.99), r.errors)
	}
	tw.Flush()
	ratio := pageR.rate() / apiR.rate()
	verdict := "meets"
	if ratio < minRatio {
		verdict = "MISSES"
	}
	fmt.Fprintf(stdout, "page/API requests/s: %.2f (%s the target of %.2f); %d concurrent clients, %s per target\n",
		ratio, verdict, minRatio, s.conns, s.duration)
	if n := pageR.errors + apiR.errors + results[4].errors; n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	return nil
}

// target is one URL to load, with the session cookie or the bearer token.
type target struct {
	name, url, cookie, token string
}

// result is one target's load.
type result struct {
	name      string
	latencies []time.Duration // sorted
	elapsed   time.Duration
	errors    int
}

func (r result) rate() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))].Round(10 * time.Microsecond)
}

func (r result) merge(o result) result {
	l := append(slices.Clone(r.latencies), o.latencies...)
	slices.Sort(l)
	return result{name: r.name, latencies: l, elapsed: r.elapsed + o.elapsed, errors: r.errors + o.errors}
}

// load GETs t from conns clients for d, each over its own keep-alive connection.
func load(ctx context.Context, t target, conns int, d time.Duration) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	// One request first: a target that fails at all is an error, not a figure.
	if _, err := get(ctx, client, t); err != nil {
		return result{}, fmt.Errorf("%s: %w", t.name, err)
	}
	var mu sync.Mutex
	r := result{name: t.name}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errs := 0
			for time.Now().Before(end) && ctx.Err() == nil {
				took, err := get(ctx, client, t)
				if err != nil {
					errs++
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			r.latencies = append(r.latencies, mine...)
			r.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	slices.Sort(r.latencies)
	return r, ctx.Err()
}

// get fetches t once, reads the whole body, and returns how long that took.
func get(ctx context.Context, c *http.Client, t target) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", t.url, nil)
	if err != nil {
		return 0, err
	}
	if t.cookie != "" {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: t.cookie})
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || n == 0 {
		return 0, fmt.Errorf("GET %s: %d, %d bytes", t.url, resp.StatusCode, n)
	}
	return took, nil
}

// seed stores n incidents, then the big incident with its alerts and events, and returns
// the big incident's id. Rows go in with one multi-row INSERT per batch rows.
func seed(ctx context.Context, db *store.DB, s settings) (int64, error) {
	now := time.Now().UTC()
	services := []string{"checkout", "payments", "search", "auth", "api", "web", "db", "queue"}
	statuses := []string{"resolved", "resolved", "resolved", "observing", "responding"}
	err := insertRows(ctx, db, s.incidents,
		`INSERT INTO incidents (title, status, severity, service, environment, impact_started_at, opened_at, resolved_at, updated_at) VALUES `,
		"(?, ?, ?, ?, ?, ?, ?, ?, ?)", func(i int) []any {
			at := now.Add(-time.Duration(s.incidents-i) * time.Minute)
			st := statuses[i%len(statuses)]
			var resolved any
			if st == "resolved" {
				resolved = at.Add(20 * time.Minute)
			}
			svc := services[i%len(services)]
			return []any{fmt.Sprintf("High error rate on %s #%d", svc, i), st, fmt.Sprintf("sev%d", 1+i%4), svc, "production",
				at.Add(-2 * time.Minute), at, resolved, at}
		})
	if err != nil {
		return 0, err
	}
	var big int64
	q := db.W
	err = q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO incidents (title, status, severity, service, environment, impact_started_at, opened_at, updated_at)
		VALUES (?, 'responding', 'sev1', 'checkout', 'production', ?, ?, ?) RETURNING id`),
		"Alert storm on checkout", now.Add(-3*time.Hour), now.Add(-3*time.Hour), now).Scan(&big)
	if err != nil {
		return 0, fmt.Errorf("insert the big incident: %w", err)
	}
	err = insertRows(ctx, db, s.alerts,
		`INSERT INTO alerts (fingerprint, starts_at, incident_id, status, alertname, labels, annotations, generator_url, group_key, first_seen_at, last_seen_at) VALUES `,
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", func(i int) []any {
			at := now.Add(-3*time.Hour + time.Duration(i)*100*time.Millisecond)
			st := "firing"
			if i%3 == 0 {
				st = "resolved"
			}
			return []any{fmt.Sprintf("%016x", i), at, big, st, "CheckoutErrors",
				fmt.Sprintf(`{"alertname":"CheckoutErrors","instance":"pod-%d","service":"checkout"}`, i),
				`{"summary":"5xx above 5%"}`, "http://prometheus/graph?g0.expr=up", `{}:{alertname="CheckoutErrors"}`, at, at}
		})
	if err != nil {
		return 0, err
	}
	err = insertRows(ctx, db, s.events, `INSERT INTO timeline_events (incident_id, at, actor, kind, text, public) VALUES `,
		"(?, ?, ?, ?, ?, ?)", func(i int) []any {
			return []any{big, now.Add(-3*time.Hour + time.Duration(i)*time.Second), "alertmanager", "alert_firing",
				fmt.Sprintf("Alert CheckoutErrors (pod-%d) is firing.", i), false}
		})
	return big, err
}

// insertRows inserts n rows, batch at a time, each INSERT one statement of many VALUES.
func insertRows(ctx context.Context, db *store.DB, n int, head, tuple string, row func(i int) []any) error {
	q := db.W
	for from := 0; from < n; from += batch {
		to := min(n, from+batch)
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (to-from)*strings.Count(tuple, "?"))
		for i := from; i < to; i++ {
			if i > from {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, row(i)...)
		}
		if _, err := q.ExecContext(ctx, q.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("insert rows %d to %d: %w", from, to, err)
		}
	}
	return nil
}
