package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/alertsend"
	"firebreak/bench/internal/serve"
)

// targetTwinsP99 is the target for an HA pair's twin notifications on two replicas.
const targetTwinsP99 = time.Second

// runTwins measures an Alertmanager HA pair: every payload is sent twice at once, one copy
// to each of two `firebreak serve` replicas on one PostgreSQL schema, o.senders senders per
// replica. Both replicas then work on the same alerts at the same moment, which is where
// transactions deadlock if they lock rows in different orders.
func runTwins(ctx context.Context, o options, runID string, stdout, stderr io.Writer) (err error) {
	fmt.Fprintf(stdout, "firebreak alert ingestion, HA twins: each payload sent twice at once, one copy to each of 2 replicas on one PostgreSQL schema; %d senders per replica × %d alerts a request (%s), %d groups, %d firing alerts warmed up, %s, %d CPUs, %s/%s\n",
		o.senders, o.perRequest, o.describe(), o.groups, o.groups*o.warmPerGroup, o.duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	dir, err := os.MkdirTemp("", "firebreak-alertload-twins-")
	if err != nil {
		return err
	}
	if o.keepLogs {
		fmt.Fprintf(stderr, "alertload: the children's directory is kept at %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, "postgres", dir, o.pgURL, stderr, "alertload")
	if err != nil {
		return err
	}
	defer dropSchema()
	var children [2]*serve.Child
	for i := range children {
		sub := fmt.Sprintf("%s/replica-%c", dir, 'a'+i)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "alertload: twins: starting replica %c\n", 'a'+i)
		c, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: sub, DBURL: dbURL, Replica: i == 1})
		if err != nil {
			return err
		}
		children[i] = c
		defer func() {
			if serr := c.Stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
	}
	var posters [2]*alertsend.Poster
	for i, c := range children {
		posters[i] = alertsend.NewPoster(c.Base+webhookPath, children[0].Token, o.senders)
		defer posters[i].Close()
	}
	gens, err := newGenerators(o, runID, mix.Webhook)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "alertload: twins: warm-up of %d firing alerts through replica a\n", o.groups*o.warmPerGroup)
	if err := alertsend.Warmup(ctx, posters[0], gens, o.warmPerGroup); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "alertload: twins: %d senders per replica for %s\n", o.senders, o.duration)
	var cpu0 [2]time.Duration
	for i, c := range children {
		cpu0[i] = c.CPUTime()
	}
	st := measureTwins(ctx, posters, gens, o.duration)
	for i, c := range children {
		st[i].serverCPU = c.CPUTime() - cpu0[i]
		st[i].target = fmt.Sprintf("replica-%c", 'a'+i)
	}
	return printTwins(stdout, st)
}

// measureTwins runs one sender per generator for d: each builds its next payload, posts it
// to both replicas at once and waits for both answers.
func measureTwins(ctx context.Context, posters [2]*alertsend.Poster, gens []*mix.Generator, d time.Duration) [2]*stats {
	per := make([][2]alertsend.Tally, len(gens))
	rctx, cancel := context.WithTimeout(ctx, d+70*time.Second)
	defer cancel()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() {
			var resp [2]bytes.Buffer
			for time.Now().Before(end) && rctx.Err() == nil {
				body, b := g.Next()
				var both sync.WaitGroup
				for r := range posters {
					both.Go(func() {
						t0 := time.Now()
						code, err := posters[r].Post(rctx, body, &resp[r])
						per[i][r].Record(b.Len(), time.Since(t0), code, err, resp[r].Bytes(), true)
					})
				}
				both.Wait()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var out [2]*stats
	for r := range out {
		tallies := make([]*alertsend.Tally, len(per))
		for i := range per {
			tallies[i] = &per[i][r]
		}
		out[r] = &stats{Stats: alertsend.Merge(elapsed, tallies)}
	}
	for _, g := range gens {
		out[0].Sent = out[0].Sent.Add(g.Counts())
		out[0].Firing += g.Firing()
	}
	return out
}

// printTwins prints a row per replica, checks that the two answers add up to one copy of
// each alert counted as new or resolved and the other as a duplicate, and judges the target.
func printTwins(w io.Writer, st [2]*stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "replica\talerts/s\trequests/s\tp50\tp99\tmax\terrors\tCPU cores\t")
	var all []time.Duration
	var errs int64
	var ans alertsend.Answer
	for _, s := range st {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%s\t%d\t%.2f\t\n", s.target, s.AlertsPerSecond(), s.PerSecond(s.Requests),
			ms(s.Percentile(0.5)), ms(s.Percentile(0.99)), ms(s.Percentile(1)), s.ErrorCount(), cores(s.serverCPU, s.Elapsed))
		all = append(all, s.Latencies...)
		errs += s.ErrorCount()
		ans.Add(s.Answered)
	}
	tw.Flush()
	slices.Sort(all)
	both := &alertsend.Stats{Tally: alertsend.Tally{Latencies: all}}
	sent := st[0].Sent
	fmt.Fprintf(w, "sent: %d alerts in %d payloads, each to both replicas = %d repeats, %d new, %d resolves\n",
		sent.Alerts, sent.Payloads, sent.Repeats, sent.New, sent.Resolves)
	fmt.Fprintf(w, "both replicas answered: received %d = new %d + deduplicated %d + resolved %d\n", ans.Received, ans.New, ans.Deduplicated, ans.Resolved)
	for _, s := range st {
		printErrors(w, s)
	}
	p99 := both.Percentile(0.99)
	verdict := fmt.Sprintf("no errors: %s (%d); p99 < %s: %s (%s)", yesNo(errs == 0), errs, targetTwinsP99, yesNo(p99 < targetTwinsP99), ms(p99))
	fmt.Fprintf(w, "target (twins, 2 replicas): %s\n", verdict)
	aps := st[0].PerSecond(st[0].Alerts + st[1].Alerts)
	fmt.Fprintf(w, "result target=twins-postgres run=postgres-twins alerts_per_sec=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
		aps, msf(both.Percentile(0.5)), msf(p99), errs)
	fmt.Fprintf(w, "summary postgres-twins: both replicas %.0f alerts/s, p99 %s; %s\n", aps, ms(p99), verdict)
	// With no errors, both replicas took every alert: whichever copy committed first counted
	// it as new or resolved, and the other as a duplicate.
	if errs == 0 && (ans.Received != 2*sent.Alerts || ans.New != sent.New || ans.Resolved != sent.Resolves) {
		return fmt.Errorf("the replicas' answers do not add up: received %d new %d resolved %d, want %d, %d, %d",
			ans.Received, ans.New, ans.Resolved, 2*sent.Alerts, sent.New, sent.Resolves)
	}
	if errs > 0 {
		return fmt.Errorf("%d twin requests failed", errs)
	}
	return nil
}
