// Package alertsend sends the generated alert traffic of bench/alertload/mix to one HTTP
// endpoint and measures it, for the load programs that need it (alertload against
// Firebreak, Alertmanager and a decode-only handler; rollbacklatency as background load):
// a Poster posts the way Alertmanager does (POST, JSON, bearer token, kept-alive
// connections), Warmup sends the generators' firing alerts, Measure runs one sender per
// generator until told to stop, and a Tally adds up one sender's answers.
package alertsend

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"
)

// Poster sends bodies to one URL.
type Poster struct {
	client *http.Client
	url    string
	auth   string
}

// NewPoster posts to url, with "Authorization: Bearer token" unless token is empty, over
// up to conns kept-alive connections.
func NewPoster(url, token string, conns int) *Poster {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true}
	p := &Poster{client: &http.Client{Transport: tr, Timeout: 60 * time.Second}, url: url}
	if token != "" {
		p.auth = "Bearer " + token
	}
	return p
}

// URL is where the poster posts.
func (p *Poster) URL() string { return p.url }

// Close closes the idle connections.
func (p *Poster) Close() { p.client.CloseIdleConnections() }

// Post sends body and reads the answer into resp (reused). It returns the status code, or
// an error when no answer came.
func (p *Poster) Post(ctx context.Context, body []byte, resp *bytes.Buffer) (int, error) {
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

// PostRetrying posts until a 200, retrying 5xx and transport errors (as Alertmanager does)
// up to attempts times with a growing pause; a 4xx fails at once. It returns how many
// attempts failed before the 200.
func (p *Poster) PostRetrying(ctx context.Context, body []byte, resp *bytes.Buffer, attempts int) (retries int, err error) {
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return i, ctx.Err()
			case <-time.After(time.Duration(min(i, 10)) * 100 * time.Millisecond):
			}
		}
		code, err := p.Post(ctx, body, resp)
		switch {
		case err != nil:
			last = err
		case code == http.StatusOK:
			return i, nil
		case code >= 500:
			last = fmt.Errorf("HTTP %d: %s", code, Truncate(resp.String(), 200))
		default:
			return i, fmt.Errorf("HTTP %d: %s", code, Truncate(resp.String(), 300))
		}
		if ctx.Err() != nil {
			return i, ctx.Err()
		}
	}
	return attempts, fmt.Errorf("no 200 after %d attempts: %w", attempts, last)
}

// Truncate cuts s to n bytes, marking the cut.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
