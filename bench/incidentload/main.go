// Command incidentload measures Firebreak's incident core end to end: it starts a real
// `firebreak serve` per database, lets concurrent clients declare, acknowledge and resolve
// incidents through the HTTP API for a fixed time, and prints incidents/s, request and flow
// latency percentiles, errors and the server's peak RSS.
//
//	go run ./bench/incidentload -db both -clients 16 -duration 10s
//
// Everything it talks to is on loopback; every run is bounded in time and in count.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"firebreak/bench/internal/cli"
	"firebreak/bench/internal/pgschema"
	"firebreak/bench/internal/serve"
)

// Bounds on what one run may ask for.
const (
	maxClients  = 256
	maxDuration = 10 * time.Minute
)

func main() { cli.Main("incidentload", run) }

// options are the parsed flags.
type options struct {
	bin       string
	dbs       []string
	clients   int
	duration  time.Duration
	maxFlows  int
	pgURL     string
	keepLogs  bool
	logOutput io.Writer
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := cli.NewFlagSet("incidentload", stderr)
	bin := fs.String("bin", "", "path to a built firebreak binary (default: go build ./cmd/firebreak into a temporary directory)")
	db := fs.String("db", "both", "database to measure: sqlite, postgres or both (PostgreSQL from $"+pgschema.URLEnv+")")
	clients := fs.Int("clients", 16, fmt.Sprintf("concurrent clients, 1 to %d", maxClients))
	duration := fs.Duration("duration", 10*time.Second, "how long the clients run per database, at most "+maxDuration.String())
	maxFlows := fs.Int("max-flows", 1_000_000, "stop early after this many incident flows per database")
	keepLogs := fs.Bool("keep-logs", false, "keep the server's temporary directory (log, SQLite file) and print where it is")
	if err := cli.Parse(fs, args); err != nil {
		return options{}, err
	}
	o := options{bin: *bin, clients: *clients, duration: *duration, maxFlows: *maxFlows, keepLogs: *keepLogs, logOutput: stderr}
	switch *db {
	case "sqlite", "postgres":
		o.dbs = []string{*db}
	case "both":
		o.dbs = []string{"sqlite", "postgres"}
	default:
		return options{}, fmt.Errorf("-db %q: want sqlite, postgres or both", *db)
	}
	if o.clients < 1 || o.clients > maxClients {
		return options{}, fmt.Errorf("-clients %d: want 1 to %d", o.clients, maxClients)
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return options{}, fmt.Errorf("-duration %s: want more than 0 and at most %s", o.duration, maxDuration)
	}
	if o.maxFlows < 1 {
		return options{}, fmt.Errorf("-max-flows %d: want at least 1", o.maxFlows)
	}
	o.pgURL = pgschema.BaseURL()
	return o, nil
}

// run measures each database in turn and prints the table. A database that fails gets its
// error printed under the table; run then returns an error so scripts notice.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	bin, cleanup, err := serve.Binary(ctx, o.bin, "incidentload", stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	o.bin = bin
	fmt.Fprintf(stdout, "firebreak incident flow (declare → acknowledge → resolve over HTTP): %d clients, %s per database, %d CPUs, %s/%s\n",
		o.clients, o.duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	var results []*result
	var failures []error
	for _, db := range o.dbs {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stderr, "incidentload: %s: starting server and running %d clients for %s\n", db, o.clients, o.duration)
		r, err := measure(ctx, o, db)
		if err != nil {
			failures = append(failures, fmt.Errorf("%s: %w", db, err))
			continue
		}
		results = append(results, r)
	}
	printTable(stdout, results)
	printNotes(stdout, results)
	for _, f := range failures {
		fmt.Fprintf(stdout, "FAILED %v\n", f)
	}
	if err := errors.Join(failures...); err != nil {
		return err
	}
	return ctx.Err()
}

// measure runs one database from server start to server stop.
func measure(ctx context.Context, o options, db string) (*result, error) {
	dir, err := os.MkdirTemp("", "firebreak-bench-"+db+"-")
	if err != nil {
		return nil, err
	}
	if o.keepLogs {
		fmt.Fprintf(o.logOutput, "incidentload: %s: server directory kept at %s\n", db, dir)
	} else {
		defer os.RemoveAll(dir)
	}
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, db, dir, o.pgURL, o.logOutput, "incidentload")
	if err != nil {
		return nil, err
	}
	defer dropSchema()
	srv, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: dir, DBURL: dbURL, SampleRSS: true})
	if err != nil {
		return nil, err
	}
	r, runErr := load(ctx, srv, o)
	stopErr := srv.Stop()
	if runErr != nil {
		return nil, errors.Join(runErr, stopErr)
	}
	if stopErr != nil {
		return nil, stopErr
	}
	r.db = db
	r.peakRSS, r.sampledRSS = srv.PeakRSS(), srv.SampledRSS()
	return r, nil
}

func printTable(w io.Writer, rs []*result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "db\tincidents/s\trequests/s\treq p50\treq p99\tflow p50\tflow p99\tincidents\terrors\tpeak RSS MiB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n",
			r.db, r.incidentsPerSec(), r.requestsPerSec(),
			ms(r.reqP50), ms(r.reqP99), ms(r.flowP50), ms(r.flowP99),
			r.flows, r.errors, mib(r.peakRSS))
	}
	tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func mib(bytes int64) string {
	if bytes <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(bytes)/(1<<20))
}

// printNotes explains the RSS column and shows what went wrong, if anything did.
func printNotes(w io.Writer, rs []*result) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprint(w, "peak RSS = the server's VmHWM at the end; largest VmRSS sampled every 100 ms during the run:")
	for _, r := range rs {
		fmt.Fprintf(w, " %s %s MiB", r.db, mib(r.sampledRSS))
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "CPU used during the run, in cores (this machine has "+strconv.Itoa(runtime.NumCPU())+"):")
	for _, r := range rs {
		fmt.Fprintf(w, " %s server %.2f + load clients %.2f;", r.db,
			r.serverCPU.Seconds()/r.elapsed.Seconds(), r.clientCPU.Seconds()/r.elapsed.Seconds())
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		if r.errors == 0 {
			continue
		}
		codes := make([]int, 0, len(r.errorsByStatusCode))
		for c := range r.errorsByStatusCode {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		parts := make([]string, len(codes))
		for i, c := range codes {
			name := strconv.Itoa(c)
			if c == 0 {
				name = "no answer"
			}
			parts[i] = fmt.Sprintf("%s ×%d", name, r.errorsByStatusCode[c])
		}
		fmt.Fprintf(w, "%s errors by status: %s\n", r.db, strings.Join(parts, ", "))
		for _, e := range r.sampleErrors {
			fmt.Fprintf(w, "  %s error sample: %s\n", r.db, e)
		}
	}
}
