package alerts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"firebreak/incidents"
	"firebreak/store"
)

// alertLines is how many alerts joining (or resolving in) one incident get a timeline line
// each. Later ones are summed up in one line per minute ("212 more alerts fired"): in a
// storm of thousands the timeline stays readable, and there is less to write.
const alertLines = 20

// lineBudget decides, within one batch, which alerts get their own timeline line.
type lineBudget struct {
	used map[lineKey]int // lines an incident has of a kind, counting this payload's
	more map[lineKey]int // alerts summed up instead
}

// spentBudgets remembers the incidents whose lines of a kind are all used. Lines are never
// taken back, so once committed this stays true on every replica, and a storm's payloads
// skip counting them again.
type spentBudgets struct {
	mu    sync.Mutex
	spent map[lineKey]bool
}

// maxSpent bounds the memory spentBudgets takes; past it, it starts again (each incident's
// lines are then counted once more).
const maxSpent = 1 << 16

func (sb *spentBudgets) has(k lineKey) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.spent[k]
}

// add records budgets a committed payload found spent.
func (sb *spentBudgets) add(b lineBudget) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for k, n := range b.used {
		if n >= alertLines {
			if sb.spent == nil || len(sb.spent) >= maxSpent {
				sb.spent = map[lineKey]bool{}
			}
			sb.spent[k] = true
		}
	}
}

type lineKey struct {
	incident int64
	kind     incidents.EventKind
}

func newLineBudget() lineBudget {
	return lineBudget{used: map[lineKey]int{}, more: map[lineKey]int{}}
}

// take reports whether one more alert of kind in the incident gets its own line, and counts
// it either way.
func (in *Ingester) takeLine(ctx context.Context, q store.Querier, b lineBudget, id int64, kind incidents.EventKind) (bool, error) {
	k := lineKey{id, kind}
	n, ok := b.used[k]
	if !ok && in.spent.has(k) {
		n, ok = alertLines, true
	}
	if !ok {
		var err error
		if n, err = in.incidents.AlertLinesTx(ctx, q, id, kind); err != nil {
			return false, err
		}
	}
	if n < alertLines {
		b.used[k] = n + 1
		return true, nil
	}
	b.used[k] = n
	b.more[k]++
	return false, nil
}

// queuedLine is a timeline line of the batch not yet recorded: an alert's own line, or the
// place of a resolved alert's, known once its resolution is applied.
type queuedLine struct {
	line       incidents.Recording
	resolution *pendingResolution
}

// queueLine queues an alert's own timeline line: the batch's are recorded together
// (flushLines), hundreds of them in a storm's first seconds.
func (b *batchState) queueLine(inc incidents.Incident, ev incidents.Event) {
	b.recordings = append(b.recordings, queuedLine{line: incidents.Recording{Incident: inc, Event: ev}})
}

// flushLines records the lines queued so far, in the order their alerts came, applying the
// pending resolutions first to learn which of them get a line. It runs before anything
// else is recorded on an incident (a raised severity, a reopen, a start moved back, the
// summary lines), so the timeline keeps the order things happened in.
func (in *Ingester) flushLines(ctx context.Context, q store.Querier, b *batchState) error {
	if err := in.applyResolutions(ctx, q, b); err != nil {
		return err
	}
	recs := make([]incidents.Recording, 0, len(b.recordings))
	for _, l := range b.recordings {
		switch {
		case l.resolution == nil:
			recs = append(recs, l.line)
		case l.resolution.line != nil:
			recs = append(recs, *l.resolution.line)
		}
	}
	b.recordings = b.recordings[:0]
	if len(recs) == 0 {
		return nil
	}
	return in.incidents.RecordManyTx(ctx, q, recs)
}

// writeSummaries records the alerts summed up in this batch, one line per incident and kind
// for this minute.
func (in *Ingester) writeSummaries(ctx context.Context, q store.Querier, s *batchState) error {
	keys := make([]lineKey, 0, len(s.lines.more))
	for k := range s.lines.more {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].incident != keys[j].incident {
			return keys[i].incident < keys[j].incident
		}
		return keys[i].kind < keys[j].kind
	})
	var unread []int64
	for _, k := range keys {
		if _, ok := s.readIncident(k.incident); !ok && !slices.Contains(unread, k.incident) {
			unread = append(unread, k.incident)
		}
	}
	read, err := in.incidents.GetManyTx(ctx, q, unread)
	if err != nil {
		return err
	}
	items := make([]incidents.AlertsSummary, 0, len(keys))
	for _, k := range keys {
		inc, ok := s.readIncident(k.incident)
		if !ok {
			if inc, ok = read[k.incident]; !ok {
				return fmt.Errorf("summarize alerts: %w: no incident %d", incidents.ErrNotFound, k.incident)
			}
		}
		kind, what := incidents.KindAlertsFiredSummary, "fired"
		if k.kind == incidents.KindAlertResolved {
			kind, what = incidents.KindAlertsResolvedSummary, "resolved"
		}
		items = append(items, incidents.AlertsSummary{Incident: inc, Kind: kind, What: what, N: s.lines.more[k]})
	}
	return in.incidents.SummarizeAlertsManyTx(ctx, q, items, s.now)
}

// readIncident is an incident this batch already read (found open for a group, or read
// for a resolve). Its fields may lag what the payload changed since (a raised severity);
// the summary line needs only its identity and what hooks read of it.
func (s *batchState) readIncident(id int64) (incidents.Incident, bool) {
	for _, inc := range s.seen { // kept up to date when an alert raises its severity
		if inc.ID == id {
			return inc, true
		}
	}
	if inc, ok := s.resolvedIn[id]; ok {
		return inc, true
	}
	return incidents.Incident{}, false
}
