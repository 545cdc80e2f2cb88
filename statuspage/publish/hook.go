package publish

import (
	"context"
	"slices"

	"firebreak/incidents"
	"firebreak/store"
)

// OnIncidentChange is an incidents hook, run in the transaction of every timeline event. It
// gives a public update its status, adds the standard update when the phases move the
// public status, and publishes the page when the event changes what it shows: a public
// update, a change of a public incident, or a change of an incident whose service a
// component follows. Other events (alerts firing, internal notes) cost nothing.
func (s *Service) OnIncidentChange(ctx context.Context, q store.Querier, inc incidents.Incident, ev incidents.Event) error {
	switch ev.Kind {
	case incidents.KindStatusUpdate:
		if !ev.Public {
			return nil
		}
		if ev.PublicStatus == "" {
			if err := s.statusOfNote(ctx, q, inc, ev); err != nil {
				return err
			}
		}
		return s.PublishTx(ctx, q)
	case incidents.KindAcknowledged, incidents.KindRemediationStarted, incidents.KindMitigated,
		incidents.KindResolved, incidents.KindReopened:
		current, public, err := incidents.LastPublicStatusTx(ctx, q, inc.ID, 0)
		if err != nil {
			return err
		}
		if public {
			next := inc.PhasePublicStatus()
			// The phases never take back a status a person named, except that a reopen is
			// investigating again.
			if next != current && (next.Rank() > current.Rank() || ev.Kind == incidents.KindReopened) {
				// Its own hook call publishes.
				_, err := s.incidents.RecordTx(ctx, q, inc, incidents.Event{At: ev.At, Actor: incidents.ActorFirebreak,
					Kind: incidents.KindStatusUpdate, Text: next.StandardText(), Public: true, PublicStatus: next})
				return err
			}
			return s.PublishTx(ctx, q)
		}
		return s.publishIfShownTx(ctx, q, inc)
	case incidents.KindDeclared, incidents.KindOpened, incidents.KindSeverityChanged, incidents.KindPublicComponentsChanged:
		return s.publishIfShownTx(ctx, q, inc)
	case incidents.KindTitleChanged, incidents.KindPublicTitleChanged:
		if _, public, err := incidents.LastPublicStatusTx(ctx, q, inc.ID, 0); err != nil || !public {
			return err
		}
		return s.PublishTx(ctx, q)
	}
	return nil
}

// statusOfNote gives a public note the status the incident has on the page, or for its first
// public update the one its phase gives.
func (s *Service) statusOfNote(ctx context.Context, q store.Querier, inc incidents.Incident, ev incidents.Event) error {
	status, public, err := incidents.LastPublicStatusTx(ctx, q, inc.ID, ev.ID)
	if err != nil {
		return err
	}
	if !public {
		status = inc.PhasePublicStatus()
	}
	return incidents.SetPublicStatusTx(ctx, q, ev.ID, status)
}

// publishIfShownTx publishes when the incident is public or may change a component: it names
// components, or a component follows its service.
func (s *Service) publishIfShownTx(ctx context.Context, q store.Querier, inc incidents.Incident) error {
	if s.jobs == nil {
		return nil
	}
	shown := len(inc.PublicComponents) > 0
	if !shown && inc.Service != "" {
		comps, err := listComponents(ctx, q)
		if err != nil {
			return err
		}
		for _, c := range comps {
			if slices.Contains(c.Services, inc.Service) {
				shown = true
				break
			}
		}
	}
	if !shown {
		_, public, err := incidents.LastPublicStatusTx(ctx, q, inc.ID, 0)
		if err != nil || !public {
			return err
		}
	}
	return s.PublishTx(ctx, q)
}
