package incidents

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// never marks a moment an incident has not reached.
const never = time.Duration(-1)

// measured builds an incident opened at opened whose impact began detect earlier, that was
// acknowledged ack after opening, and mitigated and resolved mitigate and recover after
// impact began. never leaves a moment unset.
func measured(service string, sev Severity, env string, opened time.Time, detect, ack, mitigate, recover time.Duration) Incident {
	impact := opened.Add(-detect)
	inc := Incident{Title: service + " is down", Status: Observing, Severity: sev, Service: service, Environment: env,
		ImpactStartedAt: impact, OpenedAt: opened, UpdatedAt: opened}
	if ack != never {
		inc.Status, inc.AcknowledgedAt = Responding, at(opened.Add(ack))
	}
	if mitigate != never {
		inc.MitigatedAt = at(impact.Add(mitigate))
	}
	if recover != never {
		inc.Status, inc.ResolvedAt = Resolved, at(impact.Add(recover))
	}
	return inc
}

// figures is the expected summary of one measure; a zero count expects no mean or
// percentiles at all.
type figures struct {
	count          int
	mean, p50, p90 float64
}

var none = figures{}

type groupFigures struct {
	key                          string
	incidents                    int
	detect, ack, mitig, recovery figures
}

// fiveIncidents spans two ISO weeks of November, the last day of November in New York (already
// December in UTC) and New Year's Day 2027, which ISO counts in 2026's week 53.
func fiveIncidents() []Incident {
	newYork := time.FixedZone("EST", -5*60*60)
	return []Incident{
		// 1: resolved; Monday of 2026-W47.
		measured("checkout", Sev1, "production", time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC),
			60*time.Second, 120*time.Second, 600*time.Second, 1200*time.Second),
		// 2: acknowledged, still open; Sunday night, last minutes of 2026-W47.
		measured("checkout", Sev2, "staging", time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC),
			120*time.Second, 300*time.Second, never, never),
		// 3: mitigated by a rollback before anyone acknowledged, still open; 2026-W48.
		measured("search", Sev1, "production", time.Date(2026, 11, 23, 0, 10, 0, 0, time.UTC),
			30*time.Second, never, 900*time.Second, never),
		// 4: just opened, nothing reached yet, declared at the moment impact began.
		measured("search", Sev2, "production", time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC),
			0, never, never, never),
		// 5: resolved; 23:30 on 30 November in New York is 04:30 on 1 December in UTC.
		measured("payments", Sev1, "staging", time.Date(2026, 11, 30, 23, 30, 0, 0, newYork),
			90*time.Second, 60*time.Second, 300*time.Second, 3600*time.Second),
	}
}

func TestBuildReportGroups(t *testing.T) {
	cases := []struct {
		by   GroupBy
		want []groupFigures
	}{
		{by: All, want: []groupFigures{
			{key: "all", incidents: 5,
				detect:   figures{5, 60, 60, 120},   // 0 30 60 90 120
				ack:      figures{3, 160, 120, 300}, // 60 120 300
				mitig:    figures{3, 600, 600, 900}, // 300 600 900
				recovery: figures{2, 2400, 1200, 3600}},
		}},
		{by: ByService, want: []groupFigures{
			{key: "checkout", incidents: 2,
				detect: figures{2, 90, 60, 120}, ack: figures{2, 210, 120, 300},
				mitig: figures{1, 600, 600, 600}, recovery: figures{1, 1200, 1200, 1200}},
			{key: "payments", incidents: 1,
				detect: figures{1, 90, 90, 90}, ack: figures{1, 60, 60, 60},
				mitig: figures{1, 300, 300, 300}, recovery: figures{1, 3600, 3600, 3600}},
			{key: "search", incidents: 2,
				detect: figures{2, 15, 0, 30}, ack: none,
				mitig: figures{1, 900, 900, 900}, recovery: none},
		}},
		{by: BySeverity, want: []groupFigures{
			{key: "sev1", incidents: 3,
				detect: figures{3, 60, 60, 90}, ack: figures{2, 90, 60, 120},
				mitig: figures{3, 600, 600, 900}, recovery: figures{2, 2400, 1200, 3600}},
			{key: "sev2", incidents: 2,
				detect: figures{2, 60, 0, 120}, ack: figures{1, 300, 300, 300},
				mitig: none, recovery: none},
		}},
		{by: ByEnvironment, want: []groupFigures{
			{key: "production", incidents: 3,
				detect: figures{3, 30, 30, 60}, ack: figures{1, 120, 120, 120},
				mitig: figures{2, 750, 600, 900}, recovery: figures{1, 1200, 1200, 1200}},
			{key: "staging", incidents: 2,
				detect: figures{2, 105, 90, 120}, ack: figures{2, 180, 60, 300},
				mitig: figures{1, 300, 300, 300}, recovery: figures{1, 3600, 3600, 3600}},
		}},
		{by: ByWeek, want: []groupFigures{
			{key: "2026-W47", incidents: 2,
				detect: figures{2, 90, 60, 120}, ack: figures{2, 210, 120, 300},
				mitig: figures{1, 600, 600, 600}, recovery: figures{1, 1200, 1200, 1200}},
			{key: "2026-W48", incidents: 1,
				detect: figures{1, 30, 30, 30}, ack: none, mitig: figures{1, 900, 900, 900}, recovery: none},
			{key: "2026-W49", incidents: 1,
				detect: figures{1, 90, 90, 90}, ack: figures{1, 60, 60, 60},
				mitig: figures{1, 300, 300, 300}, recovery: figures{1, 3600, 3600, 3600}},
			{key: "2026-W53", incidents: 1,
				detect: figures{1, 0, 0, 0}, ack: none, mitig: none, recovery: none},
		}},
		{by: ByMonth, want: []groupFigures{
			{key: "2026-11", incidents: 3,
				detect: figures{3, 70, 60, 120}, ack: figures{2, 210, 120, 300},
				mitig: figures{2, 750, 600, 900}, recovery: figures{1, 1200, 1200, 1200}},
			{key: "2026-12", incidents: 1,
				detect: figures{1, 90, 90, 90}, ack: figures{1, 60, 60, 60},
				mitig: figures{1, 300, 300, 300}, recovery: figures{1, 3600, 3600, 3600}},
			{key: "2027-01", incidents: 1,
				detect: figures{1, 0, 0, 0}, ack: none, mitig: none, recovery: none},
		}},
	}
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		name := string(tc.by)
		if name == "" {
			name = "all"
		}
		t.Run(name, func(t *testing.T) {
			r := BuildReport(fiveIncidents(), tc.by, since, until)
			if r.GroupBy != tc.by || !r.Since.Equal(since) || !r.Until.Equal(until) {
				t.Errorf("report header %q %s %s, want %q %s %s", r.GroupBy, r.Since, r.Until, tc.by, since, until)
			}
			assertGroups(t, r.Groups, tc.want)
		})
	}
}

func TestNearestRankPercentiles(t *testing.T) {
	// Ten incidents detected after 1 to 10 seconds, listed out of order.
	opened := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	var incs []Incident
	for i, secs := range []int{7, 3, 10, 1, 5, 9, 2, 8, 6, 4} {
		d := time.Duration(secs) * time.Second
		incs = append(incs, measured("checkout", Sev2, "production", opened.Add(time.Duration(i)*time.Minute), d, d, d, d))
	}
	r := BuildReport(incs, All, opened, opened.Add(time.Hour))
	all := figures{10, 5.5, 5, 9}
	assertGroups(t, r.Groups, []groupFigures{{key: "all", incidents: 10, detect: all, ack: all, mitig: all, recovery: all}})

	// Nearest rank never interpolates: with four values p50 is the second, not 2.5.
	r = BuildReport(incs[:4], All, opened, opened.Add(time.Hour)) // 7 3 10 1
	four := figures{4, 5.25, 3, 10}
	assertGroups(t, r.Groups, []groupFigures{{key: "all", incidents: 4, detect: four, ack: four, mitig: four, recovery: four}})
}

func TestOpenIncidentCountsOnlyInTheMeasuresItReached(t *testing.T) {
	opened := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	incs := []Incident{
		measured("checkout", Sev1, "production", opened, 2*time.Minute, 5*time.Minute, 20*time.Minute, 40*time.Minute),
		// Still observing: nobody acknowledged, impact not over.
		measured("checkout", Sev1, "production", opened.Add(time.Hour), 4*time.Minute, never, never, never),
	}
	r := BuildReport(incs, ByService, opened, opened.Add(2*time.Hour))
	assertGroups(t, r.Groups, []groupFigures{{key: "checkout", incidents: 2,
		detect:   figures{2, 180, 120, 240},
		ack:      figures{1, 300, 300, 300},
		mitig:    figures{1, 1200, 1200, 1200},
		recovery: figures{1, 2400, 2400, 2400},
	}})
}

func TestGroupWithNobodyAcknowledgingHasNoFigures(t *testing.T) {
	opened := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	incs := []Incident{
		measured("search", Sev3, "production", opened, time.Minute, never, never, never),
		measured("search", Sev3, "production", opened.Add(time.Hour), time.Minute, never, never, never),
	}
	g := BuildReport(incs, All, opened, opened.Add(2*time.Hour)).Groups
	if len(g) != 1 {
		t.Fatalf("%d groups, want 1", len(g))
	}
	ack := g[0].TimeToAcknowledge
	if ack.Count != 0 || ack.MeanSeconds != nil || ack.P50Seconds != nil || ack.P90Seconds != nil {
		t.Errorf("time to acknowledge %s, want count 0 and no mean, p50 or p90", fmtMeasure(ack))
	}
}

func TestDetectionBeforeImpactCountsAsZero(t *testing.T) {
	// The alert's startsAt came from a host whose clock runs 30 seconds fast.
	opened := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	inc := measured("checkout", Sev2, "production", opened, -30*time.Second, never, never, never)
	r := BuildReport([]Incident{inc}, All, opened, opened.Add(time.Hour))
	assertGroups(t, r.Groups, []groupFigures{{key: "all", incidents: 1, detect: figures{1, 0, 0, 0}}})
}

func TestReportWithoutIncidentsHasAnEmptyGroupList(t *testing.T) {
	r := BuildReport(nil, ByService, time.Time{}, time.Time{})
	if r.Groups == nil || len(r.Groups) != 0 {
		t.Fatalf("groups %#v, want an empty, non-nil list (JSON [])", r.Groups)
	}
}

func TestParseGroupBy(t *testing.T) {
	for _, s := range []string{"", "service", "severity", "environment", "week", "month"} {
		if g, err := ParseGroupBy(s); err != nil || string(g) != s {
			t.Errorf("ParseGroupBy(%q) = %q, %v", s, g, err)
		}
	}
	for _, s := range []string{"team", "Service", "day"} {
		_, err := ParseGroupBy(s)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseGroupBy(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func assertGroups(t *testing.T, got []Group, want []groupFigures) {
	t.Helper()
	var keys []string
	for _, g := range got {
		keys = append(keys, g.Key)
	}
	if len(got) != len(want) {
		t.Fatalf("groups %q, want %d groups", keys, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.key || g.Incidents != w.incidents {
			t.Errorf("group %d is %q with %d incidents, want %q with %d", i, g.Key, g.Incidents, w.key, w.incidents)
		}
		assertMeasure(t, w.key+" time to detect", g.TimeToDetect, w.detect)
		assertMeasure(t, w.key+" time to acknowledge", g.TimeToAcknowledge, w.ack)
		assertMeasure(t, w.key+" time to mitigate", g.TimeToMitigate, w.mitig)
		assertMeasure(t, w.key+" time to recover", g.TimeToRecover, w.recovery)
	}
}

func assertMeasure(t *testing.T, what string, got Measure, want figures) {
	t.Helper()
	if want.count == 0 {
		if got.Count != 0 || got.MeanSeconds != nil || got.P50Seconds != nil || got.P90Seconds != nil {
			t.Errorf("%s: %s, want count 0 and no figures", what, fmtMeasure(got))
		}
		return
	}
	ok := got.Count == want.count && near(got.MeanSeconds, want.mean) && near(got.P50Seconds, want.p50) && near(got.P90Seconds, want.p90)
	if !ok {
		t.Errorf("%s: %s, want count %d mean %g p50 %g p90 %g", what, fmtMeasure(got), want.count, want.mean, want.p50, want.p90)
	}
}

func near(got *float64, want float64) bool { return got != nil && math.Abs(*got-want) < 1e-9 }

func fmtMeasure(m Measure) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("count %d mean %s p50 %s p90 %s", m.Count, f(m.MeanSeconds), f(m.P50Seconds), f(m.P90Seconds))
}

func TestReportQueryErrorsSpeakOfTheReport(t *testing.T) {
	_, err := ParseGroupBy("team")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad group_by is not ErrInvalid (400): %v", err)
	}
	if got := err.Error(); !strings.HasPrefix(got, "MTTR report: unknown group_by \"team\"") || strings.Contains(got, "incident") {
		t.Errorf("message %q does not speak of the report", got)
	}
}
