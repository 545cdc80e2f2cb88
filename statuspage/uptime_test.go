package statuspage

import (
	"math"
	"testing"
	"time"
)

func period(st ComponentStatus, from, until time.Time) StatusPeriod {
	return StatusPeriod{Status: st, From: from, Until: &until}
}

func TestUptimeCountsMajorFullyAndPartialAtThreeTenths(t *testing.T) {
	now := time.Date(2024, 5, 10, 23, 59, 59, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2024, 5, d, 0, 0, 0, 0, time.UTC) }
	c := &Component{CreatedAt: day(1).AddDate(-1, 0, 0), StatusPeriods: []StatusPeriod{
		period(MajorOutage, day(3).Add(10*time.Hour), day(3).Add(12*time.Hour)),                // 2 h down
		period(PartialOutage, day(4).Add(10*time.Hour), day(4).Add(20*time.Hour)),              // 10 h × 0.3 = 3 h
		period(DegradedPerformance, day(5), day(5).Add(24*time.Hour)),                          // up
		period(UnderMaintenance, day(6).Add(time.Hour), day(6).Add(5*time.Hour)),               // up
		period(MajorOutage, day(7).Add(23*time.Hour), day(8).Add(1*time.Hour)),                 // 1 h on each day
		period(PartialOutage, day(9).Add(10*time.Hour), day(9).Add(11*time.Hour)),              // overlapped by
		period(MajorOutage, day(9).Add(10*time.Hour+30*time.Minute), day(9).Add(11*time.Hour)), // the worst counts
	}}
	u := uptime(c, now, time.UTC)
	if len(u.Days) != UptimeDays {
		t.Fatalf("%d days, want %d", len(u.Days), UptimeDays)
	}
	last := len(u.Days) - 1 // 10 May
	want := map[int]struct {
		worst ComponentStatus
		down  time.Duration
	}{
		3:  {MajorOutage, 2 * time.Hour},
		4:  {PartialOutage, 3 * time.Hour},
		5:  {DegradedPerformance, 0},
		6:  {UnderMaintenance, 0},
		7:  {MajorOutage, time.Hour},
		8:  {MajorOutage, time.Hour},
		9:  {MajorOutage, 30*time.Minute + 9*time.Minute}, // 30 min partial × 0.3 + 30 min major
		10: {Operational, 0},
	}
	for d, w := range want {
		got := u.Days[last-(10-d)]
		if got.Date != day(d) {
			t.Fatalf("day %d is %v", d, got.Date)
		}
		if got.Worst != w.worst || got.Down.Round(time.Second) != w.down {
			t.Errorf("%d May: worst %s, down %v; want %s, %v", d, got.Worst, got.Down, w.worst, w.down)
		}
		if d < 10 {
			if ratio := 1 - w.down.Hours()/24; math.Abs(got.Ratio-ratio) > 1e-9 {
				t.Errorf("%d May: uptime %v, want %v", d, got.Ratio, ratio)
			}
		}
	}
	totalDown := (2+3+1+1)*time.Hour + 39*time.Minute
	seen := 89*24*time.Hour + now.Sub(day(10))
	if ratio := 1 - totalDown.Seconds()/seen.Seconds(); math.Abs(u.Ratio-ratio) > 1e-9 {
		t.Errorf("90-day uptime %v, want %v", u.Ratio, ratio)
	}
	if len(u.Problems) != 7 || u.Problems[0].Date != day(9) {
		t.Errorf("problem days: %d, newest %v; want 7, newest 9 May", len(u.Problems), u.Problems[0].Date)
	}
}

func TestUptimeOfAnOngoingOutageCountsUntilTheSnapshot(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	c := &Component{CreatedAt: now.AddDate(-1, 0, 0), StatusPeriods: []StatusPeriod{
		{Status: MajorOutage, From: now.Add(-3 * time.Hour)}, // still going
	}}
	today := uptime(c, now, time.UTC).Days[UptimeDays-1]
	// 3 h down of the 12 h the day has had so far.
	if today.Down != 3*time.Hour || today.Ratio != 0.75 || today.Worst != MajorOutage {
		t.Errorf("today: %+v, want 3 h down, 75 %%", today)
	}
}

func TestUptimeBeforeTheStartDateHasNoData(t *testing.T) {
	loc, _ := time.LoadLocation("America/Chicago")
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, loc)
	c := &Component{CreatedAt: now.AddDate(-1, 0, 0), StartDate: "2024-05-08"}
	u := uptime(c, now, loc)
	for i, d := range u.Days {
		wantNoData := i < UptimeDays-3
		if d.NoData != wantNoData {
			t.Fatalf("day %s: no data = %v, want %v", d.Date.Format(time.DateOnly), d.NoData, wantNoData)
		}
	}
	if u.Ratio != 1 || len(u.Problems) != 0 {
		t.Errorf("uptime %v with %d problems, want 1 and none", u.Ratio, len(u.Problems))
	}
	// Without a start date, the day the component was created starts its history.
	c = &Component{CreatedAt: time.Date(2024, 5, 9, 20, 0, 0, 0, loc)}
	u = uptime(c, now, loc)
	if !u.Days[UptimeDays-3].NoData || u.Days[UptimeDays-2].NoData {
		t.Errorf("created 9 May 20:00: want 8 May without data and 9 May with")
	}
}

// Days start at the page zone's midnight; the day clocks change has 23 hours.
func TestUptimeDaysFollowThePageZone(t *testing.T) {
	loc, _ := time.LoadLocation("America/Chicago")
	now := time.Date(2024, 3, 12, 12, 0, 0, 0, loc)
	dst := time.Date(2024, 3, 10, 0, 0, 0, 0, loc) // 2:00 → 3:00
	c := &Component{CreatedAt: now.AddDate(-1, 0, 0), StatusPeriods: []StatusPeriod{
		// 22:00–02:00 local across midnight of 10→11 March: 2 h on each day.
		period(MajorOutage, time.Date(2024, 3, 10, 22, 0, 0, 0, loc), time.Date(2024, 3, 11, 2, 0, 0, 0, loc)),
	}}
	u := uptime(c, now, loc)
	d10, d11 := u.Days[UptimeDays-3], u.Days[UptimeDays-2]
	if !d10.Date.Equal(dst) || d10.Down != 2*time.Hour || d11.Down != 2*time.Hour {
		t.Fatalf("10 Mar %v down %v, 11 Mar down %v; want 2 h each", d10.Date, d10.Down, d11.Down)
	}
	if want := 1 - 2.0/23; math.Abs(d10.Ratio-want) > 1e-9 {
		t.Errorf("10 March (23 h long): uptime %v, want %v", d10.Ratio, want)
	}
}

func TestPercentNeverRoundsUpToHundred(t *testing.T) {
	for r, want := range map[float64]string{1: "100.00 %", 0.99999: "99.99 %", 0.5: "50.00 %", 0.123456: "12.34 %"} {
		if got := percent(r); got != want {
			t.Errorf("percent(%v) = %q, want %q", r, got, want)
		}
	}
}
