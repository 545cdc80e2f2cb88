package alertsend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/bench/alertload/mix"
)

// TestPostRetryingRetries5xxNot4xx posts to a loopback server that fails twice with 503
// before answering 200, and to one that answers 400: the first takes three attempts and
// reports two retries, the second fails at the first.
func TestPostRetryingRetries5xxNot4xx(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/bad":
			http.Error(w, "no", http.StatusBadRequest)
		case r.Header.Get("Authorization") != "Bearer tok":
			http.Error(w, "who", http.StatusUnauthorized)
		case n <= 2:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, "{}")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	var resp bytes.Buffer
	p := NewPoster(srv.URL+"/ok", "tok", 1)
	defer p.Close()
	retries, err := p.PostRetrying(ctx, []byte("{}"), &resp, 5)
	if err != nil || retries != 2 || calls.Load() != 3 {
		t.Fatalf("retries %d, err %v, calls %d; want 2 retries, no error, 3 calls", retries, err, calls.Load())
	}
	calls.Store(10)
	bad := NewPoster(srv.URL+"/bad", "tok", 1)
	defer bad.Close()
	if _, err := bad.PostRetrying(ctx, []byte("{}"), &resp, 5); err == nil || !strings.Contains(err.Error(), "HTTP 400") || calls.Load() != 11 {
		t.Fatalf("a 400: err %v after %d calls; want an HTTP 400 error after one", err, calls.Load()-10)
	}
}

// TestMeasureUntilStopped runs two generators against a loopback server that decodes each
// webhook and answers Firebreak-style counts, until stop closes: the tallies add up and the
// answers are parsed.
func TestMeasureUntilStopped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p, err := alerts.Decode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resolved := 0
		for _, a := range p.Alerts {
			if a.Status == "resolved" {
				resolved++
			}
		}
		fmt.Fprintf(w, `{"received":%d,"resolved":%d}`, len(p.Alerts), resolved)
	}))
	defer srv.Close()
	gens := make([]*mix.Generator, 2)
	for i := range gens {
		g, err := mix.NewGenerator(mix.Config{Run: "t", Groups: mix.Partition(4, 2, i), PerRequest: 10, Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		gens[i] = g
	}
	p := NewPoster(srv.URL, "", 2)
	defer p.Close()
	ctx := context.Background()
	if err := Warmup(ctx, p, gens, 20); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() { close(stop) })
	st := Measure(ctx, p, gens, stop, true)
	if st.ErrorCount() != 0 || st.Requests == 0 || st.Alerts != 10*st.Requests || int64(len(st.Latencies)) != st.Requests {
		t.Fatalf("errors %v, %d requests, %d alerts, %d latencies", st.Errors, st.Requests, st.Alerts, len(st.Latencies))
	}
	if st.Answered.Received != st.Alerts || st.Answered.Resolved != st.Sent.Resolves || st.Sent.Alerts != st.Alerts {
		t.Fatalf("answered %+v, sent %+v, alerts %d: want every alert answered, resolves counted", st.Answered, st.Sent, st.Alerts)
	}
	if st.Sent.WarmedUp != 80 || st.Percentile(1) < st.Percentile(0.5) {
		t.Fatalf("warmed up %d (want 80), p50 %s max %s", st.Sent.WarmedUp, st.Percentile(0.5), st.Percentile(1))
	}
}
