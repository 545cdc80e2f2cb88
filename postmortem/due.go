package postmortem

import (
	"context"
	"fmt"
	"time"

	"firebreak/incidents"
	"firebreak/store"
)

// Due is a postmortem still a draft after it was due.
type Due struct {
	IncidentID int64              `db:"id"`
	Title      string             `db:"title"`
	Severity   incidents.Severity `db:"severity"`
	ResolvedAt time.Time          `db:"resolved_at"`
}

// DueTx lists, at most limit and longest resolved first, the resolved sev1 and sev2
// incidents (those a postmortem is expected of) resolved at or before cutoff whose postmortem is still a draft (written
// in or not) and that nobody was reminded about (incidents.ReminderPostmortemDue) since
// cutoff. With cutoff now minus postmortem.due_after, those are the reminders due now: the
// first one due_after after the resolution, then one each further due_after.
func DueTx(ctx context.Context, q store.Querier, cutoff time.Time, limit int) ([]Due, error) {
	var out []Due
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT incidents.id, incidents.title, incidents.severity, incidents.resolved_at
		FROM incidents
		LEFT JOIN postmortems ON postmortems.incident_id = incidents.id
		LEFT JOIN incident_reminders ON incident_reminders.incident_id = incidents.id AND incident_reminders.kind = ?
		WHERE incidents.status = 'resolved' AND incidents.severity IN (?, ?) AND incidents.resolved_at <= ?
		  AND (postmortems.status IS NULL OR postmortems.status = ?)
		  AND (incident_reminders.reminded_at IS NULL OR incident_reminders.reminded_at <= ?)
		ORDER BY incidents.resolved_at, incidents.id LIMIT ?`),
		incidents.ReminderPostmortemDue, incidents.Sev1, incidents.Sev2, cutoff.UTC(), Draft, cutoff.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("list postmortems due: %w", err)
	}
	for i := range out {
		out[i].ResolvedAt = out[i].ResolvedAt.UTC()
	}
	return out, nil
}
