package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/notify/webhook"
)

// received is what a test receiver saw of one request.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP server on loopback that records each request and answers status
// with answer as the body.
func receiver(t *testing.T, status int, answer string) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func fixedClient(now time.Time) *webhook.Client {
	c := webhook.NewClient()
	c.Clock = func() time.Time { return now }
	return c
}

// A receiver gets a signed POST that it can verify with the shared secret, with the
// caller's extra headers.
func TestPostIsSignedAndVerifiable(t *testing.T) {
	srv, got := receiver(t, http.StatusOK, `{"ok":true}`)
	now := time.Now()
	c := fixedClient(now)
	resp, retry, err := c.Post(context.Background(), srv.URL+"/hooks/rollback", secret, body,
		map[string]string{"Idempotency-Key": "rollback-12-7"}, 5*time.Second)
	if err != nil || retry {
		t.Fatalf("Post = retry %v, %v; want success", retry, err)
	}
	if resp.Status != 200 || resp.Body != `{"ok":true}` {
		t.Errorf("response %+v, want 200 and the receiver's body", resp)
	}
	r := <-got
	if r.Method != http.MethodPost || r.Path != "/hooks/rollback" {
		t.Errorf("request %s %s, want POST /hooks/rollback", r.Method, r.Path)
	}
	if string(r.Body) != string(body) {
		t.Errorf("body %s, want %s", r.Body, body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if k := r.Header.Get("Idempotency-Key"); k != "rollback-12-7" {
		t.Errorf("Idempotency-Key %q, want the extra header", k)
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Firebreak") {
		t.Errorf("User-Agent %q, want Firebreak", ua)
	}
	ts, sig := r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature)
	if want := now.Unix(); ts != strconv.FormatInt(want, 10) {
		t.Errorf("%s %q, want %d (the client's clock, in Unix seconds)", webhook.HeaderTimestamp, ts, want)
	}
	if err := webhook.Verify(secret, ts, sig, r.Body, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Errorf("receiver cannot verify the request: %v (ts %q, sig %q)", err, ts, sig)
	}
	if err := webhook.Verify([]byte("another service's secret"), ts, sig, r.Body, time.Now(), webhook.DefaultTolerance); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("verify with another secret = %v, want ErrBadSignature", err)
	}
}

// Any 2xx is success; 408, 429 and 5xx are worth retrying; other 4xx are refusals.
func TestPostStatusDecidesRetry(t *testing.T) {
	cases := []struct {
		status    int
		wantRetry bool
		wantErr   bool
	}{
		{200, false, false},
		{201, false, false},
		{202, false, false},
		{204, false, false},
		{408, true, true},
		{429, true, true},
		{500, true, true},
		{502, true, true},
		{503, true, true},
		{504, true, true},
		{400, false, true},
		{401, false, true},
		{403, false, true},
		{404, false, true},
		{409, false, true},
		{422, false, true},
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			srv, got := receiver(t, c.status, "answer "+http.StatusText(c.status))
			resp, retry, err := webhook.NewClient().Post(context.Background(), srv.URL, secret, body, nil, 5*time.Second)
			<-got
			if retry != c.wantRetry || (err != nil) != c.wantErr {
				t.Fatalf("HTTP %d: retry %v, err %v; want retry %v, error %v", c.status, retry, err, c.wantRetry, c.wantErr)
			}
			if resp.Status != c.status {
				t.Errorf("Response.Status %d, want %d", resp.Status, c.status)
			}
			if c.status != http.StatusNoContent && resp.Body != "answer "+http.StatusText(c.status) {
				t.Errorf("Response.Body %q, want the receiver's answer", resp.Body)
			}
			if err != nil && !strings.Contains(err.Error(), strconv.Itoa(c.status)) {
				t.Errorf("error %q does not name the status", err)
			}
		})
	}
}

// A receiver slower than the timeout is worth retrying, and Post does not wait for it.
func TestPostTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body to its end lets the server notice the client hanging up.
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	start := time.Now()
	_, retry, err := webhook.NewClient().Post(context.Background(), srv.URL, secret, body, nil, 150*time.Millisecond)
	if err == nil || !retry {
		t.Fatalf("slow receiver: retry %v, err %v; want a retryable error", retry, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want it to wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Post took %s with a 150ms timeout", d)
	}
}

// Nobody listening is a network error: retry later.
func TestPostToClosedPortIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	resp, retry, err := webhook.NewClient().Post(context.Background(), "http://"+addr+"/hook", secret, body, nil, 2*time.Second)
	if err == nil || !retry {
		t.Fatalf("closed port: retry %v, err %v; want a retryable error", retry, err)
	}
	if resp.Status != 0 {
		t.Errorf("Response.Status %d without a response", resp.Status)
	}
}

// A caller's cancelled context ends the request at once.
func TestPostHonoursCallerContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := webhook.NewClient().Post(ctx, srv.URL, secret, body, nil, 0)
	if err == nil {
		t.Fatal("Post succeeded against a receiver that never answers")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Post took %s after its context ended", d)
	}
}

// An answer's body is kept for the timeline, but only its start.
func TestPostResponseBodyIsBounded(t *testing.T) {
	for _, status := range []int{200, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			chunk := []byte(strings.Repeat("x", 1023) + "\n")
			for range 1024 { // 1 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		resp, _, _ := webhook.NewClient().Post(context.Background(), srv.URL, secret, body, nil, 5*time.Second)
		srv.Close()
		if resp.Status != status {
			t.Errorf("status %d, want %d", resp.Status, status)
		}
		if n := len(resp.Body); n == 0 || n > 4<<10 {
			t.Errorf("HTTP %d: Response.Body holds %d bytes, want some and at most 4 KiB", status, n)
		}
		if !strings.HasPrefix(resp.Body, strings.Repeat("x", 1023)+"\n") {
			t.Errorf("HTTP %d: Response.Body is not the start of the answer: %.40q", status, resp.Body)
		}
	}
}

// A redirect is not the receiver accepting the POST. Following it would turn the POST into
// a GET (301, 302, 303) whose 200 would count as a rollback that never happened.
func TestPostDoesNotFollowRedirects(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			got := make(chan string, 4)
			mux := http.NewServeMux()
			mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
				got <- r.Method + " " + r.URL.Path
				http.Redirect(w, r, "/elsewhere", status)
			})
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
				got <- r.Method + " " + r.URL.Path
				_, _ = io.WriteString(w, "<html>welcome</html>")
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			resp, retry, err := webhook.NewClient().Post(context.Background(), srv.URL+"/hook", secret, body, nil, 5*time.Second)
			if err == nil {
				t.Fatalf("HTTP %d redirect counted as success (response %+v)", status, resp)
			}
			if retry {
				t.Errorf("HTTP %d: retry true; a redirect is a misconfigured URL and will redirect again", status)
			}
			if resp.Status != status {
				t.Errorf("Response.Status %d, want %d", resp.Status, status)
			}
			if first := <-got; first != "POST /hook" {
				t.Errorf("first request %q, want POST /hook", first)
			}
			select {
			case r := <-got:
				t.Errorf("the redirect was followed: %s", r)
			default:
			}
		})
	}
}
