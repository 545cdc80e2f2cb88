// Command rollbacklatency measures how long Firebreak takes from the Alertmanager webhook
// that opens an incident to the service's rollback hook receiving its call, when the
// incident has a suspected deploy and the service's rollback policy is auto.
//
//	go run ./bench/rollbacklatency -db sqlite -incidents 200 -concurrency 1
//	FIREBREAK_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./bench/rollbacklatency -db postgres
//
// It starts a rollback hook receiver in process (net/http on 127.0.0.1, every call's
// signature checked with webhook.Verify), writes a firebreak.yaml with one service per
// incident (svc-0, svc-1, …, each `rollback: {policy: auto, min_severity: sev2, webhook:
// {url: <receiver>, secret_env: ROLLBACK_SECRET}}`), starts `firebreak serve --config` as a
// child process, records one deploy (v1 → v2) per service, and then for each incident posts
// a firing critical alert of that service to /api/v1/alerts/alertmanager at T0 and waits
// for the hook call with the incident's Idempotency-Key, received at T1. It prints p50, p90,
// p99 and max of T1 − T0, how long the alert webhook took to answer (ingestion) and how
// long the hook call came after that answer (outbox delivery), and the failures: incidents
// whose hook did not arrive within -wait.
//
// With -background-senders N it also runs bench/alertload's alert mix (85 % repeats, 10 %
// new, 5 % resolves, 10 alerts a request over 200 other services) from N senders at full
// speed against the same server, from before the deploys are recorded until the last hook
// call, and prints that traffic's alerts/s beside the latency (target: p99 under 100 ms).
//
//	go run ./bench/rollbacklatency -db sqlite -background-senders 16
//
// Everything it talks to is on loopback; every run is bounded in time and in count.
package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
	"time"

	"firebreak/bench/internal/cli"
	"firebreak/bench/internal/flow"
	"firebreak/bench/internal/pgschema"
	"firebreak/bench/internal/serve"
)

// Bounds and the target.
const (
	maxIncidents   = 2000
	maxConcurrency = 64
	maxWait        = time.Minute
	maxTimeout     = time.Hour
	maxBackground  = 256
	// targetP99 is the target for SQLite: "p99 under 300 ms".
	targetP99 = 300 * time.Millisecond
	// targetBackgroundP99 is the ingestion issue's target while the alert mix runs at full
	// speed beside the measured incidents: "p99 under 100 ms".
	targetBackgroundP99 = 100 * time.Millisecond
)

func main() { cli.Main("rollbacklatency", run) }

// options are the parsed flags.
type options struct {
	bin         string
	db          string
	incidents   int
	concurrency int
	wait        time.Duration // per incident, from T0, for the hook call
	timeout     time.Duration // the whole measurement, server start to stop
	pgURL       string
	keepLogs    bool
	logOutput   io.Writer
	// backgroundSenders run bench/alertload's mix against the same server during the
	// measurement; 0: none.
	backgroundSenders int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := cli.NewFlagSet("rollbacklatency", stderr)
	bin := fs.String("bin", "", "path to a built firebreak binary (default: go build ./cmd/firebreak into a temporary directory)")
	db := fs.String("db", "sqlite", "database: sqlite or postgres (PostgreSQL from $"+pgschema.URLEnv+")")
	incidents := fs.Int("incidents", 200, fmt.Sprintf("incidents to open, each with its own service and suspect deploy, 1 to %d", maxIncidents))
	concurrency := fs.Int("concurrency", 1, fmt.Sprintf("incidents in flight at once (alert sent, hook call awaited), 1 to %d", maxConcurrency))
	wait := fs.Duration("wait", 10*time.Second, "how long after its alert an incident's hook call may take before it counts as a failure, at most "+maxWait.String())
	timeout := fs.Duration("timeout", 10*time.Minute, "bound on the whole run, at most "+maxTimeout.String())
	action := fs.String("action", "rollback", "remedy measured: rollback (a finished deploy) or abort_canary (a canary at 10%, still in progress)")
	keepLogs := fs.Bool("keep-logs", false, "keep the server's temporary directory (log, config, SQLite file) and print where it is")
	backgroundSenders := fs.Int("background-senders", 0, fmt.Sprintf("run bench/alertload's alert mix (85%% repeats, 10%% new, 5%% resolves; 10 alerts a request, 200 groups) from this many senders at full speed against the same server while measuring, 0 to %d", maxBackground))
	if err := cli.Parse(fs, args); err != nil {
		return options{}, err
	}
	o := options{bin: *bin, db: *db, incidents: *incidents, concurrency: *concurrency, wait: *wait, timeout: *timeout,
		keepLogs: *keepLogs, logOutput: stderr, backgroundSenders: *backgroundSenders}
	if *action != "rollback" && *action != "abort_canary" {
		return options{}, fmt.Errorf("-action %q: want rollback or abort_canary", *action)
	}
	benchAction = *action
	switch {
	case o.db != "sqlite" && o.db != "postgres":
		return options{}, fmt.Errorf("-db %q: want sqlite or postgres", o.db)
	case o.incidents < 1 || o.incidents > maxIncidents:
		return options{}, fmt.Errorf("-incidents %d: want 1 to %d", o.incidents, maxIncidents)
	case o.concurrency < 1 || o.concurrency > maxConcurrency:
		return options{}, fmt.Errorf("-concurrency %d: want 1 to %d", o.concurrency, maxConcurrency)
	case o.wait <= 0 || o.wait > maxWait:
		return options{}, fmt.Errorf("-wait %s: want more than 0 and at most %s", o.wait, maxWait)
	case o.timeout <= 0 || o.timeout > maxTimeout:
		return options{}, fmt.Errorf("-timeout %s: want more than 0 and at most %s", o.timeout, maxTimeout)
	case o.backgroundSenders < 0 || o.backgroundSenders > maxBackground:
		return options{}, fmt.Errorf("-background-senders %d: want 0 to %d", o.backgroundSenders, maxBackground)
	}
	o.pgURL = pgschema.BaseURL()
	return o, nil
}

// run measures one database and prints the figures. It returns an error when the run
// failed or any incident's hook call was missing, refused, repeated or wrong, so scripts
// notice.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	bin, cleanup, err := serve.Binary(ctx, o.bin, "rollbacklatency", stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	o.bin = bin
	fmt.Fprintf(stderr, "rollbacklatency: %s: %d incidents, %d at a time\n", o.db, o.incidents, o.concurrency)
	r, err := measure(ctx, o)
	if err != nil {
		fmt.Fprintf(stdout, "FAILED %s: %v\n", o.db, err)
		return fmt.Errorf("%s: %w", o.db, err)
	}
	printResult(stdout, o, r)
	return r.problem()
}

// printResult writes the figures of one run.
func printResult(w io.Writer, o options, r *result) {
	fmt.Fprintf(w, "firebreak rollback latency (alert webhook → rollback hook call): %s, %d incidents, %d at a time, %d CPUs, %s/%s\n",
		o.db, o.incidents, o.concurrency, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tp50\tp90\tp99\tmax\tcount\t")
	for _, row := range []struct {
		name string
		ds   []time.Duration
	}{
		{"alert sent → hook called", r.total},
		{"alert webhook answered", r.answered},
		{"answer → hook called", r.afterAnswer},
	} {
		s := flow.Sort(row.ds)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\n", row.name, ms(flow.Percentile(s, 50)), ms(flow.Percentile(s, 90)),
			ms(flow.Percentile(s, 99)), ms(flow.Percentile(s, 100)), len(s))
	}
	tw.Flush()
	fmt.Fprintf(w, "hooks called %d of %d; failures %d (no valid hook call within %s); alert errors %d; duplicate calls %d; refused calls %d; unexpected keys %d; wrong bodies %d\n",
		len(r.total), o.incidents, r.failures, o.wait, r.alertErrors, r.recv.duplicates, r.recv.rejected, r.recv.unexpected, r.wrongBodies)
	fmt.Fprintf(w, "deploys recorded in %s; alerts sent over %s (%.1f incidents/s)\n",
		r.deployPhase.Round(time.Millisecond), r.alertPhase.Round(time.Millisecond), float64(o.incidents)/r.alertPhase.Seconds())
	total := flow.Sort(r.total)
	p50, p99 := flow.Percentile(total, 50), flow.Percentile(total, 99)
	label, verdict := "rollback-"+o.db, ""
	if o.db == "sqlite" && len(r.total) > 0 {
		verdict = fmt.Sprintf("p99 under %s on SQLite: %s", targetP99, metIf(p99 < targetP99 && r.failures == 0))
		fmt.Fprintf(w, "target: %s (p99 %s, %d failures)\n", verdict, ms(p99), r.failures)
	}
	bgPart := ""
	if bg := r.background; bg != nil {
		label += "-background"
		fmt.Fprintf(w, "background alert mix (%d senders, 10 alerts a request, 85%% repeats, 10%% new, 5%% resolves) over %s: %.0f alerts/s, p50 %s, p99 %s, %d errors; firebreak answered new %d + deduplicated %d + resolved %d\n",
			o.backgroundSenders, bg.Elapsed.Round(time.Millisecond), bg.AlertsPerSecond(), ms(bg.Percentile(0.5)), ms(bg.Percentile(0.99)),
			bg.ErrorCount(), bg.Answered.New, bg.Answered.Deduplicated, bg.Answered.Resolved)
		for _, m := range bg.Samples {
			fmt.Fprintf(w, "  background error sample: %s\n", m)
		}
		verdict = fmt.Sprintf("p99 under %s with the alert mix at full speed: %s", targetBackgroundP99,
			metIf(len(r.total) > 0 && p99 < targetBackgroundP99 && r.failures == 0))
		fmt.Fprintf(w, "target: %s (p99 %s, %d failures)\n", verdict, ms(p99), r.failures)
		bgPart = fmt.Sprintf(", beside %.0f alerts/s of the alert mix (%d errors)", bg.AlertsPerSecond(), bg.ErrorCount())
	}
	if verdict != "" {
		verdict = "; " + verdict
	}
	fmt.Fprintf(w, "summary %s: alert → hook p50 %s, p99 %s (%d incidents, %d at a time, %d failures)%s%s\n",
		label, ms(p50), ms(p99), o.incidents, o.concurrency, r.failures, bgPart, verdict)
	for _, e := range r.samples {
		fmt.Fprintf(w, "  error sample: %s\n", e)
	}
	for _, p := range r.recv.problems {
		fmt.Fprintf(w, "  refused call: %s\n", p)
	}
	for _, p := range r.recv.repeats {
		fmt.Fprintf(w, "  repeated call: %s\n", p)
	}
}

func metIf(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
