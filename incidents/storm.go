package incidents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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

// AlertLinesManyTx is AlertLinesTx for several incidents in one statement per chunk; an
// incident with no line of kind is missing from the map.
func (m *Manager) AlertLinesManyTx(ctx context.Context, q store.Querier, ids []int64, kind EventKind) (map[int64]int, error) {
	out := make(map[int64]int, len(ids))
	for start := 0; start < len(ids); start += findManyChunk {
		chunk := ids[start:min(start+findManyChunk, len(ids))]
		cond, args := store.In(q, "bigint", chunk)
		var counts []struct {
			IncidentID int64 `db:"incident_id"`
			N          int   `db:"n"`
		}
		err := q.SelectContext(ctx, &counts, q.Rebind(`SELECT incident_id, COUNT(*) AS n FROM timeline_events
			WHERE kind = ? AND incident_id`+cond+` GROUP BY incident_id`), append([]any{kind}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("count %s lines of %d incidents: %w", kind, len(chunk), err)
		}
		for _, c := range counts {
			out[c.IncidentID] = c.N
		}
	}
	return out, nil
}

// SummarizeAlertsTx adds n alerts to the incident's summary line of kind for the minute of
// at: it grows the minute's line if there is one ("214 more alerts fired"), or records a new
// one. what is the verb ("fired", "resolved").
func (m *Manager) SummarizeAlertsTx(ctx context.Context, q store.Querier, inc Incident, kind EventKind, what string, n int, at time.Time) error {
	return m.SummarizeAlertsManyTx(ctx, q, []AlertsSummary{{Incident: inc, Kind: kind, What: what, N: n}}, at)
}

// summarizeReadTx is SummarizeAlertsTx for a line this replica does not know as it stands:
// it reads the minute's line, and grows it or records a new one.
func (m *Manager) summarizeReadTx(ctx context.Context, q store.Querier, inc Incident, kind EventKind, what string, n int, at time.Time) error {
	minute := at.UTC().Truncate(time.Minute)
	key := summaryKey{incident: inc.ID, kind: kind, minute: minute}
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

// AlertsSummary is what SummarizeAlertsManyTx adds to one incident's line of one kind.
type AlertsSummary struct {
	Incident Incident
	Kind     EventKind
	What     string // the verb: "fired", "resolved"
	N        int
}

// SummarizeAlertsManyTx is SummarizeAlertsTx for several incidents at once, as a batch of
// alert payloads needs. The lines as this replica last committed them grow in one
// compare-and-set statement; those another replica (or an earlier request of this group
// commit) grew since, and those it does not know, are read and written one by one.
func (m *Manager) SummarizeAlertsManyTx(ctx context.Context, q store.Querier, items []AlertsSummary, at time.Time) error {
	minute := at.UTC().Truncate(time.Minute)
	type growth struct {
		item  AlertsSummary
		key   summaryKey
		known summaryLine
	}
	var known []growth
	var rest []AlertsSummary
	for _, it := range items {
		if it.N <= 0 {
			continue
		}
		key := summaryKey{incident: it.Incident.ID, kind: it.Kind, minute: minute}
		if l, ok := m.summaries.get(key); ok {
			known = append(known, growth{item: it, key: key, known: l})
		} else {
			rest = append(rest, it)
		}
	}
	grown := map[int64]bool{}
	if len(known) > 0 {
		var sb strings.Builder
		args := make([]any, 0, 3*len(known))
		sb.WriteString(`UPDATE timeline_events SET text = v.column3 FROM (VALUES `)
		for i, g := range known {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(CAST(? AS BIGINT), ?, ?)")
			args = append(args, g.known.id, summaryText(g.known.count, g.item.What), summaryText(g.known.count+g.item.N, g.item.What))
		}
		sb.WriteString(`) AS v WHERE timeline_events.id = v.column1 AND timeline_events.text = v.column2 RETURNING timeline_events.id`)
		rows, err := q.QueryContext(ctx, q.Rebind(sb.String()), args...)
		if err != nil {
			return fmt.Errorf("update %d summary lines: %w", len(known), err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("update %d summary lines: %w", len(known), err)
			}
			grown[id] = true
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return fmt.Errorf("update %d summary lines: %w", len(known), err)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("update %d summary lines: %w", len(known), err)
		}
	}
	var grew []Recording
	for _, g := range known {
		if !grown[g.known.id] { // another replica, or an earlier batch, grew it since
			rest = append(rest, g.item)
			continue
		}
		it := g.item
		m.rememberSummary(q, g.key, g.known.id, g.known.count+it.N)
		grew = append(grew, Recording{Incident: it.Incident, Event: Event{ID: g.known.id, IncidentID: it.Incident.ID, At: at,
			Actor: ActorAlertmanager, Kind: it.Kind, Text: summaryText(g.known.count+it.N, it.What)}})
	}
	if err := m.runHooksMany(ctx, q, grew); err != nil {
		return err
	}
	for _, it := range rest {
		if err := m.summarizeReadTx(ctx, q, it.Incident, it.Kind, it.What, it.N, at); err != nil {
			return err
		}
	}
	return nil
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
