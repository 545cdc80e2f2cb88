package statuspage

import (
	"testing"
	"time"
)

func TestOverallStatusFollowsStatuspage(t *testing.T) {
	type inc struct {
		impact Impact
		status IncidentStatus
	}
	cases := []struct {
		name        string
		components  []ComponentStatus
		incidents   []inc
		maintenance MaintenanceStatus
		want        Status
	}{
		{"no components", nil, nil, "", Status{ImpactNone, "All Systems Operational"}},
		{"no components, open minor incident", nil, []inc{{ImpactMinor, Investigating}}, "", Status{ImpactMinor, "Minor Service Outage"}},
		{"one operational", []ComponentStatus{Operational}, nil, "", Status{ImpactNone, "All Systems Operational"}},
		{"one under maintenance", []ComponentStatus{UnderMaintenance}, nil, "", Status{ImpactMaintenance, "Service Under Maintenance"}},
		{"one degraded", []ComponentStatus{DegradedPerformance}, nil, "", Status{ImpactMinor, "Partially Degraded Service"}},
		{"one partial", []ComponentStatus{PartialOutage}, nil, "", Status{ImpactMajor, "Partial System Outage"}},
		{"one major", []ComponentStatus{MajorOutage}, nil, "", Status{ImpactCritical, "Major System Outage"}},
		{"all major", []ComponentStatus{MajorOutage, MajorOutage}, nil, "", Status{ImpactCritical, "Major System Outage"}},
		{"some major", []ComponentStatus{MajorOutage, Operational}, nil, "", Status{ImpactMajor, "Partial System Outage"}},
		{"all partial", []ComponentStatus{PartialOutage, PartialOutage}, nil, "", Status{ImpactMajor, "Partial System Outage"}},
		// GitHub's capture: 6 of 11 components partial, one open minor incident.
		{"some partial, minor incident", []ComponentStatus{PartialOutage, PartialOutage, PartialOutage, PartialOutage, PartialOutage, PartialOutage,
			Operational, Operational, Operational, Operational, Operational}, []inc{{ImpactMinor, Identified}}, "", Status{ImpactMinor, "Minor Service Outage"}},
		{"all degraded", []ComponentStatus{DegradedPerformance, DegradedPerformance}, nil, "", Status{ImpactMinor, "Degraded System Service"}},
		{"some degraded", []ComponentStatus{DegradedPerformance, Operational}, nil, "", Status{ImpactMinor, "Partially Degraded Service"}},
		{"some under maintenance", []ComponentStatus{UnderMaintenance, Operational}, nil, "", Status{ImpactMaintenance, "Service Under Maintenance"}},
		{"open incident lifts", []ComponentStatus{Operational, Operational}, []inc{{ImpactCritical, Investigating}}, "", Status{ImpactCritical, "Major System Outage"}},
		{"open major incident over some partial", []ComponentStatus{PartialOutage, Operational}, []inc{{ImpactMajor, Monitoring}}, "", Status{ImpactMajor, "Partial System Outage"}},
		{"milder incident does not lower", []ComponentStatus{MajorOutage}, []inc{{ImpactMinor, Identified}}, "", Status{ImpactCritical, "Major System Outage"}},
		{"resolved incident does not count", []ComponentStatus{Operational}, []inc{{ImpactCritical, Resolved}, {ImpactMajor, Postmortem}}, "", Status{ImpactNone, "All Systems Operational"}},
		{"open incident of no impact", []ComponentStatus{Operational}, []inc{{ImpactNone, Investigating}}, "", Status{ImpactNone, "All Systems Operational"}},
		{"maintenance in progress", []ComponentStatus{Operational}, nil, InProgress, Status{ImpactMaintenance, "Service Under Maintenance"}},
		{"maintenance verifying", []ComponentStatus{Operational}, nil, Verifying, Status{ImpactMaintenance, "Service Under Maintenance"}},
		{"maintenance only scheduled", []ComponentStatus{Operational}, nil, Scheduled, Status{ImpactNone, "All Systems Operational"}},
		{"outage beats maintenance", []ComponentStatus{DegradedPerformance, Operational}, nil, InProgress, Status{ImpactMinor, "Partially Degraded Service"}},
	}
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Snapshot{Sequence: 1, GeneratedAt: at}
			for i, st := range tc.components {
				s.Components = append(s.Components, Component{ID: "c" + string(rune('a'+i)), Name: "c", Status: st, CreatedAt: at, UpdatedAt: at})
			}
			for i, in := range tc.incidents {
				i := Incident{ID: "i" + string(rune('a'+i)), Name: "i", Status: in.status, Impact: in.impact, CreatedAt: at, UpdatedAt: at,
					Updates: []Update{{ID: "u" + string(rune('a'+i)), Status: string(in.status), DisplayAt: at}}}
				if in.status.closed() {
					i.ResolvedAt = &at
				}
				s.Incidents = append(s.Incidents, i)
			}
			if tc.maintenance != "" {
				s.Maintenances = []Maintenance{{ID: "m", Name: "m", Status: tc.maintenance, Impact: ImpactMaintenance, CreatedAt: at, UpdatedAt: at,
					ScheduledFor: at, ScheduledUntil: at.Add(time.Hour), Updates: []Update{{ID: "mu", Status: string(tc.maintenance), DisplayAt: at}}}}
			}
			site, err := Render(s, Defaults{Title: "t", URL: "https://x.test"})
			if err != nil {
				t.Fatal(err)
			}
			if got := site.Status(); got != tc.want {
				t.Errorf("status = %+v, want %+v", got, tc.want)
			}
		})
	}
}
