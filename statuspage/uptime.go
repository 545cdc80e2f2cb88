package statuspage

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// UptimeDays is how many days the uptime bars cover, today included.
const UptimeDays = 90

// partialOutageWeight is how much of a partial outage's time counts as down, as Statuspage
// counts it; major outage counts fully, degraded performance and maintenance not at all.
const partialOutageWeight = 0.3

// Uptime is a component's uptime over the bars' days.
type Uptime struct {
	// Days are oldest first; the last one is the snapshot's day, up to GeneratedAt.
	Days []UptimeDay
	// Ratio is the uptime (0 to 1) over the days with data; 1 when none has data.
	Ratio float64
	// Problems are the days whose worst status was not operational, newest first.
	Problems []UptimeDay
}

// UptimeDay is one bar.
type UptimeDay struct {
	// Date is the day's midnight in the page's zone.
	Date time.Time
	// NoData: the day is before the component existed.
	NoData bool
	// Worst is the worst status the component had during the day.
	Worst ComponentStatus
	// Ratio is the day's uptime, 0 to 1.
	Ratio float64
	// Down is the weighted time down (major outage fully, partial outage at 0.3).
	Down time.Duration
}

// segment is a stretch of time with one status, the worst of the periods covering it.
type segment struct {
	from, until time.Time
	status      ComponentStatus
}

// uptime computes c's bars for the UptimeDays days ending on now's day in loc.
func uptime(c *Component, now time.Time, loc *time.Location) Uptime {
	start := c.CreatedAt
	if c.StartDate != "" {
		if d, err := time.ParseInLocation(time.DateOnly, c.StartDate, loc); err == nil {
			start = d
		}
	}
	segs := flatten(c.StatusPeriods, now)
	local := now.In(loc)
	var u Uptime
	var down, seen time.Duration
	next := 0 // first segment that may overlap the current day
	for i := UptimeDays - 1; i >= 0; i-- {
		dayStart := time.Date(local.Year(), local.Month(), local.Day()-i, 0, 0, 0, 0, loc)
		dayEnd := time.Date(local.Year(), local.Month(), local.Day()-i+1, 0, 0, 0, 0, loc)
		day := UptimeDay{Date: dayStart, Worst: Operational, Ratio: 1}
		from, until := later(dayStart, start), earlier(dayEnd, now)
		if !until.After(from) {
			day.NoData = true
			u.Days = append(u.Days, day)
			continue
		}
		for next < len(segs) && !segs[next].until.After(dayStart) {
			next++
		}
		var weighted float64
		for _, s := range segs[next:] {
			if !s.from.Before(dayEnd) {
				break
			}
			if s.status.rank() > day.Worst.rank() {
				day.Worst = s.status
			}
			overlap := earlier(s.until, until).Sub(later(s.from, from))
			if overlap <= 0 {
				continue
			}
			switch s.status {
			case MajorOutage:
				weighted += float64(overlap)
			case PartialOutage:
				weighted += partialOutageWeight * float64(overlap)
			}
		}
		day.Down = time.Duration(weighted)
		day.Ratio = 1 - weighted/float64(until.Sub(from))
		down += day.Down
		seen += until.Sub(from)
		u.Days = append(u.Days, day)
	}
	u.Ratio = 1
	if seen > 0 {
		u.Ratio = 1 - float64(down)/float64(seen)
	}
	for i := len(u.Days) - 1; i >= 0; i-- {
		if d := u.Days[i]; !d.NoData && d.Worst != Operational {
			u.Problems = append(u.Problems, d)
		}
	}
	return u
}

// flatten turns possibly overlapping periods into disjoint segments in time order, each
// with the worst status covering it, ending no later than now.
func flatten(periods []StatusPeriod, now time.Time) []segment {
	type edge struct {
		at     time.Time
		status ComponentStatus
		delta  int
	}
	edges := make([]edge, 0, 2*len(periods))
	for _, p := range periods {
		until := now
		if p.Until != nil && p.Until.Before(now) {
			until = *p.Until
		}
		if p.Status == Operational || !until.After(p.From) {
			continue
		}
		edges = append(edges, edge{p.From, p.Status, 1}, edge{until, p.Status, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int { return a.at.Compare(b.at) })
	var active [5]int // by rank
	var segs []segment
	for i, e := range edges {
		active[e.status.rank()] += e.delta
		if i+1 < len(edges) && edges[i+1].at.Equal(e.at) {
			continue // apply every edge at one instant before looking
		}
		if i+1 == len(edges) {
			break
		}
		worst := Operational
		for r := len(active) - 1; r > 0; r-- {
			if active[r] > 0 {
				worst = statusOfRank(r)
				break
			}
		}
		if worst == Operational {
			continue
		}
		next := edges[i+1].at
		if n := len(segs); n > 0 && segs[n-1].status == worst && segs[n-1].until.Equal(e.at) {
			segs[n-1].until = next
			continue
		}
		segs = append(segs, segment{from: e.at, until: next, status: worst})
	}
	return segs
}

func statusOfRank(r int) ComponentStatus {
	return [...]ComponentStatus{Operational, UnderMaintenance, DegradedPerformance, PartialOutage, MajorOutage}[r]
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// percent writes an uptime ratio as people read it, cut (not rounded) to two decimals so
// that a day with any downtime never shows as 100 %.
func percent(r float64) string {
	return strconv.FormatFloat(math.Floor(r*10000)/100, 'f', 2, 64) + " %"
}
