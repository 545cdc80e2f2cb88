package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"firebreak/text"
)

// Client posts signed JSON. Its answers follow Alertmanager's notifier contract: whether to
// retry, and the error.
type Client struct {
	HTTP  *http.Client
	Clock func() time.Time
	// UserAgent identifies Firebreak to receivers.
	UserAgent string
}

// NewClient returns a client with a bounded default timeout that does not follow
// redirects: following a 301, 302 or 303 turns the POST into a bodiless GET whose 2xx would
// count as a delivery that never happened, so a 3xx is reported as a refusal instead.
func NewClient() *Client {
	// No client-wide timeout: each Post has its own deadline (a hook's configured timeout),
	// which a fixed one here would silently cut short.
	return &Client{HTTP: &http.Client{CheckRedirect: noRedirects}, Clock: time.Now, UserAgent: "Firebreak"}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// DefaultTimeout bounds a Post that names no timeout.
const DefaultTimeout = 30 * time.Second

// Response is what a receiver answered.
type Response struct {
	Status int
	// Body is the start of the answer, for the timeline: valid UTF-8, cut at a character
	// boundary.
	Body string
}

// maxResponseBody bounds what is read of an answer.
const maxResponseBody = 4 << 10

// Post sends body to url signed with secret, with extra headers. A 2xx is success. Network
// errors, timeouts, 408, 429 and 5xx are worth retrying; other 4xx are not (the receiver
// refused this request and will refuse it again).
func (c *Client) Post(ctx context.Context, rawURL string, secret []byte, body []byte, headers map[string]string, timeout time.Duration) (resp Response, retry bool, err error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Errors name the receiver without its secrets: they reach logs and incident timelines.
	shown := Redact(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Response{}, false, fmt.Errorf("build request to %s: %w", shown, hideURL(err, shown))
	}
	// No GetBody: net/http would otherwise replay a request carrying an Idempotency-Key on
	// its own after a dropped connection. Retries are the outbox's decision, each signed
	// anew and recorded as an attempt.
	req.GetBody = nil
	now := c.Clock()
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// Set last, so no caller header can replace the signature.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(secret, now, body))
	hr, err := c.HTTP.Do(req)
	if err != nil {
		// Network errors and timeouts alike: the receiver may answer next time.
		return Response{}, true, fmt.Errorf("post to %s: %w", shown, hideURL(err, shown))
	}
	defer hr.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(hr.Body, maxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(hr.Body, 1<<20))
	resp = Response{Status: hr.StatusCode, Body: cleanSnippet(snippet, len(snippet) == maxResponseBody)}
	switch {
	case hr.StatusCode >= 200 && hr.StatusCode < 300:
		return resp, false, nil
	case hr.StatusCode == http.StatusRequestTimeout, hr.StatusCode == http.StatusTooManyRequests, hr.StatusCode >= 500:
		return resp, true, fmt.Errorf("post to %s: HTTP %d", shown, hr.StatusCode)
	default:
		return resp, false, fmt.Errorf("post to %s: HTTP %d, not retried", shown, hr.StatusCode)
	}
}

// hideURL replaces the URL that net/http and net/url put in their errors with its redacted
// form; the error's chain (timeouts, net.Error) is kept.
func hideURL(err error, shown string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = shown
	}
	return err
}

// cleanSnippet makes the start of an answer storable: valid UTF-8 without NUL bytes. When the
// read stopped at the limit, a character cut in two there is dropped rather than shown as
// U+FFFD.
func cleanSnippet(b []byte, cut bool) string {
	if cut {
		b = dropPartialRune(b)
	}
	return text.Clean(string(b))
}

// dropPartialRune removes an incomplete UTF-8 sequence from the end of b.
func dropPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
