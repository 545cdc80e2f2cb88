package alertsend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"firebreak/bench/alertload/mix"
)

// maxSamples is how many distinct error messages a Stats keeps.
const maxSamples = 5

// Answer is the part of Firebreak's webhook answer the benchmarks add up.
type Answer struct {
	Received     int64 `json:"received"`
	New          int64 `json:"new"`
	Deduplicated int64 `json:"deduplicated"`
	Resolved     int64 `json:"resolved"`
}

// Add adds o to a.
func (a *Answer) Add(o Answer) {
	a.Received += o.Received
	a.New += o.New
	a.Deduplicated += o.Deduplicated
	a.Resolved += o.Resolved
}

// Tally adds up one sender's requests. Not safe for concurrent use: one per sender.
type Tally struct {
	Alerts    int64 // alerts in requests answered 200
	Requests  int64 // requests answered 200
	Latencies []time.Duration
	Errors    map[string]int64 // by HTTP status, or "no answer"
	Samples   []string         // a few distinct error messages
	Answered  Answer           // what Firebreak said it did, when answers are parsed
}

// Record adds one request of n alerts that took lat and ended with code (or err, when no
// answer came); with parse, a 200's body is read as Firebreak's webhook answer.
func (t *Tally) Record(n int, lat time.Duration, code int, err error, body []byte, parse bool) {
	if err == nil && code == http.StatusOK {
		t.Alerts += int64(n)
		t.Requests++
		t.Latencies = append(t.Latencies, lat)
		if parse {
			var a Answer
			if json.Unmarshal(body, &a) == nil {
				t.Answered.Add(a)
			}
		}
		return
	}
	key, msg := "no answer", ""
	if err != nil {
		msg = err.Error()
	} else {
		key, msg = strconv.Itoa(code), Truncate(string(body), 200)
	}
	if t.Errors == nil {
		t.Errors = map[string]int64{}
	}
	t.Errors[key]++
	if s := key + ": " + msg; len(t.Samples) < maxSamples && !slices.Contains(t.Samples, s) {
		t.Samples = append(t.Samples, s)
	}
}

// Stats are the tallies of all senders of one measured load, latencies sorted.
type Stats struct {
	Tally
	Elapsed time.Duration
	Sent    mix.Counts // what the generators produced
	Firing  int        // firing alerts the generators know at the end
}

// Merge adds up the senders' tallies of a load that ran for elapsed.
func Merge(elapsed time.Duration, tallies []*Tally) *Stats {
	st := &Stats{Elapsed: elapsed}
	st.Errors = map[string]int64{}
	for _, t := range tallies {
		st.Alerts += t.Alerts
		st.Requests += t.Requests
		st.Latencies = append(st.Latencies, t.Latencies...)
		for k, v := range t.Errors {
			st.Errors[k] += v
		}
		for _, m := range t.Samples {
			if len(st.Samples) < maxSamples && !slices.Contains(st.Samples, m) {
				st.Samples = append(st.Samples, m)
			}
		}
		st.Answered.Add(t.Answered)
	}
	slices.Sort(st.Latencies)
	return st
}

// ErrorCount is the number of requests not answered 200.
func (s *Stats) ErrorCount() int64 {
	var n int64
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// PerSecond is n over the elapsed time.
func (s *Stats) PerSecond(n int64) float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(n) / s.Elapsed.Seconds()
}

// AlertsPerSecond is the alerts answered 200 a second.
func (s *Stats) AlertsPerSecond() float64 { return s.PerSecond(s.Alerts) }

// Percentile is the latency at p (0 to 1) of the requests answered 200.
func (s *Stats) Percentile(p float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(s.Latencies))*p+0.5) - 1
	return s.Latencies[min(max(i, 0), len(s.Latencies)-1)]
}

// Warmup sends every generator's warm-up alerts (perGroup firing alerts a group, 100 a
// request, retried), one goroutine per generator.
func Warmup(ctx context.Context, p *Poster, gens []*mix.Generator, perGroup int) error {
	errs := make([]error, len(gens))
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() {
			var resp bytes.Buffer
			errs[i] = g.Warmup(perGroup, 100, func(body []byte, _ mix.Batch) error {
				_, err := p.PostRetrying(ctx, body, &resp, 20)
				return err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

// MeasureFor runs Measure for d.
func MeasureFor(ctx context.Context, p *Poster, gens []*mix.Generator, d time.Duration, parseAnswers bool) *Stats {
	stop := make(chan struct{})
	t := time.AfterFunc(d, func() { close(stop) })
	defer t.Stop()
	return Measure(ctx, p, gens, stop, parseAnswers)
}

// Measure runs one sender per generator against p until stop is closed or ctx ends: each
// builds its next payload, posts it and waits for the answer, as fast as answers come (a
// request in flight when stop closes completes and counts). With parseAnswers the 200s are
// read as Firebreak's webhook answer.
func Measure(ctx context.Context, p *Poster, gens []*mix.Generator, stop <-chan struct{}, parseAnswers bool) *Stats {
	tallies := make([]*Tally, len(gens))
	start := time.Now()
	var wg sync.WaitGroup
	for i, g := range gens {
		t := &Tally{Latencies: make([]time.Duration, 0, 1<<14), Errors: map[string]int64{}}
		tallies[i] = t
		wg.Go(func() {
			var resp bytes.Buffer
			for ctx.Err() == nil {
				select {
				case <-stop:
					return
				default:
				}
				body, b := g.Next()
				t0 := time.Now()
				code, err := p.Post(ctx, body, &resp)
				t.Record(b.Len(), time.Since(t0), code, err, resp.Bytes(), parseAnswers)
			}
		})
	}
	wg.Wait()
	st := Merge(time.Since(start), tallies)
	for _, g := range gens {
		st.Sent = st.Sent.Add(g.Counts())
		st.Firing += g.Firing()
	}
	return st
}
