package alerts

import (
	"context"
	"encoding/json"
	"fmt"
)

// PageFilter picks one page of an incident's alerts, newest first.
type PageFilter struct {
	// Status keeps only "firing" or "resolved" alerts; empty keeps both.
	Status string
	// Before is the cursor: only alerts with a lower id.
	Before int64
	Limit  int
}

// PageForIncident returns one page of an incident's alerts, newest first, and the cursor of
// the next page (0 when this is the last). An incident may hold tens of thousands of
// alerts; the web UI and GET /incidents/{id}/alerts read them this way.
func (in *Ingester) PageForIncident(ctx context.Context, incidentID int64, f PageFilter) ([]Alert, int64, error) {
	if f.Status != "" && f.Status != "firing" && f.Status != "resolved" {
		return nil, 0, fmt.Errorf("%w: status %q: want firing or resolved", ErrInvalid, f.Status)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query := `SELECT ` + alertColumns + ` FROM ` + alertsWithRepeats + ` WHERE alerts.incident_id = ?`
	args := []any{incidentID}
	if f.Status != "" {
		query += ` AND alerts.status = ?`
		args = append(args, f.Status)
	}
	if f.Before > 0 {
		query += ` AND alerts.id < ?`
		args = append(args, f.Before)
	}
	query += ` ORDER BY alerts.id DESC LIMIT ?`
	args = append(args, f.Limit+1)
	q := in.db.R
	var out []Alert
	if err := q.SelectContext(ctx, &out, q.Rebind(query), args...); err != nil {
		return nil, 0, fmt.Errorf("read alerts of incident %d: %w", incidentID, err)
	}
	var next int64
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	for i := range out {
		a := &out[i]
		if err := json.Unmarshal([]byte(a.LabelsJSON), &a.Labels); err != nil {
			return nil, 0, fmt.Errorf("decode labels of alert %d: %w", a.ID, err)
		}
		if err := json.Unmarshal([]byte(a.AnnotsJSON), &a.Annotations); err != nil {
			return nil, 0, fmt.Errorf("decode annotations of alert %d: %w", a.ID, err)
		}
		a.withFlushed()
	}
	if out == nil {
		out = []Alert{}
	}
	in.repeats.overlay(out)
	return out, next, nil
}

// CountForIncident counts an incident's alerts by status, without reading them.
func (in *Ingester) CountForIncident(ctx context.Context, incidentID int64) (Counts, error) {
	return CountForIncident(ctx, in.db.R, incidentID)
}
