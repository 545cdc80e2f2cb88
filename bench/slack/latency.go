package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"firebreak/bench/internal/flow"
	"firebreak/notify/slack/slackfake"
)

// latencyResult is what the latency measurement found.
type latencyResult struct {
	// toSlack: webhook sent → chat.postMessage received by the fake; answered: webhook sent →
	// its answer read.
	toSlack, answered []time.Duration
	missing           int
}

// measureLatency opens o.incidents incidents one after another, each by an Alertmanager
// webhook, and times each until its message reaches the fake Slack.
func measureLatency(ctx context.Context, o options) (latencyResult, error) {
	fake := slackfake.New()
	defer fake.Close()
	var mu sync.Mutex
	arrived := map[int64]time.Time{}
	signal := make(chan struct{}, 1)
	fake.Watch(func(c slackfake.Call) {
		if c.Method != "chat.postMessage" || !c.OK || c.Args.Get("thread_ts") != "" {
			return
		}
		mu.Lock()
		if id := incidentOf(c); id != 0 {
			if _, seen := arrived[id]; !seen {
				arrived[id] = c.At
			}
		}
		mu.Unlock()
		select {
		case signal <- struct{}{}:
		default:
		}
	})
	p, err := startPlatform(ctx, o, fake)
	if err != nil {
		return latencyResult{}, err
	}
	var res latencyResult
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	for n := 0; n < o.incidents && ctx.Err() == nil; n++ {
		t0 := time.Now()
		id, err := p.alert(ctx, n)
		if err != nil {
			p.stop()
			return res, err
		}
		res.answered = append(res.answered, time.Since(t0))
		deadline := time.NewTimer(10 * time.Second)
		for {
			mu.Lock()
			at, ok := arrived[id]
			mu.Unlock()
			if ok {
				res.toSlack = append(res.toSlack, at.Sub(t0))
				break
			}
			select {
			case <-signal:
				continue
			case <-deadline.C:
				res.missing++
			case <-ctx.Done():
				res.missing++
			}
			break
		}
		deadline.Stop()
	}
	if err := p.stop(); err != nil {
		return res, fmt.Errorf("stop the platform: %w", err)
	}
	return res, ctx.Err()
}

func (r latencyResult) print(w io.Writer, o options) {
	flow.Sort(r.toSlack)
	flow.Sort(r.answered)
	fmt.Fprintf(w, "\nlatency: Alertmanager webhook that opens an incident → its chat.postMessage at the fake Slack, %d incidents one after another\n",
		len(r.answered))
	if len(r.toSlack) == 0 {
		fmt.Fprintf(w, "  no message arrived (%d missing)\n", r.missing)
		return
	}
	p99 := flow.Percentile(r.toSlack, 99)
	fmt.Fprintf(w, "  to Slack:          p50 %8s  p90 %8s  p99 %8s  max %8s\n", ms(flow.Percentile(r.toSlack, 50)),
		ms(flow.Percentile(r.toSlack, 90)), ms(p99), ms(r.toSlack[len(r.toSlack)-1]))
	fmt.Fprintf(w, "  webhook answered:  p50 %8s  p90 %8s  p99 %8s  max %8s\n", ms(flow.Percentile(r.answered, 50)),
		ms(flow.Percentile(r.answered, 90)), ms(flow.Percentile(r.answered, 99)), ms(r.answered[len(r.answered)-1]))
	verdict := "met"
	if p99 >= targetP99 {
		verdict = "NOT met"
	}
	if o.db == "sqlite" {
		fmt.Fprintf(w, "  target p99 under %s on SQLite: %s\n", targetP99, verdict)
	}
	if r.missing > 0 {
		fmt.Fprintf(w, "  %d incidents' messages did not arrive within 10 s\n", r.missing)
	}
}

// ms writes a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
