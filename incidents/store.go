package incidents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
)

const incidentColumns = `id, title, status, severity, service, environment, summary, group_key,
	impact_started_at, opened_at, acknowledged_at, remediation_started_at, mitigated_at,
	resolved_at, reopened_count, updated_at, revision, declared_by, held_for, public_title, public_components`

// insertIncident stores a new incident and sets its ID.
func insertIncident(ctx context.Context, q store.Querier, inc *Incident) error {
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO incidents (title, status, severity, service,
		environment, summary, group_key, impact_started_at, opened_at, acknowledged_at,
		remediation_started_at, mitigated_at, resolved_at, reopened_count, updated_at, revision, declared_by, held_for,
		public_title, public_components)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id`),
		inc.Title, inc.Status, inc.Severity, inc.Service, inc.Environment, inc.Summary, inc.GroupKey,
		inc.ImpactStartedAt.UTC(), inc.OpenedAt.UTC(), store.UTC(inc.AcknowledgedAt), store.UTC(inc.RemediationStartedAt),
		store.UTC(inc.MitigatedAt), store.UTC(inc.ResolvedAt), inc.ReopenedCount, inc.UpdatedAt.UTC(), inc.DeclaredBy, inc.HeldFor,
		inc.PublicTitle, inc.PublicComponents).Scan(&inc.ID)
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	return nil
}

// errStale means the incident changed between read and update.
var errStale = errors.New("incident changed concurrently")

// updateIncident writes every mutable column if the row still has the revision inc was read
// at, and bumps the revision.
func updateIncident(ctx context.Context, q store.Querier, inc *Incident) error {
	res, err := q.ExecContext(ctx, q.Rebind(`UPDATE incidents SET title = ?, status = ?, severity = ?,
		summary = ?, impact_started_at = ?, acknowledged_at = ?, remediation_started_at = ?,
		mitigated_at = ?, resolved_at = ?, reopened_count = ?, updated_at = ?, held_for = ?,
		public_title = ?, public_components = ?, revision = revision + 1
		WHERE id = ? AND revision = ?`),
		inc.Title, inc.Status, inc.Severity, inc.Summary, inc.ImpactStartedAt.UTC(), store.UTC(inc.AcknowledgedAt),
		store.UTC(inc.RemediationStartedAt), store.UTC(inc.MitigatedAt), store.UTC(inc.ResolvedAt), inc.ReopenedCount,
		inc.UpdatedAt.UTC(), inc.HeldFor, inc.PublicTitle, inc.PublicComponents, inc.ID, inc.Revision)
	if err != nil {
		return fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("update incident %d: %w", inc.ID, errStale)
	}
	inc.Revision++
	return nil
}

// getIncident reads one incident; ErrNotFound if there is none.
func getIncident(ctx context.Context, q store.Querier, id int64) (Incident, error) {
	var inc Incident
	err := q.GetContext(ctx, &inc, q.Rebind(`SELECT `+incidentColumns+` FROM incidents WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("%w: no incident %d", ErrNotFound, id)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("read incident %d: %w", id, err)
	}
	inc.normalize()
	return inc, nil
}

// getIncidents reads the given incidents in one statement; an id with no incident is
// missing from the map.
func getIncidents(ctx context.Context, q store.Querier, ids []int64) (map[int64]Incident, error) {
	out := make(map[int64]Incident, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cond, args := store.In(q, "bigint", ids)
	var found []Incident
	if err := q.SelectContext(ctx, &found, q.Rebind(`SELECT `+incidentColumns+` FROM incidents WHERE id`+cond), args...); err != nil {
		return nil, fmt.Errorf("read %d incidents: %w", len(ids), err)
	}
	for _, inc := range found {
		inc.normalize()
		out[inc.ID] = inc
	}
	return out, nil
}

// Filter narrows an incident list. Zero values do not narrow.
type Filter struct {
	// Statuses keeps incidents in any of these phases.
	Statuses []Status
	// OpenOnly keeps incidents that are not resolved.
	OpenOnly bool
	Service  string
	Severity Severity
	// Environment keeps incidents of this environment.
	Environment string
	// Since keeps incidents opened at or after it.
	Since time.Time
	// Before is the pagination cursor: only ids below it.
	Before int64
	Limit  int
}

// listIncidents returns incidents newest first.
func listIncidents(ctx context.Context, q store.Querier, f Filter) ([]Incident, error) {
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.OpenOnly {
		where = append(where, "status <> 'resolved'")
	}
	if f.Service != "" {
		where = append(where, "service = ?")
		args = append(args, f.Service)
	}
	if f.Environment != "" {
		where = append(where, "environment = ?")
		args = append(args, f.Environment)
	}
	if f.Severity != "" {
		where = append(where, "severity = ?")
		args = append(args, f.Severity)
	}
	if !f.Since.IsZero() {
		where = append(where, "opened_at >= ?")
		args = append(args, f.Since.UTC())
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	query := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	var out []Incident
	if err := q.SelectContext(ctx, &out, q.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

// insertEvent appends a timeline event and sets its ID.
func insertEvent(ctx context.Context, q store.Querier, ev *Event) error {
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO timeline_events (incident_id, at, actor, kind, text, public, public_status)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), ev.IncidentID, ev.At.UTC(), ev.Actor, ev.Kind, ev.Text, ev.Public, ev.PublicStatus).Scan(&ev.ID)
	if err != nil {
		return fmt.Errorf("insert timeline event for incident %d: %w", ev.IncidentID, err)
	}
	return nil
}

// listEvents returns an incident's timeline, oldest first.
func listEvents(ctx context.Context, q store.Querier, incidentID int64) ([]Event, error) {
	var out []Event
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT id, incident_id, at, actor, kind, text, public, public_status
		FROM timeline_events WHERE incident_id = ? ORDER BY at, id`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("read timeline of incident %d: %w", incidentID, err)
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}

// listMeasured returns the moments of incidents opened in [since, until) for the MTTR report.
func listMeasured(ctx context.Context, q store.Querier, since, until time.Time) ([]Incident, error) {
	var out []Incident
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at`), since.UTC(), until.UTC())
	if err != nil {
		return nil, fmt.Errorf("read incidents for MTTR: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}
