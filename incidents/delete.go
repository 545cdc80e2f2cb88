package incidents

import (
	"context"
	"fmt"

	"firebreak/store"
)

// Delete removes an incident, open or resolved, with everything that hangs off it (alerts,
// timeline, suspects, rollbacks: the schema cascades), and returns what was removed. It is
// for test incidents that would otherwise skew the MTTR report; the caller logs who did it.
// A pending hook job of a deleted incident finds nothing and is dropped.
func (m *Manager) Delete(ctx context.Context, id int64) (Incident, error) {
	var inc Incident
	err := m.write(ctx, func(ctx context.Context, q store.Querier) error {
		var err error
		if inc, err = getIncident(ctx, q, id); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM incidents WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete incident %d: %w", id, err)
		}
		return nil
	})
	return inc, err
}
