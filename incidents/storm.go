package incidents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"firebreak/store"
)

// Summary kinds: in an alert storm the first alerts of an incident get a timeline line each
// and later ones are summed up, one line per minute ("212 more alerts fired"), so the
// timeline stays readable. Every alert is still listed under the incident's alerts.
const (
	KindAlertsFiredSummary    EventKind = "alerts_fired_summary"
	KindAlertsResolvedSummary EventKind = "alerts_resolved_summary"
)

// AlertLinesTx counts the timeline lines of kind an incident has, for deciding whether one
// more alert gets its own line.
func (m *Manager) AlertLinesTx(ctx context.Context, q store.Querier, id int64, kind EventKind) (int, error) {
	var n int
	err := q.GetContext(ctx, &n, q.Rebind(`SELECT COUNT(*) FROM timeline_events WHERE incident_id = ? AND kind = ?`), id, kind)
	if err != nil {
		return 0, fmt.Errorf("count %s lines of incident %d: %w", kind, id, err)
	}
	return n, nil
}

// SummarizeAlertsTx adds n alerts to the incident's summary line of kind for the minute of
// at: it grows the minute's line if there is one ("214 more alerts fired"), or records a new
// one. what is the verb ("fired", "resolved").
func (m *Manager) SummarizeAlertsTx(ctx context.Context, q store.Querier, inc Incident, kind EventKind, what string, n int, at time.Time) error {
	if n <= 0 {
		return nil
	}
	minute := at.UTC().Truncate(time.Minute)
	var line struct {
		ID   int64  `db:"id"`
		Text string `db:"text"`
	}
	err := q.GetContext(ctx, &line, q.Rebind(`SELECT id, text FROM timeline_events
		WHERE incident_id = ? AND kind = ? AND at >= ? AND at < ? ORDER BY id DESC LIMIT 1`),
		inc.ID, kind, minute, minute.Add(time.Minute))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = m.RecordTx(ctx, q, inc, Event{At: at, Actor: ActorAlertmanager, Kind: kind, Text: summaryText(n, what)})
		return err
	case err != nil:
		return fmt.Errorf("read the %s line of incident %d: %w", kind, inc.ID, err)
	}
	var before int
	if _, err := fmt.Sscanf(line.Text, "%d more", &before); err != nil {
		before = 0 // a line this code did not write; start counting again
	}
	ev := Event{ID: line.ID, IncidentID: inc.ID, At: at, Actor: ActorAlertmanager, Kind: kind, Text: summaryText(before+n, what)}
	if _, err := q.ExecContext(ctx, q.Rebind(`UPDATE timeline_events SET text = ? WHERE id = ?`), ev.Text, line.ID); err != nil {
		return fmt.Errorf("update the %s line of incident %d: %w", kind, inc.ID, err)
	}
	// The line grew rather than a new one being written; hooks still hear of it, so what
	// shows the incident elsewhere (the Slack message's alert count) keeps up.
	return m.runHooks(ctx, q, inc, ev)
}

func summaryText(n int, what string) string {
	if n == 1 {
		return "1 more alert " + what + "."
	}
	return fmt.Sprintf("%d more alerts %s.", n, what)
}
