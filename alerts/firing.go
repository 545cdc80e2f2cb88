package alerts

import (
	"context"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/store"
)

// readOccurrences reads the stored story of firing fingerprints into the batch, in one read:
// an occurrence still firing (a repeat the memory did not know: counted here), ended (a
// late delivery, or a new occurrence after it), or none (new). The grouping locks keep
// those of the batch's groups from changing until the commit.
func (in *Ingester) readOccurrences(ctx context.Context, q store.Querier, b *batchState, firing []string, now time.Time) error {
	if len(firing) == 0 {
		return nil
	}
	latest, err := latestOccurrences(ctx, q, firing)
	if err != nil {
		return err
	}
	var ids []int64
	for _, fp := range firing {
		delete(b.repeated, fp)
		if o, ok := latest[fp]; ok {
			b.latest[fp] = o
			if o.Status == "firing" {
				ids = append(ids, o.ID)
			}
		} else {
			delete(b.latest, fp)
		}
	}
	repeated, err := markRepeats(ctx, q, ids, now)
	if err != nil {
		return err
	}
	// One read as firing that was not marked was resolved meanwhile by a transaction that
	// holds other grouping locks (the same alert under another group key): read it again,
	// since its start may now make it a new occurrence.
	var changed []string
	for _, fp := range firing {
		if occ, marked := repeated[fp]; marked {
			b.repeated[fp] = occ
		} else if o, ok := latest[fp]; ok && o.Status == "firing" {
			changed = append(changed, fp)
		}
	}
	if len(changed) > 0 {
		again, err := latestOccurrences(ctx, q, changed)
		if err != nil {
			return err
		}
		for _, fp := range changed {
			if o, ok := again[fp]; ok {
				b.latest[fp] = o
			} else {
				delete(b.latest, fp)
			}
		}
	}
	return nil
}

// firing applies a firing notification: a repeat of the fingerprint's firing occurrence
// (whatever startsAt it carries), a late delivery of its last resolved occurrence, or a new
// occurrence.
func (in *Ingester) firing(ctx context.Context, q store.Querier, s *payloadState, a template.Alert, fp string) error {
	if s.handled[fp] {
		s.res.Deduplicated++ // the same alert twice in one payload is one repeat
		return nil
	}
	s.handled[fp] = true
	startsAt := s.earliest[fp]
	if occ, ok := s.b.repeated[fp]; ok {
		s.res.Deduplicated++
		s.touch(occ.incidentID)
		if startsAt.Equal(occ.startsAt) { // another start takes the writer (see repeats.go)
			s.b.learned = append(s.b.learned, learned{fp: fp, id: occ.id, incidentID: occ.incidentID, start: occ.startsAt})
		}
		if startsAt.Before(occ.startsAt) {
			return in.moveStartBack(ctx, q, s.b, a, fp, occ, startsAt)
		}
		return nil
	}
	if last, late := s.b.lateFor(fp, startsAt); late {
		why := "late delivery: it started " + startsAt.Format(time.RFC3339) + ", within an occurrence that already ended"
		if last.Status == "firing" {
			why = "late delivery: the alert's occurrence is still firing"
		}
		s.countLate(a, fp, why)
		s.touch(last.IncidentID)
		return nil
	}
	id, err := in.openOccurrence(ctx, q, s, a, fp, startsAt)
	if err != nil {
		return err
	}
	s.res.New++
	s.touch(id)
	return nil
}

// moveStartBack records that the fingerprint's firing occurrence started earlier than
// stored (Alertmanager keeps the earliest start an HA Prometheus pair reports), and moves
// the impact start of its incident back with it while the incident is open. A start that
// falls within an earlier, ended occurrence moves nothing: it is that one's, delivered late.
func (in *Ingester) moveStartBack(ctx context.Context, q store.Querier, b *batchState, a template.Alert, fp string, occ firingOccurrence, startsAt time.Time) error {
	moved, err := moveStart(ctx, q, fp, startsAt)
	if err != nil || !moved {
		return err
	}
	inc, err := in.incidents.GetTx(ctx, q, occ.incidentID)
	if err != nil {
		return err
	}
	if !inc.Open() || !startsAt.Before(inc.ImpactStartedAt) {
		return nil
	}
	if err := in.flushLines(ctx, q, b); err != nil {
		return err
	}
	_, err = in.incidents.MoveImpactStartTx(ctx, q, inc.ID, startsAt,
		"alert "+describeAlert(a)+" started at "+startsAt.Format(time.RFC3339)+", earlier than first reported.")
	return err
}
