package incidents

import (
	"context"
	"time"

	"firebreak/store"
)

// Event kinds written when alerts change an incident.
const (
	KindAlertFiring   EventKind = "alert_firing"
	KindAlertResolved EventKind = "alert_resolved"
	KindAlertsCleared EventKind = "alerts_cleared"
)

// AllAlertsResolvedTx applies what PRODUCT.md asks once every alert of an incident has
// resolved at `at`: the incident is mitigated then; if no person declared, acknowledged or
// remediated it (automation does not count) and nothing holds it for people, it is also
// resolved automatically; otherwise the timeline says so and people decide.
func (m *Manager) AllAlertsResolvedTx(ctx context.Context, q store.Querier, id int64, at time.Time) (Incident, error) {
	return m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
		now := m.Now()
		if at.IsZero() || at.After(now) {
			at = now
		}
		if inc.Status == Resolved {
			return Event{}, nil // people resolved it already; nothing to say
		}
		if inc.MitigatedAt == nil {
			inc.MitigatedAt = timePtr(at)
		}
		ev := Event{At: now, Actor: ActorAlertmanager}
		if !inc.TouchedByPeople() {
			inc.Status = Resolved
			inc.ResolvedAt = timePtr(now)
			ev.Kind, ev.Text = KindResolved, "Every alert has resolved and no person had taken the incident on: resolved automatically."
			return ev, nil
		}
		why := "until a person resolves it"
		if inc.HeldFor != "" {
			why += " (" + inc.HeldFor + ")"
		}
		ev.Kind, ev.Text = KindAlertsCleared, "Every alert has resolved. The incident stays "+string(inc.Status)+" "+why+"."
		return ev, nil
	})
}

// RaiseSeverityTx makes the incident at least as severe as sev and moves its impact start
// back to impactStart when that is earlier, recording each change on the timeline.
func (m *Manager) RaiseSeverityTx(ctx context.Context, q store.Querier, id int64, sev Severity, impactStart time.Time, why string) (Incident, error) {
	return m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
		ev := Event{}
		if !impactStart.IsZero() && impactStart.Before(inc.ImpactStartedAt) {
			inc.ImpactStartedAt = impactStart.UTC()
		}
		if sev.Rank() < inc.Severity.Rank() {
			ev = Event{At: m.Now(), Actor: ActorAlertmanager, Kind: KindSeverityChanged,
				Text: "Severity raised from " + string(inc.Severity) + " to " + string(sev) + ": " + why}
			inc.Severity = sev
		}
		return ev, nil
	})
}

// HoldForPeopleTx marks the incident as waiting for people, with the reason, so alerts
// clearing never resolve it by themselves; a person resolving it ends the hold.
func (m *Manager) HoldForPeopleTx(ctx context.Context, q store.Querier, id int64, reason string) (Incident, error) {
	return m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
		if inc.HeldFor == "" {
			inc.HeldFor = reason
		}
		return Event{}, nil
	})
}
