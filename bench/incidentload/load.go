package main

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"firebreak/bench/internal/flow"
	"firebreak/bench/internal/serve"
)

// maxErrorSamples is how many distinct error messages a run keeps to print.
const maxErrorSamples = 5

// result is what one database's run measured.
type result struct {
	db                 string
	elapsed            time.Duration
	flows              int // incident flows that completed, all three requests 2xx
	requests           int // requests answered 2xx
	errors             int // requests that failed: non-2xx or no answer
	reqP50, reqP99     time.Duration
	flowP50, flowP99   time.Duration
	peakRSS            int64         // VmHWM, bytes
	sampledRSS         int64         // largest VmRSS sampled every 100 ms, bytes
	serverCPU          time.Duration // CPU time firebreak used during the run
	clientCPU          time.Duration // CPU time this program used during the run
	sampleErrors       []string
	errorsByStatusCode map[int]int // 0: no HTTP answer
}

func (r *result) incidentsPerSec() float64 { return float64(r.flows) / r.elapsed.Seconds() }
func (r *result) requestsPerSec() float64  { return float64(r.requests) / r.elapsed.Seconds() }

// worker is one client's own records, merged when the run ends.
type worker struct {
	reqs   []time.Duration
	flows  []time.Duration
	errors int
}

// load runs o.clients clients against srv for o.duration. A client starts no new flow once
// the time is up or o.maxFlows flows have started, and finishes the one it is in, so every
// counted incident went through all three requests.
func load(ctx context.Context, srv *serve.Child, o options) (*result, error) {
	httpClient := flow.NewHTTPClient(o.clients)
	defer httpClient.CloseIdleConnections()
	c := &flow.Client{HTTP: httpClient, Base: srv.Base, Token: srv.Token}

	// Stop early if the server dies: every further request would fail at once.
	ctx, cancel := srv.WatchExit(ctx)
	defer cancel()

	var (
		started  atomic.Int64
		mu       sync.Mutex
		samples  = map[string]bool{}
		byCode   = map[int]int{}
		workers  = make([]*worker, o.clients)
		wg       sync.WaitGroup
		begin    = time.Now()
		deadline = begin.Add(o.duration)
		srvCPU0  = srv.CPUTime()
		selfCPU0 = serve.SelfCPUTime()
	)
	noteError := func(err error) {
		code := 0
		var se *flow.StatusError
		if errors.As(err, &se) {
			code = se.Code
		}
		mu.Lock()
		defer mu.Unlock()
		byCode[code]++
		if msg := err.Error(); len(samples) < maxErrorSamples && !samples[msg] {
			samples[msg] = true
		}
	}
	for i := range workers {
		w := &worker{reqs: make([]time.Duration, 0, 4096), flows: make([]time.Duration, 0, 2048)}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil && time.Now().Before(deadline); n++ {
				if started.Add(1) > int64(o.maxFlows) {
					return
				}
				r, err := c.Run(ctx, i, n)
				for _, d := range r.Requests {
					if d > 0 {
						w.reqs = append(w.reqs, d)
					}
				}
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted: not the server's fault
					}
					w.errors++
					noteError(err)
					continue
				}
				w.flows = append(w.flows, r.Total)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	serverCPU, clientCPU := srv.CPUTime()-srvCPU0, serve.SelfCPUTime()-selfCPU0
	if err := ctx.Err(); err != nil {
		return nil, srv.RunError(err)
	}

	r := &result{elapsed: elapsed, errorsByStatusCode: byCode, serverCPU: serverCPU, clientCPU: clientCPU}
	var reqs, flows []time.Duration
	for _, w := range workers {
		reqs = append(reqs, w.reqs...)
		flows = append(flows, w.flows...)
		r.errors += w.errors
	}
	r.requests, r.flows = len(reqs), len(flows)
	flow.Sort(reqs)
	flow.Sort(flows)
	r.reqP50, r.reqP99 = flow.Percentile(reqs, 50), flow.Percentile(reqs, 99)
	r.flowP50, r.flowP99 = flow.Percentile(flows, 50), flow.Percentile(flows, 99)
	for msg := range samples {
		r.sampleErrors = append(r.sampleErrors, msg)
	}
	sort.Strings(r.sampleErrors)
	return r, nil
}
