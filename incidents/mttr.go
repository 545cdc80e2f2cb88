package incidents

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// GroupBy slices the MTTR report.
type GroupBy string

// The ways to slice the report; All puts every incident in one group.
const (
	All               GroupBy = ""
	ByService         GroupBy = "service"
	BySeverity        GroupBy = "severity"
	ByEnvironment     GroupBy = "environment"
	ByWeek            GroupBy = "week"
	ByMonth           GroupBy = "month"
	defaultMTTRPeriod         = 30 * 24 * time.Hour
)

// ParseGroupBy accepts the group_by values of the API.
func ParseGroupBy(s string) (GroupBy, error) {
	switch g := GroupBy(s); g {
	case All, ByService, BySeverity, ByEnvironment, ByWeek, ByMonth:
		return g, nil
	}
	return "", reportQueryError(fmt.Sprintf("unknown group_by %q (want service, severity, environment, week or month)", s))
}

// reportQueryError is a bad MTTR report query, told in the report's own terms (not as an
// invalid incident); it counts as ErrInvalid, so the HTTP layer answers 400.
type reportQueryError string

func (e reportQueryError) Error() string        { return "MTTR report: " + string(e) }
func (e reportQueryError) Is(target error) bool { return target == ErrInvalid }

// Measure summarises one duration over the incidents that reached it.
type Measure struct {
	Count       int      `json:"count"`
	MeanSeconds *float64 `json:"mean_seconds"`
	P50Seconds  *float64 `json:"p50_seconds"`
	P90Seconds  *float64 `json:"p90_seconds"`
}

// Group is one slice of the report.
type Group struct {
	Key               string  `json:"key"`
	Incidents         int     `json:"incidents"`
	TimeToDetect      Measure `json:"time_to_detect"`
	TimeToAcknowledge Measure `json:"time_to_acknowledge"`
	TimeToMitigate    Measure `json:"time_to_mitigate"`
	TimeToRecover     Measure `json:"time_to_recover"`
}

// Report is the MTTR report of incidents opened in [Since, Until).
type Report struct {
	GroupBy GroupBy   `json:"group_by"`
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Groups  []Group   `json:"groups"`
}

// MTTR builds the report for incidents opened in [since, until). A zero until is now; a
// zero since is 30 days before until.
func (m *Manager) MTTR(ctx context.Context, groupBy GroupBy, since, until time.Time) (Report, error) {
	if until.IsZero() {
		until = m.Now()
	}
	if since.IsZero() {
		since = until.Add(-defaultMTTRPeriod)
	}
	if !since.Before(until) {
		return Report{}, reportQueryError("since must be before until")
	}
	incs, err := listMeasured(ctx, m.db.R, since, until)
	if err != nil {
		return Report{}, err
	}
	return BuildReport(incs, groupBy, since.UTC(), until.UTC()), nil
}

// BuildReport computes the report from incidents. An incident still open counts only in
// the measures it has reached: one never acknowledged is left out of time to acknowledge.
func BuildReport(incs []Incident, groupBy GroupBy, since, until time.Time) Report {
	type samples struct {
		n                  int
		detect, ack, mitig []float64
		recover            []float64
	}
	byKey := map[string]*samples{}
	var keys []string
	for _, inc := range incs {
		key := groupKeyOf(inc, groupBy)
		s := byKey[key]
		if s == nil {
			s = &samples{}
			byKey[key] = s
			keys = append(keys, key)
		}
		s.n++
		s.detect = append(s.detect, seconds(inc.OpenedAt.Sub(inc.ImpactStartedAt)))
		if inc.AcknowledgedAt != nil {
			s.ack = append(s.ack, seconds(inc.AcknowledgedAt.Sub(inc.OpenedAt)))
		}
		if inc.MitigatedAt != nil {
			s.mitig = append(s.mitig, seconds(inc.MitigatedAt.Sub(inc.ImpactStartedAt)))
		}
		if inc.ResolvedAt != nil {
			s.recover = append(s.recover, seconds(inc.ResolvedAt.Sub(inc.ImpactStartedAt)))
		}
	}
	sort.Strings(keys)
	r := Report{GroupBy: groupBy, Since: since, Until: until, Groups: []Group{}}
	for _, k := range keys {
		s := byKey[k]
		r.Groups = append(r.Groups, Group{Key: k, Incidents: s.n, TimeToDetect: measure(s.detect),
			TimeToAcknowledge: measure(s.ack), TimeToMitigate: measure(s.mitig), TimeToRecover: measure(s.recover)})
	}
	return r
}

func groupKeyOf(inc Incident, g GroupBy) string {
	switch g {
	case ByService:
		return inc.Service
	case BySeverity:
		return string(inc.Severity)
	case ByEnvironment:
		return inc.Environment
	case ByWeek:
		y, w := inc.OpenedAt.UTC().ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case ByMonth:
		return inc.OpenedAt.UTC().Format("2006-01")
	}
	return "all"
}

// seconds turns a duration into seconds, never negative: clocks of different hosts can put
// an alert's start a little after the incident opened.
func seconds(d time.Duration) float64 { return math.Max(0, d.Seconds()) }

// measure computes count, mean and nearest-rank p50 and p90.
func measure(xs []float64) Measure {
	m := Measure{Count: len(xs)}
	if len(xs) == 0 {
		return m
	}
	sort.Float64s(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	p50, p90 := percentile(xs, 0.5), percentile(xs, 0.9)
	m.MeanSeconds, m.P50Seconds, m.P90Seconds = &mean, &p50, &p90
	return m
}

// percentile is the nearest-rank percentile of sorted xs.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}
