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
	// KindImpactStartMoved: an alert that started earlier moved the impact start back.
	KindImpactStartMoved EventKind = "impact_start_moved"
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
// back to impactStart when that is earlier, recording each change on the timeline. The
// impact start moves first, so hooks that act on the severity (an automatic rollback) see
// the suspects worked out from the new start.
func (m *Manager) RaiseSeverityTx(ctx context.Context, q store.Querier, id int64, sev Severity, impactStart time.Time, why string) (Incident, error) {
	inc, err := getIncident(ctx, q, id)
	if err != nil {
		return Incident{}, err
	}
	if !impactStart.IsZero() && impactStart.Before(inc.ImpactStartedAt) {
		if inc, err = m.MoveImpactStartTx(ctx, q, id, impactStart, why); err != nil {
			return Incident{}, err
		}
	}
	if sev.Rank() >= inc.Severity.Rank() {
		return inc, nil
	}
	return m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
		if sev.Rank() >= inc.Severity.Rank() {
			return Event{}, nil
		}
		ev := Event{At: m.Now(), Actor: ActorAlertmanager, Kind: KindSeverityChanged,
			Text: "Severity raised from " + string(inc.Severity) + " to " + string(sev) + ": " + why}
		inc.Severity = sev
		return ev, nil
	})
}

// MoveImpactStartTx moves the incident's impact start back to at when that is earlier (an
// alert that started before the others joined, or an alert's start moved back), with a
// timeline line; hooks work the suspects out again from it. A later time changes nothing.
func (m *Manager) MoveImpactStartTx(ctx context.Context, q store.Querier, id int64, at time.Time, why string) (Incident, error) {
	return m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
		if at.IsZero() || !at.Before(inc.ImpactStartedAt) {
			return Event{}, nil
		}
		from := inc.ImpactStartedAt
		inc.ImpactStartedAt = at.UTC()
		return Event{At: m.Now(), Actor: ActorAlertmanager, Kind: KindImpactStartMoved,
			Text: "Impact start moved back from " + from.Format(time.RFC3339) + " to " + inc.ImpactStartedAt.Format(time.RFC3339) + ": " + why}, nil
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
