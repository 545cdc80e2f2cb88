package incidents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
	key := summaryKey{incident: inc.ID, kind: kind, minute: minute}
	// The minute's line as this replica last committed it: grow it in one statement, if it
	// still reads as remembered (another replica, or an earlier request of this batch, may
	// have grown it since; then read it again).
	if known, ok := m.summaries.get(key); ok {
		ev := Event{ID: known.id, IncidentID: inc.ID, At: at, Actor: ActorAlertmanager, Kind: kind, Text: summaryText(known.count+n, what)}
		res, err := q.ExecContext(ctx, q.Rebind(`UPDATE timeline_events SET text = ? WHERE id = ? AND text = ?`),
			ev.Text, known.id, summaryText(known.count, what))
		if err != nil {
			return fmt.Errorf("update the %s line of incident %d: %w", kind, inc.ID, err)
		}
		grown, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update the %s line of incident %d: %w", kind, inc.ID, err)
		}
		if grown == 1 {
			m.rememberSummary(q, key, known.id, known.count+n)
			return m.runHooks(ctx, q, inc, ev)
		}
	}
	var line struct {
		ID   int64  `db:"id"`
		Text string `db:"text"`
	}
	err := q.GetContext(ctx, &line, q.Rebind(`SELECT id, text FROM timeline_events
		WHERE incident_id = ? AND kind = ? AND at >= ? AND at < ? ORDER BY id DESC LIMIT 1`),
		inc.ID, kind, minute, minute.Add(time.Minute))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		ev, err := m.RecordTx(ctx, q, inc, Event{At: at, Actor: ActorAlertmanager, Kind: kind, Text: summaryText(n, what)})
		if err == nil {
			m.rememberSummary(q, key, ev.ID, n)
		}
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
	m.rememberSummary(q, key, line.ID, before+n)
	// The line grew rather than a new one being written; hooks still hear of it, so what
	// shows the incident elsewhere (the Slack message's alert count) keeps up.
	return m.runHooks(ctx, q, inc, ev)
}

// rememberSummary remembers a summary line once its transaction committed.
func (m *Manager) rememberSummary(q store.Querier, key summaryKey, id int64, count int) {
	store.AfterCommit(q, func() { m.summaries.set(key, summaryLine{id: id, count: count}) })
}

// summaryKey names the summary line of one incident, kind and minute.
type summaryKey struct {
	incident int64
	kind     EventKind
	minute   time.Time
}

// summaryLine is a summary line as last committed: its row and the count its text says.
type summaryLine struct {
	id    int64
	count int
}

// summaryLines remembers the summary lines this replica last wrote, so that in a storm each
// payload grows its incident's line with one compare-and-set UPDATE instead of a read and a
// write. Only the current minutes matter: older keys are dropped as the map fills.
type summaryLines struct {
	mu    sync.Mutex
	lines map[summaryKey]summaryLine
}

// maxSummaryLines bounds the lines remembered.
const maxSummaryLines = 1 << 14

func (s *summaryLines) get(k summaryKey) (summaryLine, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lines[k]
	return l, ok
}

func (s *summaryLines) set(k summaryKey, l summaryLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == nil || len(s.lines) >= maxSummaryLines {
		s.lines = make(map[summaryKey]summaryLine)
	}
	s.lines[k] = l
}

func summaryText(n int, what string) string {
	if n == 1 {
		return "1 more alert " + what + "."
	}
	return fmt.Sprintf("%d more alerts %s.", n, what)
}
