package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"firebreak/bench/alertload/mix"
)

// webhookPath is Firebreak's Alertmanager receiver.
const webhookPath = "/api/v1/alerts/alertmanager"

// answer is the part of Firebreak's webhook answer the benchmark adds up.
type answer struct {
	Received     int64 `json:"received"`
	New          int64 `json:"new"`
	Deduplicated int64 `json:"deduplicated"`
	Resolved     int64 `json:"resolved"`
}

func (a *answer) add(o answer) {
	a.Received += o.Received
	a.New += o.New
	a.Deduplicated += o.Deduplicated
	a.Resolved += o.Resolved
}

// poster sends webhook bodies to one target the way Alertmanager does: POST, JSON, bearer
// token, kept-alive connections.
type poster struct {
	client *http.Client
	url    string
	auth   string
}

func newPoster(base, token string, conns int) *poster {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true}
	p := &poster{client: &http.Client{Transport: tr, Timeout: 60 * time.Second}, url: base + webhookPath}
	if token != "" {
		p.auth = "Bearer " + token
	}
	return p
}

func (p *poster) close() { p.client.CloseIdleConnections() }

// post sends body and reads the answer into resp (reused). It returns the status code, or
// an error when no answer came.
func (p *poster) post(ctx context.Context, body []byte, resp *bytes.Buffer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.28.1")
	if p.auth != "" {
		req.Header.Set("Authorization", p.auth)
	}
	r, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Reset()
	_, err = resp.ReadFrom(r.Body)
	r.Body.Close()
	if err != nil {
		return 0, err
	}
	return r.StatusCode, nil
}

// postRetrying posts until a 200, retrying 5xx and transport errors (as Alertmanager does)
// up to attempts times; a 4xx fails at once.
func (p *poster) postRetrying(ctx context.Context, body []byte, resp *bytes.Buffer, attempts int) error {
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(min(i, 10)) * 100 * time.Millisecond):
			}
		}
		code, err := p.post(ctx, body, resp)
		switch {
		case err != nil:
			last = err
		case code == http.StatusOK:
			return nil
		case code >= 500:
			last = fmt.Errorf("HTTP %d: %s", code, truncate(resp.String(), 200))
		default:
			return fmt.Errorf("HTTP %d: %s", code, truncate(resp.String(), 300))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("no 200 after %d attempts: %w", attempts, last)
}

// stats is what one measured load produced.
type stats struct {
	target    string
	prefilled int64
	elapsed   time.Duration
	alerts    int64 // alerts in requests answered 200
	requests  int64 // requests answered 200
	latencies []time.Duration
	errors    map[string]int64 // by HTTP status, or "no answer"
	samples   []string         // a few distinct error messages
	answered  answer           // what the server said it did (Firebreak only)
	sent      mix.Counts
	firing    int // firing alerts the generators know at the end

	serverCPU, loadCPU time.Duration
	hwm, measuredRSS   int64 // bytes; 0 for decode-only

	prefillTook time.Duration
	prefillErr  error
}

func (s *stats) errorCount() int64 {
	var n int64
	for _, c := range s.errors {
		n += c
	}
	return n
}

func (s *stats) perSecond(n int64) float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(n) / s.elapsed.Seconds()
}

func (s *stats) percentile(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	i := int(float64(len(s.latencies))*p+0.5) - 1
	return s.latencies[min(max(i, 0), len(s.latencies)-1)]
}

// newGenerators makes one generator per sender, each owning its share of the groups.
func newGenerators(o options, run string) ([]*mix.Generator, error) {
	gens := make([]*mix.Generator, o.senders)
	for i := range gens {
		g, err := mix.NewGenerator(mix.Config{Run: run, Groups: mix.Partition(o.groups, o.senders, i),
			PerRequest: o.perRequest, Mix: mix.Default, Seed: uint64(i + 1)})
		if err != nil {
			return nil, err
		}
		gens[i] = g
	}
	return gens, nil
}

// warmup sends every generator's warm-up alerts (firing, 100 a request), one goroutine per
// generator.
func warmup(ctx context.Context, p *poster, gens []*mix.Generator, perGroup int) error {
	errs := make([]error, len(gens))
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() {
			var resp bytes.Buffer
			errs[i] = g.Warmup(perGroup, 100, func(body []byte, _ mix.Batch) error {
				return p.postRetrying(ctx, body, &resp, 20)
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

// measure runs the senders against p for d: each builds its next payload, posts it and
// waits for the answer, until the time is up (a request in flight then completes).
func measure(ctx context.Context, p *poster, gens []*mix.Generator, d time.Duration, parseAnswers bool) *stats {
	type senderStats struct {
		alerts, requests int64
		lat              []time.Duration
		errs             map[string]int64
		samples          []string
		ans              answer
	}
	per := make([]senderStats, len(gens))
	rctx, cancel := context.WithTimeout(ctx, d+70*time.Second) // a request in flight may take the client's timeout
	defer cancel()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() {
			s := &per[i]
			s.lat = make([]time.Duration, 0, 1<<14)
			s.errs = map[string]int64{}
			var resp bytes.Buffer
			for time.Now().Before(end) && rctx.Err() == nil {
				body, b := g.Next()
				t0 := time.Now()
				code, err := p.post(rctx, body, &resp)
				lat := time.Since(t0)
				if err == nil && code == http.StatusOK {
					s.alerts += int64(b.Len())
					s.requests++
					s.lat = append(s.lat, lat)
					if parseAnswers {
						var a answer
						if json.Unmarshal(resp.Bytes(), &a) == nil {
							s.ans.add(a)
						}
					}
					continue
				}
				key, msg := "no answer", ""
				if err != nil {
					msg = err.Error()
				} else {
					key, msg = strconv.Itoa(code), truncate(resp.String(), 200)
				}
				s.errs[key]++
				if len(s.samples) < 5 && !slices.Contains(s.samples, key+": "+msg) {
					s.samples = append(s.samples, key+": "+msg)
				}
			}
		})
	}
	wg.Wait()
	st := &stats{elapsed: time.Since(start), errors: map[string]int64{}}
	for i := range per {
		s := &per[i]
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
		st.sent = st.sent.Add(gens[i].Counts())
		st.firing += gens[i].Firing()
	}
	slices.Sort(st.latencies)
	return st
}

// prefill stores o.prefill alerts through the webhook before the measurement: each chunk
// of 100 new alerts is posted firing, then resolved. It returns how many alerts the server
// counted as new, and stops early (with an error) at o.prefillTimeout.
func prefill(ctx context.Context, p *poster, o options, run string, progress io.Writer) (int64, time.Duration, error) {
	pf := mix.NewPrefill(run, o.prefill, 100, o.prefillGroups, nil)
	chunks := pf.Chunks()
	pctx, cancel := context.WithTimeout(ctx, o.prefillTimeout)
	defer cancel()
	var next, stored atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	done := make(chan struct{})
	go func() { // progress, so a long prefill is not silent
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := stored.Load()
				el := time.Since(start)
				fmt.Fprintf(progress, "alertload: prefill: %d of %d alerts stored after %s (%.0f alerts/s)\n",
					n, o.prefill, el.Round(time.Second), float64(n)/el.Seconds())
			}
		}
	}()
	var wg sync.WaitGroup
	for range o.prefillSenders {
		wg.Go(func() {
			var firing, resolved []byte
			var resp bytes.Buffer
			for pctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= chunks {
					return
				}
				var n int
				firing, resolved, n = pf.Render(k, firing[:0], resolved[:0])
				err := p.postRetrying(pctx, firing, &resp, 50)
				if err == nil {
					var a answer
					if json.Unmarshal(resp.Bytes(), &a) == nil {
						stored.Add(a.New)
					}
					err = p.postRetrying(pctx, resolved, &resp, 50)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("prefill chunk %d (%d alerts): %w", k, n, err) })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	took := time.Since(start)
	if errors.Is(pctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		firstErr = fmt.Errorf("prefill stopped by -prefill-timeout %s", o.prefillTimeout)
	}
	return stored.Load(), took, firstErr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
