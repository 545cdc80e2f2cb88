package mix

import (
	"fmt"
	"time"
)

// Storm is an alert storm: Total new alerts spread evenly over Groups groups, each group's
// alerts in one notification — what Alertmanager sends when a whole fleet starts failing at
// once and each group's first notification carries all of its alerts. Its groups are named
// apart from the generators' and the prefill's.
type Storm struct {
	batches []Batch
	total   int
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
	s := &Storm{total: total}
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
