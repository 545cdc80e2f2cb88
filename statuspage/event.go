package statuspage

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// event is an incident or a maintenance as the HTML pages and feeds show it.
type event struct {
	ID, Name, URL string
	Maintenance   bool
	// Status is the raw status; StatusLabel says it in words.
	Status, StatusLabel string
	Impact              Impact
	ImpactLabel         string
	// Closed: resolved, postmortem or completed.
	Closed bool
	// At orders events in the history: creation for incidents, the planned start for
	// maintenances.
	At      time.Time
	Created time.Time
	Updated time.Time
	// Span says when it happened, for people ("10 May 2024, 13:02 – 14:40 UTC").
	Span string
	// Window is a maintenance's planned time, for people; empty for incidents.
	Window     string
	Components []componentLine
	Updates    []updateLine
}

type updateLine struct {
	StatusLabel string
	Body        string
	At          stamp
}

// componentLine is an affected component with its current status.
type componentLine struct {
	Name   string
	Status ComponentStatus
}

// stamp is a time for the pages: machine-readable and for people, in the page's zone.
type stamp struct {
	ISO  string
	Text string
}

// humanLayout writes times for people; the zone abbreviation follows the page's zone.
const humanLayout = "2 Jan 2006, 15:04 MST"

func (v *view) stamp(t time.Time) stamp {
	l := t.In(v.loc)
	return stamp{ISO: l.Format(time.RFC3339), Text: l.Format(humanLayout)}
}

// span writes from–until compactly: the date once when both fall on one day.
func (v *view) span(from time.Time, until *time.Time) string {
	f := from.In(v.loc)
	if until == nil {
		return "Since " + f.Format(humanLayout)
	}
	u := until.In(v.loc)
	if f.YearDay() == u.YearDay() && f.Year() == u.Year() {
		return f.Format("2 Jan 2006, 15:04") + " – " + u.Format("15:04 MST")
	}
	return f.Format("2 Jan 2006, 15:04") + " – " + u.Format(humanLayout)
}

var (
	incidentStatusLabels = map[string]string{
		"investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
		"resolved": "Resolved", "postmortem": "Postmortem",
	}
	maintenanceStatusLabels = map[string]string{
		"scheduled": "Scheduled", "in_progress": "In progress", "verifying": "Verifying", "completed": "Completed",
	}
	impactLabels = map[Impact]string{
		ImpactNone: "No impact", ImpactMinor: "Minor impact", ImpactMajor: "Major impact",
		ImpactCritical: "Critical impact", ImpactMaintenance: "Maintenance",
	}
)

func (v *view) incidentEvent(i *Incident) event {
	e := event{
		ID: i.ID, Name: i.Name, URL: v.link("/incidents/" + i.ID),
		Status: string(i.Status), StatusLabel: incidentStatusLabels[string(i.Status)],
		Impact: i.Impact, ImpactLabel: impactLabels[i.Impact], Closed: i.Status.closed(),
		At: i.CreatedAt, Created: i.CreatedAt, Updated: i.UpdatedAt,
	}
	started := i.CreatedAt
	if i.StartedAt != nil {
		started = *i.StartedAt
	}
	e.Span = v.span(started, i.ResolvedAt)
	e.Components = v.componentLines(i.ComponentIDs)
	e.Updates = v.updateLines(i.Updates, incidentStatusLabels)
	return e
}

func (v *view) maintenanceEvent(m *Maintenance) event {
	e := event{
		ID: m.ID, Name: m.Name, URL: v.link("/incidents/" + m.ID), Maintenance: true,
		Status: string(m.Status), StatusLabel: maintenanceStatusLabels[string(m.Status)],
		Impact: m.Impact, ImpactLabel: impactLabels[m.Impact], Closed: m.Status == Completed,
		At: m.ScheduledFor, Created: m.CreatedAt, Updated: m.UpdatedAt,
	}
	until := m.ScheduledUntil
	e.Window = v.span(m.ScheduledFor, &until)
	switch {
	case m.ResolvedAt != nil && m.StartedAt != nil:
		e.Span = v.span(*m.StartedAt, m.ResolvedAt)
	case m.ResolvedAt != nil:
		e.Span = v.span(m.ScheduledFor, m.ResolvedAt)
	default:
		e.Span = e.Window
	}
	e.Components = v.componentLines(m.ComponentIDs)
	e.Updates = v.updateLines(m.Updates, maintenanceStatusLabels)
	return e
}

func (v *view) componentLines(ids []string) []componentLine {
	var out []componentLine
	for _, c := range v.affected(ids) {
		out = append(out, componentLine{Name: c.Name, Status: c.Status})
	}
	return out
}

func (v *view) updateLines(us []Update, labels map[string]string) []updateLine {
	out := make([]updateLine, 0, len(us))
	for _, u := range us {
		out = append(out, updateLine{StatusLabel: labels[u.Status], Body: strings.TrimSpace(u.Body), At: v.stamp(u.DisplayAt)})
	}
	return out
}

// history is every incident and maintenance, newest first (maintenances by planned
// start), each built when first asked for.
func (v *view) history() []historyRef {
	refs := make([]historyRef, 0, len(v.incidents)+len(v.maintenances))
	for _, i := range v.incidents {
		refs = append(refs, historyRef{at: i.CreatedAt, id: i.ID, incident: i})
	}
	for _, m := range v.maintenances {
		refs = append(refs, historyRef{at: m.ScheduledFor, id: m.ID, maintenance: m})
	}
	slices.SortStableFunc(refs, func(a, b historyRef) int {
		return cmp.Or(b.at.Compare(a.at), strings.Compare(b.id, a.id))
	})
	return refs
}

// historyRef points at one incident or maintenance.
type historyRef struct {
	at          time.Time
	id          string
	incident    *Incident
	maintenance *Maintenance
}

func (v *view) event(r historyRef) event {
	if r.incident != nil {
		return v.incidentEvent(r.incident)
	}
	return v.maintenanceEvent(r.maintenance)
}
