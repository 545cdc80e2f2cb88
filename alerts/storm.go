package alerts

import (
	"context"
	"sort"

	"firebreak/incidents"
	"firebreak/store"
)

// alertLines is how many alerts joining (or resolving in) one incident get a timeline line
// each. Later ones are summed up in one line per minute ("212 more alerts fired"): in a
// storm of thousands the timeline stays readable, and there is less to write.
const alertLines = 20

// lineBudget decides, within one payload, which alerts get their own timeline line.
type lineBudget struct {
	used map[lineKey]int // lines an incident has of a kind, counting this payload's
	more map[lineKey]int // alerts summed up instead
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

// writeSummaries records the alerts summed up in this payload, one line per incident and
// kind for this minute.
func (in *Ingester) writeSummaries(ctx context.Context, q store.Querier, s *payloadState) error {
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
	for _, k := range keys {
		inc, err := in.incidents.GetTx(ctx, q, k.incident)
		if err != nil {
			return err
		}
		kind, what := incidents.KindAlertsFiredSummary, "fired"
		if k.kind == incidents.KindAlertResolved {
			kind, what = incidents.KindAlertsResolvedSummary, "resolved"
		}
		if err := in.incidents.SummarizeAlertsTx(ctx, q, inc, kind, what, s.lines.more[k], s.now); err != nil {
			return err
		}
	}
	return nil
}
