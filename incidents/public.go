package incidents

import (
	"context"
	"fmt"
	"strings"

	"firebreak/store"
)

// The public face of an incident (PRODUCT.md "Status page"): people choose what goes public.
// An incident is public once it has a public update (a public note, Slack's /incident
// update, or one the status page adds when the public status moves with the phases). Its
// public name is PublicTitle, else Title; its public status is that of its newest public
// update.

// PublicStatus is an incident's status on the status page, in Statuspage's words.
type PublicStatus string

// The public statuses, in the order an incident moves through them.
const (
	PublicInvestigating PublicStatus = "investigating"
	PublicIdentified    PublicStatus = "identified"
	PublicMonitoring    PublicStatus = "monitoring"
	PublicResolved      PublicStatus = "resolved"
)

// ParsePublicStatus accepts one of the four public statuses.
func ParsePublicStatus(s string) (PublicStatus, error) {
	switch st := PublicStatus(s); st {
	case PublicInvestigating, PublicIdentified, PublicMonitoring, PublicResolved:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown public status %q (want investigating, identified, monitoring or resolved)", ErrInvalid, s)
}

// Rank orders public statuses: investigating 1 through resolved 4, 0 for none.
func (s PublicStatus) Rank() int {
	switch s {
	case PublicInvestigating:
		return 1
	case PublicIdentified:
		return 2
	case PublicMonitoring:
		return 3
	case PublicResolved:
		return 4
	}
	return 0
}

// StandardText is Statuspage's standard wording of an update that only moves the status,
// the body of the update added when the phases move the public status and nobody wrote one.
func (s PublicStatus) StandardText() string {
	switch s {
	case PublicInvestigating:
		return "We are currently investigating this issue."
	case PublicIdentified:
		return "The issue has been identified and a fix is being implemented."
	case PublicMonitoring:
		return "A fix has been implemented and we are monitoring the results."
	case PublicResolved:
		return "This incident has been resolved."
	}
	return ""
}

// PhasePublicStatus is the public status the incident's phase gives: observing and
// responding are investigating, remediating identified, mitigated (a moment, whatever the
// phase) monitoring, resolved resolved.
func (inc *Incident) PhasePublicStatus() PublicStatus {
	switch {
	case inc.Status == Resolved:
		return PublicResolved
	case inc.MitigatedAt != nil:
		return PublicMonitoring
	case inc.Status == Remediating:
		return PublicIdentified
	}
	return PublicInvestigating
}

// PublicName is the incident's name on the status page.
func (inc *Incident) PublicName() string {
	if inc.PublicTitle != "" {
		return inc.PublicTitle
	}
	return inc.Title
}

// IDList is a list of ids kept in one text column as a JSON array; nil and empty are the
// same ([] in JSON).
type IDList = store.JSONList[int64]

// AddPublicUpdate adds a public update (a status page update) that names the public status
// it sets; AddNote with public true adds one that keeps the status the phases give.
func (m *Manager) AddPublicUpdate(ctx context.Context, id int64, actor, text string, status PublicStatus) (Event, error) {
	text = strings.TrimSpace(text)
	if err := checkText("text", text, MaxNote, true); err != nil {
		return Event{}, err
	}
	if _, err := ParsePublicStatus(string(status)); err != nil {
		return Event{}, err
	}
	ev := Event{IncidentID: id, At: m.Now(), Actor: actor, Kind: KindStatusUpdate, Text: text, Public: true, PublicStatus: status}
	err := m.write(ctx, func(ctx context.Context, q store.Querier) error {
		inc, err := getIncident(ctx, q, id)
		if err != nil {
			return err
		}
		return m.recordTx(ctx, q, inc, &ev)
	})
	return ev, err
}

// LastPublicStatusTx is the status of the incident's newest public update other than
// the event except (0: none excluded); empty when it has none, that is when it is not
// public.
func LastPublicStatusTx(ctx context.Context, q store.Querier, incidentID, except int64) (PublicStatus, bool, error) {
	var rows []PublicStatus
	err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT public_status FROM timeline_events
		WHERE incident_id = ? AND public AND id <> ? ORDER BY at DESC, id DESC LIMIT 1`), incidentID, except)
	if err != nil {
		return "", false, fmt.Errorf("read the public status of incident %d: %w", incidentID, err)
	}
	if len(rows) == 0 {
		return "", false, nil
	}
	return rows[0], true, nil
}

// SetPublicStatusTx records the status a public update set, for one written without
// (a public note keeps the status the phases give).
func SetPublicStatusTx(ctx context.Context, q store.Querier, eventID int64, status PublicStatus) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE timeline_events SET public_status = ? WHERE id = ? AND public`), status, eventID)
	if err != nil {
		return fmt.Errorf("record the public status of timeline event %d: %w", eventID, err)
	}
	return nil
}
