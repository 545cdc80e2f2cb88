package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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
		var err error
		if shown, err = followed(ctx, q, inc.Service); err != nil {
			return err
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

// followed reports whether a component follows service. It runs for incident changes that
// may move no component at all, so it reads only the candidates' service lists: LIKE finds
// the lists that may hold the name (any false match is checked away).
func followed(ctx context.Context, q store.Querier, service string) (bool, error) {
	quoted, _ := json.Marshal(service) // as it appears in the JSON array
	pattern := "%" + likeEscaper.Replace(string(quoted)) + "%"
	var lists []StringList
	err := q.SelectContext(ctx, &lists, q.Rebind(`SELECT services FROM statuspage_components WHERE services LIKE ? ESCAPE '\'`), pattern)
	if err != nil {
		return false, fmt.Errorf("find the components of service %q: %w", service, err)
	}
	for _, l := range lists {
		if slices.Contains(l, service) {
			return true, nil
		}
	}
	return false, nil
}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
