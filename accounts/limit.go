package accounts

import (
	"strings"
	"sync"
	"time"
)

// Limits bounds failed logins within a window, per username and per client address. They
// are counted in memory, per replica: a guesser spread over replicas gets each replica's
// allowance, which with bcrypt's cost still keeps guessing slow.
type Limits struct {
	PerUser    int
	PerAddress int
	Window     time.Duration
}

// DefaultLimits allow 10 failures per user and 30 per address in 15 minutes.
var DefaultLimits = Limits{PerUser: 10, PerAddress: 30, Window: 15 * time.Minute}

type limiter struct {
	l      Limits
	mu     sync.Mutex
	byUser map[string][]time.Time
	byAddr map[string][]time.Time
}

func newLimiter(l Limits) *limiter {
	return &limiter{l: l, byUser: map[string][]time.Time{}, byAddr: map[string][]time.Time{}}
}

// recent drops the failures older than the window and returns what is left.
func (l *limiter) recent(m map[string][]time.Time, key string, now time.Time) []time.Time {
	list := m[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= l.l.Window {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(m, key)
		return nil
	}
	m[key] = list
	return list
}

func (l *limiter) allow(user, addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(l.byUser, strings.ToLower(user), now)) < l.l.PerUser &&
		len(l.recent(l.byAddr, addr, now)) < l.l.PerAddress
}

func (l *limiter) fail(user, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	user = strings.ToLower(user)
	l.byUser[user] = append(l.recent(l.byUser, user, now), now)
	l.byAddr[addr] = append(l.recent(l.byAddr, addr, now), now)
}

// succeed forgets the user's failures: the rightful owner got in.
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byUser, strings.ToLower(user))
}
