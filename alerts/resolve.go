package alerts

import (
	"context"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/incidents"
	"firebreak/store"
)

// resolved applies a resolved notification: it resolves the fingerprint's firing
// occurrence, whatever startsAt it carries, unless it ended before that occurrence began
// (a late resolve of an earlier one).
func (in *Ingester) resolved(ctx context.Context, q store.Querier, s *payloadState, a template.Alert, fp string) error {
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
	if s.b.unstored[fp] { // it fired earlier in this payload: store it first
		if err := in.storeNew(ctx, q, s.b); err != nil {
			return err
		}
	}
	id, err := markResolved(ctx, q, fp, endsAt, now)
	if err != nil {
		return err
	}
	if id == 0 {
		last, err := latestOccurrences(ctx, q, []string{fp})
		if err != nil {
			return err
		}
		o, ok := last[fp]
		switch {
		case !ok:
			s.countLate(a, fp, "resolve matched nothing: the alert was never seen firing")
			return nil
		case o.Status == "firing":
			s.countLate(a, fp, "resolve matched nothing: it ended at "+endsAt.Format(time.RFC3339)+
				", before the alert's firing occurrence started (a late resolve of an earlier one)")
		default:
			s.res.Deduplicated++ // the resolve of an occurrence already resolved, sent again
		}
		s.touch(o.IncidentID)
		return nil
	}
	s.res.Resolved++
	s.touch(id)
	s.b.resolvedFp = append(s.b.resolvedFp, fp)
	if err := in.recordResolved(ctx, q, s, id, a, endsAt, now); err != nil {
		return err
	}
	if endsAt.After(s.b.cleared[id]) {
		s.b.cleared[id] = endsAt
	}
	return nil
}

// resolveStillClear mitigates (and, if no person took it on, resolves) an incident the
// batch counted no firing alert in (resolveCleared). First the incident is locked and, on
// PostgreSQL, its alerts counted again: an alert joining it at the same moment from another
// transaction (which locks it too) is then either counted here or, coming after the
// resolve, finds it resolved and reopens it or opens another. An incident the first count
// found with alerts firing needs no lock: joining alerts only add to them.
func (in *Ingester) resolveStillClear(ctx context.Context, q store.Querier, id int64, at time.Time) error {
	if err := in.incidents.LockRowTx(ctx, q, id); err != nil {
		return err
	}
	if in.db.Dialect == store.Postgres {
		// A new statement sees what committed while the lock was awaited.
		if n, err := firingCount(ctx, q, id); err != nil || n > 0 {
			return err
		}
	}
	_, err := in.incidents.AllAlertsResolvedTx(ctx, q, id, at)
	return err
}

func (in *Ingester) recordResolved(ctx context.Context, q store.Querier, s *payloadState, incidentID int64, a template.Alert,
	endsAt, now time.Time) error {
	if own, err := in.takeLine(ctx, q, s.b.lines, incidentID, incidents.KindAlertResolved); err != nil || !own {
		return err
	}
	read := s.b.resolvedIn
	inc, ok := read[incidentID]
	if !ok {
		var err error
		if inc, err = in.incidents.GetTx(ctx, q, incidentID); err != nil {
			return err
		}
		read[incidentID] = inc
	}
	_, err := in.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: incidents.ActorAlertmanager,
		Kind: incidents.KindAlertResolved, Text: "Alert " + describeAlert(a) + " resolved at " + endsAt.Format(time.RFC3339) + "."})
	return err
}
