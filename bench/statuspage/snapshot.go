package main

import (
	"fmt"
	"strings"
	"time"

	"firebreak/statuspage"
)

// synthSnapshot is a realistic page: 20 components in 4 groups, each with a few outages
// over the 90 days, 2 open incidents, 2 maintenances, and incidents past incidents in the
// history, each with three updates of a few sentences. The same arguments give the same
// snapshot.
func synthSnapshot(sequence int64, incidents int, now time.Time) statuspage.Snapshot {
	now = now.UTC().Truncate(time.Second)
	created := now.AddDate(-1, 0, 0)
	s := statuspage.Snapshot{
		Sequence: sequence, GeneratedAt: now,
		Page: statuspage.Page{ID: "benchpage001", Name: "Bench Status", URL: "https://status.bench.test", TimeZone: "Europe/Berlin"},
	}
	for g := range 4 {
		s.Groups = append(s.Groups, statuspage.Group{ID: fmt.Sprintf("g%d", g), Name: fmt.Sprintf("Region %d", g+1),
			Position: g + 1, CreatedAt: created, UpdatedAt: created})
	}
	for c := range 20 {
		comp := statuspage.Component{
			ID: fmt.Sprintf("c%02d", c), Name: fmt.Sprintf("Service %02d", c), GroupID: fmt.Sprintf("g%d", c%4),
			Status: statuspage.Operational, Description: "Handles requests of service " + fmt.Sprint(c),
			Position: c/4 + 1, Showcase: true, CreatedAt: created, UpdatedAt: created,
		}
		for k := range 6 {
			from := now.Add(-time.Duration(3+k*14+c%7) * 24 * time.Hour).Add(time.Duration(c) * time.Hour)
			until := from.Add(time.Duration(20+k*15) * time.Minute)
			st := statuspage.PartialOutage
			if k%3 == 0 {
				st = statuspage.MajorOutage
			}
			comp.StatusPeriods = append(comp.StatusPeriods, statuspage.StatusPeriod{Status: st, From: from, Until: &until})
		}
		s.Components = append(s.Components, comp)
	}
	s.Components[3].Status = statuspage.PartialOutage
	s.Components[3].StatusPeriods = append(s.Components[3].StatusPeriods, statuspage.StatusPeriod{Status: statuspage.PartialOutage, From: now.Add(-40 * time.Minute)})

	body := strings.Repeat("We are looking into elevated error rates and will post more as we learn it. ", 2)
	for i := range incidents {
		at := now.Add(-time.Duration(incidents-i) * 3 * time.Hour)
		inc := statuspage.Incident{
			ID: fmt.Sprintf("inc%05d", i), Name: fmt.Sprintf("Elevated errors on service %02d (%d)", i%20, i),
			Impact: statuspage.ImpactMinor, CreatedAt: at, ComponentIDs: []string{fmt.Sprintf("c%02d", i%20)},
		}
		open := i >= incidents-2
		steps := []string{"investigating", "identified", "resolved"}
		if open {
			steps = steps[:2]
			inc.Impact = statuspage.ImpactMajor
		}
		for k, st := range steps {
			inc.Updates = append(inc.Updates, statuspage.Update{ID: fmt.Sprintf("u%05d-%d", i, k), Status: st, Body: body,
				DisplayAt: at.Add(time.Duration(k) * 20 * time.Minute)})
		}
		last := inc.Updates[len(inc.Updates)-1].DisplayAt
		inc.UpdatedAt = last
		inc.Status = statuspage.IncidentStatus(steps[len(steps)-1])
		if !open {
			inc.ResolvedAt = &last
		}
		s.Incidents = append(s.Incidents, inc)
	}
	for m := range 2 {
		from := now.Add(time.Duration(24*(m+1)) * time.Hour)
		s.Maintenances = append(s.Maintenances, statuspage.Maintenance{
			ID: fmt.Sprintf("mnt%d", m), Name: fmt.Sprintf("Database maintenance %d", m+1), Status: statuspage.Scheduled,
			Impact: statuspage.ImpactMaintenance, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
			ScheduledFor: from, ScheduledUntil: from.Add(2 * time.Hour), ComponentIDs: []string{"c01"},
			Updates: []statuspage.Update{{ID: fmt.Sprintf("mu%d", m), Status: "scheduled", Body: "Planned work on the primary database.", DisplayAt: now.Add(-time.Hour)}},
		})
	}
	return s
}
