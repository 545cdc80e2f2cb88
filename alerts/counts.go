package alerts

import (
	"context"
	"fmt"

	"firebreak/store"
)

// Counts is how many alert occurrences an incident has, by status.
type Counts struct {
	Firing   int `db:"firing"`
	Resolved int `db:"resolved"`
}

// CountForIncident counts an incident's alert occurrences, firing and resolved, without
// reading them: a Slack message shows the counts of an incident with thousands of alerts.
func CountForIncident(ctx context.Context, q store.Querier, incidentID int64) (Counts, error) {
	var c Counts
	err := q.GetContext(ctx, &c, q.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN status = 'firing' THEN 1 ELSE 0 END), 0) AS firing,
		COALESCE(SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END), 0) AS resolved
		FROM alerts WHERE incident_id = ?`), incidentID)
	if err != nil {
		return Counts{}, fmt.Errorf("count alerts of incident %d: %w", incidentID, err)
	}
	return c, nil
}
