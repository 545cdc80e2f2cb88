// Command alertload measures Firebreak's Alertmanager webhook ingestion end to end, beside
// Alertmanager itself.
//
// It posts realistic webhook traffic — version-4 payloads of 10 alerts from 16 concurrent
// senders, each alert 85 % a repeat of a firing alert, 10 % a new alert, 5 % a resolve (or,
// with -mix new, every alert new) — for a fixed time, first against an in-process handler
// that only reads and decodes the JSON (alerts.Decode), then against a `firebreak serve`
// child process on SQLite or PostgreSQL, optionally with many alert rows stored
// beforehand, and, with -alertmanager, against a real Alertmanager child given the same
// alerts as API v2 postable alerts on POST /api/v2/alerts. It prints alerts/s, requests/s,
// latency percentiles, errors, each server's peak RSS and the ratios of the throughputs.
//
//	go run ./bench/alertload -db sqlite -duration 10s -alertmanager ~/.cache/firebreak-bench/alertmanager-v0.34.2
//	go run ./bench/alertload -db sqlite -mix new
//	go run ./bench/alertload -db sqlite -prefill 1000000
//	go run ./bench/alertload -db sqlite -storm 50000 -storm-groups 200
//	FIREBREAK_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./bench/alertload -db postgres
//	go run ./bench/alertload -db postgres -twins -duration 15s
//
// With -storm N it sends an alert storm instead: N new alerts over -storm-groups groups, one
// notification per group carrying all of its alerts, posted by the senders at once to a
// fresh server, and reports how long until all were answered (and stored); then the storm's
// end to the same server, the same notifications with every alert resolved, measured alike.
//
// With -twins it measures an Alertmanager HA pair instead: two `firebreak serve` replicas on
// one PostgreSQL schema, every payload sent to both at once (one copy each), -senders
// senders per replica, and prints errors and latency per replica.
//
// Everything it talks to is on loopback, and every phase is bounded in time.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/cli"
	"firebreak/bench/internal/pgschema"
	"firebreak/bench/internal/serve"
)

// Bounds.
const (
	maxSenders  = 256
	maxDuration = 10 * time.Minute
	maxPrefill  = 20_000_000
	maxStorm    = 10_000_000
)

func main() { cli.Main("alertload", run) }

type options struct {
	bin            string
	db             string
	senders        int
	perRequest     int
	duration       time.Duration
	groups         int
	warmPerGroup   int
	mixName        string // "mix" or "new"
	mix            mix.Mix
	prefill        int
	prefillGroups  int
	prefillSenders int
	prefillTimeout time.Duration
	baseline       float64 // alerts/s of an earlier run on an empty database, for the prefill target
	alertmanager   string  // Alertmanager binary to measure beside Firebreak, or ""
	storm          int     // alerts of a storm, or 0 for the timed load
	stormGroups    int
	keepLogs       bool
	twins          bool
	pgURL          string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := cli.NewFlagSet("alertload", stderr)
	var o options
	fs.StringVar(&o.bin, "bin", "", "firebreak binary to measure (default: go build ./cmd/firebreak into a temporary directory)")
	fs.StringVar(&o.db, "db", "sqlite", "database of the firebreak child: sqlite or postgres (PostgreSQL from $"+pgschema.URLEnv+")")
	fs.IntVar(&o.senders, "senders", 16, "concurrent webhook senders")
	fs.IntVar(&o.perRequest, "per-request", 10, "alerts in one webhook payload")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each measured load runs")
	fs.IntVar(&o.groups, "groups", 200, "Alertmanager groups (group keys, services) of the measured traffic")
	fs.IntVar(&o.warmPerGroup, "warm", 50, "firing alerts per group sent before measuring, which the repeats and resolves refer to")
	fs.StringVar(&o.mixName, "mix", "mix", "traffic: mix (85% repeats, 10% new, 5% resolves) or new (every alert new)")
	fs.IntVar(&o.prefill, "prefill", 0, "alert rows to store (fired, then resolved) before measuring")
	fs.IntVar(&o.prefillGroups, "prefill-groups", 2000, "group keys the prefill spreads over (about as many incidents)")
	fs.IntVar(&o.prefillSenders, "prefill-senders", 32, "concurrent senders of the prefill (100 alerts a request)")
	fs.DurationVar(&o.prefillTimeout, "prefill-timeout", 30*time.Minute, "give up the prefill after this long")
	fs.Float64Var(&o.baseline, "baseline", 0, "alerts/s of the same target on an empty database, to check a prefilled run against (≥ 80%)")
	fs.StringVar(&o.alertmanager, "alertmanager", "", "Alertmanager binary to measure with the same alerts on /api/v2/alerts (bench/alerts.sh builds it); default: none")
	fs.IntVar(&o.storm, "storm", 0, "send a storm of this many new alerts, one notification per group, then its end (the same alerts resolved), instead of the timed load")
	fs.IntVar(&o.stormGroups, "storm-groups", 200, "groups of the storm (each one notification with all of its alerts)")
	fs.BoolVar(&o.keepLogs, "keep-logs", false, "keep the children's directories (their logs, the SQLite file) and print where they are")
	fs.BoolVar(&o.twins, "twins", false, "send every payload twice at once, one copy to each of two replicas on one PostgreSQL schema (an Alertmanager HA pair); needs -db postgres")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	switch o.mixName {
	case "mix":
		o.mix = mix.Default
	case "new":
		o.mix = mix.AllNew
	default:
		return o, fmt.Errorf("-mix %q: want mix or new", o.mixName)
	}
	switch {
	case o.db != "sqlite" && o.db != "postgres":
		return o, fmt.Errorf("-db %q: want sqlite or postgres", o.db)
	case o.senders < 1 || o.senders > maxSenders:
		return o, fmt.Errorf("-senders %d: want 1 to %d", o.senders, maxSenders)
	case o.perRequest < 1 || o.perRequest > 1000:
		return o, fmt.Errorf("-per-request %d: want 1 to 1000", o.perRequest)
	case o.duration <= 0 || o.duration > maxDuration:
		return o, fmt.Errorf("-duration %s: want more than 0 and at most %s", o.duration, maxDuration)
	case o.groups < o.senders || o.groups > 100_000:
		return o, fmt.Errorf("-groups %d: want at least one per sender (%d) and at most 100000", o.groups, o.senders)
	case o.warmPerGroup < o.perRequest || o.warmPerGroup > 10_000:
		return o, fmt.Errorf("-warm %d: want at least -per-request (%d) and at most 10000", o.warmPerGroup, o.perRequest)
	case o.prefill < 0 || o.prefill > maxPrefill:
		return o, fmt.Errorf("-prefill %d: want 0 to %d", o.prefill, maxPrefill)
	case o.prefillGroups < 1 || o.prefillSenders < 1 || o.prefillSenders > maxSenders:
		return o, fmt.Errorf("-prefill-groups and -prefill-senders: want at least 1 (senders at most %d)", maxSenders)
	case o.prefillTimeout <= 0:
		return o, fmt.Errorf("-prefill-timeout %s: want more than 0", o.prefillTimeout)
	case o.twins && (o.db != "postgres" || o.prefill > 0 || o.storm > 0 || o.alertmanager != ""):
		return o, fmt.Errorf("-twins: needs -db postgres (replicas share a database), and no -prefill, -storm or -alertmanager")
	case o.storm < 0 || o.storm > maxStorm:
		return o, fmt.Errorf("-storm %d: want 0 to %d", o.storm, maxStorm)
	case o.storm > 0 && (o.stormGroups < 1 || o.stormGroups > o.storm):
		return o, fmt.Errorf("-storm-groups %d: want 1 to -storm (%d)", o.stormGroups, o.storm)
	case o.storm > 0 && o.prefill > 0:
		return o, fmt.Errorf("-storm: measured on a fresh database, not with -prefill")
	case o.alertmanager != "" && o.prefill > 0:
		return o, fmt.Errorf("-alertmanager: not with -prefill (a prefilled run is judged against the empty run, and Alertmanager keeps no history to fill)")
	}
	if o.alertmanager != "" {
		abs, err := filepath.Abs(o.alertmanager)
		if err != nil {
			return o, err
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return o, fmt.Errorf("-alertmanager %s: not a binary (bench/alerts.sh builds one): %v", o.alertmanager, err)
		}
		o.alertmanager = abs
	}
	o.pgURL = pgschema.BaseURL()
	return o, nil
}

// label names the run in the summary: database, then mix, new, storm or twins.
func (o options) label() string {
	switch {
	case o.twins:
		return o.db + "-twins"
	case o.storm > 0:
		return o.db + "-storm"
	case o.prefill > 0:
		return o.db + "-" + o.mixName + "-prefilled"
	}
	return o.db + "-" + o.mixName
}

// describe is the traffic in words.
func (o options) describe() string {
	if o.mixName == "new" {
		return "every alert new"
	}
	return fmt.Sprintf("%d%% repeats, %d%% new, %d%% resolves", o.mix.Repeat, o.mix.New, o.mix.Resolve)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	bin, cleanup, err := serve.Binary(ctx, o.bin, "alertload", stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	o.bin = bin
	runID := randomHex(3)
	load0 := loadAverage()
	var runErr error
	switch {
	case o.twins:
		runErr = runTwins(ctx, o, runID, stdout, stderr)
	case o.storm > 0:
		runErr = runStorm(ctx, o, runID, stdout, stderr)
	default:
		runErr = runLoad(ctx, o, runID, stdout, stderr)
	}
	// The load program, the servers (and PostgreSQL) share this machine's CPUs; anything else
	// running at the same time takes from all of them.
	fmt.Fprintf(stdout, "machine load average (1 min): %s at the start, %s at the end\n", load0, loadAverage())
	if runErr != nil {
		fmt.Fprintf(stdout, "FAILED %s: %v\n", o.label(), runErr)
		return runErr
	}
	return ctx.Err()
}

// childDir is a new temporary directory for a child process, removed by the returned
// function unless -keep-logs.
func childDir(o options, name string, stderr io.Writer) (string, func(), error) {
	dir, err := os.MkdirTemp("", "firebreak-alertload-"+name+"-")
	if err != nil {
		return "", nil, err
	}
	if o.keepLogs {
		fmt.Fprintf(stderr, "alertload: %s's directory is kept at %s\n", name, dir)
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// loadAverage is the first field of /proc/loadavg, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
