package incidents

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"firebreak/store"
)

// Recording is a timeline event to append to an incident (RecordManyTx).
type Recording struct {
	Incident Incident
	Event    Event
}

// recordChunk bounds the events of one INSERT: 7 values an event stays far below SQLite's
// 32,766 bound values.
const recordChunk = 500

// RecordManyTx is RecordTx for several events, appended in the order given with one INSERT
// per chunk; each one's hooks then run, in that order, and the batch hooks once per chunk. An alert storm's first lines (twenty
// per incident, for hundreds of incidents) were as many statements. Each Recording's Event
// gets its ID, IncidentID and (if zero) At, in place.
func (m *Manager) RecordManyTx(ctx context.Context, q store.Querier, recs []Recording) error {
	for start := 0; start < len(recs); start += recordChunk {
		chunk := recs[start:min(start+recordChunk, len(recs))]
		for i := range chunk {
			ev := &chunk[i].Event
			ev.IncidentID = chunk[i].Incident.ID
			if ev.At.IsZero() {
				ev.At = m.Now()
			}
		}
		if err := insertEvents(ctx, q, chunk); err != nil {
			return err
		}
		if err := m.runHooksMany(ctx, q, chunk); err != nil {
			return err
		}
	}
	return nil
}

// insertEvents stores events in one statement and sets their IDs. Both databases number the
// rows of one INSERT in the order of its VALUES, whatever order RETURNING lists them in, so
// the IDs, sorted, are the events' in order.
func insertEvents(ctx context.Context, q store.Querier, recs []Recording) error {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO timeline_events (incident_id, at, actor, kind, text, public, public_status) VALUES `)
	args := make([]any, 0, 7*len(recs))
	for i, r := range recs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		ev := r.Event
		args = append(args, ev.IncidentID, ev.At.UTC(), ev.Actor, ev.Kind, ev.Text, ev.Public, ev.PublicStatus)
	}
	sb.WriteString(" RETURNING id")
	var ids []int64
	if err := q.SelectContext(ctx, &ids, q.Rebind(sb.String()), args...); err != nil {
		return fmt.Errorf("insert %d timeline events: %w", len(recs), err)
	}
	if len(ids) != len(recs) {
		return fmt.Errorf("insert %d timeline events: %d ids returned", len(recs), len(ids))
	}
	slices.Sort(ids)
	for i := range recs {
		recs[i].Event.ID = ids[i]
	}
	return nil
}
