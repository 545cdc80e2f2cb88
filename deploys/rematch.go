package deploys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"firebreak/incidents"
	"firebreak/store"
)

// KindSuspectsRevised is the timeline line written when the impact start moved back and the
// incident's suspects were worked out again.
const KindSuspectsRevised incidents.EventKind = "suspects_revised"

// maxRematched bounds the deploys considered on each side of the impact start, like the
// first correlation.
const maxRematched = 20

// rematch works the incident's suspects and deploys during it out again from its impact
// start, after an earlier alert moved that start back: a deploy that finished in the window
// before the new start is a suspect (ranked by its new distance), one that finished after it
// was deployed during the incident. What changed is one timeline line; a new suspect may
// start an automatic rollback, as at the first correlation.
func (t *Tracker) rematch(ctx context.Context, q store.Querier, inc incidents.Incident) error {
	if inc.Service == "" {
		return nil
	}
	now := t.incidents.Now()
	before, err := matchedKinds(ctx, q, inc.ID)
	if err != nil {
		return err
	}
	suspects, err := t.suspectDeploys(ctx, q, inc)
	if err != nil {
		return err
	}
	// Deploys after the start: the ones already matched, and any the move put after the
	// start that were too early to be suspects before.
	during, err := deploysBetween(ctx, q, inc.Service, inc.Environment, inc.ImpactStartedAt.Add(time.Microsecond), now)
	if err != nil {
		return err
	}
	var matches []Match
	for _, d := range suspects {
		matches = append(matches, t.suspect(d, inc))
	}
	for _, d := range during {
		if d.FinishedAt.After(inc.ImpactStartedAt) {
			matches = append(matches, Match{Deploy: d, Kind: matchDuring, Score: 0, Reason: duringReason(d.FinishedAt.Sub(inc.ImpactStartedAt))})
		}
	}
	var added, nowDuring []string
	newSuspect := false
	for _, m := range matches {
		if err := upsertMatch(ctx, q, inc.ID, m, now); err != nil {
			return err
		}
		was := before[m.Deploy.ID]
		switch {
		case m.Kind == matchSuspect && was != matchSuspect:
			added = append(added, m.Deploy.Label()+" ("+m.Reason+")")
			newSuspect = true
		case m.Kind == matchDuring && was != matchDuring:
			nowDuring = append(nowDuring, m.Deploy.Label()+" ("+m.Reason+")")
		}
		delete(before, m.Deploy.ID)
	}
	// Matched before, out of reach now (past the limits above): no longer shown.
	for id := range before {
		if err := deleteMatch(ctx, q, inc.ID, id); err != nil {
			return err
		}
	}
	if len(added) == 0 && len(nowDuring) == 0 && len(before) == 0 {
		return nil
	}
	text := "Impact start moved back to " + inc.ImpactStartedAt.Format(time.RFC3339) + "; suspects worked out again."
	if len(added) > 0 {
		text += " New suspects: " + strings.Join(added, "; ") + "."
	}
	if len(nowDuring) > 0 {
		text += " Deployed during the incident now: " + strings.Join(nowDuring, "; ") + "."
	}
	if len(before) > 0 {
		text += fmt.Sprintf(" %d no longer matched.", len(before))
	}
	if _, err := t.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: incidents.ActorFirebreak,
		Kind: KindSuspectsRevised, Text: text}); err != nil {
		return err
	}
	if !newSuspect {
		return nil
	}
	return t.autoRollback(ctx, q, inc)
}

// matchedKinds returns the kind of each deploy matched with an incident, by deploy id.
func matchedKinds(ctx context.Context, q store.Querier, incidentID int64) (map[int64]string, error) {
	var rows []struct {
		DeployID int64  `db:"deploy_id"`
		Kind     string `db:"kind"`
	}
	if err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT deploy_id, kind FROM incident_deploys WHERE incident_id = ?`), incidentID); err != nil {
		return nil, fmt.Errorf("read deploys of incident %d: %w", incidentID, err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.DeployID] = r.Kind
	}
	return out, nil
}

// upsertMatch records a match, or updates the kind, reason and score of an existing one.
func upsertMatch(ctx context.Context, q store.Querier, incidentID int64, m Match, now time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO incident_deploys (incident_id, deploy_id, kind, reason, score, matched_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, deploy_id)
		DO UPDATE SET kind = excluded.kind, reason = excluded.reason, score = excluded.score`),
		incidentID, m.Deploy.ID, m.Kind, m.Reason, m.Score, now.UTC())
	if err != nil {
		return fmt.Errorf("record deploy %d on incident %d: %w", m.Deploy.ID, incidentID, err)
	}
	return nil
}

// deleteMatch removes a deploy from an incident's matches.
func deleteMatch(ctx context.Context, q store.Querier, incidentID, deployID int64) error {
	_, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM incident_deploys WHERE incident_id = ? AND deploy_id = ?`), incidentID, deployID)
	if err != nil {
		return fmt.Errorf("unmatch deploy %d from incident %d: %w", deployID, incidentID, err)
	}
	return nil
}
