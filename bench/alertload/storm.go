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

// stormResult is one target's storm, or its end.
type stormResult struct {
	*stats
	retries int64 // failed attempts before a 200
	lost    int64 // notifications never answered 200
}

// stormBodies is what a storm posts to one target, in that target's format: the storm, then
// its end (the same notifications with every alert resolved).
type stormBodies struct {
	storm, end [][]byte
}

// runStorm sends the storm to decode-only, to a fresh `firebreak serve` and, with
// -alertmanager, to a fresh Alertmanager, then its end to each of them still running, and
// prints how long each took.
func runStorm(ctx context.Context, o options, runID string, stdout, stderr io.Writer) error {
	storm, err := mix.NewStorm(runID, o.storm, o.stormGroups, nil)
	if err != nil {
		return err
	}
	// Rendered once, so that every target gets the same bytes, the same endsAt included.
	end := storm.Resolved()
	sizes := make([]int, storm.Notifications())
	for k := range sizes {
		sizes[k] = storm.Batch(k).Len()
	}
	webhook := stormBodies{storm: storm.Bodies(mix.Webhook), end: end.Bodies(mix.Webhook)}
	var postable stormBodies
	if o.alertmanager != "" {
		postable = stormBodies{storm: storm.Bodies(mix.PostableAlerts), end: end.Bodies(mix.PostableAlerts)}
	}
	fmt.Fprintf(stdout, "alert storm: %d new alerts over %d groups, one notification per group (%s alerts each), %d senders at once, a fresh server each, %d CPUs, %s/%s\n",
		o.storm, o.stormGroups, sizeRange(sizes), o.senders, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	fmt.Fprintf(stderr, "alertload: storm: decode-only\n")
	d, err := startDecodeOnly()
	if err != nil {
		return err
	}
	p := alertsend.NewPoster(d.base+webhookPath, "", o.senders)
	base := sendStorm(ctx, p, webhook.storm, sizes, o.senders, false)
	baseEnd := sendStorm(ctx, p, webhook.end, sizes, o.senders, false)
	p.Close()
	d.stop()
	base.target, baseEnd.target = "decode-only", "decode-only"

	fb, fbEnd, fbErr := stormFirebreak(ctx, o, webhook, sizes, stderr)
	var am, amEnd *stormResult
	var amErr error
	if postable.storm != nil && ctx.Err() == nil {
		am, amEnd, amErr = stormAlertmanager(ctx, o, postable, sizes, stderr)
	}
	printStorm(stdout, o, base, fb, am)
	printStormEnd(stdout, o, baseEnd, fbEnd, amEnd)
	if fb != nil && fb.Answered.New != int64(o.storm) {
		fbErr = errors.Join(fbErr, fmt.Errorf("firebreak stored %d of the storm's %d alerts as new", fb.Answered.New, o.storm))
	}
	if fbEnd != nil && fbEnd.Answered.Resolved != int64(o.storm) {
		fbErr = errors.Join(fbErr, fmt.Errorf("firebreak resolved %d of the storm's %d alerts at its end", fbEnd.Answered.Resolved, o.storm))
	}
	if amErr != nil {
		fmt.Fprintf(stdout, "FAILED alertmanager: %v\n", amErr)
	}
	return errors.Join(fbErr, amErr)
}

// stormFirebreak sends the storm, then its end, to one fresh `firebreak serve`. The end is
// not sent when a notification of the storm was lost: its alerts could not all resolve.
func stormFirebreak(ctx context.Context, o options, bodies stormBodies, sizes []int, stderr io.Writer) (storm, end *stormResult, err error) {
	dir, removeDir, err := childDir(o, "firebreak-"+o.db, stderr)
	if err != nil {
		return nil, nil, err
	}
	defer removeDir()
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, o.db, dir, o.pgURL, stderr, "alertload")
	if err != nil {
		return nil, nil, err
	}
	defer dropSchema()
	fmt.Fprintf(stderr, "alertload: storm: starting firebreak serve on %s\n", o.db)
	c, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: dir, DBURL: dbURL})
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if serr := c.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	p := alertsend.NewPoster(c.Base+webhookPath, c.Token, o.senders)
	defer p.Close()
	target := "firebreak-" + o.db
	storm = stormPhase(ctx, p, bodies.storm, sizes, o.senders, true, c.PID(), target)
	if storm.lost > 0 {
		return storm, nil, c.RunError(fmt.Errorf("%d of %d notifications never answered 200", storm.lost, len(bodies.storm)))
	}
	if ctx.Err() != nil {
		return storm, nil, nil
	}
	fmt.Fprintf(stderr, "alertload: storm: its end, to firebreak\n")
	end = stormPhase(ctx, p, bodies.end, sizes, o.senders, true, c.PID(), target)
	if end.lost > 0 {
		return storm, end, c.RunError(fmt.Errorf("the end: %d of %d notifications never answered 200", end.lost, len(bodies.end)))
	}
	return storm, end, nil
}

// stormAlertmanager sends the storm, then its end, to one fresh Alertmanager, reading what
// it counted after each; as for Firebreak, a lost notification leaves the end unsent.
func stormAlertmanager(ctx context.Context, o options, bodies stormBodies, sizes []int, stderr io.Writer) (storm, end *stormResult, err error) {
	// The peak RSS of each phase is read when it ends, not at the stop.
	_, err = withAlertmanager(ctx, o, "storm", stderr, func(am *alertmanagerChild, p *alertsend.Poster) error {
		count := func(r *stormResult) {
			if n, err := am.counted(ctx); err == nil {
				r.amCounted = &n
			} else {
				fmt.Fprintf(stderr, "alertload: alertmanager: %v\n", err)
			}
		}
		storm = stormPhase(ctx, p, bodies.storm, sizes, o.senders, false, am.cmd.Process.Pid, "alertmanager")
		count(storm)
		if storm.lost > 0 {
			return am.runError(fmt.Errorf("%d of %d notifications never answered 200", storm.lost, len(bodies.storm)))
		}
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(stderr, "alertload: storm: its end, to alertmanager\n")
		end = stormPhase(ctx, p, bodies.end, sizes, o.senders, false, am.cmd.Process.Pid, "alertmanager")
		count(end)
		if end.lost > 0 {
			return am.runError(fmt.Errorf("the end: %d of %d notifications never answered 200", end.lost, len(bodies.end)))
		}
		return nil
	})
	return storm, end, err
}

// stormPhase sends one phase of a storm (the storm or its end) to the server child pid and
// measures it: the child's CPU over the phase, and its peak RSS (VmHWM) as the phase ends,
// before the next one can raise it.
func stormPhase(ctx context.Context, p *alertsend.Poster, bodies [][]byte, sizes []int, senders int, parse bool, pid int, target string) *stormResult {
	cpu0 := serve.ProcCPUTime(pid)
	r := sendStorm(ctx, p, bodies, sizes, senders, parse)
	r.serverCPU = serve.ProcCPUTime(pid) - cpu0
	if st, err := serve.ProcStatus(pid); err == nil {
		r.hwm = st["VmHWM"]
	}
	r.target = target
	return r
}

// sendStorm posts every body once, senders at a time, each retried until a 200 (up to
// stormAttempts), and measures from the first post to the last answer.
func sendStorm(ctx context.Context, p *alertsend.Poster, bodies [][]byte, sizes []int, senders int, parse bool) *stormResult {
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
	printStormTable(w, base, fb, am)
	fmt.Fprintln(w, "seconds = first post to last answer; latency of a notification = until its 200, retries included; peak RSS = VmHWM once the last was answered")
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

// printStormTable prints a row per target of a storm or of its end; nil rows are skipped.
func printStormTable(w io.Writer, rs ...*stormResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\talerts\tseconds\talerts/s\tp50\tp99\tmax\tretries\tlost\tCPU cores\tpeak RSS MiB\t")
	for _, r := range rs {
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
}

// sizeRange is "250" or "250–251": the storm's notifications are as even as they can be.
func sizeRange(sizes []int) string {
	lo, hi := slices.Min(sizes), slices.Max(sizes)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}
