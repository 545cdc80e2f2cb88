package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/incidents"
	"firebreak/store"
)

// queueResolution takes a resolved notification: it will resolve the fingerprint's firing
// occurrence, whatever startsAt it carries, unless it ended before that occurrence began (a
// late resolve of an earlier one). The batch's resolutions are applied together
// (applyResolutions) before anything that could read what they change, and the alert's
// line, if it gets one, keeps its place among the batch's lines.
func (s *payloadState) queueResolution(a template.Alert, fp string) {
	now := s.now
	startsAt := dbTime(a.StartsAt)
	endsAt := dbTime(a.EndsAt)
	if a.EndsAt.IsZero() || endsAt.After(now) {
		endsAt = now
	}
	// An end before the start is a sender's mistake; it must neither make time to
	// mitigate negative nor (before year 1) slip past the "latest end" below.
	if endsAt.Before(startsAt) {
		endsAt = startsAt
	}
	p := &pendingResolution{s: s, a: a, resolution: resolution{fp: fp, endsAt: endsAt, seen: now}}
	s.b.resolutions = append(s.b.resolutions, p)
	s.b.resolving[fp] = true
	s.b.recordings = append(s.b.recordings, queuedLine{resolution: p})
}

// pendingResolution is a resolved notification of the batch not yet applied.
type pendingResolution struct {
	resolution
	s    *payloadState
	a    template.Alert
	line *incidents.Recording // its own timeline line, once applied, if it gets one
}

// applyResolutions applies the batch's pending resolutions, after storing its pending new
// occurrences (one may have fired earlier in the same payload): one statement resolves them
// all, one read tells the others apart (an occurrence that began later, one resolved
// already, none), and each resolved alert is counted and given its line in the order it
// came. Anything that names a fingerprint with a pending resolution runs after this: an
// alert of the same payload (applyPayload) or a later payload of the batch (ingestBatch).
// So the fingerprints of one application are distinct.
func (in *Ingester) applyResolutions(ctx context.Context, q store.Querier, b *batchState) error {
	if err := in.storeNew(ctx, q, b); err != nil {
		return err
	}
	if len(b.resolutions) == 0 {
		return nil
	}
	pending := b.resolutions
	b.resolutions = nil
	clear(b.resolving)
	rs := make([]resolution, len(pending))
	for i, p := range pending {
		rs[i] = p.resolution
	}
	// Rows are locked in the order given: the same order on every replica.
	slices.SortFunc(rs, func(x, y resolution) int { return strings.Compare(x.fp, y.fp) })
	matched, err := markResolvedMany(ctx, q, rs)
	if err != nil {
		return err
	}
	var unmatched []string
	for _, r := range rs {
		if _, ok := matched[r.fp]; !ok {
			unmatched = append(unmatched, r.fp)
		}
	}
	var latest map[string]occurrenceEnd
	if len(unmatched) > 0 {
		if latest, err = latestOccurrences(ctx, q, unmatched); err != nil {
			return err
		}
	}
	var resolved []*pendingResolution
	for _, p := range pending {
		s := p.s
		if id, ok := matched[p.fp]; ok {
			s.res.Resolved++
			s.touch(id)
			b.resolvedFp = append(b.resolvedFp, p.fp)
			if p.endsAt.After(b.cleared[id]) {
				b.cleared[id] = p.endsAt
			}
			resolved = append(resolved, p)
			continue
		}
		o, found := latest[p.fp]
		switch {
		case !found:
			s.countLate(p.a, p.fp, "resolve matched nothing: the alert was never seen firing")
			continue
		case o.Status == "firing":
			s.countLate(p.a, p.fp, "resolve matched nothing: it ended at "+p.endsAt.Format(time.RFC3339)+
				", before the alert's firing occurrence started (a late resolve of an earlier one)")
		default:
			s.res.Deduplicated++ // the resolve of an occurrence already resolved, sent again
		}
		s.touch(o.IncidentID)
	}
	return in.recordResolved(ctx, q, b, resolved, matched)
}

// resolveStillClear mitigates (and, if no person took it on, resolves) an incident the
// batch found no firing alert in (resolveCleared). First the incident is locked and, on
// PostgreSQL, looked at again: an alert joining it at the same moment from another
// transaction (which locks it too) is then either found here or, coming after the
// resolve, finds it resolved and reopens it or opens another. An incident the first look
// found with alerts firing needs no lock: joining alerts only add to them.
func (in *Ingester) resolveStillClear(ctx context.Context, q store.Querier, id int64, at time.Time) error {
	if err := in.incidents.LockRowTx(ctx, q, id); err != nil {
		return err
	}
	if in.db.Dialect == store.Postgres {
		// A new statement sees what committed while the lock was awaited.
		if firing, err := anyFiring(ctx, q, id); err != nil || firing {
			return err
		}
	}
	_, err := in.incidents.AllAlertsResolvedTx(ctx, q, id, at)
	return err
}

// recordResolved gives each alert the batch resolved its timeline line while its
// incident's budget lasts (the others are summed up by writeSummaries), reading the line
// counts and the incidents it needs in one statement each. The lines are recorded in their
// alerts' places by flushLines.
func (in *Ingester) recordResolved(ctx context.Context, q store.Querier, b *batchState, resolved []*pendingResolution, incidentOf map[string]int64) error {
	if len(resolved) == 0 {
		return nil
	}
	if err := in.countLines(ctx, q, b.lines, resolved, incidentOf); err != nil {
		return err
	}
	var own []*pendingResolution
	var unread []int64
	toRead := map[int64]bool{}
	for _, p := range resolved {
		id := incidentOf[p.fp]
		ok, err := in.takeLine(ctx, q, b.lines, id, incidents.KindAlertResolved)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		own = append(own, p)
		if _, read := b.resolvedIn[id]; !read && !toRead[id] {
			toRead[id] = true
			unread = append(unread, id)
		}
	}
	read, err := in.incidents.GetManyTx(ctx, q, unread)
	if err != nil {
		return err
	}
	for id, inc := range read {
		b.resolvedIn[id] = inc
	}
	for _, p := range own {
		id := incidentOf[p.fp]
		inc, ok := b.resolvedIn[id]
		if !ok {
			return fmt.Errorf("record a resolved alert: %w: no incident %d", incidents.ErrNotFound, id)
		}
		p.line = &incidents.Recording{Incident: inc, Event: incidents.Event{At: p.seen, Actor: incidents.ActorAlertmanager,
			Kind: incidents.KindAlertResolved, Text: "Alert " + describeAlert(p.a) + " resolved at " + p.endsAt.Format(time.RFC3339) + "."}}
	}
	return nil
}

// countLines reads, in one statement, how many resolved-alert lines each incident of
// resolved has whose count the batch does not know yet, so that takeLine need not read them
// one incident at a time.
func (in *Ingester) countLines(ctx context.Context, q store.Querier, budget lineBudget, resolved []*pendingResolution, incidentOf map[string]int64) error {
	var ids []int64
	wanted := map[int64]bool{}
	for _, p := range resolved {
		k := lineKey{incidentOf[p.fp], incidents.KindAlertResolved}
		if _, known := budget.used[k]; !known && !in.spent.has(k) && !wanted[k.incident] {
			wanted[k.incident] = true
			ids = append(ids, k.incident)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	counts, err := in.incidents.AlertLinesManyTx(ctx, q, ids, incidents.KindAlertResolved)
	if err != nil {
		return err
	}
	for _, id := range ids {
		budget.used[lineKey{id, incidents.KindAlertResolved}] = counts[id]
	}
	return nil
}
