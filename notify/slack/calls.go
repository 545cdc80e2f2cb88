package slack

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/outbox"
)

// apiError is the error code Slack answered a call with (channel_not_found, not_in_channel,
// name_taken …), or "" when the call failed otherwise.
func apiError(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// retryable reports whether a failed call is worth trying again: Slack down, 5xx, 429,
// network errors and timeouts are; a request Slack refused (channel_not_found,
// invalid_auth …) is not, except Slack's own "try again" codes.
func retryable(err error) bool {
	var rl *slackapi.RateLimitedError
	var sc slackapi.StatusCodeError
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		return true
	case errors.As(err, &sc):
		return sc.Code >= 500 || sc.Code == 408 || sc.Code == 429
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	switch apiError(err) {
	case "":
		// Not an answer from Slack at all (connection refused, a body that is not JSON).
		return true
	case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return true
	}
	return false
}

// notSent reports whether Slack certainly did not act on a call that failed with err: it
// answered, and with a refusal or a rate limit. A timeout, a dropped connection or a 5xx
// leave it unknown.
func notSent(err error) bool {
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return true
	}
	return apiError(err) != ""
}

// call runs one Web API call of method on channel, waiting out a rate limit Slack asked for
// earlier. A 429 is remembered for the method and channel and returned as
// outbox.RetryAfter, so the job comes back when Slack said.
func (s *Service) call(method, channel string, fn func() error) error {
	if err := s.paced(method, channel); err != nil {
		return err
	}
	err := fn()
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		wait := max(rl.RetryAfter, time.Second)
		s.pace.limited(method, channel, wait)
		return outbox.RetryAfter(wait, fmt.Errorf("%s on %s: %w", method, channel, err))
	}
	if err != nil {
		return fmt.Errorf("%s on %s: %w", method, channel, err)
	}
	return nil
}

// pacer remembers, per Web API method and channel, until when Slack asked this process to
// wait (a 429's Retry-After). A job about to call a method on a channel that is waited on
// does not call it: it is deferred to the end of the wait, so one rate-limited channel
// holds back only its own messages, and they do not keep hitting Slack while it waits.
type pacer struct {
	clock func() time.Time
	mu    sync.Mutex
	until map[string]time.Time
}

func newPacer(clock func() time.Time) *pacer {
	return &pacer{clock: clock, until: map[string]time.Time{}}
}

func paceKey(method, channel string) string { return method + "\x00" + channel }

// wait is how long a call of method on channel must still wait; 0 when it may go now. The
// wait carries up to a quarter of a second of jitter, so the jobs waiting on one channel do
// not all come back in the same instant.
func (p *pacer) wait(method, channel string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := paceKey(method, channel)
	until, ok := p.until[key]
	if !ok {
		return 0
	}
	d := until.Sub(p.clock())
	if d <= 0 {
		delete(p.until, key)
		return 0
	}
	return d + rand.N(250*time.Millisecond)
}

// limited records that Slack asked to wait d before calling method on channel again.
func (p *pacer) limited(method, channel string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := paceKey(method, channel)
	if until := p.clock().Add(d); until.After(p.until[key]) {
		p.until[key] = until
	}
}
