package mix

import (
	"fmt"
	"time"
)

// Storm is an alert storm: Total new alerts spread evenly over Groups groups, each group's
// alerts in one notification — what Alertmanager sends when a whole fleet starts failing at
// once and each group's first notification carries all of its alerts. Its groups are named
// apart from the generators' and the prefill's. Resolved is its end: the same notifications
// with every alert resolved.
type Storm struct {
	batches  []Batch
	total    int
	now      func() time.Time
	startsAt time.Time // every alert's, as rendered
}

// NewStorm makes a storm of total alerts over groups groups; the first total mod groups
// groups get one alert more. Every alert started a minute before now (time.Now when nil).
func NewStorm(run string, total, groups int, now func() time.Time) (*Storm, error) {
	if total < 1 || groups < 1 || groups > total {
		return nil, fmt.Errorf("storm of %d alerts over %d groups: want at least one alert per group", total, groups)
	}
	if now == nil {
		now = time.Now
	}
	startsAt := now().Add(-time.Minute)
	s := &Storm{total: total, now: now, startsAt: startsAt.UTC().Truncate(time.Millisecond)}
	for i := range groups {
		gr := newGroup("st-", i, run)
		n := total / groups
		if i < total%groups {
			n++
		}
		picks := make([]pick, n)
		for j := range picks {
			picks[j] = pick{a: newAlert(gr, startsAt), kind: New}
		}
		s.batches = append(s.batches, Batch{g: gr, picks: picks})
	}
	return s, nil
}

// Resolved is the storm's end, what Alertmanager sends when the whole fleet recovers at
// once: the same notifications, one per group, every alert resolved with its own
// fingerprint and startsAt. They all end a second before now (the storm's clock), or when
// they started if that is later: an end in the past is what makes a postable alert resolved
// in Alertmanager's API, and one before the start would be a sender's mistake.
func (s *Storm) Resolved() *Storm {
	ends := s.now().Add(-time.Second).UTC().Truncate(time.Millisecond)
	if ends.Before(s.startsAt) {
		ends = s.startsAt
	}
	r := &Storm{total: s.total, now: s.now, startsAt: s.startsAt}
	for _, b := range s.batches {
		picks := make([]pick, len(b.picks))
		for j, p := range b.picks {
			picks[j] = pick{a: p.a, kind: Resolve}
		}
		r.batches = append(r.batches, Batch{g: b.g, picks: picks, ends: ends})
	}
	return r
}

// Total is the number of alerts in the storm.
func (s *Storm) Total() int { return s.total }

// Notifications is the number of notifications: one per group.
func (s *Storm) Notifications() int { return len(s.batches) }

// Batch is notification k's alerts.
func (s *Storm) Batch(k int) Batch { return s.batches[k] }

// Bodies renders every notification in format f, in order.
func (s *Storm) Bodies(f Format) [][]byte {
	out := make([][]byte, len(s.batches))
	for k, b := range s.batches {
		out[k] = b.AppendTo(nil, f)
	}
	return out
}
