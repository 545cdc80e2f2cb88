package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
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
