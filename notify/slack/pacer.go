package slack

import (
	"math/rand/v2"
	"sync"
	"time"
)

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
