package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/alertsend"
	"firebreak/bench/internal/serve"
)

// The storm targets: all alerts stored within these.
const (
	targetStormSQLite   = 5 * time.Second
	targetStormPostgres = 10 * time.Second
)

// stormAttempts is how often one notification of a storm is posted before it counts as
// lost; Alertmanager retries a failed notification too.
const stormAttempts = 50

// stormResult is one target's storm.
type stormResult struct {
	*stats
	retries int64 // failed attempts before a 200
	lost    int64 // notifications never answered 200
}

// runStorm sends the storm to decode-only, to a fresh `firebreak serve` and, with
// -alertmanager, to a fresh Alertmanager, and prints how long each took.
func runStorm(ctx context.Context, o options, runID string, stdout, stderr io.Writer) error {
	storm, err := mix.NewStorm(runID, o.storm, o.stormGroups, nil)
	if err != nil {
		return err
	}
	sizes := make([]int, storm.Notifications())
	for k := range sizes {
		sizes[k] = storm.Batch(k).Len()
	}
	webhook := storm.Bodies(mix.Webhook)
	var postable [][]byte
	if o.alertmanager != "" {
		postable = storm.Bodies(mix.PostableAlerts)
	}
	fmt.Fprintf(stdout, "alert storm: %d new alerts over %d groups, one notification per group (%s alerts each), %d senders at once, a fresh server each, %d CPUs, %s/%s\n",
		o.storm, o.stormGroups, sizeRange(sizes), o.senders, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	fmt.Fprintf(stderr, "alertload: storm: decode-only\n")
	d, err := startDecodeOnly()
	if err != nil {
		return err
	}
	base := sendStorm(ctx, alertsend.NewPoster(d.base+webhookPath, "", o.senders), webhook, sizes, o.senders, false)
	d.stop()
	base.target = "decode-only"

	fb, fbErr := stormFirebreak(ctx, o, webhook, sizes, stderr)
	var am *stormResult
	var amErr error
	if postable != nil && ctx.Err() == nil {
		am, amErr = stormAlertmanager(ctx, o, postable, sizes, stderr)
	}
	printStorm(stdout, o, base, fb, am)
	if fb != nil && fb.Answered.New != int64(o.storm) {
		fbErr = errors.Join(fbErr, fmt.Errorf("firebreak stored %d of the storm's %d alerts as new", fb.Answered.New, o.storm))
	}
	if amErr != nil {
		fmt.Fprintf(stdout, "FAILED alertmanager: %v\n", amErr)
	}
	return errors.Join(fbErr, amErr)
}

func stormFirebreak(ctx context.Context, o options, bodies [][]byte, sizes []int, stderr io.Writer) (r *stormResult, err error) {
	dir, removeDir, err := childDir(o, "firebreak-"+o.db, stderr)
	if err != nil {
		return nil, err
	}
	defer removeDir()
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, o.db, dir, o.pgURL, stderr, "alertload")
	if err != nil {
		return nil, err
	}
	defer dropSchema()
	fmt.Fprintf(stderr, "alertload: storm: starting firebreak serve on %s\n", o.db)
	c, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: dir, DBURL: dbURL})
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := c.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		if r != nil {
			r.hwm = c.PeakRSS()
		}
	}()
	p := alertsend.NewPoster(c.Base+webhookPath, c.Token, o.senders)
	defer p.Close()
	cpu0 := c.CPUTime()
	r = sendStorm(ctx, p, bodies, sizes, o.senders, true)
	r.serverCPU = c.CPUTime() - cpu0
	r.target = "firebreak-" + o.db
	if r.lost > 0 {
		return r, c.RunError(fmt.Errorf("%d of %d notifications never answered 200", r.lost, len(bodies)))
	}
	return r, nil
}

func stormAlertmanager(ctx context.Context, o options, bodies [][]byte, sizes []int, stderr io.Writer) (*stormResult, error) {
	var r *stormResult
	hwm, err := withAlertmanager(ctx, o, "storm", stderr, func(am *alertmanagerChild, p *alertsend.Poster) error {
		cpu0 := am.cpuTime()
		r = sendStorm(ctx, p, bodies, sizes, o.senders, false)
		r.serverCPU = am.cpuTime() - cpu0
		r.target = "alertmanager"
		if n, err := am.counted(ctx); err == nil {
			r.amCounted = &n
		} else {
			fmt.Fprintf(stderr, "alertload: alertmanager: %v\n", err)
		}
		if r.lost > 0 {
			return am.runError(fmt.Errorf("%d of %d notifications never answered 200", r.lost, len(bodies)))
		}
		return nil
	})
	if r != nil {
		r.hwm = hwm
	}
	return r, err
}

// sendStorm posts every body once, senders at a time, each retried until a 200 (up to
// stormAttempts), and measures from the first post to the last answer.
func sendStorm(ctx context.Context, p *alertsend.Poster, bodies [][]byte, sizes []int, senders int, parse bool) *stormResult {
	defer p.Close()
	var next, retries, lost atomic.Int64
	tallies := make([]*alertsend.Tally, senders)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range tallies {
		t := &alertsend.Tally{}
		tallies[i] = t
		wg.Go(func() {
			var resp bytes.Buffer
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= len(bodies) {
					return
				}
				t0 := time.Now()
				n, err := p.PostRetrying(ctx, bodies[k], &resp, stormAttempts)
				retries.Add(int64(n))
				if err != nil {
					lost.Add(1)
					t.Record(sizes[k], time.Since(t0), 0, err, nil, false)
					continue
				}
				// The latency of a notification is until its 200, retries included.
				t.Record(sizes[k], time.Since(t0), 200, nil, resp.Bytes(), parse)
			}
		})
	}
	wg.Wait()
	st := alertsend.Merge(time.Since(start), tallies)
	return &stormResult{stats: &stats{Stats: st}, retries: retries.Load(), lost: lost.Load()}
}

// printStorm prints a row per target, what Firebreak and Alertmanager say they stored, the
// ratio and the targets.
func printStorm(w io.Writer, o options, base, fb, am *stormResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\talerts\tseconds\talerts/s\tp50\tp99\tmax\tretries\tlost\tCPU cores\tpeak RSS MiB\t")
	for _, r := range []*stormResult{base, fb, am} {
		if r == nil {
			continue
		}
		cpu := "-" // decode-only runs in this process
		if r.serverCPU > 0 {
			cpu = fmt.Sprintf("%.2f", cores(r.serverCPU, r.Elapsed))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", r.target, r.Alerts, r.Elapsed.Seconds(),
			r.AlertsPerSecond(), ms(r.Percentile(0.5)), ms(r.Percentile(0.99)), ms(r.Percentile(1)), r.retries, r.lost,
			cpu, mib(r.hwm))
	}
	tw.Flush()
	fmt.Fprintln(w, "seconds = first post to last answer; latency of a notification = until its 200, retries included; peak RSS = VmHWM at the end")
	if fb == nil {
		return
	}
	for _, r := range []*stormResult{fb, am} {
		if r != nil {
			printErrors(w, r.stats)
		}
	}
	fmt.Fprintf(w, "%s answered: received %d = new %d + deduplicated %d + resolved %d; all %d stored as new: %s\n",
		fb.target, fb.Answered.Received, fb.Answered.New, fb.Answered.Deduplicated, fb.Answered.Resolved, o.storm, yesNo(fb.Answered.New == int64(o.storm)))
	if am != nil && am.amCounted != nil {
		c := am.amCounted
		fmt.Fprintf(w, "alertmanager counted (its /metrics): received %d (firing %d), invalid %d; all %d taken: %s\n",
			c.firing+c.resolved, c.firing, c.invalid, o.storm, yesNo(c.firing+c.resolved-c.invalid == int64(o.storm) && am.lost == 0))
	}
	limit := targetStormSQLite
	if o.db == "postgres" {
		limit = targetStormPostgres
	}
	secs := fb.Elapsed
	verdict := fmt.Sprintf("stored in under %s: %s (%.2f s)", limit, yesNo(secs < limit && fb.Answered.New == int64(o.storm)), secs.Seconds())
	amPart := ""
	resultAM := ""
	if am != nil {
		ratio := divide(fb.AlertsPerSecond(), am.AlertsPerSecond())
		amVerdict := fmt.Sprintf("at least as fast as alertmanager (≥ %.1f×): %s", targetRatio, yesNo(ratio >= targetRatio))
		fmt.Fprintf(w, "ratio firebreak ÷ alertmanager alerts/s: %.3f (alertmanager took %.2f s)\n", ratio, am.Elapsed.Seconds())
		verdict += "; " + amVerdict
		amPart = fmt.Sprintf("; alertmanager %.2f s (%.0f alerts/s, peak RSS %s MiB); ratio %.2f×", am.Elapsed.Seconds(), am.AlertsPerSecond(), mib(am.hwm), ratio)
		resultAM = fmt.Sprintf(" am_seconds=%.3f am_alerts_per_sec=%.1f am_rss_mib=%s am_ratio=%.3f", am.Elapsed.Seconds(), am.AlertsPerSecond(), mib(am.hwm), ratio)
	}
	fmt.Fprintf(w, "target (%s): %s\n", o.label(), verdict)
	fmt.Fprintf(w, "result target=%s run=%s alerts=%d stored=%d seconds=%.3f alerts_per_sec=%.1f p99_ms=%.2f rss_mib=%s%s\n",
		fb.target, o.label(), o.storm, fb.Answered.New, secs.Seconds(), fb.AlertsPerSecond(), msf(fb.Percentile(0.99)), mib(fb.hwm), resultAM)
	fmt.Fprintf(w, "summary %s: firebreak %d alerts in %.2f s (%.0f alerts/s, %d stored, peak RSS %s MiB)%s; %s\n",
		o.label(), o.storm, secs.Seconds(), fb.AlertsPerSecond(), fb.Answered.New, mib(fb.hwm), amPart, verdict)
}

// sizeRange is "250" or "250–251": the storm's notifications are as even as they can be.
func sizeRange(sizes []int) string {
	lo, hi := slices.Min(sizes), slices.Max(sizes)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}
