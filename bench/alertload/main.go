// Command alertload measures Firebreak's Alertmanager webhook ingestion end to end.
//
// It posts realistic webhook traffic — version-4 payloads of 10 alerts from 16 concurrent
// senders, each alert 85 % a repeat of a firing alert, 10 % a new alert, 5 % a resolve — for
// a fixed time, first against an in-process handler that only reads and decodes the JSON
// (alerts.Decode), then against a `firebreak serve` child process on SQLite or PostgreSQL,
// optionally with many alert rows stored beforehand, and prints alerts/s, requests/s,
// latency percentiles, errors, the server's peak RSS and the ratio of the two throughputs.
//
//	go run ./bench/alertload -db sqlite -duration 10s
//	go run ./bench/alertload -db sqlite -prefill 1000000
//	FIREBREAK_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./bench/alertload -db postgres
//	go run ./bench/alertload -db postgres -twins -duration 15s
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
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"firebreak/bench/internal/cli"
	"firebreak/bench/internal/pgschema"
	"firebreak/bench/internal/serve"
)

// Bounds and targets.
const (
	maxSenders  = 256
	maxDuration = 10 * time.Minute
	maxPrefill  = 20_000_000

	// The targets, for SQLite on a 2-core machine.
	targetAlertsPerSec = 20_000
	targetP99          = 50 * time.Millisecond
	targetPrefilled    = 0.80 // of the empty database's alerts/s, with 1,000,000 rows stored
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
	prefill        int
	prefillGroups  int
	prefillSenders int
	prefillTimeout time.Duration
	baseline       float64 // alerts/s of an earlier run on an empty database, for the prefill target
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
	fs.IntVar(&o.prefill, "prefill", 0, "alert rows to store (fired, then resolved) before measuring")
	fs.IntVar(&o.prefillGroups, "prefill-groups", 2000, "group keys the prefill spreads over (about as many incidents)")
	fs.IntVar(&o.prefillSenders, "prefill-senders", 32, "concurrent senders of the prefill (100 alerts a request)")
	fs.DurationVar(&o.prefillTimeout, "prefill-timeout", 30*time.Minute, "give up the prefill after this long")
	fs.Float64Var(&o.baseline, "baseline", 0, "alerts/s of the same target on an empty database, to check a prefilled run against (≥ 80%)")
	fs.BoolVar(&o.keepLogs, "keep-logs", false, "keep the child's directory (its log, the SQLite file) and print where it is")
	fs.BoolVar(&o.twins, "twins", false, "send every payload twice at once, one copy to each of two replicas on one PostgreSQL schema (an Alertmanager HA pair); needs -db postgres")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
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
	case o.twins && (o.db != "postgres" || o.prefill > 0):
		return o, fmt.Errorf("-twins: needs -db postgres (replicas share a database) and no -prefill")
	}
	o.pgURL = pgschema.BaseURL()
	return o, nil
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
	if o.twins {
		err := runTwins(ctx, o, runID, stdout, stderr)
		fmt.Fprintf(stdout, "machine load average (1 min): %s at the start, %s at the end\n", load0, loadAverage())
		if err != nil {
			fmt.Fprintf(stdout, "FAILED twins-postgres: %v\n", err)
			return err
		}
		return ctx.Err()
	}
	fmt.Fprintf(stdout, "firebreak alert ingestion: %d senders × %d alerts a request (85%% repeats, 10%% new, 5%% resolves), %d groups, %d firing alerts warmed up, %s per target, %d CPUs, %s/%s\n",
		o.senders, o.perRequest, o.groups, o.groups*o.warmPerGroup, o.duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	// (a) The floor: the same load against a handler that only decodes.
	fmt.Fprintf(stderr, "alertload: decode-only: %d senders for %s\n", o.senders, o.duration)
	base, err := measureDecodeOnly(ctx, o, runID)
	if err != nil {
		return fmt.Errorf("decode-only: %w", err)
	}
	// (b–d) Firebreak itself.
	fb, fbErr := measureFirebreak(ctx, o, runID, stderr)
	results := []*stats{base}
	if fb != nil {
		results = append(results, fb)
	}
	printTable(stdout, results)
	if fb != nil {
		printNotes(stdout, o, base, fb)
	}
	// The load program, the server (and PostgreSQL) share this machine's CPUs; anything else
	// running at the same time takes from all of them.
	fmt.Fprintf(stdout, "machine load average (1 min): %s at the start, %s at the end\n", load0, loadAverage())
	if fbErr != nil {
		fmt.Fprintf(stdout, "FAILED firebreak-%s: %v\n", o.db, fbErr)
		return fbErr
	}
	return ctx.Err()
}

func measureDecodeOnly(ctx context.Context, o options, runID string) (*stats, error) {
	d, err := startDecodeOnly()
	if err != nil {
		return nil, err
	}
	defer d.stop()
	p := newPoster(d.base, "", o.senders)
	defer p.close()
	gens, err := newGenerators(o, runID+"d")
	if err != nil {
		return nil, err
	}
	if err := warmup(ctx, p, gens, o.warmPerGroup); err != nil {
		return nil, err
	}
	cpu0 := serve.SelfCPUTime()
	st := measure(ctx, p, gens, o.duration, false)
	st.loadCPU = serve.SelfCPUTime() - cpu0
	st.target = "decode-only"
	return st, nil
}

// measureFirebreak starts `firebreak serve`, prefills, warms up and measures it.
func measureFirebreak(ctx context.Context, o options, runID string, stderr io.Writer) (st *stats, err error) {
	dir, err := os.MkdirTemp("", "firebreak-alertload-"+o.db+"-")
	if err != nil {
		return nil, err
	}
	if o.keepLogs {
		fmt.Fprintf(stderr, "alertload: the child's directory is kept at %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, o.db, dir, o.pgURL, stderr, "alertload")
	if err != nil {
		return nil, err
	}
	defer dropSchema()
	fmt.Fprintf(stderr, "alertload: firebreak-%s: starting firebreak serve\n", o.db)
	c, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: dir, DBURL: dbURL, SampleRSS: true})
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := c.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		if st != nil {
			st.hwm = c.PeakRSS()
		}
	}()
	p := newPoster(c.Base, c.Token, max(o.senders, o.prefillSenders))
	defer p.close()

	var stored int64
	var took time.Duration
	var perr error
	if o.prefill > 0 {
		fmt.Fprintf(stderr, "alertload: firebreak-%s: prefill of %d alerts (fired, then resolved; %d senders, 100 a request, %d groups)\n",
			o.db, o.prefill, o.prefillSenders, o.prefillGroups)
		stored, took, perr = prefill(ctx, p, o, runID, stderr)
		fmt.Fprintf(stderr, "alertload: firebreak-%s: prefill stored %d alerts in %s (%.0f alerts/s)\n",
			o.db, stored, took.Round(time.Millisecond), float64(stored)/took.Seconds())
		if perr != nil {
			fmt.Fprintf(stderr, "alertload: firebreak-%s: %v; measuring with what was stored\n", o.db, perr)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	gens, err := newGenerators(o, runID)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "alertload: firebreak-%s: warm-up of %d firing alerts\n", o.db, o.groups*o.warmPerGroup)
	if err := warmup(ctx, p, gens, o.warmPerGroup); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "alertload: firebreak-%s: %d senders for %s\n", o.db, o.senders, o.duration)
	c.ResetRSS() // the RSS column covers the measured load only, not the prefill or warm-up
	srv0, self0 := c.CPUTime(), serve.SelfCPUTime()
	st = measure(ctx, p, gens, o.duration, true)
	st.serverCPU, st.loadCPU = c.CPUTime()-srv0, serve.SelfCPUTime()-self0
	st.measuredRSS = c.SampledRSS()
	st.target = "firebreak-" + o.db
	st.prefilled, st.prefillTook, st.prefillErr = stored, took, perr
	return st, nil
}

func printTable(w io.Writer, rs []*stats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tprefilled\talerts/s\trequests/s\tp50\tp99\tmax\terrors\tpeak RSS MiB\t")
	for _, r := range rs {
		rss := "-"
		if r.hwm > 0 {
			rss = fmt.Sprintf("%.1f", float64(r.hwm)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%s\t%s\t%s\t%d\t%s\t\n", r.target, r.prefilled, r.perSecond(r.alerts),
			r.perSecond(r.requests), ms(r.percentile(0.50)), ms(r.percentile(0.99)), ms(r.percentile(1)), r.errorCount(), rss)
	}
	tw.Flush()
}

func printNotes(w io.Writer, o options, base, fb *stats) {
	ratio := 0.0
	if base.alerts > 0 {
		ratio = fb.perSecond(fb.alerts) / base.perSecond(base.alerts)
	}
	fmt.Fprintf(w, "ratio %s ÷ decode-only alerts/s: %.3f\n", fb.target, ratio)
	s := fb.sent
	fmt.Fprintf(w, "sent: %d alerts in %d payloads = %d repeats (%.1f%%), %d new (%.1f%%), %d resolves (%.1f%%); %d firing at the end\n",
		s.Alerts, s.Payloads, s.Repeats, pct(s.Repeats, s.Alerts), s.New, pct(s.New, s.Alerts), s.Resolves, pct(s.Resolves, s.Alerts), fb.firing)
	fmt.Fprintf(w, "%s answered: received %d = new %d + deduplicated %d + resolved %d\n",
		fb.target, fb.answered.Received, fb.answered.New, fb.answered.Deduplicated, fb.answered.Resolved)
	fmt.Fprintf(w, "CPU during the measured load, in cores (this machine has %d): firebreak %.2f; load generator %.2f (decode-only run: load generator + decoding handler %.2f)\n",
		runtime.NumCPU(), cores(fb.serverCPU, fb.elapsed), cores(fb.loadCPU, fb.elapsed), cores(base.loadCPU, base.elapsed))
	fmt.Fprintf(w, "peak RSS = firebreak's VmHWM at the end (start-up and prefill included); largest VmRSS sampled during the measured load: %.1f MiB\n",
		float64(fb.measuredRSS)/(1<<20))
	if o.prefill > 0 {
		fmt.Fprintf(w, "prefill: %d alert rows stored (fired, then resolved) in %s, %.0f alerts/s",
			fb.prefilled, fb.prefillTook.Round(time.Second), float64(fb.prefilled)/fb.prefillTook.Seconds())
		if fb.prefillErr != nil {
			fmt.Fprintf(w, " — incomplete: %v", fb.prefillErr)
		}
		fmt.Fprintln(w)
	}
	if n := fb.errorCount(); n > 0 {
		keys := make([]string, 0, len(fb.errors))
		for k := range fb.errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s: %d", k, fb.errors[k]))
		}
		fmt.Fprintf(w, "errors by status: %s\n", strings.Join(parts, ", "))
		for _, m := range fb.samples {
			fmt.Fprintf(w, "  e.g. %s\n", m)
		}
	}
	aps, p99 := fb.perSecond(fb.alerts), fb.percentile(0.99)
	if o.db == "sqlite" {
		fmt.Fprintf(w, "target (SQLite, 2 cores): ≥ %d alerts/s: %s (%.0f); p99 < %s: %s (%s)\n",
			targetAlertsPerSec, yesNo(aps >= targetAlertsPerSec), aps, targetP99, yesNo(p99 < targetP99), ms(p99))
	}
	if o.prefill > 0 && o.baseline > 0 {
		fmt.Fprintf(w, "target with %d rows stored: ≥ %.0f%% of the empty database's %.0f alerts/s: %s (%.1f%%)\n",
			fb.prefilled, targetPrefilled*100, o.baseline, yesNo(aps >= targetPrefilled*o.baseline), 100*aps/o.baseline)
	}
	// One line for scripts (bench/alerts.sh reads alerts_per_sec from it).
	fmt.Fprintf(w, "result target=%s prefilled=%d alerts_per_sec=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d decode_only_alerts_per_sec=%.1f ratio=%.3f\n",
		fb.target, fb.prefilled, aps, msf(fb.percentile(0.5)), msf(p99), fb.errorCount(), base.perSecond(base.alerts), ratio)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func cores(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() / wall.Seconds()
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
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
