package incidents

import (
	"context"
	"fmt"
	"time"

	"firebreak/store"
)

// ReminderKind names a reminder that is sent about an incident once per period, however
// many replicas run the job that sends it.
type ReminderKind string

// The reminders kept in incident_reminders.
const (
	// ReminderAck: nobody has acknowledged the incident (incidents.ack_reminder).
	ReminderAck ReminderKind = "ack"
	// ReminderPostmortemDue: the incident's postmortem is still a draft
	// (postmortem.due_after).
	ReminderPostmortemDue ReminderKind = "postmortem_due"
)

// MarkRemindedTx records, in the caller's transaction, that the reminder of kind about
// incident id was sent at.
func (m *Manager) MarkRemindedTx(ctx context.Context, q store.Querier, id int64, kind ReminderKind, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO incident_reminders (incident_id, kind, reminded_at) VALUES (?, ?, ?)
		ON CONFLICT (incident_id, kind) DO UPDATE SET reminded_at = excluded.reminded_at`), id, kind, at.UTC())
	if err != nil {
		return fmt.Errorf("record the %s reminder of incident %d: %w", kind, id, err)
	}
	return nil
}

// UnacknowledgedTx lists, oldest first and at most limit, the incidents still observing that
// no person has acknowledged, opened at or before cutoff, and not reminded about since
// cutoff: the ones whose ack reminder is due when cutoff is now minus the reminder period.
// An incident automation moved on (an automatic rollback started remediation) is not
// listed: it is no longer observing, although nobody acknowledged it.
func (m *Manager) UnacknowledgedTx(ctx context.Context, q store.Querier, cutoff time.Time, limit int) ([]Incident, error) {
	var out []Incident
	// status = 'observing' lets the (status, id) index find the few open incidents.
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		LEFT JOIN incident_reminders ON incident_reminders.incident_id = incidents.id AND incident_reminders.kind = ?
		WHERE incidents.status = 'observing' AND incidents.acknowledged_at IS NULL AND incidents.opened_at <= ?
		  AND (incident_reminders.reminded_at IS NULL OR incident_reminders.reminded_at <= ?)
		ORDER BY incidents.id LIMIT ?`), ReminderAck, cutoff.UTC(), cutoff.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("list unacknowledged incidents: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}
