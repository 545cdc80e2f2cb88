package alerts

import (
	"context"
	"slices"
	"time"

	"firebreak/incidents"
	"firebreak/store"
)

// The payloads that wait for the writer together are applied in one transaction as one
// batch, not one after another each with its own statements: one read of every firing
// fingerprint's occurrence for all of them, one INSERT of all their new occurrences, one
// line per incident summing up what they fired, one look at the incidents whose alerts
// resolved for any still firing. With sixteen Alertmanager senders a batch holds a dozen payloads, so that is a
// dozen times fewer statements, which is what a PostgreSQL server spends its CPU on.
//
// A batch gives the answer of applying its payloads in order, with two differences no
// sender can tell from arriving at the same moment: an incident whose alerts all resolved
// is resolved at the end of the batch, after every payload had its say (a new alert of a
// later payload keeps it open rather than reopening it), and the alerts summed up in a
// storm's timeline line are counted per batch.

// batchState is what the payloads of one transaction share.
type batchState struct {
	now         time.Time                   // the latest payload's arrival: summary lines are dated by it
	latest      map[string]occurrenceEnd    // firing fingerprints' latest occurrence, if any
	repeated    map[string]firingOccurrence // firing fingerprints whose occurrence fires (counted)
	seen        map[incidents.AlertGroup]incidents.Incident
	absent      map[incidents.AlertGroup]bool // groups found with no open incident
	resolvedIn  map[int64]incidents.Incident  // read once per batch, not once per resolved alert
	lines       lineBudget                    // which alerts get a timeline line of their own
	cleared     map[int64]time.Time           // incidents with a resolved alert → latest end
	inserts     []newOccurrence               // new occurrences not yet stored
	resolutions []*pendingResolution          // resolved notifications not yet applied
	resolving   map[string]bool               // their fingerprints
	recordings  []queuedLine                  // alerts' own timeline lines not yet recorded
	learned     []learned                     // occurrences found firing or stored, known once committed
	resolvedFp  []string                      // fingerprints whose occurrence the batch resolved
}

func newBatchState() *batchState {
	return &batchState{
		latest: map[string]occurrenceEnd{}, repeated: map[string]firingOccurrence{},
		seen: map[incidents.AlertGroup]incidents.Incident{}, absent: map[incidents.AlertGroup]bool{}, resolvedIn: map[int64]incidents.Incident{},
		lines: newLineBudget(), cleared: map[int64]time.Time{}, resolving: map[string]bool{},
	}
}

// lateFor returns the latest occurrence of a firing fingerprint not counted as a repeat, and
// whether a notification starting at startsAt is a late delivery of it: it still fires (one
// the read found firing that another transaction resolved meanwhile), or it ended no
// earlier than that start (the notification belongs to it, from a retry queue or the other
// HA peer). Otherwise the notification starts a new occurrence.
func (b *batchState) lateFor(fp string, startsAt time.Time) (occurrenceEnd, bool) {
	last, found := b.latest[fp]
	return last, found && (last.Status == "firing" || (last.EndsAt != nil && !startsAt.After(*last.EndsAt)))
}

// findIncidents finds, in one read, the open incident of every group that a new occurrence
// of the given payloads will join, so that each payload need not look for its own.
func (in *Ingester) findIncidents(ctx context.Context, q store.Querier, b *batchState, states []*payloadState) error {
	var groups []incidents.AlertGroup
	wanted := map[incidents.AlertGroup]bool{}
	for _, s := range states {
		for i, a := range s.p.Alerts {
			fp := s.fps[i]
			if a.Status != "firing" {
				continue
			}
			if _, repeat := b.repeated[fp]; repeat {
				continue
			}
			if _, late := b.lateFor(fp, s.earliest[fp]); late {
				continue
			}
			g, _, _ := in.group(s.p.GroupKey, a)
			if _, known := b.seen[g]; !known && !wanted[g] {
				wanted[g] = true
				groups = append(groups, g)
			}
		}
	}
	if len(groups) == 0 {
		return nil
	}
	found, err := in.incidents.FindOpenManyTx(ctx, q, groups)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if inc, ok := found[g]; ok {
			b.seen[g] = inc
		} else {
			b.absent[g] = true
		}
	}
	return nil
}

// batchInput is one payload of a batch, with what was prepared for it beside the writer.
type batchInput struct {
	p   Payload
	now time.Time // when it arrived
	// fps and encoded, when set, are each alert's fingerprint and the firing alerts' JSON by
	// fingerprint, worked out by the request's goroutine: the writer's thread is what every
	// payload waits for.
	fps     []string
	encoded map[string]alertJSON
}

// ingestBatch applies payloads in one transaction and returns the result of each.
func (in *Ingester) ingestBatch(ctx context.Context, q store.Querier, inputs []batchInput) ([]Result, error) {
	b := newBatchState()
	states := make([]*payloadState, len(inputs))
	// A payload naming a fingerprint an earlier payload of the batch named must see what
	// that one did: it reads its occurrences when its turn comes. The others' are read all
	// at once, first.
	named := map[string]bool{}
	after := make([]bool, len(inputs))
	var first []string
	total := 0
	for _, it := range inputs {
		total += len(it.p.Alerts)
	}
	b.inserts = make([]newOccurrence, 0, total) // a storm's payloads are every alert new
	for i, it := range inputs {
		s := in.newPayloadState(ctx, b, it)
		states[i] = s
		if s.now.After(b.now) {
			b.now = s.now
		}
		for _, fp := range s.fps {
			if named[fp] {
				after[i] = true
			}
		}
		for _, fp := range s.fps {
			named[fp] = true
		}
		if !after[i] {
			first = append(first, s.firing...)
		}
	}
	if err := in.readOccurrences(ctx, q, b, first, b.now); err != nil {
		return nil, err
	}
	var firstStates []*payloadState
	for i, s := range states {
		if !after[i] {
			firstStates = append(firstStates, s)
		}
	}
	if err := in.findIncidents(ctx, q, b, firstStates); err != nil {
		return nil, err
	}
	for i, s := range states {
		if after[i] {
			if err := in.applyResolutions(ctx, q, b); err != nil {
				return nil, err
			}
			if err := in.readOccurrences(ctx, q, b, s.firing, s.now); err != nil {
				return nil, err
			}
		}
		if err := in.applyPayload(ctx, q, s); err != nil {
			return nil, err
		}
	}
	if err := in.flushLines(ctx, q, b); err != nil { // the resolutions, then every line
		return nil, err
	}
	if err := in.writeSummaries(ctx, q, b); err != nil {
		return nil, err
	}
	if err := in.resolveCleared(ctx, q, b.cleared); err != nil {
		return nil, err
	}
	results := make([]Result, len(states))
	lates := make([][]lateAlert, len(states))
	for i, s := range states {
		results[i], lates[i] = s.res, s.late
	}
	ls, gone, lines, now := b.learned, b.resolvedFp, b.lines, b.now
	store.AfterCommit(q, func() {
		in.opts.Metrics.AlertBatch(len(results))
		in.spent.add(lines)
		in.repeats.learn(ls, now)
		in.repeats.forget(gone)
		for i := range results {
			in.report(ctx, results[i], lates[i])
		}
	})
	return results, nil
}

// resolveCleared mitigates (and, if no person took it on, resolves) every incident of
// cleared none of whose alerts fires any more, found in one statement.
func (in *Ingester) resolveCleared(ctx context.Context, q store.Querier, cleared map[int64]time.Time) error {
	if len(cleared) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(cleared))
	for id := range cleared {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	firing, err := stillFiring(ctx, q, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !firing[id] {
			if err := in.resolveStillClear(ctx, q, id, cleared[id]); err != nil {
				return err
			}
		}
	}
	return nil
}
