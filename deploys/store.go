package deploys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
)

const deployColumns = `id, service, environment, version, previous_version, commit_sha, author, url, description,
	started_at, finished_at, recorded_at, strategy, stage, weight, state, reversible, flags`

// deployColumnsOfD is deployColumns for a query that names the deploys table d.
const deployColumnsOfD = `d.id, d.service, d.environment, d.version, d.previous_version, d.commit_sha, d.author, d.url,
	d.description, d.started_at, d.finished_at, d.recorded_at, d.strategy, d.stage, d.weight, d.state, d.reversible, d.flags`

func insertDeploy(ctx context.Context, q store.Querier, d *Deploy) error {
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO deploys (service, environment, version, previous_version, commit_sha,
		author, url, description, started_at, finished_at, recorded_at, strategy, stage, weight, state, reversible, flags)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		d.Service, d.Environment, d.Version, d.PreviousVersion, d.Commit, d.Author, d.URL, d.Description,
		store.UTC(d.StartedAt), d.FinishedAt.UTC(), d.RecordedAt.UTC(), d.Strategy, d.Stage, d.Weight, d.State, d.Reversible, d.Flags).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("insert deploy: %w", err)
	}
	return nil
}

func getDeploy(ctx context.Context, q store.Querier, id int64) (Deploy, error) {
	var d Deploy
	err := q.GetContext(ctx, &d, q.Rebind(`SELECT `+deployColumns+` FROM deploys WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Deploy{}, fmt.Errorf("%w: no deploy %d", ErrNotFound, id)
	}
	if err != nil {
		return Deploy{}, fmt.Errorf("read deploy %d: %w", id, err)
	}
	d.normalize()
	return d, nil
}

// Filter narrows a deploy list.
type Filter struct {
	Service     string
	Environment string
	Since       time.Time
	Before      int64
	Limit       int
}

func listDeploys(ctx context.Context, q store.Querier, f Filter) ([]Deploy, error) {
	var where []string
	var args []any
	if f.Service != "" {
		where, args = append(where, "service = ?"), append(args, f.Service)
	}
	if f.Environment != "" {
		where, args = append(where, "environment = ?"), append(args, f.Environment)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "finished_at >= ?"), append(args, f.Since.UTC())
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	query := `SELECT ` + deployColumns + ` FROM deploys`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	var out []Deploy
	if err := q.SelectContext(ctx, &out, q.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("list deploys: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

// deploysBetween returns deploys of a service and environment finished in [from, to],
// latest first.
func deploysBetween(ctx context.Context, q store.Querier, service, env string, from, to time.Time) ([]Deploy, error) {
	var out []Deploy
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+deployColumns+` FROM deploys
		WHERE service = ? AND environment = ? AND finished_at >= ? AND finished_at <= ? ORDER BY finished_at DESC, id DESC LIMIT 20`),
		service, env, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("find deploys of %s: %w", service, err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

// inProgressSince returns deploys of a service and environment still in progress that
// started at or before at (their finished_at stands for the start), latest first.
func inProgressSince(ctx context.Context, q store.Querier, service, env string, at time.Time) ([]Deploy, error) {
	var out []Deploy
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+deployColumns+` FROM deploys
		WHERE service = ? AND environment = ? AND state = 'in_progress' AND finished_at <= ? ORDER BY finished_at DESC, id DESC LIMIT 20`),
		service, env, at.UTC())
	if err != nil {
		return nil, fmt.Errorf("find deploys of %s in progress: %w", service, err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

// anyDeployOf reports whether a deploy of the service and environment was ever recorded
// (one probe of the deploys_service_env_finished index).
func anyDeployOf(ctx context.Context, q store.Querier, service, env string) (bool, error) {
	var n int
	err := q.GetContext(ctx, &n, q.Rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM deploys WHERE service = ? AND environment = ? LIMIT 1) d`),
		service, env)
	if err != nil {
		return false, fmt.Errorf("look for deploys of %s: %w", service, err)
	}
	return n > 0, nil
}

// Match is a deploy matched with an incident.
type Match struct {
	Deploy Deploy  `json:"deploy"`
	Kind   string  `json:"-"`
	Reason string  `json:"reason"`
	Score  float64 `json:"score"`
}

// insertMatch records a match once; it reports whether it was new.
func insertMatch(ctx context.Context, q store.Querier, incidentID int64, m Match, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO incident_deploys (incident_id, deploy_id, kind, reason, score, matched_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, deploy_id) DO NOTHING`), incidentID, m.Deploy.ID, m.Kind, m.Reason, m.Score, now.UTC())
	if err != nil {
		return false, fmt.Errorf("record deploy %d on incident %d: %w", m.Deploy.ID, incidentID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// matchesOf returns an incident's matches of one kind, best first.
func matchesOf(ctx context.Context, q store.Querier, incidentID int64, kind string) ([]Match, error) {
	var rows []struct {
		Deploy
		Reason string  `db:"reason"`
		Score  float64 `db:"score"`
	}
	// One query with the deploys joined in, not one read per match.
	err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT `+deployColumnsOfD+`, m.reason, m.score
		FROM incident_deploys m JOIN deploys d ON d.id = m.deploy_id
		WHERE m.incident_id = ? AND m.kind = ? ORDER BY m.score DESC, m.deploy_id DESC`), incidentID, kind)
	if err != nil {
		return nil, fmt.Errorf("read deploys of incident %d: %w", incidentID, err)
	}
	out := make([]Match, 0, len(rows))
	for _, r := range rows {
		r.Deploy.normalize()
		out = append(out, Match{Deploy: r.Deploy, Kind: kind, Reason: r.Reason, Score: r.Score})
	}
	return out, nil
}

func (d *Deploy) normalize() {
	d.FinishedAt, d.RecordedAt = d.FinishedAt.UTC(), d.RecordedAt.UTC()
	if d.Flags == nil {
		d.Flags = FlagList{}
	}
	if d.StartedAt != nil {
		t := d.StartedAt.UTC()
		d.StartedAt = &t
	}
}
