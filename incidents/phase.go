package incidents

import (
	"fmt"
	"strings"
	"time"
)

// Action is a change a person, an alert or a hook asks of an incident.
type Action string

// The state-changing actions of PRODUCT.md "Incidents".
const (
	Acknowledge Action = "acknowledge"
	Remediate   Action = "remediate"
	Mitigate    Action = "mitigate"
	Resolve     Action = "resolve"
	// Reopen by a person returns the incident to responding.
	Reopen Action = "reopen"
	// ReopenByAlerts is the reopen of a flapping incident: back to observing, since no
	// person has looked at the new firing yet.
	ReopenByAlerts Action = "reopen_by_alerts"
	// RemediateByAutomation is remediation started by automation (an automatic rollback):
	// the incident moves to remediating, but no person has acknowledged it, so
	// acknowledged_at stays unset and time to acknowledge keeps measuring people.
	RemediateByAutomation Action = "remediate_by_automation"
)

// ParseAction accepts the actions the API exposes by name.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Acknowledge, Remediate, Mitigate, Resolve, Reopen:
		return a, nil
	}
	return "", fmt.Errorf("%w: unknown action %q", ErrInvalid, s)
}

// apply changes inc as action asks at now and returns the timeline event to record, or an
// error wrapping ErrInvalidTransition that says why the action does not apply. It is pure:
// the rules live here and the table tests read them directly.
func apply(inc *Incident, action Action, now time.Time, actor, note string) (Event, error) {
	ev := Event{IncidentID: inc.ID, At: now, Actor: actor}
	refuse := func(why string) (Event, error) {
		return Event{}, fmt.Errorf("%w: incident %d is %s: %s", ErrInvalidTransition, inc.ID, inc.Status, why)
	}
	switch action {
	case Acknowledge:
		if inc.Status != Observing {
			return refuse("only an observing incident can be acknowledged")
		}
		inc.Status = Responding
		if inc.AcknowledgedAt == nil {
			// One span per incident: after a reopen, the first acknowledgement still counts.
			inc.AcknowledgedAt = timePtr(now)
		}
		ev.Kind, ev.Text = KindAcknowledged, "Acknowledged by "+actor+"."
	case Remediate, RemediateByAutomation:
		if inc.Status != Observing && inc.Status != Responding {
			return refuse("remediation starts from observing or responding")
		}
		if action == Remediate && inc.AcknowledgedAt == nil {
			// Starting a fix is the strongest acknowledgement there is.
			inc.AcknowledgedAt = timePtr(now)
		}
		inc.Status = Remediating
		if inc.RemediationStartedAt == nil {
			inc.RemediationStartedAt = timePtr(now)
		}
		ev.Kind, ev.Text = KindRemediationStarted, "Remediation started by "+actor+"."
	case Mitigate:
		if inc.Status == Resolved {
			return refuse("a resolved incident cannot be mitigated")
		}
		if inc.MitigatedAt != nil {
			return refuse("it was already mitigated at " + inc.MitigatedAt.UTC().Format(time.RFC3339))
		}
		inc.MitigatedAt = timePtr(now)
		ev.Kind, ev.Text = KindMitigated, "Marked mitigated by "+actor+": impact is over."
	case Resolve:
		if inc.Status == Resolved {
			return refuse("it is already resolved")
		}
		if inc.MitigatedAt == nil {
			inc.MitigatedAt = timePtr(now)
		}
		inc.Status = Resolved
		inc.ResolvedAt = timePtr(now)
		inc.HeldFor = "" // a person decided
		ev.Kind, ev.Text = KindResolved, "Resolved by "+actor+"."
	case Reopen, ReopenByAlerts:
		if inc.Status != Resolved {
			return refuse("only a resolved incident can be reopened")
		}
		inc.Status = Responding
		ev.Text = "Reopened by " + actor + "."
		if action == Reopen && inc.AcknowledgedAt == nil {
			// A person reopening it owns it now, and acknowledge would be refused in
			// responding: this is the acknowledgement.
			inc.AcknowledgedAt = timePtr(now)
		}
		if action == ReopenByAlerts {
			inc.Status = Observing
			ev.Text = "Reopened: alerts are firing again."
		}
		// One span for MTTR: impact start stays, the end moments are cleared because the
		// impact was not over after all.
		inc.ResolvedAt = nil
		inc.MitigatedAt = nil
		inc.ReopenedCount++
		ev.Kind = KindReopened
	default:
		return Event{}, fmt.Errorf("%w: unknown action %q", ErrInvalid, action)
	}
	if note != "" {
		ev.Text = strings.TrimSuffix(ev.Text, ".") + ": " + note
	}
	inc.UpdatedAt = now
	return ev, nil
}
