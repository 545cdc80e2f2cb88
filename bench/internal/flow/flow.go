// Package flow is the incident flow the benchmarks drive through Firebreak's HTTP API:
// declare an incident, acknowledge it, resolve it. The load program (bench/incidentload)
// and the in-process Go benchmarks share it, so the smoke test that `go test ./...` runs
// exercises the very requests the published figures come from.
package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RequestTimeout bounds one request, so a stuck server cannot hang a run.
const RequestTimeout = 30 * time.Second

// Services is how many distinct services the declared incidents spread over.
const Services = 20

// NewHTTPClient returns one client for every benchmark worker to share. Its transport keeps
// an idle keep-alive connection per worker, so no request pays for a TCP handshake, and
// ignores proxy variables: the target is always on loopback.
func NewHTTPClient(workers int) *http.Client {
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        workers * 2,
		MaxIdleConnsPerHost: workers * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: t, Timeout: RequestTimeout}
}

// Client runs flows against one Firebreak server.
type Client struct {
	HTTP  *http.Client
	Base  string // like http://127.0.0.1:8080, no trailing slash
	Token string // a token with the incidents:write scope
}

// Result is one flow that went through: the incident and the time each request took.
type Result struct {
	IncidentID int64
	Requests   [3]time.Duration // declare, acknowledge, resolve
	Total      time.Duration
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Step   string
	Code   int
	Body   string
	Took   time.Duration
	Method string
	Path   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %s %s answered %d: %s", e.Step, e.Method, e.Path, e.Code, e.Body)
}

// Run declares incident number n of worker w, acknowledges and resolves it. On error the
// returned Result holds the requests that did complete (their durations are non-zero) and
// the error says which step failed; a *StatusError when the server answered non-2xx.
func (c *Client) Run(ctx context.Context, w, n int) (Result, error) {
	var r Result
	start := time.Now()
	body := fmt.Sprintf(`{"title":"bench %d-%d","severity":"sev2","service":"svc-%d","environment":"prod"}`,
		w, n, w%Services)
	var created struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	took, err := c.post(ctx, "declare", "/api/v1/incidents", body, &created)
	r.Requests[0] = took
	if err != nil {
		return r, err
	}
	if created.ID <= 0 {
		return r, fmt.Errorf("declare: answer carries no incident id")
	}
	r.IncidentID = created.ID
	id := strconv.FormatInt(created.ID, 10)
	for i, step := range []string{"acknowledge", "resolve"} {
		took, err := c.post(ctx, step, "/api/v1/incidents/"+id+"/"+step, "", nil)
		r.Requests[i+1] = took
		if err != nil {
			return r, err
		}
	}
	r.Total = time.Since(start)
	return r, nil
}

// post sends one request and reads the whole answer, so the connection goes back to the
// pool, decoding it into out when out is not nil. It returns how long the request took.
func (c *Client) post(ctx context.Context, step, path, body string, out any) (time.Duration, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", step, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", step, err)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: read answer: %w", step, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, &StatusError{Step: step, Code: resp.StatusCode, Body: string(bytes.TrimSpace(raw)),
			Took: took, Method: http.MethodPost, Path: path}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return took, fmt.Errorf("%s: decode answer: %w", step, err)
		}
	}
	return took, nil
}

// Percentile returns the p-th percentile (0 < p <= 100, nearest rank) of sorted, or 0 when
// it is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// Sort sorts durations ascending, in place, and returns them.
func Sort(ds []time.Duration) []time.Duration {
	slices.Sort(ds)
	return ds
}
