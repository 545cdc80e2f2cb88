package incidents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
)

// PublicIncident is an incident that has gone public, with its public updates oldest first.
type PublicIncident struct {
	Incident
	Updates []Event
}

// ListPublicTx returns every public incident (one with at least one public update), oldest
// first, with its public updates: two queries, whatever the history holds.
func ListPublicTx(ctx context.Context, q store.Querier) ([]PublicIncident, error) {
	var updates []Event
	err := q.SelectContext(ctx, &updates, `SELECT id, incident_id, at, actor, kind, text, public, public_status
		FROM timeline_events WHERE public ORDER BY incident_id, at, id`)
	if err != nil {
		return nil, fmt.Errorf("read public updates: %w", err)
	}
	var list []Incident
	err = q.SelectContext(ctx, &list, `SELECT `+incidentColumns+` FROM incidents
		WHERE id IN (SELECT incident_id FROM timeline_events WHERE public) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read public incidents: %w", err)
	}
	byID := make(map[int64][]Event, len(list))
	for _, ev := range updates {
		ev.At = ev.At.UTC()
		byID[ev.IncidentID] = append(byID[ev.IncidentID], ev)
	}
	out := make([]PublicIncident, 0, len(list))
	for _, inc := range list {
		inc.normalize()
		out = append(out, PublicIncident{Incident: inc, Updates: byID[inc.ID]})
	}
	return out, nil
}

// ListAffectingTx returns the incidents of at least severity min that were open at some
// moment since since: those still open and those resolved after it. The status page's
// component statuses and uptime bars are made of them.
func ListAffectingTx(ctx context.Context, q store.Querier, since time.Time, min Severity) ([]Incident, error) {
	var sevs []string
	var args []any
	for _, s := range []Severity{Sev1, Sev2, Sev3, Sev4} {
		if s.AtLeast(min) {
			sevs = append(sevs, "?")
			args = append(args, s)
		}
	}
	args = append(args, since.UTC())
	var out []Incident
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE severity IN (`+strings.Join(sevs, ", ")+`) AND (status <> 'resolved' OR resolved_at >= ?) ORDER BY id`), args...)
	if err != nil {
		return nil, fmt.Errorf("read incidents affecting the status page: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}
