package postmortem

import (
	"math"
	"time"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
)

// facts is everything a report is built from, read from the database by Service.Get.
type facts struct {
	inc      incidents.Incident
	timeline []incidents.Event
	// alertCount and alertNames sum up the incident's alerts.
	alertCount int
	alertNames []alerts.NameCount
	suspects   []deploys.Match
	rollbacks  []deploys.Rollback
	// deploys holds the deploy of every rollback, by id.
	deploys map[int64]deploys.Deploy
	// earlier are the service's incidents opened in the ComparisonWindow before this one.
	earlier []incidents.Incident
	record  record
	parts   Parts
}

// build makes the report from the facts. It is pure, so the rules of the report (who
// acknowledged, what counts as impact, which average) are tested without a database.
func build(f facts) Report {
	inc := f.inc
	r := Report{
		IncidentID:     inc.ID,
		Title:          inc.Title,
		Status:         f.record.status(),
		PublishedAt:    f.record.PublishedAt,
		PublishedBy:    f.record.PublishedBy,
		Severity:       inc.Severity,
		Service:        inc.Service,
		Environment:    inc.Environment,
		IncidentStatus: inc.Status,
		Summary:        inc.Summary,
		Impact:         impactOf(inc, f.alertCount),
		Detection:      detectionOf(inc, f.alertNames),
		Response:       responseOf(inc, f.timeline),
		Remediation:    remediationOf(inc, f.timeline, f.rollbacks, f.deploys),
		Times:          timesOf(inc, f.earlier),
		Suspects:       f.suspects,
		Timeline:       f.timeline,
		Parts:          f.parts,
		UpdatedAt:      f.record.UpdatedAt,
		UpdatedBy:      f.record.UpdatedBy,
	}
	if r.Suspects == nil {
		r.Suspects = []deploys.Match{}
	}
	if r.Timeline == nil {
		r.Timeline = []incidents.Event{}
	}
	if r.ActionItems == nil {
		r.ActionItems = []ActionItem{}
	}
	return r
}

func impactOf(inc incidents.Incident, alertCount int) Impact {
	im := Impact{StartedAt: inc.ImpactStartedAt, EndedAt: inc.MitigatedAt, Severity: inc.Severity,
		AlertCount: alertCount, Services: []string{}, Components: []string{}}
	if inc.MitigatedAt != nil {
		im.DurationSeconds = secondsPtr(inc.MitigatedAt.Sub(inc.ImpactStartedAt))
	}
	// Alerts are grouped into incidents by service, so the incident's service is the one its
	// alerts reached; other services show through the status page's components.
	if inc.Service != "" {
		im.Services = append(im.Services, inc.Service)
	}
	return im
}

func detectionOf(inc incidents.Incident, names []alerts.NameCount) Detection {
	d := Detection{Method: DetectedByAlerts, DeclaredBy: inc.DeclaredBy, OpenedAt: inc.OpenedAt,
		TimeToDetectSeconds: seconds(inc.OpenedAt.Sub(inc.ImpactStartedAt)), Alerts: make([]AlertGroup, 0, len(names))}
	if inc.DeclaredBy != nil {
		d.Method = DetectedByDeclare
	}
	for _, n := range names {
		d.Alerts = append(d.Alerts, AlertGroup(n))
	}
	return d
}

// acknowledging are the events by which a person acknowledges an incident: acknowledge
// itself, and remediate and reopen, which set acknowledged_at when a person does them.
var acknowledging = map[incidents.EventKind]bool{
	incidents.KindAcknowledged:       true,
	incidents.KindRemediationStarted: true,
	incidents.KindReopened:           true,
}

func responseOf(inc incidents.Incident, timeline []incidents.Event) Response {
	r := Response{AcknowledgedAt: inc.AcknowledgedAt, MitigatedAt: inc.MitigatedAt, ResolvedAt: inc.ResolvedAt,
		ReopenedCount: inc.ReopenedCount, Responders: []string{}}
	if inc.AcknowledgedAt != nil {
		r.TimeToAcknowledgeSeconds = secondsPtr(inc.AcknowledgedAt.Sub(inc.OpenedAt))
		for _, ev := range timeline {
			if acknowledging[ev.Kind] && !incidents.IsAutomation(ev.Actor) {
				r.AcknowledgedBy = stringPtr(ev.Actor)
				break
			}
		}
	}
	seen := map[string]bool{}
	for _, ev := range timeline {
		// Publishing the postmortem comes after the response; its author is not a responder.
		if !incidents.IsAutomation(ev.Actor) && ev.Kind != KindPublished && !seen[ev.Actor] {
			seen[ev.Actor] = true
			r.Responders = append(r.Responders, ev.Actor)
		}
	}
	return r
}

func remediationOf(inc incidents.Incident, timeline []incidents.Event, rbs []deploys.Rollback, byID map[int64]deploys.Deploy) Remediation {
	rem := Remediation{StartedAt: inc.RemediationStartedAt, Rollbacks: []Rollback{}}
	if inc.RemediationStartedAt != nil {
		for _, ev := range timeline {
			if ev.Kind == incidents.KindRemediationStarted {
				rem.StartedBy = stringPtr(ev.Actor)
				break
			}
		}
	}
	for _, rb := range rbs {
		d := byID[rb.DeployID]
		out := Rollback{ID: rb.ID, DeployID: rb.DeployID, Deploy: d.Label(), ToVersion: d.PreviousVersion,
			RequestedBy: rb.RequestedBy, Automatic: incidents.IsAutomation(rb.RequestedBy), RequestedAt: rb.RequestedAt.UTC(),
			Status: rb.Status, Attempts: rb.Attempts, LastError: rb.LastError}
		if rb.FinishedAt != nil {
			t := rb.FinishedAt.UTC()
			out.FinishedAt = &t
		}
		rem.Rollbacks = append(rem.Rollbacks, out)
	}
	return rem
}

// timesOf measures the incident as the MTTR report does and averages the same measures
// over the earlier incidents, reusing the report's own arithmetic.
func timesOf(inc incidents.Incident, earlier []incidents.Incident) Times {
	this := incidents.BuildReport([]incidents.Incident{inc}, incidents.All, inc.OpenedAt, inc.OpenedAt).Groups[0]
	var past incidents.Group
	if len(earlier) > 0 {
		past = incidents.BuildReport(earlier, incidents.All, inc.OpenedAt.Add(-ComparisonWindow), inc.OpenedAt).Groups[0]
	}
	pair := func(now, before incidents.Measure) Measure {
		return Measure{Seconds: now.MeanSeconds, Service90dAverageSeconds: before.MeanSeconds, Service90dCount: before.Count}
	}
	return Times{
		Detect:      pair(this.TimeToDetect, past.TimeToDetect),
		Acknowledge: pair(this.TimeToAcknowledge, past.TimeToAcknowledge),
		Mitigate:    pair(this.TimeToMitigate, past.TimeToMitigate),
		Recover:     pair(this.TimeToRecover, past.TimeToRecover),
	}
}

// comparable keeps, of the incidents read for the comparison, those of the same service
// opened in the window before inc (not inc itself, nor any opened after it).
func comparable(inc incidents.Incident, list []incidents.Incident) []incidents.Incident {
	from := inc.OpenedAt.Add(-ComparisonWindow)
	var out []incidents.Incident
	for _, e := range list {
		if e.ID != inc.ID && e.Service == inc.Service && !e.OpenedAt.Before(from) && e.OpenedAt.Before(inc.OpenedAt) {
			out = append(out, e)
		}
	}
	return out
}

// seconds turns a duration into seconds as the MTTR report does, never negative: clocks of
// different hosts can put an alert's start a little after the incident opened.
func seconds(d time.Duration) float64 { return math.Max(0, d.Seconds()) }

func secondsPtr(d time.Duration) *float64 {
	s := seconds(d)
	return &s
}

func stringPtr(s string) *string { return &s }
