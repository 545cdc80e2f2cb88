package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"firebreak/notify/slack/slackfake"
)

// clients is how many requests the rate-limit measurement sends at once.
const clients = 16

// rateLimitResult is what the rate-limit measurement found.
type rateLimitResult struct {
	incidents, expected int
	delivered           int
	took                time.Duration
	missing, twice      int
	outOfOrder          int
	rateLimited         int
	timedOut            bool
}

func (r rateLimitResult) ok() bool {
	return !r.timedOut && r.missing == 0 && r.twice == 0 && r.outOfOrder == 0
}

// measureRateLimit opens o.limited incidents at once into #incidents, whose fake takes one
// message per o.interval and answers 429 with Retry-After otherwise, and sends each
// o.replies commands from Slack (an ack, then notes); it waits until every message arrived
// and checks each incident got its message once and its replies once, in order.
func measureRateLimit(ctx context.Context, o options) (rateLimitResult, error) {
	fake := slackfake.New()
	defer fake.Close()
	fake.LimitPerChannel("chat.postMessage", o.interval)
	res := rateLimitResult{incidents: o.limited, expected: o.limited * (1 + o.replies)}
	var okPosts atomic.Int64
	done := make(chan struct{})
	fake.Watch(func(c slackfake.Call) {
		if c.Method == "chat.postMessage" && c.OK && okPosts.Add(1) == int64(res.expected) {
			close(done)
		}
	})
	p, err := startPlatform(ctx, o, fake)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	start := time.Now()
	ids, err := p.openAtOnce(ctx, o.limited, o.replies)
	if err != nil {
		p.stop()
		return res, err
	}
	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
wait:
	for {
		select {
		case <-done:
			res.took = time.Since(start)
			break wait
		case <-ctx.Done():
			res.timedOut, res.took = true, time.Since(start)
			break wait
		case <-progress.C:
			fmt.Fprintf(o.log, "slack: %s: %d of %d messages delivered\n", time.Since(start).Round(time.Second), okPosts.Load(), res.expected)
		}
	}
	res.check(fake, ids, o.replies)
	if err := p.stop(); err != nil {
		return res, fmt.Errorf("stop the platform: %w", err)
	}
	return res, nil
}

// openAtOnce sends the webhooks from several clients at once, then each incident's
// commands in order, and returns the incidents.
func (p *platform) openAtOnce(ctx context.Context, n, replies int) ([]int64, error) {
	ids := make([]int64, n)
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id, err := p.alert(ctx, i)
				if err == nil {
					ids[i] = id
					for r := 0; r < replies && err == nil; r++ {
						err = p.command(ctx, replyCommand(id, r))
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

// replyCommand is the r-th command sent for incident id: an ack, then notes.
func replyCommand(id int64, r int) string {
	if r == 0 {
		return fmt.Sprintf("ack %d", id)
	}
	return fmt.Sprintf("note %d bench note %d", id, r)
}

// replyText is the thread reply replyCommand(id, r) leads to.
func replyText(r int) string {
	if r == 0 {
		return ":eyes: Acknowledged by Bench."
	}
	return fmt.Sprintf(":memo: *Bench*: bench note %d", r)
}

// check counts, per incident, its top-level messages and its replies against what was sent.
func (r *rateLimitResult) check(fake *slackfake.Server, ids []int64, replies int) {
	r.rateLimited = len(fake.Calls("chat.postMessage")) - len(fake.OKCalls("chat.postMessage"))
	top := map[int64][]slackfake.Message{}
	for _, m := range fake.Messages("#incidents") {
		if m.ThreadTS == "" {
			id := incidentOf(slackfake.Call{Args: map[string][]string{"metadata": {string(m.Metadata)}}})
			top[id] = append(top[id], m)
		}
	}
	for _, id := range ids {
		msgs := top[id]
		switch {
		case len(msgs) == 0:
			r.missing += 1 + replies
			continue
		case len(msgs) > 1:
			r.twice += len(msgs) - 1
		}
		r.delivered++
		thread := fake.Thread(msgs[0].Channel, msgs[0].TS)
		seen := map[string]int{}
		next := 0
		for _, m := range thread {
			seen[m.Text]++
			if next < replies && m.Text == replyText(next) {
				next++
			} else if seen[m.Text] == 1 {
				r.outOfOrder++
			}
		}
		r.delivered += len(thread)
		for i := 0; i < replies; i++ {
			switch n := seen[replyText(i)]; {
			case n == 0:
				r.missing++
			case n > 1:
				r.twice += n - 1
			}
		}
	}
}

func (r rateLimitResult) print(w io.Writer, o options) {
	fmt.Fprintf(w, "\nrate limit: %d incidents opened at once into one channel taking one message per %s (429 with Retry-After otherwise),\n"+
		"  each with %d replies from Slack commands (ack, then notes): %d messages expected\n", r.incidents, o.interval, o.replies, r.expected)
	minimum := time.Duration(r.expected-1) * o.interval
	fmt.Fprintf(w, "  delivered %d in %s (the channel's limit allows it in %s at best); missing %d, twice %d, out of order %d; "+
		"%d answers were 429\n", r.delivered, r.took.Round(100*time.Millisecond), minimum, r.missing, r.twice, r.outOfOrder, r.rateLimited)
	if r.timedOut {
		fmt.Fprintf(w, "  TIMED OUT after %s\n", o.timeout)
	}
}
