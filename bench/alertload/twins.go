package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/serve"
)

// targetTwinsP99 is the target for an HA pair's twin notifications on two replicas.
const targetTwinsP99 = time.Second

// runTwins measures an Alertmanager HA pair: every payload is sent twice at once, one copy
// to each of two `firebreak serve` replicas on one PostgreSQL schema, o.senders senders per
// replica. Both replicas then work on the same alerts at the same moment, which is where
// transactions deadlock if they lock rows in different orders.
func runTwins(ctx context.Context, o options, runID string, stdout, stderr io.Writer) (err error) {
	fmt.Fprintf(stdout, "firebreak alert ingestion, HA twins: each payload sent twice at once, one copy to each of 2 replicas on one PostgreSQL schema; %d senders per replica × %d alerts a request (85%% repeats, 10%% new, 5%% resolves), %d groups, %d firing alerts warmed up, %s, %d CPUs, %s/%s\n",
		o.senders, o.perRequest, o.groups, o.groups*o.warmPerGroup, o.duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
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
	var posters [2]*poster
	for i, c := range children {
		posters[i] = newPoster(c.Base, children[0].Token, o.senders)
		defer posters[i].close()
	}
	gens, err := newGenerators(o, runID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "alertload: twins: warm-up of %d firing alerts through replica a\n", o.groups*o.warmPerGroup)
	if err := warmup(ctx, posters[0], gens, o.warmPerGroup); err != nil {
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
func measureTwins(ctx context.Context, posters [2]*poster, gens []*mix.Generator, d time.Duration) [2]*stats {
	type senderStats struct {
		alerts, requests int64
		lat              []time.Duration
		errs             map[string]int64
		samples          []string
		ans              answer
	}
	per := make([][2]senderStats, len(gens))
	rctx, cancel := context.WithTimeout(ctx, d+70*time.Second)
	defer cancel()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() {
			var resp [2]bytes.Buffer
			for r := range per[i] {
				per[i][r].errs = map[string]int64{}
			}
			for time.Now().Before(end) && rctx.Err() == nil {
				body, b := g.Next()
				var both sync.WaitGroup
				for r := range posters {
					both.Go(func() {
						s := &per[i][r]
						t0 := time.Now()
						code, err := posters[r].post(rctx, body, &resp[r])
						lat := time.Since(t0)
						if err == nil && code == http.StatusOK {
							s.alerts += int64(b.Len())
							s.requests++
							s.lat = append(s.lat, lat)
							var a answer
							if json.Unmarshal(resp[r].Bytes(), &a) == nil {
								s.ans.add(a)
							}
							return
						}
						key, msg := "no answer", ""
						if err != nil {
							msg = err.Error()
						} else {
							key, msg = strconv.Itoa(code), truncate(resp[r].String(), 200)
						}
						s.errs[key]++
						if len(s.samples) < 5 && !slices.Contains(s.samples, key+": "+msg) {
							s.samples = append(s.samples, key+": "+msg)
						}
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
		st := &stats{elapsed: elapsed, errors: map[string]int64{}}
		for i := range per {
			s := &per[i][r]
			st.alerts += s.alerts
			st.requests += s.requests
			st.latencies = append(st.latencies, s.lat...)
			for k, v := range s.errs {
				st.errors[k] += v
			}
			for _, m := range s.samples {
				if len(st.samples) < 5 && !slices.Contains(st.samples, m) {
					st.samples = append(st.samples, m)
				}
			}
			st.answered.add(s.ans)
		}
		slices.Sort(st.latencies)
		out[r] = st
	}
	for _, g := range gens {
		out[0].sent = out[0].sent.Add(g.Counts())
		out[0].firing += g.Firing()
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
	var ans answer
	for _, s := range st {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%s\t%d\t%.2f\t\n", s.target, s.perSecond(s.alerts), s.perSecond(s.requests),
			ms(s.percentile(0.5)), ms(s.percentile(0.99)), ms(s.percentile(1)), s.errorCount(), cores(s.serverCPU, s.elapsed))
		all = append(all, s.latencies...)
		errs += s.errorCount()
		ans.add(s.answered)
	}
	tw.Flush()
	slices.Sort(all)
	both := &stats{latencies: all}
	sent := st[0].sent
	fmt.Fprintf(w, "sent: %d alerts in %d payloads, each to both replicas = %d repeats, %d new, %d resolves\n",
		sent.Alerts, sent.Payloads, sent.Repeats, sent.New, sent.Resolves)
	fmt.Fprintf(w, "both replicas answered: received %d = new %d + deduplicated %d + resolved %d\n", ans.Received, ans.New, ans.Deduplicated, ans.Resolved)
	for _, s := range st {
		for k, v := range s.errors {
			fmt.Fprintf(w, "%s errors %s: %d\n", s.target, k, v)
		}
		for _, m := range s.samples {
			fmt.Fprintf(w, "  e.g. %s\n", m)
		}
	}
	p99 := both.percentile(0.99)
	fmt.Fprintf(w, "target (twins, 2 replicas): no errors: %s (%d); p99 < %s: %s (%s)\n",
		yesNo(errs == 0), errs, targetTwinsP99, yesNo(p99 < targetTwinsP99), ms(p99))
	fmt.Fprintf(w, "result target=twins-postgres alerts_per_sec=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
		st[0].perSecond(st[0].alerts+st[1].alerts), msf(both.percentile(0.5)), msf(p99), errs)
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
