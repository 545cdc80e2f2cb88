package deploys

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// maxReleaseHistory bounds the deploys read per release view.
const maxReleaseHistory = 500

// Release is what runs in one service and environment, and how it got there.
type Release struct {
	Service     string `json:"service"`
	Environment string `json:"environment"`
	// Version runs now: after a successful rollback, the version rolled back to.
	Version         string           `json:"version"`
	State           string           `json:"state"`
	Since           time.Time        `json:"since"`
	PreviousVersion *string          `json:"previous_version"`
	History         []ReleaseHistory `json:"history"`
}

// ReleaseHistory is one deploy in a release's history, newest first.
type ReleaseHistory struct {
	Version string    `json:"version"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
	// IncidentID is the incident whose remedy aborted or rolled the deploy back, if any.
	IncidentID *int64 `json:"incident_id"`
}

// Releases answers the release view: per service and environment (narrowed by service and
// env when given), the version running now and the deploys that led there.
func (t *Tracker) Releases(ctx context.Context, service, env string) ([]Release, error) {
	list, err := listDeploys(ctx, t.db.R, Filter{Service: service, Environment: t.envs.Canonical(env), Limit: maxReleaseHistory})
	if err != nil {
		return nil, err
	}
	remedied, err := remediedBy(ctx, t, list)
	if err != nil {
		return nil, err
	}
	byKey := map[[2]string]*Release{}
	var order [][2]string
	for _, d := range list { // newest first
		k := [2]string{d.Service, d.Environment}
		rel := byKey[k]
		if rel == nil {
			rel = &Release{Service: d.Service, Environment: d.Environment, History: []ReleaseHistory{}}
			byKey[k], order = rel, append(order, k)
		}
		h := ReleaseHistory{Version: d.Version, State: d.State, At: d.FinishedAt}
		if r, ok := remedied[d.ID]; ok {
			h.IncidentID, h.At = &r.IncidentID, r.At
		}
		rel.History = append(rel.History, h)
		if rel.Version != "" {
			continue
		}
		switch d.State {
		case StatePromoted, StateInProgress:
			rel.Version, rel.State, rel.Since, rel.PreviousVersion = d.Version, d.State, d.FinishedAt, d.PreviousVersion
		case StateRolledBack:
			if d.PreviousVersion != nil {
				v := d.Version
				rel.Version, rel.State, rel.Since, rel.PreviousVersion = *d.PreviousVersion, StateRolledBack, h.At, &v
			}
		}
		// An aborted deploy never took over: what ran before it still runs; read on.
	}
	out := make([]Release, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Service < out[j].Service || (out[i].Service == out[j].Service && out[i].Environment < out[j].Environment)
	})
	return out, nil
}

type remedyOutcome struct {
	IncidentID int64     `db:"incident_id"`
	DeployID   int64     `db:"deploy_id"`
	At         time.Time `db:"finished_at"`
}

// remediedBy returns, per deploy of list, the successful rollback or canary abort that
// changed its state, with its incident.
func remediedBy(ctx context.Context, t *Tracker, list []Deploy) (map[int64]remedyOutcome, error) {
	out := map[int64]remedyOutcome{}
	if len(list) == 0 {
		return out, nil
	}
	var rows []remedyOutcome
	err := t.db.R.SelectContext(ctx, &rows, t.db.R.Rebind(`SELECT incident_id, deploy_id, finished_at FROM rollbacks
		WHERE status = 'succeeded' AND action IN ('rollback', 'abort_canary') AND deploy_id >= ? AND deploy_id <= ? ORDER BY id`),
		list[len(list)-1].ID, list[0].ID)
	if err != nil {
		return nil, fmt.Errorf("read remedies of deploys: %w", err)
	}
	for _, r := range rows {
		r.At = r.At.UTC()
		out[r.DeployID] = r
	}
	return out, nil
}
